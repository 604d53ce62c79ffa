"""Uploaded photos and evidence documents: checked by decoding, never by the client's content type,
and images re-encoded so EXIF metadata (GPS location, device serial) never reaches storage."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from dothi.core.errors import InvalidInput
from dothi.core.uploads import read_limited

MAX_PHOTOS = 5
# Decoding a huge image costs memory even when the file is small: refuse absurd dimensions.
MAX_PIXELS = 50_000_000
_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}


@dataclass(frozen=True)
class CleanFile:
    content: bytes
    content_type: str
    extension: str
    name: str = ""


def max_bytes() -> int:
    return int(getattr(settings, "REPORT_PHOTO_MAX_BYTES", 8 * 1024 * 1024))


def _read(upload, field: str) -> tuple[bytes, str]:
    """The bytes of an upload (a Django UploadedFile, any file object, bytes, or (name, bytes)),
    refusing anything larger than the limit without reading it all."""
    limit = max_bytes()
    too_big = InvalidInput(
        _("Each file must be at most %(mb)s MB.") % {"mb": limit // (1024 * 1024)},
        field=field,
        code="file_too_large",
    )
    name = ""
    if isinstance(upload, tuple) and len(upload) == 2:
        name, upload = upload
    if hasattr(upload, "read"):
        name = name or getattr(upload, "name", "") or ""
    data = read_limited(upload, limit=limit, field=field, too_big=too_big)
    return data, str(name)[:100]


def clean_image(upload, *, field: str = "photos") -> CleanFile:
    """Decode the image with Pillow (JPEG, PNG or WebP only) and re-encode it without metadata,
    turned upright first so dropping the EXIF orientation does not rotate it."""
    data, name = _read(upload, field)
    not_image = InvalidInput(_("Photos must be JPEG, PNG or WebP images."), field=field, code="file_type")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                fmt = probe.format
                if fmt not in _FORMATS:
                    raise not_image
                if probe.width * probe.height > MAX_PIXELS:
                    raise InvalidInput(_("The image is too large."), field=field, code="file_too_large")
                probe.verify()  # structural check; the image must be reopened after verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                image = ImageOps.exif_transpose(image)
                out = io.BytesIO()
                if fmt == "JPEG":
                    if image.mode not in ("RGB", "L"):
                        image = image.convert("RGB")
                    image.save(out, format="JPEG", quality=85, optimize=True)
                elif fmt == "PNG":
                    image.save(out, format="PNG", optimize=True)
                else:
                    image.save(out, format="WEBP", quality=85)
    except InvalidInput:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        EOFError,
    ):
        raise not_image
    content_type, extension = _FORMATS[fmt]
    return CleanFile(out.getvalue(), content_type, extension, name)


def clean_evidence(upload, *, field: str = "evidence") -> CleanFile:
    """Evidence of a resolution: an image (cleaned like a photo) or a PDF document."""
    data, name = _read(upload, field)
    if data.startswith(b"%PDF-"):
        if b"%%EOF" not in data[-2048:]:
            raise InvalidInput(_("The PDF document is damaged."), field=field, code="file_invalid")
        return CleanFile(data, "application/pdf", "pdf", name)
    try:
        return clean_image((name, data), field=field)
    except InvalidInput as exc:
        if exc.code == "file_type":
            raise InvalidInput(
                _("Evidence must be a photo (JPEG, PNG, WebP) or a PDF document."),
                field=field,
                code="file_type",
            )
        raise


def clean_many(
    uploads, *, field: str = "photos", evidence: bool = False, limit: int = MAX_PHOTOS
) -> list[CleanFile]:
    uploads = list(uploads or ())
    if len(uploads) > limit:
        raise InvalidInput(
            _("At most %(n)d files can be attached.") % {"n": limit}, field=field, code="too_many_files"
        )
    clean = clean_evidence if evidence else clean_image
    return [clean(u, field=field) for u in uploads]
