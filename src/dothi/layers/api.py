"""Spatial layers API under /api/v1/layers/: the catalogue, a layer, its features as GeoJSON (by
bounding box with a cursor, by commune, by attribute filter, paginated), one feature, the whole layer
as a GeoJSON export, the place search, the derived measures (drainage monitored, population in
flood-prone zones), and for staff: creating and editing layers, importing a file (multipart) and its
changelog, and importing population per commune (CSV).

Internal layers exist only for staff holding `layers.view_internal` (a 404 to everyone else, never a
403). Writes use sessions with CSRF (ninja's `django_auth`): a client first calls
GET /api/v1/identity/csrf and sends the token in `X-CSRFToken`. Errors are `{"code", "message",
"field"}` in the user's language; bad input stores nothing. Geometry is served as stored (WGS84).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.security import django_auth

from dothi.core import selectors as core_selectors
from dothi.core.cities import request_city
from dothi.core.errors import DomainError, InvalidInput
from dothi.core.uploads import read_limited
from dothi.layers import selectors
from dothi.layers.models import Cadence, GeometryKind, Layer, LayerImport, LayerRole, Sector

router = Router(tags=["layers"])
IMPORTS_PAGE_SIZE = 20
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_POPULATION_BYTES = 5 * 1024 * 1024
GEOJSON = "application/geo+json"


class Error(Schema):
    code: str
    message: str
    field: str | None = None


ERRORS: dict[int | str, Any] = {
    400: Error,
    401: Error,
    403: Error,
    404: Error,
    409: Error,
    422: Error,
    429: Error,
}


def _iso(city, moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(ZoneInfo(city.time_zone or settings.TIME_ZONE)).isoformat()


# --- Output -----------------------------------------------------------------------------------------


class AttributeOut(Schema):
    code: str
    label_vi: str
    label_en: str
    type: str
    required: bool
    choices: list[Any] | None = None


class OwnerOut(Schema):
    code: str
    name: str


class LayerOut(Schema):
    code: str
    name: str = Field(description="In the request's language (Vietnamese when there is no English)")
    name_vi: str
    name_en: str
    description_vi: str
    description_en: str
    sector: str
    sector_label: str
    role: str = Field(description="'' | communes | drainage | flood_prone")
    owner: OwnerOut | None
    cadence: str
    licence: str
    is_public: bool
    geometry_kind: str
    schema_: list[AttributeOut] = Field(alias="schema", description="The attributes every feature carries")
    name_attribute: str
    colour: str
    order: int
    feature_count: int
    bbox: list[float] | None = Field(description="[west, south, east, north] of its features")
    total_length_m: float
    total_area_m2: float
    updated_at: str | None = Field(description="The last accepted import")
    url: str
    features_url: str
    export_url: str


def _layer_out(layer: Layer) -> dict[str, Any]:
    owner = layer.owner
    bbox = [layer.min_lon, layer.min_lat, layer.max_lon, layer.max_lat] if layer.min_lon is not None else None
    return {
        "code": layer.code,
        "name": layer.name,
        "name_vi": layer.name_vi,
        "name_en": layer.name_en,
        "description_vi": layer.description_vi,
        "description_en": layer.description_en,
        "sector": layer.sector,
        "sector_label": str(layer.get_sector_display()),
        "role": layer.role,
        "owner": {"code": owner.code, "name": owner.name} if owner else None,
        "cadence": layer.cadence,
        "licence": layer.licence,
        "is_public": layer.is_public,
        "geometry_kind": layer.geometry_kind,
        "schema": [
            {
                "code": str(a.get("code", "")),
                "label_vi": str(a.get("label_vi") or ""),
                "label_en": str(a.get("label_en") or ""),
                "type": str(a.get("type") or "str"),
                "required": bool(a.get("required")),
                "choices": a.get("choices"),
            }
            for a in (layer.schema or [])
            if isinstance(a, dict)
        ],
        "name_attribute": layer.name_attribute,
        "colour": layer.colour,
        "order": layer.order,
        "feature_count": layer.feature_count,
        "bbox": bbox,
        "total_length_m": layer.total_length_m,
        "total_area_m2": layer.total_area_m2,
        "updated_at": _iso(layer.city, layer.updated_at),
        "url": reverse("layers:detail", args=[layer.code]),
        "features_url": reverse("layers:features", args=[layer.code]),
        "export_url": reverse("layers:export", args=[layer.code]),
    }


class ImportOut(Schema):
    id: int
    at: str
    filename: str
    format: str
    mode: str
    srid: int
    status: str = Field(description="accepted or rejected")
    added: int
    updated: int
    removed: int
    error_at: str = Field(description="For a rejected file: the line or feature (“line 12”, “feature 7”)")
    error: str = Field(description="For a rejected file: why")
    reassigned: dict[str, int] = Field(description="For a communes layer: points re-assigned per module")


def _import_out(row: LayerImport) -> dict[str, Any]:
    return {
        "id": row.pk,
        "at": _iso(row.city, row.at) or "",
        "filename": row.filename,
        "format": row.format,
        "mode": row.mode,
        "srid": row.srid,
        "status": row.status,
        "added": row.added,
        "updated": row.updated,
        "removed": row.removed,
        "error_at": row.error_at,
        "error": row.error,
        "reassigned": {str(k): int(v) for k, v in (row.reassigned or {}).items()},
    }


class ImportPage(Schema):
    count: int
    page: int
    page_size: int
    num_pages: int
    results: list[ImportOut]


class ImportRejected(Error):
    where: str | None = Field(None, description="The line or feature of the first bad feature")
    rejected: ImportOut | None = Field(None, description="The changelog row of the rejected file")


class FeatureCollectionDoc(Schema):
    """Documentation of the GeoJSON answer (the body is written as stored, not through this schema)."""

    type: Literal["FeatureCollection"]
    features: list[dict]
    next: str | None = Field(description="The URL of the next batch or page, or null")
    count: int
    total: int | None = Field(None, description="In page mode: how many match")
    page: int | None = None
    num_pages: int | None = None


class PlaceOut(Schema):
    label: str
    kind: str = Field(description="commune or feature")
    lon: float
    lat: float
    bbox: list[float] | None
    layer: str | None = Field(description="The layer's code (features)")
    layer_name: str | None = None
    fid: str | None = None
    code: str | None = Field(None, description="The commune's code (communes)")


class DrainageOut(Schema):
    total_km: float
    monitored_km: float
    share: float | None = Field(description="0–1: the part of the network within radius_m of a sensor")
    lines: int
    sensors: int
    radius_m: float


class CommuneExposureOut(Schema):
    code: str
    name: str
    population: int
    year: int
    exposed: float
    share: float


class FloodOut(Schema):
    year: int | None
    population: int
    exposed: float
    share: float | None = Field(description="0–1: the population share living in flood-prone zones")
    zones: int
    communes: list[CommuneExposureOut]


class MeasuresOut(Schema):
    drainage: DrainageOut
    flood_exposure: FloodOut


# --- Public reads -----------------------------------------------------------------------------------


class CatalogueQuery(Schema):
    sector: Sector | None = None
    q: str | None = Field(None, max_length=100, description="Part of the name or code")


@router.get(
    "/",
    response={200: list[LayerOut], **ERRORS},
    by_alias=True,
    auth=None,
    summary="The layer catalogue (internal layers only for staff)",
)
def list_layers(request, q: Query[CatalogueQuery]):
    city = request_city(request)
    return [
        _layer_out(layer) for layer in selectors.catalogue(city, user=request.user, sector=q.sector, q=q.q)
    ]


class SearchQuery(Schema):
    q: str = Field(min_length=1, max_length=100, description="A place name, with or without accents")
    limit: int = Field(10, ge=1, le=50)


@router.get(
    "/search",
    response={200: list[PlaceOut], **ERRORS},
    auth=None,
    summary="Find places: communes by name and features of the visible layers (accent-insensitive)",
)
def search(request, q: Query[SearchQuery]):
    return selectors.search_places(request_city(request), q.q, user=request.user, limit=q.limit)


class MeasuresQuery(Schema):
    year: int | None = Field(None, ge=1900, le=2100, description="Population up to this year (latest)")
    radius_m: float = Field(100, gt=0, le=2000, description="Distance from a sensor that counts as monitored")


@router.get(
    "/measures",
    response={200: MeasuresOut, **ERRORS},
    auth=None,
    summary="Derived measures: drainage network monitored by sensors, population in flood-prone zones",
)
def measures(request, q: Query[MeasuresQuery]):
    city = request_city(request)
    return {
        "drainage": selectors.drainage_monitoring(city, radius_m=q.radius_m),
        "flood_exposure": selectors.flood_exposure(city, year=q.year),
    }


# The population import comes before the /{code} routes: a path is matched in the order it is declared.


class PopulationForm(Schema):
    year: int | None = Field(None, ge=1900, le=2100, description="When the file has no year column")
    source: str = Field("", max_length=200)


class PopulationOut(Schema):
    imported: int = Field(description="Rows imported (commune × year)")


@router.post(
    "/population",
    response={201: PopulationOut, **ERRORS},
    auth=django_auth,
    summary="Import population per commune (CSV: ma_xa, nam, dan_so, so_ho; city administrators)",
)
def import_population(request, payload: Form[PopulationForm], file: File[UploadedFile]):
    from dothi.layers import services

    data = read_upload(file, limit=MAX_POPULATION_BYTES)
    n = services.population_import(
        actor=request.auth,
        city=request_city(request),
        data=data,
        filename=(file.name or "")[-200:],
        year=payload.year,
        source=payload.source,
    )
    return Status(201, {"imported": n})


def _visible(request, code: str) -> Layer:
    return selectors.layer_by_code(request_city(request), code, user=request.user)


@router.get(
    "/{code}",
    response={200: LayerOut, **ERRORS},
    by_alias=True,
    auth=None,
    summary="One layer of the catalogue",
)
def get_layer(request, code: str):
    return _layer_out(_visible(request, code))


class FeaturesQuery(Schema):
    bbox: str | None = Field(None, max_length=120, description="west,south,east,north (WGS84): cursor mode")
    cursor: int | None = Field(None, ge=0, description="With bbox: the `next` batch after this feature")
    limit: int = Field(selectors.BBOX_LIMIT, ge=1, le=selectors.BBOX_LIMIT, description="With bbox")
    commune: str | None = Field(None, max_length=5, description="A commune code")
    page: int = Field(1, ge=1, le=1_000_000, description="Without bbox")
    page_size: int = Field(selectors.PAGE_SIZE, ge=1, le=selectors.MAX_PAGE_SIZE, description="Without bbox")


def geojson_response(
    request, found: selectors.FeaturePage, next_params: dict[str, str] | None, *, max_age: int = 60
) -> HttpResponse:
    """A FeatureCollection with `next` (a URL or null), `count` and, in page mode, `total`/`page`."""
    members: dict[str, Any] = {
        "next": request.path + "?" + urlencode(next_params) if next_params else None,
        "count": found.count,
    }
    if found.page is not None:
        members.update(total=found.total, page=found.page, num_pages=found.num_pages)
    response = HttpResponse(found.geojson(**members), content_type=GEOJSON)
    response["Cache-Control"] = f"private, max-age={max_age}"
    return response


@router.get(
    "/{code}/features",
    response={200: FeatureCollectionDoc, **ERRORS},
    auth=None,
    summary="Features as GeoJSON: by bbox (≤ 5,000 per batch, `next` by cursor), or paginated; filtered by "
    "commune and by attribute with attr.NAME=value, attr.NAME__gte=, attr.NAME__lte=",
)
def features(request, code: str, q: Query[FeaturesQuery]):
    layer = _visible(request, code)
    found, next_params = selectors.features_from_params(layer, request.GET)
    return geojson_response(request, found, next_params)


@router.get(
    "/{code}/features/{fid}",
    response={200: dict, **ERRORS},
    auth=None,
    summary="One feature as a GeoJSON Feature",
)
def feature(request, code: str, fid: str):
    layer = _visible(request, code)
    return HttpResponse(selectors.feature_geojson(selectors.feature_by_fid(layer, fid)), content_type=GEOJSON)


def export_response(layer: Layer) -> StreamingHttpResponse:
    response = StreamingHttpResponse(selectors.layer_geojson_stream(layer), content_type=GEOJSON)
    response["Content-Disposition"] = f'attachment; filename="{layer.city.slug}-{layer.code}.geojson"'
    response["Cache-Control"] = "private, max-age=300"
    return response


@router.get(
    "/{code}/export.geojson",
    response={200: dict, **ERRORS},
    auth=None,
    summary="The whole layer as one GeoJSON FeatureCollection (streamed)",
)
def export(request, code: str):
    return export_response(_visible(request, code))


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=100_000)


@router.get(
    "/{code}/imports",
    response={200: ImportPage, **ERRORS},
    auth=None,
    summary="The layer's changelog: every import, accepted or rejected, newest first",
)
def list_imports(request, code: str, q: Query[PageQuery]):
    from django.core.paginator import Paginator

    layer = _visible(request, code)
    paginator = Paginator(selectors.imports_of(layer), IMPORTS_PAGE_SIZE)
    rows = paginator.page(q.page).object_list if q.page <= paginator.num_pages else []
    return {
        "count": paginator.count,
        "page": q.page,
        "page_size": IMPORTS_PAGE_SIZE,
        "num_pages": paginator.num_pages,
        "results": [_import_out(r) for r in rows],
    }


# --- Staff: the catalogue, imports, population --------------------------------------------------------


class AttributeIn(Schema):
    code: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    label_vi: str = Field("", max_length=120)
    label_en: str = Field("", max_length=120)
    type: Literal["str", "int", "float", "bool", "date"] = "str"
    required: bool = False
    choices: list[str | int | float] | None = Field(None, max_length=200)


class LayerFields(Schema):
    name_vi: str = Field(max_length=200)
    name_en: str = Field("", max_length=200)
    description_vi: str = Field("", max_length=5000)
    description_en: str = Field("", max_length=5000)
    sector: Sector = Sector.OTHER
    role: LayerRole = LayerRole.PLAIN
    owner: str | None = Field(
        None, max_length=60, description="The owner agency's code (organisation of the city)"
    )
    cadence: Cadence = Cadence.IRREGULAR
    licence: str = Field("CC-BY-4.0", max_length=60)
    is_public: bool = False
    geometry_kind: GeometryKind = GeometryKind.ANY
    schema_: list[AttributeIn] = Field(default_factory=list, alias="schema", max_length=100)
    name_attribute: str = Field("", max_length=60)
    colour: str = Field("#3366cc", pattern=r"^#[0-9A-Fa-f]{6}$")


class LayerIn(LayerFields):
    code: str = Field(min_length=1, max_length=60, pattern=r"^[-a-z0-9_]+$")


class LayerPatch(LayerFields):
    name_vi: str | None = Field(None, max_length=200)
    sector: Sector | None = None
    role: LayerRole | None = None
    cadence: Cadence | None = None
    licence: str | None = Field(None, max_length=60)
    is_public: bool | None = None
    geometry_kind: GeometryKind | None = None
    colour: str | None = Field(None, pattern=r"^#[0-9A-Fa-f]{6}$")
    order: int | None = Field(None, ge=0, le=100_000)


_NOT_NULL = (
    "name_vi",
    "sector",
    "role",
    "cadence",
    "licence",
    "is_public",
    "geometry_kind",
    "colour",
    "order",
)


def _owner(city, code: str | None):
    if not code:
        return None
    found = core_selectors.organisations(city).filter(code=code).first()
    if found is None:
        raise InvalidInput(
            _("There is no such organisation in this city."), field="owner", code="owner_unknown"
        )
    return found


def _fields(city, payload: LayerFields, *, only_sent: bool) -> dict[str, Any]:
    fields = payload.model_dump(exclude_unset=only_sent, by_alias=False)
    if "schema_" in fields:
        fields["schema"] = [
            {k: v for k, v in a.items() if v is not None or k != "choices"}
            for a in fields.pop("schema_") or []
        ]
    for name in _NOT_NULL:
        if name in fields and fields[name] is None:
            fields.pop(name)  # null means "unchanged" for a field that cannot be empty
    for name in ("sector", "role", "cadence", "geometry_kind"):
        if name in fields:
            fields[name] = str(getattr(fields[name], "value", fields[name]))
    if "owner" in fields:
        fields["owner"] = _owner(city, fields["owner"])
    return fields


@router.post(
    "/",
    response={201: LayerOut, **ERRORS},
    by_alias=True,
    auth=django_auth,
    summary="Create a layer (city administrators, operators)",
)
def create_layer(request, payload: LayerIn):
    from dothi.layers import services

    city = request_city(request)
    fields = _fields(city, payload, only_sent=False)
    layer = services.layer_create(actor=request.auth, city=city, **fields)
    return Status(201, _layer_out(layer))


@router.patch(
    "/{code}",
    response={200: LayerOut, **ERRORS},
    by_alias=True,
    auth=django_auth,
    summary="Change a layer's metadata (only the fields sent; city administrators, operators)",
)
def update_layer(request, code: str, payload: LayerPatch):
    from dothi.layers import services

    layer = selectors.layer_by_code(request_city(request), code, user=request.auth)
    fields = _fields(layer.city, payload, only_sent=True)
    updated = services.layer_update(actor=request.auth, layer=layer, **fields)
    return _layer_out(
        updated
        if isinstance(updated, Layer)
        else selectors.layer_by_code(layer.city, layer.code, user=request.auth)
    )


class ImportForm(Schema):
    format: Literal["geojson", "csv", "shapefile"] | None = Field(None, description="Else from the file name")
    srid: int | None = Field(None, ge=1, le=999_999, description="EPSG code, e.g. 9210 (VN-2000); else WGS84")
    mode: Literal["replace", "upsert"] = "replace"
    lon_column: str | None = Field(None, max_length=60, description="CSV: the longitude (or x) column")
    lat_column: str | None = Field(None, max_length=60, description="CSV: the latitude (or y) column")


def read_upload(file, *, limit: int, field: str = "file") -> bytes:
    return read_limited(
        file,
        limit=limit,
        field=field,
        too_big=InvalidInput(
            _("The file is too large (at most %(mb)d MB).") % {"mb": limit // (1024 * 1024)},
            field=field,
            code="file_too_large",
        ),
    )


@router.post(
    "/{code}/imports",
    response={201: ImportOut, 422: ImportRejected, **{k: v for k, v in ERRORS.items() if k != 422}},
    auth=django_auth,
    summary="Import a file into a layer (multipart: GeoJSON, CSV with coordinates, zipped Shapefile; all or "
    "nothing). A rejected file answers 422 with the line or feature and the reason, and is in the changelog",
)
def import_file(request, code: str, payload: Form[ImportForm], file: File[UploadedFile]):
    from dothi.layers import services

    layer = selectors.layer_by_code(request_city(request), code, user=request.auth)
    data = read_upload(file, limit=MAX_UPLOAD_BYTES)
    try:
        row = services.layer_import(
            actor=request.auth,
            layer=layer,
            data=data,
            filename=(file.name or "")[-200:],
            format=payload.format,
            srid=payload.srid,
            mode=payload.mode,
            lon_column=payload.lon_column or None,
            lat_column=payload.lat_column or None,
        )
    except DomainError as exc:
        # A rejected file is in the changelog: the answer carries that row (where and why).
        rejected = rejected_import(layer, exc)
        if rejected is None:
            raise
        return Status(
            422,
            {
                "code": exc.code,
                "message": exc.message,
                "field": exc.field or "file",
                "where": rejected.error_at,
                "rejected": _import_out(rejected),
            },
        )
    return Status(201, _import_out(row))


def rejected_import(layer: Layer, exc: DomainError) -> LayerImport | None:
    """The changelog row the import service wrote for a file it rejected, if any."""
    import_id = exc.extra.get("import_id")
    if not import_id:
        return None
    return LayerImport.objects.filter(city_id=layer.city_id, layer=layer, pk=import_id).first()
