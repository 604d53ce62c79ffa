"""Reading uploaded layer files (the edge): GeoJSON, CSV with coordinates, zipped Shapefile.

`read()` finds the format (argument, extension, or content) and the coordinate system (the `srid`
argument, else the GeoJSON `crs` member or the Shapefile's `.prj`, else WGS84) and yields raw features
one by one; it does not reproject or validate them (`validation.check` does, with
`geo.to_wgs84(source.srid)`). Every problem is an `InvalidInput` on the field `file` whose message names
the line (CSV) or feature (GeoJSON, Shapefile) and whose `where` says the same ("line 12").

A zip is opened defensively: at most `ZIP_MAX_ENTRIES` entries and `ZIP_MAX_BYTES` uncompressed (counted
while reading, not trusted from the headers), no entry compressed more than `ZIP_MAX_RATIO` times, and no
absolute or `..` path.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import posixpath
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import shapely
from django.utils.translation import gettext as _
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

from dothi.core import geo
from dothi.core.errors import InvalidInput
from dothi.core.text import fold_key

FORMATS = ("geojson", "csv", "shapefile")
# Coordinate systems an import accepts: WGS84, VN-2000 (geographic, UTM, TM-3), WGS84 / UTM 48N and 49N
# (the zones covering Việt Nam) and Web Mercator.
SUPPORTED_SRIDS = frozenset({4326, 3857, 32648, 32649}) | geo.VN2000_SRIDS

ZIP_MAX_BYTES = 50 * 1024 * 1024
ZIP_MAX_ENTRIES = 20
ZIP_MAX_RATIO = 100
# Below this size an entry's compression ratio is not a threat (a .cpg or a .prj of a few bytes, a .dbf of
# blank padding): the ratio rule applies to entries larger than this.
ZIP_RATIO_MIN_BYTES = 1024 * 1024

# Coordinate column pairs recognised in a CSV header (accent-free, lower-case), in order of preference.
COORDINATE_COLUMNS = (
    ("lon", "lat"),
    ("lng", "lat"),
    ("x", "y"),
    ("longitude", "latitude"),
    ("kinh_do", "vi_do"),
)
WKT_COLUMNS = ("wkt", "geometry", "geom")
FID_COLUMNS = ("fid", "id")


@dataclass(frozen=True)
class RawFeature:
    """One feature as read: `number` (1-based), `where` ("line 12" or "feature 7"), the source's
    identifier if any, the geometry in the source's coordinates (None when unreadable: `problem` says
    why) and the attributes (JSON-safe values)."""

    number: int
    where: str
    fid: str | None
    geometry: BaseGeometry | None
    properties: dict[str, Any] = field(default_factory=dict)
    problem: str = ""


@dataclass
class Source:
    format: str
    srid: int
    features: Iterator[RawFeature]
    # The number of features when the format tells it up front (for a progress bar), else None.
    total: int | None = None


def _error(message: str, *, code: str, where: str = "") -> InvalidInput:
    return InvalidInput(message, code=code, field="file", where=where)


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value


def _fid(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def check_srid(srid: Any, *, where: str = "") -> int:
    try:
        value = int(srid)
    except (TypeError, ValueError):
        raise _error(_("The coordinate system must be an EPSG code (a number)."), code="srid_invalid")
    if value not in SUPPORTED_SRIDS:
        raise InvalidInput(
            _(
                "EPSG:%(srid)s is not a supported coordinate system: use WGS84 (4326), VN-2000 (4756, "
                "3405, 3406, 5896–5899, 9205–9218), UTM 48N/49N (32648, 32649) or 3857."
            )
            % {"srid": value},
            code="srid_unsupported",
            field="srid",
            where=where,
        )
    return value


def decode_text(data: bytes, *, what: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _error(
            _(
                "The %(what)s is not UTF-8 text (line %(line)d, byte %(byte)d): save it as UTF-8 "
                "(in Excel: “CSV UTF-8”)."
            )
            % {"what": what, "line": line, "byte": exc.start + 1},
            code="encoding",
            where=_("line %(n)d") % {"n": line},
        )


def detect_format(data: bytes, filename: str) -> str:
    ext = os.path.splitext(filename or "")[1].lower()
    if ext in (".geojson", ".json"):
        return "geojson"
    if ext in (".csv", ".txt", ".tsv"):
        return "csv"
    if ext == ".zip":
        return "shapefile"
    if data[:4] == b"PK\x03\x04":
        return "shapefile"
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        return "geojson"
    return "csv"


def read(
    upload_bytes: bytes,
    *,
    filename: str,
    format: str | None = None,  # noqa: A002 - the contract's name
    srid: int | None = None,
    lon_column: str | None = None,
    lat_column: str | None = None,
) -> Source:
    """Open an uploaded layer file. Raises InvalidInput (field `file`) for a file that cannot be read."""
    if not upload_bytes:
        raise _error(_("The file is empty."), code="file_empty")
    fmt = (format or detect_format(upload_bytes, filename)).lower()
    if fmt == "zip":
        fmt = "shapefile"
    if fmt == "json":
        fmt = "geojson"
    if fmt not in FORMATS:
        raise InvalidInput(
            _("Unknown format “%(format)s”: use geojson, csv or shapefile.") % {"format": fmt},
            code="format_unknown",
            field="format",
        )
    if srid is not None:
        srid = check_srid(srid)
    if fmt == "geojson":
        return _read_geojson(upload_bytes, srid=srid)
    if fmt == "csv":
        return _read_csv(upload_bytes, srid=srid, lon_column=lon_column, lat_column=lat_column)
    return _read_shapefile(upload_bytes, srid=srid)


# --- GeoJSON -------------------------------------------------------------------------------------


def _geometry_of(value: Any) -> tuple[BaseGeometry | None, str]:
    if not value:
        return None, _("it has no geometry")
    try:
        geom = shape(value)
    except Exception as exc:  # noqa: BLE001 - Shapely raises several types for malformed geometry
        return None, _("its geometry cannot be read (%(detail)s)") % {
            "detail": str(exc)[:120] or type(exc).__name__
        }
    return geom, ""


def _read_geojson(data: bytes, *, srid: int | None) -> Source:
    text = decode_text(data, what=_("GeoJSON file"))
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _error(
            _("The file is not valid JSON at line %(line)d, column %(col)d: %(reason)s.")
            % {"line": exc.lineno, "col": exc.colno, "reason": exc.msg},
            code="geojson_invalid",
            where=_("line %(n)d") % {"n": exc.lineno},
        )
    if (
        isinstance(doc, dict)
        and doc.get("type") == "FeatureCollection"
        and isinstance(doc.get("features"), list)
    ):
        features = doc["features"]
    elif isinstance(doc, dict) and doc.get("type") == "Feature":
        features = [doc]
    else:
        raise _error(_("Expected a GeoJSON FeatureCollection (or a single Feature)."), code="geojson_invalid")
    if srid is None:
        found = geo.srid_from_crs(doc)
        srid = check_srid(found) if found else 4326

    def iterate() -> Iterator[RawFeature]:
        for number, item in enumerate(features, start=1):
            where = _("feature %(n)d") % {"n": number}
            if not isinstance(item, dict) or item.get("type") != "Feature":
                raise _error(
                    _("Feature %(n)d is not a GeoJSON Feature object.") % {"n": number},
                    code="geojson_invalid",
                    where=where,
                )
            props = item.get("properties") or {}
            if not isinstance(props, dict):
                raise _error(
                    _("Feature %(n)d: its properties are not an object.") % {"n": number},
                    code="geojson_invalid",
                    where=where,
                )
            geom, problem = _geometry_of(item.get("geometry"))
            fid = _fid(item.get("id"))
            if fid is None:
                fid = next((_fid(props[k]) for k in FID_COLUMNS if props.get(k) not in (None, "")), None)
            yield RawFeature(
                number=number, where=where, fid=fid, geometry=geom, properties=props, problem=problem
            )

    return Source(format="geojson", srid=srid, features=iterate(), total=len(features))


# --- CSV -----------------------------------------------------------------------------------------


def _number(text: str) -> float:
    value = text.strip().replace(" ", "")
    if "," in value and "." not in value:
        value = value.replace(",", ".")
    return float(value)


def _coordinate_columns(
    header: list[str], lon_column: str | None, lat_column: str | None
) -> tuple[int, int] | None:
    keys = [fold_key(name, separator="_") for name in header]
    if lon_column or lat_column:
        if not (lon_column and lat_column):
            raise InvalidInput(
                _("Name both the longitude and the latitude columns."), code="csv_columns", field="lon_column"
            )
        positions = []
        for name, field_name in ((lon_column, "lon_column"), (lat_column, "lat_column")):
            key = fold_key(name, separator="_")
            if key not in keys:
                raise InvalidInput(
                    _("The CSV has no column “%(name)s” (line 1 has: %(columns)s).")
                    % {"name": name, "columns": ", ".join(header)[:300]},
                    code="csv_columns",
                    field=field_name,
                    where=_("line %(n)d") % {"n": 1},
                )
            positions.append(keys.index(key))
        return positions[0], positions[1]
    for lon_key, lat_key in COORDINATE_COLUMNS:
        if lon_key in keys and lat_key in keys:
            return keys.index(lon_key), keys.index(lat_key)
    return None


def _read_csv(data: bytes, *, srid: int | None, lon_column: str | None, lat_column: str | None) -> Source:
    text = decode_text(data, what=_("CSV file"))
    first = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise _error(_("The file is empty."), code="file_empty")
    except csv.Error as exc:
        raise _error(
            _("Line 1 cannot be read: %(reason)s.") % {"reason": exc},
            code="csv_invalid",
            where=_("line %(n)d") % {"n": 1},
        )
    if len(set(header)) != len(header) or not all(header):
        raise _error(
            _("Line 1 (the header) must name every column once."),
            code="csv_header",
            where=_("line %(n)d") % {"n": 1},
        )
    columns = _coordinate_columns(header, lon_column, lat_column)
    keys = [fold_key(name, separator="_") for name in header]
    wkt_at = next((keys.index(k) for k in WKT_COLUMNS if k in keys), None)
    if columns is None and wkt_at is None:
        raise _error(
            _(
                "Line 1 (the header) names no coordinate columns: use lon/lat, x/y, longitude/latitude or "
                "kinh_do/vi_do (or name them), or a wkt column."
            ),
            code="csv_columns",
            where=_("line %(n)d") % {"n": 1},
        )
    fid_at = next((keys.index(k) for k in FID_COLUMNS if k in keys), None)
    skip = {i for i in (*(columns or ()), wkt_at if columns is None else None, fid_at) if i is not None}
    total = max(0, sum(1 for line in text.splitlines()[1:] if line.strip()))

    def iterate() -> Iterator[RawFeature]:
        number = 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                n = reader.line_num
                raise _error(
                    _("Line %(n)d cannot be read: %(reason)s.") % {"n": n, "reason": exc},
                    code="csv_invalid",
                    where=_("line %(n)d") % {"n": n},
                )
            line = reader.line_num
            where = _("line %(n)d") % {"n": line}
            if not any(cell.strip() for cell in row):
                continue
            number += 1
            if len(row) != len(header):
                raise _error(
                    _("Line %(n)d has %(got)d columns; the header has %(want)d.")
                    % {"n": line, "got": len(row), "want": len(header)},
                    code="csv_columns",
                    where=where,
                )
            geom: BaseGeometry | None = None
            problem = ""
            if columns is not None:
                lon_text, lat_text = row[columns[0]], row[columns[1]]
                try:
                    geom = Point(_number(lon_text), _number(lat_text))
                except ValueError:
                    problem = _("its coordinates (%(x)s, %(y)s) are not numbers") % {
                        "x": lon_text.strip() or "—",
                        "y": lat_text.strip() or "—",
                    }
            else:
                try:
                    geom = shapely.from_wkt(row[wkt_at])
                except Exception:  # noqa: BLE001 - GEOS reports malformed WKT as several types
                    problem = _("its WKT geometry cannot be read")
            props = {header[i]: value.strip() for i, value in enumerate(row) if i not in skip}
            fid = _fid(row[fid_at]) if fid_at is not None else None
            yield RawFeature(
                number=number, where=where, fid=fid, geometry=geom, properties=props, problem=problem
            )

    return Source(format="csv", srid=srid or 4326, features=iterate(), total=total)


# --- Zipped Shapefile ----------------------------------------------------------------------------


def _unsafe_name(name: str) -> bool:
    normal = name.replace("\\", "/")
    if normal.startswith("/") or (len(normal) > 1 and normal[1] == ":"):
        return True
    return ".." in normal.split("/")


def _open_zip(data: bytes) -> dict[str, bytes]:
    """The entries of a zip (files only, by name), within the safety limits."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        raise _error(_("The file is not a valid zip archive."), code="zip_invalid")
    infos = archive.infolist()
    if len(infos) > ZIP_MAX_ENTRIES:
        raise _error(
            _("The zip holds %(n)d entries; at most %(max)d are allowed.")
            % {"n": len(infos), "max": ZIP_MAX_ENTRIES},
            code="zip_unsafe",
        )
    entries: dict[str, bytes] = {}
    total = 0
    for info in infos:
        if _unsafe_name(info.filename):
            raise _error(
                _("The zip entry “%(name)s” has an absolute or “..” path.") % {"name": info.filename[:120]},
                code="zip_unsafe",
            )
        if info.is_dir():
            continue
        declared_ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > ZIP_RATIO_MIN_BYTES and declared_ratio > ZIP_MAX_RATIO:
            raise _error(
                _("The zip entry “%(name)s” is compressed %(ratio)d times: refused as a possible zip bomb.")
                % {"name": info.filename[:120], "ratio": declared_ratio},
                code="zip_unsafe",
            )
        budget = ZIP_MAX_BYTES - total
        try:
            with archive.open(info) as handle:
                content = handle.read(budget + 1)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError, OSError) as exc:
            raise _error(
                _("The zip entry “%(name)s” cannot be read: %(reason)s.")
                % {"name": info.filename[:120], "reason": exc},
                code="zip_invalid",
            )
        total += len(content)
        if total > ZIP_MAX_BYTES:
            raise _error(
                _("The zip expands to more than %(max)d MB: refused.")
                % {"max": ZIP_MAX_BYTES // (1024 * 1024)},
                code="zip_unsafe",
            )
        if len(content) > ZIP_RATIO_MIN_BYTES and len(content) / max(info.compress_size, 1) > ZIP_MAX_RATIO:
            raise _error(
                _("The zip entry “%(name)s” is compressed %(ratio)d times: refused as a possible zip bomb.")
                % {"name": info.filename[:120], "ratio": len(content) / max(info.compress_size, 1)},
                code="zip_unsafe",
            )
        entries[info.filename.replace("\\", "/")] = content
    return entries


def srid_from_prj(wkt: str) -> int:
    """The EPSG code of a `.prj` (ESRI or OGC WKT). InvalidInput when pyproj cannot name one."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        crs = CRS.from_wkt(wkt)
    except CRSError:
        raise _error(_("The .prj file cannot be read as a coordinate system."), code="prj_invalid")
    code = crs.to_epsg()
    if code is None:
        raise _error(
            _("The .prj file (“%(name)s”) names no EPSG coordinate system: give its EPSG code (srid).")
            % {"name": crs.name[:80]},
            code="srid_required",
        )
    return check_srid(code)


def _encoding_of(cpg: bytes | None) -> str:
    if not cpg:
        return "utf-8"
    name = cpg.decode("ascii", errors="ignore").strip().lower()
    aliases = {"65001": "utf-8", "utf8": "utf-8", "1258": "cp1258", "1252": "cp1252", "ansi 1258": "cp1258"}
    name = aliases.get(name, name)
    if name.isdigit():
        name = f"cp{name}"
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise _error(
            _("The .cpg file names an unknown encoding “%(name)s”.") % {"name": name[:40]}, code="encoding"
        )


def _read_shapefile(data: bytes, *, srid: int | None) -> Source:
    import shapefile  # pyshp

    entries = _open_zip(data)
    by_ext: dict[str, list[str]] = {}
    for name in entries:
        by_ext.setdefault(posixpath.splitext(name)[1].lower(), []).append(name)
    shps = by_ext.get(".shp", [])
    if len(shps) != 1:
        raise _error(
            _("The zip must hold exactly one .shp file (it holds %(n)d).") % {"n": len(shps)},
            code="shapefile_invalid",
        )
    stem = posixpath.splitext(shps[0])[0].lower()

    def sibling(ext: str) -> bytes | None:
        for name in by_ext.get(ext, []):
            if posixpath.splitext(name)[0].lower() == stem:
                return entries[name]
        return None

    dbf = sibling(".dbf")
    if dbf is None:
        raise _error(
            _("The zip has no .dbf file beside the .shp (the attributes)."), code="shapefile_invalid"
        )
    if srid is None:
        prj = sibling(".prj")
        srid = srid_from_prj(prj.decode("latin-1")) if prj else 4326
    encoding = _encoding_of(sibling(".cpg"))
    shx = sibling(".shx")
    try:
        reader = shapefile.Reader(
            shp=io.BytesIO(entries[shps[0]]),
            dbf=io.BytesIO(dbf),
            shx=io.BytesIO(shx) if shx else None,
            encoding=encoding,
            encodingErrors="strict",
        )
        fields = [f[0] for f in reader.fields[1:]]
        total = len(reader)
    except (shapefile.ShapefileException, struct.error, ValueError, UnicodeDecodeError) as exc:
        raise _error(
            _("The Shapefile cannot be read: %(reason)s.") % {"reason": str(exc)[:200]},
            code="shapefile_invalid",
        )

    def iterate() -> Iterator[RawFeature]:
        records = reader.iterShapeRecords()
        number = 0
        while True:
            number += 1
            where = _("feature %(n)d") % {"n": number}
            try:
                item = next(records)
            except StopIteration:
                return
            except (UnicodeDecodeError, shapefile.dbfFileException) as exc:
                if isinstance(exc, shapefile.dbfFileException) and "decode" not in str(exc):
                    raise _error(
                        _("Feature %(n)d cannot be read: %(reason)s.")
                        % {"n": number, "reason": str(exc)[:200]},
                        code="shapefile_invalid",
                        where=where,
                    )
                raise _error(
                    _(
                        "Feature %(n)d: its attributes are not valid %(encoding)s text; "
                        "add a .cpg file naming the encoding (e.g. UTF-8 or 1258)."
                    )
                    % {"n": number, "encoding": encoding},
                    code="encoding",
                    where=where,
                )
            except Exception as exc:  # noqa: BLE001 - pyshp raises struct/index errors on truncated files
                raise _error(
                    _("Feature %(n)d cannot be read: %(reason)s.") % {"n": number, "reason": str(exc)[:200]},
                    code="shapefile_invalid",
                    where=where,
                )
            props = {name: _json_safe(value) for name, value in zip(fields, item.record, strict=False)}
            if item.shape.shapeType == shapefile.NULL:
                geom, problem = None, _("it has no geometry")
            else:
                geom, problem = _geometry_of(item.shape.__geo_interface__)
            lowered = {k.lower(): v for k, v in props.items()}
            fid = next((_fid(lowered[k]) for k in FID_COLUMNS if lowered.get(k) not in (None, "")), None)
            yield RawFeature(
                number=number, where=where, fid=fid, geometry=geom, properties=props, problem=problem
            )

    return Source(format="shapefile", srid=srid, features=iterate(), total=total)
