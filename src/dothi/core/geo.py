"""Administrative units and commune geometry: loading the national reference data, building
approximate commune cells, importing official boundaries, and the point-to-commune lookup.

Geometry lives as GeoJSON in `CommuneArea.geometry` with bounding-box columns (GeoDjango/SpatiaLite
are not available everywhere dothi runs); Shapely does the geometry work in process.
"""

from __future__ import annotations

import functools
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from django.db import transaction
from django.db.models import Count, Max, Min
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext as _
from shapely.geometry import MultiPoint, Point, mapping, shape
from shapely.geometry.base import BaseGeometry

from dothi.core.errors import InvalidInput, OutsideCity
from dothi.core.models import City, Commune, CommuneArea, Province
from dothi.core.text import fold_key

Progress = Callable[[int, int], None]  # (done, total)

APPROXIMATE_SOURCE = "approximate: Voronoi around commune centres"
KM_PER_DEGREE = 111.32
# A commune's cell reaches at most this multiple of the radius of a disc with the commune's area:
# generous enough that neighbouring cells meet inland, small enough that a coastal commune does not
# claim the open sea and an island commune (Hoàng Sa) stays an island.
DISC_FACTOR = 1.6
MIN_RADIUS_KM = 0.5
# Coordinates are stored to 1e-6 degree (about 0.1 m): finer is noise and bloats the JSON.
PRECISION_DEG = 1e-6


# --- Loading the administrative units ------------------------------------------------------------


def _key(name: str) -> str:
    """An accent-free, punctuation-free key ("Phường  An Nhơn" -> "phuongannhon") for matching the
    two reference packages, which spell a handful of names differently (dashes, double spaces)."""
    return fold_key(name, separator="")


def _clean_name(name: str) -> str:
    return " ".join(name.split())


def _centre_rows() -> tuple[dict[str, tuple], dict[tuple[str, str], tuple]]:
    """Commune centres and areas from vietnamadminunits' SQLite file, by code and by (province, key).

    The file ships inside the package; we open it read-only and never write to site-packages.
    """
    import vietnamadminunits

    path = os.path.join(os.path.dirname(vietnamadminunits.__file__), "data", "dataset.db")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT provinceCode, wardCode, ward, wardLat, wardLon, wardAreaKm2 FROM admin_units"
        ).fetchall()
    finally:
        conn.close()
    by_code: dict[str, tuple] = {}
    by_key: dict[tuple[str, str], tuple] = {}
    for province, ward_code, ward, lat, lon, area in rows:
        value = (lat, lon, area)
        by_code[f"{int(ward_code):05d}"] = value
        by_key[(f"{int(province):02d}", _key(ward))] = value
    return by_code, by_key


@transaction.atomic
def load_admin_units(*, progress: Progress | None = None) -> tuple[int, int]:
    """Load (or update) the 34 provinces and 3,321 communes. Idempotent: rows are upserted by code.

    Centre points and areas come from `vietnamadminunits`: matched by commune code, then by province
    and name where the two packages number a commune differently.
    """
    import vietnam_provinces as vp

    provinces = [
        Province(
            code=f"{int(p.code):02d}",
            name=_clean_name(p.name),
            kind=p.division_type.value,
            codename=p.codename,
        )
        for p in vp.Province.iter_all()
    ]
    Province.objects.bulk_create(
        provinces, update_conflicts=True, unique_fields=["code"], update_fields=["name", "kind", "codename"]
    )
    by_code, by_key = _centre_rows()
    wards = list(vp.Ward.iter_all())
    communes = []
    for ward in wards:
        code = f"{int(ward.code):05d}"
        province = f"{int(ward.province_code):02d}"
        lat, lon, area = by_code.get(code) or by_key.get((province, _key(ward.name))) or (None, None, None)
        communes.append(
            Commune(
                code=code,
                province_id=province,
                name=_clean_name(ward.name),
                kind=ward.division_type.value,
                codename=ward.codename,
                centre_lat=lat,
                centre_lon=lon,
                area_km2=area,
            )
        )
    batch = 500
    for start in range(0, len(communes), batch):
        Commune.objects.bulk_create(
            communes[start : start + batch],
            update_conflicts=True,
            unique_fields=["code"],
            update_fields=["province", "name", "kind", "codename", "centre_lat", "centre_lon", "area_km2"],
        )
        if progress:
            progress(min(start + batch, len(communes)), len(communes))
    return len(provinces), len(communes)


