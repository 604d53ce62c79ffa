"""Daily fact rollups: what the KPIs of reports and appointments read instead of the raw rows.

A *fact* is one value a module records at the moment something happens (a report resolved after 30.5
hours, a visitor called after 12 minutes), under a key ("reports.resolution_hours"), on a local day of
the city and in a commune. `core.models.DailyFact` keeps, per (city, key, day, commune), the count and
the sum of the values (for counts, shares and means); `core.models.DailyFactBin` keeps a log histogram
of the values (for quantiles with 1 % relative accuracy, as DDSketch does):

- a value v > 0 falls in bin i = ceil(log(v) / log(γ)) with γ = (1 + α) / (1 − α), α = 0.01: the bin
  holds the values in (γ^(i−1), γ^i], and its estimate 2γ^i / (γ + 1) is within α of every one of them;
- a value v <= 0 falls in ZERO_BIN and is estimated as 0.

`add` is called by the module inside the transaction of the write (two upserts that increment;
`weight=-1` takes a fact back, e.g. when a resolved report is reopened). Reads sum the days of a period
(`summary`, `by_commune`, `quantiles`): a year of a city is a few thousand rows. `rebuild` re-derives the
days of a period from the module's raw rows (`core.manifests.FactSource.rows`), for facts recorded
before the hooks existed, after a bulk import, or after commune boundaries were re-assigned;
`dothi rebuild-facts` runs it.

Communes are stored by their code as an integer (the codes are 5 digits, "00004" → 4), 0 for none; the
read functions give them back as codes (`None` for none).
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection, transaction
from django.db.models import Sum

from dothi.core.models import City, DailyFact, DailyFactBin

ALPHA = 0.01
GAMMA = (1 + ALPHA) / (1 - ALPHA)
_LOG_GAMMA = math.log(GAMMA)
ZERO_BIN = -32768  # smallint's minimum: below every bin of a positive value
NO_COMMUNE = 0
BATCH = 5000
CODE_DIGITS = 5

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class FactSummary:
    count: int
    total: float

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None


# --- Encoding ------------------------------------------------------------------------------------


def bin_of(value: float) -> int:
    """The histogram bin of a value: ceil(log(v) / log(γ)) for v > 0, ZERO_BIN for v <= 0."""
    if value <= 0:
        return ZERO_BIN
    return math.ceil(math.log(value) / _LOG_GAMMA)


def bin_estimate(index: int) -> float:
    """The value a bin stands for (within α of every value in it); 0 for ZERO_BIN."""
    if index == ZERO_BIN:
        return 0.0
    return 2 * GAMMA**index / (GAMMA + 1)


def commune_int(commune: str | int | None) -> int:
    """A commune's code ("20242", or an int) as stored; None → 0."""
    if commune is None or commune == "":
        return NO_COMMUNE
    number = int(commune)
    if number <= 0:
        raise ValueError(f"Not a commune code: {commune!r}")
    return number


def commune_code(number: int) -> str | None:
    """The stored commune back as its code; 0 → None."""
    return None if number == NO_COMMUNE else f"{number:0{CODE_DIGITS}d}"


def _city_id(city: City | int) -> int:
    return city if isinstance(city, int) else city.pk


# --- Writing -------------------------------------------------------------------------------------


def _upserts() -> tuple[str, str]:
    qn = connection.ops.quote_name
    fact, fbin = qn(DailyFact._meta.db_table), qn(DailyFactBin._meta.db_table)
    # Table names come from the models' metadata (quoted); every value is a parameter.
    return (
        f"INSERT INTO {fact} (city_id, {qn('key')}, day, commune_id, {qn('count')}, total) "  # noqa: S608
        f"VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (city_id, {qn('key')}, day, commune_id) "
        f"DO UPDATE SET {qn('count')} = {fact}.{qn('count')} + excluded.{qn('count')}, "
        f"total = {fact}.total + excluded.total",
        f"INSERT INTO {fbin} (city_id, {qn('key')}, day, commune_id, bin, {qn('count')}) "  # noqa: S608
        f"VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (city_id, {qn('key')}, day, commune_id, bin) "
        f"DO UPDATE SET {qn('count')} = {fbin}.{qn('count')} + excluded.{qn('count')}",
    )


