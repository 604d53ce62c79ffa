"""layer_import: every format into the database, all or nothing, the changelog, replace and upsert, stats,
permissions; and the catalogue services."""

import json

import pytest
from django.core.exceptions import PermissionDenied

from dothi.core.errors import Conflict, InvalidInput
from dothi.core.models import AuditEvent
from dothi.layers import services
from dothi.layers.models import Feature, Layer, LayerImport
from tests.layers import files

pytestmark = pytest.mark.django_db


def _schools(n=3, start=0, **extra):
    return files.geojson_bytes(
        files.feature(
            files.point(108.2100 + (start + i) * 0.002, 16.0600),
            fid=f"T{start + i}",
            ten=f"Trường {start + i}",
            **extra,
        )
        for i in range(n)
    )


@pytest.fixture
def operator(cast):
    return cast["operator"]


@pytest.fixture
def schools(layers_city, make_layer):
    return make_layer(
        layers_city,
        code="schools",
        schema=[
            {"code": "ten", "type": "str", "required": True},
            {"code": "hoc_sinh", "type": "int"},
        ],
    )


def _snapshot(layer):
    layer.refresh_from_db()
    rows = sorted(Feature.objects.filter(layer=layer).values_list("fid", "geometry", "properties"))
    return rows, layer.feature_count, layer.min_lon, layer.updated_at


def test_geojson_import_writes_features_stats_changelog_and_audit(schools, operator):
    row = services.layer_import(actor=operator, layer=schools, data=_schools(3), filename="schools.geojson")
    assert (row.status, row.format, row.mode, row.srid) == ("accepted", "geojson", "replace", 4326)
    assert (row.added, row.updated, row.removed, row.actor) == (3, 0, 0, operator) and len(row.sha256) == 64
    schools.refresh_from_db()
    assert schools.feature_count == 3 and schools.updated_at is not None
    assert (schools.min_lon, schools.max_lon) == (108.21, 108.214) and schools.max_feature_width == 0
    feature = Feature.objects.get(layer=schools, fid="T1")
    assert feature.name == "Trường 1" and feature.name_key == "truong 1" and feature.city == schools.city
    assert json.loads(feature.geometry) == {"type": "Point", "coordinates": [108.212, 16.06]}
    assert feature.commune is not None and feature.geom_type == "Point"
    assert AuditEvent.objects.filter(
        object_type="layers.layer", object_id=str(schools.pk), actor=operator
    ).exists()


def test_line_and_polygon_stats(layers_city, make_layer, operator):
    drains = make_layer(layers_city, geometry_kind="line", role="drainage", sector="drainage")
    data = files.geojson_bytes(
        [
            files.feature(files.line(108.21, 16.06, dx=0.01)),
            files.feature(files.line(108.21, 16.062, dx=0.02)),
        ]
    )
    services.layer_import(actor=operator, layer=drains, data=data, filename="d.geojson")
    drains.refresh_from_db()
    assert drains.total_length_m == pytest.approx(3 * 1069.7, rel=2e-3)
    assert drains.max_feature_width == pytest.approx(0.02) and drains.max_feature_height == 0
    zones = make_layer(layers_city, geometry_kind="polygon")
    data = files.geojson_bytes(
        [files.feature(files.square(108.21, 16.06, 0.001)), files.feature(files.square(108.22, 16.06, 0.002))]
    )
    services.layer_import(actor=operator, layer=zones, data=data, filename="z.geojson")
    zones.refresh_from_db()
    assert zones.total_area_m2 == pytest.approx(5 * 0.002 * 106_970 * 0.002 * 111_320, rel=3e-3)
    assert zones.max_feature_width == pytest.approx(0.004) and zones.max_feature_height == pytest.approx(
        0.004
    )


def test_csv_import(schools, operator):
    data = files.csv_bytes(
        ["fid", "kinh_do", "vi_do", "ten", "hoc_sinh"],
        [["C1", "108,212", "16,06", "Trường Lê Lợi", "1200"]],
        delimiter=";",
    )
    row = services.layer_import(actor=operator, layer=schools, data=data, filename="schools.csv")
    assert row.format == "csv" and row.added == 1
    feature = Feature.objects.get(layer=schools)
    assert feature.fid == "C1" and feature.properties == {"ten": "Trường Lê Lợi", "hoc_sinh": 1200}