# --- Approximate cells ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _LocalProjection:
    """Equirectangular kilometres around a reference latitude: accurate enough within one province,
    and it makes discs round on the ground rather than in degrees."""

    lat0: float

    @property
    def kx(self) -> float:
        return KM_PER_DEGREE * math.cos(math.radians(self.lat0))

    def forward(self, geom: BaseGeometry) -> BaseGeometry:
        kx = self.kx
        return shapely.transform(geom, lambda xy: xy * [kx, KM_PER_DEGREE])

    def inverse(self, geom: BaseGeometry) -> BaseGeometry:
        kx = self.kx
        return shapely.transform(geom, lambda xy: xy / [kx, KM_PER_DEGREE])

    def to_metres(self, geom: BaseGeometry) -> BaseGeometry:
        """`forward`, in metres (lengths and areas of features)."""
        kx = self.kx * 1000.0
        return shapely.transform(geom, lambda xy: xy * [kx, KM_PER_DEGREE * 1000.0])


def approximate_cells(centres: list[tuple[str, float, float, float | None]]) -> dict[str, BaseGeometry]:
    """Cells for communes given as (code, lon, lat, area_km2): each commune's Voronoi cell clipped to the
    city's extent, the union of discs around the commune centres whose radii follow from their areas
    (inland gaps filled). Returns WGS84 geometries by code."""
    if not centres:
        return {}
    known_areas = sorted(a for *_, a in centres if a)
    fallback_area = known_areas[len(known_areas) // 2] if known_areas else 10.0
    proj = _LocalProjection(lat0=sum(c[2] for c in centres) / len(centres))
    seen: set[tuple[float, float]] = set()
    points = []
    for index, (_code, lon, lat, _area) in enumerate(centres):
        x, y = lon * proj.kx, lat * KM_PER_DEGREE
        # Voronoi needs distinct sites; nudge a duplicate centre by a metre (deterministically).
        while (round(x, 4), round(y, 4)) in seen:
            x += 0.001 * (1 + index % 7)
        seen.add((round(x, 4), round(y, 4)))
        points.append((x, y))
    radii = [
        max(MIN_RADIUS_KM, DISC_FACTOR * math.sqrt((area or fallback_area) / math.pi)) for *_, area in centres
    ]
    discs = [Point(p).buffer(r, quad_segs=12) for p, r in zip(points, radii, strict=True)]
    if len(points) == 1:
        cells = discs
    else:
        envelope = shapely.box(*MultiPoint(points).bounds).buffer(max(radii) * 2)
        voronoi = shapely.voronoi_polygons(MultiPoint(points), extend_to=envelope, ordered=True)
        # The city's extent is the union of the discs with its inland gaps filled: a point in a gap
        # between discs surrounded by the city belongs to the nearest commune, not "outside".
        union = shapely.union_all(discs)
        parts = getattr(union, "geoms", [union])
        extent = shapely.union_all([shapely.Polygon(part.exterior) for part in parts])
        cells = [shapely.intersection(cell, extent) for cell in voronoi.geoms]
    result = {}
    for (code, *_rest), cell in zip(centres, cells, strict=True):
        geom = shapely.set_precision(proj.inverse(cell), PRECISION_DEG)
        if not geom.is_empty:
            result[code] = geom
    return result


@functools.lru_cache(maxsize=8)
def _approximate_cells_of(centres: tuple[tuple[str, float, float, float | None], ...]) -> dict:
    # The same centres always give the same cells (Shapely geometries are immutable): a province's
    # cells are computed once per process however often its boundaries are rebuilt.
    return approximate_cells(list(centres))


def _bbox_fields(geom: BaseGeometry) -> dict[str, float]:
    min_lon, min_lat, max_lon, max_lat = geom.bounds
    return {"min_lon": min_lon, "min_lat": min_lat, "max_lon": max_lon, "max_lat": max_lat}


def _set_city_bbox(city: City) -> None:
    box = CommuneArea.objects.filter(city=city).aggregate(
        a=Min("min_lon"), b=Min("min_lat"), c=Max("max_lon"), d=Max("max_lat")
    )
    city.min_lon, city.min_lat, city.max_lon, city.max_lat = box["a"], box["b"], box["c"], box["d"]
    city.save(update_fields=["min_lon", "min_lat", "max_lon", "max_lat"])


@transaction.atomic
def city_build_approximate_boundaries(city: City) -> int:
    """(Re)build the approximate cells of every commune of the city's province from the commune
    centre points, keep any official boundary already imported, and set the city's bounding box.
    Returns the number of approximate cells written."""
    official = set(
        CommuneArea.objects.filter(city=city, approximate=False).values_list("commune_id", flat=True)
    )
    communes = list(
        Commune.objects.filter(
            province_id=city.province_code, centre_lat__isnull=False, centre_lon__isnull=False
        )
    )
    # Cells are built from every commune (official or not), so approximate neighbours of an official
    # boundary still stop roughly where that commune begins.
    cells = _approximate_cells_of(tuple((c.code, c.centre_lon, c.centre_lat, c.area_km2) for c in communes))
    CommuneArea.objects.filter(city=city, approximate=True).delete()
    rows = [
        CommuneArea(
            city=city,
            commune_id=code,
            geometry=mapping(geom),
            approximate=True,
            source=APPROXIMATE_SOURCE,
            **_bbox_fields(geom),
        )
        for code, geom in cells.items()
        if code not in official
    ]
    CommuneArea.objects.bulk_create(rows)
    _set_city_bbox(city)
    invalidate(city.pk)
    return len(rows)


def city_outline(city: City) -> BaseGeometry:
    """The city's outline: the union of its commune boundaries."""
    index = _index(city)
    return shapely.union_all(index.geoms) if index.geoms else shapely.Polygon()


# --- Importing official boundaries ---------------------------------------------------------------


def _features(data: Any) -> list[dict]:
    if not isinstance(data, dict):
        raise InvalidInput(_("The file is not a GeoJSON object."), code="geojson_invalid")
    if data.get("type") == "FeatureCollection" and isinstance(data.get("features"), list):
        return data["features"]
    if data.get("type") == "Feature":
        return [data]
    raise InvalidInput(
        _("Expected a GeoJSON FeatureCollection of commune boundaries."), code="geojson_invalid"
    )


def srid_from_crs(data: dict) -> int | None:
    """The EPSG code named by a (pre-RFC 7946) `crs` member, as QGIS writes for VN-2000 exports."""
    name = str(((data.get("crs") or {}).get("properties") or {}).get("name", ""))
    digits = name.rsplit(":", 1)[-1]
    if digits.isdigit() and int(digits) not in (4326, 84):
        return int(digits)
    if name.upper().endswith("CRS84"):
        return 4326
    return None


# VN-2000 (EPSG:4756 geographic): UTM zones 48N/49N (3405/3406), TM-3 zones 5896–5899 and 9205–9218.
VN2000_SRIDS = frozenset({4756, 3405, 3406, *range(5896, 5900), *range(9205, 9219)})


def to_wgs84(srid: int) -> Callable[[BaseGeometry], BaseGeometry]:
    """A function reprojecting a geometry from EPSG:`srid` to WGS84 lon/lat (the identity for 4326).
    InvalidInput for a code pyproj does not know."""
    if srid == 4326:
        return lambda geom: geom
    from pyproj import Transformer
    from pyproj.exceptions import CRSError

    try:
        transformer = Transformer.from_crs(f"EPSG:{srid}", "EPSG:4326", always_xy=True)
    except CRSError:
        raise InvalidInput(
            _("Unknown coordinate system EPSG:%(srid)s.") % {"srid": srid}, code="srid_unknown"
        )

    def reproject(geom: BaseGeometry) -> BaseGeometry:
        return shapely.transform(geom, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))

    return reproject


