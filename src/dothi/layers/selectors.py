"""Reads of the spatial layers, always scoped by city and by visibility: the catalogue (internal layers
only for staff holding `layers.view_internal`), features by bounding box, commune or attribute, GeoJSON
for the map and for export, the place search, the changelog, population per commune, and the derived
measures other modules need (the drainage network monitored by sensors, the population living in
flood-prone zones).

A feature's geometry is stored as GeoJSON text: the map and the export splice it into the response as it
is, never parsing and re-dumping it (a 5,000-feature viewport is a string join, not 5,000 `json.loads`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson
from django.db import connection
from django.db.models import Q, QuerySet, TextField
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils.translation import gettext as _

from dothi.core import geo
from dothi.core.errors import InvalidInput, NotFound
from dothi.core.models import City, Commune, CommuneArea
from dothi.core.permissions import can
from dothi.core.text import fold_key
from dothi.layers.models import CommunePopulation, Feature, Layer, LayerImport, LayerRole

# --- Point set (re-assignment of features to communes) ---------------------------------------------
# feature_points(city) is written here by the import side (see manifest.PointSet "layers.feature").


def feature_points(city: City) -> Iterator[tuple[int, float, float, str | None]]:
    """(pk, lon, lat, commune code) of every feature of the city (its representative point), streamed:
    the rows `core.geo.reassign_points` re-locates when official commune boundaries arrive."""
    return (
        Feature.objects.filter(city=city)
        .values_list("pk", "lon", "lat", "commune_id")
        .iterator(chunk_size=20_000)
    )


# --- The catalogue ---------------------------------------------------------------------------------

BBOX_LIMIT = 5000  # features per layer per viewport request
PAGE_SIZE = 100  # features per page (by commune or attribute)
MAX_PAGE_SIZE = 1000
EXPORT_CHUNK = 2000
FETCH_CHUNK = 900  # ids per IN (...) query (SQLite's classic limit of 999 parameters)
SEARCH_MIN_CHARS = 2
# The quantities of sensors that watch a drain (EC: ICT: D: 1A).
DRAINAGE_QUANTITIES = ("water_level",)


def sees_internal(user, city: City) -> bool:
    """Whether `user` may see the city's internal (non-public) layers."""
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and can(user, "layers.view_internal", city)
    )


def catalogue(city: City, *, user=None, sector: str | None = None, q: str | None = None) -> QuerySet[Layer]:
    """The city's layers in catalogue order: public ones for everyone, internal ones too for staff of the
    city holding `layers.view_internal`; optionally of one sector, or whose name or code contains `q`."""
    qs = Layer.objects.for_city(city).select_related("owner")
    if not sees_internal(user, city):
        qs = qs.filter(is_public=True)
    if sector:
        qs = qs.filter(sector=sector)
    if q and q.strip():
        text = q.strip()[:100]
        qs = qs.filter(Q(name_vi__icontains=text) | Q(name_en__icontains=text) | Q(code__icontains=text))
    return qs.order_by("order", "code")


def layer_by_code(city: City, code: str, *, user=None) -> Layer:
    """One layer of the city; NotFound for an unknown code and, to those who may not see it, for an
    internal layer (its existence is not disclosed)."""
    layer = Layer.objects.for_city(city).select_related("owner").filter(code=code).first()
    if layer is None or (not layer.is_public and not sees_internal(user, city)):
        raise NotFound(_("There is no such layer."), field="code")
    return layer


def schema_labels(layer: Layer) -> list[dict[str, str]]:
    """The layer's attributes as [{"code", "label", "type"}] in the active language (pop-ups, tables)."""
    from dothi.core.models import localised

    return [
        {
            "code": str(a.get("code", "")),
            "label": localised(str(a.get("label_vi") or a.get("code", "")), str(a.get("label_en") or "")),
            "type": str(a.get("type") or "str"),
        }
        for a in (layer.schema or [])
        if isinstance(a, dict) and a.get("code")
    ]


# --- Features as GeoJSON text -----------------------------------------------------------------------


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _feature_text(fid: str, geometry: str, properties: str | None) -> str:
    return (
        '{"type":"Feature","id":'
        + _json(fid)
        + ',"geometry":'
        + geometry
        + ',"properties":'
        + (properties or "{}")
        + "}"
    )


def _rows(qs: QuerySet) -> QuerySet:
    # The attributes as the database's own JSON text (jsonb::text on PostgreSQL), like the geometry.
    return qs.annotate(_props=Cast("properties", output_field=TextField())).values_list(
        "pk", "fid", "geometry", "_props"
    )


