"""Concurrent batches on PostgreSQL: overlapping batches sent at once (a client retrying while its first
attempt is still running, two gateways relaying the same readings) store each observation once and
count it once in the rollups."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
T0 = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)


def test_overlapping_batches_at_once_count_each_observation_once(city, quantities):
    from dothi.sensing import services
    from dothi.sensing.ingestion import ingest
    from dothi.sensing.keys import source_get_or_create
    from dothi.sensing.models import DailyRollup, HourlyRollup, Latest, Observation

    source = source_get_or_create(city=city, name="gateway")
    for n in range(5):
        services.sensor_register(actor=None, city=city, code=f"C-{n}", name="c", kind="air", lat=16, lon=108,
                                 quantities=["pm25", "pm10"])
    everything = [
        (f"C-{n}", q, T0 + timedelta(minutes=m), float(m % 7))
        for m in range(400) for n in range(5) for q in ("pm25", "pm10")
    ]  # 4,000 observations
    # Four senders: halves that overlap by half, each sent twice, in different orders.
    slices = [everything[:3000], everything[1000:], everything[:3000][::-1], everything[1000:][::-1]]
    results, errors = [], []
    barrier = threading.Barrier(len(slices))

    def send(items):
        try:
            barrier.wait()
            results.append(ingest(city=city, source=source, items=items))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(s,)) for s in slices]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(r.accepted for r in results) == len(everything)
    assert sum(r.accepted + r.duplicates for r in results) == sum(len(s) for s in slices)
    assert Observation.objects.count() == len(everything)
    total = sum(v for *_, v in everything)
    hourly = list(HourlyRollup.objects.values_list("count", "sum"))
    daily = list(DailyRollup.objects.values_list("count", "sum"))
    assert sum(c for c, _ in hourly) == sum(c for c, _ in daily) == len(everything)
    assert sum(s for _, s in hourly) == pytest.approx(total)
    assert sum(s for _, s in daily) == pytest.approx(total)
    assert Latest.objects.count() == 10
    assert set(Latest.objects.values_list("time", flat=True)) == {T0 + timedelta(minutes=399)}