def _code_of(value: Any) -> str:
    text = str(value).strip() if value is not None else ""
    return f"{int(text):05d}" if text.isdigit() else text


@transaction.atomic
def communes_import(
    *,
    city: City,
    data: Any,
    code_property: str = "ma_xa",
    srid: int | None = None,
    source: str = "official",
    progress: Progress | None = None,
) -> int:
    """Import official commune boundaries from a GeoJSON FeatureCollection; each feature names its
    commune in `code_property`. Coordinates in another system (VN-2000: EPSG:3405/3406, the TM-3 zones
    5896–5899 and 9205–9218) are reprojected to WGS84. All or nothing: one bad feature rejects the file.
    Returns the number of boundaries imported."""
    features = _features(data)
    if not features:
        raise InvalidInput(_("The file contains no features."), code="geojson_empty")
    srid = srid or srid_from_crs(data) or 4326
    reproject = to_wgs84(srid)
    known = {c.code: c for c in Commune.objects.filter(province_id=city.province_code)}
    parsed: dict[str, BaseGeometry] = {}
    unknown: list[str] = []
    for number, feature in enumerate(features, start=1):
        props = (feature or {}).get("properties") or {}
        code = _code_of(props.get(code_property))
        if not code:
            raise InvalidInput(
                _("Feature %(n)d has no commune code in the property “%(prop)s”.")
                % {"n": number, "prop": code_property},
                code="commune_code_missing",
            )
        if code not in known:
            unknown.append(code)
            continue
        try:
            geom = shape(feature.get("geometry") or {})
        except Exception:  # noqa: BLE001 - Shapely raises several types for malformed GeoJSON
            raise InvalidInput(
                _("Feature %(n)d (commune %(code)s) has no readable geometry.") % {"n": number, "code": code},
                code="geometry_invalid",
            )
        if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
            raise InvalidInput(
                _("Feature %(n)d (commune %(code)s) must be a Polygon or MultiPolygon.")
                % {"n": number, "code": code},
                code="geometry_type",
            )
        if not geom.is_valid:
            raise InvalidInput(
                _("Feature %(n)d (commune %(code)s) has an invalid geometry: %(reason)s.")
                % {"n": number, "code": code, "reason": shapely.is_valid_reason(geom)},
                code="geometry_invalid",
            )
        if srid == 4326 and (abs(geom.bounds[0]) > 180 or abs(geom.bounds[1]) > 90):
            raise InvalidInput(
                _(
                    "The coordinates look projected (e.g. VN-2000), not longitude/latitude: "
                    "give their EPSG code (--srid)."
                ),
                code="srid_required",
            )
        geom = reproject(geom)
        min_lon, min_lat, max_lon, max_lat = geom.bounds
        if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90) or not geom.is_valid:
            raise InvalidInput(
                _(
                    "Feature %(n)d (commune %(code)s) does not fall on the map "
                    "after reprojection from EPSG:%(srid)s."
                )
                % {"n": number, "code": code, "srid": srid},
                code="geometry_outside",
            )
        parsed[code] = shapely.set_precision(geom, PRECISION_DEG)
        if progress:
            progress(number, len(features))
    if unknown:
        raise InvalidInput(
            _(
                "Unknown commune codes for %(city)s: %(codes)s. "
                "Check the code property (“%(prop)s”) and the city."
            )
            % {"city": city.name, "codes": ", ".join(sorted(set(unknown))[:20]), "prop": code_property},
            code="commune_unknown",
        )
    for code, geom in parsed.items():
        CommuneArea.objects.update_or_create(
            city=city,
            commune_id=code,
            defaults={
                "geometry": mapping(geom),
                "approximate": False,
                "source": source[:200],
                **_bbox_fields(geom),
            },
        )
    _set_city_bbox(city)
    invalidate(city.pk)
    from dothi.core import audit

    audit.record(
        actor=None,
        action="update",
        object_type="core.communearea",
        city=city,
        summary=f"Imported {len(parsed)} official commune boundaries",
        details={"source": source[:200]},
    )
    return len(parsed)


