"""The KPI API under /api/v1/kpis/ over HTTP: the public sees published indicators at city level, staff
see everything, the council computes and decides; codes with spaces and colons; errors in Vietnamese
by default; bad input stores nothing."""

from __future__ import annotations

import json
from datetime import date
from urllib.parse import quote

import pytest
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext as _

from dothi.kpis import selectors, services
from dothi.kpis.models import Value
from tests.kpis.engine_fixtures import communes_fixture  # noqa: F401 - the `communes` fixture

pytestmark = pytest.mark.django_db
BASE = "/c/danang/api/v1/kpis/"
HIA = "EC: ICT: ICT: 1C"


def api_client(user=None, language: str | None = "en") -> tuple[Client, str]:
    extra = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    client = Client(enforce_csrf_checks=True, **extra)
    if user is not None:
        client.force_login(user)
    token = client.get("/c/danang/api/v1/identity/csrf").json()["csrf_token"]
    return client, token


def post(client, token, path, data):
    return client.post(BASE + path, json.dumps(data), content_type="application/json", HTTP_X_CSRFTOKEN=token)


@pytest.fixture
def values(city, communes):
    ind = selectors.indicator_by_code(city, HIA)
    rot = selectors.indicator_by_code(city, "reports.resolved_on_time")
    for start, v in [(date(2025, 1, 1), 78.4), (date(2026, 1, 1), 83.1)]:
        Value.objects.create(city=city, indicator=ind, grain="year", period_start=start,
                             period_end=date(start.year + 1, 1, 1), value=v, method="auto")
    Value.objects.create(city=city, indicator=ind, grain="year", period_start=date(2026, 1, 1),
                         period_end=date(2027, 1, 1), value=80.0, method="auto", commune=communes["a"])
    Value.objects.create(city=city, indicator=rot, grain="month", period_start=date(2026, 7, 1),
                         period_end=date(2026, 8, 1), value=75.0, numerator=3, denominator=4, sample_size=4,
                         method="auto")
    return ind


def test_public_sees_only_published_staff_see_all(city, cast, values):
    anon, _t = api_client()
    assert anon.get(BASE + "indicators").json()["count"] == 0
    assert anon.get(BASE + "indicators/" + quote(HIA)).status_code == 404
    services.set_publication(actor=cast["council_member"], city=city, indicator=HIA, published=True)
    body = anon.get(BASE + "indicators").json()
    assert body["count"] == 1 and body["results"][0]["code"] == HIA
    staff, _t = api_client(cast["agency_staff"])
    body = staff.get(BASE + "indicators?page_size=10&page=2&source=u4ssc").json()
    assert (body["count"], body["num_pages"], len(body["results"])) == (91, 10, 10)
    assert body["results"][0]["code"] == "EC: ICT: ES: 3A"  # the 11th U4SSC row
    assert staff.get(BASE + "indicators?page=99").json()["results"] == []
    assert staff.get(BASE + "indicators?automatic=false&q=internet").json()["count"] == 1


def test_indicator_with_a_code_in_the_path_or_the_query(city, cast, values):
    staff, _t = api_client(cast["operator"])
    by_path = staff.get(BASE + "indicators/" + quote(HIA)).json()
    by_query = staff.get(BASE + "indicator?code=" + quote(HIA)).json()
    assert by_path == by_query
    assert by_path["name"] == "Household Internet Access"
    assert by_path["latest"]["year"]["value"] == 83.1
    assert by_path["latest"]["year"]["period"] == "2026"
    assert by_path["latest"]["month"] is None
    assert staff.get(BASE + "indicators/reports.resolved_on_time").json()["latest"]["month"]["numerator"] == 3


