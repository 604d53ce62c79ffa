"""The spatial layers' KPIs for the KPI module (through the manifest).

- `EC: ICT: D: 1A`, drainage network monitored by ICT (%): of the length of the lines of the city's
  `drainage` layers, the share within 100 m of a water-level sensor. Numerator: km monitored;
  denominator: km of network; sample size: drainage lines. The network and the sensors are read as they
  are now (the layers keep no history of geometry), whatever the period.
- `SC: SH: SA: 4A`, population living in flood-prone zones (%): per commune, population × the share of
  the commune's area inside the `flood_prone` polygons, summed, over the population of the communes with
  a figure. Population is the latest year up to the year the period ends in. Numerator: people exposed;
  denominator: population; sample size: communes counted.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from dothi.core.manifests import KpiValue, Period
from dothi.layers import selectors

if TYPE_CHECKING:
    from dothi.core.models import City

MONITORING_RADIUS_M = 100


def kpi_drainage_monitored(city: City, period: Period) -> KpiValue:
    measure = selectors.drainage_monitoring(city, radius_m=MONITORING_RADIUS_M)
    total, monitored = measure["total_km"], measure["monitored_km"]
    if not total:
        return KpiValue(
            value=None,
            numerator=0,
            denominator=0,
            sample_size=0,
            note="No drainage network (a layer with the role “drainage”) has been imported.",
        )
    return KpiValue(
        value=round(100 * monitored / total, 2),
        numerator=monitored,
        denominator=total,
        sample_size=measure["lines"],
        note=(
            f"{measure['sensors']} water-level sensors, {MONITORING_RADIUS_M} m around each; "
            "network as of now."
        ),
    )


def kpi_flood_exposure(city: City, period: Period) -> KpiValue:
    year = (period.end - timedelta(days=1)).year
    measure = selectors.flood_exposure(city, year=year)
    if not measure["population"]:
        return KpiValue(
            value=None,
            numerator=0,
            denominator=0,
            sample_size=0,
            note=f"No population per commune has been imported up to {year}.",
        )
    note = f"Population of {measure['year']}; {measure['zones']} flood-prone zones."
    return KpiValue(
        value=round(100 * measure["exposed"] / measure["population"], 2),
        numerator=measure["exposed"],
        denominator=measure["population"],
        sample_size=len(measure["communes"]),
        note=note,
    )