# --- Point-to-commune lookup ---------------------------------------------------------------------

# How long a process trusts its cached index before asking the database whether another process
# changed the city's boundaries. Changes made in this process invalidate it at once (signals).
RECHECK_SECONDS = 5.0


@dataclass
class _Index:
    key: tuple
    checked_at: float
    tree: shapely.STRtree
    geoms: list[BaseGeometry]
    communes: list[Commune]
    official: list[bool]


_cache: dict[int, _Index] = {}
_lock = threading.Lock()


def invalidate(city_id: int | None = None) -> None:
    with _lock:
        if city_id is None:
            _cache.clear()
        else:
            _cache.pop(city_id, None)


def _on_area_change(sender, instance, **kwargs) -> None:
    invalidate(instance.city_id)


def _on_city_change(sender, instance, **kwargs) -> None:
    invalidate(instance.pk)


post_save.connect(_on_area_change, sender=CommuneArea, dispatch_uid="dothi.geo.area_saved")
post_delete.connect(_on_area_change, sender=CommuneArea, dispatch_uid="dothi.geo.area_deleted")
post_save.connect(_on_city_change, sender=City, dispatch_uid="dothi.geo.city_saved")
post_delete.connect(_on_city_change, sender=City, dispatch_uid="dothi.geo.city_deleted")


