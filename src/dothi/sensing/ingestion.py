"""THE ingestion service: every path (the bulk API, MQTT, NGSI-LD, the CSV import) stores observations
through `ingest()`.

Each item is checked (the sensor exists in this city and is not retired, measures the quantity, the
value is a finite number inside the quantity's physical range, the time is a valid ISO 8601 time with
a zone and at most five minutes in the future). A bad item is never stored: it is answered with a
stable code and a reason in the client's language, and counted per source and code
(`RejectionCount`). Good items are stored in one transaction with everything that follows from them:

- the raw rows, keyed on (sensor, quantity, time): re-sending an observation changes nothing, so a
  client may retry a whole batch; late and out-of-order observations are simply inserted;
- the hourly and daily rollups, updated *incrementally* from the rows actually inserted (so a resent
  row is not counted twice): count += n, sum += s, min = least, max = greatest;
- the latest value per sensor and quantity (only if newer), and the sensors' `last_seen_at`
  (an offline sensor that speaks again is active again);
- the listeners modules register in their manifests (`Manifest.observation_listeners`), called with
  the accepted rows.

PostgreSQL: the rows are COPied (binary) into a temporary table, then ONE statement inserts them with
ON CONFLICT DO NOTHING and, from its RETURNING rows (data-modifying CTEs), upserts the rollups and the
latest values and updates the sensors. SQLite: the same through a temporary table, executemany and
plain upserts (writes are serialised there, so rows already stored are removed first).

The per-item work is a handful of dict lookups and comparisons against a per-process copy of the
city's catalogue (`dothi.sensing.catalogue`); see docs/performance.md for the figures.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import orjson
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from dothi.core.manifests import registry
from dothi.core.models import City
from dothi.sensing import catalogue as catalogue_mod
from dothi.sensing.catalogue import Catalogue, SensorEntry
from dothi.sensing.models import DataSource, RejectionCount

try:
    import psycopg
    from psycopg.errors import UniqueViolation
except ImportError:  # SQLite-only installs
    psycopg = None

    class UniqueViolation(Exception):  # type: ignore[no-redef]
        pass


logger = logging.getLogger(__name__)

FUTURE_TOLERANCE = timedelta(minutes=5)
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
# An offline sensor is active again when its newest observation is at most its expected interval plus
# this many seconds old (the offline job uses the same grace).
OFFLINE_GRACE_SECONDS = 60
DEADLOCK_RETRIES = 3

# Stable codes of the reasons an item is rejected.
ITEM_INVALID = "item_invalid"
SENSOR_UNKNOWN = "sensor_unknown"
SENSOR_RETIRED = "sensor_retired"
QUANTITY_UNKNOWN = "quantity_unknown"
QUANTITY_NOT_MEASURED = "quantity_not_measured"
VALUE_INVALID = "value_invalid"
VALUE_NOT_FINITE = "value_not_finite"
VALUE_OUT_OF_RANGE = "value_out_of_range"
TIME_INVALID = "time_invalid"
TIME_IN_FUTURE = "time_in_future"
REASON_CODES = (
    ITEM_INVALID,
    SENSOR_UNKNOWN,
    SENSOR_RETIRED,
    QUANTITY_UNKNOWN,
    QUANTITY_NOT_MEASURED,
    VALUE_INVALID,
    VALUE_NOT_FINITE,
    VALUE_OUT_OF_RANGE,
    TIME_INVALID,
    TIME_IN_FUTURE,
)


class Rejection(NamedTuple):
    """A rejected item: its position in the batch, a stable code and a translated reason."""

    index: int
    code: str
    reason: str


@dataclass
class IngestResult:
    accepted: int = 0  # rows stored now
    duplicates: int = 0  # valid rows already stored (or repeated within the batch): nothing changed
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def received(self) -> int:
        return self.accepted + self.duplicates + len(self.rejected)


@dataclass(frozen=True)
class AcceptedBatch:
    """What listeners receive: the rows stored by one call of `ingest`, as
    (sensor id, quantity id, time, value) tuples, with the city's catalogue to name them."""

    city: City
    source: DataSource
    rows: list[tuple[int, int, datetime, float]]
    catalogue: Catalogue

    def sensor(self, sensor_id: int) -> SensorEntry:
        """The sensor's code, kind, status, commune code and quantities (from the catalogue)."""
        return self.catalogue.sensors_by_id[sensor_id]

    def sensor_code(self, sensor_id: int) -> str:
        return self.catalogue.sensors_by_id[sensor_id].code

    def quantity_code(self, quantity_id: int) -> str:
        return self.catalogue.quantities_by_id[quantity_id].code

    def latest(self) -> dict[tuple[int, int], tuple[datetime, float]]:
        """The newest (time, value) of each (sensor id, quantity id) in the batch."""
        newest: dict[tuple[int, int], tuple[datetime, float]] = {}
        for sensor_id, quantity_id, time, value in self.rows:
            key = (sensor_id, quantity_id)
            seen = newest.get(key)
            if seen is None or time > seen[0]:
                newest[key] = (time, value)
        return newest