@pytest.mark.parametrize("srid", [9210, 3405])
def test_vn2000_shapefile_round_trip(schools, operator, srid):
    lonlat = [(108.2123456, 16.0654321), (108.2201, 16.0555)]
    data = files.shapefile_zip(
        "point",
        [files.project(srid, *p) for p in lonlat],
        [{"fid": "S1", "ten": "A"}, {"fid": "S2", "ten": "B"}],
        srid=srid,
    )
    row = services.layer_import(actor=operator, layer=schools, data=data, filename="schools.zip")
    assert (row.format, row.srid, row.added) == ("shapefile", srid, 2)
    got = dict(Feature.objects.filter(layer=schools).values_list("fid", "lon"))
    lat = Feature.objects.get(layer=schools, fid="S1").lat
    assert got["S1"] == pytest.approx(108.212346, abs=1.5e-6) and lat == pytest.approx(16.065432, abs=1.5e-6)


def test_vn2000_geojson_with_srid_argument(schools, operator):
    x, y = files.project(5899, 108.215, 16.061)
    data = files.geojson_bytes([files.feature(files.point(x, y), ten="A")])
    row = services.layer_import(actor=operator, layer=schools, data=data, filename="a.geojson", srid=5899)
    assert row.srid == 5899
    assert Feature.objects.get(layer=schools).lon == pytest.approx(108.215, abs=1.5e-6)


def test_replace_and_upsert_counts(schools, operator):
    services.layer_import(actor=operator, layer=schools, data=_schools(4), filename="a.geojson")  # T0..T3
    row = services.layer_import(
        actor=operator, layer=schools, data=_schools(3, start=2), filename="b.geojson", mode="upsert"
    )  # T2..T4: T2, T3 updated, T4 added, T0, T1 kept
    assert (row.mode, row.added, row.updated, row.removed) == ("upsert", 1, 2, 0)
    assert sorted(Feature.objects.filter(layer=schools).values_list("fid", flat=True)) == [
        "T0",
        "T1",
        "T2",
        "T3",
        "T4",
    ]
    schools.refresh_from_db()
    assert schools.feature_count == 5 and schools.max_lon == pytest.approx(108.218)
    row = services.layer_import(
        actor=operator, layer=schools, data=_schools(2, start=3), filename="c.geojson"
    )
    assert (row.mode, row.added, row.updated, row.removed) == ("replace", 0, 2, 3)  # T3, T4 stay; T0-2 go
    assert sorted(Feature.objects.filter(layer=schools).values_list("fid", flat=True)) == ["T3", "T4"]
    schools.refresh_from_db()
    assert schools.feature_count == 2 and schools.min_lon == pytest.approx(108.216)


def test_upsert_updates_attributes_in_place(schools, operator):
    services.layer_import(actor=operator, layer=schools, data=_schools(2), filename="a.geojson")
    data = files.geojson_bytes([files.feature(files.point(108.2, 16.07), fid="T0", ten="Trường mới")])
    services.layer_import(actor=operator, layer=schools, data=data, filename="b.geojson", mode="upsert")
    feature = Feature.objects.get(layer=schools, fid="T0")
    assert feature.name == "Trường mới" and feature.lon == 108.2 and feature.lat == 16.07


def _zip_bomb():
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("layer.shp", b"\0" * (60 * 1024 * 1024))
    return buffer.getvalue()


def _traversal():
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../layer.shp", b"x")
    return buffer.getvalue()


