import json

import numpy as np
import pytest
import shapely
from django.core.management import CommandError, call_command
from django.utils import translation
from pyproj import Transformer
from shapely.geometry import mapping, shape

from dothi.core import geo
from dothi.core.errors import InvalidInput
from dothi.core.models import AuditEvent, Commune, CommuneArea

pytestmark = pytest.mark.django_db


def _neighbour_point(city, code):
    """A point near commune `code` that its approximate cell does NOT contain (it lies in a neighbour)."""
    commune = Commune.objects.get(code=code)
    cell = shape(CommuneArea.objects.get(city=city, commune=commune).geometry)
    for step in range(1, 40):
        for dx, dy in [(1, 0), (-1, 0), (0, 1), (0, -1)]:
            point = shapely.Point(
                commune.centre_lon + dx * step * 0.002, commune.centre_lat + dy * step * 0.002
            )
            if not cell.contains(point):
                try:
                    neighbour = geo.locate(city, point.x, point.y)
                except Exception:  # noqa: BLE001
                    continue
                return point, neighbour
    raise AssertionError("no neighbouring point found")


def _collection(code, geom, **props):
    return {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": {"ma_xa": code, **props}, "geometry": mapping(geom)}],
    }


def test_official_boundary_replaces_the_cell_and_the_lookup_sees_it(danang):
    point, neighbour = _neighbour_point(danang, "20242")
    assert neighbour.code != "20242"
    hai_chau = Commune.objects.get(code="20242")
    official = shapely.Point(hai_chau.centre_lon, hai_chau.centre_lat).union(point).buffer(0.003).convex_hull
    assert (
        geo.communes_import(city=danang, data=_collection("20242", official), source="Sở Xây dựng 2025") == 1
    )
    area = CommuneArea.objects.get(city=danang, commune=hai_chau)
    assert area.approximate is False and area.source == "Sở Xây dựng 2025"
    assert CommuneArea.objects.filter(city=danang).count() == 94
    assert geo.locate(danang, point.x, point.y).code == "20242"  # official wins over the neighbour's cell
    assert AuditEvent.objects.filter(city=danang, object_type="core.communearea").exists()
    # Rebuilding the approximate cells keeps the official boundary.
    geo.city_build_approximate_boundaries(danang)
    assert CommuneArea.objects.get(city=danang, commune=hai_chau).approximate is False
    assert geo.locate(danang, point.x, point.y).code == "20242"


def test_integer_codes_are_accepted(danang):
    hai_chau = Commune.objects.get(code="20242")
    square = shapely.Point(hai_chau.centre_lon, hai_chau.centre_lat).buffer(0.01)
    assert geo.communes_import(city=danang, data=_collection(20242, square)) == 1


def test_unknown_codes_are_rejected_and_nothing_is_stored(danang):
    square = shapely.box(108.2, 16.0, 108.21, 16.01)
    data = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"ma_xa": "20242"}, "geometry": mapping(square)},
            {"type": "Feature", "properties": {"ma_xa": "00004"}, "geometry": mapping(square)},  # Hà Nội
        ],
    }
    with pytest.raises(InvalidInput) as exc:
        geo.communes_import(city=danang, data=data)
    assert exc.value.code == "commune_unknown"
    assert "00004" in exc.value.message
    assert not CommuneArea.objects.filter(city=danang, approximate=False).exists()


@pytest.mark.parametrize(
    "geometry,code",
    [
        (
            {
                "type": "Polygon",
                "coordinates": [[[108.2, 16.0], [108.3, 16.1], [108.3, 16.0], [108.2, 16.1], [108.2, 16.0]]],
            },
            "geometry_invalid",
        ),  # a bow-tie
        ({"type": "Point", "coordinates": [108.2, 16.0]}, "geometry_type"),
        ({"type": "Polygon", "coordinates": "nonsense"}, "geometry_invalid"),
        (
            {
                "type": "Polygon",
                "coordinates": [[[560000, 1770000], [561000, 1770000], [561000, 1771000], [560000, 1770000]]],
            },
            "srid_required",
        ),
    ],
    ids=["bow-tie", "point", "nonsense", "projected-without-srid"],
)
def test_bad_geometries_are_rejected(danang, geometry, code):
    data = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": {"ma_xa": "20242"}, "geometry": geometry}],
    }
    with pytest.raises(InvalidInput) as exc:
        geo.communes_import(city=danang, data=data)
    assert exc.value.code == code
    assert not CommuneArea.objects.filter(city=danang, approximate=False).exists()


