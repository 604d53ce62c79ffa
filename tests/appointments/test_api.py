"""The appointments JSON API under /api/v1/appointments/ over HTTP (sessions with CSRF), and the
module's role × operation matrix."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from dothi.appointments.models import Booking, BookingStatus, Slot
from dothi.core import permissions
from dothi.core.manifests import registry

pytestmark = pytest.mark.django_db
BASE = "/api/v1/appointments/"


def api_client(user=None) -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_login(user)
    token = client.get("/api/v1/identity/csrf").json()["csrf_token"]
    return client, token


def post(client, token, path, data=None, **headers):
    return client.post(
        BASE + path, data or {}, content_type="application/json", HTTP_X_CSRFTOKEN=token, **headers
    )


def test_services_offices_and_slots(ax):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    services_ = client.get(BASE + "services").json()
    cccd = next(s for s in services_ if s["code"] == "cccd")
    assert cccd["name"] == "Citizen ID card renewal" and cccd["documents"] == ["The old ID card"]
    offices = client.get(BASE + "offices", {"service": "cccd", "lat": 16.06, "lon": 108.22}).json()
    assert offices[0]["code"] == "hcc" and offices[0]["distance_m"] > 0
    assert offices[0]["next_free_slot"]["free"] == 2
    slots = client.get(BASE + "slots", {"office": "hcc", "service": "cccd", "day": ax.day.isoformat()}).json()
    assert slots[0]["id"] == ax.slot(ax.cccd, "07:30").pk and slots[0]["free"] == 2
    bad = client.get(BASE + "offices", {"service": "nope"})
    assert bad.status_code == 422 and bad.json()["code"] == "service_unknown"


def test_book_over_http_with_idempotency_and_full(ax, citizens):
    slot = ax.slot(ax.birth)  # capacity 1
    a, b = citizens(2)
    client, token = api_client(a)
    first = post(client, token, "bookings", {"slot": slot.pk}, HTTP_IDEMPOTENCY_KEY="abc")
    assert first.status_code == 201, first.content
    again = post(client, token, "bookings", {"slot": slot.pk}, HTTP_IDEMPOTENCY_KEY="abc")
    assert again.status_code == 201 and again.json()["code"] == first.json()["code"]
    other, other_token = api_client(b)
    full = post(other, other_token, "bookings", {"slot": slot.pk})
    assert full.status_code == 409
    body = full.json()
    assert body["code"] == "slot_full" and body["next_free_slot"] == ax.slot(ax.birth, "09:15").pk
    assert body["message"].startswith("This slot is full; the next free slot is")
    assert Slot.objects.get(pk=slot.pk).booked == 1 and Booking.objects.count() == 1


def test_booking_needs_a_session_and_csrf(ax):
    client, _token = api_client()
    assert post(client, "x", "bookings", {"slot": ax.slot(ax.cccd).pk}).status_code in (401, 403)
    signed, _ = api_client(ax.cast["citizen"])
    assert post(signed, "wrong", "bookings", {"slot": ax.slot(ax.cccd).pk}).status_code == 403
    assert Booking.objects.count() == 0


def test_my_bookings_cancel_reschedule(ax):
    citizen = ax.cast["citizen"]
    client, token = api_client(citizen)
    code = post(client, token, "bookings", {"slot": ax.slot(ax.cccd).pk}).json()["code"]
    mine = client.get(BASE + "bookings").json()
    assert [b["code"] for b in mine] == [code]
    moved = post(client, token, f"bookings/{code}/reschedule", {"slot": ax.slot(ax.cccd, "14:00").pk})
    assert moved.status_code == 200 and moved.json()["start"].endswith("14:00:00+07:00")
    cancelled = post(client, token, f"bookings/{code}/cancel")
    assert cancelled.json()["status"] == BookingStatus.CANCELLED
    # Another person's booking is not found, for reading or changing.
    stranger, stoken = api_client(ax.cast["visitor"])
    assert stranger.get(BASE + f"bookings/{code}").status_code == 404
    assert post(stranger, stoken, f"bookings/{code}/cancel").status_code == 404
    assert client.get(BASE + "bookings/not-a-code").status_code == 422


def test_counter_over_http(ax):
    from zoneinfo import ZoneInfo

    citizen = ax.cast["citizen"]
    # A booking for today: make one on the fixture's day and move it to today.
    client, token = api_client(citizen)
    code = post(client, token, "bookings", {"slot": ax.slot(ax.cccd).pk}).json()["code"]
    today = dt.datetime.now(ZoneInfo(ax.city.time_zone)).date()
    Booking.objects.filter(code=code).update(day=today)
    staff, stoken = api_client(ax.cast["agency_staff"])
    checked = post(staff, stoken, "check-in", {"code": f"https://x/appointments/b/{code}/"})
    assert checked.status_code == 200 and checked.json()["queue_number"] == 1
    called = post(staff, stoken, f"counters/{ax.counter2.pk}/call-next").json()
    assert called["booking"]["code"] == code and called["booking"]["counter"] == 2
    assert post(staff, stoken, f"counters/{ax.counter2.pk}/call-next").status_code == 409
    assert post(staff, stoken, f"bookings/{code}/serving").json()["status"] == "serving"
    assert post(staff, stoken, f"bookings/{code}/served").json()["status"] == "served"
    assert post(staff, stoken, f"counters/{ax.counter2.pk}/call-next").json() == {"booking": None}
    rated = post(client, token, f"bookings/{code}/rating", {"rating": 4, "comment": "Nhanh"})
    assert rated.status_code == 201
    # Malformed code, and a citizen at the counter.
    assert post(staff, stoken, "check-in", {"code": "???"}).json()["code"] == "code_malformed"
    assert post(client, token, f"counters/{ax.counter2.pk}/call-next").status_code == 404


def test_api_is_scoped_to_the_city(ax, other_city):
    client = Client()
    prefix = f"/c/{other_city.slug}{BASE}"
    assert client.get(prefix + "services").json() == []
    got = client.get(prefix + "slots", {"office": "hcc", "service": "cccd", "day": ax.day.isoformat()})
    assert got.status_code == 422


# --- Permissions matrix -----------------------------------------------------------------------------

SERVING = {"agency_staff", "agency_manager", "operator", "city_admin"}
EXPECTED = {
    "appointments.book": {"citizen"},
    "appointments.serve": SERVING,
    "appointments.configure": {"city_admin"},
    "appointments.stats": {"agency_manager", "operator", "council_member", "city_admin"},
}


def test_every_declared_operation_is_in_the_matrix():
    assert {op for op in registry.permissions() if op.startswith("appointments.")} == set(EXPECTED)


@pytest.mark.parametrize("operation", sorted(EXPECTED))
def test_matrix(operation, cast, city):
    for role, user in cast.items():
        allowed = role == "platform_admin" or role in EXPECTED[operation]
        assert permissions.can(user, operation, city) is allowed, (role, operation)
        if not allowed:
            with pytest.raises(PermissionDenied):
                permissions.require(user, operation, city)