def test_values_public_city_level_only_staff_wards(city, cast, values):
    services.set_publication(actor=cast["council_member"], city=city, indicator=HIA, published=True)
    anon, _t = api_client()
    rows = anon.get(BASE + "values", {"code": HIA, "grain": "year", "since": "2026"}).json()
    assert [(r["period"], r["value"], r["commune"]) for r in rows] == [("2026", 83.1, None)]
    assert anon.get(BASE + "values", {"code": HIA, "commune": "20194"}).status_code == 403
    assert anon.get(BASE + "values", {"code": "reports.resolved_on_time"}).status_code == 404
    staff, _t = api_client(cast["agency_staff"])
    rows = staff.get(BASE + "values", {"code": HIA, "commune": "20194"}).json()
    assert [(r["value"], r["commune"]) for r in rows] == [(80.0, "20194")]
    rows = staff.get(BASE + "values", {"code": HIA, "until": "2025-12-31"}).json()
    assert [r["value"] for r in rows] == [78.4]
    bad = staff.get(BASE + "values", {"code": HIA, "since": "2026-Q5"})
    assert bad.status_code == 422 and bad.json()["field"] == "since"


def test_errors_are_in_vietnamese_by_default(city, cast):
    client, token = api_client(cast["agency_staff"], language=None)
    r = post(client, token, "compute", {"period": "2026-07"})
    assert r.status_code == 403
    assert r.json()["message"] == "Bạn không có quyền thực hiện thao tác này."
    council, token = api_client(cast["council_member"], language=None)
    r = post(council, token, "compute", {"wards": True})  # no period
    assert r.status_code == 422 and r.json()["message"] == "Yêu cầu không hợp lệ."
    r = post(council, token, "compute", {"period": "2026-Q5"})
    assert r.status_code == 422 and r.json()["field"] == "period"
    with translation.override("vi"):
        assert r.json()["message"] == _("There is no quarter %(q)s: quarters are Q1 to Q4.") % {"q": "5"}
    en, token_en = api_client(cast["council_member"], language="en")
    assert "Q1 to Q4" in post(en, token_en, "compute", {"period": "2026-Q5"}).json()["message"]


def test_compute_is_the_councils(city, cast):
    staff, token = api_client(cast["agency_manager"])
    assert post(staff, token, "compute", {"period": "2026-07"}).status_code == 403
    anon, token = api_client()
    assert post(anon, token, "compute", {"period": "2026-07"}).status_code == 401
    council, token = api_client(cast["council_member"])
    r = post(council, token, "compute", {"period": "2026-07", "codes": ["reports.resolved_on_time"]})
    assert r.status_code == 200
    assert r.json()["period"] == "2026-07" and r.json()["missing"] == 1
    assert post(council, token, "compute", {"period": "2026", "codes": ["nope"]}).status_code == 422


def test_manual_flow_over_http(city, cast):
    staff, token = api_client(cast["agency_staff"])
    r = post(staff, token, "manual", {"code": HIA, "period": "2025", "value": "78,4", "source": "GSO"})
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["status"], body["value"], body["period"]) == ("pending", 78.4, "2025")
    for bad in [{"value": "x"}, {"source": ""}, {"period": "26-07"}, {"code": "NO"}]:
        r = post(staff, token, "manual", {"code": HIA, "period": "2025", "value": 1, "source": "s", **bad})
        assert r.status_code == 422
    assert Value.objects.count() == 1
    assert post(staff, token, f"manual/{body['id']}/decision", {"approve": True}).status_code == 403
    council, token = api_client(cast["council_member"])
    r = post(council, token, f"manual/{body['id']}/decision", {"approve": True, "note": "ok"})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    assert post(council, token, f"manual/{body['id']}/decision", {"approve": False}).status_code in (409, 422)
    assert post(council, token, "manual/999999/decision", {"approve": True}).status_code == 404


def test_four_eyes_over_http(city, cast):
    council, token = api_client(cast["council_member"])
    r = post(council, token, "manual", {"code": HIA, "period": "2026", "value": 80, "source": "GSO"})
    r = post(council, token, f"manual/{r.json()['id']}/decision", {"approve": True})
    assert r.status_code == 403
    assert "council" in r.json()["message"]
