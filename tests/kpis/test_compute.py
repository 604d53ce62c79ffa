"""services.compute on the reports module's real daily facts, hand-computed; missing is never zero."""

from datetime import UTC, date, datetime

import pytest
from django.core.management import call_command
from django.utils import translation

from dothi.core import facts
from dothi.core.errors import InvalidInput
from dothi.core.models import AuditEvent
from dothi.kpis import periods, selectors, services
from dothi.kpis.models import Grain, Value
from tests.kpis.engine_fixtures import communes_fixture  # noqa: F401 - the `communes` fixture

pytestmark = pytest.mark.django_db
ON_TIME = "reports.resolved_on_time"
MEAN = "reports.mean_hours_to_resolve"


@pytest.fixture
def resolved(city, communes):
    """Reports resolved (by local resolution day, with a deadline): on time 1, late 0."""
    a, b = communes["a"].pk, communes["b"].pk
    for day, commune, on_time in [
        (date(2026, 6, 30), a, 0),  # June: outside July and Q3
        (date(2026, 7, 3), a, 1),
        (date(2026, 7, 10), a, 1),
        (date(2026, 7, 20), b, 0),
        (date(2026, 8, 1), b, 1),  # August: in Q3, not in July
    ]:
        facts.add(city=city, key=ON_TIME, day=day, commune_id=commune, value=on_time)
    for day, hours in [(date(2026, 7, 3), 10.0), (date(2026, 7, 10), 30.0), (date(2026, 7, 20), 50.0)]:
        facts.add(city=city, key="reports.resolution_hours", day=day, commune_id=a, value=hours)
    return communes


def _value(city, code, grain, start, commune=None):
    ind = selectors.indicator_by_code(city, code)
    return selectors.effective_value(city, ind, grain, start, commune)


def test_month_quarter_and_wards_by_hand(city, cast, resolved):
    result = services.compute(actor=cast["council_member"], city=city, grain=Grain.MONTH,
                              start=date(2026, 7, 1), wards=True, codes=[ON_TIME, MEAN])
    assert (result.computed, result.missing, result.failed) == (2, 0, 0)
    july = _value(city, ON_TIME, "month", date(2026, 7, 1))
    # 2 of the 3 reports resolved in July were on time.
    assert (july.value, july.numerator, july.denominator, july.sample_size) == (66.67, 2, 3, 3)
    assert july.method == "auto" and july.period_end == date(2026, 8, 1)
    assert _value(city, MEAN, "month", date(2026, 7, 1)).value == 30.0  # (10 + 30 + 50) / 3
    in_wards = selectors.ward_values(city, july.indicator, "month", date(2026, 7, 1))
    wards = {v.commune_id: v.value for v in in_wards}
    assert wards == {"20194": 100.0, "20257": 0.0}
    services.compute(actor=None, city=city, grain="quarter", start=date(2026, 7, 1), codes=[ON_TIME])
    assert _value(city, ON_TIME, "quarter", date(2026, 7, 1)).value == 75.0  # 3 of 4


def test_recompute_replaces_and_one_audit_record_per_run(city, cast, resolved):
    args = {"actor": cast["city_admin"], "city": city, "grain": "month", "start": date(2026, 7, 1),
            "codes": [ON_TIME], "wards": True}
    services.compute(**args)
    facts.add(city=city, key=ON_TIME, day=date(2026, 7, 25), commune_id=resolved["b"].pk, value=1)
    services.compute(**args)
    ind = selectors.indicator_by_code(city, ON_TIME)
    assert Value.objects.filter(indicator=ind, grain="month", commune__isnull=True).count() == 1
    assert _value(city, ON_TIME, "month", date(2026, 7, 1)).value == 75.0  # 3 of 4 now
    assert Value.objects.filter(indicator=ind, grain="month", commune__isnull=False).count() == 2
    runs = AuditEvent.objects.filter(details__operation="kpis.compute", city=city)
    assert runs.count() == 2
    assert runs.first().details["computed"] == 1


