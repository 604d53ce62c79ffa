"""Writes of the sensing module: the sensor registry, ingestion keys, ingestion, imports and the
scheduled jobs (offline detection, raw retention).

Every service is keyword-only and runs in one transaction. Registry writes by a person check
`sensing.configure` and leave an audit record; `actor=None` is the server itself (the command line) or
an adapter that authenticated a data source by its ingestion key (NGSI-LD registers sensors so; pass
`source=`). Bad input raises dothi.core.errors.* and stores nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dothi.core import audit
from dothi.core.cities import policy
from dothi.core.errors import DomainError, InvalidInput, OutsideCity
from dothi.core.geo import locate
from dothi.core.models import Agreement, AuditEvent, City, CommuneArea, Organisation
from dothi.core.permissions import require
from dothi.sensing import catalogue
from dothi.sensing.ingestion import OFFLINE_GRACE_SECONDS, IngestResult, Rejection, ingest  # noqa: F401
from dothi.sensing.keys import ingest_key_issue, ingest_key_revoke, source_get_or_create  # noqa: F401
from dothi.sensing.models import STREAM_SCHEMES, DataSource, Observation, Sensor

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")
MIN_INTERVAL = 1
MAX_INTERVAL = 7 * 24 * 3600
DEFAULT_RAW_RETENTION_DAYS = 400
RETENTION_BATCH = 50_000

# Fields a registry write may set, besides code and city.
SENSOR_FIELDS = (
    "name",
    "kind",
    "quantities",
    "lat",
    "lon",
    "owner",
    "agreement",
    "is_public",
    "expected_interval_seconds",
    "view_description",
    "stream_url",
    "description",
    "properties",
    "status",
)


# --- Sensor registry ----------------------------------------------------------------------------------


def _text(value: Any, *, field: str, max_len: int, required: bool = False) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise InvalidInput(_("This field is required."), field=field, code="required")
    if len(text) > max_len:
        raise InvalidInput(_("At most %(n)s characters.") % {"n": max_len}, field=field, code="too_long")
    if "\x00" in text:
        raise InvalidInput(_("Text must not contain NUL characters."), field=field, code="invalid_text")
    return text


def _number(value: Any, *, field: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            _("Latitude and longitude must be numbers."), field=field, code="coordinates_invalid"
        )
    if not math.isfinite(number):
        raise InvalidInput(
            _("Latitude and longitude must be finite numbers."), field=field, code="coordinates_invalid"
        )
    return number


def _commune(city: City, lon: float, lat: float):
    try:
        return locate(city, lon, lat)
    except OutsideCity:
        # A city without commune boundaries yet registers sensors without a commune.
        if CommuneArea.objects.filter(city=city).exists():
            raise
        return None


def _clean(city: City, data: Mapping[str, Any], sensor: Sensor | None) -> dict[str, Any]:
    """Validated field values for a new sensor (all fields) or an existing one (the given ones)."""
    cleaned: dict[str, Any] = {}
    new = sensor is None

    def given(name: str) -> bool:
        return name in data or (new and name in {"name", "kind", "lat", "lon"})

    if given("name"):
        cleaned["name"] = _text(data.get("name"), field="name", max_len=200, required=True)
    if given("kind"):
        kind = data.get("kind")
        if kind not in Sensor.Kind.values:
            raise InvalidInput(_("Unknown kind of sensor."), field="kind", code="kind_invalid")
        cleaned["kind"] = kind
    if given("lat") or given("lon"):
        lat = _number(data.get("lat", getattr(sensor, "lat", None)), field="lat")
        lon = _number(data.get("lon", getattr(sensor, "lon", None)), field="lon")
        cleaned["commune"] = _commune(city, lon, lat)
        cleaned["lat"], cleaned["lon"] = lat, lon
    if "quantities" in data:
        codes = data.get("quantities") or []
        if isinstance(codes, str):
            codes = [c.strip() for c in re.split(r"[,;\s]+", codes) if c.strip()]
        known = catalogue.quantities_for_city(city)
        unknown = [str(c) for c in codes if not isinstance(c, str) or c not in known]
        if unknown:
            raise InvalidInput(
                _("Unknown quantity: %(codes)s.") % {"codes": ", ".join(unknown)[:200]},
                field="quantities",
                code="quantity_unknown",
            )
        cleaned["quantities"] = [known[c].id for c in dict.fromkeys(codes)]
    if "owner" in data:
        owner = data.get("owner")
        if isinstance(owner, str):
            owner = Organisation.objects.filter(city=city, code=owner).first() if owner else None
            if data.get("owner") and owner is None:
                raise InvalidInput(_("Unknown organisation."), field="owner", code="owner_unknown")
        if owner is not None and owner.city_id != city.pk:
            raise InvalidInput(
                _("The organisation belongs to another city."), field="owner", code="owner_unknown"
            )
        cleaned["owner"] = owner
    if "agreement" in data:
        agreement = data.get("agreement")
        if isinstance(agreement, (int, str)) and not isinstance(agreement, bool):
            agreement = Agreement.objects.filter(city=city, pk=agreement).first() if str(agreement) else None
        if agreement is not None:
            if not isinstance(agreement, Agreement) or agreement.city_id != city.pk:
                raise InvalidInput(_("Unknown agreement."), field="agreement", code="agreement_unknown")
            if agreement.kind != Agreement.Kind.DATA_SHARING:
                raise InvalidInput(
                    _("A sensor is registered under a data-sharing agreement."),
                    field="agreement",
                    code="agreement_kind",
                )
            owner = cleaned.get("owner", getattr(sensor, "owner", None))
            if owner is None:
                cleaned["owner"] = agreement.organisation
            elif owner.pk != agreement.organisation_id:
                raise InvalidInput(
                    _("The agreement is with another organisation than the sensor's owner."),
                    field="agreement",
                    code="agreement_owner",
                )
        cleaned["agreement"] = agreement
    if "is_public" in data:
        cleaned["is_public"] = bool(data["is_public"])
    if "expected_interval_seconds" in data:
        try:
            interval = int(data["expected_interval_seconds"])
        except (TypeError, ValueError):
            interval = 0
        if not MIN_INTERVAL <= interval <= MAX_INTERVAL:
            raise InvalidInput(
                _("The expected interval must be between 1 second and 7 days."),
                field="expected_interval_seconds",
                code="interval_invalid",
            )
        cleaned["expected_interval_seconds"] = interval
    for name, limit in (("view_description", 300), ("description", 5000)):
        if name in data:
            cleaned[name] = _text(data[name], field=name, max_len=limit)
    if "stream_url" in data:
        url = _text(data["stream_url"], field="stream_url", max_len=500)
        if url:
            try:
                URLValidator(schemes=STREAM_SCHEMES)(url)
            except ValidationError:
                raise InvalidInput(
                    _("Enter a valid stream address (http, https or rtsp)."),
                    field="stream_url",
                    code="url_invalid",
                )
        cleaned["stream_url"] = url
    if "properties" in data:
        props = data["properties"] or {}
        if not isinstance(props, dict):
            raise InvalidInput(
                _("Properties must be an object."), field="properties", code="properties_invalid"
            )
        cleaned["properties"] = props
    if "status" in data:
        if data["status"] not in Sensor.Status.values:
            raise InvalidInput(_("Unknown status."), field="status", code="status_invalid")
        cleaned["status"] = data["status"]
    return cleaned


# Names of the sensor pages' own addresses under /sensors/ (urls.py), which a sensor code would shadow.
RESERVED_CODES = frozenset({"list", "map.json"})


def _check_code(code: Any) -> str:
    if not isinstance(code, str) or not CODE_RE.match(code):
        raise InvalidInput(
            _("A sensor code is 1 to 100 letters, digits, dots, dashes, underscores or colons."),
            field="code",
            code="code_invalid",
        )
    if code.lower() in RESERVED_CODES:
        raise InvalidInput(_("This sensor code is reserved."), field="code", code="code_invalid")
    return code


def _apply(sensor: Sensor, cleaned: dict[str, Any]) -> list[str]:
    quantities = cleaned.pop("quantities", None)
    changed = []
    for name, value in cleaned.items():
        if getattr(sensor, name) != value:
            setattr(sensor, name, value)
            changed.append(name)
    sensor.save()
    if quantities is not None:
        before = set(sensor.quantities.values_list("pk", flat=True))
        if before != set(quantities):
            sensor.quantities.set(quantities)
            changed.append("quantities")
    return changed


@transaction.atomic
def sensor_register(
    *, actor, city: City, code: str, source: DataSource | None = None, request=None, **fields: Any
) -> Sensor:
    """Register a sensor (or camera). `fields`: name, kind, lat, lon (required), quantities (codes),
    owner (Organisation or its code), agreement (a data-sharing Agreement or its id), is_public,
    expected_interval_seconds, view_description, stream_url, description, properties. The commune is
    found from the point. Raises PermissionDenied, InvalidInput (bad field, unknown quantity…),
    OutsideCity (the point is outside the city's communes) and Conflict (the code exists)."""
    from dothi.core.errors import Conflict

    if actor is not None:
        require(actor, "sensing.configure", city)
    code = _check_code(code)
    if Sensor.objects.filter(city=city, code=code).exists():
        raise Conflict(_("A sensor with this code already exists."), field="code", code="sensor_exists")
    unknown = set(fields) - set(SENSOR_FIELDS)
    if unknown:
        raise TypeError(f"Unknown sensor fields: {sorted(unknown)}")
    cleaned = _clean(city, fields, None)
    if source is not None and "owner" not in cleaned and source.organisation_id:
        cleaned["owner"] = source.organisation
    sensor = Sensor(city=city, code=code, source=source)
    _apply(sensor, cleaned)
    audit.record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=sensor,
        city=city,
        request=request,
        summary=f"sensor {code}",
        details={"source": source.name if source else ""},
    )
    return sensor


