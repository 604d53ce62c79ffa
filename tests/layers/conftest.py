"""Shared fixtures of the layers tests (readers, imports, selectors, views, API).

- `layers_city`: the `city` fixture (Đà Nẵng) with its communes' approximate cells (the outline that
  imports validate against).
- `make_layer(city, **fields)`: a Layer row with sensible defaults (a public point layer of schools with
  a `ten` name attribute); any model field may be overridden, e.g. `make_layer(city, code="roads",
  geometry_kind="line", is_public=False)`.
- `make_features(layer, n, *, kind=None, origin=None, step=0.001, properties=None, commune=None,
  fid_prefix="f", names=None)`: writes `n` Feature rows directly (bulk_create, no validation) on a grid
  starting at `origin` (lon, lat; default central Đà Nẵng), of the layer's geometry kind (or `kind`:
  "point" | "line" | "polygon"), and refreshes the layer's maintained stats (feature_count, bbox,
  max_feature_width/height, totals) so bounding-box queries work. `properties` is a dict or a callable
  `(i) -> dict`; `names` a list or a callable `(i) -> str`. Returns the Feature rows (with pks).
- `FEATURE_ORIGIN`: the default grid origin, inside Hải Châu.
"""

from __future__ import annotations

import itertools
import json
import math

import pytest
from django.db.models import Max, Min, Sum
from django.utils import translation

from dothi.core.text import fold_key

FEATURE_ORIGIN = (108.2170, 16.0600)  # (lon, lat), central Đà Nẵng
_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def _english():
    """Services and readers answer in the active language; these tests read the English texts (the
    pages and the API choose the language per request and are tested as such)."""
    with translation.override("en"):
        yield


@pytest.fixture
def layers_city(city, admin_units):
    """The `city` fixture (Đà Nẵng) with its 94 communes' approximate cells."""
    from dothi.core import geo

    geo.city_build_approximate_boundaries(city)
    city.refresh_from_db()
    return city


def create_layer(city, **fields):
    from dothi.layers.models import Layer

    n = next(_seq)
    defaults = {
        "code": f"layer-{n}",
        "name_vi": f"Lớp {n}",
        "name_en": f"Layer {n}",
        "sector": "schools",
        "is_public": True,
        "geometry_kind": "point",
        "schema": [
            {"code": "ten", "label_vi": "Tên", "label_en": "Name", "type": "str", "required": False},
        ],
        "name_attribute": "ten",
    }
    defaults.update(fields)
    return Layer.objects.create(city=city, **defaults)


def _geometry(kind: str, lon: float, lat: float, step: float) -> dict:
    r = lambda v: round(v, 6)  # noqa: E731
    if kind == "point":
        return {"type": "Point", "coordinates": [r(lon), r(lat)]}
    if kind == "line":
        return {"type": "LineString", "coordinates": [[r(lon), r(lat)], [r(lon + step * 0.8), r(lat)]]}
    h = step * 0.4
    ring = [
        [r(lon - h), r(lat - h)],
        [r(lon + h), r(lat - h)],
        [r(lon + h), r(lat + h)],
        [r(lon - h), r(lat + h)],
        [r(lon - h), r(lat - h)],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def refresh_layer_stats(layer) -> None:
    """Recompute the maintained columns of `layer` from its Feature rows (as an import does)."""
    from django.db.models import F

    from dothi.layers.models import Feature

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
    layer.total_length_m = agg["length"] or 0.0
    layer.total_area_m2 = agg["area"] or 0.0
    layer.save()


def create_features(
    layer,
    n,
    *,
    kind=None,
    origin=None,
    step=0.001,
    properties=None,
    commune=None,
    fid_prefix="f",
    names=None,
    columns=None,
):
    from dothi.layers.models import Feature

    kind = kind or (layer.geometry_kind if layer.geometry_kind != "any" else "point")
    lon0, lat0 = origin or FEATURE_ORIGIN
    side = max(1, math.ceil(math.sqrt(n)))
    kx = 111_320 * math.cos(math.radians(lat0))
    rows = []
    for i in range(n):
        lon = lon0 + (i % side) * step
        lat = lat0 + (i // side) * step
        geometry = _geometry(kind, lon, lat, step)
        coords = geometry["coordinates"]
        flat = [coords] if kind == "point" else coords if kind == "line" else coords[0]
        xs, ys = [c[0] for c in flat], [c[1] for c in flat]
        props = properties(i) if callable(properties) else dict(properties or {})
        name = names(i) if callable(names) else names[i] if names else props.get(layer.name_attribute, "")
        if kind == "polygon":
            h = step * 0.4
            rep = (round(lon, 6), round(lat, 6))
            area = (2 * h * kx) * (2 * h * 111_320)
            length = 0.0
        else:
            rep = (xs[0], ys[0])
            area = 0.0
            length = step * 0.8 * kx if kind == "line" else 0.0
        rows.append(
            Feature(
                city=layer.city,
                layer=layer,
                fid=f"{fid_prefix}{i + 1}",
                name=str(name or "")[:200],
                name_key=fold_key(str(name or ""))[:200],
                geometry=json.dumps(geometry, separators=(",", ":")),
                geom_type=geometry["type"],
                properties=props,
                min_lon=min(xs),
                min_lat=min(ys),
                max_lon=max(xs),
                max_lat=max(ys),
                lon=rep[0],
                lat=rep[1],
                commune=commune,
                length_m=length,
                area_m2=area,
                **(columns(i) if callable(columns) else columns or {}),
            )
        )
    Feature.objects.bulk_create(rows, batch_size=2000)
    refresh_layer_stats(layer)
    return rows


@pytest.fixture
def make_layer(db):
    return create_layer


@pytest.fixture
def make_features(db):
    return create_features
