"""The ingestion service: idempotency, late and out-of-order data, incremental rollups against
hand-computed figures, every rejection reason, counters, listeners. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import translation

from dothi.core.manifests import Manifest, registry
from dothi.sensing import catalogue
from dothi.sensing.ingestion import ingest
from dothi.sensing.models import (
    DailyRollup,
    HourlyRollup,
    Latest,
    Observation,
    RejectionCount,
    Sensor,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def obs(sensor="AQ-1", quantity="pm25", time=T0, value=10.0):
    return {
        "sensor": sensor,
        "quantity": quantity,
        "time": time.isoformat() if isinstance(time, datetime) else time,
        "value": value,
    }


def hourly(sensor, code):
    return {
        r.bucket: (r.count, r.sum, r.min, r.max)
        for r in HourlyRollup.objects.filter(sensor=sensor, quantity__code=code).order_by("bucket")
    }


def daily(sensor, code):
    return {
        r.bucket: (r.count, r.sum, r.min, r.max)
        for r in DailyRollup.objects.filter(sensor=sensor, quantity__code=code).order_by("bucket")
    }


def test_good_items_are_stored_with_latest_and_last_seen(city, source, air_sensor):
    items = [
        obs(value=12.5),
        obs(time=T0 + timedelta(minutes=5), value=14.0),
        obs(quantity="temperature", value=28.25),
    ]
    result = ingest(city=city, source=source, items=items)
    assert (result.accepted, result.duplicates, result.rejected) == (3, 0, [])
    assert Observation.objects.filter(sensor=air_sensor).count() == 3
    latest = {(r.quantity.code): (r.time, r.value) for r in Latest.objects.filter(sensor=air_sensor)}
    assert latest == {"pm25": (T0 + timedelta(minutes=5), 14.0), "temperature": (T0, 28.25)}
    air_sensor.refresh_from_db()
    assert air_sensor.last_seen_at == T0 + timedelta(minutes=5)


def test_resending_changes_nothing(city, source, air_sensor):
    items = [obs(value=v, time=T0 + timedelta(minutes=i)) for i, v in enumerate([1.0, 2.0, 3.0])]
    first = ingest(city=city, source=source, items=items)
    before = (hourly(air_sensor, "pm25"), daily(air_sensor, "pm25"))
    again = ingest(city=city, source=source, items=items)
    assert (first.accepted, first.duplicates) == (3, 0)
    assert (again.accepted, again.duplicates, again.rejected) == (0, 3, [])
    assert Observation.objects.count() == 3
    assert (hourly(air_sensor, "pm25"), daily(air_sensor, "pm25")) == before
    assert hourly(air_sensor, "pm25") == {T0: (3, 6.0, 1.0, 3.0)}


def test_resending_with_another_value_keeps_the_first(city, source, air_sensor):
    ingest(city=city, source=source, items=[obs(value=5.0)])
    result = ingest(city=city, source=source, items=[obs(value=50.0)])
    assert (result.accepted, result.duplicates) == (0, 1)
    assert Observation.objects.get().value == 5.0
    assert hourly(air_sensor, "pm25") == {T0: (1, 5.0, 5.0, 5.0)}


def test_duplicates_within_one_batch_count_once(city, source, air_sensor):
    result = ingest(city=city, source=source, items=[obs(value=7.0), obs(value=7.0), obs(value=9.0)])
    assert (result.accepted, result.duplicates) == (1, 2)
    assert hourly(air_sensor, "pm25") == {T0: (1, 7.0, 7.0, 7.0)}


def test_same_instant_in_another_zone_is_a_duplicate(city, source, air_sensor):
    ingest(city=city, source=source, items=[obs(time="2026-11-20T10:00:00Z")])
    result = ingest(city=city, source=source, items=[obs(time="2026-11-20T17:00:00+07:00")])
    assert (result.accepted, result.duplicates) == (0, 1)


def test_late_and_out_of_order_data_is_accepted_and_rolled_up(city, source, air_sensor):
    ingest(city=city, source=source, items=[obs(time=T0 + timedelta(minutes=30), value=20.0)])
    late = ingest(
        city=city,
        source=source,
        items=[
            obs(time=T0 + timedelta(minutes=10), value=4.0),
            obs(time=T0 - timedelta(days=3), value=8.0),  # days late
        ],
    )
    assert late.accepted == 2
    assert hourly(air_sensor, "pm25") == {
        T0 - timedelta(days=3): (1, 8.0, 8.0, 8.0),
        T0: (2, 24.0, 4.0, 20.0),
    }
    # The latest value stays the newest one, not the last one received.
    assert Latest.objects.get(sensor=air_sensor).value == 20.0
    air_sensor.refresh_from_db()
    assert air_sensor.last_seen_at == T0 + timedelta(minutes=30)


def test_rollup_maths_hand_computed(city, source, air_sensor):
    """Đà Nẵng is UTC+7: its day 2026-11-21 starts at 2026-11-20T17:00Z."""
    values = [
        ("2026-11-20T16:05:00Z", 10.0),  # 23:05 local, 20 Nov
        ("2026-11-20T16:35:00Z", 30.0),
        ("2026-11-20T16:59:59.5Z", 20.0),
        ("2026-11-20T17:00:00Z", 5.0),  # 00:00 local, 21 Nov
        ("2026-11-20T18:20:00+07:00", 7.5),  # = 11:20Z, 20 Nov local 18:20
    ]
    result = ingest(city=city, source=source, items=[obs(time=t, value=v) for t, v in values])
    assert result.accepted == 5
    h = hourly(air_sensor, "pm25")
    assert h == {
        datetime(2026, 11, 20, 11, tzinfo=UTC): (1, 7.5, 7.5, 7.5),
        datetime(2026, 11, 20, 16, tzinfo=UTC): (3, 60.0, 10.0, 30.0),
        datetime(2026, 11, 20, 17, tzinfo=UTC): (1, 5.0, 5.0, 5.0),
    }
    d = daily(air_sensor, "pm25")
    assert d == {
        datetime(2026, 11, 19, 17, tzinfo=UTC): (4, 67.5, 7.5, 30.0),
        datetime(2026, 11, 20, 17, tzinfo=UTC): (1, 5.0, 5.0, 5.0),
    }
    bucket = HourlyRollup.objects.get(sensor=air_sensor, bucket=datetime(2026, 11, 20, 16, tzinfo=UTC))
    assert bucket.mean == pytest.approx(20.0)
    # A second batch into the same buckets adds to them.
    ingest(
        city=city,
        source=source,
        items=[obs(time="2026-11-20T16:10:00Z", value=40.0), obs(time="2026-11-20T16:11:00Z", value=-0.0)],
    )
    assert hourly(air_sensor, "pm25")[datetime(2026, 11, 20, 16, tzinfo=UTC)] == (5, 100.0, 0.0, 40.0)
    assert daily(air_sensor, "pm25")[datetime(2026, 11, 19, 17, tzinfo=UTC)] == (6, 107.5, 0.0, 40.0)


def test_tuples_are_accepted_too(city, source, air_sensor):
    result = ingest(city=city, source=source, items=[("AQ-1", "pm25", T0, 3), ("AQ-1", "pm10", T0, 4.5)])
    assert (result.accepted, result.rejected) == (2, [])
    assert Observation.objects.get(quantity__code="pm25").value == 3.0


@pytest.fixture
def now():
    return datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


BAD = [
    ("item_invalid", "not an object"),
    ("item_invalid", {"sensor": "AQ-1", "quantity": "pm25", "value": 1}),
    ("item_invalid", {"sensor": ["AQ-1"], "quantity": "pm25", "time": "2026-11-20T10:00:00Z", "value": 1}),
    ("sensor_unknown", obs(sensor="NOPE")),
    ("sensor_unknown", obs(sensor="HCM-1")),  # another city's sensor
    ("sensor_retired", obs(sensor="OLD-1")),
    ("quantity_unknown", obs(quantity="radiation")),
    ("quantity_not_measured", obs(quantity="water_level")),
    ("value_invalid", obs(value="12")),
    ("value_invalid", obs(value=True)),
    ("value_invalid", obs(value=None)),
    ("value_not_finite", obs(value=math.nan)),
    ("value_not_finite", obs(value=math.inf)),
    ("value_out_of_range", obs(value=-1.0)),
    ("value_out_of_range", obs(value=1000.5)),
    ("value_out_of_range", obs(value=10**400)),
    ("time_invalid", obs(time="yesterday")),
    ("time_invalid", obs(time="2026-11-20T10:00:00")),  # no zone
    ("time_invalid", obs(time="2026-11-20")),
    ("time_invalid", obs(time=1763632800)),
    ("time_invalid", obs(time="1800-01-01T00:00:00Z")),
    ("time_in_future", obs(time="2026-11-23T08:05:01Z")),
]


@pytest.mark.parametrize(("code", "item"), BAD, ids=[f"{c}-{i}" for i, (c, _) in enumerate(BAD)])
def test_each_rejection_reason(code, item, city, other_city, source, air_sensor, quantities, now):
    from dothi.sensing import services

    services.sensor_register(
        actor=None,
        city=other_city,
        code="HCM-1",
        name="x",
        kind="air",
        lat=10.8,
        lon=106.7,
        quantities=["pm25"],
    )
    old = services.sensor_register(
        actor=None, city=city, code="OLD-1", name="old", kind="air", lat=16.0, lon=108.2, quantities=["pm25"]
    )
    services.sensor_retire(actor=None, sensor=old)
    with translation.override("en"):
        result = ingest(city=city, source=source, items=[obs(time=now), item], now=now)
    assert result.accepted == 1
    assert [(r.index, r.code) for r in result.rejected] == [(1, code)]
    assert result.rejected[0].reason
    assert Observation.objects.count() == 1
    counter = RejectionCount.objects.get(source=source)
    assert (counter.code, counter.count, counter.city) == (code, 1, city)


def test_reasons_are_translated(city, source, air_sensor):
    with translation.override("en"):
        en = ingest(city=city, source=source, items=[obs(sensor="NOPE")]).rejected[0].reason
    with translation.override("vi"):
        vi = ingest(city=city, source=source, items=[obs(sensor="NOPE")]).rejected[0].reason
    assert en == "There is no sensor NOPE in this city."
    assert "NOPE" in vi


def test_future_tolerance_is_five_minutes(city, source, air_sensor, now):
    ok = ingest(city=city, source=source, items=[obs(time=now + timedelta(minutes=5))], now=now)
    late = ingest(city=city, source=source, items=[obs(time=now + timedelta(minutes=5, seconds=1))], now=now)
    assert ok.accepted == 1
    assert [r.code for r in late.rejected] == ["time_in_future"]


def test_range_bounds_are_inclusive(city, source, air_sensor):
    result = ingest(
        city=city,
        source=source,
        items=[
            obs(value=0),
            obs(time=T0 + timedelta(seconds=1), value=1000),
            obs(quantity="temperature", value=-20.0),
        ],
    )
    assert result.accepted == 3


def test_rejections_are_counted_per_source_and_code(city, source, air_sensor):
    from dothi.sensing.keys import source_get_or_create

    other = source_get_or_create(city=city, name="vendor-b")
    ingest(city=city, source=source, items=[obs(sensor="X"), obs(sensor="Y"), obs(value=-5.0)])
    ingest(city=city, source=source, items=[obs(sensor="Z")])
    ingest(city=city, source=other, items=[obs(sensor="X")])
    counts = {(c.source.name, c.code): c.count for c in RejectionCount.objects.all()}
    assert counts == {
        ("gateway", "sensor_unknown"): 3,
        ("gateway", "value_out_of_range"): 1,
        ("vendor-b", "sensor_unknown"): 1,
    }
    last = RejectionCount.objects.get(source=source, code="sensor_unknown")
    assert '"Z"' in last.last_item


def test_an_all_bad_batch_stores_nothing_but_counts(city, source, air_sensor):
    result = ingest(city=city, source=source, items=[obs(value=math.nan), obs(sensor="?")])
    assert result.accepted == 0 and len(result.rejected) == 2
    assert not Observation.objects.exists() and not HourlyRollup.objects.exists()
    assert RejectionCount.objects.count() == 2


def test_a_source_of_another_city_is_refused(city, other_city, air_sensor):
    from dothi.sensing.keys import source_get_or_create

    with pytest.raises(ValueError):
        ingest(city=city, source=source_get_or_create(city=other_city, name="x"), items=[obs()])


def test_an_offline_sensor_speaking_again_is_active(city, source, air_sensor, now):
    Sensor.objects.filter(pk=air_sensor.pk).update(status="offline")
    ingest(city=city, source=source, items=[obs(time=now - timedelta(hours=2))], now=now)
    air_sensor.refresh_from_db()
    assert air_sensor.status == "offline"  # old data: still silent now
    ingest(city=city, source=source, items=[obs(time=now - timedelta(seconds=30))], now=now)
    air_sensor.refresh_from_db()
    assert (air_sensor.status, air_sensor.last_seen_at) == ("active", now - timedelta(seconds=30))


def test_a_sensor_registered_elsewhere_a_moment_ago_is_found(city, source, air_sensor, quantities):
    catalogue.for_city(city)  # cached in this process
    # Written without signals, as another process's write looks from here.
    created = Sensor.objects.bulk_create(
        [Sensor(city=city, code="NEW-1", name="new", kind="air", lat=16, lon=108)]
    )
    Sensor.quantities.through.objects.bulk_create(
        [Sensor.quantities.through(sensor_id=created[0].pk, quantity_id=quantities["pm25"].pk)]
    )
    cached = catalogue.for_city(city)
    object.__setattr__(cached, "loaded_at", cached.loaded_at - 5)
    result = ingest(city=city, source=source, items=[obs(sensor="NEW-1")])
    assert result.accepted == 1


class _Listener:
    def __init__(self, fail=False):
        self.batches = []
        self.fail = fail

    def __call__(self, batch):
        self.batches.append(batch)
        if self.fail:
            RejectionCount.objects.filter(pk=-1).delete()
            raise RuntimeError("rule broke")


@pytest.fixture
def listener():
    spy = _Listener()
    registry.register(Manifest(name="test-listener", observation_listeners=(spy,)))
    yield spy
    registry.unregister("test-listener")


def test_listeners_get_the_accepted_rows_only(city, source, air_sensor, listener):
    ingest(city=city, source=source, items=[obs(value=1.0)])
    ingest(
        city=city,
        source=source,
        items=[obs(value=1.0), obs(time=T0 + timedelta(minutes=1), value=2.0), obs(value=-3.0)],
    )
    ingest(city=city, source=source, items=[obs(value=1.0)])  # nothing new: not called
    assert len(listener.batches) == 2
    second = listener.batches[1]
    assert [(second.sensor_code(s), second.quantity_code(q), t, v) for s, q, t, v in second.rows] == [
        ("AQ-1", "pm25", T0 + timedelta(minutes=1), 2.0)
    ]
    assert second.latest() == {(air_sensor.pk, second.rows[0][1]): (T0 + timedelta(minutes=1), 2.0)}
    assert second.city == city and second.source == source
    assert (second.sensor(air_sensor.pk).kind, second.sensor(air_sensor.pk).commune_code) == ("air", None)


def test_a_failing_listener_does_not_lose_data(city, source, air_sensor):
    spy = _Listener(fail=True)
    registry.register(Manifest(name="test-failing", observation_listeners=(spy,)))
    try:
        result = ingest(city=city, source=source, items=[obs()])
    finally:
        registry.unregister("test-failing")
    assert result.accepted == 1 and len(spy.batches) == 1
    assert Observation.objects.count() == 1 and HourlyRollup.objects.count() == 1


def test_many_items_in_one_batch(city, source, air_sensor):
    items = [obs(time=T0 + timedelta(seconds=i), value=float(i % 100)) for i in range(5000)]
    result = ingest(city=city, source=source, items=items)
    assert result.accepted == 5000
    total = sum(i % 100 for i in range(5000))
    rollups = HourlyRollup.objects.filter(sensor=air_sensor)
    assert sum(r.count for r in rollups) == 5000
    assert sum(r.sum for r in rollups) == pytest.approx(total)
    assert DailyRollup.objects.get(sensor=air_sensor).count == 5000


def test_daily_rollups_in_a_half_hour_zone(city, source, air_sensor):
    """In a +05:30 zone a UTC hour spans two local days: days are then aggregated from the rows."""
    city.time_zone = "Asia/Kolkata"
    city.save()
    ingest(
        city=city,
        source=source,
        items=[
            obs(time="2026-11-20T18:20:00Z", value=1.0),  # 23:50 local
            obs(time="2026-11-20T18:40:00Z", value=3.0),
        ],
    )  # 00:10 next day
    assert hourly(air_sensor, "pm25") == {datetime(2026, 11, 20, 18, tzinfo=UTC): (2, 4.0, 1.0, 3.0)}
    assert daily(air_sensor, "pm25") == {
        datetime(2026, 11, 19, 18, 30, tzinfo=UTC): (1, 1.0, 1.0, 1.0),
        datetime(2026, 11, 20, 18, 30, tzinfo=UTC): (1, 3.0, 3.0, 3.0),
    }


def test_large_batches_resent_or_overlapping_count_once(city, source, air_sensor):
    """Batches above SMALL_BATCH go through the temporary table (COPY on PostgreSQL) and the optimistic
    INSERT: a resent or overlapping batch falls back to ON CONFLICT DO NOTHING."""
    from dothi.sensing.ingestion import SMALL_BATCH

    n = SMALL_BATCH * 3
    batch = [obs(time=T0 + timedelta(seconds=i), value=float(i % 10)) for i in range(n)]
    assert ingest(city=city, source=source, items=batch).accepted == n
    again = ingest(
        city=city,
        source=source,
        items=batch[n // 2 :]
        + batch[:1]
        + [obs(time=T0 + timedelta(seconds=n + i), value=1.0) for i in range(SMALL_BATCH)]
        + [obs(time=T0 + timedelta(seconds=n), value=99.0)],
    )  # a repeat within the batch: the first wins
    assert (again.accepted, again.duplicates) == (SMALL_BATCH, n - n // 2 + 2)
    assert Observation.objects.count() == n + SMALL_BATCH
    assert Observation.objects.get(time=T0 + timedelta(seconds=n)).value == 1.0
    assert sum(r.count for r in HourlyRollup.objects.all()) == n + SMALL_BATCH
    assert sum(r.sum for r in HourlyRollup.objects.all()) == sum(i % 10 for i in range(n)) + SMALL_BATCH
