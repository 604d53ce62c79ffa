"""Reads of the sensing module, always scoped by city.

Public reads show public sensors only; a private sensor (registered under a data-sharing agreement
that shares it with the city's agencies, not with everyone) is shown to viewers allowed
`sensing.read_private`. Charts read the rollups, not the raw table, once a range is longer than a few
days (`series`, automatic resolution); the map reads the latest-value table (`latest`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from django.db.models import Count, Max, Min, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from dothi.core.errors import InvalidInput, NotFound
from dothi.core.models import City
from dothi.core.permissions import can, require
from dothi.sensing import catalogue, levels
from dothi.sensing.catalogue import QuantityEntry
from dothi.sensing.models import (
    DailyRollup,
    HourlyRollup,
    Latest,
    Observation,
    RejectionCount,
    Sensor,
)

Resolution = Literal["auto", "raw", "hour", "day"]
# Automatic resolution: raw rows up to this span, hourly rollups up to the next, daily beyond.
RAW_MAX_SPAN = timedelta(days=2)
HOURLY_MAX_SPAN = timedelta(days=93)
# Asked explicitly, raw rows are served for at most this span (a chart cannot show more anyway).
RAW_LIMIT_SPAN = timedelta(days=31)
HOURLY_LIMIT_SPAN = timedelta(days=400)


def can_read_private(viewer, city: City) -> bool:
    return viewer is not None and can(viewer, "sensing.read_private", city)


def _visible(qs: QuerySet, viewer, city: City, prefix: str = "") -> QuerySet:
    if can_read_private(viewer, city):
        return qs
    return qs.filter(**{f"{prefix}is_public": True})


# --- Catalogue ------------------------------------------------------------------------------------


def quantities(*, city: City) -> list[QuantityEntry]:
    """The quantities of the city's catalogue (its own rows replacing global ones of the same code)."""
    return sorted(catalogue.for_city(city).quantities.values(), key=lambda q: q.code)


def quantity(*, city: City, code: str) -> QuantityEntry:
    """The quantity with this code, or InvalidInput."""
    found = catalogue.for_city(city).quantities.get(code) if isinstance(code, str) else None
    if found is None:
        raise InvalidInput(_("Unknown quantity."), field="quantity", code="quantity_unknown")
    return found


# --- Sensors --------------------------------------------------------------------------------------


def sensors(
    *,
    city: City,
    viewer=None,
    kind: str | None = None,
    status: str | None = None,
    commune_code: str | None = None,
    include_retired: bool = False,
) -> QuerySet[Sensor]:
    """The city's sensors this viewer may see, with their commune, owner and quantities."""
    qs = Sensor.objects.for_city(city).select_related("commune", "owner").prefetch_related("quantities")
    qs = _visible(qs, viewer, city)
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    elif not include_retired:
        qs = qs.exclude(status=Sensor.Status.RETIRED)
    if commune_code:
        qs = qs.filter(commune_id=commune_code)
    return qs.order_by("code")


def sensor_by_code(*, city: City, code: str, viewer=None) -> Sensor:
    """The sensor with this code that the viewer may see (retired ones included), or NotFound."""
    sensor = (
        _visible(Sensor.objects.for_city(city), viewer, city)
        .select_related("commune", "owner", "agreement", "agreement__organisation")
        .prefetch_related("quantities")
        .filter(code=str(code)[:100])
        .first()
    )
    if sensor is None:
        raise NotFound(_("No such sensor."))
    return sensor


# --- Latest values (the map) ----------------------------------------------------------------------


@dataclass(frozen=True)
class LatestValue:
    quantity: QuantityEntry
    time: datetime
    value: float


@dataclass(frozen=True)
class SensorLatest:
    id: int
    code: str
    name: str
    kind: str
    status: str
    lat: float
    lon: float
    commune_code: str | None
    commune_name: str
    last_seen_at: datetime | None
    values: tuple[LatestValue, ...]

    def value(self, quantity_code: str) -> LatestValue | None:
        return next((v for v in self.values if v.quantity.code == quantity_code), None)


