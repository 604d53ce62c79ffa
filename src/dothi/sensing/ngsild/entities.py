"""NGSI-LD entities <-> sensors: reading an entity a client sends, and writing a sensor as an entity
(normalized, or simplified with `options=keyValues`), or as its temporal representation.

Reading accepts the normalized form (`{"type": "Property", "value": 12, "observedAt": ...}`), the
concise one (`{"value": 12}`, or a bare `12`), and for a measurement an array of instances (several
observations of one attribute in one entity). The `location` GeoProperty must be a GeoJSON Point.
Attributes that are neither measurements, the location, `name`, `description` nor the observation
times are kept as they were sent, with the sensor, and answered back.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from dothi.sensing.ngsild import mapping
from dothi.sensing.ngsild.errors import bad_request
from dothi.sensing.ngsild.ld import short_name

# What a sensor keeps of an entity's other attributes, at most (JSON characters).
EXTRAS_MAX = 20_000
INSTANCES_MAX = 10_000
PROPERTIES_KEY = "ngsild"
IGNORED = ("@context", "id", "type", "createdAt", "modifiedAt", "deletedAt", "dateCreated", "dateModified",
           "scope")


@dataclass(frozen=True)
class Reading:
    attribute: str  # Smart Data Model name
    quantity: str
    time: dt.datetime
    value: float


@dataclass
class EntityInput:
    id: mapping.EntityId
    type: str
    lat: float | None = None
    lon: float | None = None
    name: str | None = None
    description: str | None = None
    readings: list[Reading] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return mapping.TYPE_TO_KIND[self.type]

    @property
    def quantities(self) -> list[str]:
        return list(dict.fromkeys(r.quantity for r in self.readings))

    def items(self) -> list[dict[str, Any]]:
        """The readings as items of the ingestion service."""
        return [{"sensor": self.id.code, "quantity": r.quantity, "time": r.time, "value": r.value}
                for r in self.readings]


def _attribute_value(name: str, raw: Any) -> Any:
    """The value of a Property given normalized ({"type": "Property", "value": v}), concise ({"value": v})
    or bare."""
    if isinstance(raw, dict):
        kind = raw.get("type")
        if kind not in (None, "Property"):
            raise bad_request(_("%(name)s must be a Property.") % {"name": name})
        if "value" not in raw:
            raise bad_request(_("%(name)s has no value.") % {"name": name})
        return raw["value"]
    return raw


def _text_value(name: str, raw: Any, max_length: int) -> str:
    value = _attribute_value(name, raw)
    if isinstance(value, dict) and "@value" in value:
        value = value["@value"]
    if not isinstance(value, str) or len(value) > max_length:
        raise bad_request(_("%(name)s must be a text of at most %(n)s characters.") % {"name": name,
                                                                                        "n": max_length})
    return value.strip()


def _location(raw: Any) -> tuple[float, float]:
    value = raw
    if isinstance(raw, dict) and raw.get("type") == "GeoProperty":
        value = raw.get("value")
    elif isinstance(raw, dict) and "value" in raw and raw.get("type") in (None, "Property"):
        value = raw["value"]
    is_point = isinstance(value, dict) and value.get("type") == "Point"
    coordinates = value.get("coordinates") if is_point else None
    if (
        not isinstance(coordinates, list)
        or len(coordinates) not in (2, 3)
        or not all(mapping.is_number(c) for c in coordinates)
    ):
        raise bad_request(
            _("location must be a GeoProperty whose value is a GeoJSON Point [longitude, latitude].")
        )
    lon, lat = float(coordinates[0]), float(coordinates[1])
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise bad_request(_("location is not a point on Earth: [longitude, latitude] are in degrees."))
    return lat, lon


def _observation_time(entity: dict[str, Any]) -> dt.datetime | None:
    """The entity's own time: dateObserved, else the end of its observation period."""
    for name in ("dateObserved", "dateObservedTo"):
        for key, raw in entity.items():
            if short_name(key) == name:
                return mapping.parse_time(_attribute_value(name, raw), name)
    return None