def _db_key(city: City) -> tuple:
    agg = CommuneArea.objects.filter(city=city).aggregate(n=Count("id"), last=Max("updated_at"))
    return (agg["n"], agg["last"])


def _index(city: City) -> _Index:
    now = time.monotonic()
    index = _cache.get(city.pk)
    if index is not None and now - index.checked_at < RECHECK_SECONDS:
        return index
    key = _db_key(city)
    if index is not None and index.key == key:
        index.checked_at = now
        return index
    areas = list(CommuneArea.objects.filter(city=city).select_related("commune").order_by("commune_id"))
    geoms = [shape(a.geometry) for a in areas]
    for geom in geoms:
        shapely.prepare(geom)
    index = _Index(
        key=key,
        checked_at=now,
        tree=shapely.STRtree(geoms),
        geoms=geoms,
        communes=[a.commune for a in areas],
        official=[not a.approximate for a in areas],
    )
    with _lock:
        _cache[city.pk] = index
    return index


def _check_coordinates(lon: Any, lat: Any) -> tuple[float, float]:
    try:
        lon, lat = float(lon), float(lat)
    except (TypeError, ValueError):
        raise InvalidInput(_("Latitude and longitude must be numbers."), code="coordinates_invalid")
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise InvalidInput(_("Latitude and longitude must be finite numbers."), code="coordinates_invalid")
    if not -90 <= lat <= 90:
        raise InvalidInput(
            _("The latitude must be between -90 and 90."), code="coordinates_invalid", field="lat"
        )
    if not -180 <= lon <= 180:
        raise InvalidInput(
            _("The longitude must be between -180 and 180."), code="coordinates_invalid", field="lon"
        )
    return lon, lat


