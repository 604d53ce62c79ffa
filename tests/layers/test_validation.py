"""Per-feature checks: geometry, kind, inside the city, attribute schema, rounding, measures, names."""

import json
import math

import pytest
from shapely.geometry import shape

from dothi.core import geo
from dothi.core.errors import InvalidInput
from dothi.layers import validation
from dothi.layers.readers import RawFeature
from tests.layers import files

pytestmark = pytest.mark.django_db

IDENTITY = geo.to_wgs84(4326)


def raw(geometry, number=1, fid=None, where=None, **properties):
    return RawFeature(
        number=number,
        where=where or f"feature {number}",
        fid=fid,
        geometry=shape(geometry) if geometry else None,
        properties=properties,
    )


@pytest.fixture
def outline(layers_city):
    return validation.outline_of(layers_city)


def _check(layer, item, outline, transform=IDENTITY):
    return validation.check(layer, item, city_outline=outline, transform=transform)


def test_point_is_rounded_named_and_measured(layers_city, make_layer, outline):
    layer = make_layer(layers_city, name_attribute="ten")
    clean = _check(
        layer, raw(files.point(108.21700049, 16.0600001), fid="A-1", ten="Trường Tiểu học  Lê Lợi"), outline
    )
    assert json.loads(clean.geometry) == {"type": "Point", "coordinates": [108.217, 16.06]}
    assert (clean.lon, clean.lat, clean.fid) == (108.217, 16.06, "A-1")
    assert clean.name == "Trường Tiểu học Lê Lợi" and clean.name_key == "truong tieu hoc le loi"
    assert clean.length_m == 0 and clean.area_m2 == 0
    assert clean.min_lon == clean.max_lon == 108.217


def test_line_length_and_polygon_area_in_metres(layers_city, make_layer, outline):
    lines = make_layer(layers_city, geometry_kind="line")
    clean = _check(lines, raw(files.line(108.21, 16.06, dx=0.01)), outline)
    expected = 0.01 * 111_320 * math.cos(math.radians(16.06))
    assert clean.length_m == pytest.approx(expected, rel=1e-3) and clean.area_m2 == 0
    zones = make_layer(layers_city, geometry_kind="polygon")
    clean = _check(zones, raw(files.square(108.21, 16.06, half=0.001)), outline)
    assert clean.area_m2 == pytest.approx(expected / 10 * 2 * 0.002 * 111_320, rel=1e-3)
    assert zones.geometry_kind == "polygon" and clean.geom_type == "Polygon"
    assert shape(json.loads(clean.geometry)).contains(
        shape({"type": "Point", "coordinates": [clean.lon, clean.lat]})
    )


def test_fid_defaults_to_the_number(layers_city, make_layer, outline):
    clean = _check(make_layer(layers_city), raw(files.point(108.217, 16.06), number=12), outline)
    assert clean.fid == "12"


@pytest.mark.parametrize(
    ("geometry", "kind", "code"),
    [
        (files.line(108.21, 16.06), "point", "geometry_type"),
        (files.point(108.21, 16.06), "polygon", "geometry_type"),
        (
            {
                "type": "Polygon",
                "coordinates": [
                    [[108.21, 16.06], [108.22, 16.07], [108.22, 16.06], [108.21, 16.07], [108.21, 16.06]]
                ],
            },
            "polygon",
            "geometry_invalid",
        ),
        (files.point(*files.OUTSIDE), "point", "outside_city"),
        (files.point(500000.0, 1770000.0), "point", "srid_required"),
        (None, "point", "geometry_missing"),
    ],
)
def test_bad_geometries_are_rejected_naming_the_feature(
    layers_city, make_layer, outline, geometry, kind, code
):
    layer = make_layer(layers_city, geometry_kind=kind)
    with pytest.raises(InvalidInput) as exc:
        _check(layer, raw(geometry, number=7), outline)
    assert (
        exc.value.code == code
        and exc.value.message.startswith("Feature 7")
        and exc.value.extra["where"] == "feature 7"
    )


def test_invalid_geometry_message_carries_the_reason(layers_city, make_layer, outline):
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [[108.21, 16.06], [108.22, 16.07], [108.22, 16.06], [108.21, 16.07], [108.21, 16.06]]
        ],
    }
    with pytest.raises(InvalidInput) as exc:
        _check(make_layer(layers_city, geometry_kind="polygon"), raw(bowtie), outline)
    assert "Self-intersection" in exc.value.message