@dataclass(frozen=True)
class FeaturePage:
    """A batch of features as GeoJSON Feature texts. In bounding-box mode `next_cursor` (the last pk)
    asks for the next batch; in page mode `page`, `num_pages` and `total` say where it is."""

    features: list[str]
    next_cursor: int | None = None
    page: int | None = None
    num_pages: int | None = None
    total: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.features)

    def geojson(self, **members: Any) -> str:
        """A FeatureCollection (text) with the batch and `members` (e.g. "next") as foreign members."""
        head = '{"type":"FeatureCollection","features":[' + ",".join(self.features) + "]"
        body = {**self.extra, **members}
        if body:
            head += "," + _json(body)[1:-1]
        return head + "}"


def parse_bbox(text: str | None, *, field: str = "bbox") -> tuple[float, float, float, float]:
    """ "west,south,east,north" in degrees (WGS84), else InvalidInput naming `field`."""
    parts = str(text or "").split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise InvalidInput(
            _("The bounding box must be four numbers: west,south,east,north."),
            field=field,
            code="bbox_invalid",
        )
    x1, y1, x2, y2 = values
    if not (-180 <= x1 <= x2 <= 180 and -90 <= y1 <= y2 <= 90):
        raise InvalidInput(
            _("The bounding box must run west to east and south to north, within ±180° and ±90°."),
            field=field,
            code="bbox_invalid",
        )
    return x1, y1, x2, y2


def _bbox_q(layer: Layer, bbox: tuple[float, float, float, float]) -> Q:
    """ "Intersects the box" as ranges the index (layer, min_lon, min_lat) answers: a feature no wider
    than the layer's widest starts at most that far west of the box (see models.py)."""
    x1, y1, x2, y2 = bbox
    return Q(
        min_lon__gte=x1 - layer.max_feature_width,
        min_lon__lte=x2,
        min_lat__gte=y1 - layer.max_feature_height,
        min_lat__lte=y2,
        max_lon__gte=x1,
        max_lat__gte=y1,
    )


def _typed(kind: str, raw: str, field: str) -> Any:
    text = str(raw).strip()
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            value = float(text.replace(",", "."))
            if not math.isfinite(value):
                raise ValueError
            return value
        if kind == "bool":
            lowered = text.lower()
            if lowered in ("true", "1", "yes", "có", "co"):
                return True
            if lowered in ("false", "0", "no", "không", "khong"):
                return False
            raise ValueError
        if kind == "date":
            return date.fromisoformat(text).isoformat()
    except ValueError:
        raise InvalidInput(
            _("“%(value)s” is not a valid value for this attribute (%(type)s).")
            % {"value": text[:60], "type": kind},
            field=field,
            code="filter_invalid",
        ) from None
    return text


def _attribute_q(layer: Layer, filters: dict[str, str], qs: QuerySet) -> QuerySet:
    """Attribute equality, and `NAME__gte` / `NAME__lte` for numbers and dates, on the JSON properties;
    only attributes of the layer's schema (a typo is a clear error, not an empty answer)."""
    schema = {str(a.get("code")): a for a in (layer.schema or []) if isinstance(a, dict) and a.get("code")}
    for index, (key, raw) in enumerate(sorted(filters.items())):
        name, _sep, op = str(key).partition("__")
        field = f"attr.{key}"
        spec = schema.get(name)
        if spec is None:
            raise InvalidInput(
                _("The layer has no attribute “%(name)s”.") % {"name": name[:60]},
                field=field,
                code="filter_unknown",
            )
        kind = str(spec.get("type") or "str")
        if op not in ("", "gte", "lte"):
            raise InvalidInput(
                _("Attribute filters are NAME, NAME__gte or NAME__lte."), field=field, code="filter_invalid"
            )
        if op and kind not in ("int", "float", "date"):
            raise InvalidInput(
                _("Only numbers and dates can be compared with __gte or __lte."),
                field=field,
                code="filter_invalid",
            )
        alias = f"_attr{index}"
        qs = qs.annotate(**{alias: KeyTransform(name, "properties")}).filter(
            **{f"{alias}__{op or 'exact'}": _typed(kind, raw, field)}
        )
    return qs


