"""Warning rules evaluated on every accepted batch of observations (see AlertRule).

`on_observations` is the sensing module's observation listener: it runs inside the ingestion
transaction (in a savepoint of its own, so a failing rule never loses the data), on every path (bulk
API, MQTT, NGSI-LD, CSV import). When the breaching batch commits, the warning and its CAP message are
committed with it.

Two levels of state:

- per rule and sensor (`RuleSensorState`): the sensor's level (0 = none) and, while its statistic is
  beyond the next level's threshold, since when (`pending_since`, for the duration). Readings are taken
  in time order; a reading no newer than the state's `last_time` (late or resent data) changes nothing.
- per rule: the worst level over the sensors of its area. 0 → n raises a warning, n → m updates it
  (escalation or de-escalation, an Update message), n → 0 ends it (an all-clear Cancel).

The hot path is the batch that no rule cares about: ingestion runs at 100k+ observations/s. The rules of
a city are compiled once per process into a dict keyed by (sensor id, quantity id); a batch costs one
pass that collects its distinct pairs (in C: `set(map(itemgetter))`) and a dict lookup per pair.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from dothi.alerts.models import SEVERITY_RANK, AlertRule, PublicWarning, RuleSensorState, Severity
from dothi.core.memo import ProcessMemo

logger = logging.getLogger(__name__)

_memo = ProcessMemo("alerts.rules")
_PAIR = itemgetter(0, 1)


# --- Compiled rules ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompiledRule:
    id: int
    quantity_code: str
    quantity_ids: frozenset[int]  # the global row and the city's own row of the code, when both exist
    sensor_ids: frozenset[int]  # the sensors inside the area (not retired)
    whole_city: bool
    hourly_mean: bool
    gte: bool  # operator ">="; else "<="
    thresholds: tuple[float, ...]  # level n is thresholds[n - 1]
    severities: tuple[str, ...]
    hysteresis: float
    duration: timedelta


@dataclass(frozen=True)
class CompiledCity:
    rules: dict[int, CompiledRule]
    # (sensor id, quantity id) → the rules that read it: the one lookup a batch makes per pair.
    pairs: dict[tuple[int, int], tuple[CompiledRule, ...]] = field(repr=False)


def _levels(rule: AlertRule) -> tuple[tuple[float, ...], tuple[str, ...]]:
    levels = rule.levels if isinstance(rule.levels, list) else []
    thresholds = tuple(float(level["threshold"]) for level in levels)
    severities = tuple(str(level.get("severity", Severity.UNKNOWN)) for level in levels)
    return thresholds, severities


def _sensors_in_area(rule: AlertRule, sensors: list[tuple[int, str | None, float, float]]) -> frozenset[int]:
    """The ids of the sensors inside the rule's area: by the sensor's point for a polygon (the stored
    communes of a polygon area are those it merely touches), by the sensor's commune otherwise."""
    if rule.polygon:
        import numpy as np
        import shapely
        from shapely.geometry import shape

        geom = shape(rule.polygon)
        if not sensors:
            return frozenset()
        lons = np.fromiter((s[2] for s in sensors), float, len(sensors))
        lats = np.fromiter((s[3] for s in sensors), float, len(sensors))
        inside = shapely.intersects_xy(geom, lons, lats)  # a point on the outline is inside
        return frozenset(s[0] for s, hit in zip(sensors, inside, strict=True) if hit)
    codes = set(rule.commune_codes or ())
    if codes:
        return frozenset(s[0] for s in sensors if s[1] in codes)
    return frozenset(s[0] for s in sensors)


_warmed = False


def _warm_publishing() -> None:
    """The first CAP message a process renders resolves URLs, which imports every module's URLs and API
    (about two seconds on the 2-core machine): pay that when rules are first compiled, not while the
    first breach is being published (an MQTT ingester serves no page before it)."""
    global _warmed
    if _warmed:
        return
    _warmed = True
    try:
        from django.urls import get_resolver

        get_resolver().reverse_dict  # noqa: B018 - the property populates the resolver
    except Exception:  # a broken URLconf shows on the first page anyway; rules must still run
        logger.exception("Could not load the URLs ahead of the first warning")