def test_a_geometry_reaching_far_outside_the_city_is_rejected(layers_city, make_layer, outline):
    layer = make_layer(layers_city, geometry_kind="line")
    # Its middle is in Hải Châu, its eastern end 20 km out at sea.
    long_line = {"type": "LineString", "coordinates": [[108.0, 16.06], [108.43, 16.06]]}
    with pytest.raises(InvalidInput) as exc:
        _check(layer, raw(long_line), outline)
    assert exc.value.code == "outside_city" and "1 km" in exc.value.message


def test_vn2000_reprojection(layers_city, make_layer, outline):
    x, y = files.project(9210, 108.217, 16.06)
    clean = _check(make_layer(layers_city), raw(files.point(x, y)), outline, transform=geo.to_wgs84(9210))
    assert clean.lon == pytest.approx(108.217, abs=2e-6) and clean.lat == pytest.approx(16.06, abs=2e-6)


SCHEMA = [
    {"code": "ten", "type": "str", "required": True},
    {"code": "so_tang", "type": "int"},
    {"code": "dien_tich", "type": "float"},
    {"code": "hoat_dong", "type": "bool"},
    {"code": "ngay", "type": "date"},
    {"code": "loai", "type": "str", "choices": ["công lập", "tư thục"]},
]


def test_attributes_are_converted_by_type(layers_city, make_layer, outline):
    layer = make_layer(layers_city, schema=SCHEMA)
    clean = _check(
        layer,
        raw(
            files.point(108.217, 16.06),
            ten=" Trường A ",
            so_tang="3",
            dien_tich="1.234,5",
            hoat_dong="có",
            ngay="02/09/2025",
            loai="tư thục",
            other="kept",
        ),
        outline,
    )
    assert clean.properties == {
        "ten": "Trường A",
        "so_tang": 3,
        "dien_tich": 1234.5,
        "hoat_dong": True,
        "ngay": "2025-09-02",
        "loai": "tư thục",
        "other": "kept",
    }
    clean = _check(
        layer,
        raw(
            files.point(108.217, 16.06),
            ten="B",
            so_tang=4.0,
            dien_tich="12,5",
            hoat_dong="không",
            ngay="2025-01-31",
        ),
        outline,
    )
    assert clean.properties["so_tang"] == 4 and clean.properties["dien_tich"] == 12.5
    assert clean.properties["hoat_dong"] is False and clean.properties["loai"] is None


@pytest.mark.parametrize(
    ("props", "code", "attr"),
    [
        ({}, "attribute_required", "ten"),
        ({"ten": "  "}, "attribute_required", "ten"),
        ({"ten": "A", "so_tang": "ba"}, "attribute_type", "so_tang"),
        ({"ten": "A", "so_tang": "3,5"}, "attribute_type", "so_tang"),
        ({"ten": "A", "dien_tich": "nhiều"}, "attribute_type", "dien_tich"),
        ({"ten": "A", "hoat_dong": "maybe"}, "attribute_type", "hoat_dong"),
        ({"ten": "A", "ngay": "31/02/2025"}, "attribute_type", "ngay"),
        ({"ten": "A", "loai": "quốc tế"}, "attribute_choice", "loai"),
    ],
)
def test_attribute_errors(layers_city, make_layer, outline, props, code, attr):
    layer = make_layer(layers_city, schema=SCHEMA)
    with pytest.raises(InvalidInput) as exc:
        _check(layer, raw(files.point(108.217, 16.06), where="line 4", **props), outline)
    assert exc.value.code == code and attr in exc.value.message and exc.value.message.startswith("Line 4")


def test_check_schema():
    assert validation.check_schema([{"code": "a", "type": "int", "required": 1}]) == [
        {"code": "a", "label_vi": "", "label_en": "", "type": "int", "required": True}
    ]
    for bad in (
        "x",
        [{"type": "int"}],
        [{"code": "a"}, {"code": "a"}],
        [{"code": "a", "type": "blob"}],
        [{"code": "a", "choices": "x"}],
    ):
        with pytest.raises(InvalidInput):
            validation.check_schema(bad)