def latest(
    *,
    city: City,
    viewer=None,
    kind: str | None = None,
    sensor_codes: list[str] | None = None,
    include_retired: bool = False,
) -> list[SensorLatest]:
    """Every visible sensor (not retired, unless asked) with the latest value of each quantity it
    measured (two queries whatever the number of sensors)."""
    cat = catalogue.for_city(city)
    qs = sensors(city=city, viewer=viewer, kind=kind, include_retired=include_retired).prefetch_related(None)
    if sensor_codes is not None:
        qs = qs.filter(code__in=sensor_codes)
    rows = list(
        qs.values_list(
            "id",
            "code",
            "name",
            "kind",
            "status",
            "lat",
            "lon",
            "commune_id",
            "commune__name",
            "last_seen_at",
        )
    )
    values: dict[int, list[LatestValue]] = {}
    ids = [r[0] for r in rows]
    for sensor_id, quantity_id, t, v in Latest.objects.filter(sensor_id__in=ids).values_list(
        "sensor_id", "quantity_id", "time", "value"
    ):
        q = cat.quantities_by_id.get(quantity_id)
        if q is not None:
            values.setdefault(sensor_id, []).append(LatestValue(quantity=q, time=t, value=v))
    return [
        SensorLatest(
            id=r[0],
            code=r[1],
            name=r[2],
            kind=r[3],
            status=r[4],
            lat=r[5],
            lon=r[6],
            commune_code=r[7],
            commune_name=r[8] or "",
            last_seen_at=r[9],
            values=tuple(sorted(values.get(r[0], []), key=lambda lv: lv.quantity.code)),
        )
        for r in rows
    ]


# --- Series (charts) ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesPoint:
    time: datetime  # the observation's time, or the bucket's start
    value: float  # raw value; or the bucket's mean (its sum for summed quantities)
    min: float
    max: float
    count: int


@dataclass(frozen=True)
class Series:
    sensor_code: str
    quantity: QuantityEntry
    resolution: str  # "raw" | "hour" | "day"
    start: datetime
    end: datetime
    points: list[SeriesPoint]


def _aware(value: datetime, field: str) -> datetime:
    if not isinstance(value, datetime):
        raise InvalidInput(_("Give a date and time."), field=field, code="time_invalid")
    return value if timezone.is_aware(value) else timezone.make_aware(value)


def choose_resolution(start: datetime, end: datetime) -> str:
    span = end - start
    if span <= RAW_MAX_SPAN:
        return "raw"
    return "hour" if span <= HOURLY_MAX_SPAN else "day"


def series(
    *,
    city: City,
    sensor: Sensor | str,
    quantity: str,
    start: datetime,
    end: datetime,
    resolution: Resolution = "auto",
    viewer=None,
) -> Series:
    """The sensor's values of `quantity` in [start, end): raw rows for short ranges, hourly rollups up
    to about three months, daily ones beyond (or the resolution asked for). Raises NotFound (sensor),
    InvalidInput (quantity, range, resolution)."""
    if isinstance(sensor, str):
        sensor = sensor_by_code(city=city, code=sensor, viewer=viewer)
    elif sensor.city_id != city.pk or not (sensor.is_public or can_read_private(viewer, city)):
        raise NotFound(_("No such sensor."))
    q = catalogue.for_city(city).quantities.get(quantity) if isinstance(quantity, str) else None
    if q is None or q.code not in {x.code for x in sensor.quantities.all()}:
        raise InvalidInput(
            _("This sensor does not measure that quantity."), field="quantity", code="quantity_not_measured"
        )
    start, end = _aware(start, "start"), _aware(end, "end")
    if end <= start:
        raise InvalidInput(_("The end must be after the start."), field="end", code="range_invalid")
    if resolution == "auto":
        resolution = choose_resolution(start, end)
    limits = {"raw": RAW_LIMIT_SPAN, "hour": HOURLY_LIMIT_SPAN, "day": None}
    if resolution not in limits:
        raise InvalidInput(_("Unknown resolution."), field="resolution", code="resolution_invalid")
    limit = limits[resolution]
    if limit is not None and end - start > limit:
        raise InvalidInput(
            _("This range is too long for this resolution."), field="resolution", code="range_too_long"
        )
    quantity_ids = [x.pk for x in sensor.quantities.all() if x.code == q.code]
    if resolution == "raw":
        raw = (
            Observation.objects.filter(
                sensor_id=sensor.pk, quantity_id__in=quantity_ids, time__gte=start, time__lt=end
            )
            .order_by("time")
            .values_list("time", "value")
        )
        points = [SeriesPoint(time=t, value=v, min=v, max=v, count=1) for t, v in raw]
    else:
        model = HourlyRollup if resolution == "hour" else DailyRollup
        rows = (
            model.objects.filter(
                sensor_id=sensor.pk, quantity_id__in=quantity_ids, bucket__gte=start, bucket__lt=end
            )
            .order_by("bucket")
            .values_list("bucket", "count", "sum", "min", "max")
        )
        points = [
            SeriesPoint(time=b, value=s if q.summed else s / n, min=lo, max=hi, count=n)
            for b, n, s, lo, hi in rows
        ]
    return Series(
        sensor_code=sensor.code, quantity=q, resolution=resolution, start=start, end=end, points=points
    )