def features_query(
    layer: Layer,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    commune_code: str | None = None,
    filters: dict[str, str] | None = None,
) -> QuerySet[Feature]:
    """The layer's features in a box, a commune and matching attribute filters (each optional), by pk."""
    # The layer was found in its city (layer_by_code): filtering on the layer alone keeps the bbox
    # query answerable from the covering index (migration 0002).
    qs = Feature.objects.filter(layer=layer)
    if bbox is not None:
        qs = qs.filter(_bbox_q(layer, bbox))
    if commune_code:
        qs = qs.filter(commune_id=commune_code)
    if filters:
        qs = _attribute_q(layer, filters, qs)
    return qs.order_by("pk")


def features_bbox(
    layer: Layer,
    bbox: tuple[float, float, float, float],
    *,
    limit: int = BBOX_LIMIT,
    cursor: int | None = None,
    filters: dict[str, str] | None = None,
    commune_code: str | None = None,
) -> FeaturePage:
    """The layer's features intersecting `bbox` (by their bounding boxes), at most `limit` (≤ 5,000) by
    pk after `cursor`; `next_cursor` is set when more remain."""
    limit = max(1, min(int(limit), BBOX_LIMIT))
    qs = features_query(layer, bbox=bbox, filters=filters, commune_code=commune_code)
    if cursor:
        qs = qs.filter(pk__gt=cursor)
    # Two steps: which features (an index-only scan of the bbox index, sorted by pk), then only those
    # rows' geometry and attributes; a viewport of 50,000 features reads 5,000 rows, not 50,000.
    ids = list(qs.values_list("pk", flat=True)[: limit + 1])
    more = len(ids) > limit
    ids = ids[:limit]
    return FeaturePage(
        features=[_feature_text(fid, geometry, props) for _pk, fid, geometry, props in _rows_by_id(ids)],
        next_cursor=ids[-1] if more else None,
    )


def _rows_by_id(ids: list[int]) -> list[tuple]:
    """(pk, fid, geometry text, attributes text) of the features `ids`, by pk. On PostgreSQL one query
    with an array parameter (`= ANY`), which parses far faster than 5,000 IN parameters."""
    if not ids:
        return []
    if connection.vendor == "postgresql":
        table = Feature._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, fid, geometry, properties::text FROM {table} WHERE id = ANY(%s) ORDER BY id",  # noqa: S608
                [list(ids)],
            )
            return cursor.fetchall()
    rows: list[tuple] = []
    for start in range(0, len(ids), FETCH_CHUNK):
        rows += _rows(Feature.objects.filter(pk__in=ids[start : start + FETCH_CHUNK]).order_by("pk"))
    return rows


def _page(qs: QuerySet, page: int, page_size: int) -> FeaturePage:
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    page = max(1, int(page))
    total = qs.count()
    num_pages = max(1, math.ceil(total / page_size))
    start = (page - 1) * page_size
    rows = list(_rows(qs)[start : start + page_size]) if page <= num_pages else []
    return FeaturePage(
        features=[_feature_text(fid, geometry, props) for _pk, fid, geometry, props in rows],
        page=page,
        num_pages=num_pages,
        total=total,
    )


def features_in_commune(
    layer: Layer,
    commune_code: str,
    *,
    page: int = 1,
    page_size: int = PAGE_SIZE,
    filters: dict[str, str] | None = None,
) -> FeaturePage:
    """The layer's features whose representative point is in the commune, a page at a time."""
    return _page(features_query(layer, commune_code=commune_code, filters=filters), page, page_size)


def features_filtered(
    layer: Layer, *, filters: dict[str, str], page: int = 1, page_size: int = PAGE_SIZE
) -> FeaturePage:
    """The layer's features whose attributes match `filters` ({"ten": "...", "so_hs__gte": "500"})."""
    return _page(features_query(layer, filters=filters), page, page_size)


def _int_param(params, name: str, default: int | None, *, low: int, high: int) -> int | None:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        value = None
    if value is None or not low <= value <= high:
        raise InvalidInput(
            _("“%(name)s” must be a whole number from %(low)d to %(high)d.")
            % {"name": name, "low": low, "high": high},
            field=name,
            code="invalid",
        )
    return value


