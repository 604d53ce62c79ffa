"""What the sensing module gives the KPI and open-data modules (through its manifest): the share of
sensor-days with data, observations per day, and hourly means per public sensor."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy

from dothi.core.manifests import KpiCalculator, KpiValue, OpenDataset, Period
from dothi.sensing.models import DailyRollup, HourlyRollup, Sensor
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


KPIS = (
    KpiCalculator(
        code="sensing.data_availability",
        name=gettext_lazy("Sensors online (sensor-days with data)"),
        unit="%",
        compute=kpi_sensor_data_availability,
    ),
    KpiCalculator(
        code="sensing.observations_per_day",
        name=gettext_lazy("Sensor observations per day"),
        unit="1/d",
        compute=kpi_observations_per_day,
    ),
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
