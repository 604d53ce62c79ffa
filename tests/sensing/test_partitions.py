"""Monthly partitions of the raw table on PostgreSQL: converting keeps every row, ingestion works the
same on the partitioned table (idempotency, rollups), months ahead are created, retention drops whole
months. The conversion runs inside the test's transaction, so it is rolled back afterwards."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from dothi.sensing import partitions, services
from dothi.sensing.ingestion import ingest
from dothi.sensing.models import HourlyRollup, Observation

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.mark.postgres
def test_partition_ingest_and_retention(city, source, air_sensor):
    old = [("AQ-1", "pm25", datetime(2025, 9, 10, tzinfo=UTC) + timedelta(hours=i), 1.0) for i in range(5)]
    recent = [("AQ-1", "pm25", NOW - timedelta(days=1, minutes=i), 2.0) for i in range(3)]
    ingest(city=city, source=source, items=old + recent, now=NOW)
    assert not partitions.is_partitioned()

    out = io.StringIO()
    call_command("sensing_partition", stdout=out)
    assert partitions.is_partitioned()
    assert Observation.objects.count() == 8
    have = partitions.months()
    assert have[0] == datetime(2025, 9, 1).date() and have[-1] >= datetime(2027, 2, 1).date()
    assert "observations moved" in out.getvalue()

    # Ingestion on the partitioned table: new rows, resent rows, late rows into an old month.
    again = ingest(
        city=city,
        source=source,
        items=[
            *recent,
            ("AQ-1", "pm25", NOW, 3.0),
            ("AQ-1", "pm25", datetime(2025, 9, 10, 0, 30, tzinfo=UTC), 4.0),
        ],
        now=NOW,
    )
    assert (again.accepted, again.duplicates) == (2, 3)
    assert sum(HourlyRollup.objects.values_list("count", flat=True)) == 10
    # A second run only adds months ahead.
    assert partitions.partition(now=NOW + timedelta(days=200))["rows"] == 0
    assert partitions.months()[-1] >= datetime(2027, 9, 1).date()

    # Retention: September 2025 ends before the 400-day cutoff: the whole month goes.
    assert services.observations_purge(now=NOW) == 6
    assert datetime(2025, 9, 1).date() not in partitions.months()
    assert Observation.objects.count() == 4
    assert sum(HourlyRollup.objects.values_list("count", flat=True)) == 10  # rollups kept


def test_nothing_to_do_on_sqlite_like_backends(monkeypatch):
    monkeypatch.setattr(partitions, "available", lambda: False)
    assert not partitions.is_partitioned()
    assert partitions.ensure_ahead() == []
    assert partitions.drop_older_than(NOW) == 0
