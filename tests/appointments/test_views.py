"""The appointment pages over HTTP: the citizen's booking flow and its refusals, the booking page with
its QR code and calendar file, my appointments, cancel and reschedule, rating; the staff counter
screen (check-in by code or QR, call next, served, no-show, walk-ins) and the public "now serving"
screen. Who may see each page, and that bad input stores nothing."""

from __future__ import annotations

import datetime as dt
import re

import icalendar
import pytest
from django.test import Client
from django.utils import timezone

from dothi.appointments import selectors, services
from dothi.appointments.models import Booking, BookingStatus, Slot
from dothi.core.models import AuditEvent, Feedback
from tests import factories
from tests.security.harness import inline_code

pytestmark = pytest.mark.django_db

COUNTER = "/appointments/desk/hcc/1/"


def client_as(user=None, language: str = "en") -> Client:
    client = Client()
    client.cookies["dothi_language"] = language
    if user is not None:
        client.force_login(user)
    return client


def htmx(client: Client, path: str, data: dict | None = None):
    return client.post(path, data or {}, HTTP_HX_REQUEST="true")


def html(response) -> str:
    return response.content.decode()


def today(ax) -> dt.date:
    return selectors.local_today(ax.city)


def arrives_today(booking) -> Booking:
    """The day of the visit comes: the booking is for today (the counter works on today's list)."""
    Booking.objects.filter(pk=booking.pk).update(day=selectors.local_today(booking.city))
    booking.refresh_from_db()
    return booking


def assert_csp_clean(response) -> None:
    assert response.status_code == 200
    assert inline_code(html(response)) == []


# --- Choosing a service, an office, a day and a time -------------------------------------------


def test_home_lists_the_services_for_everyone(ax):
    anonymous = client_as().get("/appointments/")
    assert_csp_clean(anonymous)
    text = html(anonymous)
    assert "Citizen ID card renewal" in text and 'href="/appointments/s/cccd/"' in text
    assert "sign in with your citizen ID" in text
    mine = client_as(ax.cast["citizen"]).get("/appointments/")
    assert "sign in with your citizen ID" not in html(mine) and "/appointments/mine/" in html(mine)


def test_pages_speak_vietnamese_by_default(ax):
    response = client_as(language="").get("/appointments/")
    assert '<html lang="vi">' in html(response)


def test_offices_by_name_then_nearest_first(ax):
    services.office_create(
        actor=ax.admin,
        city=ax.city,
        code="an-hai",
        name_vi="UBND phường An Hải",
        name_en="An Hai ward office",
        lat=16.0700,
        lon=108.2400,
        agency=ax.agency,
        address="1 Phạm Văn Đồng",
    )
    ward = selectors.office_by_code(city=ax.city, code="an-hai")
    services.counter_create(actor=ax.admin, office=ward, number=1, services=[ax.cccd])
    client = client_as(ax.cast["citizen"])

    by_name = client.get("/appointments/s/cccd/")
    assert_csp_clean(by_name)
    text = html(by_name)
    # By name: "Trung tâm…" sorts after "UBND…"? No: Vietnamese names, ordered as stored ("T" < "U").
    assert text.index("Public Administration Service Centre") < text.index("An Hai ward office")
    assert "In order of name." in text and "Next free time:" in text
    assert 'id="locate-button"' in text

    near_ward = client.get("/appointments/s/cccd/", {"lat": "16.0701", "lon": "108.2401"})
    text = html(near_ward)
    assert text.index("An Hai ward office") < text.index("Public Administration Service Centre")
    assert "Nearest first, from your location." in text and " m away" in text
    assert "km away" in text  # the centre is about 2 km from there

    partial = client.get(
        "/appointments/s/cccd/", {"lat": "16.0701", "lon": "108.2401"}, HTTP_HX_REQUEST="true"
    )
    assert partial.status_code == 200 and "<html" not in html(partial) and 'id="office-list"' in html(partial)

    # A point that makes no sense is ignored: the list stays by name.
    nonsense = client.get("/appointments/s/cccd/", {"lat": "500", "lon": "x"})
    assert nonsense.status_code == 200 and "In order of name." in html(nonsense)