# --- Aggregates per commune and period (KPIs) -----------------------------------------------------


@dataclass(frozen=True)
class Aggregate:
    commune_code: str | None
    commune_name: str
    sensors: int
    count: int
    sum: float
    min: float | None
    max: float | None

    @property
    def mean(self) -> float | None:
        return self.sum / self.count if self.count else None


def local_day_bounds(city: City, start: date, end: date) -> tuple[datetime, datetime]:
    """The half-open period [start, end) of local dates as aware datetimes (the daily buckets' starts)."""
    zone = ZoneInfo(city.time_zone)
    return (datetime.combine(start, time(0), tzinfo=zone), datetime.combine(end, time(0), tzinfo=zone))


def aggregates(
    *,
    city: City,
    quantity: str,
    start: date,
    end: date,
    viewer=None,
    by_commune: bool = True,
) -> list[Aggregate]:
    """Count, sum, min, max (and mean) of `quantity` over the local days [start, end), per commune (or
    one row for the city), from the daily rollups of the sensors the viewer may see."""
    q = catalogue.for_city(city).quantities.get(quantity) if isinstance(quantity, str) else None
    if q is None:
        raise InvalidInput(_("Unknown quantity."), field="quantity", code="quantity_unknown")
    if end <= start:
        raise InvalidInput(_("The end must be after the start."), field="end", code="range_invalid")
    low, high = local_day_bounds(city, start, end)
    visible = _visible(Sensor.objects.for_city(city), viewer, city).values("pk")
    qs = DailyRollup.objects.filter(
        sensor_id__in=visible, quantity__code=q.code, bucket__gte=low, bucket__lt=high
    )
    figures = {
        "n_sensors": Count("sensor_id", distinct=True),
        "n": Sum("count"),
        "total": Sum("sum"),
        "lo": Min("min"),
        "hi": Max("max"),
    }
    if by_commune:
        group = ["sensor__commune_id", "sensor__commune__name"]
        rows = list(qs.values(*group).annotate(**figures).order_by(*group))
    else:
        rows = [qs.aggregate(**figures)]
    return [
        Aggregate(
            commune_code=r.get("sensor__commune_id"),
            commune_name=r.get("sensor__commune__name") or "",
            sensors=r["n_sensors"],
            count=r["n"] or 0,
            sum=r["total"] or 0.0,
            min=r["lo"],
            max=r["hi"],
        )
        for r in rows
        if r["n"]
    ]


# --- Ingestion health -----------------------------------------------------------------------------


def rejections(*, city: City, viewer) -> QuerySet[RejectionCount]:
    """The rejection counters of the city's data sources (sensing.configure)."""
    require(viewer, "sensing.configure", city)
    return RejectionCount.objects.for_city(city).select_related("source").order_by("-last_at")


def status_counts(*, city: City) -> dict[str, int]:
    """How many sensors of the city are active, offline and retired."""
    counts = dict.fromkeys(Sensor.Status.values, 0)
    for status, n in Sensor.objects.for_city(city).values_list("status").annotate(n=Count("id")):
        counts[status] = n
    return counts


