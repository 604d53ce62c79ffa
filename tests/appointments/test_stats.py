"""The KPI calculators, the statistics table and the open dataset, against hand-computed answers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from dothi.appointments import services, stats
from dothi.appointments.models import Booking, BookingStatus
from dothi.core import facts
from dothi.core.manifests import Period, registry
from dothi.core.models import Feedback

pytestmark = pytest.mark.django_db
B = BookingStatus
DAY = dt.date(2026, 3, 16)  # a Monday


def visit(ax, *, status=B.SERVED, walk_in=False, wait=None, service_min=10, day=DAY, citizen=None):
    arrived = dt.datetime.combine(day, dt.time(8, 0), ax.tz)
    called = arrived + dt.timedelta(minutes=wait) if wait is not None else None
    return Booking.objects.create(
        city=ax.city,
        code=services.new_code(),
        citizen=citizen,
        service=ax.cccd,
        office=ax.office,
        day=day,
        status=status,
        walk_in=walk_in,
        arrived_at=arrived if wait is not None else None,
        called_at=called,
        finished_at=called + dt.timedelta(minutes=service_min) if called and status == B.SERVED else None,
    )


@pytest.fixture
def sample(ax):
    # Served: waits 5, 10, 20, 40 minutes (two walk-ins); one no-show; one cancelled; one in another month.
    visit(ax, wait=5)
    visit(ax, wait=10)
    visit(ax, wait=20, walk_in=True)
    visit(ax, wait=40, walk_in=True)
    visit(ax, status=B.NO_SHOW)
    visit(ax, status=B.CANCELLED)
    visit(ax, wait=3, day=DAY - dt.timedelta(days=40))
    # Made past the services: the KPIs' daily facts are derived from these rows (core.facts).
    keys = [s.key for s in stats.FACT_SOURCES]
    facts.rebuild_city(city=ax.city, keys=keys, until=DAY + dt.timedelta(days=7))
    return Period(DAY, DAY + dt.timedelta(days=7))


def test_kpis_by_hand(ax, sample):
    kpi = {k.code: k.compute for k in registry.kpis() if k.code.startswith("appointments.")}
    per_day = kpi["appointments.bookings_per_day"](ax.city, sample)
    assert (per_day.numerator, per_day.denominator, per_day.value) == (3, 7, round(3 / 7, 2))
    online = kpi["appointments.online_share"](ax.city, sample)
    assert (online.numerator, online.denominator, online.value) == (2, 4, 50.0)
    no_show = kpi["appointments.no_show_rate"](ax.city, sample)
    assert (no_show.numerator, no_show.denominator, no_show.value) == (1, 3, 33.33)
    mean = kpi["appointments.mean_wait"](ax.city, sample)
    assert (mean.value, mean.sample_size) == (18.75, 4)
    p90 = kpi["appointments.p90_wait"](ax.city, sample)
    assert p90.value == pytest.approx(34.0, rel=0.01)  # 20 + (40 − 20) × 0.7, from the 1 % histogram
    within = kpi["appointments.served_within_15_minutes"](ax.city, sample)
    assert (within.numerator, within.denominator, within.value) == (2, 4, 50.0)


def test_kpis_without_data(ax):
    empty = Period(dt.date(2020, 1, 1), dt.date(2020, 2, 1))
    for k in stats.KPIS:
        if k.code != "appointments.bookings_per_day":
            assert k.compute(ax.city, empty).value is None, k.code


def test_satisfaction(ax, sample):
    served = Booking.objects.filter(status=B.SERVED).order_by("pk")[:2]
    for b, rating in zip(served, (5, 2), strict=True):
        Feedback.objects.create(
            city=ax.city,
            subject_type="appointments.booking",
            subject_id=b.code,
            rating=rating,
            created_at=dt.datetime.combine(DAY, dt.time(12), ax.tz),
        )
    value = stats.kpi_mean_satisfaction(ax.city, sample)
    assert (value.value, value.sample_size) == (3.5, 2)


def test_statistics_table(ax, sample):
    rows = stats.appointment_statistics(
        actor=ax.cast["agency_manager"], city=ax.city, since=DAY, until=DAY + dt.timedelta(days=1)
    )
    (row,) = rows
    assert (
        row["visits"],
        row["booked"],
        row["walk_ins"],
        row["served"],
        row["no_show"],
        row["cancelled"],
    ) == (
        6,
        4,
        2,
        4,
        1,
        1,
    )
    assert (row["wait_n"], row["wait_mean_min"], row["wait_p90_min"], row["within_15_share"]) == (
        4,
        18.8,
        34.0,
        0.5,
    )
    assert row["service_mean_min"] == 10.0
    with pytest.raises(PermissionDenied):
        stats.appointment_statistics(actor=ax.cast["agency_staff"], city=ax.city, since=DAY, until=DAY)


def test_open_dataset_suppresses_small_groups(ax, sample):
    rows = list(stats.open_dataset_rows(ax.city))
    # March: 5 visits (cancelled ones are left out) -> published; February: 1 -> suppressed.
    assert [(r["month"], r["count"], r["walk_ins"], r["served"], r["no_show"]) for r in rows] == [
        ("2026-03", 5, 2, 4, 1)
    ]
    assert rows[0]["mean_wait_min"] == 18.8
    assert not any("citizen" in key for key in rows[0])