@pytest.mark.parametrize("data", [[], {"type": "FeatureCollection", "features": []}, {"type": "Nope"}])
def test_not_a_feature_collection(danang, data):
    with pytest.raises(InvalidInput):
        geo.communes_import(city=danang, data=data)


def test_missing_code_property(danang):
    with pytest.raises(InvalidInput) as exc:
        geo.communes_import(
            city=danang,
            data=_collection("20242", shapely.box(108.2, 16.0, 108.21, 16.01)),
            code_property="code",
        )
    assert exc.value.code == "commune_code_missing"


@pytest.mark.parametrize("srid", [5899, 3405])
def test_vn2000_coordinates_are_reprojected(danang, srid):
    hai_chau = Commune.objects.get(code="20242")
    wgs84 = shapely.Point(hai_chau.centre_lon, hai_chau.centre_lat).buffer(0.004)
    forward = Transformer.from_crs("EPSG:4326", f"EPSG:{srid}", always_xy=True)
    projected = shapely.transform(wgs84, lambda xy: np.column_stack(forward.transform(*xy.T)))
    assert projected.bounds[0] > 1000  # metres, not degrees
    geo.communes_import(city=danang, data=_collection("20242", projected), srid=srid)
    stored = shape(CommuneArea.objects.get(city=danang, commune=hai_chau).geometry)
    assert stored.bounds == pytest.approx(wgs84.bounds, abs=1e-5)
    assert geo.locate(danang, hai_chau.centre_lon, hai_chau.centre_lat).code == "20242"


def test_crs_member_names_the_coordinate_system(danang):
    hai_chau = Commune.objects.get(code="20242")
    wgs84 = shapely.Point(hai_chau.centre_lon, hai_chau.centre_lat).buffer(0.004)
    forward = Transformer.from_crs("EPSG:4326", "EPSG:5899", always_xy=True)
    projected = shapely.transform(wgs84, lambda xy: np.column_stack(forward.transform(*xy.T)))
    data = _collection("20242", projected)
    data["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::5899"}}
    geo.communes_import(city=danang, data=data)
    stored = shape(CommuneArea.objects.get(city=danang, commune=hai_chau).geometry)
    assert stored.bounds == pytest.approx(wgs84.bounds, abs=1e-5)


def test_unknown_srid(danang):
    with pytest.raises(InvalidInput) as exc:
        geo.communes_import(city=danang, data=_collection("20242", shapely.box(1, 1, 2, 2)), srid=999999)
    assert exc.value.code == "srid_unknown"


def test_import_command(danang, tmp_path, capsys):
    hai_chau = Commune.objects.get(code="20242")
    path = tmp_path / "communes.geojson"
    square = shapely.Point(hai_chau.centre_lon, hai_chau.centre_lat).buffer(0.01)
    path.write_text(json.dumps(_collection("20242", square, ten="Hải Châu")), encoding="utf-8")
    call_command("import_communes", "danang", str(path))
    assert "Imported 1 official commune boundaries" in capsys.readouterr().out
    assert CommuneArea.objects.get(city=danang, commune=hai_chau).source == "official: communes.geojson"

    path.write_text(json.dumps(_collection("99999", square)), encoding="utf-8")
    with translation.override("en"), pytest.raises(CommandError, match="Unknown commune codes .*99999"):
        call_command("import_communes", "danang", str(path))
    with pytest.raises(CommandError, match="No city"):
        call_command("import_communes", "nowhere", str(path))
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("import_communes", "danang", str(path))


def test_build_communes_command(city, admin_units, capsys):
    call_command("build_communes", "danang")
    assert "Built 94 approximate commune cells" in capsys.readouterr().out
    assert CommuneArea.objects.filter(city=city).count() == 94
