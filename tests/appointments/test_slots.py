"""Slot generation, configuration, reminders, rating, the iCalendar file and the QR code."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from icalendar import Calendar

from dothi.appointments import ics, qr, selectors, services
from dothi.appointments.models import Booking, BookingStatus, Slot
from dothi.core.errors import Conflict, InvalidInput
from dothi.core.models import Notification
from tests import factories

pytestmark = pytest.mark.django_db


def test_capacity_is_the_number_of_counters_serving_the_service(ax):
    assert ax.slot(ax.cccd).capacity == 2  # counters 1 and 2
    assert ax.slot(ax.birth).capacity == 1  # counter 1


def test_generation_is_idempotent(ax):
    count = Slot.objects.count()
    result = services.slots_generate(city=ax.city)
    assert result == {"created": 0, "updated": 0}
    assert Slot.objects.count() == count


def test_slots_cover_the_horizon_and_open_days_only(ax):
    tz = ax.tz
    days = {
        s.astimezone(tz).date() for s in Slot.objects.filter(service=ax.cccd).values_list("start", flat=True)
    }
    today = selectors.local_today(ax.city)
    assert max(days) <= today + dt.timedelta(days=14)
    assert all(d.weekday() < 5 for d in days)


def test_capacity_never_drops_below_booked(ax, book, citizens):
    a, b = citizens(2)
    book(actor=a)
    book(actor=b)
    services.counter_update(actor=ax.admin, counter=ax.counter2, is_active=False)
    assert ax.slot(ax.cccd).capacity == 2 and ax.slot(ax.cccd).booked == 2  # kept: both booked
    assert ax.slot(ax.cccd, "10:00").capacity == 1  # others follow the configuration
    services.counter_update(actor=ax.admin, counter=ax.counter1, services=[ax.birth])
    assert ax.slot(ax.cccd).capacity == 2  # no counter serves cccd now: the booked places stay
    with pytest.raises(Slot.DoesNotExist):  # unbooked slots of a service no counter serves are gone
        ax.slot(ax.cccd, "10:00")
    services.counter_update(actor=ax.admin, counter=ax.counter2, is_active=True)
    assert ax.slot(ax.cccd, "10:00").capacity == 1


def test_new_counter_raises_capacity(ax):
    services.counter_create(actor=ax.admin, office=ax.office, number=3, services=[ax.birth])
    assert ax.slot(ax.birth).capacity == 2


def test_slot_length_follows_the_service_duration(ax):
    services.service_update(actor=ax.admin, service=ax.birth, duration_minutes=20)
    tz = ax.tz
    day = ax.day + dt.timedelta(days=7)
    starts = sorted(
        s.astimezone(tz).time()
        for s in Slot.objects.filter(
            service=ax.birth,
            start__gte=dt.datetime.combine(day, dt.time(0), tz),
            start__lt=dt.datetime.combine(day, dt.time(23), tz),
        ).values_list("start", flat=True)
    )
    if starts:  # 20 minutes on a 15-minute grid: a 30-minute slot from 07:30
        assert starts[:3] == [dt.time(7, 30), dt.time(8, 0), dt.time(8, 30)]


def test_configuration_needs_the_city_administrator(ax):
    for role in ("agency_manager", "operator", "citizen"):
        with pytest.raises(PermissionDenied):
            services.service_create(actor=ax.cast[role], city=ax.city, code="x", name_vi="X")
    with pytest.raises(Conflict):
        services.service_create(actor=ax.admin, city=ax.city, code="cccd", name_vi="Trùng")
    with pytest.raises(InvalidInput):
        services.office_create(
            actor=ax.admin,
            city=ax.city,
            code="bad",
            name_vi="X",
            lat=16,
            lon=108,
            opening_hours={"0": ["17:00", "07:30"]},
        )
    with pytest.raises(InvalidInput):
        services.office_create(actor=ax.admin, city=ax.city, code="bad", name_vi="X", lat=200, lon=108)


def test_office_commune_comes_from_its_point(danang, cast):
    from dothi.core.models import Commune

    commune = Commune.objects.filter(province_id="48", centre_lat__isnull=False).first()
    from dothi.core import geo

    expected = geo.locate(danang, commune.centre_lon, commune.centre_lat)
    office = services.office_create(
        actor=cast["city_admin"],
        city=danang,
        code="w",
        name_vi="UBND",
        lat=commune.centre_lat,
        lon=commune.centre_lon,
    )
    assert office.commune == expected
    from dothi.core.errors import OutsideCity

    with pytest.raises(OutsideCity):
        services.office_create(
            actor=cast["city_admin"], city=danang, code="far", name_vi="X", lat=21.0, lon=105.8
        )


# --- Reminders -------------------------------------------------------------------------------------


def test_reminder_the_day_before_once(ax, book):
    booking = book()
    before = dt.datetime.combine(ax.day - dt.timedelta(days=1), dt.time(10), ax.tz)
    assert services.bookings_send_reminders(now=before - dt.timedelta(days=1)) == 0
    assert services.bookings_send_reminders(now=before) == 1
    assert services.bookings_send_reminders(now=before) == 0
    note = Notification.objects.get(topic="appointments.reminder", recipient=booking.citizen)
    assert services.format_code(booking.code) in note.body


def test_cancelled_bookings_are_not_reminded(ax, book):
    booking = book()
    services.booking_cancel(actor=booking.citizen, booking=booking)
    before = dt.datetime.combine(ax.day - dt.timedelta(days=1), dt.time(10), ax.tz)
    assert services.bookings_send_reminders(now=before) == 0


def test_scheduled_jobs_are_declared():
    from dothi.core.manifests import registry

    schedules = registry.schedules()
    assert "appointments.generate_slots" in schedules and "appointments.send_reminders" in schedules


# --- Rating ------------------------------------------------------------------------------------------


def _served(ax, booking):
    staff = ax.cast["agency_staff"]
    at = dt.datetime.combine(ax.day, dt.time(8, 50), ax.tz)
    services.booking_check_in(actor=staff, city=ax.city, code=booking.code, now=at)
    services.queue_call_next(actor=staff, counter=ax.counter1, now=at + dt.timedelta(minutes=5))
    return services.booking_mark_served(actor=staff, booking=booking, now=at + dt.timedelta(minutes=15))


def test_only_the_served_citizen_rates(ax, book, citizens):
    from dothi.core.services import feedback_give

    booking = book()
    kwargs = {
        "city": ax.city,
        "subject_type": "appointments.booking",
        "subject_id": booking.code,
        "rating": 5,
    }
    with pytest.raises(InvalidInput):  # not served yet
        feedback_give(author=booking.citizen, **kwargs)
    _served(ax, booking)
    (other,) = citizens(1)
    with pytest.raises(PermissionDenied):
        feedback_give(author=other, **kwargs)
    feedback = feedback_give(author=booking.citizen, **kwargs)
    assert feedback.rating == 5
    with pytest.raises(Conflict):
        feedback_give(author=booking.citizen, **kwargs)


# --- iCalendar and QR --------------------------------------------------------------------------------


def test_ics_file(ax, book):
    booking = book()
    data = ics.booking_ics(booking, url="https://danang.example/appointments/b/X/", language="en")
    cal = Calendar.from_ical(data)
    (event,) = cal.walk("VEVENT")
    assert event.decoded("dtstart") == booking.slot.start
    assert event.decoded("dtend") == booking.slot.end
    assert str(event["uid"]) == f"booking-{booking.code}@danang.dothi"
    assert services.format_code(booking.code) in str(event["description"])
    assert "The old ID card" in str(event["description"])
    assert ax.office.address in str(event["location"])
    assert cal.walk("VALARM")
    assert ics.ics_filename(booking) == f"appointment-{booking.code}.ics"


def test_qr_svg_encodes_the_code(ax, book):
    booking = book()
    svg = qr.booking_qr_svg(booking)
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "style=" not in svg
    assert qr.booking_qr_svg(booking, url="https://x/y") != svg


def test_booking_visibility(ax, book, citizens):
    booking = book()
    (other,) = citizens(1)
    assert selectors.booking_for_viewer(actor=booking.citizen, city=ax.city, code=booking.code) == booking
    assert (
        selectors.booking_for_viewer(actor=ax.cast["agency_staff"], city=ax.city, code=booking.code)
        == booking
    )
    from dothi.core.errors import NotFound

    for viewer in (other, factories.make_staff(ax.city, "agency_staff"), ax.cast["council_member"]):
        with pytest.raises(NotFound):
            selectors.booking_for_viewer(actor=viewer, city=ax.city, code=booking.code)


def test_offices_nearest_first_with_next_free_slot(ax):
    far = services.office_create(
        actor=ax.admin,
        city=ax.city,
        code="son-tra",
        name_vi="A UBND Sơn Trà",
        lat=16.10,
        lon=108.25,
        agency=ax.agency,
    )
    services.counter_create(actor=ax.admin, office=far, number=1, services=[ax.cccd])
    near_far = selectors.offices_for_service(city=ax.city, service=ax.cccd, lat=16.1, lon=108.25)
    assert [c.office for c in near_far] == [far, ax.office]
    assert near_far[0].distance_m < near_far[1].distance_m
    assert all(c.next_free_slot is not None for c in near_far)
    by_name = selectors.offices_for_service(city=ax.city, service=ax.cccd)
    assert [c.office for c in by_name] == [far, ax.office] and by_name[0].distance_m is None
    # The birth service is offered only where a counter serves it.
    assert [c.office for c in selectors.offices_for_service(city=ax.city, service=ax.birth)] == [ax.office]


def test_free_slots_hide_full_ones(ax, book, citizens):
    tz = ax.tz
    a, b = citizens(2)
    book(actor=a, slot=ax.slot(ax.birth, "09:00"))
    free = selectors.free_slots(city=ax.city, office=ax.office, service=ax.birth, day=ax.day)
    times = [s.start.astimezone(tz).time() for s in free]
    assert dt.time(9, 0) not in times and dt.time(9, 15) in times
    assert ax.day in selectors.days_with_free_slots(city=ax.city, office=ax.office, service=ax.birth)


def test_booking_history_is_own(ax, book, citizens):
    booking = book()
    (other,) = citizens(1)
    assert list(selectors.my_bookings(actor=booking.citizen, city=ax.city)) == [booking]
    assert list(selectors.my_bookings(actor=other, city=ax.city)) == []
    assert Booking.objects.filter(status=BookingStatus.BOOKED).count() == 1
