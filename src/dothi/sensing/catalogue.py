"""A city's sensors and quantities as ingestion reads them for every item, kept per process
(`core.memo.ProcessMemo`: cleared at once by a change in this process, re-read by other worker
processes within ten seconds; ingestion also re-reads at once, at most once a second, when a batch
names a sensor or quantity it does not know, so a sensor registered a moment ago in another process
is found)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from time import monotonic

from dothi.core.memo import ProcessMemo
from dothi.core.models import City
from dothi.sensing.models import Quantity, Sensor

_memo = ProcessMemo("sensing.catalogue")


@dataclass(frozen=True)
class QuantityEntry:
    id: int
    code: str
    name_vi: str
    name_en: str
    unit: str
    min_value: float
    max_value: float
    summed: bool
    decimals: int

    @property
    def name(self) -> str:
        from dothi.core.models import localised

        return localised(self.name_vi, self.name_en)


@dataclass(frozen=True)
class SensorEntry:
    id: int
    code: str
    kind: str
    status: str
    is_public: bool
    quantity_codes: frozenset[str]
    commune_code: str | None = None  # for rules per commune (the warnings' flood rules)


@dataclass(frozen=True)
class Catalogue:
    city_id: int
    time_zone: str
    quantities: dict[str, QuantityEntry]  # by code: the city's own row wins over the global one
    quantities_by_id: dict[int, QuantityEntry]  # every row a sensor of the city may point at
    sensors: dict[str, SensorEntry]  # by code, retired ones included
    sensors_by_id: dict[int, SensorEntry]
    # (sensor code, quantity code) → (sensor id, quantity id, physical min, physical max), for sensors
    # that are not retired: the one lookup ingestion makes per item.
    pairs: dict[tuple[str, str], tuple[int, int, float, float]] = field(repr=False)
    loaded_at: float = 0.0
    # The zone's UTC offsets are whole hours (so a local day is made of whole UTC hours).
    whole_hour_offsets: bool = True


def _entry(q: Quantity) -> QuantityEntry:
    return QuantityEntry(
        id=q.pk,
        code=q.code,
        name_vi=q.name_vi,
        name_en=q.name_en,
        unit=q.unit,
        min_value=q.min_value,
        max_value=q.max_value,
        summed=q.summed,
        decimals=q.decimals,
    )


def _load(city_id: int) -> Catalogue:
    city = City.objects.only("time_zone").get(pk=city_id)
    rows = list(Quantity.objects.filter(city_id__isnull=True)) + list(
        Quantity.objects.filter(city_id=city_id)
    )
    quantities: dict[str, QuantityEntry] = {}
    by_id: dict[int, QuantityEntry] = {}
    for q in rows:  # global rows first, so the city's own row with the same code replaces them
        entry = _entry(q)
        quantities[q.code] = entry
        by_id[q.pk] = entry
    links: dict[int, list[int]] = {}
    through = Sensor.quantities.through
    for sensor_id, quantity_id in through.objects.filter(sensor__city_id=city_id).values_list(
        "sensor_id", "quantity_id"
    ):
        links.setdefault(sensor_id, []).append(quantity_id)
    sensors: dict[str, SensorEntry] = {}
    pairs: dict[tuple[str, str], tuple[int, int, float, float]] = {}
    for sid, code, kind, status, is_public, commune_code in Sensor.objects.filter(
        city_id=city_id
    ).values_list("id", "code", "kind", "status", "is_public", "commune_id"):
        measured = [by_id[q] for q in links.get(sid, ()) if q in by_id]
        # A city's own quantity wins over a global one of the same code, should a sensor link both.
        measured.sort(key=lambda q: quantities.get(q.code) is q)
        sensors[code] = SensorEntry(
            id=sid,
            code=code,
            kind=kind,
            status=status,
            is_public=is_public,
            quantity_codes=frozenset(q.code for q in measured),
            commune_code=commune_code,
        )
        if status != Sensor.Status.RETIRED:
            for q in measured:
                pairs[(code, q.code)] = (sid, q.id, q.min_value, q.max_value)
    return Catalogue(
        city_id=city_id,
        time_zone=city.time_zone,
        quantities=quantities,
        quantities_by_id=by_id,
        sensors=sensors,
        sensors_by_id={s.id: s for s in sensors.values()},
        pairs=pairs,
        loaded_at=monotonic(),
        whole_hour_offsets=_whole_hours(city.time_zone),
    )


@functools.lru_cache(maxsize=64)
def _whole_hours(zone_name: str) -> bool:
    """Whether every UTC offset the zone used since 1970 is a whole number of hours."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(zone_name)
    moment = datetime(1970, 1, 1, tzinfo=UTC)
    end = datetime.now(UTC) + timedelta(days=366)
    while moment < end:
        offset = moment.astimezone(zone).utcoffset()
        if offset is None or offset.total_seconds() % 3600:
            return False
        moment += timedelta(days=30)
    return True


_quantities_memo = ProcessMemo("sensing.quantities")


def _load_quantities(city_id: int) -> dict[str, QuantityEntry]:
    rows = list(Quantity.objects.filter(city_id__isnull=True)) + list(
        Quantity.objects.filter(city_id=city_id)
    )
    return {q.code: _entry(q) for q in rows}  # the city's own row replaces a global one of its code


def quantities_for_city(city: City | int) -> dict[str, QuantityEntry]:
    """The city's quantities by code, without its sensors: registering sensors one after another does
    not re-read the whole catalogue each time (a sensor's save clears `for_city`, not this)."""
    city_id = getattr(city, "pk", city)
    return _quantities_memo.get(city_id, lambda: _load_quantities(city_id))


def for_city(city: City | int) -> Catalogue:
    city_id = getattr(city, "pk", city)
    return _memo.get(city_id, lambda: _load(city_id))


def refresh(city: City | int, *, min_age: float = 1.0) -> Catalogue:
    """Re-read the city's catalogue now unless it was read less than `min_age` seconds ago (called when
    a batch names something unknown: it may have been registered a moment ago in another process)."""
    city_id = getattr(city, "pk", city)
    current = for_city(city_id)
    if monotonic() - current.loaded_at < min_age:
        return current
    _memo._entries.pop(city_id, None)
    return for_city(city_id)


def clear() -> None:
    _memo.clear()


def watch() -> None:
    """Clear the copies when sensors, quantities or the quantities a sensor measures change
    (SensingConfig.ready). Ingestion's own updates (last seen, status) are SQL and send no signal."""
    from django.db.models.signals import m2m_changed

    _memo.clear_on_change(Sensor, Quantity, City)
    _quantities_memo.clear_on_change(Quantity, City)
    m2m_changed.connect(
        _memo.clear, sender=Sensor.quantities.through, dispatch_uid="dothi.memo.sensing.m2m", weak=False
    )
