"""Per-feature checks of an import: `check(layer, raw, *, city_outline, transform) -> CleanFeature`.

A feature is accepted when its geometry is readable, valid (GEOS's reason in the message otherwise), of
the layer's `geometry_kind`, inside the city (its representative point in the city's outline and the
whole geometry within `MARGIN_M` of it) and its attributes match the layer's schema (required, type,
choices). The clean feature carries the geometry reprojected to WGS84 and rounded to 1e-6°, its GeoJSON
text, bounding box, representative point, length (m) and area (m²) on a local projection, and its name
(`layer.name_attribute`) with an accent-free key for the place search.

Every error is an `InvalidInput` (field `file`) whose message starts with where the feature is
("Line 12: ...", "Feature 7: ...") and whose `where` carries the same.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import shapely
from django.utils.translation import gettext as _
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from dothi.core import geo
from dothi.core.errors import InvalidInput
from dothi.core.text import fold_key
from dothi.layers.readers import RawFeature

MARGIN_M = 1000.0
FID_MAX = 80
NAME_MAX = 200
KINDS = {
    "point": ("Point", "MultiPoint"),
    "line": ("LineString", "MultiLineString"),
    "polygon": ("Polygon", "MultiPolygon"),
}
KINDS["any"] = KINDS["point"] + KINDS["line"] + KINDS["polygon"]
TYPES = ("str", "int", "float", "bool", "date")
_TRUE = {"true", "1", "yes", "y", "x", "co", "dung", "t"}
_FALSE = {"false", "0", "no", "n", "khong", "sai", "f"}
_INT = re.compile(r"^[+-]?\d+$")


@dataclass(frozen=True)
class Outline:
    """The city's outline for the inside-the-city check: `shape` (prepared) holds representative points,
    `margin` (prepared, `MARGIN_M` wider) holds whole geometries."""

    shape: BaseGeometry
    margin: BaseGeometry

    @property
    def is_empty(self) -> bool:
        return self.shape.is_empty


def outline_of(city) -> Outline:
    """The outline of `city` (the union of its commune boundaries), ready for `check`."""
    outline = geo.city_outline(city)
    if outline.is_empty:
        return Outline(shape=outline, margin=outline)
    proj = geo._LocalProjection(lat0=outline.centroid.y)
    margin = proj.inverse(proj.forward(outline).buffer(MARGIN_M / 1000.0, quad_segs=4))
    shapely.prepare(outline)
    shapely.prepare(margin)
    return Outline(shape=outline, margin=margin)


@dataclass(frozen=True)
class CleanFeature:
    number: int
    where: str
    fid: str
    name: str
    name_key: str
    geom: BaseGeometry  # WGS84, rounded
    geometry: str  # GeoJSON text of `geom`
    geom_type: str
    properties: dict[str, Any]
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float
    lon: float
    lat: float
    length_m: float
    area_m2: float

    def model_fields(self) -> dict[str, Any]:
        """The Feature columns this feature fills (besides city, layer, commune)."""
        return {
            "fid": self.fid,
            "name": self.name,
            "name_key": self.name_key,
            "geometry": self.geometry,
            "geom_type": self.geom_type,
            "properties": self.properties,
            "min_lon": self.min_lon,
            "min_lat": self.min_lat,
            "max_lon": self.max_lon,
            "max_lat": self.max_lat,
            "lon": self.lon,
            "lat": self.lat,
            "length_m": self.length_m,
            "area_m2": self.area_m2,
        }


def _fail(raw: RawFeature, message: str, *, code: str) -> InvalidInput:
    return InvalidInput(
        _("%(where)s: %(problem)s") % {"where": raw.where[:1].upper() + raw.where[1:], "problem": message},
        code=code,
        field="file",
        where=raw.where,
    )


def _round(geom: BaseGeometry) -> BaseGeometry:
    """Coordinates to 1e-6° keeping the geometry valid (GEOS snaps and repairs), printed short."""
    if geom.geom_type == "Point":  # the common case, without a GEOS round trip
        return shapely.Point(round(geom.x, 6), round(geom.y, 6))
    snapped = shapely.set_precision(geom, geo.PRECISION_DEG)
    return shapely.transform(snapped, lambda xy: np.round(xy, 6))


def geojson_text(geom: BaseGeometry) -> str:
    return json.dumps(mapping(geom), separators=(",", ":"))


def measures(geom: BaseGeometry) -> tuple[float, float]:
    """(length in m for lines, area in m² for polygons) on the local projection at the feature's latitude."""
    if geom.geom_type in ("Point", "MultiPoint"):
        return 0.0, 0.0
    min_lon, min_lat, max_lon, max_lat = geom.bounds
    local = geo._LocalProjection(lat0=(min_lat + max_lat) / 2).forward(geom)
    if geom.geom_type in ("LineString", "MultiLineString"):
        return round(local.length * 1000.0, 3), 0.0
    return 0.0, round(local.area * 1_000_000.0, 3)