# --- Checking items ---------------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    """A value for a message: short, and safe to store (no NUL, no lone surrogates)."""
    text = f"{value:g}" if isinstance(value, float) else str(value)[:60]
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _explain_miss(cat: Catalogue, key: Any) -> tuple[str, str]:
    """Why (sensor code, quantity code) is not a pair the catalogue accepts."""
    sensor_code, quantity_code = key
    sensor = cat.sensors.get(sensor_code)
    if sensor is None:
        return SENSOR_UNKNOWN, _("There is no sensor %(sensor)s in this city.") % {
            "sensor": _fmt(sensor_code)
        }
    if sensor.status == "retired":
        return SENSOR_RETIRED, _("The sensor %(sensor)s is retired.") % {"sensor": sensor_code}
    if quantity_code not in cat.quantities:
        return QUANTITY_UNKNOWN, _("There is no quantity %(quantity)s.") % {"quantity": _fmt(quantity_code)}
    return QUANTITY_NOT_MEASURED, _("The sensor %(sensor)s does not measure %(quantity)s.") % {
        "sensor": sensor_code,
        "quantity": quantity_code,
    }


def _range_message(cat: Catalogue, quantity_id: int, value: Any) -> str:
    q = cat.quantities_by_id[quantity_id]
    return _("%(value)s %(unit)s is outside the possible range of %(quantity)s (%(min)s to %(max)s).") % {
        "value": _fmt(value),
        "unit": q.unit,
        "quantity": q.code,
        "min": _fmt(q.min_value),
        "max": _fmt(q.max_value),
    }


def _out_of_range(cat: Catalogue, quantity_id: int, value: float) -> tuple[str, str]:
    if not math.isfinite(value):
        return VALUE_NOT_FINITE, _("The value must be a finite number (not NaN or infinity).")
    return VALUE_OUT_OF_RANGE, _range_message(cat, quantity_id, value)


