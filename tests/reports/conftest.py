"""Fixtures for the reports module: Đà Nẵng's categories, questions, agencies and routing rules.

`rx` bundles them: rx.pothole (default route: the cast's agency "so-xay-dung", with a commune-specific
rule for rx.commune_b sending it to rx.ward_agency), rx.light (no rule at all), rx.security
(confidential, routed to the police), and two points: rx.point_a in rx.commune_a, rx.point_b in
rx.commune_b.
"""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from PIL import Image

from tests import factories


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Uploaded files go to a throw-away directory."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def _point_in(commune, city):
    from dothi.core import geo

    lat, lon = commune.centre_lat, commune.centre_lon
    assert geo.locate(city, lon, lat) == commune
    return (lat, lon)


@pytest.fixture
def rx(danang, cast, agency):
    from dothi.core import geo
    from dothi.core.models import CommuneArea
    from dothi.reports.models import Category, CategoryAttribute, RoutingRule

    city = danang
    communes = []
    for area in CommuneArea.objects.filter(city=city).select_related("commune").order_by("commune_id"):
        c = area.commune
        if c.centre_lat is not None and geo.locate(city, c.centre_lon, c.centre_lat) == c:
            communes.append(c)
        if len(communes) == 2:
            break
    commune_a, commune_b = communes
    police = factories.make_agency(
        city, "cong-an", name_vi="Công an thành phố", name_en="City police", agency_type="police"
    )
    ward_agency = factories.make_agency(
        city, "ubnd-b", name_vi="UBND phường B", name_en="Ward B", agency_type="commune"
    )
    pothole = Category.objects.create(
        city=city, code="pothole", name_vi="Ổ gà", name_en="Pothole", deadline_working_days=3, group="roads"
    )
    CategoryAttribute.objects.create(
        category=pothole,
        code="depth",
        label_vi="Độ sâu",
        label_en="Depth",
        required=True,
        datatype=CategoryAttribute.Datatype.SINGLE,
        values=[
            {"key": "shallow", "name_vi": "Nông", "name_en": "Shallow"},
            {"key": "deep", "name_vi": "Sâu", "name_en": "Deep"},
        ],
    )
    CategoryAttribute.objects.create(
        category=pothole,
        code="width",
        label_vi="Chiều rộng (m)",
        label_en="Width (m)",
        datatype=CategoryAttribute.Datatype.NUMBER,
    )
    light = Category.objects.create(
        city=city,
        code="street-light",
        name_vi="Đèn đường hỏng",
        name_en="Broken street light",
        deadline_working_days=5,
    )
    security = Category.objects.create(
        city=city,
        code="security",
        name_vi="An ninh trật tự",
        name_en="Security and public order",
        confidential=True,
        deadline_working_days=1,
    )
    flooding = Category.objects.create(city=city, code="flooding", name_vi="Ngập úng", name_en="Flooding")
    RoutingRule.objects.create(city=city, category=pothole, commune=None, agency=agency)
    RoutingRule.objects.create(city=city, category=pothole, commune=commune_b, agency=ward_agency)
    RoutingRule.objects.create(city=city, category=security, commune=None, agency=police)
    RoutingRule.objects.create(city=city, category=flooding, commune=None, agency=agency)
    return SimpleNamespace(
        city=city,
        cast=cast,
        agency=agency,
        police=police,
        ward_agency=ward_agency,
        pothole=pothole,
        light=light,
        security=security,
        flooding=flooding,
        commune_a=commune_a,
        commune_b=commune_b,
        point_a=_point_in(commune_a, city),
        point_b=_point_in(commune_b, city),
    )


def jpeg_bytes(size=(64, 48), color=(200, 30, 30), exif=None) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", size, color)
    if exif is not None:
        image.save(out, format="JPEG", exif=exif)
    else:
        image.save(out, format="JPEG")
    return out.getvalue()


def png_bytes(size=(32, 32)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, (0, 128, 0, 255)).save(out, format="PNG")
    return out.getvalue()


PDF_BYTES = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def submit(rx):
    """Submit a pothole report in commune A as the cast's citizen (override anything)."""
    from dothi.reports import services

    def _submit(**kwargs):
        lat, lon = rx.point_a
        args = {
            "city": rx.city,
            "category_code": "pothole",
            "description": "A deep pothole in front of no. 12",
            "lat": lat,
            "lon": lon,
            "actor": rx.cast["citizen"],
            "attributes": {"depth": "deep"},
        }
        args.update(kwargs)
        return services.report_submit(**args)

    return _submit