def measurement(name: str, quantity_codes: frozenset[str] | set[str]) -> mapping.Attribute | None:
    """The measurement an attribute name stands for: a Smart Data Model attribute, or a quantity of the
    city's catalogue by its own code (`aqi`), unless a Smart Data Model name stands for that code."""
    attribute = mapping.ATTRIBUTES.get(name)
    if attribute is not None:
        return attribute
    if name in quantity_codes and (name not in mapping.BY_QUANTITY or mapping.BY_QUANTITY[name].name == name):
        return mapping.Attribute(name, name, "")
    return None


def _instances(attribute: mapping.Attribute, raw: Any, default_time: dt.datetime | None) -> list[Reading]:
    instances = raw if isinstance(raw, list) else [raw]
    if not instances:
        raise bad_request(_("%(name)s has no value.") % {"name": attribute.name})
    readings = []
    for instance in instances:
        value = _attribute_value(attribute.name, instance)
        unit_code = instance.get("unitCode") if isinstance(instance, dict) else None
        observed = instance.get("observedAt") if isinstance(instance, dict) else None
        time = default_time
        if observed is not None:
            time = mapping.parse_time(observed, f"{attribute.name}.observedAt")
        if time is None:
            raise bad_request(
                _("%(name)s needs a time: give it an observedAt, or give the entity a dateObserved.")
                % {"name": attribute.name}
            )
        readings.append(Reading(attribute.name, attribute.quantity, time,
                                mapping.to_quantity_value(attribute, value, unit_code)))
    return readings


def parse(document: Any, *, city_slug: str, quantity_codes: frozenset[str] | set[str]) -> EntityInput:
    """An entity a client sent, checked: BadRequestData for anything we cannot store as it says."""
    if not isinstance(document, dict):
        raise bad_request(_("An entity must be a JSON object."))
    if "id" not in document or "type" not in document:
        raise bad_request(_("An entity needs an id and a type."))
    type_ = mapping.check_type(document["type"])
    entity_id = mapping.parse_entity_id(document["id"])
    if entity_id.type != type_:
        raise bad_request(_("The entity id names the type %(id_type)s, not %(type)s.")
                          % {"id_type": entity_id.type, "type": type_})
    if entity_id.city != city_slug:
        raise bad_request(_("The entity id names the city %(id_city)s, not this tenant (%(city)s).")
                          % {"id_city": entity_id.city, "city": city_slug})
    entity = EntityInput(id=entity_id, type=type_)
    default_time = _observation_time(document)
    seen: set[str] = set()
    for key, raw in document.items():
        name = short_name(key)
        if name in seen:
            raise bad_request(_("The attribute %(name)s is given twice.") % {"name": name})
        seen.add(name)
        if name in IGNORED or name in mapping.TIME_ATTRIBUTES:
            continue
        if name == "location":
            entity.lat, entity.lon = _location(raw)
        elif name == "name":
            entity.name = _text_value(name, raw, 200)
        elif name == "description":
            entity.description = _text_value(name, raw, 5000)
        elif (attribute := measurement(name, quantity_codes)) is not None:
            entity.readings.extend(_instances(attribute, raw, default_time))
        elif not name or len(name) > 100:
            raise bad_request(_("An attribute name must be 1 to 100 characters."))
        else:
            entity.extras[name] = raw
    if len(entity.readings) > INSTANCES_MAX:
        raise bad_request(_("At most %(n)s values in one entity.") % {"n": INSTANCES_MAX})
    if len(json.dumps(entity.extras, ensure_ascii=False)) > EXTRAS_MAX:
        raise bad_request(_("The entity's other attributes are too large to keep (at most %(n)s characters).")
                          % {"n": EXTRAS_MAX})
    return entity