def features_from_params(layer: Layer, params) -> tuple[FeaturePage, dict[str, str] | None]:
    """The features a query string asks for (the API's and the map's `features` endpoints): `bbox`
    (with `cursor`, by pk, at most 5,000), else pages (`page`, `page_size` ≤ 1,000); `commune` and
    `attr.NAME[__gte|__lte]` filters in both. Returns the page and the parameters of the next one."""
    filters = {key[5:]: value for key, value in params.items() if key.startswith("attr.") and len(key) > 5}
    commune = (params.get("commune") or "").strip()[:5] or None
    base = {k: v for k, v in params.items() if k not in ("cursor", "page")}
    if params.get("bbox"):
        bbox = parse_bbox(params.get("bbox"))
        cursor = _int_param(params, "cursor", None, low=0, high=2**62)
        limit = _int_param(params, "limit", BBOX_LIMIT, low=1, high=BBOX_LIMIT)
        found = features_bbox(layer, bbox, limit=limit, cursor=cursor, filters=filters, commune_code=commune)
        return found, ({**base, "cursor": str(found.next_cursor)} if found.next_cursor else None)
    page = _int_param(params, "page", 1, low=1, high=1_000_000)
    page_size = _int_param(params, "page_size", PAGE_SIZE, low=1, high=MAX_PAGE_SIZE)
    if commune:
        found = features_in_commune(layer, commune, page=page, page_size=page_size, filters=filters)
    else:
        found = features_filtered(layer, filters=filters, page=page, page_size=page_size)
    more = found.page is not None and found.num_pages is not None and found.page < found.num_pages
    return found, ({**base, "page": str(found.page + 1)} if more else None)


def feature_by_fid(layer: Layer, fid: str) -> Feature:
    feature = (
        Feature.objects.filter(city_id=layer.city_id, layer=layer, fid=fid).select_related("commune").first()
    )
    if feature is None:
        raise NotFound(_("The layer has no such feature."), field="fid")
    return feature


def feature_geojson(feature: Feature) -> str:
    """One feature as a GeoJSON Feature (text); the geometry as stored."""
    return _feature_text(feature.fid, feature.geometry, _json(feature.properties or {}))


def layer_geojson_stream(layer: Layer) -> Iterator[str]:
    """The whole layer as one FeatureCollection, in chunks (for a StreamingHttpResponse): features are
    read by pk in batches of 2,000, so memory stays flat for a layer of any size."""
    meta = {
        "name": layer.code,
        "title": layer.name,
        "licence": layer.licence,
        "updated_at": layer.updated_at.isoformat() if layer.updated_at else None,
    }
    yield '{"type":"FeatureCollection",' + _json(meta)[1:-1] + ',"features":['
    qs = Feature.objects.filter(layer=layer).order_by("pk")
    last = 0
    first = True
    while True:
        rows = list(_rows(qs.filter(pk__gt=last))[:EXPORT_CHUNK])
        if not rows:
            break
        chunk = ",".join(_feature_text(fid, geometry, props) for _pk, fid, geometry, props in rows)
        yield chunk if first else "," + chunk
        first = False
        last = rows[-1][0]
    yield "]}"


# --- Place search ----------------------------------------------------------------------------------


def _commune_hits(city: City, key: str) -> list[tuple[int, dict[str, Any]]]:
    areas = {
        a.commune_id: a
        for a in CommuneArea.objects.for_city(city).only(
            "commune_id", "min_lon", "min_lat", "max_lon", "max_lat"
        )
    }
    found = []
    for commune in Commune.objects.filter(province_id=city.province_code).only(
        "code", "name", "kind", "centre_lon", "centre_lat"
    ):
        folded = fold_key(commune.name)
        if key not in folded:
            continue
        area = areas.get(commune.code)
        bbox = [area.min_lon, area.min_lat, area.max_lon, area.max_lat] if area else None
        lon, lat = commune.centre_lon, commune.centre_lat
        if (lon is None or lat is None) and bbox:
            lon, lat = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
        if lon is None or lat is None:
            continue
        # Communes whose name (after its "Phường"/"Xã" word) starts with the query rank first.
        rank = 0 if folded.startswith(key) or f" {key}" in folded else 1
        found.append(
            (
                rank,
                {
                    "label": commune.name,
                    "kind": "commune",
                    "lon": lon,
                    "lat": lat,
                    "bbox": bbox,
                    "layer": None,
                    "code": commune.code,
                },
            )
        )
    return found