def _check(
    cat: Catalogue,
    items: Sequence[Any],
    indexes: Any,
    limit: datetime,
    rows: list[tuple[int, int, datetime, float]],
    rejected: list[Rejection],
    misses: list[int] | None,
) -> None:
    """The hot loop: keep it free of anything but lookups and comparisons."""
    pairs = cat.pairs
    fromiso = datetime.fromisoformat
    for i in indexes:
        item = items[i]
        try:
            if type(item) is dict:
                key = (item["sensor"], item["quantity"])
                t = item["time"]
                v = item["value"]
            elif type(item) is tuple or type(item) is list:
                s, q, t, v = item
                key = (s, q)
            else:
                raise TypeError
            p = pairs.get(key)
        except (KeyError, TypeError, ValueError):
            rejected.append(
                Rejection(
                    i, ITEM_INVALID, _("Each observation needs a sensor, a quantity, a time and a value.")
                )
            )
            continue
        if p is None:
            if misses is not None:
                misses.append(i)
            else:
                rejected.append(Rejection(i, *_explain_miss(cat, key)))
            continue
        tv = type(v)
        if tv is not float:
            if tv is int:
                try:
                    v = float(v)
                except OverflowError:  # an integer too large for a float: finite, but impossible
                    rejected.append(Rejection(i, VALUE_OUT_OF_RANGE, _range_message(cat, p[1], v)))
                    continue
            else:
                rejected.append(Rejection(i, VALUE_INVALID, _("The value must be a number.")))
                continue
        if not (p[2] <= v <= p[3]):  # NaN fails every comparison
            rejected.append(Rejection(i, *_out_of_range(cat, p[1], v)))
            continue
        if type(t) is str:
            try:
                t = fromiso(t)
            except ValueError:
                t = None
        elif not isinstance(t, datetime):
            t = None
        try:
            bad_time = t is None or t.tzinfo is None or t < EARLIEST
        except OverflowError:  # year 1 with a positive offset
            bad_time = True
        if bad_time:
            rejected.append(
                Rejection(
                    i,
                    TIME_INVALID,
                    _(
                        "The time must be an ISO 8601 date and time with a time zone, "
                        "e.g. 2026-11-23T08:00:00+07:00."
                    ),
                )
            )
            continue
        if t > limit:
            rejected.append(Rejection(i, TIME_IN_FUTURE, _("The time is more than 5 minutes in the future.")))
            continue
        rows.append((p[0], p[1], t, v))


def validate(
    city: City, items: Sequence[Any], *, now: datetime | None = None
) -> tuple[Catalogue, list[tuple[int, int, datetime, float]], list[Rejection]]:
    """Check every item; returns the catalogue used, the good rows (sensor id, quantity id, time, value)
    and the rejections, in item order. Stores nothing."""
    limit = (now or timezone.now()) + FUTURE_TOLERANCE
    cat = catalogue_mod.for_city(city)
    rows: list[tuple[int, int, datetime, float]] = []
    rejected: list[Rejection] = []
    misses: list[int] = []
    _check(cat, items, range(len(items)), limit, rows, rejected, misses)
    if misses:
        # Something unknown: it may have been registered a moment ago in another process.
        cat = catalogue_mod.refresh(city)
        _check(cat, items, misses, limit, rows, rejected, None)
        rejected.sort()
    return cat, rows, rejected


# --- Storing ----------------------------------------------------------------------------------------

