"""Booking, cancelling and rescheduling: every rule, and that bad input stores nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import translation

from dothi.appointments import selectors, services
from dothi.appointments.models import Booking, BookingStatus, Slot
from dothi.core.errors import Conflict, InvalidInput
from dothi.core.models import AuditEvent, Notification
from tests import factories

pytestmark = pytest.mark.django_db


def _counts():
    return Booking.objects.count(), sum(Slot.objects.values_list("booked", flat=True))


def test_book_takes_one_place_notifies_and_audits(ax, book):
    citizen = ax.cast["citizen"]
    booking = book()
    slot = ax.slot(ax.cccd)
    assert slot.booked == 1 and slot.capacity == 2
    assert booking.status == BookingStatus.BOOKED and booking.citizen == citizen
    assert booking.day == ax.day and booking.office == ax.office and booking.slot == slot
    assert len(booking.code) == 8 and set(booking.code) <= set(services.CODE_ALPHABET)
    note = Notification.objects.get(recipient=citizen, topic="appointments.confirmation")
    assert services.format_code(booking.code) in note.body
    assert AuditEvent.objects.filter(object_type="appointments.booking", object_id=str(booking.pk)).exists()


def test_same_idempotency_key_returns_the_first_booking(ax, book):
    first = book(idempotency_key="k-1")
    again = book(idempotency_key="k-1")
    assert again.pk == first.pk
    assert ax.slot(ax.cccd).booked == 1


def test_one_active_booking_per_service(ax, book):
    book()
    before = _counts()
    with translation.override("en"), pytest.raises(Conflict) as exc:
        book(slot=ax.slot(ax.cccd, "10:00"))
    assert exc.value.code == "already_booked"
    assert "already have an appointment" in exc.value.message
    assert _counts() == before
    # Another service is fine.
    book(slot=ax.slot(ax.birth))


def test_one_active_booking_is_enforced_by_the_database(ax, book):
    first = book()
    with pytest.raises(IntegrityError), transaction.atomic():
        Booking.objects.create(
            city=ax.city,
            code="ZZZZZZZZ",
            citizen=first.citizen,
            service=ax.cccd,
            office=ax.office,
            slot=ax.slot(ax.cccd, "10:00"),
            day=ax.day,
        )


def test_after_cancelling_the_person_may_book_again(ax, book):
    booking = book()
    services.booking_cancel(actor=booking.citizen, booking=booking)
    again = book(slot=ax.slot(ax.cccd, "10:00"))
    assert again.pk != booking.pk


def test_full_slot_names_the_next_free_slot(ax, book, citizens):
    a, b, c = citizens(3)
    book(actor=a)
    book(actor=b)
    before = _counts()
    with translation.override("en"), pytest.raises(Conflict) as exc:
        book(actor=c)
    err = exc.value
    assert err.status == 409 and err.code == "slot_full"
    following = ax.slot(ax.cccd, "09:15")
    assert err.extra["next_free_slot"] == following.pk
    assert err.message.startswith("This slot is full; the next free slot is ")
    assert "09:15" in err.message
    assert _counts() == before
    with translation.override("vi"), pytest.raises(Conflict) as exc:
        book(actor=c)
    assert "09:15" in exc.value.message


def test_full_is_decided_by_the_conditional_update_not_the_read(ax, book, citizens, monkeypatch):
    """Even when the read-only pre-check is fooled (a stale read), the conditional UPDATE refuses the
    place and everything the booking wrote is rolled back."""
    a, b, c = citizens(3)
    book(actor=a)
    book(actor=b)

    real_resolve = services._resolve_slot

    def stale(city, slot):
        """The slot as a request read it before the two others committed: places still free."""
        found = real_resolve(city, slot)
        found.booked = 0
        return found

    monkeypatch.setattr(services, "_resolve_slot", stale)
    bookings_before = Booking.objects.count()
    notes_before = Notification.objects.count()
    with pytest.raises(Conflict) as exc:
        book(actor=c)
    monkeypatch.undo()
    assert exc.value.code == "slot_full"
    assert Booking.objects.count() == bookings_before
    assert Notification.objects.count() == notes_before
    assert ax.slot(ax.cccd).booked == 2


def test_check_constraint_is_the_backstop(ax):
    slot = ax.slot(ax.cccd)
    with pytest.raises(IntegrityError), transaction.atomic():
        Slot.objects.filter(pk=slot.pk).update(booked=slot.capacity + 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Slot.objects.filter(pk=slot.pk).update(booked=-1)


def test_slot_in_the_past_is_refused(ax, book):
    slot = ax.slot(ax.cccd)
    Slot.objects.filter(pk=slot.pk).update(
        start=slot.start - dt.timedelta(days=30), end=slot.end - dt.timedelta(days=30)
    )
    before = _counts()
    with translation.override("en"), pytest.raises(InvalidInput) as exc:
        book(slot=slot.pk)
    assert exc.value.code == "slot_past" and "already passed" in exc.value.message
    assert _counts() == before


def test_closed_day_is_refused(ax, book):
    slot = ax.slot(ax.cccd)
    # Closed after the slots were generated (no regeneration): the slot exists, the booking is refused.
    from dothi.appointments.models import ClosedDay

    ClosedDay.objects.create(city=ax.city, office=ax.office, day=ax.day, reason="Kiểm kê")
    with translation.override("en"), pytest.raises(InvalidInput) as exc:
        book(slot=slot.pk)
    assert exc.value.code == "office_closed" and "closed on" in exc.value.message
    assert "Kiểm kê" in exc.value.message
    assert Booking.objects.count() == 0


def test_closed_day_service_drops_capacity_to_booked(ax, book):
    booking = book()
    services.closed_day_add(actor=ax.admin, city=ax.city, day=ax.day, reason="Bảo trì hệ thống")
    slot = ax.slot(ax.cccd)
    assert slot.capacity == 1 and slot.booked == 1  # the booked place stays, no new one
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.BOOKED
    # Slots nobody booked on the closed day are gone.
    with pytest.raises(Slot.DoesNotExist):
        ax.slot(ax.cccd, "10:00")
    assert selectors.free_slots(city=ax.city, office=ax.office, service=ax.cccd, day=ax.day) == []


def test_public_holiday_of_the_city_calendar_is_refused(ax, book):
    slot = ax.slot(ax.cccd)
    ax.city.settings = {"calendar": {"extra_holidays": [ax.day.isoformat()]}}
    ax.city.save()
    with pytest.raises(InvalidInput) as exc:
        book(slot=slot.pk)
    assert exc.value.code == "office_closed"


def test_no_slots_on_national_holidays(ax):
    from dothi.core.calendar import WorkingCalendar

    calendar = WorkingCalendar.for_city(ax.city)
    # 2 September (National Day) and Tết are never opening days whatever the weekday.
    for day in (dt.date(2030, 9, 2), dt.date(2030, 2, 3)):
        assert calendar.is_holiday(day)
        assert services.opening_intervals(ax.office, day, calendar) == []


def test_outside_opening_hours_is_refused(ax, book):
    slot = ax.slot(ax.cccd, "16:30")
    ax.office.opening_hours = {str(d): ["07:30", "16:00"] for d in range(5)}
    ax.office.save()
    with pytest.raises(InvalidInput) as exc:
        book(slot=slot.pk)
    assert exc.value.code == "outside_hours"
    assert Booking.objects.count() == 0


def test_lunch_break_has_no_slots(ax):
    tz = ax.tz
    starts = {
        s.astimezone(tz).time() for s in Slot.objects.filter(office=ax.office).values_list("start", flat=True)
    }
    assert dt.time(11, 15) in starts and dt.time(13, 30) in starts
    assert not any(dt.time(11, 30) <= t < dt.time(13, 30) for t in starts)
    assert dt.time(16, 45) in starts and dt.time(17, 0) not in starts


def test_another_citys_slot_is_refused(ax, other_city, book):
    citizen = ax.cast["citizen"]
    slot = ax.slot(ax.cccd)
    with pytest.raises(InvalidInput) as exc:
        services.booking_create(actor=citizen, city=other_city, slot=slot.pk)
    assert exc.value.code == "other_city"
    assert Booking.objects.count() == 0


def test_unknown_and_malformed_slot(ax, book):
    for bad in (10**9, "abc", None):
        with pytest.raises(InvalidInput) as exc:
            book(slot=bad) if bad is not None else services.booking_create(
                actor=ax.cast["citizen"], city=ax.city, slot=None
            )
        assert exc.value.code == "slot_unknown"


def test_too_far_ahead_is_refused(ax, book):
    ax.cccd.max_days_ahead = 1
    ax.cccd.save()
    with pytest.raises(InvalidInput) as exc:
        book()
    assert exc.value.code == "too_far_ahead"


@pytest.mark.parametrize("role", ["visitor", "agency_staff", "city_admin", "anonymous"])
def test_only_verified_citizens_book(ax, role):
    from django.contrib.auth.models import AnonymousUser

    actor = ax.cast[role] or AnonymousUser()
    with pytest.raises(PermissionDenied):
        services.booking_create(actor=actor, city=ax.city, slot=ax.slot(ax.cccd))
    assert Booking.objects.count() == 0


def test_unconfirmed_citizen_id_cannot_book(ax, city):
    from dothi.identity.models import User

    person = factories.make_citizen(city)
    person.verification_level = User.Level.PHONE
    person.save()
    with translation.override("en"), pytest.raises(PermissionDenied) as exc:
        services.booking_create(actor=person, city=city, slot=ax.slot(ax.cccd))
    assert "Confirm your citizen ID" in str(exc.value)


# --- Cancel and reschedule -------------------------------------------------------------------------


def test_cancel_frees_the_place(ax, book):
    booking = book()
    services.booking_cancel(actor=booking.citizen, booking=booking)
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED and booking.cancelled_at
    assert ax.slot(ax.cccd).booked == 0


def test_cancel_after_cutoff_is_refused(ax, book):
    booking = book()
    late = booking.slot.start - dt.timedelta(hours=1)  # cut-off is 2 hours
    with translation.override("en"), pytest.raises(InvalidInput) as exc:
        services.booking_cancel(actor=booking.citizen, booking=booking, now=late)
    assert exc.value.code == "cutoff_passed" and "2 hours" in exc.value.message
    assert ax.slot(ax.cccd).booked == 1


def test_only_the_citizen_cancels(ax, book, citizens):
    booking = book()
    (other,) = citizens(1)
    for actor in (other, ax.cast["agency_staff"]):
        with pytest.raises(PermissionDenied):
            services.booking_cancel(actor=actor, booking=booking)
    assert ax.slot(ax.cccd).booked == 1


def test_reschedule_moves_the_place(ax, book):
    booking = book()
    new = ax.slot(ax.cccd, "14:00")
    services.booking_reschedule(actor=booking.citizen, booking=booking, slot=new.pk)
    booking.refresh_from_db()
    assert booking.slot_id == new.pk and booking.reschedule_count == 1
    assert ax.slot(ax.cccd).booked == 0 and ax.slot(ax.cccd, "14:00").booked == 1


def test_reschedule_to_a_full_slot_changes_nothing(ax, book, citizens):
    a, b = citizens(2)
    book(actor=a, slot=ax.slot(ax.birth, "14:00"))  # birth: capacity 1
    booking = book(actor=b, slot=ax.slot(ax.birth, "09:00"))
    with translation.override("en"), pytest.raises(Conflict) as exc:
        services.booking_reschedule(actor=b, booking=booking, slot=ax.slot(ax.birth, "14:00"))
    assert exc.value.code == "slot_full" and "next free slot" in exc.value.message
    booking.refresh_from_db()
    assert booking.slot == ax.slot(ax.birth, "09:00")
    assert ax.slot(ax.birth, "09:00").booked == 1 and ax.slot(ax.birth, "14:00").booked == 1


def test_reschedule_rules(ax, book):
    booking = book()
    with pytest.raises(InvalidInput) as exc:
        services.booking_reschedule(actor=booking.citizen, booking=booking, slot=ax.slot(ax.birth))
    assert exc.value.code == "other_service"
    with pytest.raises(InvalidInput) as exc:
        services.booking_reschedule(actor=booking.citizen, booking=booking, slot=booking.slot)
    assert exc.value.code == "same_slot"
    late = booking.slot.start - dt.timedelta(minutes=30)
    with pytest.raises(InvalidInput) as exc:
        services.booking_reschedule(
            actor=booking.citizen, booking=booking, slot=ax.slot(ax.cccd, "14:00"), now=late
        )
    assert exc.value.code == "cutoff_passed"
    assert ax.slot(ax.cccd).booked == 1 and ax.slot(ax.cccd, "14:00").booked == 0


# --- No-shows ----------------------------------------------------------------------------------------


def _no_shows(ax, citizen, n, last_at):
    for i in range(n):
        Booking.objects.create(
            city=ax.city,
            code=services.new_code(),
            citizen=citizen,
            service=ax.birth,
            office=ax.office,
            day=last_at.date(),
            status=BookingStatus.NO_SHOW,
            no_show_at=last_at - dt.timedelta(days=10 * i),
        )


def test_repeated_no_shows_bar_booking_until_a_date(ax, book):
    from django.utils import timezone

    citizen = ax.cast["citizen"]
    last = timezone.now() - dt.timedelta(days=2)
    _no_shows(ax, citizen, 3, last)
    until = services.no_show_ban_until(citizen=citizen, city=ax.city)
    assert until == last + dt.timedelta(days=30)
    with translation.override("en"), pytest.raises(PermissionDenied) as exc:
        book()
    assert "cannot book until" in str(exc.value)
    assert (last + dt.timedelta(days=30)).astimezone(ax.tz).strftime("%H:%M") in str(exc.value)
    assert Booking.objects.filter(status=BookingStatus.BOOKED).count() == 0


def test_no_show_policy_is_per_city(ax, book):
    from django.utils import timezone

    citizen = ax.cast["citizen"]
    _no_shows(ax, citizen, 3, timezone.now() - dt.timedelta(days=2))
    ax.city.settings = {"appointments": {"no_show_limit": 4}}
    ax.city.save()
    assert book().status == BookingStatus.BOOKED


def test_no_shows_spread_beyond_the_window_do_not_bar(ax, book):
    from django.utils import timezone

    citizen = ax.cast["citizen"]
    now = timezone.now()
    for days_ago in (1, 100, 200):
        Booking.objects.create(
            city=ax.city,
            code=services.new_code(),
            citizen=citizen,
            service=ax.birth,
            office=ax.office,
            day=now.date(),
            status=BookingStatus.NO_SHOW,
            no_show_at=now - dt.timedelta(days=days_ago),
        )
    assert services.no_show_ban_until(citizen=citizen, city=ax.city) is None
    assert book().status == BookingStatus.BOOKED


def test_ban_ends(ax):
    from django.utils import timezone

    citizen = ax.cast["citizen"]
    _no_shows(ax, citizen, 3, timezone.now() - dt.timedelta(days=31))
    assert services.no_show_ban_until(citizen=citizen, city=ax.city) is None


def test_a_code_clash_is_retried_under_another_code(ax, book, citizens, monkeypatch):
    first = book()
    codes = iter([first.code, first.code, "QQQQRRRR"])
    monkeypatch.setattr(services, "new_code", lambda: next(codes))
    (other,) = citizens(1)
    second = book(actor=other)
    assert second.code == "QQQQRRRR"
    assert ax.slot(ax.cccd).booked == 2 and Booking.objects.count() == 2
