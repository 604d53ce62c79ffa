"""The writes behind the NGSI-LD API: an entity registers or updates its sensor through the registry
services, and its values become observations through THE ingestion service.

One entity is one transaction (a savepoint inside a batch): if anything in it is refused (a value out
of its physical range, a time in the future, a point outside the city…), nothing of it is stored and the
entity is answered with BadRequestData and the reasons; the ingestion rejections are still counted
for the key's data source, as on every path.

Who may change what: any ingestion key of the city may add observations to any of its sensors (as the
bulk API) and add other attributes to it (merged, never replaced), but only the data source that
registered a sensor may move it, rename it, add quantities to it, replace its other attributes, bring it
back or delete it; for a sensor registered otherwise (the admin, an import) sending its current location
and name is fine, changing them is refused (403).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dothi.core.errors import DomainError
from dothi.core.models import City
from dothi.sensing import catalogue, ingestion, services
from dothi.sensing.keys import Credentials
from dothi.sensing.models import Sensor
from dothi.sensing.ngsild import mapping
from dothi.sensing.ngsild.entities import PROPERTIES_KEY, EntityInput
from dothi.sensing.ngsild.errors import NgsiError, bad_request

Mode = Literal["create", "upsert", "update"]
REASONS_SHOWN = 5


@dataclass(frozen=True)
class Written:
    created: bool  # the entity did not exist (or its sensor was retired)


def _forbidden(detail: str) -> NgsiError:
    return NgsiError(None, detail, status=403)


def _owned(sensor: Sensor, credentials: Credentials) -> bool:
    return sensor.source_id == credentials.source.pk


def _same_point(sensor: Sensor, entity: EntityInput) -> bool:
    # About a centimetre: a point written back as it was read is the same point.
    return abs(sensor.lat - entity.lat) < 1e-7 and abs(sensor.lon - entity.lon) < 1e-7


def _register(city: City, credentials: Credentials, entity: EntityInput) -> Sensor:
    if entity.lat is None:
        raise bad_request(_("location (a GeoProperty Point) is required to register a sensor."))
    return services.sensor_register(
        actor=None, city=city, code=entity.id.code, source=credentials.source,
        name=entity.name or entity.id.code, kind=entity.kind, lat=entity.lat, lon=entity.lon,
        quantities=entity.quantities, description=entity.description or "",
        properties={PROPERTIES_KEY: entity.extras} if entity.extras else {},
    )


def _changes(sensor: Sensor, measured: set[str], credentials: Credentials, entity: EntityInput, *,
             replace: bool) -> tuple[dict, list[str]]:
    """The registry fields an entity changes on its existing sensor, and the quantities it adds."""
    fields: dict = {}
    if sensor.status == Sensor.Status.RETIRED:
        fields["status"] = Sensor.Status.ACTIVE
    if entity.lat is not None and not _same_point(sensor, entity):
        fields["lat"], fields["lon"] = entity.lat, entity.lon
    if entity.name is not None and entity.name != sensor.name:
        fields["name"] = entity.name
    if entity.description is not None and entity.description != sensor.description:
        fields["description"] = entity.description
    missing = [q for q in entity.quantities if q not in measured]
    if missing:
        fields["quantities"] = [*sorted(measured), *missing]
    kept = (sensor.properties or {}).get(PROPERTIES_KEY) or {}
    # Replacing drops the attributes not sent again, but only the registering source's own entity.
    extras = entity.extras if replace and _owned(sensor, credentials) else {**kept, **entity.extras}
    if extras != kept:
        fields["properties"] = {**(sensor.properties or {}), PROPERTIES_KEY: extras}
    return fields, missing


def _update(sensor: Sensor, credentials: Credentials, entity: EntityInput, *, replace: bool) -> None:
    measured = set(sensor.quantities.values_list("code", flat=True))
    fields, missing = _changes(sensor, measured, credentials, entity, replace=replace)
    if not fields:
        return
    if not _owned(sensor, credentials):
        # Another source's (or the city's own) sensor: its other attributes are merged, its place, name
        # and quantities stay the registry's.
        if set(fields) - {"properties", "quantities"}:
            raise _forbidden(
                _("The sensor %(sensor)s was registered by another data source: its location, name and "
                  "description are changed by that source or in the admin.") % {"sensor": sensor.code}
            )
        if missing:
            raise bad_request(
                _("The sensor %(sensor)s does not measure %(quantities)s.")
                % {"sensor": sensor.code, "quantities": ", ".join(missing)}
            )
    services.sensor_update(actor=None, sensor=sensor, **fields)


def _store(city: City, credentials: Credentials, entity: EntityInput, mode: Mode, *, replace: bool,
           now: dt.datetime) -> Written:
    sensor = Sensor.objects.for_city(city).filter(code=entity.id.code).first()
    exists = sensor is not None and sensor.status != Sensor.Status.RETIRED
    if sensor is not None and mapping.KIND_TO_TYPE.get(sensor.kind) != entity.type:
        if mode == "create":
            raise NgsiError("AlreadyExists", _("A sensor %(sensor)s exists with another type.")
                            % {"sensor": sensor.code})
        raise bad_request(_("The sensor %(sensor)s is not of the type %(type)s.")
                          % {"sensor": sensor.code, "type": entity.type})
    if mode == "create" and exists:
        raise NgsiError("AlreadyExists", _("The entity %(id)s already exists.") % {"id": str(entity.id)})
    if mode == "update" and not exists:
        raise NgsiError("ResourceNotFound", _("There is no entity %(id)s.") % {"id": str(entity.id)})
    created = False
    if sensor is None:
        sensor = _register(city, credentials, entity)
        created = True
    else:
        if not exists and not _owned(sensor, credentials):
            # A retired sensor is brought back only by the source that registered it.
            detail = _("The sensor %(sensor)s is retired; it was registered by another data source.") % {
                "sensor": sensor.code}
            raise NgsiError("AlreadyExists", detail) if mode == "create" else _forbidden(detail)
        created = not exists
        _update(sensor, credentials, entity, replace=replace or mode == "create")
    items = entity.items()
    if not items:
        return Written(created=created)
    result = ingestion.ingest(city=city, source=credentials.source, items=items, now=now)
    if result.rejected:
        raise _Rejected(items, result.rejected)
    return Written(created=created)


class _Rejected(Exception):
    def __init__(self, items, rejected):
        super().__init__("rejected")
        self.items = items
        self.rejected = rejected


def _reasons(items: list[dict], rejected: list) -> str:
    reasons = "; ".join(
        f"{items[r.index]['quantity']} @ {items[r.index]['time'].isoformat()}: {r.reason}"
        for r in rejected[:REASONS_SHOWN]
    )
    more = len(rejected) - REASONS_SHOWN
    if more > 0:
        reasons += " " + _("(and %(n)s more)") % {"n": more}
    return reasons


def write(city: City, credentials: Credentials, entity: EntityInput, mode: Mode, *,
          replace: bool = True) -> Written:
    """Create, upsert or update one entity, all or nothing. Raises NgsiError."""
    now = timezone.now()
    try:
        with transaction.atomic():
            return _store(city, credentials, entity, mode, replace=replace, now=now)
    except _Rejected as exc:
        catalogue.clear()  # it may have read a sensor registered in the rolled-back savepoint
        # Counted as on every path, outside the rolled-back savepoint (the ingestion module's own helper).
        ingestion._count_rejections(city, credentials.source, exc.items, exc.rejected, now)
        raise bad_request(_reasons(exc.items, exc.rejected))
    except DomainError as exc:
        catalogue.clear()
        detail = f"{exc.field}: {exc.message}" if exc.field else exc.message
        raise bad_request(detail)
    except NgsiError:
        catalogue.clear()
        raise


class _Retry(Exception):
    pass


def write_many(city: City, credentials: Credentials, entities: list[EntityInput], mode: Mode, *,
               replace: bool = True) -> list[Written | NgsiError]:
    """A batch: each entity all or nothing, answered in order with its Written or its NgsiError.

    The steady state of a platform feeding the city (upserts of known sensors that only bring new values)
    takes the fast way: the batch's sensors in two queries, every value checked at once, and one call of
    the ingestion service for the values of all the entities that passed. Anything else — a new sensor, a
    move, new quantities or attributes, an id twice in the batch — goes one entity at a time (`write`)."""
    outcomes: list[Written | NgsiError | None] = [None] * len(entities)
    fast: list[int] = []
    if mode != "create":
        codes = [e.id.code for e in entities]
        repeated = {code for code, n in Counter(codes).items() if n > 1}
        sensors = {s.code: s for s in Sensor.objects.for_city(city).filter(code__in=set(codes))}
        measured: dict[int, set[str]] = {}
        for sensor_id, code in Sensor.quantities.through.objects.filter(
            sensor_id__in=[s.pk for s in sensors.values()]
        ).values_list("sensor_id", "quantity__code"):
            measured.setdefault(sensor_id, set()).add(code)
        for index, entity in enumerate(entities):
            sensor = sensors.get(entity.id.code)
            if (
                sensor is not None and entity.id.code not in repeated
                and sensor.status != Sensor.Status.RETIRED
                and mapping.KIND_TO_TYPE.get(sensor.kind) == entity.type
                and not _changes(sensor, measured.get(sensor.pk, set()), credentials, entity,
                                 replace=replace)[0]
            ):
                fast.append(index)
    if fast:
        try:
            _write_fast(city, credentials, entities, fast, outcomes)
        except _Retry:
            for index in fast:
                outcomes[index] = None
    for index, entity in enumerate(entities):
        if outcomes[index] is None:
            try:
                outcomes[index] = write(city, credentials, entity, mode, replace=replace)
            except NgsiError as exc:
                outcomes[index] = exc
    return outcomes  # type: ignore[return-value]


def _write_fast(city: City, credentials: Credentials, entities: list[EntityInput], chosen: list[int],
                outcomes: list) -> None:
    now = timezone.now()
    items: list[dict] = []
    owners: list[int] = []
    for index in chosen:
        for item in entities[index].items():
            items.append(item)
            owners.append(index)
    _cat, _rows, rejected = ingestion.validate(city, items, now=now)
    refused: dict[int, list] = {}
    for rejection in rejected:
        refused.setdefault(owners[rejection.index], []).append(rejection)
    good = [item for item, owner in zip(items, owners, strict=True) if owner not in refused]
    with transaction.atomic():
        result = ingestion.ingest(city=city, source=credentials.source, items=good, now=now) if good else None
        if result is not None and result.rejected:
            # Something changed since the check (a sensor retired meanwhile): undo, go one by one.
            raise _Retry
    if rejected:
        ingestion._count_rejections(city, credentials.source, items, rejected, now)
    for index in chosen:
        if index in refused:
            outcomes[index] = bad_request(_reasons(items, refused[index]))
        else:
            outcomes[index] = Written(created=False)


def delete(city: City, credentials: Credentials, entity_id: mapping.EntityId) -> None:
    """Retire the sensor (its observations are kept; it is no longer an entity). Raises NgsiError."""
    sensor = None
    if entity_id.city == city.slug:
        sensor = (
            Sensor.objects.for_city(city)
            .filter(code=entity_id.code, kind=mapping.TYPE_TO_KIND[entity_id.type])
            .exclude(status=Sensor.Status.RETIRED)
            .first()
        )
    if sensor is None:
        raise NgsiError("ResourceNotFound", _("There is no entity %(id)s.") % {"id": str(entity_id)})
    if not _owned(sensor, credentials):
        raise _forbidden(_("The sensor %(sensor)s was registered by another data source: it is retired in "
                           "the admin.") % {"sensor": sensor.code})
    services.sensor_retire(actor=None, sensor=sensor)