# --- Answering ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SensorView:
    """What an entity is made of: a sensor and the latest value of each quantity it measured."""

    code: str
    kind: str
    name: str
    description: str
    lat: float
    lon: float
    properties: dict[str, Any]
    values: dict[str, tuple[dt.datetime, float]]  # quantity code -> (time, value)

    @property
    def type(self) -> str:
        return mapping.KIND_TO_TYPE[self.kind]

    def entity_id(self, city_slug: str) -> str:
        return mapping.entity_id(self.type, city_slug, self.code)


def attribute_name(quantity_code: str) -> str:
    attribute = mapping.BY_QUANTITY.get(quantity_code)
    return attribute.name if attribute else quantity_code


def unit_code(quantity_code: str) -> str:
    attribute = mapping.BY_QUANTITY.get(quantity_code)
    return attribute.unit_code if attribute else ""


def extras(sensor: SensorView) -> dict[str, Any]:
    kept = (sensor.properties or {}).get(PROPERTIES_KEY)
    return kept if isinstance(kept, dict) else {}


def has_attributes(sensor: SensorView, wanted: set[str]) -> bool:
    names = {attribute_name(q) for q in sensor.values} | set(extras(sensor)) | {"location", "name"}
    return bool(names & wanted)


def render(sensor: SensorView, city_slug: str, *, attrs: set[str] | None = None,
           key_values: bool = False) -> dict[str, Any]:
    """The sensor as an NGSI-LD entity with its latest values (each with its observedAt)."""
    body: dict[str, Any] = {"id": sensor.entity_id(city_slug), "type": sensor.type}

    def wanted(name: str) -> bool:
        return attrs is None or name in attrs

    point = {"type": "Point", "coordinates": [sensor.lon, sensor.lat]}
    if wanted("name"):
        body["name"] = sensor.name if key_values else {"type": "Property", "value": sensor.name}
    if sensor.description and wanted("description"):
        body["description"] = sensor.description if key_values else {"type": "Property",
                                                                     "value": sensor.description}
    if wanted("location"):
        body["location"] = point if key_values else {"type": "GeoProperty", "value": point}
    if sensor.values and wanted("dateObserved"):
        newest = max(t for t, _v in sensor.values.values())
        body["dateObserved"] = mapping.utc(newest) if key_values else mapping.datetime_property(newest)
    for quantity_code in sorted(sensor.values, key=attribute_name):
        name = attribute_name(quantity_code)
        if not wanted(name):
            continue
        time, value = sensor.values[quantity_code]
        if key_values:
            body[name] = value
            continue
        prop: dict[str, Any] = {"type": "Property", "value": value, "observedAt": mapping.utc(time)}
        code = unit_code(quantity_code)
        if code:
            prop["unitCode"] = code
        body[name] = prop
    for name, raw in extras(sensor).items():
        if wanted(name) and name not in body:
            simple = key_values and isinstance(raw, dict) and "value" in raw
            body[name] = raw["value"] if simple else raw
    return body


def render_temporal(sensor: SensorView, city_slug: str, series: dict[str, list[tuple[dt.datetime, float]]],
                    *, temporal_values: bool) -> dict[str, Any]:
    """The temporal representation: each measurement attribute an array of its instances (or, with
    options=temporalValues, {"type": "Property", "values": [[value, observedAt], ...]})."""
    body: dict[str, Any] = {"id": sensor.entity_id(city_slug), "type": sensor.type}
    for quantity_code in sorted(series, key=attribute_name):
        points = series[quantity_code]
        name = attribute_name(quantity_code)
        if temporal_values:
            body[name] = {"type": "Property", "values": [[v, mapping.utc(t)] for t, v in points]}
            continue
        code = unit_code(quantity_code)
        instances = []
        for t, v in points:
            instance: dict[str, Any] = {"type": "Property", "value": v, "observedAt": mapping.utc(t)}
            if code:
                instance["unitCode"] = code
            instances.append(instance)
        body[name] = instances
    return body
