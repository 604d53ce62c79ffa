"""Writes of the spatial layers: the catalogue (create, update, delete), imports of features (all or
nothing, with a changelog row for every attempt), population per commune, and the bulk re-assignment of
features to communes.

Every service is keyword-only, checks the actor's permission and audits the change; `actor=None` is the
server itself (the command line), as in the sensing module, and is not checked. `layer_import` runs
the whole file in one transaction: the first bad feature rolls everything back and the `rejected`
LayerImport row is written after the rollback so the changelog keeps it. Features are validated and
written in chunks of `CHUNK` (the file is never held in memory as model rows), with `COPY` on PostgreSQL
in replace mode. An import into a layer with the role `communes` also replaces the city's approximate
commune cells with its polygons (`core.geo.communes_import`) and re-locates every located point of every
module (`core.geo.reassign_points`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from django.core.exceptions import PermissionDenied
from django.core.validators import validate_slug
from django.db import connection, transaction
from django.db.models import F, Max, Min, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from shapely.geometry import mapping

from dothi.core import audit, geo
from dothi.core.errors import Conflict, DomainError, InvalidInput
from dothi.core.models import AuditEvent, City, Commune, Organisation
from dothi.core.parsing import clean_text
from dothi.core.permissions import PLATFORM_ADMIN, require, roles_of
from dothi.core.text import fold_key
from dothi.layers import readers, validation
from dothi.layers.models import (
    Cadence,
    CommunePopulation,
    Feature,
    GeometryKind,
    Layer,
    LayerImport,
    LayerRole,
    Sector,
)

Progress = Callable[[int, int], None]
CHUNK = 2000
# The attribute naming a boundary's commune in a `communes` layer, in order of preference.
COMMUNE_CODE_ATTRIBUTES = ("ma_xa", "commune_code", "code")
CITY_WIDE_ROLES = frozenset({"city_admin", "operator", PLATFORM_ADMIN})
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
EDITABLE = (
    "code",
    "name_vi",
    "name_en",
    "description_vi",
    "description_en",
    "sector",
    "role",
    "owner",
    "cadence",
    "licence",
    "is_public",
    "geometry_kind",
    "schema",
    "name_attribute",
    "colour",
    "order",
)
FEATURE_COLUMNS = (
    "fid",
    "name",
    "name_key",
    "geometry",
    "geom_type",
    "properties",
    "min_lon",
    "min_lat",
    "max_lon",
    "max_lat",
    "lon",
    "lat",
    "length_m",
    "area_m2",
)


# --- The catalogue -------------------------------------------------------------------------------


def _choice(value: Any, choices, *, field: str) -> str:
    value = "" if value is None else str(value)
    if value not in dict(choices):
        raise InvalidInput(
            _("“%(value)s” is not a valid choice.") % {"value": value[:60]},
            field=field,
            code="invalid_choice",
        )
    return value


def _clean_fields(city: City, fields: dict[str, Any], *, layer: Layer | None = None) -> dict[str, Any]:
    """The editable layer fields among `fields`, checked. InvalidInput on the first bad one."""
    clean: dict[str, Any] = {}
    for name, value in fields.items():
        if name not in EDITABLE:
            raise InvalidInput(
                _("“%(name)s” cannot be changed.") % {"name": name}, field=name, code="not_editable"
            )
        if name == "code":
            code = clean_text(value, field="code", max_len=60, required=True)
            try:
                validate_slug(code)
            except Exception:  # noqa: BLE001 - Django's ValidationError; reported as ours
                raise InvalidInput(
                    _("The code may hold only letters, digits, hyphens and underscores."),
                    field="code",
                    code="invalid_code",
                )
            if code in RESERVED_CODES:
                raise InvalidInput(
                    _("“%(code)s” is the address of a page; choose another code.") % {"code": code},
                    field="code",
                    code="reserved_code",
                )
            clash = Layer.objects.for_city(city).filter(code=code)
            if layer is not None:
                clash = clash.exclude(pk=layer.pk)
            if clash.exists():
                raise Conflict(
                    _("The city already has a layer with the code “%(code)s”.") % {"code": code}, field="code"
                )
            clean["code"] = code
        elif name in ("name_vi", "name_en"):
            clean[name] = clean_text(value, field=name, max_len=200, required=name == "name_vi")
        elif name in ("description_vi", "description_en"):
            clean[name] = clean_text(value, field=name, max_len=5000)
        elif name == "sector":
            clean[name] = _choice(value, Sector.choices, field=name)
        elif name == "role":
            clean[name] = _choice(value or "", LayerRole.choices, field=name)
        elif name == "cadence":
            clean[name] = _choice(value, Cadence.choices, field=name)
        elif name == "geometry_kind":
            clean[name] = _choice(value, GeometryKind.choices, field=name)
        elif name == "licence":
            clean[name] = clean_text(value, field=name, max_len=60, required=True)
        elif name == "is_public":
            if not isinstance(value, bool):
                raise InvalidInput(_("This must be true or false."), field=name, code="invalid")
            clean[name] = value
        elif name == "owner":
            if value is None or value == "":
                clean[name] = None
            else:
                owner_id = value.pk if isinstance(value, Organisation) else value
                owner = Organisation.objects.for_city(city).filter(pk=owner_id).first()
                if owner is None:
                    raise InvalidInput(_("Choose an agency of this city."), field=name, code="invalid_owner")
                clean[name] = owner
        elif name == "schema":
            clean[name] = validation.check_schema(value)
        elif name == "name_attribute":
            clean[name] = clean_text(value, field=name, max_len=60)
        elif name == "colour":
            colour = clean_text(value, field=name, max_len=7, required=True)
            if not COLOUR.match(colour):
                raise InvalidInput(_("The colour must look like #3366cc."), field=name, code="invalid_colour")
            clean[name] = colour.lower()
        elif name == "order":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100_000:
                raise InvalidInput(
                    _("The order must be a whole number from 0 to 100000."), field=name, code="invalid"
                )
            clean[name] = value
    role = clean.get("role", layer.role if layer else "")
    kind = clean.get("geometry_kind", layer.geometry_kind if layer else GeometryKind.ANY)
    if role == LayerRole.COMMUNES and kind != GeometryKind.POLYGON:
        raise InvalidInput(
            _("A layer of commune boundaries holds areas (polygons)."),
            field="geometry_kind",
            code="invalid_kind",
        )
    if role == LayerRole.DRAINAGE and kind not in (GeometryKind.LINE, GeometryKind.ANY):
        raise InvalidInput(
            _("A drainage network layer holds lines."), field="geometry_kind", code="invalid_kind"
        )
    if role == LayerRole.FLOOD_PRONE and kind not in (GeometryKind.POLYGON, GeometryKind.ANY):
        raise InvalidInput(
            _("A flood-prone zones layer holds areas (polygons)."), field="geometry_kind", code="invalid_kind"
        )
    return clean


# Page addresses under /layers/ that a layer's code would shadow (validate_slug already refuses ".").
RESERVED_CODES = frozenset({"catalogue", "staff", "search", "map", "api"})


def _record(actor, layer: Layer, action: str, summary: str, **details) -> None:
    audit.record(
        actor=actor, action=action, obj=layer, city=layer.city, summary=summary[:300], details=details
    )


@transaction.atomic
def layer_create(
    *,
    actor,
    city: City,
    code: str,
    name_vi: str,
    name_en: str = "",
    sector: str,
    role: str = "",
    owner: Organisation | int | None = None,
    cadence: str,
    licence: str,
    is_public: bool,
    geometry_kind: str,
    schema: Iterable[dict[str, Any]] = (),
    name_attribute: str = "",
    colour: str = "#3366cc",
    description_vi: str = "",
    description_en: str = "",
) -> Layer:
    """Add a layer to the city's catalogue (empty until its first import)."""
    _require(actor, "layers.manage", city)
    fields = _clean_fields(
        city,
        {
            "code": code,
            "name_vi": name_vi,
            "name_en": name_en,
            "sector": sector,
            "role": role,
            "owner": owner,
            "cadence": cadence,
            "licence": licence,
            "is_public": is_public,
            "geometry_kind": geometry_kind,
            "schema": list(schema or ()),
            "name_attribute": name_attribute,
            "colour": colour,
            "description_vi": description_vi,
            "description_en": description_en,
        },
    )
    layer = Layer.objects.create(city=city, **fields)
    _record(actor, layer, AuditEvent.Action.CREATE, f"Created layer {layer.code}")
    return layer