def _load(city_id: int) -> CompiledCity:
    from dothi.sensing.models import Quantity, Sensor

    rules = list(AlertRule.objects.filter(city_id=city_id, is_active=True).order_by("pk"))
    if not rules:
        return CompiledCity(rules={}, pairs={})
    _warm_publishing()
    codes = {r.quantity_code for r in rules}
    ids_of: dict[str, set[int]] = {}
    for qid, code in Quantity.objects.filter(
        Q(city_id__isnull=True) | Q(city_id=city_id), code__in=codes
    ).values_list("id", "code"):
        ids_of.setdefault(code, set()).add(qid)
    sensors = list(
        Sensor.objects.filter(city_id=city_id)
        .exclude(status=Sensor.Status.RETIRED)
        .values_list("id", "commune_id", "lon", "lat")
    )
    compiled: dict[int, CompiledRule] = {}
    pairs: dict[tuple[int, int], list[CompiledRule]] = {}
    for rule in rules:
        try:
            thresholds, severities = _levels(rule)
            if not thresholds or rule.quantity_code not in ids_of:
                continue
            whole_city = not rule.polygon and not rule.commune_codes
            c = CompiledRule(
                id=rule.pk,
                quantity_code=rule.quantity_code,
                quantity_ids=frozenset(ids_of[rule.quantity_code]),
                sensor_ids=_sensors_in_area(rule, sensors),
                whole_city=whole_city,
                hourly_mean=rule.statistic == AlertRule.Statistic.HOURLY_MEAN,
                gte=rule.operator != AlertRule.Operator.LTE,
                thresholds=thresholds,
                severities=severities,
                hysteresis=max(0.0, float(rule.hysteresis or 0.0)),
                duration=timedelta(minutes=rule.duration_minutes or 0),
            )
        except Exception:  # a rule saved broken (bypassing rule_clean) must not stop the others
            logger.exception("Warning rule %s cannot be compiled; it is skipped", rule.pk)
            continue
        compiled[c.id] = c
        for sensor_id in c.sensor_ids:
            for quantity_id in c.quantity_ids:
                pairs.setdefault((sensor_id, quantity_id), []).append(c)
    return CompiledCity(rules=compiled, pairs={k: tuple(v) for k, v in pairs.items()})


def compiled_for(city_id: int) -> CompiledCity:
    return _memo.get(city_id, lambda: _load(city_id))


def clear() -> None:
    _memo.clear()


def watch() -> None:
    """Clear the per-process compiled rules when a rule, a sensor (its place, commune or status) or a
    quantity changes (AlertsConfig.ready); other processes re-read within ten seconds."""
    from dothi.sensing.models import Quantity, Sensor

    _memo.clear_on_change(AlertRule, Sensor, Quantity)


# --- The state machine of one sensor against one rule ------------------------------------------------


@dataclass
class _State:
    id: int
    rule_id: int
    sensor_id: int
    level: int
    pending_level: int
    pending_since: datetime | None
    last_time: datetime | None
    last_value: float | None
    changed: bool = False
    # The reading that last moved the level in this batch: (time, value), for the warning's trigger.
    moved_at: tuple[datetime, float] | None = None


def _beyond(gte: bool, value: float, threshold: float) -> bool:
    return value >= threshold if gte else value <= threshold