def add(
    *,
    city: City | int,
    key: str,
    day: date,
    commune_id: str | int | None,
    value: float,
    weight: int = 1,
) -> None:
    """Record one fact (weight 1) or take one back (weight -1, with the same day, commune and value it
    was recorded with). Two statements, in the caller's transaction."""
    value = float(value)
    if not math.isfinite(value):
        raise ValueError("A fact's value must be a finite number.")
    if weight not in (1, -1):
        raise ValueError("A fact's weight is 1 or -1.")
    city_id, commune = _city_id(city), commune_int(commune_id)
    fact_sql, bin_sql = _upserts()
    with connection.cursor() as cursor:
        cursor.execute(fact_sql, [city_id, key, day, commune, weight, weight * value])
        cursor.execute(bin_sql, [city_id, key, day, commune, bin_of(value), weight])


# --- Reading -------------------------------------------------------------------------------------


def _facts(model, city, key: str, start: date, end: date, commune_id=None):
    qs = model.objects.filter(city_id=_city_id(city), key=key, day__gte=start, day__lt=end)
    if commune_id is not None:
        qs = qs.filter(commune_id=commune_int(commune_id))
    return qs


def summary(
    *, city: City | int, key: str, start: date, end: date, commune_id: str | int | None = None
) -> FactSummary:
    """Count and sum of the facts of the local days [start, end) (of one commune when given)."""
    row = _facts(DailyFact, city, key, start, end, commune_id).aggregate(n=Sum("count"), total=Sum("total"))
    return FactSummary(count=int(row["n"] or 0), total=float(row["total"] or 0.0))


def by_commune(*, city: City | int, key: str, start: date, end: date) -> dict[str | None, FactSummary]:
    """Per commune code (None: no commune), the count and sum of the facts of [start, end); communes
    without facts are left out."""
    rows = (
        _facts(DailyFact, city, key, start, end)
        .values("commune_id")
        .annotate(n=Sum("count"), total=Sum("total"))
        .order_by()
    )
    return {
        commune_code(r["commune_id"]): FactSummary(count=int(r["n"]), total=float(r["total"] or 0.0))
        for r in rows
        if r["n"]
    }


def _quantiles_of(bins: Sequence[tuple[int, int]], qs: Sequence[float]) -> list[float | None]:
    """Continuous quantiles (as PostgreSQL's PERCENTILE_CONT) estimated from (bin, count) sorted by bin:
    the order statistics at floor and ceil of q·(n − 1) are read off the histogram and interpolated."""
    bins = [(b, n) for b, n in bins if n > 0]
    total = sum(n for _, n in bins)
    if total <= 0:
        return [None for _ in qs]
    # Cumulative counts: bin k holds the order statistics [cum[k-1], cum[k]).
    cumulative, running = [], 0
    for _, n in bins:
        running += n
        cumulative.append(running)

    def order_statistic(rank: int) -> float:
        for (index, _), upto in zip(bins, cumulative, strict=True):
            if rank < upto:
                return bin_estimate(index)
        return bin_estimate(bins[-1][0])

    out: list[float | None] = []
    for q in qs:
        if not 0 <= q <= 1:
            raise ValueError("A quantile is between 0 and 1.")
        position = q * (total - 1)
        low, high = math.floor(position), math.ceil(position)
        lo_value = order_statistic(low)
        hi_value = lo_value if high == low else order_statistic(high)
        out.append(lo_value + (hi_value - lo_value) * (position - low))
    return out


def quantiles(
    *,
    city: City | int,
    key: str,
    start: date,
    end: date,
    qs: Sequence[float] = (0.5, 0.9),
    commune_id: str | int | None = None,
) -> list[float | None]:
    """Estimated quantiles of the facts' values in [start, end) (1 % relative accuracy); None each when
    there is no fact."""
    rows = (
        _facts(DailyFactBin, city, key, start, end, commune_id)
        .values("bin")
        .annotate(n=Sum("count"))
        .order_by("bin")
        .values_list("bin", "n")
    )
    return _quantiles_of(list(rows), qs)


def quantiles_by_commune(
    *, city: City | int, key: str, start: date, end: date, qs: Sequence[float] = (0.5, 0.9)
) -> dict[str | None, list[float | None]]:
    """The same per commune code (None: no commune); communes without facts are left out."""
    rows = (
        _facts(DailyFactBin, city, key, start, end)
        .values("commune_id", "bin")
        .annotate(n=Sum("count"))
        .order_by("commune_id", "bin")
        .values_list("commune_id", "bin", "n")
    )
    grouped: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for commune, index, n in rows:
        grouped[commune].append((index, n))
    out = {}
    for commune, bins in grouped.items():
        values = _quantiles_of(bins, qs)
        if values and values[0] is not None:
            out[commune_code(commune)] = values
    return out


