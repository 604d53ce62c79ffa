"""The reads behind the NGSI-LD API: which sensors a request may see as entities, their latest values
and their observations over time. Scoped by the tenant city, like every read of the module.

Visible: the city's public sensors that are not retired and have an entity type (cameras do not); a
viewer allowed `sensing.read_private` (signed-in staff) sees private ones too, and a request with an
ingestion key sees the sensors its data source registered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from dothi.core.models import City
from dothi.sensing import catalogue, selectors
from dothi.sensing.keys import Credentials
from dothi.sensing.models import Latest, Observation, Sensor
from dothi.sensing.ngsild import mapping
from dothi.sensing.ngsild.entities import SensorView

FIELDS = ("id", "code", "kind", "name", "description", "lat", "lon", "properties")


@dataclass(frozen=True)
class Reader:
    city: City
    viewer: object | None = None
    credentials: Credentials | None = None

    def sensors(self, *, types: Iterable[str] | None = None) -> QuerySet[Sensor]:
        kinds = [mapping.TYPE_TO_KIND[t] for t in (types or mapping.TYPES)]
        qs = Sensor.objects.for_city(self.city).filter(kind__in=kinds).exclude(status=Sensor.Status.RETIRED)
        if not selectors.can_read_private(self.viewer, self.city):
            visible = Q(is_public=True)
            if self.credentials is not None:
                visible |= Q(source_id=self.credentials.source.pk)
            qs = qs.filter(visible)
        return qs.order_by("code")

    def views(self, qs: QuerySet[Sensor]) -> list[tuple[int, SensorView]]:
        """(sensor id, view) for each sensor of `qs`, with its latest values (two queries)."""
        rows = list(qs.values_list(*FIELDS))
        return list(zip([r[0] for r in rows], self._with_values(rows), strict=True))

    def _with_values(self, rows: list[tuple]) -> list[SensorView]:
        cat = catalogue.for_city(self.city)
        values: dict[int, dict[str, tuple[dt.datetime, float]]] = {}
        ids = [r[0] for r in rows]
        for sensor_id, quantity_id, time, value in Latest.objects.filter(sensor_id__in=ids).values_list(
            "sensor_id", "quantity_id", "time", "value"
        ):
            quantity = cat.quantities_by_id.get(quantity_id)
            if quantity is None:
                continue
            seen = values.setdefault(sensor_id, {}).get(quantity.code)
            if seen is None or time > seen[0]:
                values[sensor_id][quantity.code] = (time, value)
        return [
            SensorView(code=code, kind=kind, name=name, description=description, lat=lat, lon=lon,
                       properties=properties or {}, values=values.get(pk, {}))
            for pk, code, kind, name, description, lat, lon, properties in rows
        ]

    def one(self, entity_id: mapping.EntityId) -> tuple[int, SensorView] | None:
        if entity_id.city != self.city.slug:
            return None
        found = self.views(self.sensors(types=[entity_id.type]).filter(code=entity_id.code))
        return found[0] if found else None

    def type_counts(self) -> dict[str, int]:
        counts = dict(self.sensors().order_by().values_list("kind").annotate(n=Count("id")))
        return {mapping.KIND_TO_TYPE[kind]: n for kind, n in counts.items() if n}

    def quantities_of(self, sensor_id: int) -> dict[str, list[int]]:
        """The quantity ids a sensor measures, by code (a global row and the city's own may share one)."""
        codes: dict[str, list[int]] = {}
        for pk, code in Sensor.quantities.through.objects.filter(sensor_id=sensor_id).values_list(
            "quantity_id", "quantity__code"
        ):
            codes.setdefault(code, []).append(pk)
        return codes

    def series(
        self, sensor_id: int, quantity_ids: list[int], *, start: dt.datetime | None, end: dt.datetime | None,
        last_n: int | None, limit: int,
    ) -> tuple[list[tuple[dt.datetime, float]], bool]:
        """The raw observations in [start, end), oldest first: the last `last_n`, else the first `limit`.
        Returns (points, truncated)."""
        qs = Observation.objects.filter(sensor_id=sensor_id, quantity_id__in=quantity_ids)
        if start is not None:
            qs = qs.filter(time__gte=start)
        if end is not None:
            qs = qs.filter(time__lt=end)
        if last_n is not None:
            points = list(qs.order_by("-time").values_list("time", "value")[:last_n])
            points.reverse()
            return points, False
        points = list(qs.order_by("time").values_list("time", "value")[: limit + 1])
        return points[:limit], len(points) > limit