def _pick(index: _Index, hits: Iterable[int]) -> Commune | None:
    best = None
    for i in hits:
        # An official boundary wins over an approximate neighbour that overlaps it.
        if index.official[i]:
            return index.communes[i]
        if best is None or index.communes[i].code < best.code:
            best = index.communes[i]
    return best


def _outside(city: City) -> OutsideCity:
    return OutsideCity(
        _("This place is outside %(city)s: no commune of the city contains it.") % {"city": city.name},
        field="location",
    )


def locate(city: City, lon: float, lat: float) -> Commune:
    """The commune of `city` containing the point (WGS84). Raises OutsideCity for a point outside
    every commune of the city and InvalidInput for coordinates that are not a place on Earth."""
    lon, lat = _check_coordinates(lon, lat)
    index = _index(city)
    commune = _pick(index, index.tree.query(Point(lon, lat), predicate="intersects"))
    if commune is None:
        raise _outside(city)
    return commune


def locate_many(city: City, points: Iterable[tuple[float, float]]) -> list[Commune | None]:
    """Vectorised lookup of (lon, lat) points: the commune of each, or None when outside the city."""
    coords = [_check_coordinates(lon, lat) for lon, lat in points]
    if not coords:
        return []
    index = _index(city)
    point_idx, geom_idx = index.tree.query(shapely.points(coords), predicate="intersects")
    hits: dict[int, list[int]] = {}
    for p, g in zip(point_idx.tolist(), geom_idx.tolist(), strict=True):
        hits.setdefault(p, []).append(g)
    return [_pick(index, hits.get(i, ())) for i in range(len(coords))]


# --- Re-assigning located points -----------------------------------------------------------------


def _locate_indexes(index: _Index, lons: np.ndarray, lats: np.ndarray, *, nearest: bool) -> np.ndarray:
    """For each point, the position in `index` of the commune containing it (an official boundary wins
    over approximate neighbours, then the lowest code), or with `nearest` the closest commune for a point
    outside every boundary; -1 for coordinates that are not a place on Earth (or outside, without
    `nearest`). Vectorised: a million points take a second or two."""
    n = len(lons)
    found = np.full(n, -1, dtype=np.int64)
    if n == 0 or not index.geoms:
        return found
    sane = np.isfinite(lons) & np.isfinite(lats) & (np.abs(lons) <= 180) & (np.abs(lats) <= 90)
    positions = np.flatnonzero(sane)
    points = shapely.points(lons[positions], lats[positions])
    size = len(index.geoms)
    # Rank of each boundary: official ones first, then by commune code (the index is in code order).
    rank = np.arange(size, dtype=np.int64) + np.where(np.asarray(index.official, dtype=bool), 0, size)
    best = np.full(len(positions), 2 * size, dtype=np.int64)
    point_idx, geom_idx = index.tree.query(points, predicate="intersects")
    np.minimum.at(best, point_idx, rank[geom_idx])
    hit = best < 2 * size
    chosen = np.where(hit, best % size, -1)
    if nearest and not hit.all():
        missing = np.flatnonzero(~hit)
        input_idx, tree_idx = index.tree.query_nearest(points[missing], all_matches=False)
        chosen[missing[input_idx]] = tree_idx
    found[positions] = chosen
    return found


def locate_codes(city: City, lons: Iterable[float], lats: Iterable[float], *, nearest: bool = False) -> list:
    """Vectorised lookup returning commune codes: for each point the code of the commune containing it
    (or, with `nearest`, of the closest commune when outside every boundary), None otherwise."""
    index = _index(city)
    found = _locate_indexes(
        index, np.asarray(list(lons), dtype=float), np.asarray(list(lats), dtype=float), nearest=nearest
    )
    codes = np.array([c.code for c in index.communes] + [None], dtype=object)  # codes[-1] is None
    return codes[found].tolist()


