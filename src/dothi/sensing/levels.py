"""How worrying a value is, for the map's colours and the sensor page's badges: a small table of bands
per quantity from Vietnamese and international references. Pages only: warnings are the alerts
module's rules, not these.

- Air: the VN_AQI breakpoints of Decision 1459/QĐ-TCMT (2019) for PM2.5, PM10 and NO₂ (µg/m³), with
  their six categories (good, moderate, poor, bad, very bad, hazardous) and colours.
- Water level: the station's own flood warning levels (báo động I, II, III), kept in the sensor's
  `properties["alert_levels"]` as three heights in metres; a station without them is not coloured.
- Rainfall (mm in the last reading's interval, read as mm/h): light, moderate, heavy, very heavy.
- Street flood depth (`flood_depth`, m of water on the road, a city's own quantity): from 0.1 m shallow,
  from 0.3 m dangerous for motorbikes, from 0.5 m dangerous for cars and people (the steps of the
  warnings' demo street-flood rule: moderate from 0.3 m, severe from 0.5 m).
- Temperature: the heat categories of the national forecasting centre (35, 37, 39 °C).
- Wind: the Beaufort scale as Vietnamese warnings use it (strong wind from force 6, storm from 8).
- Noise: QCVN 26:2010/BTNMT (70 dB(A) by day in ordinary areas).

Severity runs from 1 (fine) to 6 (hazardous); 0 is "no value" (grey), 7 "measured, no scale" (blue).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

# Severity → (the colour the map draws, the label of the legend); `.sensor-level-N` in sensing.css.
SEVERITIES: tuple[tuple[str, Promise], ...] = (
    ("#adb5bd", pgettext_lazy("sensor level", "No recent value")),
    ("#2e9e44", pgettext_lazy("sensor level", "Good")),
    ("#f2c511", pgettext_lazy("sensor level", "Moderate")),
    ("#f28c28", pgettext_lazy("sensor level", "Poor")),
    ("#d62828", pgettext_lazy("sensor level", "Bad")),
    ("#7b2cbf", pgettext_lazy("sensor level", "Very bad")),
    ("#6a040f", pgettext_lazy("sensor level", "Hazardous")),
    # Values without a scale (vehicle counts, pressure…): measured, nothing to worry about or not.
    ("#6ea8fe", pgettext_lazy("sensor level", "Measured, no scale")),
)
NO_VALUE = 0
UNRATED_SEVERITY = 7


@dataclass(frozen=True)
class Band:
    below: float | None  # the band holds values below this (None: no upper bound)
    severity: int
    label: Promise


def _bands(*rows: tuple[float | None, int, Promise]) -> tuple[Band, ...]:
    return tuple(Band(below, severity, label) for below, severity, label in rows)


def _aqi(*limits: float) -> tuple[Band, ...]:
    labels = [SEVERITIES[i][1] for i in range(1, 7)]
    uppers: list[float | None] = [*limits, None]
    return tuple(Band(upper, i + 1, labels[i]) for i, upper in enumerate(uppers))


TABLE: dict[str, tuple[Band, ...]] = {
    # VN_AQI breakpoints (concentration at the top of AQI 50, 100, 150, 200, 300).
    "pm25": _aqi(25, 50, 80, 150, 250),
    "pm10": _aqi(50, 150, 250, 350, 420),
    "no2": _aqi(100, 200, 700, 1200, 2350),
    "aqi": _aqi(51, 101, 151, 201, 301),
    "rainfall": _bands(
        (2.5, 1, pgettext_lazy("sensor level", "Light rain or none")),
        (10, 2, pgettext_lazy("sensor level", "Moderate rain")),
        (50, 3, pgettext_lazy("sensor level", "Heavy rain")),
        (None, 4, pgettext_lazy("sensor level", "Very heavy rain")),
    ),
    "flood_depth": _bands(
        (0.1, 1, pgettext_lazy("sensor level", "No flooding")),
        (0.3, 2, pgettext_lazy("sensor level", "Shallow flooding")),
        (0.5, 3, pgettext_lazy("sensor level", "Deep flooding: dangerous for motorbikes")),
        (None, 4, pgettext_lazy("sensor level", "Very deep flooding: dangerous for vehicles and people")),
    ),
    "temperature": _bands(
        (35, 1, pgettext_lazy("sensor level", "Normal")),
        (37, 2, pgettext_lazy("sensor level", "Hot")),
        (39, 3, pgettext_lazy("sensor level", "Severe heat")),
        (None, 4, pgettext_lazy("sensor level", "Extreme heat")),
    ),
    "wind_speed": _bands(
        (10.8, 1, pgettext_lazy("sensor level", "Light to moderate wind")),
        (17.2, 2, pgettext_lazy("sensor level", "Strong wind (force 6–7)")),
        (24.5, 3, pgettext_lazy("sensor level", "Storm (force 8–9)")),
        (32.7, 4, pgettext_lazy("sensor level", "Strong storm (force 10–11)")),
        (None, 5, pgettext_lazy("sensor level", "Typhoon (force 12 or more)")),
    ),
    "noise": _bands(
        (55, 1, pgettext_lazy("sensor level", "Quiet")),
        (70, 2, pgettext_lazy("sensor level", "Within the daytime limit")),
        (85, 3, pgettext_lazy("sensor level", "Above the daytime limit")),
        (None, 4, pgettext_lazy("sensor level", "Very loud")),
    ),
}

WATER_LABELS: tuple[Promise, ...] = (
    pgettext_lazy("sensor level", "Below warning level I"),
    pgettext_lazy("sensor level", "Warning level I"),
    pgettext_lazy("sensor level", "Warning level II"),
    pgettext_lazy("sensor level", "Warning level III"),
)


@dataclass(frozen=True)
class Level:
    severity: int
    label: str

    @property
    def colour(self) -> str:
        return SEVERITIES[self.severity][0]


NONE = Level(NO_VALUE, "")


def alert_levels(properties: dict | None) -> tuple[float, float, float] | None:
    """A water-level station's warning levels I, II, III (metres), if it has usable ones."""
    raw = (properties or {}).get("alert_levels")
    if not isinstance(raw, list | tuple) or len(raw) != 3:
        return None
    try:
        levels = tuple(float(v) for v in raw)
    except (TypeError, ValueError):
        return None
    return levels if levels[0] <= levels[1] <= levels[2] else None  # type: ignore[return-value]


