"""The reports' daily facts (core.facts) kept by the real services — acknowledgement, resolution, reopen
takes back — and the KPIs read from them, against hand-computed values. Times are set on the rows
before each move so the durations are known (the services use the real clock)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from dothi.core import facts
from dothi.core.manifests import Period
from dothi.core.models import DailyFact, DailyFactBin
from dothi.reports import services, stats
from dothi.reports.models import Report, Status

from .conftest import jpeg_bytes

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
H = dt.timedelta(hours=1)
KEYS = [s.key for s in stats.FACT_SOURCES]


def _set(report: Report, **fields) -> Report:
    Report.objects.filter(pk=report.pk).update(**fields)
    report.refresh_from_db()
    return report


def _move(rx, report: Report, to_status: str) -> Report:
    extra = {"text": "Repaired.", "evidence": [jpeg_bytes()]} if to_status == Status.RESOLVED else {}
    if to_status == Status.NEEDS_INFO:
        extra = {"text": "Which house number?"}
    return services.report_transition(actor=rx.cast["operator"], report=report, to_status=to_status, **extra)


def _now_period() -> Period:
    today = timezone.now().astimezone(TZ).date()
    return Period(today - dt.timedelta(days=1), today + dt.timedelta(days=2))


def _table(city) -> tuple[dict, dict]:
    return (
        {(f.key, f.day, f.commune_id): (f.count, round(f.total, 6))
         for f in DailyFact.objects.filter(city=city).exclude(count=0)},
        {(b.key, b.day, b.commune_id, b.bin): b.count
         for b in DailyFactBin.objects.filter(city=city).exclude(count=0)},
    )


@pytest.mark.django_db
def test_resolutions_feed_the_kpis_and_a_reopen_takes_back(rx, submit):
    """Three reports in commune A resolved 10, 20 and 100 hours after submission, the last one after its
    deadline; one report in commune B resolved on time after 30 hours."""
    now = timezone.now()
    reports = []
    for hours, late, point in ((10, False, rx.point_a), (20, False, rx.point_a), (100, True, rx.point_a),
                               (30, False, rx.point_b)):
        before = DailyFact.objects.count()
        report = submit(lat=point[0], lon=point[1])
        assert DailyFact.objects.count() == before  # submission records nothing (its throughput matters)
        _set(report, submitted_at=now - hours * H, due_at=now + (-H if late else H))
        reports.append(_move(rx, report, Status.RESOLVED))
    period = _now_period()
    on_time = stats.kpi_resolved_on_time(rx.city, period)
    assert (on_time.value, on_time.numerator, on_time.denominator) == (75.0, 3, 4)
    median = stats.kpi_median_hours_to_resolve(rx.city, period)  # 10, 20, 30, 100: 25
    assert median.value == pytest.approx(25.0, rel=0.01) and median.sample_size == 4
    p90 = stats.kpi_p90_hours_to_resolve(rx.city, period)  # position 2.7: 30 + 0.7 × 70
    assert p90.value == pytest.approx(79.0, rel=0.01)
    assert stats.kpi_mean_hours_to_resolve(rx.city, period).value == pytest.approx(40.0, rel=0.001)
    # Per ward: commune A 2 of 3 on time, median 20 h; commune B 1 of 1, 30 h.
    wards = stats.wards_resolved_on_time(rx.city, period)
    a, b = rx.commune_a.code, rx.commune_b.code
    assert {c: (v.numerator, v.denominator, v.value) for c, v in wards.items()} == {
        a: (2, 3, 66.67), b: (1, 1, 100.0)
    }
    medians = stats.wards_median_hours_to_resolve(rx.city, period)
    assert medians[a].value == pytest.approx(20.0, rel=0.01)
    assert medians[b].value == pytest.approx(30.0, rel=0.01)
    assert set(medians) == {a, b}

    # The reporter reopens the late one: its facts are taken back at the day and value they had.
    services.report_reopen(actor=rx.cast["citizen"], report=reports[2], text="Still a hole")
    on_time = stats.kpi_resolved_on_time(rx.city, period)
    assert (on_time.value, on_time.numerator, on_time.denominator) == (100.0, 3, 3)
    median = stats.kpi_median_hours_to_resolve(rx.city, period)  # 10, 20, 30
    assert median.value == pytest.approx(20.0, rel=0.01) and median.sample_size == 3
    assert stats.kpi_p90_hours_to_resolve(rx.city, period).value == pytest.approx(28.0, rel=0.01)

    # What the hooks kept is what a rebuild derives from the reports.
    kept = _table(rx.city)
    facts.rebuild_city(city=rx.city, keys=KEYS, since=period.start - dt.timedelta(days=10), until=period.end)
    assert _table(rx.city) == kept


@pytest.mark.django_db
def test_acknowledgement_within_one_working_day(rx, submit):
    now = timezone.now()
    # Submitted on Monday 3 March 2025 at 08:00: its working day ended Tuesday 08:00, acknowledged now.
    late = _set(submit(), submitted_at=dt.datetime(2025, 3, 3, 8, tzinfo=TZ))
    # Submitted on Wednesday 5 March 2025 and never acknowledged: late too.
    _set(submit(), submitted_at=dt.datetime(2025, 3, 5, 8, tzinfo=TZ))
    # Submitted a minute ago: acknowledged at once.
    fresh = _set(submit(), submitted_at=now - dt.timedelta(minutes=1))
    for report in (late, fresh):
        _move(rx, report, Status.IN_PROGRESS)
    _move(rx, Report.objects.get(pk=fresh.pk), Status.NEEDS_INFO)  # a second move acknowledges nothing
    march = Period(dt.date(2025, 3, 1), dt.date(2025, 4, 1))
    value = stats.kpi_acknowledged_within_one_working_day(rx.city, march)
    assert (value.value, value.numerator, value.denominator) == (0.0, 0, 2)
    s = facts.summary(city=rx.city, key=stats.ACKNOWLEDGED_IN_TIME, start=march.start, end=march.end)
    assert (s.count, s.total) == (1, 0.0)  # the waiting one is read from the queue, not a fact
    value = stats.kpi_acknowledged_within_one_working_day(rx.city, _now_period())
    assert (value.value, value.numerator, value.denominator) == (100.0, 1, 1)


@pytest.mark.django_db
def test_empty_periods_are_missing_not_zero(rx):
    empty = Period(dt.date(2024, 1, 1), dt.date(2024, 2, 1))
    for kpi in stats.KPIS:
        value = kpi.compute(rx.city, empty)
        assert value.value is None and value.note, kpi.code
        assert kpi.method and kpi.unit, kpi.code
    assert stats.wards_resolved_on_time(rx.city, empty) == {}
    assert stats.wards_median_hours_to_resolve(rx.city, empty) == {}
