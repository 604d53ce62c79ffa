"""The sensing demo seeder: the shape of what it creates, that its rows keep ingestion's invariants,
and that it is fast enough for the demo's 60-second start."""

from __future__ import annotations

import random
import time
from datetime import timedelta

import pytest
from django.db.models import Count, Max, Min, Sum
from django.utils import timezone

from dothi.core.demo import _seed_organisations
from dothi.core.manifests import registry
from dothi.sensing import demo, selectors
from dothi.sensing.models import DailyRollup, HourlyRollup, Latest, Observation, Sensor

pytestmark = pytest.mark.django_db

# The whole demo (migrations, every module) must answer within 60 s on 2 cores; this seeder is the
# heaviest part. Generous for a loaded machine, yet a seeder writing row by row would take minutes.
SEED_BUDGET_S = 60


def test_the_manifest_registers_the_seeder():
    manifest = registry.get("sensing")
    assert manifest.seeder is demo.seed


def test_demo_seeder_creates_a_city_of_sensors_quickly(danang, quantities):
    now = timezone.now()
    _seed_organisations(danang, now)
    started = time.perf_counter()
    demo.seed(city=danang, rng=random.Random("48:sensing"), now=now, days=365)
    elapsed = time.perf_counter() - started
    assert elapsed < SEED_BUDGET_S, f"the sensing demo took {elapsed:.1f} s"

    sensors = Sensor.objects.filter(city=danang)
    assert 200 <= sensors.count() <= 400
    kinds = dict(sensors.values_list("kind").annotate(n=Count("id")))
    assert set(kinds) == set(Sensor.Kind.values)
    assert 2 <= kinds["camera"] <= 5
    assert not sensors.filter(kind="camera", quantities__isnull=False).exists()
    assert sensors.exclude(kind="camera").filter(quantities__isnull=True).count() == 0
    assert sensors.filter(commune__isnull=True).count() == 0  # every point inside a commune cell
    # Privately owned sensors under data-sharing agreements; one camera shared with agencies only.
    shared = sensors.filter(agreement__isnull=False)
    assert shared.count() >= 20
    assert set(shared.values_list("agreement__kind", flat=True)) == {"data_sharing"}
    assert sensors.filter(is_public=False, kind="camera").exists()
    statuses = dict(sensors.values_list("status").annotate(n=Count("id")))
    assert statuses["offline"] == 6 and statuses["retired"] == 2
    stations = sensors.filter(quantities__code="water_level")
    assert stations.count() >= 20
    assert all(len(s.properties["alert_levels"]) == 3 for s in stations)

    # A year of hourly rollups, a week of raw readings.
    station = stations.filter(status="active").order_by("code").first()
    level = station.quantities.get()
    hourly = HourlyRollup.objects.filter(sensor=station, quantity=level)
    assert 365 * 24 - 2 <= hourly.count() <= 365 * 24 + 2
    raw = Observation.objects.filter(sensor=station, quantity=level)
    assert 7 * 24 * 6 - 6 <= raw.count() <= 7 * 24 * 6 + 6
    first_raw = raw.aggregate(t=Min("time"))["t"]
    assert timedelta(days=6, hours=23) <= now - first_raw <= timedelta(days=7, hours=1)
    assert 365 <= DailyRollup.objects.filter(sensor=station, quantity=level).count() <= 367

    # The raw week's hourly rollups are exactly its readings'.
    bucket = first_raw.replace(minute=0, second=0, microsecond=0) + timedelta(hours=30)
    readings = raw.filter(time__gte=bucket, time__lt=bucket + timedelta(hours=1)).aggregate(
        n=Count("value"), s=Sum("value"), lo=Min("value"), hi=Max("value")
    )
    rollup = hourly.get(bucket=bucket)
    assert (rollup.count, rollup.min, rollup.max) == (readings["n"], readings["lo"], readings["hi"])
    assert rollup.sum == pytest.approx(readings["s"])
    # A day's rollup is its hours'.
    day = DailyRollup.objects.filter(sensor=station, quantity=level).order_by("bucket")[100]
    hours = hourly.filter(bucket__gte=day.bucket, bucket__lt=day.bucket + timedelta(days=1)).aggregate(
        n=Sum("count"), s=Sum("sum"), lo=Min("min"), hi=Max("max")
    )
    assert (day.count, day.min, day.max) == (hours["n"], hours["lo"], hours["hi"])
    assert day.sum == pytest.approx(hours["s"])
    for row in hourly.filter(bucket__lt=first_raw)[:200]:
        assert row.min <= row.mean <= row.max
    # The latest value is the last reading, and the sensor was last seen then.
    last = raw.order_by("-time").first()
    latest = Latest.objects.get(sensor=station, quantity=level)
    assert (latest.time, latest.value) == (last.time, last.value)
    station.refresh_from_db()
    assert station.last_seen_at == last.time
    assert now - last.time < timedelta(minutes=11)

    # The storm two days ago: rivers past their warning levels, heavy rain.
    past_level_one = 0
    for s in stations.filter(status="active"):
        peak = Observation.objects.filter(sensor=s, quantity=level).aggregate(m=Max("value"))["m"]
        past_level_one += peak >= s.properties["alert_levels"][0]
    assert past_level_one >= stations.count() // 2
    storm = now - timedelta(hours=demo.STORM_HOURS_AGO)
    rain = HourlyRollup.objects.filter(
        sensor__city=danang,
        quantity__code="rainfall",
        bucket__gte=storm - timedelta(hours=6),
        bucket__lt=storm + timedelta(hours=6),
    ).aggregate(m=Max("sum"))["m"]
    assert rain > 20  # mm in an hour

    # The charts read it at the resolution the period asks for.
    year = selectors.series(
        city=danang, sensor=station, quantity="water_level", start=now - timedelta(days=365), end=now
    )
    assert year.resolution == "day" and 360 <= len(year.points) <= 367
    day_series = selectors.series(
        city=danang, sensor=station, quantity="water_level", start=now - timedelta(hours=24), end=now
    )
    assert day_series.resolution == "raw" and 140 <= len(day_series.points) <= 145
    # Offline sensors stopped sending, retired ones long ago.
    for s in sensors.filter(status="offline"):
        assert now - s.last_seen_at > timedelta(minutes=20)
    for s in sensors.filter(status="retired"):
        assert now - s.last_seen_at > timedelta(days=80)
