"""The appointments' daily facts (core.facts) kept by the real counter services — a wait when a
visitor is called, online or walk-in when a visit is served — and the KPIs read from them, against
hand-computed values (the services take `now`, so every moment is fixed)."""

from __future__ import annotations

import datetime as dt

import pytest

from dothi.appointments import services, stats
from dothi.core import facts
from dothi.core.manifests import Period
from dothi.core.models import Commune, DailyFact, DailyFactBin, Province

pytestmark = pytest.mark.django_db
KEYS = [s.key for s in stats.FACT_SOURCES]


def _at(ax, hhmm: str) -> dt.datetime:
    return dt.datetime.combine(ax.day, dt.time.fromisoformat(hhmm), ax.tz)


def _table(city) -> tuple[dict, dict]:
    return (
        {(f.key, f.day, f.commune_id): (f.count, round(f.total, 6))
         for f in DailyFact.objects.filter(city=city).exclude(count=0)},
        {(b.key, b.day, b.commune_id, b.bin): b.count
         for b in DailyFactBin.objects.filter(city=city).exclude(count=0)},
    )


@pytest.fixture
def day_at_the_office(ax, book):
    """On ax.day at the office (in commune 20242): walk-in W1 arrives 08:00, called 08:05 (waits 5),
    served; B1, booked online, checks in at 09:00, called 09:10 (10), served; walk-in W3 arrives 09:00,
    called 09:40 (40), does not come to the counter (no-show)."""
    Province.objects.get_or_create(code="48", defaults={"name": "Đà Nẵng", "kind": "thanh-pho",
                                                        "codename": "da_nang"})
    commune, _ = Commune.objects.get_or_create(
        code="20242", defaults={"province_id": "48", "name": "Hải Châu", "kind": "phuong", "codename": "hc"}
    )
    type(ax.office).objects.filter(pk=ax.office.pk).update(commune=commune)
    staff = ax.cast["agency_staff"]
    booked = book(slot=ax.slot(ax.cccd, "09:00"))
    assert not DailyFact.objects.exists()  # booking records nothing (its throughput matters)

    w1 = services.walk_in_create(actor=staff, office=ax.office, service=ax.cccd, now=_at(ax, "08:00"))
    assert services.queue_call_next(actor=staff, counter=ax.counter1, now=_at(ax, "08:05")).pk == w1.pk
    services.booking_mark_served(actor=staff, booking=w1, now=_at(ax, "08:15"))
    services.booking_check_in(actor=staff, city=ax.city, code=booked.code, now=_at(ax, "09:00"))
    w3 = services.walk_in_create(actor=staff, office=ax.office, service=ax.cccd, now=_at(ax, "09:00"))
    assert services.queue_call_next(actor=staff, counter=ax.counter1, now=_at(ax, "09:10")).pk == booked.pk
    services.booking_start_serving(actor=staff, booking=booked, now=_at(ax, "09:12"))
    services.booking_mark_served(actor=staff, booking=booked, now=_at(ax, "09:20"))
    assert services.queue_call_next(actor=staff, counter=ax.counter1, now=_at(ax, "09:40")).pk == w3.pk
    services.booking_mark_no_show(actor=staff, booking=w3, now=_at(ax, "09:45"))
    return Period(ax.day, ax.day + dt.timedelta(days=1))


def test_waits_and_online_share_from_the_counter(ax, day_at_the_office):
    period = day_at_the_office
    mean = stats.kpi_mean_wait(ax.city, period)  # (5 + 10 + 40) / 3
    assert (mean.value, mean.numerator, mean.denominator) == (18.33, 55.0, 3)
    p90 = stats.kpi_p90_wait(ax.city, period)  # position 1.8 of 5, 10, 40: 10 + 0.8 × 30
    assert p90.value == pytest.approx(34.0, rel=0.01) and p90.sample_size == 3
    within = stats.kpi_served_within_15(ax.city, period)
    assert (within.numerator, within.denominator, within.value) == (2, 3, 66.67)
    online = stats.kpi_online_share(ax.city, period)  # served: W1 (walk-in) and B1 (online)
    assert (online.numerator, online.denominator, online.value) == (1, 2, 50.0)
    wards = stats.wards_mean_wait(ax.city, period)
    assert {c: v.value for c, v in wards.items()} == {"20242": 18.33}
    # The next day has nothing: missing, not zero.
    after = Period(ax.day + dt.timedelta(days=1), ax.day + dt.timedelta(days=2))
    for kpi in (stats.kpi_mean_wait, stats.kpi_p90_wait, stats.kpi_served_within_15, stats.kpi_online_share):
        value = kpi(ax.city, after)
        assert value.value is None and value.note


def test_the_hooks_keep_what_a_rebuild_derives(ax, day_at_the_office):
    kept = _table(ax.city)
    assert {k[0] for k in kept[0]} == set(KEYS)
    facts.rebuild_city(city=ax.city, keys=KEYS, since=ax.day - dt.timedelta(days=3),
                       until=ax.day + dt.timedelta(days=3))
    assert _table(ax.city) == kept


def test_every_calculator_says_how_it_is_computed():
    for kpi in stats.KPIS:
        assert kpi.method and kpi.unit, kpi.code
