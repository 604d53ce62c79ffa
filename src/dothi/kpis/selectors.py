"""Reads of the KPI module, always scoped by city.

The catalogue a city sees is the shared catalogue (rows without a city) plus its own indicators; a
city's own indicator of a code hides the shared one of the same code. **The effective value** of an
indicator for a period and place is the approved manual value when there is one, else the automatic one.
"""

from __future__ import annotations

from datetime import date

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from dothi.core.models import City, Commune
from dothi.kpis.models import CityIndicator, Grain, Indicator, Value

# Values that count: every automatic value and the approved manual ones.
COUNTING = Q(method=Value.Method.AUTO) | Q(method=Value.Method.MANUAL, status=Value.Status.APPROVED)


def _grain(grain: Grain | str) -> str:
    return str(grain.value if isinstance(grain, Grain) else grain)


def _visible(city: City) -> QuerySet[Indicator]:
    """Active indicators the city sees: shared ones not overridden by its own, and its own."""
    own_codes = Indicator.objects.filter(city=city).values("code")
    return Indicator.objects.filter(is_active=True).filter(
        Q(city=city) | (Q(city__isnull=True) & ~Q(code__in=own_codes))
    )

CODE_MAX = Indicator._meta.get_field("code").max_length


def _code(code) -> str:
    """A code as looked up: trimmed; empty when it could name no indicator (too long, or holding a NUL
    byte, which PostgreSQL refuses even in a query)."""
    code = str(code or "").strip()
    return "" if len(code) > CODE_MAX or "\x00" in code else code


def indicator_by_code(city: City, code: str) -> Indicator | None:
    """The city's own indicator of that code, else the shared one (active or not), else None."""
    code = _code(code)
    if not code:
        return None
    found = list(Indicator.objects.filter(Q(city=city) | Q(city__isnull=True), code=code))
    own = [i for i in found if i.city_id == city.pk]
    return (own or found or [None])[0]


def indicator_by_standard_code(city: City, code: str) -> list[Indicator]:
    """Active indicators visible to the city that report the U4SSC `code` (platform ones by their
    `standard_code`), the U4SSC row itself first."""
    code = _code(code)
    if not code:
        return []
    return sorted(
        _visible(city).filter(Q(code=code) | Q(standard_code=code)),
        key=lambda i: (i.code != code, i.order, i.code),
    )


def indicators(
    city: City,
    *,
    dimension: str | None = None,
    source: str | None = None,
    automatic: bool | None = None,
    published: bool | None = None,
    q: str | None = None,
) -> QuerySet[Indicator]:
    """Active indicators visible to the city (shared + its own), filtered, in catalogue order."""
    qs = _visible(city)
    if dimension:
        qs = qs.filter(dimension=dimension)
    if source:
        qs = qs.filter(source=source)
    if automatic is True:
        qs = qs.exclude(calculator="")
    elif automatic is False:
        qs = qs.filter(calculator="")
    if published is not None:
        is_pub = Exists(CityIndicator.objects.filter(city=city, indicator=OuterRef("pk"), is_published=True))
        qs = qs.filter(is_pub) if published else qs.exclude(is_pub)
    if q:
        q = q.strip()
        qs = qs.filter(
            Q(code__icontains=q) | Q(name_vi__icontains=q) | Q(name_en__icontains=q)
            | Q(standard_code__icontains=q)
        )
    return qs.order_by("order", "code")


def dimensions(city: City) -> list[str]:
    """The dimensions present in the city's catalogue, in catalogue order."""
    seen: list[str] = []
    for d in _visible(city).order_by("order", "code").values_list("dimension", flat=True):
        if d and d not in seen:
            seen.append(d)
    return seen


def published(city: City) -> QuerySet[Indicator]:
    """The indicators the city publishes on its public page, in catalogue order."""
    return indicators(city, published=True)


def published_ids(city: City) -> set[int]:
    return set(
        CityIndicator.objects.filter(city=city, is_published=True).values_list("indicator_id", flat=True)
    )


def city_setting(city: City, indicator: Indicator) -> CityIndicator | None:
    return CityIndicator.objects.filter(city=city, indicator=indicator).first()


def _pick(values: list[Value]) -> Value | None:
    """The effective one of the counting values of one key: approved manual (newest decided) wins."""
    manual = [v for v in values if v.method == Value.Method.MANUAL]
    if manual:
        return max(manual, key=lambda v: (v.decided_at or v.computed_at, v.pk))
    return values[0] if values else None


def _counting(city: City, indicator: Indicator, grain: Grain | str) -> QuerySet[Value]:
    return Value.objects.for_city(city).filter(COUNTING, indicator=indicator, grain=_grain(grain))


def effective_value(
    city: City, indicator: Indicator, grain: Grain | str, start: date, commune: Commune | None = None
) -> Value | None:
    """The approved manual value if any, else the automatic one; None when nothing was stored."""
    qs = _counting(city, indicator, grain).filter(period_start=start)
    qs = qs.filter(commune=commune) if commune is not None else qs.filter(commune__isnull=True)
    return _pick(list(qs))