def search_places(city: City, q: str, *, user=None, limit: int = 10) -> list[dict[str, Any]]:
    """Places whose name matches `q`, accent-insensitively ("truong le loi" finds "Trường Lê Lợi"): the
    city's communes by name, then features of the layers the user may see by `name_key` (prefix, then a
    word of the name, then anywhere). Each hit: {"label", "kind" ("commune" | "feature"), "lon", "lat",
    "bbox" ([w, s, e, n] or None), "layer" (its code, None for a commune)}, features also "fid" and
    "layer_name"."""
    key = fold_key(q or "")[:100]
    limit = max(1, min(int(limit), 50))
    if len(key) < SEARCH_MIN_CHARS:
        return []
    communes = sorted(_commune_hits(city, key), key=lambda h: (h[0], h[1]["label"]))
    hits = [hit for _rank, hit in communes][:limit]
    layers = {
        layer.pk: layer
        for layer in catalogue(city, user=user).select_related(None).only("pk", "code", "name_vi", "name_en")
    }
    if not layers or len(hits) >= limit:
        return hits
    base = Feature.objects.filter(city=city, layer_id__in=list(layers)).exclude(name_key="")
    seen: set[int] = set()
    for condition in (
        Q(name_key__startswith=key),
        Q(name_key__contains=f" {key}"),
        Q(name_key__contains=key),
    ):
        want = limit - len(hits)
        if want <= 0:
            break
        rows = (
            base.filter(condition)
            .exclude(pk__in=seen)
            .order_by("name_key", "pk")
            .values_list(
                "pk", "layer_id", "fid", "name", "lon", "lat", "min_lon", "min_lat", "max_lon", "max_lat"
            )
        )[:want]
        for pk, layer_id, fid, name, lon, lat, x1, y1, x2, y2 in rows:
            seen.add(pk)
            layer = layers[layer_id]
            hits.append(
                {
                    "label": name,
                    "kind": "feature",
                    "lon": lon,
                    "lat": lat,
                    "bbox": [x1, y1, x2, y2],
                    "layer": layer.code,
                    "layer_name": layer.name,
                    "fid": fid,
                }
            )
    return hits


# --- The changelog and population -----------------------------------------------------------------


def imports_of(layer: Layer) -> QuerySet[LayerImport]:
    """The layer's changelog, newest first: every import attempt, accepted or rejected."""
    return (
        LayerImport.objects.filter(city_id=layer.city_id, layer=layer)
        .select_related("actor")
        .order_by("-at", "-pk")
    )


def imports_of_city(city: City, *, user=None) -> QuerySet[LayerImport]:
    """Every import of the city's layers the user may see (the staff imports log), newest first."""
    qs = LayerImport.objects.for_city(city).select_related("layer", "actor")
    if not sees_internal(user, city):
        qs = qs.filter(layer__is_public=True)
    return qs.order_by("-at", "-pk")


def population(city: City, year: int | None = None) -> dict[str, CommunePopulation]:
    """Population per commune code: for each commune its latest year (up to `year` when given)."""
    qs = CommunePopulation.objects.for_city(city).select_related("commune")
    if year is not None:
        qs = qs.filter(year__lte=year)
    latest: dict[str, CommunePopulation] = {}
    for row in qs.order_by("commune_id", "-year"):
        latest.setdefault(row.commune_id, row)
    return latest


def population_of(city: City, commune_code: str) -> dict[str, Any] | None:
    """The commune's latest population, {"population", "households", "year", "source"}, or None (the
    control centre's ward summary reads it as `layers.population`)."""
    row = (
        CommunePopulation.objects.for_city(city)
        .filter(commune_id=getattr(commune_code, "code", commune_code))
        .order_by("-year")
        .first()
    )
    if row is None:
        return None
    return {
        "population": row.population,
        "households": row.households,
        "year": row.year,
        "source": row.source,
    }


def ward_summary(city: City, commune) -> list[dict[str, Any]]:
    """Features per layer in one commune (the control centre, staff: every layer), layers that have any."""
    code = getattr(commune, "code", commune)
    items = []
    for layer in Layer.objects.for_city(city).order_by("order", "code"):
        n = Feature.objects.filter(city=city, layer=layer, commune_id=code).count()
        if n:
            items.append(
                {"label": layer.name, "value": n, "url": reverse("layers:detail", args=[layer.code])}
            )
    return items


def ioc_catalogue(city: City, user) -> list[dict[str, Any]]:
    """The layers the user may see, for the control centre's switcher (`layers.catalogue`)."""
    return [
        {
            "code": layer.code,
            "name": layer.name,
            "sector": layer.sector,
            "sector_label": layer.get_sector_display(),
            "colour": layer.colour,
            "geometry_kind": layer.geometry_kind,
            "is_public": layer.is_public,
            "name_attribute": layer.name_attribute,
            "features_url": reverse("layers:features", args=[layer.code]),
            "url": reverse("layers:detail", args=[layer.code]),
        }
        for layer in catalogue(city, user=user)
    ]


