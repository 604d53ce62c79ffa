"""Reading layer files: every format, the coordinate system, encodings, zip safety, and errors that name
the line or feature."""

import io
import zipfile

import pytest

from dothi.core.errors import InvalidInput
from dothi.layers import readers
from tests.layers import files


def _all(source):
    return list(source.features)


def test_geojson_features_with_ids_properties_and_crs():
    data = files.geojson_bytes(
        [
            files.feature(files.point(108.2, 16.05), fid=7, ten="Trường A"),
            files.feature(files.point(108.21, 16.06), ten="Trường B", fid_other=1),
        ],
        srid=9210,
    )
    source = readers.read(data, filename="schools.geojson")
    assert source.format == "geojson" and source.srid == 9210 and source.total == 2
    first, second = _all(source)
    assert (first.number, first.where, first.fid, first.properties["ten"]) == (
        1,
        "feature 1",
        "7",
        "Trường A",
    )
    assert first.geometry.geom_type == "Point" and second.fid is None and second.where == "feature 2"


def test_geojson_srid_argument_wins_and_unsupported_srid_is_refused():
    data = files.geojson_bytes([files.feature(files.point(108.2, 16.05))], srid=9210)
    assert readers.read(data, filename="a.json", srid=5899).srid == 5899
    with pytest.raises(InvalidInput) as exc:
        readers.read(data, filename="a.json", srid=2154)
    assert exc.value.field == "srid" and "2154" in exc.value.message


def test_geojson_syntax_error_names_the_line():
    data = b'{"type": "FeatureCollection",\n "features": [\n {"type": "Feature",, }]}'
    with pytest.raises(InvalidInput) as exc:
        readers.read(data, filename="bad.geojson")
    assert (
        exc.value.extra["where"] == "line 3" and "line 3" in exc.value.message and exc.value.field == "file"
    )


def test_geojson_unreadable_geometry_is_reported_on_its_feature():
    data = files.geojson_bytes(
        [
            files.feature(files.point(108.2, 16.05)),
            files.feature({"type": "Polygon", "coordinates": [[1, 2]]}),
        ]
    )
    first, second = _all(readers.read(data, filename="x.geojson"))
    assert first.problem == "" and second.geometry is None and second.problem


def test_geojson_not_a_collection():
    with pytest.raises(InvalidInput):
        readers.read(b'{"type": "Point", "coordinates": [1, 2]}', filename="x.geojson")


@pytest.mark.parametrize(
    ("header", "delimiter"),
    [(["lon", "lat"], ","), (["x", "y"], ";"), (["Longitude", "Latitude"], ","), (["Kinh độ", "Vĩ độ"], ";")],
)
def test_csv_coordinate_columns_and_delimiters(header, delimiter):
    data = files.csv_bytes(
        ["fid", *header, "ten"],
        [["a1", "108.2", "16.05", "Chợ Hàn"], ["a2", "108.21", "16.06", "Chợ Cồn"]],
        delimiter=delimiter,
        bom=True,
    )
    source = readers.read(data, filename="markets.csv")
    rows = _all(source)
    assert source.format == "csv" and source.srid == 4326 and source.total == 2
    assert [r.fid for r in rows] == ["a1", "a2"] and rows[1].where == "line 3"
    assert rows[0].properties == {"ten": "Chợ Hàn"} and (rows[0].geometry.x, rows[0].geometry.y) == (
        108.2,
        16.05,
    )


def test_csv_decimal_comma_and_named_columns():
    data = files.csv_bytes(["ma", "dong", "bac"], [["1", "108,2", "16,05"]], delimiter=";")
    (row,) = _all(readers.read(data, filename="a.csv", lon_column="dong", lat_column="bac"))
    assert (row.geometry.x, row.geometry.y) == (108.2, 16.05) and row.properties == {"ma": "1"}
    with pytest.raises(InvalidInput) as exc:
        readers.read(data, filename="a.csv", lon_column="east", lat_column="bac")
    assert exc.value.field == "lon_column"


def test_csv_bad_coordinates_and_column_count_name_the_line():
    data = files.csv_bytes(["lon", "lat"], [["108.2", "16.05"], ["abc", "16.0"]])
    rows = _all(readers.read(data, filename="a.csv"))
    assert rows[1].geometry is None and "abc" in rows[1].problem and rows[1].where == "line 3"
    data = files.csv_bytes(["lon", "lat", "ten"], [["108.2", "16.05", "a"], ["108.2", "16.05"]])
    with pytest.raises(InvalidInput) as exc:
        _all(readers.read(data, filename="a.csv"))
    assert exc.value.extra["where"] == "line 3" and "Line 3" in exc.value.message


def test_csv_not_utf8_is_a_clear_error():
    data = "lon,lat,ten\n108.2,16.05,Trư\n".encode("cp1258")
    with pytest.raises(InvalidInput) as exc:
        readers.read(data, filename="a.csv")
    assert (
        exc.value.code == "encoding" and "UTF-8" in exc.value.message and exc.value.extra["where"] == "line 2"
    )


def test_csv_without_coordinates_is_refused_and_wkt_is_read():
    with pytest.raises(InvalidInput) as exc:
        readers.read(files.csv_bytes(["a", "b"], [["1", "2"]]), filename="a.csv")
    assert exc.value.code == "csv_columns"
    data = files.csv_bytes(["wkt", "ten"], [['"LINESTRING (108.2 16.05, 108.21 16.05)"', "Đường"]])
    (row,) = _all(readers.read(data, filename="a.csv"))
    assert row.geometry.geom_type == "LineString" and row.properties == {"ten": "Đường"}