def level(quantity_code: str, value: float | None, properties: dict | None = None) -> Level:
    """The band `value` of `quantity_code` falls in (NONE for a quantity without bands)."""
    if value is None:
        return NONE
    if quantity_code == "water_level":
        warn = alert_levels(properties)
        if warn is None:
            return NONE
        reached = sum(1 for limit in warn if value >= limit)
        # Below I is fine; I, II and III are moderate, poor and bad.
        return Level(reached + 1, str(WATER_LABELS[reached]))
    for band in TABLE.get(quantity_code, ()):
        if band.below is None or value < band.below:
            return Level(band.severity, str(band.label))
    return NONE


UNRATED = Level(UNRATED_SEVERITY, "")


def worst(levels: Iterable[Level]) -> Level:
    """The most severe of a sensor's levels (what colours its point on the map): UNRATED when it has
    values but none on a scale, NONE when it has none."""
    levels = list(levels)
    rated = [lv for lv in levels if lv.severity not in (NO_VALUE, UNRATED_SEVERITY)]
    if rated:
        return max(rated, key=lambda lv: lv.severity)
    return UNRATED if levels else NONE


def legend() -> list[tuple[int, str, str]]:
    """(severity, colour, label) for the map's legend, the unrated colour after "no recent value"."""
    rows = [(i, colour, str(label)) for i, (colour, label) in enumerate(SEVERITIES)]
    return [rows[0], rows[UNRATED_SEVERITY], *rows[1:UNRATED_SEVERITY]]
