"""The area of a warning or a rule: communes of the city (by code) and/or a GeoJSON polygon inside it.

`clean_area` is the one place that turns user input into a stored area. Whatever is given, the result
lists every commune the area touches (`commune_codes`): delivery joins subscriptions on those codes,
so a polygon is reduced to the communes it intersects here, once, and never again on the hot path.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import shapely
from django.db.models import Q
from django.utils.translation import gettext as _
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from dothi.core import geo
from dothi.core.errors import InvalidInput, OutsideCity
from dothi.core.models import City, Commune, CommuneArea

# A hand-drawn polygon needs far fewer; more is an imported boundary that should be a commune list, and
# every vertex is repeated in each CAP message (twice, one per language).
MAX_VERTICES = 1000
MAX_COMMUNES = 500
# Approximate commune cells stop short of the coast and of the true border: a polygon may stick out of
# the city's outline by this share of its area (a storm area drawn over the shore) and still count as
# inside.
OUTSIDE_TOLERANCE = 0.2

Bbox = tuple[float, float, float, float]  # (min_lon, min_lat, max_lon, max_lat)


@dataclass(frozen=True)
class Area:
    commune_codes: list[str]
    polygon: dict | None
    bbox: Bbox | None


def _codes(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        # A form field: "48001, 48002" or one code per line.
        value = value.replace(",", " ").split()
    if not isinstance(value, list | tuple | set | frozenset):
        raise InvalidInput(_("Communes must be a list of commune codes."), field="commune_codes")
    codes = []
    for item in value:
        code = getattr(item, "code", item)  # a Commune object is accepted too
        if not isinstance(code, str | int) or isinstance(code, bool):
            raise InvalidInput(_("Communes must be a list of commune codes."), field="commune_codes")
        code = str(code).strip()
        if code and code not in codes:
            codes.append(code)
    if len(codes) > MAX_COMMUNES:
        raise InvalidInput(
            _("An area can list at most %(n)d communes.") % {"n": MAX_COMMUNES}, field="commune_codes"
        )
    return codes


def _check_communes(city: City, codes: list[str]) -> list[str]:
    known = set(
        Commune.objects.filter(province_id=city.province_code, code__in=codes).values_list("code", flat=True)
    )
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise InvalidInput(
            _("Unknown commune of %(city)s: %(codes)s.")
            % {"city": city.name, "codes": ", ".join(unknown[:5])},
            field="commune_codes",
            code="commune_unknown",
        )
    return sorted(codes)


def _finite_coordinates(coords: Any, depth: int) -> bool:
    """Nested lists of [lon, lat] (extra ordinates allowed) with finite numbers on Earth."""
    if not isinstance(coords, list | tuple):
        return False
    if depth == 0:
        if len(coords) < 2:
            return False
        for v in coords:
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                return False
        lon, lat = coords[0], coords[1]
        return -180 <= lon <= 180 and -90 <= lat <= 90
    return all(_finite_coordinates(c, depth - 1) for c in coords)


def parse_polygon(value: Any) -> BaseGeometry:
    """A GeoJSON Polygon or MultiPolygon (a dict, or its JSON text; a Feature's geometry is taken),
    as a valid, non-empty Shapely geometry. Raises InvalidInput on field "polygon"."""
    bad = InvalidInput(
        _("The area must be a GeoJSON Polygon or MultiPolygon in longitude/latitude."),
        field="polygon",
        code="polygon_invalid",
    )
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise bad from None
    if isinstance(value, dict) and value.get("type") == "Feature":
        value = value.get("geometry")
    if not isinstance(value, dict) or value.get("type") not in ("Polygon", "MultiPolygon"):
        raise bad
    depth = 3 if value["type"] == "Polygon" else 4
    if not _finite_coordinates(value.get("coordinates"), depth - 1):
        raise bad
    try:
        geom = shape({"type": value["type"], "coordinates": value["coordinates"]})
    except (ValueError, TypeError, AttributeError, IndexError, shapely.errors.GEOSException):
        raise bad from None
    if shapely.get_num_coordinates(geom) > MAX_VERTICES:
        raise InvalidInput(
            _("The area has too many points (at most %(n)d).") % {"n": MAX_VERTICES},
            field="polygon",
            code="polygon_too_complex",
        )
    empty = InvalidInput(_("The area is empty."), field="polygon", code="polygon_empty")
    if geom.is_empty:
        raise empty
    if not geom.is_valid:
        raise InvalidInput(
            _("The area's outline crosses itself or is otherwise invalid: %(reason)s.")
            % {"reason": shapely.is_valid_reason(geom)},
            field="polygon",
            code="polygon_invalid",
        )
    if geom.area <= 0:
        raise empty
    return geom


def _as_json(geom: BaseGeometry) -> dict:
    # Lists, not tuples, and 1e-6 degree: what is stored is what comes back from the database.
    rounded = shapely.set_precision(geom, geo.PRECISION_DEG)
    if rounded.is_empty or not rounded.is_valid:
        rounded = geom
    return json.loads(json.dumps(mapping(rounded)))


def _union_bbox(boxes: list[Bbox]) -> Bbox | None:
    if not boxes:
        return None
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def communes_of_polygon(city: City, geom: BaseGeometry) -> list[str]:
    """The codes of the city's communes whose boundary shares some area with `geom`."""
    min_lon, min_lat, max_lon, max_lat = geom.bounds
    # The bounding-box columns are indexed: only candidates are decoded.
    candidates = CommuneArea.objects.filter(
        city=city, min_lon__lte=max_lon, max_lon__gte=min_lon, min_lat__lte=max_lat, max_lat__gte=min_lat
    ).values_list("commune_id", "geometry")
    shapely.prepare(geom)
    codes = []
    for code, geometry in candidates:
        cell = shape(geometry)
        # Touching along an edge is not "in the area": only a shared surface counts.
        if geom.intersects(cell) and not geom.touches(cell):
            codes.append(code)
    return sorted(set(codes))


def _communes_bbox(city: City, codes: list[str]) -> Bbox | None:
    rows = CommuneArea.objects.filter(city=city, commune_id__in=codes).values_list(
        "min_lon", "min_lat", "max_lon", "max_lat"
    )
    boxes = list(rows)
    if not boxes:
        # No boundaries yet (a new city): the communes' centre points are better than nothing.
        points = Commune.objects.filter(
            Q(code__in=codes), centre_lat__isnull=False, centre_lon__isnull=False
        ).values_list("centre_lon", "centre_lat")
        boxes = [(lon, lat, lon, lat) for lon, lat in points]
    return _union_bbox(boxes)


def clean_area(city: City, *, commune_codes=(), polygon=None, required: bool = True) -> Area:
    """Validate an area of `city`: commune codes of the city and/or a GeoJSON (Multi)Polygon inside it.

    Returns the communes the area touches (the given ones plus every commune the polygon intersects),
    the polygon as stored GeoJSON, and the bounding box. Raises InvalidInput (unknown commune, invalid
    polygon, neither given while `required`) or OutsideCity (a polygon outside the city)."""
    codes = _check_communes(city, _codes(commune_codes)) if commune_codes else []
    if polygon in (None, "", {}):
        if not codes:
            if required:
                raise InvalidInput(
                    _("Choose the communes of the area or draw it on the map."),
                    field="commune_codes",
                    code="area_required",
                )
            return Area([], None, None)
        return Area(codes, None, _communes_bbox(city, codes))
    geom = parse_polygon(polygon)
    outline = geo.city_outline(city)
    outside = OutsideCity(
        _("The area is outside %(city)s.") % {"city": city.name}, field="polygon", code="outside_city"
    )
    if outline.is_empty or not geom.intersects(outline):
        raise outside
    if geom.difference(outline).area > OUTSIDE_TOLERANCE * geom.area:
        raise OutsideCity(
            _("Part of the area lies outside %(city)s: draw it inside the city.") % {"city": city.name},
            field="polygon",
            code="outside_city",
        )
    touched = communes_of_polygon(city, geom)
    if not touched:
        raise outside
    all_codes = sorted(set(codes) | set(touched))
    boxes = [geom.bounds]
    if codes:
        box = _communes_bbox(city, codes)
        if box is not None:
            boxes.append(box)
    return Area(all_codes, _as_json(geom), _union_bbox(boxes))


def city_commune_codes(city: City) -> list[str]:
    """Every commune of the city that has a boundary (the whole city, for a rule without an area)."""
    codes = list(CommuneArea.objects.filter(city=city).values_list("commune_id", flat=True))
    if not codes:
        codes = list(Commune.objects.filter(province_id=city.province_code).values_list("code", flat=True))
    return sorted(codes)