@transaction.atomic
def layer_update(*, actor, layer: Layer, **fields) -> Layer:
    """Change a layer's catalogue entry (code, names, sector, role, owner, cadence, licence, visibility,
    geometry kind, schema, name attribute, colour, order). The schema applies from the next import."""
    _require(actor, "layers.manage", layer.city)
    clean = _clean_fields(layer.city, fields, layer=layer)
    changed = [name for name, value in clean.items() if getattr(layer, name) != value]
    for name in changed:
        setattr(layer, name, clean[name])
    if changed:
        layer.save(update_fields=[*changed])
        _record(actor, layer, AuditEvent.Action.UPDATE, f"Updated layer {layer.code}", fields=changed)
    return layer


@transaction.atomic
def layer_delete(*, actor, layer: Layer) -> None:
    """Remove a layer with its features and changelog."""
    _require(actor, "layers.manage", layer.city)
    _record(
        actor, layer, AuditEvent.Action.DELETE, f"Deleted layer {layer.code}", features=layer.feature_count
    )
    Feature.objects.filter(layer=layer).delete()
    layer.delete()


# --- Imports -------------------------------------------------------------------------------------


def _require(actor, operation: str, city: City) -> None:
    if actor is not None:  # None: the server itself (the command line)
        require(actor, operation, city)


