"""The KPI admin: every model renders for a city administrator, only their city's rows (and the shared
catalogue, read-only), values' figures read-only and never added, issued evaluations frozen."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from dothi.core.models import AuditEvent
from dothi.kpis import selectors
from dothi.kpis.models import Benefit, Evaluation, Indicator, Value

pytestmark = pytest.mark.django_db
MODELS = ["indicator", "cityindicator", "value", "benefit", "evaluation"]


@pytest.fixture
def admin_client(client, cast):
    client.force_login(cast["city_admin"])
    client.cookies["dothi_language"] = "en"
    return client


@pytest.fixture
def rows(city, other_city):
    ind = selectors.indicator_by_code(city, "EC: ICT: ICT: 1C")
    mine = Value.objects.create(city=city, indicator=ind, grain="year", period_start=date(2025, 1, 1),
                                period_end=date(2026, 1, 1), value=78.4, method="manual", source="GSO-DN")
    theirs = Value.objects.create(city=other_city, indicator=ind, grain="year", period_start=date(2025, 1, 1),
                                  period_end=date(2026, 1, 1), value=55.5, method="manual", source="GSO-HCM")
    Benefit.objects.create(city=city, project_code="iot-drain", year=2026, amount_vnd=1_000_000,
                           description_vi="Tiết kiệm")
    ev = Evaluation.objects.create(city=city, title_vi="Đánh giá 2026", grain="year",
                                   period_start=date(2026, 1, 1), period_end=date(2027, 1, 1))
    own = Indicator.objects.create(city=city, code="DN-01", source="city", kind="core", name_vi="Riêng")
    return {"mine": mine, "theirs": theirs, "evaluation": ev, "own": own, "shared": ind}


def test_every_model_renders(admin_client, rows):
    for name in MODELS:
        r = admin_client.get(reverse(f"admin:kpis_{name}_changelist"))
        assert r.status_code == 200, name


def test_city_admin_sees_only_their_city(admin_client, rows):
    page = admin_client.get(reverse("admin:kpis_value_changelist")).content.decode()
    assert "78.4" in page and "55.5" not in page
    theirs = admin_client.get(reverse("admin:kpis_value_change", args=[rows["theirs"].pk]))
    assert theirs.status_code == 302  # not found in their queryset: back to the admin index
    assert admin_client.get(reverse("admin:kpis_value_add")).status_code == 403


def test_value_figures_are_read_only(admin_client, rows):
    url = reverse("admin:kpis_value_change", args=[rows["mine"].pk])
    assert admin_client.get(url).status_code == 200
    r = admin_client.post(url, {"note": "checked", "value": "1"})
    assert r.status_code == 302
    rows["mine"].refresh_from_db()
    assert (rows["mine"].value, rows["mine"].note) == (78.4, "checked")
    assert AuditEvent.objects.filter(action="update", object_type="kpis.value").exists()


def test_shared_catalogue_is_read_only_for_city_admins(admin_client, rows):
    shared = admin_client.get(reverse("admin:kpis_indicator_change", args=[rows["shared"].pk]))
    assert shared.status_code == 200 and 'name="name_vi"' not in shared.content.decode()
    own = admin_client.get(reverse("admin:kpis_indicator_change", args=[rows["own"].pk]))
    assert 'name="name_vi"' in own.content.decode()


def test_evaluations_are_frozen(admin_client, rows):
    ev = rows["evaluation"]
    r = admin_client.post(reverse("admin:kpis_evaluation_change", args=[ev.pk]), {"title_vi": "changed"})
    assert r.status_code == 403
    ev.refresh_from_db()
    assert ev.title_vi == "Đánh giá 2026"
    assert admin_client.get(reverse("admin:kpis_evaluation_add")).status_code == 403