def _step(rule: CompiledRule, st: _State, t: datetime, v: float) -> None:
    """Advance the state by one reading (newer than st.last_time).

    Up: a level is entered when the statistic has been beyond its threshold on every reading since
    `pending_since`, for at least the rule's duration. While pending, `pending_level` is the highest
    level whose threshold every reading of the window passed (it only goes down within a window; a
    higher level reached meanwhile gets its own window once the lower one is entered).
    Down: at once, to the highest level whose threshold minus the hysteresis the reading still passes
    (threshold plus the hysteresis for "<=")."""
    thresholds, gte = rule.thresholds, rule.gte
    level = st.level
    up = 0
    for n in range(len(thresholds), level, -1):
        if _beyond(gte, v, thresholds[n - 1]):
            up = n
            break
    if up > level:
        if st.pending_level <= level or st.pending_since is None:
            st.pending_level, st.pending_since = up, t
        elif up < st.pending_level:
            st.pending_level = up  # the lower level's threshold held all along (thresholds are ordered)
        if t - st.pending_since >= rule.duration:
            st.level = st.pending_level
            st.moved_at = (t, v)
            if up > st.level:  # a higher level is reached already: its window starts now
                st.pending_level, st.pending_since = up, t
                if rule.duration <= timedelta(0):
                    st.level, st.pending_level, st.pending_since = up, 0, None
            else:
                st.pending_level, st.pending_since = 0, None
    else:
        st.pending_level, st.pending_since = 0, None
        h = rule.hysteresis if gte else -rule.hysteresis
        while level > 0 and not _beyond(gte, v, thresholds[level - 1] - h):
            level -= 1
        if level != st.level:
            st.level = level
            st.moved_at = (t, v)
    st.last_time, st.last_value = t, v
    st.changed = True


# --- The listener ------------------------------------------------------------------------------------


def on_observations(batch) -> None:
    """The observation listener (sensing calls it inside the ingestion transaction with every
    AcceptedBatch). Resent rows change nothing, so being called twice with one batch is harmless."""
    compiled = compiled_for(batch.city.pk)
    index = compiled.pairs
    if not index:
        return
    hits = [pair for pair in set(map(_PAIR, batch.rows)) if pair in index]
    if hits:
        _evaluate(batch, compiled, hits)


def _evaluate(batch, compiled: CompiledCity, hits: list[tuple[int, int]]) -> None:
    index = compiled.pairs
    wanted = set(hits)
    # (rule id, sensor id) → readings (time, value), from the batch's rows of the pairs that matter.
    by_pair: dict[tuple[int, int], list[tuple[datetime, float]]] = {pair: [] for pair in hits}
    for row in batch.rows:
        key = (row[0], row[1])
        if key in wanted:
            by_pair[key].append((row[2], row[3]))
    readings: dict[tuple[int, int], list[tuple[datetime, float]]] = {}
    for (sensor_id, quantity_id), rows in by_pair.items():
        for rule in index[(sensor_id, quantity_id)]:
            readings.setdefault((rule.id, sensor_id), []).extend(rows)

    states = _lock_states(sorted(readings))
    rules = compiled.rules
    means = _hourly_means(compiled, readings, states)
    moved: set[int] = set()
    for key in sorted(readings):
        rule = rules[key[0]]
        st = states.get(key)
        if st is None:  # its rule was deleted meanwhile
            continue
        series = means.get(key, ()) if rule.hourly_mean else sorted(readings[key])
        before = st.level
        top = len(rule.thresholds)
        if st.level > top or st.pending_level > top:  # the rule lost levels since (edited)
            st.level, st.pending_level = min(st.level, top), min(st.pending_level, top)
            st.changed = True
        last = st.last_time
        for t, v in series:
            if last is not None and t <= last:
                continue  # late or resent: the state has moved past it
            _step(rule, st, t, v)
            last = t
        if st.level != before:
            moved.add(rule.id)
    _save_states([st for st in states.values() if st.changed])
    for rule_id in sorted(moved):
        _transition(batch, rules[rule_id], states)


