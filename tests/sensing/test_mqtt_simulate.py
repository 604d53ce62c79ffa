"""`dothi simulate-sensors`: plausible values (daily cycles, a storm raising rainfall and then water
levels, a flood), stored directly or published over MQTT for the ingester."""

from __future__ import annotations

import io
import threading
import time
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from dothi.sensing.models import Observation, RejectionCount
from dothi.sensing.simulate import Model, Scenario, floods

NOON = datetime(2026, 7, 1, 5, 0, tzinfo=UTC)  # 12:00 in Đà Nẵng
NIGHT = datetime(2026, 7, 1, 20, 0, tzinfo=UTC)  # 03:00
RUSH = datetime(2026, 7, 1, 0, 30, tzinfo=UTC)  # 07:30


def values(model, sensor, quantity, when, low=-1e9, high=1e9, n=20):
    return sum(model.value(sensor, quantity, when, 300, low, high) for _ in range(n)) / n


def test_daily_cycles():
    model = Model("Asia/Ho_Chi_Minh", Scenario())
    assert values(model, "AQ-1", "temperature", NOON) > values(model, "AQ-1", "temperature", NIGHT) + 3
    assert values(model, "AQ-1", "pm25", RUSH) > values(model, "AQ-1", "pm25", NIGHT) + 10
    assert values(model, "TR-1", "vehicle_count", RUSH) > 3 * values(model, "TR-1", "vehicle_count", NIGHT)
    assert values(model, "NO-1", "noise", RUSH) > values(model, "NO-1", "noise", NIGHT) + 10
    assert model.value("AQ-1", "unknown", NOON, 300, 0, 1) is None


def test_a_storm_brings_rain_first_then_high_water_and_values_stay_in_range():
    scenario = Scenario(storm=True)
    model = Model("Asia/Ho_Chi_Minh", scenario, seed=3)
    rain, water = [], []
    for _step in range(100):
        rain.append(model.value("WL-1", "rainfall", NOON, 300, 0, 500))
        water.append(model.value("WL-1", "water_level", NOON, 300, -5, 20))
        assert 0 <= model.value("AQ-1", "humidity", NOON, 300, 0, 100) <= 100
        scenario.advance(0.01)
    rain_peak, water_peak = rain.index(max(rain)), water.index(max(water))
    assert max(rain) > 5 and rain[0] < 1 and rain[-1] < 1
    assert water_peak > rain_peak + 10  # the rivers rise after the rain
    assert max(water) > water[0] + 1.0


def test_a_flood_raises_the_water_at_the_low_lying_sensors_only():
    codes = [f"WL-{n}" for n in range(40)]
    flooded = [c for c in codes if floods(c)]
    assert 5 < len(flooded) < 35
    scenario = Scenario(flood=True)
    model = Model("Asia/Ho_Chi_Minh", scenario)
    before = {c: model.value(c, "water_level", NOON, 300, -5, 20) for c in codes}
    scenario.advance(0.5)
    after = {c: model.value(c, "water_level", NOON, 300, -5, 20) for c in codes}
    assert all(after[c] - before[c] > 2.0 for c in flooded)
    assert all(abs(after[c] - before[c]) < 0.2 for c in codes if c not in flooded)


@pytest.mark.django_db
def test_direct_simulation_stores_plausible_readings(city, air_sensor, water_sensor):
    out = io.StringIO()
    call_command("simulate_sensors", city=city.slug, direct=True, storm=True, duration=0.6, rate=50,
                 stdout=out)
    stored = Observation.objects.filter(sensor__city=city)
    assert 5 <= stored.count() <= 30  # 50/s for 0.6 s at most; the first round covers every pair
    assert {o.quantity.code for o in stored.select_related("quantity")} == {
        "pm25", "pm10", "temperature", "water_level", "rainfall"}
    assert not RejectionCount.objects.filter(city=city).exists()
    assert "Stored" in out.getvalue()


@pytest.mark.django_db
def test_unknown_city_and_no_sensors_are_errors(city):
    with pytest.raises(CommandError):
        call_command("simulate_sensors", city="atlantis", direct=True, duration=1)
    with pytest.raises(CommandError):
        call_command("simulate_sensors", city=city.slug, direct=True, duration=1)


@pytest.mark.mqtt
@pytest.mark.django_db(transaction=True)
def test_mqtt_simulation_reaches_the_ingester(city, air_sensor, water_sensor):
    from tests.sensing.test_mqtt import BROKER, make_ingester, running, wait_for

    names = {"prefix": f"dothi-test-sim-{threading.get_ident()}", "client_id": f"dothi-test-sim-{id(city)}"}
    ingester = make_ingester(names)
    with running(ingester):
        call_command("simulate_sensors", city=city.slug, mqtt=True, url=BROKER, prefix=names["prefix"],
                     flood=True, duration=0.5, rate=40, stdout=io.StringIO())
        wait_for(lambda: ingester.stats.observations >= 5)
        time.sleep(0.3)
    assert ingester.stats.rejected == 0
    assert Observation.objects.filter(sensor__city=city).count() == ingester.stats.accepted >= 5