def test_unknown_service_or_office_is_404(ax, other_city):
    client = client_as()
    assert client.get("/appointments/s/nope/").status_code == 404
    assert client.get("/appointments/s/cccd/o/nope/").status_code == 404
    # Another city's office with the same code is not this city's.
    other_admin = factories.make_staff(other_city, "city_admin")
    services.office_create(
        actor=other_admin, city=other_city, code="q1", name_vi="Quận 1", lat=10.77, lon=106.7
    )
    assert client.get("/appointments/s/cccd/o/q1/").status_code == 404
    assert client.get("/appointments/office/q1/now/").status_code == 404


def test_slots_page_shows_the_days_and_free_times(ax):
    client = client_as()
    first = client.get("/appointments/s/cccd/o/hcc/")
    assert_csp_clean(first)
    assert "Free times on" in html(first) and "/appointments/confirm/" in html(first)

    chosen = client.get("/appointments/s/cccd/o/hcc/", {"day": ax.day.isoformat()})
    text = html(chosen)
    slot = ax.slot(ax.cccd, "09:00")
    assert f'href="/appointments/confirm/{slot.pk}/"' in text
    assert 'data-time="09:00"' in text and "(2 places)" in text
    assert 'data-time="12:00"' not in text  # the lunch break

    partial = client.get("/appointments/s/cccd/o/hcc/", {"day": ax.day.isoformat()}, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200 and "<html" not in html(partial) and 'id="slot-picker"' in html(partial)


@pytest.mark.parametrize(
    "day, message",
    [
        ("2025-13-45", "Enter a date as YYYY-MM-DD."),
        ("yesterday", "Enter a date as YYYY-MM-DD."),
        ("past", "This day has passed."),
        ("far", "This service can be booked at most 14 days ahead."),
        ("saturday", "The office is closed on"),
        ("closed", "Staff training"),
    ],
)
def test_a_day_that_cannot_be_booked_says_why(ax, day, message):
    if day == "past":
        day = (today(ax) - dt.timedelta(days=1)).isoformat()
    elif day == "far":
        day = (today(ax) + dt.timedelta(days=30)).isoformat()
    elif day == "saturday":
        day = (ax.day + dt.timedelta(days=(5 - ax.day.weekday()) % 7)).isoformat()
    elif day == "closed":
        services.closed_day_add(
            actor=ax.admin, city=ax.city, day=ax.day, reason="Staff training", office=ax.office
        )
        day = ax.day.isoformat()
    response = client_as().get("/appointments/s/cccd/o/hcc/", {"day": day})
    assert response.status_code == 422
    assert message in html(response)
    assert "/appointments/confirm/" not in html(response).split('id="slot-picker"')[1].split("</form>")[1]


# --- Confirming a booking -----------------------------------------------------------------------


def test_confirm_asks_others_to_sign_in_and_refuses_their_post(ax):
    slot = ax.slot(ax.cccd)
    url = f"/appointments/confirm/{slot.pk}/"
    anonymous = client_as().get(url)
    assert_csp_clean(anonymous)
    assert "Sign in with your citizen ID to book this time." in html(anonymous)
    assert "Confirm the booking" not in html(anonymous)
    post = client_as().post(url, {"idempotency_key": "k"})
    assert post.status_code == 302 and post["Location"].startswith("/account/signin/")
    for role in ("agency_staff", "operator", "council_member", "city_admin"):
        staff = client_as(ax.cast[role])
        assert "Your account cannot book here." in html(staff.get(url))
        assert staff.post(url, {"idempotency_key": "k"}).status_code == 403
    assert client_as(ax.cast["citizen"]).post("/appointments/confirm/999999/", {}).status_code == 404
    assert not Booking.objects.exists()


def test_citizen_books_and_sees_the_confirmation(ax):
    citizen = ax.cast["citizen"]
    client = client_as(citizen)
    slot = ax.slot(ax.cccd, "09:00")
    page = client.get(f"/appointments/confirm/{slot.pk}/")
    assert_csp_clean(page)
    keys = re.findall(r'name="idempotency_key" value="([0-9a-f]{32})"', html(page))
    assert len(keys) == 1 and "The old ID card" in html(page)

    response = client.post(f"/appointments/confirm/{slot.pk}/", {"idempotency_key": keys[0]})
    booking = Booking.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/appointments/b/{booking.code}/"
    assert booking.citizen == citizen and booking.slot == slot and booking.status == BookingStatus.BOOKED
    slot.refresh_from_db()
    assert slot.booked == 1

    # A double submission of the same form is the same booking.
    again = client.post(f"/appointments/confirm/{slot.pk}/", {"idempotency_key": keys[0]})
    assert again["Location"] == response["Location"] and Booking.objects.count() == 1

    detail = client.get(response["Location"])
    assert_csp_clean(detail)
    text = html(detail)
    code = services.format_code(booking.code)
    assert f"Your booking code is {code}." in text  # the message after booking
    assert f'id="booking-code">{code}<' in text
    assert f'src="/appointments/b/{booking.code}/qr.svg"' in text
    assert f'href="/appointments/b/{booking.code}/appointment.ics"' in text
    assert "reminder the day before" in text
    assert "24 Trần Phú, Hải Châu" in text and "The old ID card" in text
    assert 'id="office-map"' in text and 'data-lat="16.061100"' in text
    assert 'id="cancel-button"' in text and 'id="reschedule-link"' in text


def test_full_slot_names_the_next_free_one(ax, citizens):
    first, second = citizens(2)
    slot = ax.slot(ax.birth, "09:00")  # capacity 1: one counter serves births
    services.booking_create(actor=first, city=ax.city, slot=slot)
    client = client_as(second)
    page = client.get(f"/appointments/confirm/{slot.pk}/")
    assert 'id="next-free-link"' in html(page)  # already full when shown
    response = client.post(f"/appointments/confirm/{slot.pk}/", {"idempotency_key": "x"})
    assert response.status_code == 409
    text = html(response)
    assert "This slot is full; the next free slot is" in text
    following = selectors.next_free_slot(city=ax.city, office=ax.office, service=ax.birth, after=slot.start)
    assert f'href="/appointments/confirm/{following.pk}/"' in text
    assert Booking.objects.filter(citizen=second).count() == 0


def test_one_active_booking_per_service(ax, book):
    book()
    client = client_as(ax.cast["citizen"])
    other = ax.slot(ax.cccd, "10:00")
    response = client.post(f"/appointments/confirm/{other.pk}/", {"idempotency_key": "y"})
    assert response.status_code == 409
    assert "You already have an appointment for Citizen ID card renewal." in html(response)
    assert 'href="/appointments/mine/"' in html(response)
    assert Booking.objects.count() == 1


def test_past_slot_is_refused(ax):
    now = timezone.now()
    past = Slot.objects.create(
        city=ax.city,
        office=ax.office,
        service=ax.cccd,
        start=now - dt.timedelta(hours=3),
        end=now - dt.timedelta(hours=2, minutes=45),
        capacity=2,
    )
    client = client_as(ax.cast["citizen"])
    page = client.get(f"/appointments/confirm/{past.pk}/")
    assert "This time has already passed." in html(page) and "Confirm the booking" not in html(page)
    response = client.post(f"/appointments/confirm/{past.pk}/", {"idempotency_key": "z"})
    assert response.status_code == 422 and "This time has already passed." in html(response)
    assert not Booking.objects.exists()


def test_closed_day_is_refused(ax, citizens):
    slot = ax.slot(ax.cccd, "09:00")
    (early,) = citizens(1)
    services.booking_create(actor=early, city=ax.city, slot=slot)  # keeps the slot after the day closes
    services.closed_day_add(actor=ax.admin, city=ax.city, day=ax.day, reason="Staff training")
    response = client_as(ax.cast["citizen"]).post(
        f"/appointments/confirm/{slot.pk}/", {"idempotency_key": "c"}
    )
    assert response.status_code == 422
    assert "The office is closed on" in html(response) and "Staff training" in html(response)
    assert not Booking.objects.filter(citizen=ax.cast["citizen"]).exists()


def test_repeated_no_shows_block_booking_until_a_date(ax):
    citizen = ax.cast["citizen"]
    now = timezone.now()
    for i in range(3):
        Booking.objects.create(
            city=ax.city,
            code=services.new_code(),
            citizen=citizen,
            service=ax.birth,
            office=ax.office,
            day=today(ax) - dt.timedelta(days=10 - i),
            status=BookingStatus.NO_SHOW,
            no_show_at=now - dt.timedelta(days=10 - i),
        )
    response = client_as(citizen).post(
        f"/appointments/confirm/{ax.slot(ax.cccd).pk}/", {"idempotency_key": "n"}
    )
    assert response.status_code == 403
    assert "so you cannot book until" in html(response)
    assert not Booking.objects.filter(status=BookingStatus.BOOKED).exists()


def test_unverified_citizen_cannot_book(ax):
    citizen = ax.cast["citizen"]
    citizen.verification_level = 1
    citizen.save(update_fields=["verification_level"])
    response = client_as(citizen).post(
        f"/appointments/confirm/{ax.slot(ax.cccd).pk}/", {"idempotency_key": "u"}
    )
    assert response.status_code == 403 and "Confirm your citizen ID" in html(response)
    assert not Booking.objects.exists()


# --- The booking: who sees it, QR code, calendar file --------------------------------------------


@pytest.mark.parametrize(
    "role, status",
    [
        ("citizen", 200),
        ("agency_staff", 200),  # serves at the office
        ("agency_manager", 200),
        ("operator", 200),
        ("city_admin", 200),
        ("platform_admin", 200),
        ("visitor", 404),
        ("council_member", 404),
        ("anonymous", 302),
    ],
)
def test_who_sees_a_booking(ax, book, role, status):
    booking = book()
    user = ax.cast[role]
    client = client_as(user)
    for suffix in ("", "qr.svg", "appointment.ics"):
        response = client.get(f"/appointments/b/{booking.code}/{suffix}")
        assert response.status_code == status, suffix
    if status == 200:
        text = html(client.get(f"/appointments/b/{booking.code}/"))
        # Staff see the booking, not the citizen's buttons.
        assert ('id="cancel-button"' in text) == (role == "citizen")


def test_malformed_or_unknown_code_is_404(ax, book):
    client = client_as(ax.cast["citizen"])
    assert client.get("/appointments/b/not-a-code/").status_code == 404
    assert client.get("/appointments/b/ABCDEFGH/").status_code == 404


def test_ics_file(ax, book):
    booking = book(slot=ax.slot(ax.cccd, "09:00"))
    response = client_as(ax.cast["citizen"]).get(f"/appointments/b/{booking.code}/appointment.ics")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="appointment-{booking.code}.ics"'
    body = response.content.decode()
    assert body.startswith("BEGIN:VCALENDAR") and "BEGIN:VEVENT" in body
    calendar = icalendar.Calendar.from_ical(response.content)
    events = [c for c in calendar.walk("VEVENT")]
    assert len(events) == 1
    start = events[0].decoded("dtstart")
    assert start.astimezone(ax.tz) == dt.datetime.combine(ax.day, dt.time(9, 0), ax.tz)
    assert start.astimezone(ax.tz).strftime("%H:%M") == "09:00"
    assert services.format_code(booking.code) in str(events[0].get("description"))
    assert f"/appointments/b/{booking.code}/" in str(events[0].get("url"))


def test_qr_image(ax, book):
    booking = book()
    response = client_as(ax.cast["citizen"]).get(f"/appointments/b/{booking.code}/qr.svg")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    svg = response.content.decode()
    assert "<svg" in svg and "<path" in svg and "style=" not in svg
    other = factories.make_citizen(ax.city)
    assert client_as(other).get(f"/appointments/b/{booking.code}/qr.svg").status_code == 404


# --- My appointments, cancel, reschedule, rate ---------------------------------------------------


def test_my_appointments_and_cancel(ax, book):
    booking = book()
    client = client_as(ax.cast["citizen"])
    mine = client.get("/appointments/mine/")
    assert_csp_clean(mine)
    assert services.format_code(booking.code) in html(mine)
    assert f'action="/appointments/b/{booking.code}/cancel/"' in html(mine)
    assert client_as().get("/appointments/mine/").status_code == 302

    # Someone else cannot cancel it.
    other = factories.make_citizen(ax.city)
    assert client_as(other).post(f"/appointments/b/{booking.code}/cancel/").status_code == 404
    staff = client_as(ax.cast["agency_staff"])
    assert staff.post(f"/appointments/b/{booking.code}/cancel/").status_code == 404
    booking.refresh_from_db()
    assert booking.status == BookingStatus.BOOKED

    response = client.post(f"/appointments/b/{booking.code}/cancel/")
    assert response.status_code == 302 and response["Location"] == "/appointments/mine/"
    booking.refresh_from_db()
    booking.slot.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED and booking.slot.booked == 0
    after = html(client.get("/appointments/mine/"))
    assert "is cancelled" in after and "You have no appointment coming up." in after


def test_cancel_after_the_cutoff_is_refused_clearly(ax, book):
    booking = book()
    soon = timezone.now() + dt.timedelta(hours=1)
    Slot.objects.filter(pk=booking.slot_id).update(start=soon, end=soon + dt.timedelta(minutes=15))
    client = client_as(ax.cast["citizen"])
    detail = html(client.get(f"/appointments/b/{booking.code}/"))
    assert "It is too late to move or cancel this appointment online" in detail
    assert 'id="cancel-button"' not in detail
    response = client.post(f"/appointments/b/{booking.code}/cancel/")
    assert response.status_code == 422
    assert "Bookings can be changed until 2 hours before the appointment." in html(response)
    booking.refresh_from_db()
    assert booking.status == BookingStatus.BOOKED
    reschedule = client.post(
        f"/appointments/b/{booking.code}/reschedule/", {"slot": ax.slot(ax.cccd, "10:00").pk}
    )
    assert reschedule.status_code == 422
    booking.refresh_from_db()
    assert booking.slot.start == soon


def test_reschedule(ax, book):
    booking = book(slot=ax.slot(ax.cccd, "09:00"))
    client = client_as(ax.cast["citizen"])
    url = f"/appointments/b/{booking.code}/reschedule/"
    page = client.get(url, {"day": ax.day.isoformat()})
    assert_csp_clean(page)
    new = ax.slot(ax.cccd, "09:30")
    assert f'name="slot" value="{new.pk}"' in html(page)

    for bad, status, message in [
        ({}, 422, "Choose a new time."),
        ({"slot": "abc"}, 422, "Choose a new time."),
        ({"slot": "999999"}, 422, "Unknown slot."),
        ({"slot": ax.slot(ax.birth, "09:30").pk}, 422, "Choose a time for the same service."),
        ({"slot": booking.slot_id}, 422, "This is already the time of your booking."),
    ]:
        response = client.post(url, bad)
        assert response.status_code == status, bad
        assert message in html(response), bad
    booking.refresh_from_db()
    assert booking.slot_id == ax.slot(ax.cccd, "09:00").pk and booking.reschedule_count == 0

    # Another person's booking cannot be moved.
    other = factories.make_citizen(ax.city)
    assert client_as(other).post(url, {"slot": new.pk}).status_code == 404

    response = client.post(url, {"slot": new.pk})
    assert response.status_code == 302 and response["Location"] == f"/appointments/b/{booking.code}/"
    booking.refresh_from_db()
    assert booking.slot == new and booking.reschedule_count == 1
    assert "Your appointment is moved to" in html(client.get(response["Location"]))


def test_reschedule_to_a_full_slot(ax, book, citizens):
    (someone,) = citizens(1)
    full = ax.slot(ax.birth, "10:00")
    services.booking_create(actor=someone, city=ax.city, slot=full)
    mine = book(slot=ax.slot(ax.birth, "09:00"))
    response = client_as(ax.cast["citizen"]).post(
        f"/appointments/b/{mine.code}/reschedule/", {"slot": full.pk}
    )
    assert response.status_code == 409 and "This slot is full; the next free slot is" in html(response)
    mine.refresh_from_db()
    assert mine.slot == ax.slot(ax.birth, "09:00")


def test_rate_after_the_visit(ax, book):
    booking = book()
    client = client_as(ax.cast["citizen"])
    assert 'action="/appointments/b/' + booking.code + '/rate/"' not in html(
        client.get(f"/appointments/b/{booking.code}/")
    )
    Booking.objects.filter(pk=booking.pk).update(status=BookingStatus.SERVED)
    page = client.get(f"/appointments/b/{booking.code}/")
    assert "Rate your visit" in html(page)
    bad = client.post(f"/appointments/b/{booking.code}/rate/", {"rating": "9"})
    assert bad.status_code == 422 and not Feedback.objects.exists()
    response = client.post(f"/appointments/b/{booking.code}/rate/", {"rating": "5", "comment": "Fast"})
    assert response.status_code == 302
    feedback = Feedback.objects.get()
    assert (feedback.subject_type, feedback.subject_id, feedback.rating) == (
        "appointments.booking",
        booking.code,
        5,
    )
    assert "you rated this visit" in html(client.get(f"/appointments/b/{booking.code}/"))


# --- The counter (staff) -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, status",
    [
        ("agency_staff", 200),
        ("agency_manager", 200),
        ("operator", 200),
        ("city_admin", 200),
        ("platform_admin", 200),
        ("council_member", 403),
        ("citizen", 403),
        ("visitor", 403),
        ("anonymous", 302),
    ],
)
def test_who_works_at_the_counter(ax, role, status):
    client = client_as(ax.cast[role])
    desk = client.get("/appointments/desk/")
    counter = client.get(COUNTER)
    assert (desk.status_code, counter.status_code) == (status, status)
    if status == 302:
        assert desk["Location"].startswith("/account/staff/") or "staff" in desk["Location"]
        assert htmx(client, COUNTER + "call-next/").status_code == 302
    elif status == 403:
        assert htmx(client, COUNTER + "call-next/").status_code == 403
    else:
        assert_csp_clean(desk)
        assert_csp_clean(counter)
        assert 'href="/appointments/desk/hcc/1/"' in html(desk)


