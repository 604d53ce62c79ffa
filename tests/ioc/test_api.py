"""The control centre's API: reads for `ioc.view`, the alarm actions, the log and handovers for their
operations; errors as {"code", "message", "field"}; bad input stores nothing."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from dothi.core.models import Commune
from dothi.ioc.models import Alarm, IncidentEntry, ShiftHandover
from tests.ioc.conftest import MODULE

pytestmark = pytest.mark.django_db

BASE = "/c/danang/api/v1/ioc"
VIEWERS = {"operator", "city_admin", "council_member", "agency_manager", "platform_admin"}


def api_client(user=None) -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_login(user)
    token = client.get("/c/danang/api/v1/identity/csrf").json()["csrf_token"]
    return client, token


def send(client, token, method: str, path: str, data=None):
    return client.generic(
        method, BASE + path, json.dumps(data or {}), content_type="application/json", HTTP_X_CSRFTOKEN=token
    )


@pytest.mark.parametrize("role", ["anonymous", "citizen", "agency_staff", *sorted(VIEWERS)])
def test_reads_are_for_viewers(role, cast, ioc_module, alarm, ioc_city):
    alarm("k")
    client, _token = api_client(cast[role])
    commune = Commune.objects.filter(province_id=ioc_city.province_code).first()
    for path in (
        "/panels",
        f"/panels/{MODULE}.counts",
        "/alarms",
        "/log",
        "/handovers",
        f"/wards/{commune.code}",
    ):
        status = client.get(BASE + path).status_code
        if role in VIEWERS:
            assert status == 200, path
        else:
            assert status in (401, 403), path


def test_panels(cast, ioc_module):
    client, _ = api_client(cast["operator"])
    panels = client.get(BASE + "/panels").json()
    mine = [p for p in panels if p["code"].startswith(MODULE)]
    assert [p["code"] for p in mine] == [
        f"{MODULE}.points",
        f"{MODULE}.counts",
        f"{MODULE}.trend",
        f"{MODULE}.broken",
    ]
    body = client.get(BASE + f"/panels/{MODULE}.trend").json()
    assert body["kind"] == "series" and body["data"]["series"][0]["values"] == [1, 2]
    missing = client.get(BASE + f"/panels/{MODULE}.secret")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_alarms_and_actions(cast, alarm):
    a = alarm("k", level="danger", title="Pump station")
    alarm("closed", status="closed")
    client, token = api_client(cast["operator"])
    body = client.get(BASE + "/alarms").json()
    assert body["count"] == 1 and body["counts"]["danger"] == 1
    out = body["results"][0]
    assert (out["key"], out["status"], out["level"], out["acknowledged_by"]) == ("k", "open", "danger", None)
    assert out["raised_at"].endswith("+07:00")
    assert client.get(BASE + "/alarms?status=closed").json()["count"] == 1
    assert client.get(BASE + "/alarms?status=bogus").status_code == 422
    assert client.get(BASE + "/alarms?page=5").json()["results"] == []

    r = send(client, token, "POST", f"/alarms/{a.pk}/acknowledge")
    assert r.status_code == 200 and r.json()["status"] == "acknowledged"
    assert r.json()["acknowledged_by"]["id"] == cast["operator"].pk
    r = send(client, token, "POST", f"/alarms/{a.pk}/acknowledge")
    assert r.status_code == 409

    r = send(client, token, "POST", f"/alarms/{a.pk}/assign", {"assignee": cast["citizen"].pk})
    assert r.status_code == 422 and r.json()["field"] == "assignee"
    r = send(client, token, "POST", f"/alarms/{a.pk}/assign", {"assignee": 987654})
    assert r.status_code == 422
    r = send(client, token, "POST", f"/alarms/{a.pk}/assign", {"assignee": cast["agency_staff"].pk})
    assert r.status_code == 200 and r.json()["assigned_to"]["id"] == cast["agency_staff"].pk

    r = send(client, token, "POST", f"/alarms/{a.pk}/close", {"note": " "})
    assert r.status_code == 422 and r.json()["field"] == "note"
    r = send(client, token, "POST", f"/alarms/{a.pk}/close", {"note": "Pump restarted"})
    assert (
        r.status_code == 200
        and r.json()["status"] == "closed"
        and r.json()["closing_note"] == "Pump restarted"
    )
    assert send(client, token, "POST", "/alarms/999999/close", {"note": "x"}).status_code == 404


@pytest.mark.parametrize("role", ["council_member", "agency_manager", "agency_staff", "citizen"])
def test_actions_refused_to_others(role, cast, alarm):
    a = alarm()
    client, token = api_client(cast[role])
    for path, body in [
        ("acknowledge", {}),
        ("assign", {"assignee": cast["operator"].pk}),
        ("close", {"note": "x"}),
    ]:
        assert send(client, token, "POST", f"/alarms/{a.pk}/{path}", body).status_code == 403
    assert send(client, token, "POST", "/log", {"kind": "note", "text": "x"}).status_code == 403
    assert send(client, token, "POST", "/handovers", {"notes": "x"}).status_code == 403
    a.refresh_from_db()
    assert a.status == "open" and not IncidentEntry.objects.exists() and not ShiftHandover.objects.exists()


def test_csrf_is_required(cast, alarm):
    a = alarm()
    client, _token = api_client(cast["operator"])
    r = client.post(BASE + f"/alarms/{a.pk}/acknowledge", "{}", content_type="application/json")
    assert r.status_code == 403
    a.refresh_from_db()
    assert a.status == "open"


def test_log(cast, alarm, ioc_city):
    a = alarm()
    client, token = api_client(cast["operator"])
    r = send(
        client, token, "POST", "/log", {"kind": "decision", "text": "Close the underpass", "alarm": a.pk}
    )
    assert r.status_code == 201 and r.json()["alarm"] == a.pk and r.json()["kind"] == "decision"
    assert send(client, token, "POST", "/log", {"kind": "alarm", "text": "x"}).status_code == 422
    assert send(client, token, "POST", "/log", {"kind": "note", "text": ""}).status_code == 422
    assert (
        send(client, token, "POST", "/log", {"kind": "note", "text": "x", "commune": "79999"}).status_code
        == 422
    )
    assert (
        send(client, token, "POST", "/log", {"kind": "note", "text": "x", "alarm": 999999}).status_code == 404
    )
    body = client.get(BASE + "/log").json()
    assert body["count"] == 1 and body["results"][0]["text"] == "Close the underpass"
    assert body["results"][0]["author"]["id"] == cast["operator"].pk


def test_handovers(cast, alarm):
    alarm("k", title="Open at handover")
    client, token = api_client(cast["operator"])
    r = send(
        client, token, "POST", "/handovers", {"notes": "All quiet", "handed_to": cast["council_member"].pk}
    )
    assert r.status_code == 422 and r.json()["field"] == "handed_to"
    r = send(client, token, "POST", "/handovers", {"notes": "All quiet"})
    assert r.status_code == 201
    h = r.json()
    assert h["handed_to"] is None and h["open_alarms"][0]["title"] == "Open at handover"
    assert send(client, token, "POST", f"/handovers/{h['id']}/accept").status_code == 409  # one's own
    admin, admin_token = api_client(cast["city_admin"])
    r = send(admin, admin_token, "POST", f"/handovers/{h['id']}/accept")
    assert r.status_code == 200 and r.json()["accepted_at"]
    assert client.get(BASE + "/handovers").json()["count"] == 1


def test_ward(cast, ioc_module, ioc_city):
    commune = Commune.objects.filter(province_id=ioc_city.province_code).first()
    client, _ = api_client(cast["operator"])
    body = client.get(BASE + f"/wards/{commune.code}").json()
    assert body["name"] == commune.name
    probe = next(s for s in body["sections"] if s["module"] == MODULE)
    assert probe["items"][1] == {"label": "Silent", "value": 1, "level": "warning", "url": None}
    assert client.get(BASE + "/wards/79999").status_code == 404


def test_alarms_stay_in_their_city(cast, alarm, other_city):
    from django.utils import timezone

    theirs = Alarm.objects.create(
        city=other_city,
        key="t",
        module="m",
        kind="k",
        title="t",
        raised_at=timezone.now(),
        seen_at=timezone.now(),
    )
    client, token = api_client(cast["operator"])
    assert send(client, token, "POST", f"/alarms/{theirs.pk}/acknowledge").status_code == 404