def _representative(geom: BaseGeometry) -> tuple[float, float]:
    if geom.geom_type == "Point":
        return geom.x, geom.y
    if geom.geom_type == "LineString":
        point = geom.interpolate(0.5, normalized=True)  # the middle of the line, on it
    else:
        point = geom.representative_point()
    return round(point.x, 6), round(point.y, 6)


# --- Attributes ----------------------------------------------------------------------------------


def parse_number(value: Any) -> float:
    """A number from JSON or text; text may use the Vietnamese decimal comma ("12,5") and thousands
    dots ("1.234,5") or the English forms ("1,234.5")."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = str(value).strip().replace(" ", "").replace("\u00a0", "")
        if "," in text and "." in text:
            if text.rfind(",") > text.rfind("."):  # 1.234,5
                text = text.replace(".", "").replace(",", ".")
            else:  # 1,234.5
                text = text.replace(",", "")
        elif "," in text:
            text = text.replace(",", ".")
        number = float(text)
    if not math.isfinite(number):
        raise ValueError("not finite")
    return number


def _parse_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INT.match(value.strip()):
        return int(value.strip())
    number = parse_number(value)
    if not number.is_integer():
        raise ValueError("not whole")
    return int(number)


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    key = fold_key(str(value))
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ValueError("not a yes/no value")


def _parse_date(value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y%m%d", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text[:19] if "T" in text else text, pattern).date().isoformat()
        except ValueError:
            continue
    raise ValueError("not a date")


PARSERS: dict[str, Callable[[Any], Any]] = {
    "str": lambda v: str(v).strip() if not isinstance(v, float) or not v.is_integer() else str(int(v)),
    "int": _parse_int,
    "float": parse_number,
    "bool": _parse_bool,
    "date": _parse_date,
}


def _type_label(kind: str) -> str:
    labels = {
        "str": _("text"),
        "int": _("a whole number"),
        "float": _("a number"),
        "bool": _("yes or no"),
        "date": _("a date (YYYY-MM-DD or DD/MM/YYYY)"),
    }
    return str(labels.get(kind, kind))


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def check_properties(layer, raw: RawFeature) -> dict[str, Any]:
    """The feature's attributes checked against `layer.schema` and converted to their types (dates as
    ISO text); attributes the schema does not name are kept as they came."""
    props = dict(raw.properties)
    for spec in layer.schema or ():
        code = spec.get("code")
        if not code:
            continue
        kind = spec.get("type", "str")
        value = props.get(code)
        if _empty(value):
            if spec.get("required"):
                raise _fail(
                    raw,
                    _("the attribute “%(attr)s” is required.") % {"attr": code},
                    code="attribute_required",
                )
            props[code] = None
            continue
        try:
            converted = PARSERS.get(kind, PARSERS["str"])(value)
        except (TypeError, ValueError, OverflowError):
            raise _fail(
                raw,
                _("the attribute “%(attr)s” must be %(type)s, not “%(value)s”.")
                % {"attr": code, "type": _type_label(kind), "value": str(value)[:60]},
                code="attribute_type",
            )
        choices = spec.get("choices")
        if choices and converted not in choices and str(converted) not in [str(c) for c in choices]:
            raise _fail(
                raw,
                _("the attribute “%(attr)s” must be one of %(choices)s, not “%(value)s”.")
                % {
                    "attr": code,
                    "choices": ", ".join(str(c) for c in choices)[:200],
                    "value": str(value)[:60],
                },
                code="attribute_choice",
            )
        props[code] = converted
    return props


# --- The check -----------------------------------------------------------------------------------


def check(
    layer,
    raw: RawFeature,
    *,
    city_outline: Outline | None,
    transform: Callable[[BaseGeometry], BaseGeometry],
) -> CleanFeature:
    """Validate one raw feature for `layer`; `transform` reprojects from the file's coordinates to WGS84
    (`geo.to_wgs84(source.srid)`). `city_outline` None skips the inside-the-city check (the official
    commune boundaries of a `communes` layer define the city rather than fall in it)."""
    if raw.geometry is None:
        raise _fail(raw, (raw.problem or _("it has no geometry")) + ".", code="geometry_missing")
    geom = raw.geometry
    if geom.is_empty:
        raise _fail(raw, _("its geometry is empty."), code="geometry_missing")
    if shapely.has_z(geom):
        geom = shapely.force_2d(geom)
    allowed = KINDS.get(layer.geometry_kind, KINDS["any"])
    if geom.geom_type not in allowed:
        raise _fail(
            raw,
            _("its geometry is a %(type)s; this layer holds %(kind)s.")
            % {"type": geom.geom_type, "kind": ", ".join(allowed)},
            code="geometry_type",
        )
    if not geom.is_valid:
        raise _fail(
            raw,
            _("its geometry is invalid: %(reason)s.") % {"reason": shapely.is_valid_reason(geom)},
            code="geometry_invalid",
        )
    try:
        geom = transform(geom)
    except Exception:  # noqa: BLE001 - pyproj reports impossible coordinates as several types
        raise _fail(raw, _("its coordinates cannot be reprojected."), code="geometry_outside")
    min_lon, min_lat, max_lon, max_lat = geom.bounds
    if not all(map(math.isfinite, geom.bounds)) or not (
        -180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90
    ):
        raise _fail(
            raw,
            _(
                "its coordinates (%(x).1f, %(y).1f) are not longitude/latitude: if they are projected "
                "(e.g. VN-2000), give their EPSG code (srid)."
            )
            % {"x": raw.geometry.bounds[0], "y": raw.geometry.bounds[1]},
            code="srid_required",
        )
    geom = _round(geom)
    if geom.is_empty or not geom.is_valid or geom.geom_type not in allowed:
        raise _fail(raw, _("its geometry collapses at 1e-6° precision (too small)."), code="geometry_invalid")
    lon, lat = _representative(geom)
    if city_outline is not None:
        if city_outline.is_empty:
            raise _fail(
                raw, _("the city has no commune boundaries to check it against."), code="outside_city"
            )
        if not city_outline.shape.intersects(shapely.Point(lon, lat)):
            raise _fail(
                raw,
                _("it lies outside the city (at %(lon).6f, %(lat).6f).") % {"lon": lon, "lat": lat},
                code="outside_city",
            )
        if geom.geom_type != "Point" and not city_outline.margin.covers(geom):
            raise _fail(raw, _("its geometry reaches more than 1 km outside the city."), code="outside_city")
    properties = check_properties(layer, raw)
    fid = raw.fid if raw.fid is not None else str(raw.number)
    if len(fid) > FID_MAX:
        raise _fail(
            raw, _("its identifier is longer than %(max)d characters.") % {"max": FID_MAX}, code="fid_invalid"
        )
    name = ""
    if layer.name_attribute:
        value = properties.get(layer.name_attribute)
        name = "" if value is None else " ".join(str(value).split())[:NAME_MAX]
    length_m, area_m2 = measures(geom)
    min_lon, min_lat, max_lon, max_lat = geom.bounds
    return CleanFeature(
        number=raw.number,
        where=raw.where,
        fid=fid,
        name=name,
        name_key=fold_key(name)[:NAME_MAX],
        geom=geom,
        geometry=geojson_text(geom),
        geom_type=geom.geom_type,
        properties=properties,
        min_lon=min_lon,
        min_lat=min_lat,
        max_lon=max_lon,
        max_lat=max_lat,
        lon=lon,
        lat=lat,
        length_m=length_m,
        area_m2=area_m2,
    )


def check_schema(schema: Any) -> list[dict[str, Any]]:
    """A layer's attribute schema, checked: a list of {"code", "label_vi"?, "label_en"?, "type",
    "required"?, "choices"?} with distinct codes. InvalidInput on the field `schema` otherwise."""
    if schema in (None, ""):
        return []
    if not isinstance(schema, list | tuple):
        raise InvalidInput(
            _("The schema must be a list of attributes."), field="schema", code="schema_invalid"
        )
    seen: set[str] = set()
    cleaned = []
    for position, spec in enumerate(schema, start=1):
        if not isinstance(spec, dict):
            raise InvalidInput(
                _("Attribute %(n)d of the schema is not an object.") % {"n": position},
                field="schema",
                code="schema_invalid",
            )
        code = str(spec.get("code") or "").strip()
        if not code or len(code) > 60:
            raise InvalidInput(
                _("Attribute %(n)d of the schema needs a code (at most 60 characters).") % {"n": position},
                field="schema",
                code="schema_invalid",
            )
        if code in seen:
            raise InvalidInput(
                _("The schema names the attribute “%(code)s” twice.") % {"code": code},
                field="schema",
                code="schema_invalid",
            )
        seen.add(code)
        kind = spec.get("type", "str")
        if kind not in TYPES:
            raise InvalidInput(
                _("The attribute “%(code)s” has an unknown type “%(type)s” (use %(types)s).")
                % {"code": code, "type": kind, "types": ", ".join(TYPES)},
                field="schema",
                code="schema_invalid",
            )
        choices = spec.get("choices")
        if choices is not None and not isinstance(choices, list | tuple):
            raise InvalidInput(
                _("The choices of “%(code)s” must be a list.") % {"code": code},
                field="schema",
                code="schema_invalid",
            )
        item = {
            "code": code,
            "label_vi": str(spec.get("label_vi") or "")[:200],
            "label_en": str(spec.get("label_en") or "")[:200],
            "type": kind,
            "required": bool(spec.get("required", False)),
        }
        if choices:
            item["choices"] = list(choices)
        cleaned.append(item)
    return cleaned