# `i` is the item's position: of two items with the same key in one batch, the first sent wins.
_PG_CREATE = (
    "CREATE TEMP TABLE IF NOT EXISTS sensing_incoming_v2 (i integer, sensor_id bigint, quantity_id bigint, "
    "time timestamptz, value double precision) ON COMMIT DELETE ROWS"
)
# Rows in key order: B-tree inserts stay local, and concurrent batches take index locks in the same order.
_PG_INSERT = """
    INSERT INTO sensing_observation AS o (sensor_id, quantity_id, time, value)
    SELECT DISTINCT ON (sensor_id, quantity_id, time) sensor_id, quantity_id, time, value
    FROM {source} ORDER BY sensor_id, quantity_id, time, i
"""
# Everything else follows from the inserted rows (`ins`), aggregated once per hour bucket (`h`): the
# daily rollup adds up the hour groups (a local day is made of whole UTC hours when the zone's offset
# is whole hours; otherwise it aggregates `ins` itself), the latest value is the row at each pair's
# newest time, and the sensors' last-seen time the newest of their pairs.
_PG_STORE = """
WITH ins AS (
    {insert}
    RETURNING o.sensor_id, o.quantity_id, o.time, o.value
), h AS (
    SELECT sensor_id, quantity_id, date_trunc('hour', time, 'UTC') AS bucket,
        count(*) AS n, sum(value) AS s, min(value) AS lo, max(value) AS hi, max(time) AS t
    FROM ins GROUP BY 1, 2, 3
), hourly AS (
    INSERT INTO sensing_hourlyrollup AS r (sensor_id, quantity_id, bucket, count, sum, min, max)
    SELECT sensor_id, quantity_id, bucket, n, s, lo, hi FROM h ORDER BY 1, 2, 3
    ON CONFLICT (sensor_id, quantity_id, bucket) DO UPDATE SET count = r.count + EXCLUDED.count,
        sum = r.sum + EXCLUDED.sum, min = LEAST(r.min, EXCLUDED.min), max = GREATEST(r.max, EXCLUDED.max)
), daily AS (
    INSERT INTO sensing_dailyrollup AS r (sensor_id, quantity_id, bucket, count, sum, min, max)
    {daily}
    ON CONFLICT (sensor_id, quantity_id, bucket) DO UPDATE SET count = r.count + EXCLUDED.count,
        sum = r.sum + EXCLUDED.sum, min = LEAST(r.min, EXCLUDED.min), max = GREATEST(r.max, EXCLUDED.max)
), newest AS (
    SELECT sensor_id, quantity_id, max(t) AS t FROM h GROUP BY 1, 2
), latest AS (
    INSERT INTO sensing_latest AS l (sensor_id, quantity_id, time, value)
    SELECT i.sensor_id, i.quantity_id, i.time, i.value
    FROM ins AS i JOIN newest AS n
        ON i.sensor_id = n.sensor_id AND i.quantity_id = n.quantity_id AND i.time = n.t
    ORDER BY 1, 2
    ON CONFLICT (sensor_id, quantity_id) DO UPDATE SET time = EXCLUDED.time, value = EXCLUDED.value
    WHERE l.time < EXCLUDED.time
), seen AS (
    UPDATE sensing_sensor AS s SET last_seen_at = m.t,
        status = CASE WHEN s.status = 'offline'
            AND m.t >= %(now)s - make_interval(secs => s.expected_interval_seconds + %(grace)s)
            THEN 'active' ELSE s.status END
    FROM (SELECT sensor_id, max(t) AS t FROM newest GROUP BY 1) AS m
    WHERE s.id = m.sensor_id AND (s.last_seen_at IS NULL OR s.last_seen_at < m.t)
)
"""
_DAILY_FROM_HOURS = """SELECT sensor_id, quantity_id, date_trunc('day', bucket, %(tz)s),
        sum(n)::bigint, sum(s), min(lo), max(hi)
    FROM h GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""
_DAILY_FROM_ROWS = """SELECT sensor_id, quantity_id, date_trunc('day', time, %(tz)s),
        count(*), sum(value), min(value), max(value)
    FROM ins GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""
# Large batches come through the temporary table (COPY); small ones (a single MQTT reading, an NGSI-LD
# entity) as arrays in the statement itself: one round trip instead of four.
_PG_TEMP_SOURCE = "sensing_incoming_v2"
_PG_ARRAY_SOURCE = (
    "unnest(%(i)s::int4[], %(s)s::int8[], %(q)s::int8[], %(t)s::timestamptz[], %(v)s::float8[]) "
    "AS incoming (i, sensor_id, quantity_id, time, value)"
)
SMALL_BATCH = 100
_PG_STATEMENTS = {
    (source, conflicts, whole_hours): _PG_STORE.format(
        insert=_PG_INSERT.format(source=source) + ("    ON CONFLICT DO NOTHING" if conflicts else ""),
        daily=_DAILY_FROM_HOURS if whole_hours else _DAILY_FROM_ROWS,
    )
    for source in (_PG_TEMP_SOURCE, _PG_ARRAY_SOURCE)
    for conflicts in (False, True)
    for whole_hours in (False, True)
}


