"""Never overbook, under real concurrency (PostgreSQL): 2,000 distinct verified citizens try to book
the same 100 places at once through a bounded pool of database connections (20 threads sharing the
connection pool). Exactly 100 succeed; every other attempt gets the clear "full, the next free slot is
…" answer; the database agrees."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.utils import translation

from dothi.appointments import services
from dothi.appointments.models import ACTIVE_STATUSES, Booking, Slot
from dothi.core.errors import Conflict
from dothi.identity import crypto
from dothi.identity.models import User

ATTEMPTS = 2_000
PLACES = 100
POOL = 20


def bulk_citizens(city, n: int) -> list[User]:
    """n verified citizens in one INSERT (encrypted ID and phone, as the factories store them)."""
    unusable = make_password(None)
    rows = []
    for i in range(n):
        id_number = f"048199{i:06d}"  # unlike the factories (048 0 YY)
        phone = f"+8491{i:07d}"
        rows.append(
            User(
                username=f"burst-{i:05d}",
                password=unusable,
                kind=User.Kind.CITIZEN,
                id_number_enc=crypto.encrypt(id_number),
                id_number_hash=crypto.lookup_hash("cccd", id_number),
                phone_enc=crypto.encrypt(phone),
                phone_hash=crypto.lookup_hash("phone", phone),
                verification_level=User.Level.CITIZEN_ID,
                home_city=city,
            )
        )
    User.objects.bulk_create(rows, batch_size=1000)
    return list(User.objects.filter(username__startswith="burst-").order_by("username"))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_thousand_attempts_for_one_hundred_places(ax):
    slot = ax.slot(ax.cccd)
    Slot.objects.filter(pk=slot.pk).update(capacity=PLACES)
    following = ax.slot(ax.cccd, "09:15")
    people = bulk_citizens(ax.city, ATTEMPTS)
    city = ax.city
    start = threading.Barrier(POOL)
    started = threading.local()

    def attempt(person):
        if not getattr(started, "done", False):
            start.wait()  # every worker holds a connection and starts together
            started.done = True
        try:
            with translation.override("en"):
                booking = services.booking_create(actor=person, city=city, slot=slot.pk)
            return ("ok", booking.code)
        except Conflict as exc:
            return (exc.code, exc.message, exc.extra.get("next_free_slot"))
        finally:
            # Back to the pool (psycopg_pool when DOTHI_DB_POOL is on; else the connection closes):
            # the threads share a bounded set of connections, as web workers do.
            connection.close()

    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=POOL) as pool:
        results = list(pool.map(attempt, people))
    elapsed = time.monotonic() - began

    ok = [r for r in results if r[0] == "ok"]
    full = [r for r in results if r[0] == "slot_full"]
    assert len(ok) == PLACES, (len(ok), {r[0] for r in results})
    assert len(full) == ATTEMPTS - PLACES
    assert all(r[2] == following.pk and "next free slot is" in r[1] and "09:15" in r[1] for r in full)
    assert len({r[1] for r in ok}) == PLACES  # distinct codes
    slot.refresh_from_db()
    assert slot.booked == PLACES
    assert Booking.objects.filter(slot=slot, status__in=ACTIVE_STATUSES).count() == PLACES
    assert Booking.objects.count() == PLACES
    assert elapsed < 60, elapsed


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_counters_calling_at_once_never_get_the_same_person(ax):
    """Six counters call the next person at the same moment, again and again, while 60 people wait:
    each person is called exactly once (SKIP LOCKED lets a counter pass a row another is taking)."""
    from dothi.appointments.models import BookingStatus, Counter

    staff = ax.cast["agency_staff"]
    for number in range(3, 7):
        services.counter_create(actor=ax.admin, office=ax.office, number=number, services=[ax.cccd])
    counters = list(Counter.objects.filter(office=ax.office).order_by("number"))
    waiting = [
        services.walk_in_create(actor=staff, office=ax.office, service=ax.cccd, name=f"Khách {i}")
        for i in range(60)
    ]
    barrier = threading.Barrier(len(counters))

    def work(counter):
        called = []
        try:
            barrier.wait()
            while True:
                booking = services.queue_call_next(actor=staff, counter=counter)
                if booking is None:
                    return called
                called.append(booking.pk)
                services.booking_mark_served(actor=staff, booking=booking)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(counters)) as pool:
        per_counter = list(pool.map(work, counters))
    everyone = [pk for calls in per_counter for pk in calls]
    assert sorted(everyone) == sorted(b.pk for b in waiting)  # each once, nobody twice
    assert Booking.objects.filter(status=BookingStatus.SERVED).count() == 60