def _hourly_means(
    compiled: CompiledCity,
    readings: dict[tuple[int, int], list[tuple[datetime, float]]],
    states: dict[tuple[int, int], _State],
) -> dict[tuple[int, int], list[tuple[datetime, float]]]:
    """For hourly-mean rules: per (rule, sensor), the UTC hours the batch brought new readings to, as
    (newest reading of the hour, the hour's mean from the hourly rollup), in time order. Ingestion has
    updated the rollup in this transaction already, so the mean counts this batch."""
    from dothi.sensing.models import HourlyRollup

    newest: dict[tuple[int, int], dict[datetime, datetime]] = {}
    for key, rows in readings.items():
        rule = compiled.rules[key[0]]
        if not rule.hourly_mean:
            continue
        last = states[key].last_time
        hours = newest.setdefault(key, {})
        for t, _v in rows:
            if last is not None and t <= last:
                continue
            bucket = t.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
            if bucket not in hours or t > hours[bucket]:
                hours[bucket] = t
    if not any(newest.values()):
        return {}
    sensor_ids = {key[1] for key, hours in newest.items() if hours}
    quantity_ids = {q for key, hours in newest.items() if hours for q in compiled.rules[key[0]].quantity_ids}
    buckets = {b for hours in newest.values() for b in hours}
    totals: dict[tuple[int, int, datetime], list[float]] = {}
    if connection.vendor == "postgresql":
        found = _pg_fetch(
            f"SELECT sensor_id, quantity_id, bucket, count, sum FROM {HourlyRollup._meta.db_table} "  # noqa: S608
            "WHERE sensor_id = ANY(%s::bigint[]) AND quantity_id = ANY(%s::bigint[]) "
            "AND bucket = ANY(%s::timestamptz[])",
            [sorted(sensor_ids), sorted(quantity_ids), sorted(buckets)],
        )
    else:
        found = HourlyRollup.objects.filter(
            sensor_id__in=sensor_ids, quantity_id__in=quantity_ids, bucket__in=buckets
        ).values_list("sensor_id", "quantity_id", "bucket", "count", "sum")
    for sensor_id, quantity_id, bucket, count, total in found:
        totals[(sensor_id, quantity_id, bucket.astimezone(UTC))] = [count, total]
    means: dict[tuple[int, int], list[tuple[datetime, float]]] = {}
    for key, hours in newest.items():
        rule = compiled.rules[key[0]]
        series = []
        for bucket, t in hours.items():
            count = total = 0.0
            for quantity_id in rule.quantity_ids:
                got = totals.get((key[1], quantity_id, bucket))
                if got:
                    count += got[0]
                    total += got[1]
            if count:
                series.append((t, total / count))
        series.sort()
        means[key] = series
    return means


_STATE_FIELDS = ("id", "rule_id", "sensor_id", "level", "pending_level", "pending_since", "last_time",
                 "last_value")


def _pg_fetch(sql: str, params: list) -> list[tuple]:
    """psycopg's own cursor, binding on the server (Django's binds on the client, quoting every array
    element in Python): the few statements a batch runs stay a small share of its cost."""
    import psycopg

    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else []


def _locked(keys: list[tuple[int, int]]) -> dict[tuple[int, int], _State]:
    if connection.vendor == "postgresql":
        # FOR UPDATE in (rule, sensor) order: concurrent batches take the locks in the same order.
        rows = _pg_fetch(
            f"SELECT s.{', s.'.join(_STATE_FIELDS)} FROM {RuleSensorState._meta.db_table} AS s "  # noqa: S608
            "JOIN unnest(%s::bigint[], %s::bigint[]) AS k (rule_id, sensor_id) "
            "ON s.rule_id = k.rule_id AND s.sensor_id = k.sensor_id "
            "ORDER BY s.rule_id, s.sensor_id FOR UPDATE OF s",
            [[k[0] for k in keys], [k[1] for k in keys]],
        )
        return {(row[1], row[2]): _State(*row) for row in rows}
    rule_ids = sorted({k[0] for k in keys})
    sensor_ids = sorted({k[1] for k in keys})
    wanted = set(keys)
    rows = (  # SQLite: writers are serialised already (no row locks)
        RuleSensorState.objects.filter(rule_id__in=rule_ids, sensor_id__in=sensor_ids)
        .order_by("rule_id", "sensor_id")
        .values_list(*_STATE_FIELDS)
    )
    found = {}
    for row in rows:
        st = _State(*row)
        if (st.rule_id, st.sensor_id) in wanted:
            found[(st.rule_id, st.sensor_id)] = st
    return found