def _store_postgresql(cat: Catalogue, rows, *, want_rows: bool, now: datetime, nested: bool):
    tail = "SELECT sensor_id, quantity_id, time, value FROM ins" if want_rows else "SELECT count(*) FROM ins"
    params: dict[str, Any] = {"tz": cat.time_zone, "now": now, "grace": OFFLINE_GRACE_SECONDS}
    whole_hours = cat.whole_hour_offsets
    connection.ensure_connection()
    # psycopg's own cursor with server-side binding (Django's binds on the client): COPY, and the
    # statements below are prepared once per connection instead of planned on every batch.
    with psycopg.Cursor(connection.connection) as cur:
        if len(rows) <= SMALL_BATCH:
            columns = list(zip(*rows, strict=True))
            params.update(
                i=list(range(len(rows))),
                s=list(columns[0]),
                q=list(columns[1]),
                t=list(columns[2]),
                v=list(columns[3]),
            )
            # Few rows: ON CONFLICT's extra cost is negligible, and no savepoint round trips.
            statement = _PG_STATEMENTS[(_PG_ARRAY_SOURCE, True, whole_hours)]
            cur.execute(statement + tail, params, binary=want_rows)
        else:
            cur.execute(_PG_CREATE)
            if nested:
                # ON COMMIT DELETE ROWS empties it at commit; inside an outer transaction (tests, an
                # importer's chunk loop) an earlier batch may still be there.
                cur.execute("TRUNCATE sensing_incoming_v2")
            with cur.copy(
                "COPY sensing_incoming_v2 (i, sensor_id, quantity_id, time, value) FROM STDIN (FORMAT BINARY)"
            ) as cp:
                cp.set_types(["int4", "int8", "int8", "timestamptz", "float8"])
                write = cp.write_row
                for i, (sensor_id, quantity_id, t, value) in enumerate(rows):
                    write((i, sensor_id, quantity_id, t, value))
            # Optimistic first: new data is the common case, and a plain INSERT skips ON CONFLICT's
            # speculative insertion (about a third of the statement's time). A batch holding rows already
            # stored fails on the unique index; its savepoint is rolled back and it goes again with
            # ON CONFLICT DO NOTHING.
            try:
                with transaction.atomic():
                    statement = _PG_STATEMENTS[(_PG_TEMP_SOURCE, False, whole_hours)]
                    cur.execute(statement + tail, params, binary=want_rows)
            except UniqueViolation:
                statement = _PG_STATEMENTS[(_PG_TEMP_SOURCE, True, whole_hours)]
                cur.execute(statement + tail, params, binary=want_rows)
        if want_rows:
            # Fetched in binary (`binary=want_rows` above): decoding the rows' timestamps from text took
            # about 15 times as long, and listeners are on every production ingestion path.
            accepted = [tuple(r) for r in cur.fetchall()]
            return len(accepted), accepted
        return cur.fetchone()[0], None


def _sqlite_time(t: datetime) -> str:
    # Exactly what Django's SQLite backend stores for an aware datetime (naive UTC, str()).
    return str(t.astimezone(UTC).replace(tzinfo=None))


