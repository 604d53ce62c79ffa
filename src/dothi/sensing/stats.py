"""What the sensing module gives the KPI and open-data modules (through its manifest): the share of
sensor-days with data, observations per day, the annual/monthly means of PM2.5, PM10 and NO2 and the
days above the national limit (all from the daily rollups), and hourly means per public sensor."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy

from dothi.core.manifests import KpiCalculator, KpiValue, OpenDataset, Period
from dothi.sensing.models import DailyRollup, HourlyRollup, Quantity, Sensor
from dothi.sensing.selectors import local_day_bounds

if TYPE_CHECKING:
    from dothi.core.models import City

OPEN_DATASET_DAYS = 30


def kpi_sensor_data_availability(city: City, period: Period) -> KpiValue:
    """Sensor-days with at least one observation, as a share of the sensor-days of the period (sensors
    not retired and registered before the period ended)."""
    low, high = local_day_bounds(city, period.start, period.end)
    days = (period.end - period.start).days
    sensors = Sensor.objects.for_city(city).exclude(status=Sensor.Status.RETIRED).filter(created_at__lt=high)
    n_sensors = sensors.count()
    with_data = (
        DailyRollup.objects.filter(sensor_id__in=sensors.values("pk"), bucket__gte=low, bucket__lt=high)
        .values("sensor_id", "bucket")
        .distinct()
        .count()
    )
    denominator = n_sensors * days
    return KpiValue(
        value=round(100 * with_data / denominator, 1) if denominator else None,
        numerator=with_data,
        denominator=denominator,
        sample_size=n_sensors,
        note="" if denominator else "no sensors",
    )


def kpi_observations_per_day(city: City, period: Period) -> KpiValue:
    low, high = local_day_bounds(city, period.start, period.end)
    days = (period.end - period.start).days
    total = (
        DailyRollup.objects.filter(sensor__city=city, bucket__gte=low, bucket__lt=high).aggregate(
            n=Sum("count")
        )["n"]
        or 0
    )
    return KpiValue(value=round(total / days, 1), numerator=total, denominator=days, sample_size=total)


# --- Air quality (EN: EN: AQ: 1C) ----------------------------------------------------------------------
# Read from the daily rollups (count and sum of each sensor's readings per local day), never the raw
# table. The mean of a period is the mean of all the readings of the city's sensors of that pollutant
# (Σ sum / Σ count over the sensors and days), so a sensor reporting more often weighs more; a day's
# city-wide mean is the same over that day's rollups.
#
# Readings are kept in the unit of the quantity row they were sent under: the global catalogue's are in
# µg/m³, a city may keep its own NO2 in ppb. Gases in ppb (or ppm) are converted with the molar volume of
# an ideal gas at 25 °C and 1 atm: µg/m³ = ppb × M / 24.45 (M in g/mol; NO2 46.0055), so 1 ppb NO2 is
# 1.8816 µg/m³. Particulates have no molar mass: only mass units count for them.

# National technical regulation on ambient air quality QCVN 05:2023/BTNMT: 24-hour mean limits (µg/m³).
AIR_LIMITS_24H: dict[str, float] = {"pm25": 50.0, "pm10": 100.0, "no2": 100.0}
# Molar masses (g/mol) of the gases converted from ppb/ppm; the molar volume (L/mol) at 25 °C, 1 atm.
MOLAR_MASS: dict[str, float] = {"no2": 46.0055, "so2": 64.066, "o3": 47.9982, "co": 28.0101}
MOLAR_VOLUME = 24.45
UG_M3 = "µg/m³"
POLLUTANTS = (("pm25", "PM2.5"), ("pm10", "PM10"), ("no2", "NO2"))
# Written out (not formatted) so each name is translated on its own, when shown.
MEAN_NAMES = {
    "pm25": gettext_lazy("Mean concentration of PM2.5"),
    "pm10": gettext_lazy("Mean concentration of PM10"),
    "no2": gettext_lazy("Mean concentration of NO2"),
}
DAYS_ABOVE_NAMES = {
    "pm25": gettext_lazy("Days above the national 24-hour limit for PM2.5"),
    "pm10": gettext_lazy("Days above the national 24-hour limit for PM10"),
    "no2": gettext_lazy("Days above the national 24-hour limit for NO2"),
}


def to_ug_m3(code: str, unit: str) -> float | None:
    """The factor that turns a reading of `code` in `unit` into µg/m³; None when it cannot."""
    u = (unit or "").strip().replace("μ", "µ").replace("³", "3").lower()
    if u in ("µg/m3", "ug/m3", "mcg/m3"):
        return 1.0
    if u == "mg/m3":
        return 1000.0
    if u in ("ppb", "ppm") and code in MOLAR_MASS:
        return MOLAR_MASS[code] / MOLAR_VOLUME * (1000.0 if u == "ppm" else 1.0)
    return None


def _factors(city: City, code: str) -> dict[int, float]:
    """Quantity row id -> factor to µg/m³, for the global row and the city's own of `code`."""
    rows = Quantity.objects.filter(Q(city__isnull=True) | Q(city=city), code=code).values_list("pk", "unit")
    found = {pk: to_ug_m3(code, unit) for pk, unit in rows}
    return {pk: f for pk, f in found.items() if f is not None}