def test_empty_period_is_stored_missing_not_zero(city):
    codes = [ON_TIME, MEAN, "appointments.online_share", "appointments.mean_wait"]
    result = services.compute(actor=None, city=city, grain="year", start=date(2019, 1, 1), codes=codes)
    assert (result.computed, result.missing, result.failed) == (0, 4, 0)
    for code in codes:
        v = _value(city, code, "year", date(2019, 1, 1))
        assert v.value is None and v.is_missing
        assert v.note  # the reason
    assert not Value.objects.filter(city=city, value=0).exists()


def test_a_calculator_that_raises_is_missing_with_its_error_class_and_the_others_run(city, resolved):
    from dothi.core.manifests import registry

    calc = registry.kpi(ON_TIME)

    def broken(city, period):
        raise ZeroDivisionError

    # Break one real calculator (not a fake indicator): its failure must not stop the others.
    import dataclasses

    reports = registry.get("reports")
    kpis = tuple(dataclasses.replace(k, compute=broken) if k is calc else k for k in reports.kpis)
    object.__setattr__(reports, "kpis", kpis)
    try:
        result = services.compute(actor=None, city=city, grain="month", start=date(2026, 7, 1),
                                  codes=[ON_TIME, MEAN])
    finally:
        object.__setattr__(reports, "kpis", tuple(k if k.code != ON_TIME else calc for k in reports.kpis))
    assert (result.computed, result.failed) == (1, 1)
    v = _value(city, ON_TIME, "month", date(2026, 7, 1))
    assert v.value is None and "ZeroDivisionError" in v.note


def test_permission_and_bad_codes(city, cast):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.compute(actor=cast["agency_staff"], city=city, grain="month", start=date(2026, 7, 1))
    with translation.override("en"), pytest.raises(InvalidInput) as exc:
        services.compute(actor=cast["council_member"], city=city, grain="month", start=date(2026, 7, 1),
                         codes=["nope"])
    assert exc.value.field == "codes"
    assert not Value.objects.exists()


def test_due_periods_include_the_previous_ones_for_seven_days(city):
    # 3 July 2026 08:00 in Đà Nẵng (UTC+7) = 01:00 UTC
    due = services.due_periods(city, datetime(2026, 7, 3, 1, 0, tzinfo=UTC))
    codes = sorted(periods.code(g, p.start) for g, p in due)
    assert codes == sorted(["2026-07", "2026-06", "2026-Q3", "2026-Q2", "2026"])
    # 31 Dec 2025 18:00 UTC is already 1 January 2026 in Đà Nẵng.
    due = services.due_periods(city, datetime(2025, 12, 31, 18, 0, tzinfo=UTC))
    assert sorted(periods.code(g, p.start) for g, p in due) == sorted(
        ["2026-01", "2025-12", "2026-Q1", "2025-Q4", "2026", "2025"])
    due = services.due_periods(city, datetime(2026, 7, 20, 1, 0, tzinfo=UTC))
    assert len(due) == 3


def test_compute_current_and_schedule_declared(city, resolved):
    from dothi.core.manifests import registry

    assert registry.schedules()["kpis.compute_current"][0] == 3600
    done = services.compute_current(now=datetime(2026, 8, 3, 1, 0, tzinfo=UTC))
    assert done["cities"] == 1 and done["periods"] == 4  # August, July, Q3, 2026
    assert _value(city, ON_TIME, "month", date(2026, 7, 1)).value == 66.67


def test_command_compute(city, resolved, capsys):
    call_command("kpi", "compute", "--city", city.slug, "--period", "2026-07", "--codes", ON_TIME, "--wards")
    out = capsys.readouterr().out
    assert ON_TIME in out and "66.67" in out and "1 computed, 0 missing" in out
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("kpi", "compute", "--city", city.slug, "--period", "2026-Q5")
    with pytest.raises(CommandError):
        call_command("kpi", "compute", "--city", "nowhere", "--period", "2026")
