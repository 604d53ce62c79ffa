"""Photo and evidence checks (dothi.reports.photos): decoded, never trusted by name or type."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from dothi.core.errors import InvalidInput
from dothi.reports import photos
from tests.reports.conftest import PDF_BYTES, jpeg_bytes, png_bytes


def test_client_type_and_name_are_ignored():
    lying = SimpleUploadedFile("photo.jpg", png_bytes(), content_type="image/jpeg")
    clean = photos.clean_image(lying)
    assert (clean.content_type, clean.extension) == ("image/png", "png")
    script = SimpleUploadedFile("photo.jpg", b"<script>alert(1)</script>", content_type="image/jpeg")
    with pytest.raises(InvalidInput):
        photos.clean_image(script)


def test_webp_accepted_gif_refused():
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, format="WEBP")
    assert photos.clean_image(out.getvalue()).content_type == "image/webp"
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, format="GIF")
    with pytest.raises(InvalidInput) as info:
        photos.clean_image(gif.getvalue())
    assert info.value.code == "file_type"


def test_truncated_and_empty_files_refused():
    with pytest.raises(InvalidInput):
        photos.clean_image(jpeg_bytes(size=(200, 200))[:300])
    with pytest.raises(InvalidInput):
        photos.clean_image(b"")


def test_huge_dimensions_refused_without_decoding():
    out = io.BytesIO()
    Image.new("1", (10000, 6000)).save(out, format="PNG")  # 60 megapixels, a few kB
    assert len(out.getvalue()) < 200_000
    with pytest.raises(InvalidInput) as info:
        photos.clean_image(out.getvalue())
    assert info.value.code == "file_too_large"


def test_size_limit_checked_before_reading(settings):
    settings.REPORT_PHOTO_MAX_BYTES = 100

    class Huge:
        name, size = "big.jpg", 10**9

        def read(self, n=-1):  # pragma: no cover - must not be called
            raise AssertionError("read a file that is known to be too big")

    with pytest.raises(InvalidInput) as info:
        photos.clean_image(Huge())
    assert info.value.code == "file_too_large"


def test_orientation_applied_before_exif_dropped():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise when displayed
    clean = photos.clean_image(jpeg_bytes(size=(64, 48), exif=exif))
    with Image.open(io.BytesIO(clean.content)) as image:
        assert image.size == (48, 64)
        assert not image.getexif()


def test_evidence_pdf_or_image():
    assert photos.clean_evidence(PDF_BYTES).content_type == "application/pdf"
    assert photos.clean_evidence(jpeg_bytes()).content_type == "image/jpeg"
    with pytest.raises(InvalidInput):
        photos.clean_evidence(b"%PDF-1.4 without an end")
    with pytest.raises(InvalidInput):
        photos.clean_evidence(b"PK\x03\x04 a zip")
