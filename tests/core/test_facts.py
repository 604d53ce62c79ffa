"""core.facts: the daily fact rollups (upserts that increment, take-backs, sums, the log histogram's
quantiles) and their rebuild from a module's raw rows, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import math
import random
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from dothi.core import facts
from dothi.core.manifests import FactSource, Manifest, registry
from dothi.core.models import DailyFact, DailyFactBin
from dothi.core.stats import percentile_cont
from tests import factories

pytestmark = pytest.mark.django_db
KEY = "factstest.values"
D0 = dt.date(2026, 3, 1)
COMMUNES = ["20242", "00004", None]


class _Raw:
    """The raw rows a test module's FactSource re-derives the facts from."""

    rows: list[tuple[dt.date, str | None, float]] = []


@pytest.fixture
def source():
    _Raw.rows = []
    manifest = Manifest(
        name="factstest",
        fact_sources=(
            FactSource(
                key=KEY,
                label="test values",
                rows=lambda city, start, end: [r for r in _Raw.rows if start <= r[0] < end],
            ),
        ),
    )
    registry.register(manifest)
    yield _Raw
    registry.unregister("factstest")


def _table(city) -> tuple[dict, dict]:
    """The stored facts without the rows taken back to zero (a rebuild never writes those)."""
    rows = DailyFact.objects.filter(city=city, key=KEY).exclude(count=0)
    bins = DailyFactBin.objects.filter(city=city, key=KEY).exclude(count=0)
    return (
        {(r.day, r.commune_id): (r.count, round(r.total, 6)) for r in rows},
        {(b.day, b.commune_id, b.bin): b.count for b in bins},
    )


def test_bins_estimate_every_value_within_one_percent():
    rng = random.Random(7)
    values = [rng.lognormvariate(0, 4) for _ in range(5000)] + [1.0, 0.001, 1e6, 15.0]
    for v in values:
        assert abs(facts.bin_estimate(facts.bin_of(v)) - v) <= 0.01 * v * (1 + 1e-9), v
    assert facts.bin_of(0) == facts.bin_of(-3.5) == facts.ZERO_BIN
    assert facts.bin_estimate(facts.ZERO_BIN) == 0.0


def test_commune_codes_round_trip():
    assert [facts.commune_int(c) for c in ("20242", "00004", None, "", 31)] == [20242, 4, 0, 0, 31]
    assert [facts.commune_code(n) for n in (20242, 4, 0)] == ["20242", "00004", None]
    with pytest.raises(ValueError):
        facts.commune_int("x1")


def test_add_is_two_statements_and_increments(city, django_assert_num_queries):
    with django_assert_num_queries(2):
        facts.add(city=city, key=KEY, day=D0, commune_id="20242", value=10.0)
    facts.add(city=city, key=KEY, day=D0, commune_id="20242", value=30.0)
    facts.add(city=city, key=KEY, day=D0 + dt.timedelta(days=1), commune_id=None, value=5.0)
    row = DailyFact.objects.get(city=city, key=KEY, day=D0, commune_id=20242)
    assert (row.count, row.total) == (2, 40.0)
    s = facts.summary(city=city, key=KEY, start=D0, end=D0 + dt.timedelta(days=2))
    assert (s.count, s.total, s.mean) == (3, 45.0, 15.0)
    # The end is excluded; one commune alone.
    assert facts.summary(city=city, key=KEY, start=D0, end=D0 + dt.timedelta(days=1)).count == 2
    assert facts.summary(
        city=city, key=KEY, start=D0, end=D0 + dt.timedelta(days=2), commune_id="20242"
    ).total == 40.0
    assert facts.by_commune(city=city, key=KEY, start=D0, end=D0 + dt.timedelta(days=2)) == {
        "20242": facts.FactSummary(2, 40.0),
        None: facts.FactSummary(1, 5.0),
    }