@transaction.atomic
def sensor_update(*, actor, sensor: Sensor, request=None, **fields: Any) -> Sensor:
    """Change the given fields of a sensor (as `sensor_register`; `status` too). Raises as it."""
    if actor is not None:
        require(actor, "sensing.configure", sensor.city)
    unknown = set(fields) - set(SENSOR_FIELDS)
    if unknown:
        raise TypeError(f"Unknown sensor fields: {sorted(unknown)}")
    cleaned = _clean(sensor.city, fields, sensor)
    changed = _apply(sensor, cleaned)
    if changed:
        audit.record(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            obj=sensor,
            request=request,
            summary=f"sensor {sensor.code}",
            details={"changed": sorted(changed)},
        )
    return sensor


def sensor_upsert(
    *, actor, city: City, code: str, source: DataSource | None = None, **fields: Any
) -> tuple[Sensor, bool]:
    """Register the sensor, or update the given fields of the existing one with this code. Returns
    (sensor, created)."""
    existing = Sensor.objects.filter(city=city, code=code if isinstance(code, str) else "").first()
    if existing is None:
        return sensor_register(actor=actor, city=city, code=code, source=source, **fields), True
    return sensor_update(actor=actor, sensor=existing, **fields), False


@transaction.atomic
def sensor_retire(*, actor, sensor: Sensor, request=None) -> Sensor:
    """Retire a sensor: it keeps its data but accepts no new observations."""
    return sensor_update(actor=actor, sensor=sensor, request=request, status=Sensor.Status.RETIRED)