def _store_sqlite(cat: Catalogue, rows, *, want_rows: bool, now: datetime, nested: bool):
    zone = ZoneInfo(cat.time_zone)
    buckets: dict[str, tuple[str, str]] = {}  # "YYYY-MM-DD HH:MM" (UTC) → (hour bucket, local day bucket)
    data = []
    for i, (sensor_id, quantity_id, t, value) in enumerate(rows):
        tu = t.astimezone(UTC).replace(tzinfo=None)
        text = str(tu)
        b = buckets.get(text[:16])
        if b is None:
            minute = tu.replace(second=0, microsecond=0)
            local_day = minute.replace(tzinfo=UTC).astimezone(zone).date()
            midnight = datetime.combine(local_day, dtime(0), tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
            b = buckets[text[:16]] = (str(minute.replace(minute=0)), str(midnight))
        data.append((i, sensor_id, quantity_id, text, value, b[0], b[1]))
    cur = connection.connection.cursor()
    try:
        # Keyed like the raw table: of two items with the same key, INSERT OR IGNORE keeps the first.
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS sensing_incoming_v2 (i INTEGER, sensor_id INTEGER, "
            "quantity_id INTEGER, time TEXT, value REAL, hour TEXT, day TEXT, "
            "PRIMARY KEY (sensor_id, quantity_id, time))"
        )
        cur.execute("DELETE FROM sensing_incoming_v2")
        cur.executemany("INSERT OR IGNORE INTO sensing_incoming_v2 VALUES (?, ?, ?, ?, ?, ?, ?)", data)
        # Writes are serialised on SQLite (BEGIN IMMEDIATE): keep only the rows not stored yet.
        cur.execute(
            "DELETE FROM sensing_incoming_v2 WHERE EXISTS (SELECT 1 FROM sensing_observation AS o "
            "WHERE o.sensor_id = sensing_incoming_v2.sensor_id "
            "AND o.quantity_id = sensing_incoming_v2.quantity_id "
            "AND o.time = sensing_incoming_v2.time)"
        )
        cur.execute(
            "INSERT INTO sensing_observation (sensor_id, quantity_id, time, value) "
            "SELECT sensor_id, quantity_id, time, value FROM sensing_incoming_v2"
        )
        for table, column in (("sensing_hourlyrollup", "hour"), ("sensing_dailyrollup", "day")):
            cur.execute(
                f'INSERT INTO {table} (sensor_id, quantity_id, bucket, "count", "sum", "min", "max") '  # noqa: S608
                f"SELECT sensor_id, quantity_id, {column}, count(*), sum(value), min(value), max(value) "
                f"FROM sensing_incoming_v2 WHERE true GROUP BY 1, 2, 3 "
                f"ON CONFLICT (sensor_id, quantity_id, bucket) DO UPDATE SET "
                f'"count" = {table}."count" + excluded."count", "sum" = {table}."sum" + excluded."sum", '
                f'"min" = min({table}."min", excluded."min"), "max" = max({table}."max", excluded."max")'
            )
        # SQLite takes the bare `value` from the row holding max(time).
        cur.execute(
            "INSERT INTO sensing_latest (sensor_id, quantity_id, time, value) "
            "SELECT sensor_id, quantity_id, max(time), value FROM sensing_incoming_v2 WHERE true "
            "GROUP BY sensor_id, quantity_id "
            "ON CONFLICT (sensor_id, quantity_id) DO UPDATE SET time = excluded.time, value = excluded.value "
            "WHERE excluded.time > sensing_latest.time"
        )
        cur.execute(
            "UPDATE sensing_sensor SET last_seen_at = m.t, "
            "status = CASE WHEN sensing_sensor.status = 'offline' "
            "AND (julianday(?) - julianday(m.t)) * 86400.0 <= sensing_sensor.expected_interval_seconds + ? "
            "THEN 'active' ELSE sensing_sensor.status END "
            "FROM (SELECT sensor_id, max(time) AS t FROM sensing_incoming_v2 GROUP BY sensor_id) AS m "
            "WHERE sensing_sensor.id = m.sensor_id "
            "AND (sensing_sensor.last_seen_at IS NULL OR sensing_sensor.last_seen_at < m.t)",
            (_sqlite_time(now), OFFLINE_GRACE_SECONDS),
        )
        if want_rows:
            cur.execute("SELECT i FROM sensing_incoming_v2 ORDER BY i")
            accepted = [rows[i] for (i,) in cur.fetchall()]
            count = len(accepted)
        else:
            cur.execute("SELECT count(*) FROM sensing_incoming_v2")
            count, accepted = cur.fetchone()[0], None
        cur.execute("DELETE FROM sensing_incoming_v2")
        return count, accepted
    finally:
        cur.close()


def count_rejections(
    city: City, source: DataSource, items: Sequence[Any], rejected: list[Rejection], now: datetime
) -> None:
    """Add the rejections to the source's counters (one row per reason code, with the last message and
    item). `ingest` calls it; an adapter that rolls back a whole unit of its own (NGSI-LD: an entity)
    calls it after the rollback so the rejections are still counted."""
    per_code: dict[str, list[Rejection]] = {}
    for r in rejected:
        per_code.setdefault(r.code, []).append(r)
    for code in sorted(per_code):
        group = per_code[code]
        last = group[-1]
        try:
            example = orjson.dumps(items[last.index], default=str).decode()[:300]
        except (TypeError, orjson.JSONEncodeError):
            example = repr(items[last.index])[:300]
        fields = {"last_at": now, "last_message": last.reason[:300], "last_item": example}
        updated = RejectionCount.objects.filter(source=source, code=code).update(
            count=F("count") + len(group), **fields
        )
        if not updated:
            try:
                with transaction.atomic():
                    RejectionCount.objects.create(
                        city=city, source=source, code=code, count=len(group), first_at=now, **fields
                    )
            except IntegrityError:  # created meanwhile by a concurrent batch
                RejectionCount.objects.filter(source=source, code=code).update(
                    count=F("count") + len(group), **fields
                )


_count_rejections = count_rejections  # the earlier private name


def _notify(batch: AcceptedBatch) -> None:
    for listener in registry.observation_listeners():
        try:
            with transaction.atomic():  # a failing listener undoes its own work, never the data
                listener(batch)
        except Exception:
            logger.exception("Observation listener %r failed", listener)


def _is_deadlock(exc: BaseException) -> bool:
    # psycopg's own error (the COPY path uses its cursor directly) or Django's wrapper of it.
    sqlstate = getattr(exc, "sqlstate", None) or getattr(exc.__cause__, "sqlstate", None)
    return sqlstate in {"40P01", "40001"}


def ingest(
    *,
    city: City,
    source: DataSource,
    items: Sequence[Mapping[str, Any] | Sequence[Any]],
    now: datetime | None = None,
) -> IngestResult:
    """Store the good items of a batch; answer for every item.

    `items`: dicts {"sensor": code, "quantity": code, "time": ISO 8601 string or aware datetime,
    "value": number}, or (sensor, quantity, time, value) tuples. The caller has authenticated the
    source (an ingestion key, the MQTT ingester's configuration, the command line): no user permission
    is checked here. Returns IngestResult(accepted, duplicates, rejected=[Rejection(index, code,
    reason)]); raises nothing for bad items (they are rejected and counted). One transaction: the raw
    rows, rollups, latest values, sensors' last-seen times, rejection counters and listeners' work
    commit together."""
    if source.city_id != city.pk:
        raise ValueError("The data source belongs to another city.")
    now = now or timezone.now()
    cat, rows, rejected = validate(city, items, now=now)
    want_rows = bool(registry.observation_listeners())
    store = _store_postgresql if connection.vendor == "postgresql" else _store_sqlite
    nested = connection.in_atomic_block
    for attempt in range(1 if nested else DEADLOCK_RETRIES):
        try:
            with transaction.atomic():
                accepted, accepted_rows = (
                    store(cat, rows, want_rows=want_rows, now=now, nested=nested) if rows else (0, None)
                )
                if rejected:
                    count_rejections(city, source, items, rejected, now)
                if accepted_rows:
                    _notify(AcceptedBatch(city=city, source=source, rows=accepted_rows, catalogue=cat))
            break
        except Exception as exc:
            if nested or attempt == DEADLOCK_RETRIES - 1 or not _is_deadlock(exc):
                raise
            logger.warning("Ingestion batch deadlocked; retrying (%s)", attempt + 1)
    return IngestResult(accepted=accepted, duplicates=len(rows) - accepted, rejected=rejected)