# --- Derived measures -----------------------------------------------------------------------------


def _metres(lat0: float):
    """Metres around latitude `lat0` (core.geo's local projection): accurate to a fraction of a percent
    in a city."""
    return geo._LocalProjection(lat0=lat0).to_metres


def _city_lat(city: City, default: float = 16.0) -> float:
    bbox = city.bbox
    return (bbox[1] + bbox[3]) / 2 if bbox else default


def drainage_monitoring(city: City, *, radius_m: float = 100) -> dict[str, Any]:
    """The drainage network (lines of the city's `drainage` layers) and the part of it within `radius_m`
    of a water-level sensor (`sensing.sensor_points`; none when no module provides it):
    {"total_km", "monitored_km", "share" (0–1, None without a network), "lines", "sensors", "radius_m"}.
    A line's length is the one its import measured; the monitored part is that length times the share
    of the line inside the sensors' discs."""
    import shapely

    from dothi.core.manifests import registry

    rows = list(
        Feature.objects.filter(
            city=city, layer__role=LayerRole.DRAINAGE, geom_type__in=("LineString", "MultiLineString")
        ).values_list("geometry", "length_m")
    )
    provider = registry.provided("sensing.sensor_points")
    points = list(provider(city, quantities=DRAINAGE_QUANTITIES)) if provider else []
    project = _metres(_city_lat(city))
    lines = (
        [project(g) for g in shapely.from_geojson([geometry for geometry, _length in rows])] if rows else []
    )
    measured = [
        length if length and length > 0 else line.length
        for line, (_g, length) in zip(lines, rows, strict=True)
    ]
    total_m = float(sum(measured))
    monitored_m = 0.0
    if lines and points:
        discs = shapely.union_all(
            [project(shapely.Point(lon, lat)).buffer(radius_m, quad_segs=32) for lon, lat in points]
        )
        shapely.prepare(discs)
        inside = shapely.length(shapely.intersection(lines, discs))
        for line, part, length in zip(lines, inside.tolist(), measured, strict=True):
            if part > 0 and line.length > 0:
                monitored_m += length * min(1.0, part / line.length)
    return {
        "total_km": round(total_m / 1000, 6),
        "monitored_km": round(monitored_m / 1000, 6),
        "share": (monitored_m / total_m) if total_m > 0 else None,
        "lines": len(rows),
        "sensors": len(points),
        "radius_m": radius_m,
    }


def flood_exposure(city: City, year: int | None = None) -> dict[str, Any]:
    """The population living in flood-prone zones (polygons of the city's `flood_prone` layers): per
    commune, its population × area(commune ∩ zones) / area(commune), summed over the communes with both
    a population figure (the latest up to `year`) and a boundary. {"year", "population", "exposed",
    "share" (0–1, None without population), "zones", "communes": [{"code", "name", "population",
    "exposed", "share"}]}."""
    import shapely
    from shapely.geometry import shape

    people = population(city, year)
    zones_text = list(
        Feature.objects.filter(
            city=city, layer__role=LayerRole.FLOOD_PRONE, geom_type__in=("Polygon", "MultiPolygon")
        ).values_list("geometry", flat=True)
    )
    project = _metres(_city_lat(city))
    zones = None
    if zones_text:
        zones = shapely.union_all([project(shapely.make_valid(g)) for g in shapely.from_geojson(zones_text)])
        shapely.prepare(zones)
    communes = []
    total = 0
    exposed_total = 0.0
    for area in (
        CommuneArea.objects.for_city(city).filter(commune_id__in=list(people)).select_related("commune")
    ):
        row = people[area.commune_id]
        geom = project(shape(area.geometry))
        fraction = 0.0
        if zones is not None and geom.area > 0 and shapely.intersects(geom, zones):
            fraction = min(1.0, shapely.intersection(geom, zones).area / geom.area)
        exposed = row.population * fraction
        total += row.population
        exposed_total += exposed
        communes.append(
            {
                "code": area.commune_id,
                "name": area.commune.name,
                "population": row.population,
                "year": row.year,
                "exposed": round(exposed, 2),
                "share": fraction,
            }
        )
    communes.sort(key=lambda c: (-c["exposed"], c["code"]))
    return {
        "year": max((c["year"] for c in communes), default=None),
        "population": total,
        "exposed": round(exposed_total, 2),
        "share": (exposed_total / total) if total else None,
        "zones": len(zones_text),
        "communes": communes,
    }
