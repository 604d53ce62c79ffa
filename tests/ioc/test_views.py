"""The control centre's pages: the screen (its panels, refresh override, no inline code), each panel's
JSON, the alarm fragment htmx polls, the alarm actions, the incident log, handovers and a ward."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from dothi.core.models import Commune
from dothi.ioc import services
from dothi.ioc.models import Alarm, IncidentEntry, ShiftHandover
from tests.ioc.conftest import MODULE
from tests.security.harness import inline_code

pytestmark = pytest.mark.django_db


def client_for(user):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def op(cast):
    return client_for(cast["operator"])


def test_the_screen(op, ioc_module, alarm):
    alarm("iocprobe.breach:X", title="River high", level="danger", lon=108.2, lat=16.05)
    response = op.get("/ioc/")
    assert response.status_code == 200
    html = response.content.decode()
    assert not inline_code(html)
    config = json.loads(html.split('id="ioc-config" type="application/json">')[1].split("</script>")[0])
    codes = [p["code"] for p in config["panels"]]
    assert f"{MODULE}.points" in codes and f"{MODULE}.counts" not in codes  # side panels are not map layers
    assert all(p["refresh"] == 15 for p in config["panels"] if p["code"].startswith(MODULE))
    assert f'data-panel="{MODULE}.counts"' in html and f'data-panel="{MODULE}.trend"' in html
    assert f'data-panel="{MODULE}.secret"' not in html  # city administrators only
    assert "River high" in html and 'hx-trigger="every 15s"' in html
    assert "markercluster/leaflet.markercluster.js" in html and "uplot/uplot.iife.min.js" in html


def test_refresh_override(op, ioc_module):
    html = op.get("/ioc/?refresh=1").content.decode()
    config = json.loads(html.split('id="ioc-config" type="application/json">')[1].split("</script>")[0])
    assert {p["refresh"] for p in config["panels"]} == {2}  # at least 2 seconds
    assert 'hx-trigger="every 2s"' in html and "/ioc/alarms/fragment/?refresh=2" in html
    assert 'data-refresh="2"' in html
    html = op.get("/ioc/?refresh=abc").content.decode()
    assert 'hx-trigger="every 15s"' in html


def test_panel_json(op, cast, ioc_module):
    body = op.get(f"/ioc/panels/{MODULE}.points.json").json()
    assert body["kind"] == "geojson" and body["data"]["features"][0]["properties"]["id"] == "P-1"
    assert op.get(f"/ioc/panels/{MODULE}.broken.json").json()["ok"] is False
    assert op.get(f"/ioc/panels/{MODULE}.secret.json").status_code == 404
    assert op.get("/ioc/panels/nothing.json").status_code == 404
    assert client_for(cast["city_admin"]).get(f"/ioc/panels/{MODULE}.secret.json").status_code == 200


def test_the_alarm_fragment_polled_by_htmx(op, alarm):
    response = op.get("/ioc/alarms/fragment/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'data-active="0"' in response.content.decode()
    alarm("k1", title="Sensor silent")
    html = op.get("/ioc/alarms/fragment/").content.decode()
    assert "Sensor silent" in html and 'id="ioc-alarms"' in html and "<html" not in html


def test_acknowledge_assign_close_through_the_pages(op, cast, alarm):
    a = alarm()
    response = op.post(f"/ioc/alarms/{a.pk}/acknowledge/", {"next": "/ioc/"})
    assert response.status_code == 302 and response["Location"] == "/ioc/"
    a.refresh_from_db()
    assert a.status == "acknowledged"
    # Somewhere else is not followed.
    response = op.post(
        f"/ioc/alarms/{a.pk}/assign/", {"assignee": cast["agency_staff"].pk, "next": "https://evil.example/"}
    )
    assert response.status_code == 302 and response["Location"] == "/ioc/alarms/"
    a.refresh_from_db()
    assert a.assigned_to == cast["agency_staff"]
    # A citizen is not staff: refused, nothing stored.
    response = op.post(f"/ioc/alarms/{a.pk}/assign/", {"assignee": cast["citizen"].pk})
    assert response.status_code == 422
    response = op.post(f"/ioc/alarms/{a.pk}/close/", {"note": ""})
    assert response.status_code == 422
    a.refresh_from_db()
    assert a.status == "assigned"
    assert op.post(f"/ioc/alarms/{a.pk}/close/", {"note": "Fixed"}).status_code == 302
    a.refresh_from_db()
    assert a.status == "closed" and a.closing_note == "Fixed"
    # Closed already: a conflict shown on the page.
    assert op.post(f"/ioc/alarms/{a.pk}/close/", {"note": "again"}).status_code == 409
    assert op.post("/ioc/alarms/999999/close/", {"note": "x"}).status_code == 404
    assert IncidentEntry.objects.filter(alarm=a, kind="alarm").count() == 3


def test_the_alarms_page(op, cast, alarm):
    for n in range(30):
        alarm(f"k{n}", level="danger" if n % 2 else "info")
    html = op.get("/ioc/alarms/").content.decode()
    assert html.count('class="list-group-item ioc-alarm') == 25 and "page=2" in html
    assert not inline_code(html)
    assert op.get("/ioc/alarms/?level=danger").content.decode().count('ioc-alarm-danger"') == 15
    assert op.get("/ioc/alarms/?status=closed").status_code == 200
    # A council member sees the alarms, without the actions.
    html = client_for(cast["council_member"]).get("/ioc/alarms/").content.decode()
    assert "k1" in html and "/acknowledge/" not in html
    assert (
        client_for(cast["council_member"])
        .post(f"/ioc/alarms/{Alarm.objects.first().pk}/acknowledge/")
        .status_code
        == 403
    )


def test_the_incident_log(op, cast, ioc_city):
    html = op.get("/ioc/log/").content.decode()
    assert not inline_code(html) and 'name="text"' in html
    commune = Commune.objects.filter(province_id=ioc_city.province_code).first()
    response = op.post(
        "/ioc/log/", {"kind": "call", "text": "Called the fire brigade", "commune": commune.code}
    )
    assert response.status_code == 302
    entry = IncidentEntry.objects.get()
    assert (entry.kind, entry.commune, entry.author) == ("call", commune, cast["operator"])
    assert op.post("/ioc/log/", {"kind": "call", "text": ""}).status_code == 422
    assert op.post("/ioc/log/", {"kind": "alarm", "text": "x"}).status_code == 422
    assert IncidentEntry.objects.count() == 1
    # A council member reads the log and may not write it.
    council = client_for(cast["council_member"])
    html = council.get("/ioc/log/").content.decode()
    assert "Called the fire brigade" in html and 'name="text"' not in html
    assert council.post("/ioc/log/", {"kind": "note", "text": "x"}).status_code == 403


def test_handover_pages(op, cast, ioc_city, alarm):
    alarm("open-one", title="Still open")
    assert op.get("/ioc/handover/").status_code == 200
    response = op.post("/ioc/handover/", {"notes": "Watch the river", "handed_to": cast["city_admin"].pk})
    assert response.status_code == 302
    h = ShiftHandover.objects.get()
    assert h.handed_to == cast["city_admin"] and h.open_alarms[0]["title"] == "Still open"
    assert op.post("/ioc/handover/", {"notes": ""}).status_code == 422
    # The operator may not accept it; the city administrator it names does.
    assert op.post(f"/ioc/handover/{h.pk}/accept/").status_code == 403
    admin = client_for(cast["city_admin"])
    html = admin.get("/ioc/handover/").content.decode()
    assert "Watch the river" in html and "Still open" in html and f"/ioc/handover/{h.pk}/accept/" in html
    assert not inline_code(html)
    assert admin.post(f"/ioc/handover/{h.pk}/accept/").status_code == 302
    h.refresh_from_db()
    assert h.accepted_at is not None
    assert admin.post(f"/ioc/handover/{h.pk}/accept/").status_code == 409


def test_a_ward(op, ioc_city, ioc_module):
    commune = Commune.objects.filter(province_id=ioc_city.province_code).first()
    response = op.get(f"/ioc/wards/{commune.code}/")
    html = response.content.decode()
    assert response.status_code == 200 and commune.name in html and "Probes" in html and "<html" not in html
    assert op.get("/ioc/wards/79999/").status_code == 404


def test_empty_states_in_english(op):
    from django.conf import settings

    op.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    for path, text in [
        ("/ioc/alarms/", "nothing needs an operator right now"),
        ("/ioc/alarms/?status=closed", "No alarm has been closed yet."),
        ("/ioc/log/", "The incident log is empty."),
        ("/ioc/handover/", "No shift has been handed over yet."),
        ("/ioc/alarms/fragment/", "nothing needs an operator right now"),
    ]:
        response = op.get(path)
        assert response.status_code == 200 and text in response.content.decode(), path


@pytest.mark.parametrize(
    "path", ["/ioc/", "/ioc/alarms/", "/ioc/log/", "/ioc/handover/", "/ioc/alarms/fragment/"]
)
def test_staff_only(path, cast):
    assert client_for(None).get(path).status_code == 302
    for role in ("citizen", "agency_staff"):
        assert client_for(cast[role]).get(path).status_code == 403
    for role in ("operator", "council_member", "agency_manager", "city_admin", "platform_admin"):
        assert client_for(cast[role]).get(path).status_code == 200


def test_sweep_result_shows_on_the_screen(op, ioc_city, ioc_module, conditions):
    conditions.items = [conditions.candidate("S", title="Probe breached", level="danger")]
    services.sweep(ioc_city)
    html = op.get("/ioc/alarms/fragment/").content.decode()
    assert "Probe breached" in html and 'data-danger="1"' in html