def count_at_most(
    *, city: City | int, key: str, start: date, end: date, limit: float, commune_id: str | int | None = None
) -> tuple[int, int]:
    """(facts with a value at most `limit`, all facts) in [start, end), from the histogram: a value is
    counted when its bin's upper edge γ^i is at most γ^bin_of(limit), i.e. values up to `limit` and those
    at most 2 % above it in the same bin."""
    qs = _facts(DailyFactBin, city, key, start, end, commune_id)
    total = qs.aggregate(n=Sum("count"))["n"] or 0
    within = qs.filter(bin__lte=bin_of(limit)).aggregate(n=Sum("count"))["n"] or 0
    return int(within), int(total)


# --- Rebuilding ----------------------------------------------------------------------------------


def fact_source(key: str):
    from dothi.core.manifests import registry

    for source in registry.fact_sources():
        if source.key == key:
            return source
    raise KeyError(f"No module declares the fact source {key!r}.")


def aggregate(rows: Iterable[tuple[date, str | int | None, float]]):
    """(facts, bins) of raw (day, commune, value) rows: {(day, commune int): [count, total]} and
    {(day, commune int, bin): count}."""
    facts: dict[tuple[date, int], list] = defaultdict(lambda: [0, 0.0])
    bins: dict[tuple[date, int, int], int] = defaultdict(int)
    for day, commune, value in rows:
        value = float(value)
        if not math.isfinite(value):
            continue
        place = (day, commune_int(commune))
        entry = facts[place]
        entry[0] += 1
        entry[1] += value
        bins[(*place, bin_of(value))] += 1
    return facts, bins


def rebuild(
    *,
    city: City,
    key: str,
    start: date,
    end: date,
    progress: Progress | None = None,
) -> int:
    """Delete the facts of `key` for the local days [start, end) and derive them again from the module's
    raw rows (its FactSource), in one transaction. Idempotent. Returns how many facts (raw rows) it
    counted."""
    if end <= start:
        raise ValueError("The end must be after the start.")
    source = fact_source(key)
    with transaction.atomic():
        _facts(DailyFact, city, key, start, end).delete()
        _facts(DailyFactBin, city, key, start, end).delete()
        n = 0

        def counted(rows):
            nonlocal n
            for row in rows:
                n += 1
                yield row

        facts, bins = aggregate(counted(source.rows(city, start, end)))
        todo, done = len(facts) + len(bins), 0

        def fact_rows():
            for (day, commune), (count, total) in facts.items():
                yield DailyFact(
                    city_id=city.pk, key=key, day=day, commune_id=commune, count=count, total=total
                )

        def bin_rows():
            for (day, commune, index), count in bins.items():
                yield DailyFactBin(
                    city_id=city.pk, key=key, day=day, commune_id=commune, bin=index, count=count
                )

        # Model instances are made one batch at a time (a year of a large city is ~10⁶ bins).
        for model, objects in ((DailyFact, fact_rows()), (DailyFactBin, bin_rows())):
            while batch := list(itertools.islice(objects, BATCH)):
                model.objects.bulk_create(batch)
                done += len(batch)
                if progress:
                    progress(done, todo)
    return n


def default_range(city: City, since: date | None = None, until: date | None = None) -> tuple[date, date]:
    """[since, until): `since` defaults to 2000-01-01, `until` to the day after tomorrow in the city's
    time zone."""
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    if until is None:
        until = timezone.now().astimezone(ZoneInfo(city.time_zone)).date() + timedelta(days=2)
    return since or date(2000, 1, 1), until


def rebuild_city(
    *,
    city: City,
    keys: Iterable[str] | None = None,
    since: date | None = None,
    until: date | None = None,
    progress: Callable[[str], Progress | None] | None = None,
) -> dict[str, int]:
    """Rebuild every fact source (or the given keys) of a city for the local days [since, until) (see
    `default_range`); {key: facts counted}. The demo seeders call it after bulk-inserting their rows."""
    from dothi.core.manifests import registry

    start, end = default_range(city, since, until)
    chosen = list(keys) if keys is not None else [s.key for s in registry.fact_sources()]
    counted = {
        key: rebuild(city=city, key=key, start=start, end=end, progress=progress(key) if progress else None)
        for key in chosen
    }
    analyse()
    return counted


def analyse() -> None:
    """Refresh the planner's statistics of the fact tables after a bulk rebuild (PostgreSQL): without
    them a year's histogram is read through the wrong index and sorted on disk, four times slower,
    until autovacuum gets to the tables."""
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {DailyFact._meta.db_table}, {DailyFactBin._meta.db_table}")
