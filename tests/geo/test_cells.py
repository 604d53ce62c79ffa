import math

import pytest
import shapely
from shapely.geometry import shape

from dothi.core import geo
from dothi.core.errors import InvalidInput, OutsideCity
from dothi.core.models import Commune, CommuneArea

pytestmark = pytest.mark.django_db

HANOI = (105.8542, 21.0285)
OPEN_SEA = (110.5, 16.3)  # between the coast and the Paracels
FAR_SEA = (114.0, 10.0)


def test_cells_are_stored_approximate_with_bbox(danang):
    areas = CommuneArea.objects.filter(city=danang)
    assert areas.count() == 94
    assert not areas.filter(approximate=False).exists()
    assert set(areas.values_list("source", flat=True)) == {geo.APPROXIMATE_SOURCE}
    for area in areas:
        geom = shape(area.geometry)
        assert geom.is_valid and not geom.is_empty
        assert (area.min_lon, area.min_lat, area.max_lon, area.max_lat) == pytest.approx(geom.bounds)
    min_lon, min_lat, max_lon, max_lat = danang.bbox
    assert 107 < min_lon < 108.2 and 14.5 < min_lat < 15.5
    assert max_lon > 112  # Hoàng Sa is part of the city
    assert 16 < max_lat < 17


def test_cells_do_not_overlap(danang):
    geoms = [shape(a.geometry) for a in CommuneArea.objects.filter(city=danang)]
    union = shapely.union_all(geoms)
    assert sum(g.area for g in geoms) == pytest.approx(union.area, rel=1e-3)


def test_every_commune_centre_locates_to_its_own_commune(danang):
    for commune in Commune.objects.filter(province_id="48"):
        assert geo.locate(danang, commune.centre_lon, commune.centre_lat).code == commune.code


def test_island_commune_keeps_to_its_island(danang):
    hoang_sa = Commune.objects.get(province_id="48", kind="đặc khu")
    assert geo.locate(danang, hoang_sa.centre_lon + 0.05, hoang_sa.centre_lat).code == hoang_sa.code
    cell = shape(CommuneArea.objects.get(city=danang, commune=hoang_sa).geometry)
    radius_km = math.sqrt(cell.area) * geo.KM_PER_DEGREE
    assert radius_km < 60  # a disc around the islands, not half the sea


@pytest.mark.parametrize("point", [HANOI, OPEN_SEA, FAR_SEA], ids=["hanoi", "open-sea", "far-sea"])
def test_points_outside_the_city_are_rejected(danang, point):
    with pytest.raises(OutsideCity) as exc:
        geo.locate(danang, *point)
    assert exc.value.code == "outside_city"
    assert "Đà Nẵng" in exc.value.message


@pytest.mark.parametrize(
    "lon,lat",
    [(float("nan"), 16.0), (108.2, float("inf")), (108.2, 91), (181, 16.0), ("abc", 16.0), (None, 16.0)],
)
def test_bad_coordinates_are_invalid_input(danang, lon, lat):
    with pytest.raises(InvalidInput) as exc:
        geo.locate(danang, lon, lat)
    assert exc.value.code == "coordinates_invalid"


def test_another_city_does_not_see_danang(danang, other_city, admin_units):
    geo.city_build_approximate_boundaries(other_city)
    hai_chau = Commune.objects.get(code="20242")
    with pytest.raises(OutsideCity):
        geo.locate(other_city, hai_chau.centre_lon, hai_chau.centre_lat)
    ben_thanh = Commune.objects.get(province_id="79", name="Phường Bến Thành")
    assert geo.locate(other_city, ben_thanh.centre_lon, ben_thanh.centre_lat).code == ben_thanh.code


def test_rebuilding_replaces_cells_without_duplicates(danang):
    assert geo.city_build_approximate_boundaries(danang) == 94
    assert CommuneArea.objects.filter(city=danang).count() == 94


def test_locate_many_agrees_with_locate(danang):
    communes = list(Commune.objects.filter(province_id="48")[:20])
    points = [(c.centre_lon, c.centre_lat) for c in communes] + [HANOI]
    found = geo.locate_many(danang, points)
    assert [c.code for c in found[:-1]] == [c.code for c in communes]
    assert found[-1] is None


def test_cache_sees_deleted_boundaries(danang):
    hai_chau = Commune.objects.get(code="20242")
    assert geo.locate(danang, hai_chau.centre_lon, hai_chau.centre_lat).code == "20242"
    CommuneArea.objects.filter(city=danang, commune=hai_chau).delete()
    with pytest.raises(OutsideCity):
        geo.locate(danang, hai_chau.centre_lon, hai_chau.centre_lat)


def test_outline_covers_the_cells(danang):
    outline = geo.city_outline(danang)
    hai_chau = Commune.objects.get(code="20242")
    assert outline.contains(shapely.Point(hai_chau.centre_lon, hai_chau.centre_lat))
    assert not outline.contains(shapely.Point(*HANOI))


def test_no_inland_gaps(danang):
    """Points between the discs but surrounded by the city belong to the nearest commune."""
    outline = geo.city_outline(danang)
    parts = getattr(outline, "geoms", [outline])
    assert sum(len(part.interiors) for part in parts) == 0


def test_single_commune_city_gets_a_disc():
    cells = geo.approximate_cells([("00001", 108.0, 16.0, 3.14159)])
    cell = cells["00001"]
    assert cell.contains(shapely.Point(108.0, 16.0))
    # radius 1.6 km: about 0.0144 degrees of latitude
    assert cell.bounds[3] - 16.0 == pytest.approx(geo.DISC_FACTOR / geo.KM_PER_DEGREE, rel=0.01)