def _require_import(actor, layer: Layer) -> None:
    """`layers.import` in the layer's city; an agency manager only for a layer their agency owns."""
    if actor is None:
        return
    require(actor, "layers.import", layer.city)
    if roles_of(actor, layer.city) & CITY_WIDE_ROLES:
        return
    own = set(
        actor.memberships.filter(city=layer.city, organisation__isnull=False).values_list(
            "organisation_id", flat=True
        )
    )
    if layer.owner_id is None or layer.owner_id not in own:
        raise PermissionDenied(_("This layer belongs to another agency."))


def refresh_stats(layer: Layer, *, now=None) -> None:
    """Recompute the columns a layer maintains from its features: count, bounding box, the largest
    feature width and height (the bounding-box query's reach), total length and area, last import."""
    qs = Feature.objects.filter(layer=layer)
    agg = qs.aggregate(
        a=Min("min_lon"),
        b=Min("min_lat"),
        c=Max("max_lon"),
        d=Max("max_lat"),
        w=Max(F("max_lon") - F("min_lon")),
        h=Max(F("max_lat") - F("min_lat")),
        length=Sum("length_m"),
        area=Sum("area_m2"),
    )
    layer.feature_count = qs.count()
    layer.min_lon, layer.min_lat, layer.max_lon, layer.max_lat = agg["a"], agg["b"], agg["c"], agg["d"]
    layer.max_feature_width = agg["w"] or 0.0
    layer.max_feature_height = agg["h"] or 0.0
    layer.total_length_m = round(agg["length"] or 0.0, 3)
    layer.total_area_m2 = round(agg["area"] or 0.0, 3)
    layer.updated_at = now or timezone.now()
    layer.save(
        update_fields=[
            "feature_count",
            "min_lon",
            "min_lat",
            "max_lon",
            "max_lat",
            "max_feature_width",
            "max_feature_height",
            "total_length_m",
            "total_area_m2",
            "updated_at",
        ]
    )


def _copy_features(layer: Layer, rows: list[tuple[validation.CleanFeature, str | None]]) -> None:
    """Insert features with PostgreSQL's COPY (several times faster than INSERT for large files)."""
    meta = Feature._meta
    columns = ["city_id", "layer_id", *FEATURE_COLUMNS, "commune_id"]
    quoted = ", ".join(
        connection.ops.quote_name(meta.get_field(c.removesuffix("_id")).column) for c in columns
    )
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f"COPY {connection.ops.quote_name(meta.db_table)} ({quoted}) FROM STDIN") as copy:
            for clean, commune in rows:
                fields = clean.model_fields()
                fields["properties"] = orjson.dumps(fields["properties"]).decode()
                copy.write_row((layer.city_id, layer.pk, *(fields[c] for c in FEATURE_COLUMNS), commune))