BAD_FILES = {
    "bad_json": (b'{"type": "FeatureCollection", "features": [', "x.geojson", "geojson_invalid", "line 1"),
    "empty": (b"", "x.geojson", "file_empty", ""),
    "no_features": (files.geojson_bytes([]), "x.geojson", "file_empty", ""),
    "bad_geometry": (
        files.geojson_bytes(
            [
                files.feature(files.point(108.21, 16.06), ten="a"),
                files.feature({"type": "Point", "coordinates": []}, ten="b"),
            ]
        ),
        "x.geojson",
        "geometry_missing",
        "feature 2",
    ),
    "wrong_kind": (
        files.geojson_bytes([files.feature(files.line(108.21, 16.06), ten="a")]),
        "x.geojson",
        "geometry_type",
        "feature 1",
    ),
    "outside": (
        files.geojson_bytes(
            [
                files.feature(files.point(108.21, 16.06), ten="a"),
                files.feature(files.point(*files.OUTSIDE), ten="b"),
            ]
        ),
        "x.geojson",
        "outside_city",
        "feature 2",
    ),
    "projected_without_srid": (
        files.geojson_bytes([files.feature(files.point(570000.0, 1776000.0), ten="a")]),
        "x.geojson",
        "srid_required",
        "feature 1",
    ),
    "required": (
        files.geojson_bytes([files.feature(files.point(108.21, 16.06))]),
        "x.geojson",
        "attribute_required",
        "feature 1",
    ),
    "type": (
        files.csv_bytes(
            ["lon", "lat", "ten", "hoc_sinh"],
            [["108.21", "16.06", "a", "1"], ["108.21", "16.061", "b", "nhiều"]],
        ),
        "x.csv",
        "attribute_type",
        "line 3",
    ),
    "duplicate_fid": (
        files.csv_bytes(
            ["fid", "lon", "lat", "ten"], [["1", "108.21", "16.06", "a"], ["1", "108.21", "16.061", "b"]]
        ),
        "x.csv",
        "fid_duplicate",
        "line 3",
    ),
    "encoding": ("lon,lat,ten\n108.21,16.06,Đà\n".encode("cp1258"), "x.csv", "encoding", "line 2"),
    "zip_bomb": (_zip_bomb(), "x.zip", "zip_unsafe", ""),
    "traversal": (_traversal(), "x.zip", "zip_unsafe", ""),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_file_leaves_the_layer_as_it_was_and_is_logged(schools, operator, case):
    services.layer_import(actor=operator, layer=schools, data=_schools(2), filename="good.geojson")
    before = _snapshot(schools)
    data, filename, code, where = BAD_FILES[case]
    with pytest.raises(InvalidInput) as exc:
        services.layer_import(actor=operator, layer=schools, data=data, filename=filename)
    assert exc.value.code == code
    assert _snapshot(schools) == before
    rejected = LayerImport.objects.get(layer=schools, status="rejected")
    assert (
        rejected.error == exc.value.message and rejected.error_at == where and rejected.filename == filename
    )
    assert exc.value.extra["import_id"] == rejected.pk
    assert LayerImport.objects.filter(layer=schools).count() == 2


def test_a_bad_file_in_upsert_mode_leaves_the_layer_as_it_was(schools, operator):
    services.layer_import(actor=operator, layer=schools, data=_schools(2), filename="good.geojson")
    before = _snapshot(schools)
    data = files.geojson_bytes(
        [
            files.feature(files.point(108.2, 16.07), fid="T0", ten="changed"),
            files.feature(files.point(108.2, 16.07), fid="T9", ten="new"),
            files.feature(files.point(*files.OUTSIDE), fid="T8", ten="bad"),
        ]
    )
    with pytest.raises(InvalidInput):
        services.layer_import(actor=operator, layer=schools, data=data, filename="b.geojson", mode="upsert")
    assert _snapshot(schools) == before


def test_large_import_is_chunked(schools, operator, monkeypatch):
    monkeypatch.setattr(services, "CHUNK", 50)
    data = files.geojson_bytes(
        files.feature(files.point(108.20 + (i % 30) * 0.0005, 16.05 + (i // 30) * 0.0005), fid=i, ten=f"T{i}")
        for i in range(345)
    )
    seen = []
    row = services.layer_import(
        actor=operator,
        layer=schools,
        data=data,
        filename="big.geojson",
        progress=lambda done, total: seen.append((done, total)),
    )
    assert row.added == 345 and Feature.objects.filter(layer=schools).count() == 345
    assert seen[-1] == (345, 345)
    bad = data.replace(b'"T300"', b'"T300", "hoc_sinh": "x"')
    with pytest.raises(InvalidInput) as exc:
        services.layer_import(actor=operator, layer=schools, data=bad, filename="big.geojson")
    assert exc.value.extra["where"] == "feature 301"
    assert Feature.objects.filter(layer=schools).count() == 345


def test_permissions(schools, cast, agency):
    from django.contrib.auth.models import AnonymousUser

    for actor in (AnonymousUser(), cast["citizen"], cast["agency_staff"], cast["council_member"]):
        with pytest.raises(PermissionDenied):
            services.layer_import(actor=actor, layer=schools, data=_schools(1), filename="a.geojson")
    # An agency manager imports only the layers their agency owns.
    with pytest.raises(PermissionDenied):
        services.layer_import(
            actor=cast["agency_manager"], layer=schools, data=_schools(1), filename="a.geojson"
        )
    schools.owner = agency
    schools.save()
    row = services.layer_import(
        actor=cast["agency_manager"], layer=schools, data=_schools(1), filename="a.geojson"
    )
    assert row.status == "accepted"
    assert not LayerImport.objects.filter(status="rejected").exists()


def test_unknown_mode_is_refused(schools, operator):
    with pytest.raises(InvalidInput) as exc:
        services.layer_import(
            actor=operator, layer=schools, data=_schools(1), filename="a.geojson", mode="merge"
        )
    assert exc.value.field == "mode"


# --- The catalogue ---------------------------------------------------------------------------------


def test_layer_create_update_delete(layers_city, cast, agency):
    admin = cast["city_admin"]
    layer = services.layer_create(
        actor=admin,
        city=layers_city,
        code="truong-hoc",
        name_vi="Trường học",
        sector="schools",
        owner=agency,
        cadence="yearly",
        licence="CC-BY-4.0",
        is_public=True,
        geometry_kind="point",
        schema=[{"code": "ten", "label_vi": "Tên", "type": "str", "required": True}],
        name_attribute="ten",
    )
    assert layer.schema[0]["required"] is True and layer.owner == agency and layer.colour == "#3366cc"
    with pytest.raises(Conflict):
        services.layer_create(
            actor=admin,
            city=layers_city,
            code="truong-hoc",
            name_vi="x",
            sector="schools",
            cadence="yearly",
            licence="x",
            is_public=False,
            geometry_kind="any",
        )
    with pytest.raises(InvalidInput) as exc:
        services.layer_create(
            actor=admin,
            city=layers_city,
            code="ranh-gioi",
            name_vi="x",
            sector="boundaries",
            role="communes",
            cadence="yearly",
            licence="x",
            is_public=False,
            geometry_kind="point",
        )
    assert exc.value.field == "geometry_kind"
    with pytest.raises(PermissionDenied):
        services.layer_create(
            actor=cast["citizen"],
            city=layers_city,
            code="x",
            name_vi="x",
            sector="schools",
            cadence="yearly",
            licence="x",
            is_public=False,
            geometry_kind="any",
        )
    with pytest.raises(InvalidInput) as exc:  # /layers/catalogue/ is a page: the layer could not be reached
        services.layer_update(actor=admin, layer=layer, code="catalogue")
    assert exc.value.code == "reserved_code" and Layer.objects.get(pk=layer.pk).code == "truong-hoc"
    services.layer_update(actor=cast["operator"], layer=layer, is_public=False, colour="#AA0000", order=5)
    layer.refresh_from_db()
    assert (layer.is_public, layer.colour, layer.order) == (False, "#aa0000", 5)
    with pytest.raises(InvalidInput):
        services.layer_update(actor=admin, layer=layer, feature_count=9)
    with pytest.raises(InvalidInput):
        services.layer_update(actor=admin, layer=layer, colour="red")
    services.layer_import(actor=admin, layer=layer, data=_schools(2), filename="a.geojson")
    services.layer_delete(actor=admin, layer=layer)
    assert not Layer.objects.filter(pk=layer.pk).exists() and not Feature.objects.exists()
    assert AuditEvent.objects.filter(object_type="layers.layer", action="delete").exists()