def test_bad_values_are_refused(city):
    for value in (math.nan, math.inf):
        with pytest.raises(ValueError):
            facts.add(city=city, key=KEY, day=D0, commune_id=None, value=value)
    with pytest.raises(ValueError):
        facts.add(city=city, key=KEY, day=D0, commune_id=None, value=1.0, weight=2)
    assert not DailyFact.objects.exists()


def test_weight_minus_one_takes_a_fact_back(city):
    end = D0 + dt.timedelta(days=1)
    for v in (2.0, 4.0, 100.0):
        facts.add(city=city, key=KEY, day=D0, commune_id="20242", value=v)
    facts.add(city=city, key=KEY, day=D0, commune_id="20242", value=100.0, weight=-1)
    s = facts.summary(city=city, key=KEY, start=D0, end=end)
    assert (s.count, s.total) == (2, 6.0)
    # Median of 2 and 4 is 3, p90 3.8; the histogram's estimates are within 1 %.
    median, p90 = facts.quantiles(city=city, key=KEY, start=D0, end=end)
    assert median == pytest.approx(3.0, rel=0.01) and p90 == pytest.approx(3.8, rel=0.01)
    # Taking back the rest leaves nothing to measure: no quantile, no commune.
    for v in (2.0, 4.0):
        facts.add(city=city, key=KEY, day=D0, commune_id="20242", value=v, weight=-1)
    assert facts.summary(city=city, key=KEY, start=D0, end=end) == facts.FactSummary(0, 0.0)
    assert facts.quantiles(city=city, key=KEY, start=D0, end=end) == [None, None]
    assert facts.by_commune(city=city, key=KEY, start=D0, end=end) == {}
    assert facts.quantiles_by_commune(city=city, key=KEY, start=D0, end=end) == {}


def test_facts_are_scoped_by_city(city, other_city):
    facts.add(city=city, key=KEY, day=D0, commune_id=None, value=1.0)
    facts.add(city=other_city, key=KEY, day=D0, commune_id=None, value=50.0)
    s = facts.summary(city=city, key=KEY, start=D0, end=D0 + dt.timedelta(days=1))
    assert (s.count, s.total) == (1, 1.0)
    assert facts.quantiles(city=city, key=KEY, start=D0, end=D0 + dt.timedelta(days=1), qs=(0.5,)) == [
        pytest.approx(1.0, rel=0.01)
    ]


@pytest.mark.parametrize("seed", [1, 2])
def test_quantiles_are_within_one_percent_of_percentile_cont(city, seed):
    rng = random.Random(seed)
    values = [rng.lognormvariate(3, 1.2) for _ in range(400)] + [0.0, 0.0]
    for i, v in enumerate(values):
        facts.add(city=city, key=KEY, day=D0 + dt.timedelta(days=i % 20), commune_id=COMMUNES[i % 3], value=v)
    qs = (0.0, 0.1, 0.25, 0.5, 0.9, 0.99, 1.0)
    got = facts.quantiles(city=city, key=KEY, start=D0, end=D0 + dt.timedelta(days=20), qs=qs)
    for q, estimate in zip(qs, got, strict=True):
        expected = percentile_cont(values, q)
        assert estimate == pytest.approx(expected, rel=0.01, abs=1e-12), q
    per_commune = facts.quantiles_by_commune(city=city, key=KEY, start=D0, end=D0 + dt.timedelta(days=20))
    for n, code in enumerate(COMMUNES):
        mine = [v for i, v in enumerate(values) if i % 3 == n]
        assert per_commune[code][0] == pytest.approx(percentile_cont(mine, 0.5), rel=0.01)
        assert per_commune[code][1] == pytest.approx(percentile_cont(mine, 0.9), rel=0.01)
    # At most 15: from the histogram, exact here as no value lies in 15's bin above 15.
    within, n = facts.count_at_most(city=city, key=KEY, start=D0, end=D0 + dt.timedelta(days=20), limit=15.0)
    upper = facts.GAMMA ** facts.bin_of(15.0)
    assert n == len(values)
    assert sum(v <= 15 for v in values) <= within <= sum(v <= upper for v in values)


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_incremental_adds_equal_a_rebuild(city, source, seed):
    """Property: whatever the events (facts added, some taken back), the rollups the hooks keep are
    the ones a rebuild derives from the rows that remain."""
    rng = random.Random(seed)
    kept: list[tuple[dt.date, str | None, float]] = []
    for _ in range(300):
        row = (D0 + dt.timedelta(days=rng.randrange(40)), rng.choice(COMMUNES),
               round(rng.expovariate(0.05), 3) if rng.random() > 0.05 else 0.0)
        facts.add(city=city, key=KEY, day=row[0], commune_id=row[1], value=row[2])
        if rng.random() < 0.2:  # taken back (a reopened report)
            facts.add(city=city, key=KEY, day=row[0], commune_id=row[1], value=row[2], weight=-1)
        else:
            kept.append(row)
    incremental = _table(city)
    source.rows = kept
    n = facts.rebuild(city=city, key=KEY, start=D0 - dt.timedelta(days=1), end=D0 + dt.timedelta(days=41))
    assert n == len(kept)
    assert _table(city) == incremental
    # Idempotent: a second rebuild changes nothing.
    facts.rebuild(city=city, key=KEY, start=D0 - dt.timedelta(days=1), end=D0 + dt.timedelta(days=41))
    assert _table(city) == incremental


