"""Smart Data Models <-> the sensing module's vocabulary: entity types, entity ids, attribute names,
units and times.

An entity is a sensor. Its id is `urn:ngsi-ld:<Type>:<city slug>:<sensor code>`, so ids are unique across
every city a deployment serves; its type is one of the five Smart Data Models below. Its measurement
attributes are the sensor's quantities, each value with its `observedAt` an observation.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from dothi.sensing.ngsild.errors import bad_request


@dataclass(frozen=True)
class Attribute:
    """A Smart Data Model measurement attribute and the quantity it is stored as."""

    name: str  # the Smart Data Model attribute, e.g. "relativeHumidity"
    quantity: str  # the sensing quantity code, e.g. "humidity"
    unit_code: str  # the UN/CEFACT code of the quantity's own unit, answered on reads
    # Other units accepted on writes: unitCode -> factor to the quantity's unit.
    conversions: tuple[tuple[str, float], ...] = ()
    # The factor applied when a value comes without a unitCode (relativeHumidity is 0-1 in the models).
    default_factor: float = 1.0


# Measurement attributes, by Smart Data Model name. UN/CEFACT codes: GQ µg/m³, GP mg/m³, 59 ppm, 61 ppb,
# CEL °C, FAH °F, KEL K, P1 percent, C62 one (a fraction), MTS m/s, KMH km/h, DD degree, A97 hPa, PAL Pa,
# KPA kPa, MMT mm, MTR m, CMT cm, 2N dB. Counts (vehicles) and indexes have no unit code.
ATTRIBUTES: dict[str, Attribute] = {a.name: a for a in (
    Attribute("pm25", "pm25", "GQ"),
    Attribute("pm10", "pm10", "GQ"),
    Attribute("no2", "no2", "GQ"),
    Attribute("o3", "o3", "GQ"),
    Attribute("co", "co", "GQ", conversions=(("GP", 1000.0),)),
    Attribute("so2", "so2", "GQ"),
    Attribute("airQualityIndex", "aqi", "", conversions=(("C62", 1.0),)),
    Attribute("temperature", "temperature", "CEL", conversions=(("KEL", 1.0), ("FAH", 5 / 9))),
    Attribute("relativeHumidity", "humidity", "P1", conversions=(("C62", 100.0),), default_factor=100.0),
    Attribute("windSpeed", "wind_speed", "MTS", conversions=(("KMH", 1 / 3.6),)),
    Attribute("windDirection", "wind_direction", "DD"),
    Attribute("atmosphericPressure", "pressure", "A97", conversions=(("PAL", 0.01), ("KPA", 10.0))),
    Attribute("precipitation", "rainfall", "MMT"),
    Attribute("height", "water_level", "MTR", conversions=(("CMT", 0.01),)),
    Attribute("intensity", "vehicle_count", "", conversions=(("C62", 1.0),)),
    Attribute("averageVehicleSpeed", "average_speed", "KMH", conversions=(("MTS", 3.6),)),
    Attribute("LAeq", "noise", "2N"),
)}
BY_QUANTITY: dict[str, Attribute] = {a.quantity: a for a in ATTRIBUTES.values()}
# Added after the factor: Kelvin and Fahrenheit to Celsius.
OFFSETS = {("temperature", "KEL"): -273.15, ("temperature", "FAH"): -32 * 5 / 9}

# The five entity types and the attributes each usually carries (answered by GET /types/{type}).
TYPES: dict[str, tuple[str, ...]] = {
    "AirQualityObserved": ("pm25", "pm10", "no2", "o3", "co", "so2", "airQualityIndex", "temperature",
                           "relativeHumidity", "windSpeed", "windDirection", "precipitation"),
    "WaterObserved": ("height", "precipitation", "temperature"),
    "WeatherObserved": ("temperature", "relativeHumidity", "windSpeed", "windDirection",
                        "atmosphericPressure", "precipitation"),
    "TrafficFlowObserved": ("intensity", "averageVehicleSpeed"),
    "NoiseLevelObserved": ("LAeq",),
}
# Sensor kinds <-> entity types (cameras are not entities here).
KIND_TO_TYPE = {
    "air": "AirQualityObserved",
    "water": "WaterObserved",
    "weather": "WeatherObserved",
    "traffic": "TrafficFlowObserved",
    "noise": "NoiseLevelObserved",
}
TYPE_TO_KIND = {type_: kind for kind, type_ in KIND_TO_TYPE.items()}
# Attributes about the observation as a whole, never stored as observations.
TIME_ATTRIBUTES = ("dateObserved", "dateObservedFrom", "dateObservedTo")
# Attributes the platform answers itself: a client's value is not kept.
SYSTEM_ATTRIBUTES = ("id", "type", "@context", "location", "name", "description", "dateCreated",
                     "dateModified", "createdAt", "modifiedAt", "scope", *TIME_ATTRIBUTES)

ENTITY_ID_RE = re.compile(
    r"^urn:ngsi-ld:(?P<type>[A-Za-z]+):(?P<city>[a-z0-9-]{1,40}):(?P<code>[A-Za-z0-9][A-Za-z0-9._:-]{0,99})$"
)


@dataclass(frozen=True)
class EntityId:
    type: str
    city: str
    code: str

    def __str__(self) -> str:
        return entity_id(self.type, self.city, self.code)


def entity_id(type_: str, city_slug: str, code: str) -> str:
    return f"urn:ngsi-ld:{type_}:{city_slug}:{code}"


def parse_entity_id(value: Any, *, strict: bool = True) -> EntityId | None:
    """The parts of an entity id. An id that is not even a URI is BadRequestData; a well-formed URI
    outside our scheme is None (no such entity here) unless `strict`, where it is BadRequestData too."""
    if not isinstance(value, str) or not value or len(value) > 256 or ":" not in value or " " in value:
        raise bad_request(_("The entity id must be a URI."))
    match = ENTITY_ID_RE.match(value)
    if match is None or match["type"] not in TYPES:
        if strict:
            raise bad_request(
                _("The entity id must be urn:ngsi-ld:<type>:<city>:<sensor code>, with one of the types "
                  "%(types)s.") % {"types": ", ".join(TYPES)}
            )
        return None
    return EntityId(match["type"], match["city"], match["code"])


def check_type(value: Any) -> str:
    if not isinstance(value, str) or short_type(value) not in TYPES:
        raise bad_request(
            _("The entity type must be one of %(types)s.") % {"types": ", ".join(TYPES)}
        )
    return short_type(value)


def short_type(value: str) -> str:
    if value.startswith(("http://", "https://")):
        return re.split(r"[/#]", value.rstrip("/#"))[-1]
    return value


# --- Values and times ----------------------------------------------------------------------------------


def parse_time(value: Any, name: str) -> dt.datetime:
    """An NGSI-LD date-time: a string, or {"@type": "DateTime", "@value": ...}; an interval "a/b" is its
    end (the older NoiseLevelObserved dateObserved)."""
    if isinstance(value, dict):
        value = value.get("@value")
    if isinstance(value, str) and "/" in value:
        value = value.rsplit("/", 1)[1]
    parsed = None
    if isinstance(value, str) and len(value) <= 40:
        try:
            parsed = parse_datetime(value.strip())
        except (ValueError, OverflowError):
            parsed = None
    if parsed is None:
        raise bad_request(
            _("%(name)s must be a date and time such as 2026-05-01T00:00:00Z.") % {"name": name}
        )
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:  # the year 1 with a positive offset
        raise bad_request(
            _("%(name)s must be a date and time such as 2026-05-01T00:00:00Z.") % {"name": name}
        )


def is_number(value: Any) -> bool:
    """A finite number a float can hold (not a boolean, NaN, infinity or a 400-digit integer)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def to_quantity_value(attribute: Attribute, value: Any, unit_code: Any) -> float:
    """A value in the quantity's own unit; BadRequestData for a value that is not a finite number or a
    unit we cannot convert."""
    if not is_number(value):
        raise bad_request(_("%(name)s must be a number.") % {"name": attribute.name})
    if unit_code in (None, ""):
        if attribute.default_factor != 1 and not 0 <= value <= 1:
            # A percentage sent where the models say a fraction: say so rather than "out of range".
            raise bad_request(
                _("%(name)s is a fraction from 0 to 1; send unitCode %(code)s for a percentage.")
                % {"name": attribute.name, "code": attribute.unit_code}
            )
        return float(value) * attribute.default_factor
    if unit_code == attribute.unit_code:
        return float(value)
    factor = dict(attribute.conversions).get(unit_code) if isinstance(unit_code, str) else None
    if factor is None:
        codes = [code for code in (attribute.unit_code, *dict(attribute.conversions)) if code]
        if not codes:
            raise bad_request(
                _("%(name)s: send the value in the quantity's own unit, without a unitCode.")
                % {"name": attribute.name}
            )
        raise bad_request(
            _("%(name)s: unitCode %(code)s is not supported; use %(codes)s.")
            % {"name": attribute.name, "code": str(unit_code)[:20], "codes": ", ".join(codes)}
        )
    return float(value) * factor + OFFSETS.get((attribute.quantity, unit_code), 0.0)


def utc(value: dt.datetime) -> str:
    """An NGSI-LD DateTime: UTC with a Z; milliseconds only when there are any."""
    value = value.astimezone(dt.UTC)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def datetime_property(value: dt.datetime) -> dict[str, Any]:
    return {"type": "Property", "value": {"@type": "DateTime", "@value": utc(value)}}