# --- Imports ------------------------------------------------------------------------------------------


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line or feature number, message)


def sensors_import(
    *,
    actor,
    city: City,
    rows: Iterable[Mapping[str, Any]],
    progress: Callable[[int, int], None] | None = None,
    total: int = 0,
) -> ImportResult:
    """Register or update one sensor per row (dicts with "code" and the fields of `sensor_register`;
    numbered from 1). A bad row is reported with its number and stored nothing; the others are
    stored."""
    if actor is not None:
        require(actor, "sensing.configure", city)
    result = ImportResult()
    for number, row in enumerate(rows, start=1):
        data = {k: v for k, v in row.items() if k in SENSOR_FIELDS and v not in (None, "")}
        try:
            with transaction.atomic():
                _, created = sensor_upsert(actor=actor, city=city, code=row.get("code"), **data)
        except DomainError as exc:
            result.errors.append((number, f"{exc.field + ': ' if exc.field else ''}{exc.message}"))
        else:
            if created:
                result.created += 1
            else:
                result.updated += 1
        if progress is not None and (number % 50 == 0 or number == total):
            progress(number, total)
    return result


@dataclass
class ObservationImportResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)  # indexes are row numbers (from 1)
    rejected_count: int = 0


def observations_import(
    *,
    city: City,
    rows: Iterable[Any],
    source_name: str = "import",
    chunk: int = 10_000,
    progress: Callable[[int, int], None] | None = None,
    total: int = 0,
    keep_rejections: int = 1000,
) -> ObservationImportResult:
    """Historical observations through `ingest`, in chunks (each its own transaction). `rows`: items as
    `ingest` takes them. Keeps the first `keep_rejections` rejections with their row numbers."""
    source = source_get_or_create(city=city, name=source_name)
    result = ObservationImportResult()
    batch: list[Any] = []
    done = 0

    def flush() -> None:
        nonlocal done
        outcome = ingest(city=city, source=source, items=batch)
        result.accepted += outcome.accepted
        result.duplicates += outcome.duplicates
        result.rejected_count += len(outcome.rejected)
        room = keep_rejections - len(result.rejected)
        result.rejected.extend(r._replace(index=done + r.index + 1) for r in outcome.rejected[: max(room, 0)])
        done += len(batch)
        batch.clear()
        if progress is not None:
            progress(done, total)

    for row in rows:
        batch.append(row)
        if len(batch) >= chunk:
            flush()
    if batch:
        flush()
    return result