def test_rebuild_touches_only_its_days_and_city(city, other_city, source):
    facts.add(city=city, key=KEY, day=D0, commune_id=None, value=1.0)  # outside the rebuilt days: kept
    facts.add(city=city, key=KEY, day=D0 + dt.timedelta(days=5), commune_id=None, value=7.0)  # stale
    facts.add(city=other_city, key=KEY, day=D0 + dt.timedelta(days=5), commune_id=None, value=9.0)
    source.rows = [(D0 + dt.timedelta(days=5), "20242", 3.0), (D0 + dt.timedelta(days=6), None, 4.0)]
    facts.rebuild(city=city, key=KEY, start=D0 + dt.timedelta(days=1), end=D0 + dt.timedelta(days=10))
    assert facts.by_commune(city=city, key=KEY, start=D0, end=D0 + dt.timedelta(days=10)) == {
        None: facts.FactSummary(2, 5.0),
        "20242": facts.FactSummary(1, 3.0),
    }
    assert facts.summary(city=other_city, key=KEY, start=D0, end=D0 + dt.timedelta(days=10)).total == 9.0
    with pytest.raises(ValueError):
        facts.rebuild(city=city, key=KEY, start=D0, end=D0)
    with pytest.raises(KeyError):
        facts.rebuild(city=city, key="nobody.declares", start=D0, end=D0 + dt.timedelta(days=1))


def test_rebuild_facts_command(city, source):
    factories.make_city("hue", name_vi="Huế", name_en="Hue", province_code="46")
    source.rows = [(dt.date(2026, 1, 10), None, 2.0), (dt.date(2026, 2, 10), None, 6.0)]
    out = StringIO()
    call_command("rebuild_facts", "--city", city.slug, "--key", KEY, "--since", "2026-02-01", stdout=out)
    assert f"{city.slug} {KEY}: 1 facts" in out.getvalue()
    assert facts.summary(city=city, key=KEY, start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 1)).total == 6.0
    call_command("rebuild_facts", "--key", KEY, stdout=StringIO())  # every city, every day
    assert facts.summary(city=city, key=KEY, start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 1)).total == 8.0
    with pytest.raises(CommandError, match="Unknown fact key"):
        call_command("rebuild_facts", "--key", "nobody.declares", stdout=StringIO())
    with pytest.raises(CommandError, match="--since"):
        call_command("rebuild_facts", "--since", "March", stdout=StringIO())
    with pytest.raises(CommandError, match="No city"):
        call_command("rebuild_facts", "--city", "atlantis", stdout=StringIO())
