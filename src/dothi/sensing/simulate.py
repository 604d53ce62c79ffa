"""Plausible readings for a city's sensors (`dothi simulate-sensors`), for demonstrations and drills.

Each value is a function of the local time of day and of the run's events, plus a little noise that is
stable per sensor (a sensor reads a bit higher or lower than its neighbours, every time):

- daily cycles: temperature peaks mid-afternoon, humidity the other way round; PM2.5, NO₂, CO, traffic
  counts and noise follow the morning and evening rush hours; ozone peaks at midday;
- a rain storm (`storm`): rainfall rises to a downpour in the first third of the storm and eases off;
  air cools, humidity saturates, pressure drops, wind picks up, the rain washes the dust out, and the
  water levels follow the accumulated rain with a lag, peaking after the rain and slowly receding;
- a flood (`flood`): water levels rise by up to 2.5 m within a few minutes and stay high, at about
  half of the water sensors (the same half each time: low-lying ones, chosen by their code).

Events run on the simulation's own clock (`Scenario.phase`, 0 → 1 over the storm), so a storm that
lasts hours in reality can be shown in ten minutes. Values are clamped to each quantity's physical range.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo


def _rush(hour: float) -> float:
    """0…1: traffic intensity, peaks at 7:30 and 17:30, quiet at night."""
    morning = math.exp(-((hour - 7.5) ** 2) / 2.0)
    evening = math.exp(-((hour - 17.5) ** 2) / 2.5)
    day = 0.35 if 6 <= hour <= 22 else 0.05
    return min(1.0, max(morning, evening, day))


def _daylight(hour: float) -> float:
    """-1…1: a sine with its maximum at 14:30."""
    return math.sin(2 * math.pi * (hour - 8.5) / 24)


def _bias(code: str) -> float:
    """A stable -1…1 per sensor code: sensors differ from their neighbours, consistently."""
    digest = hashlib.blake2b(code.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") / 2**31 - 1.0


def floods(code: str) -> bool:
    """The water sensors a flood reaches: about half, always the same ones."""
    return _bias(code + "/flood") < 0.0


@dataclass
class Scenario:
    """Events of a run. `storm_phase`/`flood_phase` are None (no event) or 0…1+ (its progress)."""

    storm: bool = False
    flood: bool = False
    storm_phase: float | None = None
    flood_phase: float | None = None

    def advance(self, fraction: float) -> None:
        """Move the events on by `fraction` of their length."""
        if self.storm:
            self.storm_phase = min(1.5, (self.storm_phase or 0.0) + fraction)
        if self.flood:
            self.flood_phase = min(1.5, (self.flood_phase or 0.0) + fraction)

    def rain_intensity(self) -> float:
        """0…1: the storm's rain, rising fast to its peak at a fifth of the storm, easing by its end."""
        p = self.storm_phase
        if p is None or p >= 1.0:
            return 0.0
        return math.exp(-((p - 0.2) ** 2) / (0.005 if p < 0.2 else 0.12))

    def runoff(self) -> float:
        """0…1: what the storm's rain adds to rivers and canals, peaking after the rain (at 55 % of the
        storm) and receding slowly."""
        p = self.storm_phase
        if p is None:
            return 0.0
        return math.exp(-((p - 0.55) ** 2) / (0.04 if p < 0.55 else 0.25))


class Model:
    """Values at a moment, for a city in `time_zone`."""

    def __init__(self, time_zone: str, scenario: Scenario, seed: int = 0) -> None:
        self.zone = ZoneInfo(time_zone)
        self.scenario = scenario
        self.rng = random.Random(seed)

    def value(self, sensor: str, quantity: str, when: datetime, interval_s: float, low: float,
              high: float) -> float | None:
        """The reading of `quantity` at `sensor`, `interval_s` seconds after its previous one (counts and
        rainfall are per interval). None for a quantity this model does not know."""
        local = when.astimezone(self.zone)
        hour = local.hour + local.minute / 60 + local.second / 3600
        rush, sun, bias = _rush(hour), _daylight(hour), _bias(sensor)
        rain = self.scenario.rain_intensity()
        noise = self.rng.gauss
        wash = 1.0 - 0.6 * rain  # rain washes particles out of the air
        per_5min = interval_s / 300.0
        v: float | None
        match quantity:
            case "temperature":
                v = 28.0 + 4.0 * sun + 1.0 * bias - 5.0 * rain + noise(0, 0.2)
            case "humidity":
                v = 75.0 - 12.0 * sun + 3.0 * bias + 25.0 * rain + noise(0, 1.0)
            case "pressure":
                v = 1010.0 + 1.5 * math.sin(2 * math.pi * hour / 12) - 12.0 * rain + noise(0, 0.3)
            case "wind_speed":
                v = 3.0 + 1.5 * sun + 10.0 * rain + abs(noise(0, 0.8))
            case "wind_direction":
                v = (110.0 + 40.0 * bias + 60.0 * rain + noise(0, 15.0)) % 360
            case "rainfall":
                drizzle = 0.05 if self.rng.random() < 0.02 else 0.0
                v = (drizzle + 12.0 * rain * (1.0 + 0.3 * bias)) * per_5min
            case "water_level":
                v = self._water_level(sensor, bias, hour) + noise(0, 0.01)
            case "pm25":
                v = (22.0 + 30.0 * rush + 8.0 * bias) * wash + abs(noise(0, 2.0))
            case "pm10":
                v = (40.0 + 50.0 * rush + 12.0 * bias) * wash + abs(noise(0, 3.0))
            case "no2":
                v = (15.0 + 45.0 * rush + 6.0 * bias) * wash + abs(noise(0, 2.0))
            case "co":
                v = 500.0 + 900.0 * rush + 100.0 * bias + abs(noise(0, 30.0))
            case "so2":
                v = 6.0 + 3.0 * bias + abs(noise(0, 1.0))
            case "o3":
                v = max(5.0, 30.0 + 45.0 * sun) * (1.0 - 0.4 * rain) + abs(noise(0, 3.0))
            case "aqi":
                v = 1.6 * (22.0 + 30.0 * rush + 8.0 * bias) * wash + abs(noise(0, 3.0))
            case "vehicle_count":
                v = round(max(0.0, (40.0 + 600.0 * rush * (1.0 + 0.3 * bias)) * (1.0 - 0.4 * rain)
                              * per_5min + noise(0, 5.0)))
            case "average_speed":
                v = 45.0 - 25.0 * rush - 10.0 * rain + 5.0 * bias + noise(0, 2.0)
            case "noise":
                v = 50.0 + 20.0 * rush + 4.0 * bias + 5.0 * rain + noise(0, 1.5)
            case _:
                return None
        return min(high, max(low, v))

    def _water_level(self, sensor: str, bias: float, hour: float) -> float:
        """The river or canal level: a base per sensor, a semi-diurnal tide, the storm's runoff (up to
        1.6 m) and the flood."""
        level = 0.9 + 0.4 * bias + 0.3 * math.sin(2 * math.pi * hour / 12.4) + 1.6 * self.scenario.runoff()
        flood = self.scenario.flood_phase
        if flood is not None and floods(sensor):
            level += 2.5 * min(1.0, flood * 4)  # within a quarter of the event, and it stays
        return level