def test_staff_of_another_agency_do_not_serve_here(ax, book):
    booking = arrives_today(book())
    other = factories.make_staff(
        ax.city, "agency_staff", organisation=factories.make_agency(ax.city, "cong-an")
    )
    client = client_as(other)
    assert "You do not serve at any office of this city." in html(client.get("/appointments/desk/"))
    assert client.get(COUNTER).status_code == 403
    assert htmx(client, COUNTER + "check-in/", {"code": booking.code}).status_code == 403
    booking.refresh_from_db()
    assert booking.status == BookingStatus.BOOKED


def test_unknown_counter_is_404(ax):
    client = client_as(ax.cast["agency_staff"])
    assert client.get("/appointments/desk/hcc/9/").status_code == 404
    assert client.get("/appointments/desk/nope/1/").status_code == 404


def test_check_in_call_next_and_serve(ax, book):
    booking = arrives_today(book())
    staff = client_as(ax.cast["agency_staff"])
    screen = staff.get(COUNTER)
    assert services.format_code(booking.code) in html(screen) and "Check in" in html(screen)

    # What a QR scanner types: the link on the person's phone.
    scanned = f"http://testserver/appointments/b/{booking.code}/"
    response = htmx(staff, COUNTER + "check-in/", {"code": scanned})
    assert response.status_code == 200
    text = html(response)
    assert "<html" not in text and 'id="counter-panel"' in text and 'hx-swap-oob="true"' in text
    assert f"Checked in: number 1 ({services.format_code(booking.code)}, Citizen ID card renewal)." in text
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CHECKED_IN and booking.queue_number == 1
    assert 'id="waiting-list"' in text

    called = html(htmx(staff, COUNTER + "call-next/"))
    assert "Number 1 is called to counter 1." in called and 'id="current-number">1<' in called
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CALLED and booking.counter == ax.counter1
    assert booking.wait_seconds is not None

    board = client_as().get("/appointments/office/hcc/now/board/")
    assert re.search(r'data-counter="1">.*?data-number="1"', html(board), re.S)

    busy = htmx(staff, COUNTER + "call-next/")
    assert busy.status_code == 409 and "Finish with number 1 first" in html(busy)

    served = htmx(staff, COUNTER + f"b/{booking.code}/served/")
    assert served.status_code == 200 and "Number 1 is served." in html(served)
    booking.refresh_from_db()
    assert booking.status == BookingStatus.SERVED and booking.finished_at is not None
    assert booking.served_by == ax.cast["agency_staff"]
    assert "Served at this counter today: 1." in html(staff.get(COUNTER))
    assert "Nobody is waiting for this counter." in html(htmx(staff, COUNTER + "call-next/"))