def test_shapefile_points_with_prj_and_cpg():
    data = files.shapefile_zip(
        "point",
        [files.project(9210, 108.2, 16.05), files.project(9210, 108.21, 16.06)],
        [{"fid": "S1", "ten": "Trường Lê Lợi"}, {"fid": "S2", "ten": "Trường Hùng Vương"}],
        srid=9210,
    )
    source = readers.read(data, filename="schools.zip")
    rows = _all(source)
    assert source.format == "shapefile" and source.srid == 9210 and source.total == 2
    assert [r.fid for r in rows] == ["S1", "S2"] and rows[0].properties["ten"] == "Trường Lê Lợi"
    assert rows[1].where == "feature 2" and rows[0].geometry.x > 100_000  # still projected metres


def test_shapefile_polygons_lines_and_null_geometry():
    ring = [(108.2, 16.05), (108.2, 16.051), (108.201, 16.051), (108.201, 16.05), (108.2, 16.05)]
    rows = _all(
        readers.read(
            files.shapefile_zip("polygon", [ring, None], [{"ten": "A"}, {"ten": "B"}]), filename="zones.zip"
        )
    )
    assert rows[0].geometry.geom_type == "Polygon" and rows[1].geometry is None and rows[1].problem
    rows = _all(
        readers.read(
            files.shapefile_zip("line", [[(108.2, 16.05), (108.21, 16.05)]], [{"ten": "C"}]), filename="x.zip"
        )
    )
    assert rows[0].geometry.geom_type == "LineString"


def test_shapefile_dbf_in_another_encoding_names_the_feature():
    data = files.shapefile_zip(
        "point",
        [(108.2, 16.05), (108.21, 16.06)],
        [{"ten": "abc"}, {"ten": "Sông Hàn"}],
        encoding="cp1258",
        cpg=None,
    )
    with pytest.raises(InvalidInput) as exc:
        _all(readers.read(data, filename="x.zip"))
    assert exc.value.code == "encoding" and exc.value.extra["where"] == "feature 2"
    data = files.shapefile_zip("point", [(108.2, 16.05)], [{"ten": "Đà"}], encoding="cp1258", cpg="1258")
    assert _all(readers.read(data, filename="x.zip"))[0].properties["ten"] == "Đà"


def test_shapefile_needs_one_shp_and_its_dbf():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "nothing here")
    with pytest.raises(InvalidInput) as exc:
        readers.read(buffer.getvalue(), filename="x.zip")
    assert exc.value.code == "shapefile_invalid"


def test_prj_without_epsg_needs_an_srid():
    weird = (
        'PROJCS["Custom",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,'
        '298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],'
        'PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",123457.0],'
        'PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",107.123],'
        'PARAMETER["Scale_Factor",0.9991],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
    )
    data = files.shapefile_zip("point", [(500000, 1770000)], [{"ten": "a"}], extra={"layer.prj": weird})
    with pytest.raises(InvalidInput) as exc:
        readers.read(data, filename="x.zip")
    assert exc.value.code == "srid_required"
    assert readers.read(data, filename="x.zip", srid=9210).srid == 9210


def _zip(entries, *, compression=zipfile.ZIP_DEFLATED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in entries:
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "name", ["../evil.shp", "/etc/evil.shp", "a/../../evil.shp", "..\\evil.shp", "C:/x.shp"]
)
def test_zip_path_traversal_is_refused(name):
    with pytest.raises(InvalidInput) as exc:
        readers.read(_zip([(name, b"x"), ("layer.dbf", b"y")]), filename="x.zip")
    assert exc.value.code == "zip_unsafe"


def test_zip_bomb_is_refused():
    # 60 MB of zeros deflate to about 60 KB: a ratio near 1000, and more than 50 MB.
    with pytest.raises(InvalidInput) as exc:
        readers.read(_zip([("layer.shp", b"\0" * (60 * 1024 * 1024))]), filename="x.zip")
    assert exc.value.code == "zip_unsafe"
    # 5 MB (under the size limit) but compressed far more than 100 times.
    with pytest.raises(InvalidInput) as exc:
        readers.read(_zip([("layer.dbf", b" " * (5 * 1024 * 1024))]), filename="x.zip")
    assert exc.value.code == "zip_unsafe" and "zip bomb" in exc.value.message


def test_zip_with_too_many_entries_is_refused():
    with pytest.raises(InvalidInput) as exc:
        readers.read(_zip([(f"f{i}.txt", b"x") for i in range(25)]), filename="x.zip")
    assert exc.value.code == "zip_unsafe"


def test_zip_size_is_counted_while_reading_not_trusted_from_headers(monkeypatch):
    monkeypatch.setattr(readers, "ZIP_MAX_BYTES", 1000)
    data = _zip([("layer.shp", bytes(range(256)) * 8)], compression=zipfile.ZIP_STORED)
    with pytest.raises(InvalidInput) as exc:
        readers.read(data, filename="x.zip")
    assert exc.value.code == "zip_unsafe"


def test_format_detection_and_unknown_format():
    assert readers.detect_format(b"PK\x03\x04...", "upload") == "shapefile"
    assert readers.detect_format(b'  {"type": "FeatureCollection"}', "upload") == "geojson"
    assert readers.detect_format(b"lon,lat\n", "upload") == "csv"
    with pytest.raises(InvalidInput) as exc:
        readers.read(b"abc", filename="a.csv", format="xls")
    assert exc.value.field == "format"
    with pytest.raises(InvalidInput):
        readers.read(b"", filename="a.csv")
