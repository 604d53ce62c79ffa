"""clean_area: communes of the city by code, or a GeoJSON polygon inside it."""

from __future__ import annotations

import json

import pytest

from dothi.alerts.area import MAX_VERTICES, clean_area
from dothi.core.errors import InvalidInput, OutsideCity
from tests.alerts.conftest import square


def test_communes_by_code(ax):
    area = clean_area(ax.city, commune_codes=[ax.commune_b.code, ax.commune_a.code, ax.commune_a.code],
                      polygon=None)
    assert area.commune_codes == sorted([ax.commune_a.code, ax.commune_b.code])
    assert area.polygon is None
    min_lon, min_lat, max_lon, max_lat = area.bbox
    for lat, lon in (ax.point_a, ax.point_b):
        assert min_lon <= lon <= max_lon and min_lat <= lat <= max_lat


def test_communes_as_text(ax):
    area = clean_area(ax.city, commune_codes=f"{ax.commune_a.code}, {ax.commune_b.code}", polygon=None)
    assert area.commune_codes == sorted([ax.commune_a.code, ax.commune_b.code])


def test_unknown_commune(ax, other_city, admin_units):
    from dothi.core.models import Commune

    foreign = Commune.objects.filter(province_id=other_city.province_code).first()
    for codes in (["99999"], [ax.commune_a.code, foreign.code]):
        with pytest.raises(InvalidInput) as exc:
            clean_area(ax.city, commune_codes=codes, polygon=None)
        assert exc.value.field == "commune_codes"
        assert exc.value.code == "commune_unknown"


def test_neither_given(ax):
    with pytest.raises(InvalidInput) as exc:
        clean_area(ax.city, commune_codes=(), polygon=None)
    assert exc.value.field == "commune_codes"
    area = clean_area(ax.city, commune_codes=(), polygon=None, required=False)
    assert area.commune_codes == [] and area.polygon is None and area.bbox is None


def test_polygon_gives_the_communes_it_intersects(ax):
    from dothi.core import geo

    lat, lon = ax.point_a
    area = clean_area(ax.city, commune_codes=(), polygon=ax.polygon_a)
    assert ax.commune_a.code in area.commune_codes
    assert area.polygon["type"] == "Polygon"
    assert area.bbox == pytest.approx((lon - 0.002, lat - 0.002, lon + 0.002, lat + 0.002), abs=1e-6)
    # Every commune listed really meets the polygon: the corners and centre are located in them.
    corners = [(lon + dx, lat + dy) for dx in (-0.0019, 0, 0.0019) for dy in (-0.0019, 0, 0.0019)]
    located = {c.code for c in geo.locate_many(ax.city, corners) if c is not None}
    assert located <= set(area.commune_codes)


def test_polygon_spanning_two_communes(ax):
    (lat_a, lon_a), (lat_b, lon_b) = ax.point_a, ax.point_b
    # A thin box joining the two centre points crosses (at least) both communes.
    poly = {
        "type": "Polygon",
        "coordinates": [[
            [min(lon_a, lon_b) - 0.001, min(lat_a, lat_b) - 0.001],
            [max(lon_a, lon_b) + 0.001, min(lat_a, lat_b) - 0.001],
            [max(lon_a, lon_b) + 0.001, max(lat_a, lat_b) + 0.001],
            [min(lon_a, lon_b) - 0.001, max(lat_a, lat_b) + 0.001],
            [min(lon_a, lon_b) - 0.001, min(lat_a, lat_b) - 0.001],
        ]],
    }
    try:
        area = clean_area(ax.city, commune_codes=(), polygon=poly)
    except OutsideCity:
        pytest.skip("the two communes' box leaves the city (coast)")
    assert {ax.commune_a.code, ax.commune_b.code} <= set(area.commune_codes)


def test_polygon_and_communes_are_united(ax):
    area = clean_area(ax.city, commune_codes=[ax.commune_b.code], polygon=ax.polygon_a)
    assert {ax.commune_a.code, ax.commune_b.code} <= set(area.commune_codes)
    assert area.polygon is not None


