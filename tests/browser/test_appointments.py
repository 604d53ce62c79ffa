"""What people do with appointments in a real browser: a citizen books a time, downloads the calendar
file and moves the appointment; on the day, the counter checks them in by the QR code's content,
calls them and marks them served, while the waiting room's screen follows by itself."""

from __future__ import annotations

import datetime as dt
import re

import icalendar
import pytest
from django.conf import settings
from django.test import Client

from dothi.appointments import selectors
from dothi.appointments.models import Booking, BookingStatus
from dothi.appointments.services import format_code
from tests.appointments.conftest import _immediate_tasks, ax  # noqa: F401 - the appointments fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, live_server, user) -> None:
    """Give the browser a session for `user` (the sign-in flows have their own browser tests)."""
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            },
            {"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": live_server.url},
        ]
    )


def local(ax, moment: dt.datetime) -> str:  # noqa: F811
    return moment.astimezone(ax.tz).strftime("%Y-%m-%d %H:%M")


def test_book_reschedule_check_in_and_serve(page, browser, live_server, ax, tmp_path):  # noqa: F811
    citizen, staff = ax.cast["citizen"], ax.cast["agency_staff"]
    day = ax.day.isoformat()

    # --- The citizen books: service, office, day, time, confirm ----------------------------------
    sign_in(page, live_server, citizen)
    page.goto("/appointments/")
    page.click("text=Citizen ID card renewal")
    page.wait_for_url(re.compile(r"/appointments/s/cccd/$"))
    page.wait_for_selector(".office-choice .next-free")
    page.click(".office-choice[data-office=hcc] >> text=Choose a day and time")
    page.wait_for_url(re.compile(r"/appointments/s/cccd/o/hcc/$"))
    # Choosing a day swaps the free times in place (htmx) and keeps the address shareable.
    with page.expect_response(re.compile(rf"day={day}")):
        page.click(f"a.day-link[data-day='{day}']")
    page.wait_for_selector(f"a.day-link[data-day='{day}'][aria-current='date']")
    assert page.url.endswith(f"?day={day}")
    page.click("a.slot-button[data-time='09:00']")
    page.wait_for_url(re.compile(r"/appointments/confirm/\d+/$"))
    page.click("text=Confirm the booking")
    page.wait_for_url(re.compile(r"/appointments/b/[0-9A-Z]{8}/$"))

    booking = Booking.objects.get()
    assert booking.citizen == citizen and local(ax, booking.slot.start) == f"{day} 09:00"
    assert page.inner_text("#booking-code") == format_code(booking.code)
    page.wait_for_function("document.getElementById('booking-qr').naturalWidth > 0")
    page.wait_for_selector("#office-map.leaflet-container .leaflet-marker-icon")

    # --- The calendar file ------------------------------------------------------------------------
    with page.expect_download() as download:
        page.click("#ics-link")
    saved = tmp_path / "appointment.ics"
    download.value.save_as(saved)
    events = list(icalendar.Calendar.from_ical(saved.read_bytes()).walk("VEVENT"))
    assert len(events) == 1
    assert local(ax, events[0].decoded("dtstart")) == f"{day} 09:00"

    # --- Reschedule to 10:00 the same day -----------------------------------------------------
    page.click("#reschedule-link")
    page.wait_for_url(re.compile(r"/reschedule/$"))
    with page.expect_response(re.compile(rf"day={day}")):
        page.click(f"a.day-link[data-day='{day}']")
    page.wait_for_selector(f"a.day-link[data-day='{day}'][aria-current='date']")
    page.click("button.slot-button[data-time='10:00']")
    page.wait_for_selector("text=Your appointment is moved to")
    booking.refresh_from_db()
    assert local(ax, booking.slot.start) == f"{day} 10:00" and booking.reschedule_count == 1
    assert page.js_errors == []

    # --- The day of the visit comes -------------------------------------------------------------
    Booking.objects.filter(pk=booking.pk).update(day=selectors.local_today(ax.city))

    # The waiting room's screen, on its own (no one signed in).
    screen_context = browser.new_context(base_url=live_server.url)
    screen = screen_context.new_page()
    screen_errors: list[str] = []
    screen.on("console", lambda msg: screen_errors.append(msg.text) if msg.type == "error" else None)
    screen.on("pageerror", lambda exc: screen_errors.append(str(exc)))
    screen.goto("/appointments/office/hcc/now/")
    screen.wait_for_selector("[data-counter='1'] .board-empty")
    screen.evaluate("window.notReloaded = true")

    # --- The counter: check in by what a QR scanner types, call next, served --------------------
    page.context.clear_cookies()
    sign_in(page, live_server, staff)
    page.goto("/appointments/desk/")
    page.click("a.counter-link[href$='/desk/hcc/1/']")
    page.wait_for_url(re.compile(r"/appointments/desk/hcc/1/$"))
    page.fill("#checkin_code", f"{live_server.url}/appointments/b/{booking.code}/")
    page.press("#checkin_code", "Enter")
    page.wait_for_selector("#counter-notice >> text=Checked in: number 1")
    assert page.input_value("#checkin_code") == ""  # ready for the next scan
    page.wait_for_selector("#waiting-list")
    page.click("#call-next")
    page.wait_for_selector("#current-number >> text=1")
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CALLED and booking.counter == ax.counter1

    # The screen shows the call by itself (htmx polling), without reloading the page.
    screen.wait_for_selector("[data-counter='1'] [data-number='1']", timeout=15000)
    assert screen.evaluate("window.notReloaded") is True

    page.click("button[data-action='served']")
    page.wait_for_selector("#counter-notice >> text=Number 1 is served.")
    booking.refresh_from_db()
    assert booking.status == BookingStatus.SERVED and booking.wait_seconds is not None
    screen.wait_for_selector("[data-counter='1'] .board-empty", timeout=15000)
    assert page.js_errors == [] and screen_errors == []
    screen_context.close()