def test_counter_actions_without_javascript_redirect_back(ax, book):
    booking = arrives_today(book())
    staff = client_as(ax.cast["agency_staff"])
    response = staff.post(COUNTER + "check-in/", {"code": services.format_code(booking.code)})
    assert response.status_code == 302 and response["Location"] == COUNTER
    assert "Checked in: number 1" in html(staff.get(COUNTER))
    staff.post(COUNTER + "call-next/")
    response = staff.post(COUNTER + f"b/{booking.code}/no-show/")
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == BookingStatus.NO_SHOW


@pytest.mark.parametrize(
    "code, status, message",
    [
        ("", 422, "This field is required."),
        ("ABC", 422, "This is not a booking code"),
        ("ABCDEFGH", 404, "No booking has this code."),
        ("tomorrow", 422, "not today"),
        ("already", 422, "cannot be checked in"),
    ],
)
def test_check_in_refusals_are_form_errors(ax, book, citizens, code, status, message):
    booking = book()
    if code == "tomorrow":
        code = booking.code  # booked for ax.day, at least two days ahead
    elif code == "already":
        arrives_today(booking)
        services.booking_check_in(actor=ax.cast["agency_staff"], city=ax.city, code=booking.code)
        code = booking.code
    before = list(Booking.objects.values_list("pk", "status", "queue_number"))
    staff = client_as(ax.cast["agency_staff"])
    response = htmx(staff, COUNTER + "check-in/", {"code": code})
    assert response.status_code == status
    assert message in html(response) and 'id="checkin_code_error"' in html(response)
    assert list(Booking.objects.values_list("pk", "status", "queue_number")) == before
    plain = staff.post(COUNTER + "check-in/", {"code": code})
    assert plain.status_code == status and "<html" in html(plain) and message in html(plain)