def _lock_states(keys: list[tuple[int, int]]) -> dict[tuple[int, int], _State]:
    """The states of these (rule, sensor) pairs, locked (PostgreSQL) until the ingestion commits; the
    missing ones are created (a concurrent batch may create one at the same moment: the unique key
    makes one of them wait, then both lock the same row)."""
    states = _locked(keys)
    missing = [k for k in keys if k not in states]
    if missing:
        RuleSensorState.objects.bulk_create(
            [RuleSensorState(rule_id=r, sensor_id=s) for r, s in missing], ignore_conflicts=True
        )
        states.update(_locked(missing))
    return states


def _save_states(changed: list[_State]) -> None:
    if not changed:
        return
    table = RuleSensorState._meta.db_table
    if connection.vendor == "postgresql":
        # One statement for the whole batch; an ORM bulk_update builds a CASE per row and field.
        _pg_fetch(
            f"UPDATE {table} AS s SET level = v.level, pending_level = v.pending_level, "  # noqa: S608
            "pending_since = v.pending_since, last_time = v.last_time, last_value = v.last_value "
            "FROM unnest(%s::bigint[], %s::int[], %s::int[], %s::timestamptz[], %s::timestamptz[], "
            "%s::float8[]) AS v (id, level, pending_level, pending_since, last_time, last_value) "
            "WHERE s.id = v.id",
            [
                [st.id for st in changed],
                [st.level for st in changed],
                [st.pending_level for st in changed],
                [st.pending_since for st in changed],
                [st.last_time for st in changed],
                [st.last_value for st in changed],
            ],
        )
    else:
        # executemany of one small UPDATE: an ORM bulk_update builds a CASE per row and field.
        adapt = connection.ops.adapt_datetimefield_value
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET level = %s, pending_level = %s, pending_since = %s, "  # noqa: S608
                "last_time = %s, last_value = %s WHERE id = %s",
                [
                    (st.level, st.pending_level, adapt(st.pending_since), adapt(st.last_time), st.last_value,
                     st.id)
                    for st in changed
                ],
            )


def _transition(batch, rule: CompiledRule, states: dict[tuple[int, int], _State]) -> None:
    """Raise, update or end the rule's warning after a level of one of its sensors moved.

    The rule row is locked first (FOR NO KEY UPDATE: it does not block the state rows that reference
    it), then the worst level is read from the committed states: two batches that move two sensors of
    one rule at once are serialised here, and the second sees the warning the first raised."""
    from dothi.alerts import services

    # of=self: the joined city and category rows stay unlocked.
    locked = AlertRule.objects.select_for_update(no_key=True, of=("self",)).select_related("city", "category")
    current = locked.filter(pk=rule.id).first()
    if current is None:
        return
    in_area = RuleSensorState.objects.filter(rule_id=rule.id, level__gt=0)
    if not rule.whole_city:
        in_area = in_area.filter(sensor_id__in=rule.sensor_ids)  # a sensor moved out no longer counts
    worst = in_area.order_by("-level", "-last_time", "sensor_id").values_list(
        "sensor_id", "level", "last_time", "last_value"
    ).first()
    warning = (
        PublicWarning.objects.select_for_update()
        .filter(rule_id=rule.id, status=PublicWarning.Status.PUBLISHED)
        .order_by("-pk")
        .first()
    )
    now = timezone.now()
    if worst is None:
        if warning is not None:
            services.rule_warning_end(warning=warning, now=now)
        return
    sensor_id, level, last_time, last_value = worst
    level = min(level, len(rule.thresholds))
    st = states.get((rule.id, sensor_id))
    if st is not None and st.moved_at is not None and st.level == level:
        at, value = st.moved_at  # the reading that moved this sensor to its level, in this batch
    else:
        at, value = last_time, last_value
    sensor = batch.catalogue.sensors_by_id.get(sensor_id)
    trigger = {
        "sensor": sensor.code if sensor else str(sensor_id),
        "quantity": rule.quantity_code,
        "time": at.isoformat() if at else None,
        "value": value,
        "threshold": rule.thresholds[level - 1],
        "level": level,
    }
    severity = rule.severities[level - 1]
    if warning is None:
        services.rule_warning_raise(
            rule=current, severity=severity, trigger=trigger, triggered_at=at, now=now
        )
    elif (warning.trigger or {}).get("level") != level:
        services.rule_warning_escalate(warning=warning, severity=severity, trigger=trigger, now=now)


