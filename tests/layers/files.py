"""Small layer files built in tests: GeoJSON, CSV and zipped Shapefiles (pyshp's Writer), in WGS84 or
reprojected (e.g. to VN-2000) with pyproj."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable
from typing import Any

import shapefile
from pyproj import CRS, Transformer

# Points well inside Đà Nẵng (Hải Châu / Thanh Khê), as (lon, lat).
INSIDE = [(108.2170, 16.0600), (108.2100, 16.0650), (108.2200, 16.0550), (108.2050, 16.0700)]
OUTSIDE = (105.8500, 21.0300)  # Hà Nội


def feature(geometry: dict, fid: Any = None, **properties) -> dict:
    item: dict[str, Any] = {"type": "Feature", "properties": properties, "geometry": geometry}
    if fid is not None:
        item["id"] = fid
    return item


def point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


def square(lon: float, lat: float, half: float = 0.001) -> dict:
    ring = [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
        [lon - half, lat - half],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def line(lon: float, lat: float, dx: float = 0.01) -> dict:
    return {"type": "LineString", "coordinates": [[lon, lat], [lon + dx, lat]]}


def geojson_bytes(features: Iterable[dict], *, srid: int | None = None) -> bytes:
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": list(features)}
    if srid:
        doc["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{srid}"}}
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def csv_bytes(
    header: list[str],
    rows: Iterable[Iterable[Any]],
    *,
    delimiter: str = ",",
    bom: bool = False,
    encoding: str = "utf-8",
) -> bytes:
    lines = [delimiter.join(header)] + [delimiter.join(str(v) for v in row) for row in rows]
    data = ("\n".join(lines) + "\n").encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def project(srid: int, lon: float, lat: float) -> tuple[float, float]:
    """(lon, lat) in WGS84 to (x, y) in EPSG:`srid`."""
    return Transformer.from_crs("EPSG:4326", f"EPSG:{srid}", always_xy=True).transform(lon, lat)


def shapefile_zip(
    kind: str,
    shapes: list[Any],
    records: list[dict[str, Any]],
    *,
    fields: list[tuple] | None = None,
    srid: int | None = None,
    cpg: str | None = "UTF-8",
    encoding: str = "utf-8",
    stem: str = "layer",
    extra: dict[str, bytes] | None = None,
) -> bytes:
    """A zip of one Shapefile written with pyshp. `kind` "point" (shapes: (x, y)), "line" (shapes: lists
    of (x, y)) or "polygon" (shapes: rings); `fields` as pyshp's (name, type, size, decimals), default
    every record key as text; `srid` writes a .prj (ESRI WKT of that EPSG code)."""
    shp, shx, dbf = io.BytesIO(), io.BytesIO(), io.BytesIO()
    shape_type = {"point": shapefile.POINT, "line": shapefile.POLYLINE, "polygon": shapefile.POLYGON}[kind]
    writer = shapefile.Writer(shp=shp, shx=shx, dbf=dbf, shapeType=shape_type, encoding=encoding)
    names = fields or [(name, "C", 80, 0) for name in (records[0] if records else {"ten": ""})]
    for spec in names:
        writer.field(*spec)
    for geometry, record in zip(shapes, records, strict=True):
        if geometry is None:
            writer.null()
        elif kind == "point":
            writer.point(*geometry)
        elif kind == "line":
            writer.line([geometry])
        else:
            writer.poly([geometry])
        writer.record(**record)
    writer.close()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{stem}.shp", shp.getvalue())
        archive.writestr(f"{stem}.shx", shx.getvalue())
        archive.writestr(f"{stem}.dbf", dbf.getvalue())
        if srid:
            archive.writestr(f"{stem}.prj", CRS.from_epsg(srid).to_wkt("WKT1_ESRI"))
        if cpg:
            archive.writestr(f"{stem}.cpg", cpg)
        for name, content in (extra or {}).items():
            archive.writestr(name, content)
    return buffer.getvalue()