def test_bad_staff_action_is_refused(ax, book):
    booking = arrives_today(book())
    staff = client_as(ax.cast["agency_staff"])
    assert htmx(staff, COUNTER + f"b/{booking.code}/explode/").status_code == 404
    response = htmx(staff, COUNTER + f"b/{booking.code}/served/")  # not called yet
    assert response.status_code == 422 and "cannot change from" in html(response)
    assert htmx(staff, COUNTER + "b/ABCDEFGH/served/").status_code == 404
    booking.refresh_from_db()
    assert booking.status == BookingStatus.BOOKED


def test_walk_in_joins_the_same_queue(ax, book):
    booked = arrives_today(book())
    staff = client_as(ax.cast["agency_staff"])
    htmx(staff, COUNTER + "check-in/", {"code": booked.code})
    response = htmx(
        staff, COUNTER + "walk-in/", {"service": "cccd", "name": "Nguyễn Văn Khách", "phone": "0905 123 456"}
    )
    assert response.status_code == 200
    assert "Walk-in number 2 joins the queue (Citizen ID card renewal)." in html(response)
    walk_in = Booking.objects.get(walk_in=True)
    assert (
        walk_in.queue_number == 2 and walk_in.status == BookingStatus.CHECKED_IN and walk_in.citizen is None
    )
    assert "0905" not in walk_in.walk_in_phone_enc
    screen = html(staff.get(COUNTER))
    assert "Nguyễn Văn Khách" not in screen and "0905 123 456" not in screen  # numbers, not names
    # First come, first served: the booked person arrived first.
    htmx(staff, COUNTER + "call-next/")
    booked.refresh_from_db()
    assert booked.status == BookingStatus.CALLED


