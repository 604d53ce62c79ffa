"""The layers' KPIs on tiny fixtures computed by hand: drainage network monitored by water-level sensors
(EC: ICT: D: 1A) and population living in flood-prone zones (SC: SH: SA: 4A), and the API's measures."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.test import Client

from dothi.core.manifests import Period, registry
from dothi.core.models import Commune, CommuneArea
from dothi.layers import selectors, stats
from dothi.layers.models import CommunePopulation, Feature
from dothi.sensing import services as sensing_services
from tests.sensing.conftest import quantities  # noqa: F401 - the global quantity catalogue

pytestmark = pytest.mark.django_db
YEAR = Period(date(2026, 1, 1), date(2027, 1, 1))


def add_feature(layer, fid: str, geometry: dict, *, length_m: float = 0.0) -> Feature:
    coords = geometry["coordinates"]
    flat = coords if geometry["type"] == "LineString" else coords[0]
    xs, ys = [c[0] for c in flat], [c[1] for c in flat]
    return Feature.objects.create(
        city=layer.city,
        layer=layer,
        fid=fid,
        geometry=json.dumps(geometry),
        geom_type=geometry["type"],
        min_lon=min(xs),
        min_lat=min(ys),
        max_lon=max(xs),
        max_lat=max(ys),
        lon=xs[0],
        lat=ys[0],
        length_m=length_m,
    )


def box(x1, y1, x2, y2) -> dict:
    return {"type": "Polygon", "coordinates": [[[x1, y1], [x2, y1], [x2, y2], [x1, y2], [x1, y1]]]}


def sensor(city, code, lon, lat, quantity):
    kind = "water"
    return sensing_services.sensor_register(
        actor=None, city=city, code=code, name=code, kind=kind, lat=lat, lon=lon, quantities=[quantity]
    )


def test_drainage_monitored_by_hand(city, make_layer, quantities):  # noqa: F811
    drains = make_layer(city, code="drains", role="drainage", geometry_kind="line", sector="drainage")
    # A north–south line 0.01° long: 1,113.2 m on the map's projection, measured 1,000 m by its import.
    add_feature(
        drains, "d1", {"type": "LineString", "coordinates": [[108.2, 16.05], [108.2, 16.06]]}, length_m=1000.0
    )
    # A line 500 m long far from the water-level sensor (only a rain gauge near it: not a drain sensor).
    add_feature(
        drains,
        "d2",
        {"type": "LineString", "coordinates": [[108.3, 16.05], [108.3, 16.0545]]},
        length_m=500.0,
    )
    # A line of another layer does not count.
    roads = make_layer(city, code="roads", geometry_kind="line")
    add_feature(
        roads, "r1", {"type": "LineString", "coordinates": [[108.2, 16.05], [108.21, 16.05]]}, length_m=1070.0
    )
    assert stats.kpi_drainage_monitored(city, YEAR).value == 0.0  # no sensor yet: 0 %, not "no data"
    sensor(city, "WL-1", 108.2, 16.055, "water_level")
    sensor(city, "RG-1", 108.3, 16.052, "rainfall")
    measure = selectors.drainage_monitoring(city, radius_m=100)
    # 200 m of the first line's 1,113.2 m lie within 100 m of WL-1: 1,000 × 200 / 1,113.2 m monitored.
    monitored_m = 1000 * 200 / 1113.2
    assert measure["total_km"] == pytest.approx(1.5)
    assert measure["monitored_km"] == pytest.approx(monitored_m / 1000, abs=1e-6)
    assert measure["sensors"] == 1 and measure["lines"] == 2
    kpi = registry.get("layers").kpis[0].compute(city, YEAR)
    assert kpi.numerator == pytest.approx(monitored_m / 1000, abs=1e-6) and kpi.denominator == pytest.approx(
        1.5
    )
    assert kpi.value == pytest.approx(round(100 * monitored_m / 1500, 2)) and kpi.sample_size == 2
    # A radius that covers the whole first line: all of its 1,000 m.
    assert selectors.drainage_monitoring(city, radius_m=700)["monitored_km"] == pytest.approx(1.0)


def test_drainage_without_network_is_no_data(city):
    kpi = stats.kpi_drainage_monitored(city, YEAR)
    assert kpi.value is None and kpi.denominator == 0 and kpi.note


@pytest.fixture
def three_communes(city, admin_units):
    """Three communes of Đà Nẵng with square 0.01° boundaries side by side (no approximate cells)."""
    a, b, c = Commune.objects.filter(province_id="48").order_by("code")[:3]
    for i, commune in enumerate((a, b, c)):
        x = 108.20 + 0.01 * i
        CommuneArea.objects.create(
            city=city,
            commune=commune,
            geometry=box(x, 16.0, x + 0.01, 16.01),
            min_lon=x,
            min_lat=16.0,
            max_lon=x + 0.01,
            max_lat=16.01,
            approximate=False,
        )
    return a, b, c


def test_flood_exposure_by_hand(city, make_layer, three_communes):
    a, b, c = three_communes
    zones = make_layer(city, code="flood", role="flood_prone", geometry_kind="polygon", sector="flood")
    add_feature(zones, "z1", box(108.20, 16.0, 108.205, 16.01))  # the west half of A
    add_feature(zones, "z2", box(108.21, 16.0, 108.215, 16.005))  # a quarter of B
    add_feature(zones, "z3", box(108.212, 16.0, 108.215, 16.003))  # inside z2: overlaps are not counted twice
    for commune, year, n in ((a, 2020, 800), (a, 2024, 1000), (b, 2024, 2000), (c, 2024, 1000)):
        CommunePopulation.objects.create(city=city, commune=commune, year=year, population=n)
    measure = selectors.flood_exposure(city)
    # 1,000 × 1/2 + 2,000 × 1/4 + 1,000 × 0 = 1,000 of 4,000 people.
    assert (measure["population"], measure["exposed"], measure["year"]) == (4000, pytest.approx(1000), 2024)
    assert measure["share"] == pytest.approx(0.25)
    by_code = {row["code"]: row for row in measure["communes"]}
    assert by_code[a.code]["share"] == pytest.approx(0.5) and by_code[b.code]["exposed"] == pytest.approx(500)
    assert by_code[c.code]["exposed"] == 0
    kpi = stats.kpi_flood_exposure(city, YEAR)
    assert (kpi.value, kpi.numerator, kpi.denominator, kpi.sample_size) == (
        25.0,
        pytest.approx(1000),
        4000,
        3,
    )
    # A 2020 period uses 2020's population: only A has one (800 people, half exposed).
    old = stats.kpi_flood_exposure(city, Period(date(2020, 1, 1), date(2021, 1, 1)))
    assert (old.value, old.numerator, old.denominator, old.sample_size) == (50.0, pytest.approx(400), 800, 1)
    none = stats.kpi_flood_exposure(city, Period(date(2019, 1, 1), date(2020, 1, 1)))
    assert none.value is None and none.denominator == 0


def test_measures_endpoint(city, make_layer, three_communes):
    a, _b, _c = three_communes
    zones = make_layer(city, code="flood", role="flood_prone", geometry_kind="polygon", is_public=False)
    add_feature(zones, "z1", box(108.20, 16.0, 108.205, 16.01))
    CommunePopulation.objects.create(city=city, commune=a, year=2024, population=1000)
    body = Client().get("/api/v1/layers/measures").json()
    assert body["flood_exposure"]["share"] == pytest.approx(0.5) and body["flood_exposure"]["exposed"] == 500
    assert body["drainage"] == {
        "total_km": 0.0,
        "monitored_km": 0.0,
        "share": None,
        "lines": 0,
        "sensors": 0,
        "radius_m": 100.0,
    }
    assert Client().get("/api/v1/layers/measures", {"radius_m": "-1"}).status_code == 422
