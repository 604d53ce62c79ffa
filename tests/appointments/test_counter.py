"""The counter: check-in by code or QR content, the queue with walk-ins, call next, served, no-show,
who may do it, and the wait and service times recorded."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import translation

from dothi.appointments import selectors, services
from dothi.appointments.models import Booking, BookingStatus
from dothi.core.errors import Conflict, InvalidInput, NotFound
from dothi.core.models import AuditEvent
from dothi.identity import crypto
from tests import factories

pytestmark = pytest.mark.django_db


def at(ax, hhmm: str) -> dt.datetime:
    return dt.datetime.combine(ax.day, dt.time.fromisoformat(hhmm), ax.tz)


@pytest.fixture
def staff(ax):
    return ax.cast["agency_staff"]


def test_check_in_by_code_or_qr_url(ax, book, citizens, staff):
    a, b = citizens(2)
    first = book(actor=a)
    second = book(actor=b)
    checked = services.booking_check_in(
        actor=staff, city=ax.city, code=services.format_code(first.code).lower(), now=at(ax, "08:50")
    )
    assert checked.status == BookingStatus.CHECKED_IN and checked.queue_number == 1
    assert checked.arrived_at == at(ax, "08:50")
    url = f"https://danang.example/appointments/b/{second.code}/"
    assert (
        services.booking_check_in(actor=staff, city=ax.city, code=url, now=at(ax, "08:55")).queue_number == 2
    )
    assert AuditEvent.objects.filter(object_id=str(first.pk), summary__startswith="checked in").exists()


def test_check_in_query_parameter(ax, book, staff):
    booking = book()
    found = services.booking_check_in(
        actor=staff, city=ax.city, code=f"/x/?code={booking.code}", now=at(ax, "08:00")
    )
    assert found.pk == booking.pk


@pytest.mark.parametrize(
    "bad", ["", "ABC", "1234567O", "ĐĐĐĐĐĐĐĐ", "https://x/y/z/", "A" * 600, None, 12345678]
)
def test_malformed_code_is_refused(ax, staff, bad):
    with translation.override("en"), pytest.raises(InvalidInput) as exc:
        services.booking_check_in(actor=staff, city=ax.city, code=bad)
    assert exc.value.code == "code_malformed" and "booking code" in exc.value.message


def test_check_in_rules(ax, book, other_city, staff):
    booking = book()
    with pytest.raises(NotFound):
        services.booking_check_in(actor=staff, city=ax.city, code="ABCDEFGH")
    with pytest.raises(NotFound):  # the code exists, but in another city
        services.booking_check_in(actor=staff, city=other_city, code=booking.code)
    with pytest.raises(InvalidInput) as exc:  # not today
        services.booking_check_in(
            actor=staff, city=ax.city, code=booking.code, now=at(ax, "09:00") - dt.timedelta(days=1)
        )
    assert exc.value.code == "other_day"
    services.booking_check_in(actor=staff, city=ax.city, code=booking.code, now=at(ax, "08:00"))
    with pytest.raises(InvalidInput) as exc:
        services.booking_check_in(actor=staff, city=ax.city, code=booking.code, now=at(ax, "08:01"))
    assert exc.value.code == "not_checkable"


def test_check_in_at_another_office(ax, book, staff):
    booking = book()
    other = services.office_create(
        actor=ax.admin,
        city=ax.city,
        code="ward",
        name_vi="UBND phường",
        lat=16.07,
        lon=108.22,
        agency=ax.agency,
    )
    with pytest.raises(InvalidInput) as exc:
        services.booking_check_in(
            actor=staff, city=ax.city, code=booking.code, office=other, now=at(ax, "08:00")
        )
    assert exc.value.code == "other_office"


def test_staff_of_another_agency_cannot_serve(ax, book):
    booking = book()
    outsider = factories.make_staff(ax.city, "agency_staff")  # another agency
    with pytest.raises(PermissionDenied):
        services.booking_check_in(actor=outsider, city=ax.city, code=booking.code, now=at(ax, "08:00"))
    with pytest.raises(PermissionDenied):
        services.queue_call_next(actor=outsider, counter=ax.counter1, now=at(ax, "08:00"))
    with pytest.raises(PermissionDenied):
        services.walk_in_create(actor=outsider, office=ax.office, service=ax.cccd)
    for role in ("council_member", "citizen"):
        with pytest.raises(PermissionDenied):
            services.queue_call_next(actor=ax.cast[role], counter=ax.counter1)
    # Operators and city administrators serve everywhere.
    assert selectors.can_serve(ax.cast["operator"], ax.office)
    assert selectors.can_serve(ax.cast["city_admin"], ax.office)
    assert not selectors.can_serve(outsider, ax.office)


def test_queue_by_arrival_with_walk_ins(ax, book, citizens, staff):
    a, b = citizens(2)
    booked_a = book(actor=a, slot=ax.slot(ax.cccd, "09:00"))
    booked_b = book(actor=b, slot=ax.slot(ax.birth, "09:00"))
    services.booking_check_in(actor=staff, city=ax.city, code=booked_a.code, now=at(ax, "08:40"))
    walk = services.walk_in_create(
        actor=staff,
        office=ax.office,
        service=ax.cccd,
        name="Bà Lan",
        phone="0905 123 456",
        now=at(ax, "08:30"),
    )
    services.booking_check_in(actor=staff, city=ax.city, code=booked_b.code, now=at(ax, "08:45"))
    assert walk.walk_in and walk.citizen is None and walk.queue_number == 2
    assert walk.walk_in_phone_enc and "0905" not in walk.walk_in_phone_enc
    assert crypto.decrypt(walk.walk_in_phone_enc) == "0905 123 456"
    assert [w.pk for w in selectors.waiting(office=ax.office, day=ax.day)] == [
        walk.pk,
        booked_a.pk,
        booked_b.pk,
    ]

    # Counter 2 serves cccd only: the earliest arrival for cccd is the walk-in.
    called = services.queue_call_next(actor=staff, counter=ax.counter2, now=at(ax, "08:50"))
    assert called.pk == walk.pk and called.status == BookingStatus.CALLED and called.counter == ax.counter2
    with pytest.raises(Conflict) as exc:
        services.queue_call_next(actor=staff, counter=ax.counter2, now=at(ax, "08:51"))
    assert exc.value.code == "counter_busy"
    # Counter 1 serves both: next by arrival is booked_a (cccd, 08:40), then booked_b.
    assert services.queue_call_next(actor=staff, counter=ax.counter1, now=at(ax, "08:52")).pk == booked_a.pk
    services.booking_mark_served(actor=staff, booking=booked_a, now=at(ax, "09:02"))
    assert services.queue_call_next(actor=staff, counter=ax.counter1, now=at(ax, "09:03")).pk == booked_b.pk
    services.booking_mark_no_show(actor=staff, booking=booked_b, now=at(ax, "09:10"))
    assert services.queue_call_next(actor=staff, counter=ax.counter1, now=at(ax, "09:11")) is None

    a_done = Booking.objects.get(pk=booked_a.pk)
    assert a_done.status == BookingStatus.SERVED
    assert a_done.wait_seconds == 12 * 60  # 08:40 -> 08:52
    assert a_done.service_seconds == 10 * 60  # 08:52 -> 09:02
    assert Booking.objects.get(pk=booked_b.pk).status == BookingStatus.NO_SHOW


def test_serving_then_served(ax, book, staff):
    booking = book()
    services.booking_check_in(actor=staff, city=ax.city, code=booking.code, now=at(ax, "08:55"))
    services.queue_call_next(actor=staff, counter=ax.counter1, now=at(ax, "09:00"))
    serving = services.booking_start_serving(actor=staff, booking=booking, now=at(ax, "09:01"))
    assert serving.status == BookingStatus.SERVING and serving.served_at == at(ax, "09:01")
    done = services.booking_mark_served(actor=staff, booking=booking, now=at(ax, "09:09"))
    assert done.status == BookingStatus.SERVED and done.finished_at == at(ax, "09:09")
    with pytest.raises(InvalidInput) as exc:
        services.booking_mark_no_show(actor=staff, booking=booking, now=at(ax, "09:10"))
    assert exc.value.code == "transition_invalid"


def test_no_show_of_a_booking_only_once_its_time_began(ax, book, staff):
    booking = book()
    with pytest.raises(InvalidInput) as exc:
        services.booking_mark_no_show(actor=staff, booking=booking, now=at(ax, "08:00"))
    assert exc.value.code == "not_started"
    done = services.booking_mark_no_show(actor=staff, booking=booking, now=at(ax, "09:30"))
    assert done.status == BookingStatus.NO_SHOW and done.no_show_at == at(ax, "09:30")


def test_walk_in_rules(ax, staff, city):
    other_service = services.service_create(
        actor=ax.admin, city=city, code="xay-dung", name_vi="Cấp phép xây dựng"
    )
    with pytest.raises(InvalidInput):  # no counter serves it
        services.walk_in_create(actor=staff, office=ax.office, service=other_service)
    with pytest.raises(InvalidInput):
        services.walk_in_create(actor=staff, office=ax.office, service=ax.cccd, phone="call me")


def test_inactive_counter_cannot_call(ax, staff):
    services.counter_update(actor=ax.admin, counter=ax.counter2, is_active=False)
    with pytest.raises(InvalidInput):
        services.queue_call_next(actor=staff, counter=ax.counter2)


def test_day_lists(ax, book, citizens, staff):
    a, b = citizens(2)
    book(actor=a, slot=ax.slot(ax.cccd, "10:00"))
    book(actor=b, slot=ax.slot(ax.birth, "09:00"))
    office_list = list(selectors.office_day(actor=staff, office=ax.office, day=ax.day))
    assert [x.slot.start for x in office_list] == sorted(x.slot.start for x in office_list)
    assert len(office_list) == 2
    counter2_list = list(selectors.counter_day(actor=staff, counter=ax.counter2, day=ax.day))
    assert [x.service for x in counter2_list] == [ax.cccd]
    outsider = factories.make_staff(ax.city, "agency_staff")
    with pytest.raises(PermissionDenied):
        selectors.office_day(actor=outsider, office=ax.office, day=ax.day)


def test_now_serving_shows_numbers_only(ax, staff, other_city):
    services.walk_in_create(actor=staff, office=ax.office, service=ax.cccd, name="Ông Bảy")
    second = services.walk_in_create(actor=staff, office=ax.office, service=ax.birth, name="Chị Tư")
    called = services.queue_call_next(actor=staff, counter=ax.counter2)
    screen = selectors.now_serving(city=ax.city, office=ax.office)
    assert [(c.counter_number, c.queue_number) for c in screen["counters"]] == [
        (1, None),
        (2, called.queue_number),
    ]
    assert screen["waiting"] == 1 and second.queue_number == 2
    assert "Ông Bảy" not in repr(screen) and called.code not in repr(screen)
    with pytest.raises(NotFound):
        selectors.now_serving(city=other_city, office=ax.office)
