"""Monthly partitions of the raw observation table on PostgreSQL (optional; `dothi sensing-partition`).

The raw table's key (sensor, quantity, time) contains the time, so it can be range-partitioned by month
without changing a query: ingestion's INSERT … ON CONFLICT and its RETURNING work on a partitioned table
whose key includes the partition column. `partition()` converts the table once (in one transaction,
holding an exclusive lock while the rows are copied) and creates the months ahead; the daily schedule
keeps creating months ahead (`ensure_ahead`), and retention drops whole months that every city's
retention has passed (`drop_older_than`) before deleting what remains in batches. A DEFAULT partition
catches observations outside every month (very late data from before the first month).

SQLite has no partitions: everything here does nothing there.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from django.db import connection, transaction
from django.utils import timezone

TABLE = "sensing_observation"
DEFAULT = f"{TABLE}_default"
MONTHS_AHEAD = 3


def _month(d: date | datetime) -> date:
    return date(d.year, d.month, 1)


def _next(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def _name(month: date) -> str:
    return f"{TABLE}_{month.year:04d}_{month.month:02d}"


def _bound(month: date) -> str:
    return f"{month.isoformat()} 00:00:00+00"


def available() -> bool:
    return connection.vendor == "postgresql"


def is_partitioned() -> bool:
    if not available():
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        row = cursor.fetchone()
    return bool(row) and row[0] == "p"


def months() -> list[date]:
    """The months that have a partition, oldest first."""
    if not is_partitioned():
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s)",
            [TABLE],
        )
        names = [r[0] for r in cursor.fetchall()]
    found = []
    for name in names:
        tail = name.removeprefix(f"{TABLE}_")
        if len(tail) == 7 and tail[4] == "_" and tail.replace("_", "").isdigit():
            found.append(date(int(tail[:4]), int(tail[5:]), 1))
    return sorted(found)


def _create_month(cursor, month: date) -> None:
    cursor.execute(
        f'CREATE TABLE IF NOT EXISTS "{_name(month)}" PARTITION OF {TABLE} '  # noqa: S608 - names built here
        f"FOR VALUES FROM ('{_bound(month)}') TO ('{_bound(_next(month))}')"
    )


def ensure_ahead(*, now: datetime | None = None, months_ahead: int = MONTHS_AHEAD) -> list[str]:
    """Create the partitions from the current month to `months_ahead` months ahead (partitioned table
    only); returns the names created."""
    if not is_partitioned():
        return []
    now = now or timezone.now()
    have = set(months())
    created = []
    month = _month(now.astimezone(UTC))
    with transaction.atomic(), connection.cursor() as cursor:
        for _ in range(months_ahead + 1):
            if month not in have:
                _create_month(cursor, month)
                created.append(_name(month))
            month = _next(month)
    return created


def partition(*, now: datetime | None = None, months_ahead: int = MONTHS_AHEAD) -> dict[str, int]:
    """Convert the raw table into monthly partitions (once; then only create the months ahead).
    Returns {"rows": rows copied, "partitions": partitions created}."""
    if not available():
        raise RuntimeError("Partitioning needs PostgreSQL.")
    if is_partitioned():
        return {"rows": 0, "partitions": len(ensure_ahead(now=now, months_ahead=months_ahead))}
    now = now or timezone.now()
    old = f"{TABLE}_unpartitioned"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE")
        cursor.execute(f"SELECT min(time) FROM {TABLE}")  # noqa: S608
        oldest = cursor.fetchone()[0]
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = to_regclass(%s) AND contype = 'p'", [TABLE]
        )
        (pkey,) = cursor.fetchone()
        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {old}")
        cursor.execute(f'ALTER TABLE {old} RENAME CONSTRAINT "{pkey}" TO {old}_pkey')
        cursor.execute(
            f"CREATE TABLE {TABLE} (sensor_id bigint NOT NULL, quantity_id bigint NOT NULL, "
            f"time timestamptz NOT NULL, value double precision NOT NULL, "
            f'CONSTRAINT "{pkey}" PRIMARY KEY (sensor_id, quantity_id, time)) PARTITION BY RANGE (time)'
        )
        cursor.execute(f"CREATE TABLE {DEFAULT} PARTITION OF {TABLE} DEFAULT")
        month = _month((oldest or now).astimezone(UTC))
        last = _month(now.astimezone(UTC))
        for _ in range(months_ahead):
            last = _next(last)
        created = 1
        while month <= last:
            _create_month(cursor, month)
            created += 1
            month = _next(month)
        cursor.execute(
            f"INSERT INTO {TABLE} (sensor_id, quantity_id, time, value) "  # noqa: S608
            f"SELECT sensor_id, quantity_id, time, value FROM {old}"
        )
        copied = cursor.rowcount
        cursor.execute(f"DROP TABLE {old}")
    return {"rows": copied, "partitions": created}


def drop_older_than(cutoff: datetime) -> int:
    """Drop the monthly partitions that end at or before `cutoff` (every row in them is older);
    returns how many observations they held. Nothing on an unpartitioned table."""
    dropped = 0
    if not is_partitioned():
        return dropped
    with transaction.atomic(), connection.cursor() as cursor:
        for month in months():
            end = datetime.combine(_next(month), datetime.min.time(), tzinfo=UTC)
            if end <= cutoff:
                cursor.execute(f'SELECT count(*) FROM "{_name(month)}"')  # noqa: S608
                dropped += cursor.fetchone()[0]
                cursor.execute(f'DROP TABLE "{_name(month)}"')
    return dropped