def test_multipolygon_and_json_text(ax):
    multi = {
        "type": "MultiPolygon",
        "coordinates": [square(*ax.point_a)["coordinates"], square(*ax.point_b)["coordinates"]],
    }
    area = clean_area(ax.city, commune_codes=(), polygon=json.dumps(multi))
    assert {ax.commune_a.code, ax.commune_b.code} <= set(area.commune_codes)
    assert area.polygon["type"] == "MultiPolygon"
    feature = {"type": "Feature", "properties": {}, "geometry": ax.polygon_a}
    assert clean_area(ax.city, commune_codes=(), polygon=feature).polygon["type"] == "Polygon"


def test_polygon_outside_the_city(ax):
    hanoi = square(21.028, 105.854)
    with pytest.raises(OutsideCity) as exc:
        clean_area(ax.city, commune_codes=(), polygon=hanoi)
    assert exc.value.field == "polygon"
    assert exc.value.status == 422


def test_polygon_mostly_outside_the_city(ax):
    lat, lon = ax.point_a
    # A huge box around a point of the city: most of it is outside.
    with pytest.raises(OutsideCity):
        clean_area(ax.city, commune_codes=(), polygon=square(lat, lon, half=3))


def test_no_boundaries_means_no_polygon(city, admin_units):
    # A city without commune boundaries has no outline: any polygon is outside it.
    with pytest.raises(OutsideCity):
        clean_area(city, commune_codes=(), polygon=square(16.06, 108.22))


@pytest.mark.parametrize(
    "polygon",
    [
        {"type": "Point", "coordinates": [108.2, 16.0]},
        {"type": "Polygon", "coordinates": "nope"},
        {"type": "Polygon", "coordinates": [[[108.2, 16.0], [108.3, 16.0]]]},
        {"type": "Polygon", "coordinates": [[[108.2, 16.0], [108.3, "x"], [108.3, 16.1], [108.2, 16.0]]]},
        {"type": "Polygon", "coordinates": [[[200, 16.0], [108.3, 16.0], [108.3, 16.1], [200, 16.0]]]},
        {"type": "Polygon",
         "coordinates": [[[108.2, float("nan")], [108.3, 16.0], [108.3, 16.1], [108.2, 16.0]]]},
        "{not json",
        ["a list"],
        42,
    ],
)
def test_malformed_polygon(ax, polygon):
    with pytest.raises(InvalidInput) as exc:
        clean_area(ax.city, commune_codes=(), polygon=polygon)
    assert exc.value.field == "polygon"
    assert not isinstance(exc.value, OutsideCity)


def test_self_intersecting_polygon(ax):
    lat, lon = ax.point_a
    d = 0.002
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[lon - d, lat - d], [lon + d, lat + d], [lon + d, lat - d], [lon - d, lat + d],
                         [lon - d, lat - d]]],
    }
    with pytest.raises(InvalidInput) as exc:
        clean_area(ax.city, commune_codes=(), polygon=bowtie)
    assert exc.value.field == "polygon"
    assert exc.value.code == "polygon_invalid"


def test_empty_polygon(ax):
    lat, lon = ax.point_a
    ring = [[lon, lat], [lon + 0.01, lat], [lon + 0.02, lat], [lon, lat]]
    flat = {"type": "Polygon", "coordinates": [ring]}
    with pytest.raises(InvalidInput) as exc:
        clean_area(ax.city, commune_codes=(), polygon=flat)
    assert exc.value.field == "polygon"


def test_too_many_vertices(ax):
    import math

    lat, lon = ax.point_a
    n = MAX_VERTICES + 10
    ring = [[lon + 0.002 * math.cos(2 * math.pi * i / n), lat + 0.002 * math.sin(2 * math.pi * i / n)]
            for i in range(n)]
    ring.append(ring[0])
    with pytest.raises(InvalidInput) as exc:
        clean_area(ax.city, commune_codes=(), polygon={"type": "Polygon", "coordinates": [ring]})
    assert exc.value.code == "polygon_too_complex"


def test_error_is_translated(ax):
    from django.utils import translation

    with translation.override("en"), pytest.raises(OutsideCity) as exc:
        clean_area(ax.city, commune_codes=(), polygon=square(21.028, 105.854))
    assert "outside" in exc.value.message