def reassign_points(city: City, *, progress: Progress | None = None) -> dict[str, int]:
    """Re-locate every located row of every module (`registry.point_sets()`) in the city's current
    commune boundaries and write the commune of the rows whose commune changed. A point outside every
    boundary goes to the nearest commune (a report filed at the shore before the official boundaries
    stopped a little inland keeps a commune). Returns the number of rows re-assigned per point set."""
    from dothi.core.manifests import registry

    index = _index(city)
    sets = registry.point_sets()
    result: dict[str, int] = {}
    codes = np.array([c.code for c in index.communes] + [None], dtype=object)  # codes[-1] is None
    for number, point_set in enumerate(sets, start=1):
        rows = list(point_set.rows(city))
        changes: list[tuple[Any, str]] = []
        if rows and index.geoms:
            pks, lons, lats, current = zip(*rows, strict=True)
            found = _locate_indexes(
                index, np.asarray(lons, dtype=float), np.asarray(lats, dtype=float), nearest=True
            )
            new = codes[found]
            differs = (new != np.asarray(current, dtype=object)) & (found >= 0)
            changes = [(pks[i], new[i]) for i in np.flatnonzero(differs).tolist()]
        with transaction.atomic():
            result[point_set.code] = point_set.assign(city, changes) if changes else 0
        if progress:
            progress(number, len(sets))
    return result


def write_communes(
    model: type,
    *,
    city: City,
    changes: list[tuple[Any, str | None]],
    field: str = "commune",
    chunk: int = 5000,
) -> int:
    """Set `field` (a foreign key to Commune) of the rows of `model` in `city` given as (pk, commune
    code) pairs, in bulk and without touching any other column (no `auto_now`, no signals): the writer
    behind the modules' `PointSet.assign`. Returns the number of rows written."""
    from django.db import connection

    if not changes:
        return 0
    quote = connection.ops.quote_name
    meta = model._meta
    table = quote(meta.db_table)
    column = quote(meta.get_field(field).column)
    pk = quote(meta.pk.column)
    city_column = quote(meta.get_field("city").column)
    written = 0
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(changes) > chunk:
            # Many rows: COPY the pairs into a temporary table and update in one join (one pass over the
            # table; a VALUES list per chunk would make PostgreSQL scan it once per chunk).
            pk_type = meta.pk.rel_db_type(connection)
            cursor.execute(
                f"CREATE TEMPORARY TABLE _dothi_communes (id {pk_type} PRIMARY KEY, code varchar(5)) "
                "ON COMMIT DROP"
            )
            with cursor.cursor.copy("COPY _dothi_communes (id, code) FROM STDIN") as copy:
                for pair in changes:
                    copy.write_row(pair)
            cursor.execute("ANALYZE _dothi_communes")
            cursor.execute(
                f"UPDATE {table} AS t SET {column} = s.code FROM _dothi_communes AS s "  # noqa: S608
                f"WHERE t.{pk} = s.id AND t.{city_column} = %s",
                [city.pk],
            )
            written = cursor.rowcount
            cursor.execute("DROP TABLE _dothi_communes")
        elif connection.vendor == "postgresql":
            pk_type = meta.pk.rel_db_type(connection)
            row = f"(%s::{pk_type}, %s::varchar)"
            cursor.execute(
                f"UPDATE {table} AS t SET {column} = v.code "  # noqa: S608 - quoted names, bound values
                f"FROM (VALUES {', '.join([row] * len(changes))}) AS v(id, code) "
                f"WHERE t.{pk} = v.id AND t.{city_column} = %s",
                [value for pair in changes for value in pair] + [city.pk],
            )
            written = cursor.rowcount
        else:
            for start in range(0, len(changes), chunk):
                part = changes[start : start + chunk]
                cursor.executemany(
                    f"UPDATE {table} SET {column} = %s WHERE {pk} = %s AND {city_column} = %s",  # noqa: S608
                    [(code, key, city.pk) for key, code in part],
                )
                written += max(cursor.rowcount, 0)
    return written