# --- Validation --------------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def rule_clean(rule: AlertRule) -> AlertRule:
    """Check a rule before it is saved (the admin form, services); raises django ValidationError with
    the messages per field. Normalises the area as `alerts.area.clean_area` does (a polygon's communes
    are filled in) and the thresholds to numbers. Returns the rule."""
    from dothi.alerts.area import clean_area
    from dothi.core.errors import DomainError
    from dothi.sensing.models import Quantity

    errors: dict[str, list[str]] = {}

    def add(field_name: str, message: str) -> None:
        errors.setdefault(field_name, []).append(message)

    city_id = rule.city_id
    if not (rule.headline_vi or "").strip():
        add("headline_vi", _("Write the warning's headline."))
    if rule.category_id is not None and city_id is not None and rule.category.city_id != city_id:
        add("category", _("The category belongs to another city."))
    code = (rule.quantity_code or "").strip()
    visible = Quantity.objects.filter(Q(city_id__isnull=True) | Q(city_id=city_id), code=code)
    if not code or not visible.exists():
        add("quantity_code", _("There is no quantity %(quantity)s.") % {"quantity": code[:40]})
    if rule.statistic not in AlertRule.Statistic.values:
        add("statistic", _("Choose how readings are compared: each reading or the hourly mean."))
    if rule.operator not in AlertRule.Operator.values:
        add("operator", _("The comparison must be >= or <=."))
    hysteresis = _number(rule.hysteresis)
    if hysteresis is None or hysteresis < 0:
        add("hysteresis", _("The hysteresis must be a number, zero or more."))
    if rule.duration_minutes is None or rule.duration_minutes < 0:
        add("duration_minutes", _("The duration must be zero or more minutes."))
    levels = rule.levels
    if not isinstance(levels, list) or not levels:
        add("levels", _("Give at least one level (a threshold and a severity)."))
    else:
        cleaned = []
        for n, level in enumerate(levels, start=1):
            threshold = _number(level.get("threshold")) if isinstance(level, dict) else None
            severity = level.get("severity") if isinstance(level, dict) else None
            if threshold is None:
                add("levels", _("Level %(n)d needs a threshold (a number).") % {"n": n})
            if severity not in Severity.values:
                add("levels", _("Level %(n)d needs a severity: Minor, Moderate, Severe or Extreme.")
                    % {"n": n})
            cleaned.append({"threshold": threshold, "severity": severity})
        if "levels" not in errors:
            falling = rule.operator == AlertRule.Operator.LTE
            for a, b in zip(cleaned, cleaned[1:], strict=False):
                if (b["threshold"] >= a["threshold"]) if falling else (b["threshold"] <= a["threshold"]):
                    add(
                        "levels",
                        _("Each level's threshold must be below the previous one (operator <=).")
                        if falling
                        else _("Each level's threshold must be above the previous one (operator >=)."),
                    )
                    break
            for a, b in zip(cleaned, cleaned[1:], strict=False):
                if SEVERITY_RANK[b["severity"]] < SEVERITY_RANK[a["severity"]]:
                    add("levels", _("A higher level cannot have a lower severity than the one before."))
                    break
            if "levels" not in errors:
                rule.levels = cleaned
    if city_id is not None and (rule.commune_codes or rule.polygon):
        try:
            area = clean_area(rule.city, commune_codes=rule.commune_codes or (), polygon=rule.polygon,
                              required=False)
        except DomainError as exc:
            add("polygon" if exc.field == "polygon" else "commune_codes", exc.message)
        else:
            rule.commune_codes, rule.polygon = area.commune_codes, area.polygon
    if errors:
        raise ValidationError(errors)
    return rule


def states_of(rule: AlertRule) -> Iterable[RuleSensorState]:
    """The rule's per-sensor states (for the admin), worst first."""
    return RuleSensorState.objects.filter(rule=rule).order_by("-level", "sensor_id")