def _write_chunk(layer: Layer, chunk: list[validation.CleanFeature], *, mode: str) -> None:
    if not chunk:
        return
    communes = geo.locate_codes(layer.city, [c.lon for c in chunk], [c.lat for c in chunk], nearest=True)
    if mode == LayerImport.Mode.REPLACE and connection.vendor == "postgresql":
        _copy_features(layer, list(zip(chunk, communes, strict=True)))
        return
    objs = [
        Feature(city_id=layer.city_id, layer_id=layer.pk, commune_id=commune, **clean.model_fields())
        for clean, commune in zip(chunk, communes, strict=True)
    ]
    if mode == LayerImport.Mode.REPLACE:
        Feature.objects.bulk_create(objs, batch_size=CHUNK)
    else:
        Feature.objects.bulk_create(
            objs,
            batch_size=CHUNK,
            update_conflicts=True,
            unique_fields=["layer", "fid"],
            update_fields=[*FEATURE_COLUMNS, "commune"],
        )


def _commune_code_attribute(first: validation.CleanFeature) -> str:
    for name in COMMUNE_CODE_ATTRIBUTES:
        if first.properties.get(name) not in (None, ""):
            return name
    raise InvalidInput(
        _("%(where)s: a commune boundary needs its commune code in the attribute “ma_xa”.")
        % {"where": first.where[:1].upper() + first.where[1:]},
        code="commune_code_missing",
        field="file",
        where=first.where,
    )


def _run_import(
    *, layer: Layer, source: readers.Source, mode: str, filename: str, progress: Progress | None
) -> tuple[dict[str, int], dict[str, int]]:
    city = layer.city
    transform = geo.to_wgs84(source.srid)
    is_communes = layer.role == LayerRole.COMMUNES
    outline = None if is_communes else validation.outline_of(city)
    before = set(Feature.objects.filter(layer=layer).values_list("fid", flat=True))
    if mode == LayerImport.Mode.REPLACE:
        Feature.objects.filter(layer=layer).delete()
    seen: dict[str, str] = {}
    chunk: list[validation.CleanFeature] = []
    held: list[validation.CleanFeature] = []  # a communes layer: every boundary, written after they apply
    total = source.total or 0
    done = 0
    for raw in source.features:
        clean = validation.check(layer, raw, city_outline=outline, transform=transform)
        if clean.fid in seen:
            raise InvalidInput(
                _("%(where)s: its identifier “%(fid)s” was already used by %(other)s.")
                % {
                    "where": raw.where[:1].upper() + raw.where[1:],
                    "fid": clean.fid,
                    "other": seen[clean.fid],
                },
                code="fid_duplicate",
                field="file",
                where=raw.where,
            )
        seen[clean.fid] = raw.where
        (held if is_communes else chunk).append(clean)
        if len(chunk) >= CHUNK:
            _write_chunk(layer, chunk, mode=mode)
            chunk = []
        done += 1
        if progress and (done % 500 == 0 or done == total):
            progress(done, max(total, done))
    if not seen:
        raise InvalidInput(_("The file contains no features."), code="file_empty", field="file")
    reassigned: dict[str, int] = {}
    if is_communes:
        code_attribute = _commune_code_attribute(held[0])
        collection = {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"ma_xa": c.properties.get(code_attribute)},
                    "geometry": mapping(c.geom),
                }
                for c in held
            ],
        }
        geo.communes_import(
            city=city,
            data=collection,
            code_property="ma_xa",
            srid=4326,
            source=f"layer {layer.code}: {filename}"[:200],
        )
        for start in range(0, len(held), CHUNK):
            _write_chunk(layer, held[start : start + CHUNK], mode=mode)
    else:
        _write_chunk(layer, chunk, mode=mode)
    refresh_stats(layer)
    if is_communes:
        reassigned = geo.reassign_points(city)
    counts = {
        "added": len(seen.keys() - before),
        "updated": len(seen.keys() & before),
        "removed": len(before - seen.keys()) if mode == LayerImport.Mode.REPLACE else 0,
    }
    if progress:
        progress(done, done)
    return counts, reassigned