# --- Scheduled jobs -----------------------------------------------------------------------------------


def sensors_mark_offline(*, now: datetime | None = None) -> dict[str, int]:
    """Active sensors silent for longer than their expected interval (plus a minute's grace) become
    offline; offline ones heard from again within it become active (ingestion does this too, at once).
    A sensor never heard from is offline once its interval has passed since it was registered."""
    now = now or timezone.now()
    to_offline: list[int] = []
    to_active: list[int] = []
    # Cameras send no observations here (their stream is elsewhere): silence says nothing about them.
    rows = (
        Sensor.objects.exclude(status=Sensor.Status.RETIRED)
        .exclude(kind=Sensor.Kind.CAMERA)
        .values_list("id", "status", "last_seen_at", "created_at", "expected_interval_seconds")
    )
    for pk, status, seen, created, interval in rows.iterator(chunk_size=5000):
        silent = now - (seen or created) > timedelta(seconds=interval + OFFLINE_GRACE_SECONDS)
        if status == Sensor.Status.ACTIVE and silent:
            to_offline.append(pk)
        elif status == Sensor.Status.OFFLINE and seen is not None and not silent:
            to_active.append(pk)
    went = back = 0
    for start in range(0, max(len(to_offline), len(to_active)), 1000):
        with transaction.atomic():
            went += Sensor.objects.filter(
                pk__in=to_offline[start : start + 1000], status=Sensor.Status.ACTIVE
            ).update(status=Sensor.Status.OFFLINE)
            back += Sensor.objects.filter(
                pk__in=to_active[start : start + 1000], status=Sensor.Status.OFFLINE
            ).update(status=Sensor.Status.ACTIVE)
    return {"offline": went, "active": back}


def observations_purge(*, now: datetime | None = None, batch: int = RETENTION_BATCH) -> int:
    """Delete raw observations older than each city's retention (City.settings["sensing"]
    ["raw_retention_days"], default 400 days), in batches per sensor and quantity so no statement holds
    locks for long; rollups and latest values are kept."""
    from dothi.sensing import partitions
    from dothi.sensing.models import Latest

    now = now or timezone.now()
    deleted = 0
    cutoffs = {
        city: now
        - timedelta(days=int(policy(city, "sensing").get("raw_retention_days", DEFAULT_RAW_RETENTION_DAYS)))
        for city in City.objects.all()
    }
    if cutoffs:
        # Monthly partitions (PostgreSQL, optional) older than every city's retention go whole.
        deleted += partitions.drop_older_than(min(cutoffs.values()))
    for city, cutoff in cutoffs.items():
        pairs = Latest.objects.filter(sensor__city=city).values_list("sensor_id", "quantity_id")
        for sensor_id, quantity_id in pairs:
            while True:
                times = list(
                    Observation.objects.filter(sensor_id=sensor_id, quantity_id=quantity_id, time__lt=cutoff)
                    .order_by("time")
                    .values_list("time", flat=True)[:batch]
                )
                if not times:
                    break
                with transaction.atomic():
                    n, _ = Observation.objects.filter(
                        sensor_id=sensor_id, quantity_id=quantity_id, time__lte=times[-1]
                    ).delete()
                deleted += n
                if len(times) < batch:
                    break
    return deleted


def quantity_codes(*, city: City) -> list[str]:
    return sorted(catalogue.for_city(city).quantities)


__all__ = [
    "ImportResult",
    "IngestResult",
    "ObservationImportResult",
    "Rejection",
    "ingest",
    "ingest_key_issue",
    "ingest_key_revoke",
    "observations_import",
    "observations_purge",
    "quantity_codes",
    "sensor_register",
    "sensor_retire",
    "sensor_update",
    "sensor_upsert",
    "sensors_import",
    "sensors_mark_offline",
    "source_get_or_create",
]


def sensor_points_assign(*, city: City, changes: list[tuple[int, str]]) -> int:
    """Write the communes core.geo.reassign_points found for Sensor rows, in bulk (no other column)."""
    from dothi.core.geo import write_communes
    from dothi.sensing.models import Sensor

    return write_communes(Sensor, city=city, changes=changes)