@pytest.mark.parametrize(
    "data, message",
    [
        ({"service": ""}, "This field is required."),
        ({"service": "nope"}, "Select a valid choice."),
        ({"service": "cccd", "phone": "call me maybe"}, "Enter a valid phone number."),
        ({"service": "cccd", "name": "x" * 200}, "Ensure this value has at most 120 characters"),
    ],
)
def test_walk_in_bad_input_stores_nothing(ax, data, message):
    audits = AuditEvent.objects.count()
    response = htmx(client_as(ax.cast["agency_staff"]), COUNTER + "walk-in/", data)
    assert response.status_code == 422 and message in html(response)
    assert not Booking.objects.exists() and AuditEvent.objects.count() == audits


# --- The public "now serving" screen ----------------------------------------------------------------


def test_now_serving_screen_is_public_and_shows_numbers_only(ax, book):
    booking = arrives_today(book())
    staff = ax.cast["agency_staff"]
    services.booking_check_in(actor=staff, city=ax.city, code=booking.code)
    services.walk_in_create(
        actor=staff, office=ax.office, service=ax.cccd, name="Trần Thị Riêng", phone="0905000111"
    )
    services.queue_call_next(actor=staff, counter=ax.counter2)

    page = client_as().get("/appointments/office/hcc/now/")
    assert_csp_clean(page)
    text = html(page)
    assert 'hx-get="/appointments/office/hcc/now/board/"' in text and 'hx-trigger="every 4s"' in text
    assert "Public Administration Service Centre" in text
    assert re.search(r'data-counter="2">.*?data-number="1"', text, re.S)  # number 1 called to counter 2
    assert re.search(r'id="next-numbers">\s*<li[^>]*>2</li>', text)  # the walk-in waits
    assert "Trần Thị Riêng" not in text and booking.code not in text
    assert services.format_code(booking.code) not in text

    board = client_as().get("/appointments/office/hcc/now/board/")
    assert board.status_code == 200 and "<html" not in html(board)
    assert board["Cache-Control"] == "no-store"
    assert 'hx-trigger="every 4s"' in html(board)  # it keeps polling after each swap