def layer_import(
    *,
    actor,
    layer: Layer,
    data: bytes,
    filename: str,
    format: str | None = None,  # noqa: A002 - the contract's name
    srid: int | None = None,
    mode: str = "replace",
    lon_column: str | None = None,
    lat_column: str | None = None,
    progress: Progress | None = None,
) -> LayerImport:
    """Import a file of features into `layer`, all or nothing. `mode` "replace" makes the file the whole
    layer; "upsert" adds new feature ids and updates known ones. Returns the accepted LayerImport row; a
    bad file raises InvalidInput (its message names the line or feature; `where` in its extra fields)
    after writing a `rejected` row to the changelog, with the layer left as it was."""
    _require_import(actor, layer)
    mode = _choice(mode, LayerImport.Mode.choices, field="mode")
    filename = (filename or "")[:200]
    digest = hashlib.sha256(data or b"").hexdigest()
    fmt = (format or readers.detect_format(data or b"", filename)).lower()
    used_srid = srid
    try:
        with transaction.atomic():
            source = readers.read(
                data,
                filename=filename,
                format=format,
                srid=srid,
                lon_column=lon_column,
                lat_column=lat_column,
            )
            fmt, used_srid = source.format, source.srid
            counts, reassigned = _run_import(
                layer=layer, source=source, mode=mode, filename=filename, progress=progress
            )
            row = LayerImport.objects.create(
                city=layer.city,
                layer=layer,
                actor=_person(actor),
                filename=filename,
                sha256=digest,
                format=fmt,
                mode=mode,
                srid=used_srid,
                status=LayerImport.Status.ACCEPTED,
                reassigned=reassigned,
                **counts,
            )
            _record(
                actor,
                layer,
                AuditEvent.Action.UPDATE,
                f"Imported {filename} into layer {layer.code}",
                mode=mode,
                **counts,
                reassigned=reassigned,
            )
    except DomainError as exc:
        if layer.role == LayerRole.COMMUNES:
            geo.invalidate(layer.city_id)  # the rolled-back boundaries must not linger in the cache
        layer.refresh_from_db()
        row = LayerImport.objects.create(
            city=layer.city,
            layer=layer,
            actor=_person(actor),
            filename=filename,
            sha256=digest,
            format=fmt if fmt in LayerImport.Format.values else "",
            mode=mode,
            srid=used_srid if isinstance(used_srid, int) and 0 < used_srid < 2**31 else 4326,
            status=LayerImport.Status.REJECTED,
            error_at=str(exc.extra.get("where", ""))[:60],
            error=exc.message,
        )
        _record(
            actor,
            layer,
            AuditEvent.Action.UPDATE,
            f"Rejected import of {filename} into layer {layer.code}",
            where=row.error_at,
            error=exc.message[:300],
        )
        exc.extra.setdefault("import_id", row.pk)
        raise
    return row


def _person(actor):
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def feature_points_assign(*, city: City, changes: list[tuple[Any, str]]) -> int:
    """Write the new commune of features re-located by `core.geo.reassign_points` (the layers point set)."""
    return geo.write_communes(Feature, city=city, changes=changes)


# --- Population ----------------------------------------------------------------------------------

POPULATION_COLUMNS = {
    "commune": ("ma_xa", "commune_code", "ma_don_vi", "code"),
    "year": ("nam", "year"),
    "population": ("dan_so", "population"),
    "households": ("so_ho", "households"),
}
_GROUPED = re.compile(r"^\d{1,3}([., ]\d{3})+$")


def _count(text: str) -> int:
    """A whole count from a CSV cell: "12345", "12.345" or "12,345" (thousands grouped)."""
    value = text.strip().replace("\u00a0", " ")
    if _GROUPED.match(value):
        value = re.sub(r"[., ]", "", value)
    if not value.isdigit():
        raise ValueError(value)
    return int(value)


