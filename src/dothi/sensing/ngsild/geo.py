"""NGSI-LD geo-queries (ETSI GS CIM 009, 4.10) on the sensors' points: `georel` (`near;maxDistance==m`,
`near;minDistance==m`, `within`, `intersects`, `disjoint`, `equals`, `contains`, `overlaps`), `geometry`
and `coordinates` (the GeoJSON coordinates of the query's shape, WGS84), `geoproperty` (only `location`).
Distances are great-circle metres; the other relations are planar in longitude/latitude (Shapely), as
GeoJSON is."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

from django.utils.translation import gettext as _
from shapely.geometry import Point, shape

from dothi.sensing.ngsild import query
from dothi.sensing.ngsild.errors import bad_request

GEOMETRIES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
RELATIONS = ("within", "intersects", "disjoint", "equals", "contains", "overlaps")
EARTH_RADIUS_M = 6_371_008.8


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def parse(params: Mapping[str, Any]) -> Callable[[float, float], bool] | None:
    """A predicate on (lon, lat) for the request's geo-query, None without one; BadRequestData when it is
    incomplete or malformed."""
    georel = query.text(params, "georel", max_length=100)
    geometry = query.text(params, "geometry", max_length=40)
    raw = query.text(params, "coordinates", max_length=100_000)
    geoproperty = query.text(params, "geoproperty", max_length=100) or "location"
    if not (georel or geometry or raw):
        return None
    if not (georel and geometry and raw):
        raise bad_request(_("A geo-query needs georel, geometry and coordinates."))
    if geoproperty != "location":
        raise bad_request(_("Only the location can be queried (geoproperty=location)."))
    if geometry not in GEOMETRIES:
        raise bad_request(_("geometry must be one of %(names)s.") % {"names": ", ".join(GEOMETRIES)})
    try:
        coordinates = json.loads(raw)
        shaped = shape({"type": geometry, "coordinates": coordinates})
        valid = not shaped.is_empty
    except Exception:  # Shapely raises several kinds of error for coordinates that make no shape
        valid = False
    if not valid:
        raise bad_request(_("coordinates are not valid GeoJSON coordinates of a %(geometry)s.")
                          % {"geometry": geometry})
    relation, _sep, modifier = georel.partition(";")
    if relation == "near":
        if geometry != "Point":
            raise bad_request(_("georel=near needs geometry=Point."))
        name, _eq, value = modifier.partition("==")
        try:
            distance = float(value)
        except ValueError:
            distance = -1.0
        if name not in ("maxDistance", "minDistance") or not 0 <= distance < 1e8:
            raise bad_request(_("georel=near needs maxDistance==<metres> or minDistance==<metres>."))
        lon0, lat0 = shaped.x, shaped.y
        if name == "maxDistance":
            return lambda lon, lat: _metres(lon0, lat0, lon, lat) <= distance
        return lambda lon, lat: _metres(lon0, lat0, lon, lat) >= distance
    if relation not in RELATIONS or modifier:
        raise bad_request(
            _("georel must be near;maxDistance==<m>, near;minDistance==<m>, or one of %(names)s.")
            % {"names": ", ".join(RELATIONS)}
        )
    return lambda lon, lat: bool(getattr(Point(lon, lat), relation)(shaped))
