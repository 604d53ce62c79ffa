"""Fixtures for the alerts module.

`alert_city` is the `city` fixture (Đà Nẵng) with the administrative units loaded and approximate commune
boundaries built. `ax` bundles what most tests need: the city, the cast, the agency, four categories
(ax.flood asks "are you safe?", ax.storm, ax.air, ax.security is news), two communes whose centre lies in
their own cell (ax.commune_a, ax.commune_b) with a point in each (ax.point_a, ax.point_b as (lat, lon)),
and a small polygon around point A (ax.polygon_a, GeoJSON).

`draft_warning(**overrides)` drafts a warning as the agency staff member; `publish_warning(**overrides)`
drafts it and has the agency manager approve it (four eyes), returning the published warning.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

PDF_BYTES = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _alerts_settings(settings, tmp_path):
    """Uploaded files go to a throw-away directory; background tasks run at once."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def alert_city(city, admin_units):
    """The `city` fixture with its communes' approximate boundaries."""
    from dothi.core import geo

    geo.city_build_approximate_boundaries(city)
    city.refresh_from_db()
    return city


def _communes_with_own_centre(city, n):
    from dothi.core import geo
    from dothi.core.models import CommuneArea

    found = []
    for area in CommuneArea.objects.filter(city=city).select_related("commune").order_by("commune_id"):
        c = area.commune
        if c.centre_lat is not None and geo.locate(city, c.centre_lon, c.centre_lat) == c:
            found.append(c)
        if len(found) == n:
            break
    return found


def square(lat, lon, half=0.002):
    """A small closed GeoJSON Polygon around (lat, lon)."""
    return {
        "type": "Polygon",
        "coordinates": [[
            [lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half],
            [lon - half, lat + half], [lon - half, lat - half],
        ]],
    }


@pytest.fixture
def alert_categories(alert_city):
    from dothi.alerts.models import AlertCategory, CapCategory

    city = alert_city
    return SimpleNamespace(
        flood=AlertCategory.objects.create(
            city=city, code="flood", name_vi="Ngập lụt", name_en="Flood", cap_category=CapCategory.MET,
            asks_safety=True, order=10,
        ),
        storm=AlertCategory.objects.create(
            city=city, code="storm", name_vi="Bão", name_en="Storm", cap_category=CapCategory.MET, order=20,
        ),
        air=AlertCategory.objects.create(
            city=city, code="air", name_vi="Chất lượng không khí", name_en="Air quality",
            cap_category=CapCategory.ENV, order=30,
        ),
        security=AlertCategory.objects.create(
            city=city, code="security", name_vi="An ninh trật tự", name_en="Security bulletin",
            cap_category=CapCategory.SECURITY, is_news=True, order=40,
        ),
    )


@pytest.fixture
def ax(alert_city, alert_categories, cast, agency):
    city = alert_city
    commune_a, commune_b = _communes_with_own_centre(city, 2)
    point_a = (commune_a.centre_lat, commune_a.centre_lon)
    point_b = (commune_b.centre_lat, commune_b.centre_lon)
    return SimpleNamespace(
        city=city,
        cast=cast,
        agency=agency,
        flood=alert_categories.flood,
        storm=alert_categories.storm,
        air=alert_categories.air,
        security=alert_categories.security,
        commune_a=commune_a,
        commune_b=commune_b,
        point_a=point_a,
        point_b=point_b,
        polygon_a=square(*point_a),
    )


def warning_args(ax, **overrides):
    """Keyword arguments for services.warning_draft (a flood warning over commune A, 6 hours)."""
    from django.utils import timezone

    now = timezone.now()
    args = {
        "actor": ax.cast["agency_staff"],
        "city": ax.city,
        "category": "flood",
        "headline_vi": "Cảnh báo ngập lụt",
        "headline_en": "Flood warning",
        "description_vi": "Mực nước sông dâng cao.",
        "description_en": "The river is rising.",
        "instruction_vi": "Di chuyển lên chỗ cao.",
        "instruction_en": "Move to higher ground.",
        "urgency": "Expected",
        "severity": "Severe",
        "certainty": "Likely",
        "commune_codes": [ax.commune_a.code],
        "area_desc_vi": "Phường A",
        "area_desc_en": "Ward A",
        "effective_at": now - timedelta(minutes=1),
        "expires_at": now + timedelta(hours=6),
    }
    args.update(overrides)
    return args


@pytest.fixture
def draft_warning(ax):
    from dothi.alerts import services

    def _draft(**overrides):
        return services.warning_draft(**warning_args(ax, **overrides))

    return _draft


@pytest.fixture
def publish_warning(ax, draft_warning):
    """Draft (as agency staff) and approve (as agency manager) a warning; returns it, published."""
    from dothi.alerts import services

    def _publish(*, approver=None, **overrides):
        warning = draft_warning(**overrides)
        services.warning_approve(actor=approver or ax.cast["agency_manager"], warning=warning)
        warning.refresh_from_db()
        return warning

    return _publish