def population_import(
    *, actor, city: City, data: bytes, filename: str, year: int | None = None, source: str = ""
) -> int:
    """Import population per commune from CSV (columns ma_xa, nam, dan_so, optional so_ho; or
    commune_code, year, population, households), all or nothing: one bad line rejects the file, named in
    the message. A (commune, year) already stored is updated. Returns the number of lines imported."""
    _require(actor, "layers.population", city)
    source = clean_text(source, field="source", max_len=200) or (filename or "")[:200]
    if year is not None and (isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 2100):
        raise InvalidInput(_("The year must be between 1900 and 2100."), field="year", code="invalid_year")
    if not data:
        raise InvalidInput(_("The file is empty."), field="file", code="file_empty")
    text = readers.decode_text(data, what=_("CSV file"))
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=max((";", ",", "\t"), key=first.count))
    header = [fold_key(name, separator="_") for name in next(reader, [])]
    at: dict[str, int | None] = {
        key: next((header.index(n) for n in names if n in header), None)
        for key, names in POPULATION_COLUMNS.items()
    }
    line1 = _("line %(n)d") % {"n": 1}
    for key, label in (("commune", "ma_xa"), ("population", "dan_so")):
        if at[key] is None:
            raise InvalidInput(
                _("Line 1 (the header) has no column “%(column)s”.") % {"column": label},
                field="file",
                code="csv_columns",
                where=line1,
            )
    if at["year"] is None and year is None:
        raise InvalidInput(
            _("Line 1 (the header) has no column “nam” (year): add it or give the year."),
            field="file",
            code="csv_columns",
            where=line1,
        )
    known = set(Commune.objects.filter(province_id=city.province_code).values_list("code", flat=True))
    rows: dict[tuple[str, int], CommunePopulation] = {}
    with transaction.atomic():
        for cells in reader:
            line = reader.line_num
            where = _("line %(n)d") % {"n": line}

            def bad(message: str, *, where=where, line=line) -> InvalidInput:
                return InvalidInput(
                    _("Line %(n)d: %(problem)s") % {"n": line, "problem": message},
                    field="file",
                    code="population_invalid",
                    where=where,
                )

            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                raise bad(
                    _("it has %(got)d columns; the header has %(want)d.")
                    % {"got": len(cells), "want": len(header)}
                )
            code = geo._code_of(cells[at["commune"]])
            if code not in known:
                raise bad(
                    _("“%(code)s” is not a commune of %(city)s.") % {"code": code or "—", "city": city.name}
                )
            try:
                line_year = int(cells[at["year"]].strip()) if at["year"] is not None else year
            except ValueError:
                raise bad(_("the year “%(value)s” is not a number.") % {"value": cells[at["year"]][:20]})
            if not 1900 <= line_year <= 2100:
                raise bad(_("the year must be between 1900 and 2100."))
            try:
                population = _count(cells[at["population"]])
            except ValueError:
                raise bad(
                    _("the population “%(value)s” is not a whole number.")
                    % {"value": cells[at["population"]][:20]}
                )
            households = None
            if at["households"] is not None and cells[at["households"]].strip():
                try:
                    households = _count(cells[at["households"]])
                except ValueError:
                    raise bad(
                        _("the number of households “%(value)s” is not a whole number.")
                        % {"value": cells[at["households"]][:20]}
                    )
            if (code, line_year) in rows:
                raise bad(
                    _("commune %(code)s appears twice for %(year)d.") % {"code": code, "year": line_year}
                )
            rows[(code, line_year)] = CommunePopulation(
                city=city,
                commune_id=code,
                year=line_year,
                population=population,
                households=households,
                source=source,
            )
        if not rows:
            raise InvalidInput(_("The file contains no data lines."), field="file", code="file_empty")
        CommunePopulation.objects.bulk_create(
            list(rows.values()),
            batch_size=CHUNK,
            update_conflicts=True,
            unique_fields=["city", "commune", "year"],
            update_fields=["population", "households", "source", "imported_at"],
        )
        audit.record(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            object_type="layers.communepopulation",
            city=city,
            summary=f"Imported population of {len(rows)} communes from {filename}"[:300],
            details={"years": sorted({y for _c, y in rows})},
        )
    return len(rows)