# --- Hostile input -----------------------------------------------------------------------------------


def test_hostile_input_never_breaks_a_page_or_stores_on_refusal(ax, book):
    from tests.security.hostile import STRINGS

    booking = book(slot=ax.slot(ax.cccd, "09:00"))
    Booking.objects.filter(pk=booking.pk).update(status=BookingStatus.SERVED)
    citizen, staff = client_as(ax.cast["citizen"]), client_as(ax.cast["agency_staff"])
    slot = ax.slot(ax.birth, "09:00")

    def rows() -> tuple[int, int, int]:
        return Booking.objects.count(), Feedback.objects.count(), Slot.objects.filter(booked__gt=0).count()

    for name, value in STRINGS.items():
        gets = [
            citizen.get("/appointments/s/cccd/", {"lat": value, "lon": value}),
            citizen.get("/appointments/s/cccd/o/hcc/", {"day": value}),
            citizen.get(f"/appointments/b/{booking.code}/reschedule/", {"day": value, "office": value}),
        ]
        for response in gets:
            assert response.status_code < 500, (name, response.status_code)
        posts = [
            lambda: citizen.post(f"/appointments/b/{booking.code}/reschedule/", {"slot": value}),
            lambda: citizen.post(
                f"/appointments/b/{booking.code}/rate/", {"rating": value, "comment": value}
            ),
            lambda: htmx(staff, COUNTER + "check-in/", {"code": value}),
            lambda: htmx(staff, COUNTER + "walk-in/", {"service": value, "name": value, "phone": value}),
            lambda: htmx(staff, COUNTER + "walk-in/", {"service": "cccd", "name": value}),
            lambda: htmx(staff, COUNTER + "walk-in/", {"service": "cccd", "phone": value}),
        ]
        for send in posts:
            before = rows()
            response = send()
            assert response.status_code < 500, (name, response.status_code)
            if response.status_code >= 400:
                assert rows() == before, name
        # The idempotency key is the one free text of the booking form: a refusal stores nothing.
        before = rows()
        response = citizen.post(f"/appointments/confirm/{slot.pk}/", {"idempotency_key": value})
        assert response.status_code < 500, name
        if response.status_code >= 400:
            assert rows() == before, name
        Booking.objects.filter(citizen=ax.cast["citizen"], service=ax.birth).delete()
        Slot.objects.filter(pk=slot.pk).update(booked=0)