def air_daily(city: City, code: str, period: Period, *, by_commune: bool = False) -> dict[Any, dict]:
    """{commune code (None: no commune) or None when not by commune: {local day bucket: [n, Σ µg/m³]}}
    from the daily rollups of the city's sensors."""
    factors = _factors(city, code)
    out: dict[Any, dict] = defaultdict(lambda: defaultdict(lambda: [0, 0.0]))
    if not factors:
        return out
    low, high = local_day_bounds(city, period.start, period.end)
    group = ["quantity_id", "bucket", *(["sensor__commune_id"] if by_commune else [])]
    rows = (
        DailyRollup.objects.filter(
            sensor_id__in=Sensor.objects.for_city(city).values("pk"),
            quantity_id__in=list(factors),
            bucket__gte=low,
            bucket__lt=high,
        )
        .values(*group)
        .annotate(n=Sum("count"), total=Sum("sum"))
        .order_by()
    )
    for row in rows:
        if not row["n"]:
            continue
        cell = out[row.get("sensor__commune_id")][row["bucket"]]
        cell[0] += row["n"]
        cell[1] += row["total"] * factors[row["quantity_id"]]
    return out


def _mean_value(days: dict, period: Period) -> KpiValue:
    n = sum(c[0] for c in days.values())
    if not n:
        return KpiValue(value=None, numerator=0, denominator=0, sample_size=0,
                        note="no readings in the period")
    total = sum(c[1] for c in days.values())
    missing = (period.end - period.start).days - len(days)
    return KpiValue(
        value=round(total / n, 1), numerator=round(total, 3), denominator=n, sample_size=n,
        note=f"mean of {n} readings on {len(days)} days"
        + (f"; {missing} days without data" if missing else ""),
    )


def _mean_kpi(code: str):
    def compute(city: City, period: Period) -> KpiValue:
        return _mean_value(air_daily(city, code, period).get(None, {}), period)

    def wards(city: City, period: Period) -> dict[str, KpiValue]:
        found = air_daily(city, code, period, by_commune=True)
        return {commune: _mean_value(days, period) for commune, days in found.items() if commune}

    compute.__name__, wards.__name__ = f"kpi_mean_{code}", f"wards_mean_{code}"
    return compute, wards


def _days_above_kpi(code: str):
    limit = AIR_LIMITS_24H[code]

    def compute(city: City, period: Period) -> KpiValue:
        days = air_daily(city, code, period).get(None, {})
        measured = {bucket: c[1] / c[0] for bucket, c in days.items() if c[0]}
        if not measured:
            return KpiValue(value=None, numerator=0, denominator=0, sample_size=0,
                            note="no readings in the period")
        above = sum(1 for mean in measured.values() if mean > limit)
        missing = (period.end - period.start).days - len(measured)
        return KpiValue(
            value=above, numerator=above, denominator=len(measured), sample_size=len(measured),
            note=f"days with a city-wide mean above {limit:g} µg/m³ among {len(measured)} days with data"
            + (f"; {missing} days without data" if missing else ""),
        )

    compute.__name__ = f"kpi_days_above_limit_{code}"
    return compute


