"""The appointments demo seeder: fast, deterministic, and consistent with what the services guarantee."""

from __future__ import annotations

import datetime as dt
import random
import time

import pytest
from django.db.models import Count, Q

from dothi.appointments import demo, stats
from dothi.appointments.models import ACTIVE_STATUSES, Booking, BookingStatus, Office, Service, Slot
from dothi.core.demo import _seed_organisations, _seed_people
from dothi.core.manifests import Period, registry
from dothi.core.models import Feedback

NOW = dt.datetime(2026, 3, 18, 3, 0, tzinfo=dt.UTC)  # a Wednesday, 10:00 in Đà Nẵng


@pytest.fixture
def demo_city(danang):
    orgs = _seed_organisations(danang, NOW)
    _seed_people(danang, orgs, random.Random(48), NOW)
    return danang


def _fingerprint(city):
    return [
        (
            b.code,
            b.office.code,
            b.service.code,
            b.status,
            b.walk_in,
            b.day,
            b.arrived_at,
            b.called_at,
            b.finished_at,
            b.citizen.username if b.citizen else None,
        )
        for b in Booking.objects.for_city(city)
        .select_related("office", "service", "citizen")
        .order_by("code")
    ]


def test_seed_is_fast_consistent_and_feeds_the_statistics(demo_city):
    began = time.monotonic()
    demo.seed(city=demo_city, rng=random.Random("48:appointments"), now=NOW)
    assert time.monotonic() - began < 30
    assert Office.objects.for_city(demo_city).count() == 4
    assert Service.objects.for_city(demo_city).count() == len(demo.SERVICES)
    assert Slot.objects.filter(city=demo_city, start__gt=NOW).exists()
    # Every slot's booked count matches its bookings, and never exceeds its capacity.
    held = Count("bookings", filter=~Q(bookings__status=BookingStatus.CANCELLED))
    for slot in Slot.objects.for_city(demo_city).annotate(n=held).filter(n__gt=0):
        assert slot.booked == slot.n <= slot.capacity
    statuses = set(Booking.objects.for_city(demo_city).values_list("status", flat=True))
    assert {
        BookingStatus.SERVED,
        BookingStatus.NO_SHOW,
        BookingStatus.CANCELLED,
        BookingStatus.BOOKED,
    } <= statuses
    assert Booking.objects.for_city(demo_city).filter(walk_in=True).exists()
    # One active booking per person and service (the database would refuse otherwise, too).
    assert not (
        Booking.objects.for_city(demo_city)
        .filter(status__in=ACTIVE_STATUSES, citizen__isnull=False)
        .values("citizen", "service")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .exists()
    )
    # Waits are never negative.
    for b in Booking.objects.for_city(demo_city).filter(called_at__isnull=False):
        assert b.called_at >= b.arrived_at
    assert Feedback.objects.for_city(demo_city).filter(subject_type="appointments.booking").exists()
    # The KPIs have values over the last month.
    period = Period(NOW.date() - dt.timedelta(days=30), NOW.date())
    for kpi in stats.KPIS:
        value = kpi.compute(demo_city, period)
        assert value.value is not None, kpi.code
    rows = list(stats.open_dataset_rows(demo_city))
    assert rows and all(r["count"] >= 5 for r in rows)
    # The known demo citizens have an upcoming booking.
    assert (
        Booking.objects.for_city(demo_city)
        .filter(citizen__username="demo-citizen-0001", status=BookingStatus.BOOKED)
        .exists()
    )


def test_seed_is_deterministic(demo_city):
    demo.seed(city=demo_city, rng=random.Random("48:appointments"), now=NOW)
    first = _fingerprint(demo_city)
    Feedback.objects.for_city(demo_city).filter(subject_type="appointments.booking").delete()
    Booking.objects.for_city(demo_city).delete()
    Slot.objects.for_city(demo_city).delete()
    Office.objects.for_city(demo_city).delete()
    Service.objects.for_city(demo_city).delete()
    demo.seed(city=demo_city, rng=random.Random("48:appointments"), now=NOW)
    assert _fingerprint(demo_city) == first


def test_seeder_is_declared():
    assert "appointments" in dict(registry.seeders())