def _effective_by(values: list[Value], key) -> dict:
    grouped: dict = {}
    for v in values:
        grouped.setdefault(key(v), []).append(v)
    return {k: _pick(vs) for k, vs in grouped.items()}


def series(
    city: City, indicator: Indicator, grain: Grain | str, *, since: date | None = None,
    until: date | None = None,
) -> list[Value]:
    """The city-level effective values ascending by period start; `since`/`until` bound the period
    start (inclusive)."""
    qs = _counting(city, indicator, grain).filter(commune__isnull=True)
    if since is not None:
        qs = qs.filter(period_start__gte=since)
    if until is not None:
        qs = qs.filter(period_start__lte=until)
    picked = _effective_by(list(qs), lambda v: v.period_start)
    return [picked[k] for k in sorted(picked)]


def ward_values(city: City, indicator: Indicator, grain: Grain | str, start: date) -> list[Value]:
    """The effective value of each commune that has one for the period, by commune name."""
    qs = _counting(city, indicator, grain).filter(period_start=start, commune__isnull=False)
    picked = _effective_by(list(qs.select_related("commune")), lambda v: v.commune_id)
    return sorted(picked.values(), key=lambda v: (v.commune.name if v.commune else "", v.commune_id))


def latest_value(city: City, indicator: Indicator, grain: Grain | str | None = None) -> Value | None:
    """The newest city-level effective value with a number (any grain unless given: the year first,
    then the quarter, then the month of the latest period)."""
    latest = latest_values(city, [indicator], grain=grain)
    return latest.get(indicator.pk)


GRAIN_RANK = {Grain.YEAR.value: 0, Grain.QUARTER.value: 1, Grain.MONTH.value: 2}


def latest_values(city: City, inds, grain: Grain | str | None = None) -> dict[int, Value]:
    """{indicator pk: its newest city-level effective value that is not missing}, in one query.
    Without a grain the newest period start wins; on the same start, the longest grain."""
    ids = [i.pk for i in inds]
    if not ids:
        return {}
    qs = Value.objects.for_city(city).filter(
        COUNTING, indicator_id__in=ids, commune__isnull=True, value__isnull=False
    )
    if grain is not None:
        qs = qs.filter(grain=_grain(grain))
    picked = _effective_by(list(qs), lambda v: (v.indicator_id, v.grain, v.period_start))
    best: dict[int, Value] = {}
    for v in picked.values():
        cur = best.get(v.indicator_id)
        if cur is None or (v.period_start, -GRAIN_RANK[v.grain]) > (cur.period_start, -GRAIN_RANK[cur.grain]):
            best[v.indicator_id] = v
    return best


def values(
    city: City,
    indicator: Indicator | None = None,
    *,
    grain: Grain | str | None = None,
    since: date | None = None,
    until: date | None = None,
    commune: Commune | None = None,
    wards: bool = False,
    indicator_ids=None,
) -> QuerySet[Value]:
    """Counting values (automatic and approved manual) of the city, for exports and the API. City
    level unless `commune` is given or `wards` (every commune)."""
    qs = Value.objects.for_city(city).filter(COUNTING).select_related("indicator", "commune")
    if indicator is not None:
        qs = qs.filter(indicator=indicator)
    if indicator_ids is not None:
        qs = qs.filter(indicator_id__in=indicator_ids)
    if grain:
        qs = qs.filter(grain=_grain(grain))
    if since is not None:
        qs = qs.filter(period_start__gte=since)
    if until is not None:
        qs = qs.filter(period_start__lte=until)
    if commune is not None:
        qs = qs.filter(commune=commune)
    elif not wards:
        qs = qs.filter(commune__isnull=True)
    return qs.order_by("indicator__order", "indicator__code", "grain", "period_start",
                       F("commune_id").asc(nulls_first=True), "method")


def effective_values(city: City, **kwargs) -> list[Value]:
    """Like `values` but one effective value per (indicator, grain, period, commune)."""
    rows = list(values(city, **kwargs))
    picked = _effective_by(rows, lambda v: (v.indicator_id, v.grain, v.period_start, v.commune_id))
    keep = {v.pk for v in picked.values()}
    return [v for v in rows if v.pk in keep]


def manual_values(city: City, *, status: str | None = None) -> QuerySet[Value]:
    """The city's manual values, newest first."""
    qs = Value.objects.for_city(city).filter(method=Value.Method.MANUAL)
    if status:
        qs = qs.filter(status=status)
    qs = qs.select_related("indicator", "commune", "entered_by", "decided_by")
    return qs.order_by("-computed_at", "-pk")


def pending_manual(city: City) -> QuerySet[Value]:
    """Manual values awaiting the council's decision, oldest first."""
    return manual_values(city, status=Value.Status.PENDING).order_by("computed_at", "pk")


def manual_value(city: City, pk: int) -> Value | None:
    return manual_values(city).filter(pk=pk).first()