# --- Control centre (the manifest's panels, alarm source, ward summary and sensor_points) ----------
# The control centre is a staff screen (ioc.view: roles that all hold sensing.read_private), so these
# reads include private sensors. Cameras send no observations here: they are left out.

# A sensor is silent when nothing arrived for this many times its expected interval (a sensor without
# an interval: SILENT_DEFAULT_SECONDS); the control centre raises `sensing.silent:<code>` for it.
SILENT_FACTOR = 3
SILENT_DEFAULT_SECONDS = 30 * 60
# At most this many silent sensors are reported at a time, the most recently silent first.
SILENT_LIMIT = 500

# A sensor's worst severity (levels.py) → the control centre's colour.
IOC_LEVELS = {1: "normal", 2: "info", 3: "warning", 4: "danger", 5: "danger", 6: "danger"}


def silent_after(expected_interval_seconds: int | None) -> timedelta:
    """How long a sensor may send nothing before it counts as silent."""
    interval = int(expected_interval_seconds or 0)
    return timedelta(seconds=SILENT_FACTOR * interval if interval > 0 else SILENT_DEFAULT_SECONDS)


def is_silent(
    *,
    last_seen_at: datetime | None,
    created_at: datetime,
    expected_interval_seconds: int | None,
    now: datetime,
) -> bool:
    """Nothing arrived (since it was registered, for a sensor never heard from) for `silent_after`."""
    return now - (last_seen_at or created_at) > silent_after(expected_interval_seconds)


def ioc_level(severity: int) -> str:
    """The control centre's level of a severity: no value is "muted", a value without a scale "normal"."""
    if severity == levels.NO_VALUE:
        return "muted"
    return IOC_LEVELS.get(severity, "normal")


def _monitored(city: City) -> QuerySet[Sensor]:
    return (
        Sensor.objects.for_city(city).exclude(status=Sensor.Status.RETIRED).exclude(kind=Sensor.Kind.CAMERA)
    )


def _ago(moment: datetime, now: datetime) -> str:
    from django.utils.timesince import timesince

    return _("%(time)s ago") % {"time": timesince(moment, now, depth=1)}


def ioc_sensors(city: City, *, now: datetime | None = None, commune_code: str | None = None) -> list[dict]:
    """Every monitored sensor (not retired, not a camera) with its latest values, each value's level
    and the sensor's worst one, and whether it is silent or offline (then its values say nothing about
    now). Two queries whatever the number of sensors."""
    now = now or timezone.now()
    cat = catalogue.for_city(city)
    qs = _monitored(city)
    if commune_code:
        qs = qs.filter(commune_id=commune_code)
    rows = list(
        qs.order_by("code").values_list(
            "id",
            "code",
            "name",
            "kind",
            "status",
            "lat",
            "lon",
            "commune_id",
            "is_public",
            "last_seen_at",
            "created_at",
            "expected_interval_seconds",
            "properties",
        )
    )
    values: dict[int, list[tuple]] = {}
    for sensor_id, quantity_id, t, v in Latest.objects.filter(sensor_id__in=[r[0] for r in rows]).values_list(
        "sensor_id", "quantity_id", "time", "value"
    ):
        q = cat.quantities_by_id.get(quantity_id)
        if q is not None:
            values.setdefault(sensor_id, []).append((q, t, v))
    found = []
    for pk, code, name, kind, status, lat, lon, commune, public, seen, created, interval, props in rows:
        items = [
            {"quantity": q, "time": t, "value": v, "level": levels.level(q.code, v, props)}
            for q, t, v in sorted(values.get(pk, []), key=lambda item: item[0].code)
        ]
        silent = is_silent(last_seen_at=seen, created_at=created, expected_interval_seconds=interval, now=now)
        quiet = silent or status != Sensor.Status.ACTIVE
        worst = levels.worst(item["level"] for item in items)
        found.append(
            {
                "id": pk,
                "code": code,
                "name": name,
                "kind": kind,
                "status": status,
                "lat": lat,
                "lon": lon,
                "commune_code": commune,
                "is_public": public,
                "last_seen_at": seen,
                "created_at": created,
                "expected_interval_seconds": interval,
                "silent": silent,
                "online": not quiet,
                "values": items,
                # An offline or silent sensor's last values say nothing about now: muted, whatever they were.
                "worst": levels.NONE if quiet else worst,
                "worst_item": None if quiet else _worst_item(items, worst),
                "level": "muted" if quiet else ioc_level(worst.severity),
            }
        )
    return found