def _air_kpis() -> tuple[KpiCalculator, ...]:
    out = []
    for code, component in POLLUTANTS:
        compute, wards = _mean_kpi(code)
        out.append(KpiCalculator(
            code=f"sensing.mean_{code}",
            name=MEAN_NAMES[code],
            unit=UG_M3,
            compute=compute,
            compute_wards=wards,
            standard_code="EN: EN: AQ: 1C",
            component=component,
            higher_is_better=False,
            method=gettext_lazy(
                "Mean of all the readings of the city's sensors in the period (from their daily rollups), "
                "in µg/m³; gases reported in ppb are converted at 25 °C and 1 atm (µg/m³ = ppb × M / 24.45)."
            ),
        ))
        out.append(KpiCalculator(
            code=f"sensing.days_above_limit_{code}",
            name=DAYS_ABOVE_NAMES[code],
            unit="d",
            compute=_days_above_kpi(code),
            component=component,
            higher_is_better=False,
            method=gettext_lazy(
                "Days of the period whose city-wide mean (all readings of the day) exceeds the 24-hour "
                "limit of QCVN 05:2023/BTNMT (PM2.5 50, PM10 100, NO2 100 µg/m³); days without data are "
                "not counted and are reported in the note."
            ),
        ))
    return tuple(out)


KPIS = (
    KpiCalculator(
        code="sensing.data_availability",
        name=gettext_lazy("Sensors online (sensor-days with data)"),
        unit="%",
        compute=kpi_sensor_data_availability,
        method=gettext_lazy(
            "Sensor-days with at least one reading (from the daily rollups) as a share of the sensor-days "
            "of the period, for the sensors registered by its end and not retired."
        ),
    ),
    KpiCalculator(
        code="sensing.observations_per_day",
        name=gettext_lazy("Sensor observations per day"),
        unit="1/d",
        compute=kpi_observations_per_day,
        method=gettext_lazy("Readings the city's sensors sent in the period (daily rollups), per day."),
    ),
    *_air_kpis(),
)


def open_dataset_rows(city: City) -> Iterator[dict[str, Any]]:
    """Hourly means of every public sensor over the last 30 days (aggregates only: no raw readings)."""
    from dothi.sensing import catalogue

    cat = catalogue.for_city(city)
    since = timezone.now() - timedelta(days=OPEN_DATASET_DAYS)
    sensors = {
        pk: (code, lat, lon, commune)
        for pk, code, lat, lon, commune in Sensor.objects.for_city(city)
        .filter(is_public=True)
        .values_list("pk", "code", "lat", "lon", "commune_id")
    }
    rows = (
        HourlyRollup.objects.filter(sensor_id__in=list(sensors), bucket__gte=since)
        .order_by("sensor_id", "quantity_id", "bucket")
        .values_list("sensor_id", "quantity_id", "bucket", "count", "sum", "min", "max")
    )
    for sensor_id, quantity_id, bucket, n, total, lo, hi in rows.iterator(chunk_size=5000):
        q = cat.quantities_by_id.get(quantity_id)
        if q is None or not n:
            continue
        code, lat, lon, commune = sensors[sensor_id]
        yield {
            "sensor": code,
            "lat": lat,
            "lon": lon,
            "commune": commune or "",
            "quantity": q.code,
            "unit": q.unit,
            "hour": bucket.isoformat(),
            "mean": round(total / n, 3),
            "min": lo,
            "max": hi,
            "count": n,
        }


DATASETS = (
    OpenDataset(
        code="sensing.hourly_means",
        title=gettext_lazy("Hourly means of the city's public sensors"),
        description=gettext_lazy(
            "Air quality, water level, rainfall, weather, traffic counts and noise: the hourly mean, minimum "
            "and maximum of each public sensor over the last 30 days, with the number of readings."
        ),
        rows=open_dataset_rows,
        count_field="count",
        min_group_size=1,  # readings of devices, not of people
    ),
)