def _worst_item(items: list[dict], worst: levels.Level) -> dict | None:
    for item in items:
        if item["level"].severity == worst.severity and worst.severity not in (
            levels.NO_VALUE,
            levels.UNRATED_SEVERITY,
        ):
            return item
    return items[0] if items else None


def _value_text(item: dict) -> str:
    from django.utils.formats import number_format

    q = item["quantity"]
    text = f"{q.name} {number_format(item['value'], q.decimals)}"
    return f"{text} {q.unit}" if q.unit else text


def ioc_latest_geojson(city: City, *, now: datetime | None = None) -> dict:
    """The `sensing.latest` panel: every monitored sensor at its place, coloured by the worst band of
    its latest values (`muted` when silent or offline), with the sensor's page and its drill-down
    fragment (latest values and charts)."""
    from django.urls import reverse

    now = now or timezone.now()
    features = []
    for s in ioc_sensors(city, now=now):
        item = s["worst_item"]
        if item is not None:
            meta = f"{_value_text(item)} · {_ago(item['time'], now)}"
            if item["level"].label:
                meta = f"{_value_text(item)} ({item['level'].label}) · {_ago(item['time'], now)}"
        elif s["last_seen_at"] is not None:
            meta = _("Silent: last value %(ago)s") % {"ago": _ago(s["last_seen_at"], now)}
        else:
            meta = _("No value yet")
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(s["lon"], 6), round(s["lat"], 6)]},
                "properties": {
                    "id": s["code"],
                    "title": s["name"],
                    "level": s["level"],
                    "meta": meta,
                    "url": reverse("sensing:detail", args=[s["code"]]),
                    "fragment": reverse("sensing:fragment", args=[s["code"]]),
                    "kind": s["kind"],
                    "status": s["status"],
                    "silent": s["silent"],
                    "severity": s["worst"].severity,
                    "public": s["is_public"],
                    "commune": s["commune_code"] or "",
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _silence_rows(city: City, commune_code: str | None = None):
    qs = _monitored(city)
    if commune_code:
        qs = qs.filter(commune_id=commune_code)
    return qs.values_list("status", "last_seen_at", "created_at", "expected_interval_seconds")


def ioc_online_counts(city: City, *, now: datetime | None = None, commune_code: str | None = None) -> dict:
    """Monitored sensors online (active and heard from recently), silent (or offline) and in all: one
    query of four small columns."""
    now = now or timezone.now()
    total = online = 0
    for status, seen, created, interval in _silence_rows(city, commune_code).iterator(chunk_size=5000):
        total += 1
        quiet = status != Sensor.Status.ACTIVE or is_silent(
            last_seen_at=seen, created_at=created, expected_interval_seconds=interval, now=now
        )
        online += not quiet
    return {"online": online, "silent": total - online, "total": total}


def ioc_online_panel(city: City, *, now: datetime | None = None) -> dict:
    """The `sensing.online` panel (counts)."""
    from django.urls import reverse

    counts = ioc_online_counts(city, now=now)
    url = reverse("sensing:list")
    return {
        "items": [
            {"label": _("Online"), "value": counts["online"], "level": "normal", "url": url},
            {
                "label": _("Silent"),
                "value": counts["silent"],
                "level": "warning" if counts["silent"] else "normal",
                "url": url,
            },
            {"label": _("Sensors"), "value": counts["total"], "url": url},
        ]
    }


def ioc_silent_sensors(city: City, *, now: datetime | None = None, limit: int = SILENT_LIMIT) -> list:
    """The `sensing.silent:<code>` alarm candidates: monitored sensors that sent nothing for
    `silent_after` their interval, the most recently silent first (at most `limit`). One query."""
    from django.urls import reverse

    from dothi.core.manifests import AlarmCandidate

    now = now or timezone.now()
    rows = _monitored(city).values_list(
        "code", "name", "lat", "lon", "commune_id", "last_seen_at", "created_at", "expected_interval_seconds"
    )
    found = []
    for code, name, lat, lon, commune, seen, created, interval in rows.iterator(chunk_size=5000):
        if is_silent(last_seen_at=seen, created_at=created, expected_interval_seconds=interval, now=now):
            found.append((code, name, lat, lon, commune, seen, created, interval))
    found.sort(key=lambda r: r[5] or r[6], reverse=True)
    candidates = []
    for code, name, lat, lon, commune, seen, created, interval in found[:limit]:
        minutes = max(1, round(int(interval or 0) / 60)) if interval else SILENT_DEFAULT_SECONDS // 60
        if seen is not None:
            detail = _("Last value %(ago)s (expected every %(minutes)s min).") % {
                "ago": _ago(seen, now),
                "minutes": minutes,
            }
        else:
            detail = _("No value since it was registered (expected every %(minutes)s min).") % {
                "minutes": minutes
            }
        candidates.append(
            AlarmCandidate(
                key=f"sensing.silent:{code}",
                kind="silent",
                title=_("Sensor silent: %(name)s") % {"name": name},
                raised_at=(seen or created) + silent_after(interval),
                level="warning",
                detail=detail,
                url=reverse("sensing:detail", args=[code]),
                lon=lon,
                lat=lat,
                commune_code=commune or "",
            )
        )
    return candidates


def ioc_ward_summary(city: City, commune_code: str, *, now: datetime | None = None) -> list[dict]:
    """The sensors of one commune for the control centre's ward drawer: how many, how many online,
    and the worst latest value among those online."""
    from django.urls import reverse

    sensors_here = ioc_sensors(city, now=now, commune_code=commune_code)
    online = [s for s in sensors_here if s["online"]]
    worst = max(
        online,
        key=lambda s: 0 if s["worst"].severity == levels.UNRATED_SEVERITY else s["worst"].severity,
        default=None,
    )
    items = [
        {"label": _("Sensors"), "value": len(sensors_here)},
        {
            "label": _("Sensors online"),
            "value": len(online),
            "level": "warning" if len(online) < len(sensors_here) else "normal",
        },
    ]
    if worst is not None and worst["worst_item"] is not None:
        item = worst["worst_item"]
        value = _value_text(item)
        if item["level"].label:
            value = f"{value} ({item['level'].label})"
        items.append(
            {
                "label": _("Worst latest value"),
                "value": f"{value} · {worst['name']}",
                "level": ioc_level(worst["worst"].severity),
                "url": reverse("sensing:detail", args=[worst["code"]]),
            }
        )
    else:
        items.append({"label": _("Worst latest value"), "value": "–", "level": "muted"})
    return items


def sensor_points(city: City, quantities=None) -> list[tuple[float, float]]:
    """(lon, lat) of the city's active sensors measuring any of these quantity codes (every active
    sensor when None): the published selector `sensing.sensor_points`. One query."""
    qs = Sensor.objects.for_city(city).filter(status=Sensor.Status.ACTIVE)
    if quantities is not None:
        codes = [quantities] if isinstance(quantities, str) else [str(c) for c in quantities]
        if not codes:
            return []
        qs = qs.filter(quantities__code__in=codes).distinct()
    return [(lon, lat) for lon, lat in qs.order_by("code").values_list("lon", "lat")]


def sensors_by_owner(city: City) -> dict[int, int]:
    """{organisation id: number of the city's sensors it owns} (retired sensors left out): the published
    selector `sensing.sensors_by_owner` (the programme's vendor concentration). One query."""
    rows = (
        Sensor.objects.for_city(city)
        .filter(owner__isnull=False)
        .exclude(status=Sensor.Status.RETIRED)
        .values("owner_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["owner_id"]: row["n"] for row in rows}


# --- Point set (core.geo.reassign_points re-locates these when official commune boundaries arrive) ----


def sensor_point_rows(city: City):
    """(pk, lon, lat, commune code) of every Sensor of the city, streamed."""
    from dothi.sensing.models import Sensor

    return (
        Sensor.objects.filter(city=city)
        .values_list("pk", "lon", "lat", "commune_id")
        .iterator(chunk_size=20_000)
    )
