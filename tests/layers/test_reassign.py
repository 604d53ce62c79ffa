"""Official commune boundaries imported as a `communes` layer replace the approximate cells and every
located point of every module (reports, sensors, offices, "are you safe?" replies, layer features) is
re-assigned; core.geo.reassign_points on its own."""

import pytest
import shapely
from shapely.geometry import mapping, shape

from dothi.alerts.models import AlertCategory, PublicWarning, SafetyReply
from dothi.appointments.models import Office
from dothi.core import geo
from dothi.core.errors import InvalidInput
from dothi.core.manifests import registry
from dothi.core.models import Commune, CommuneArea
from dothi.layers import services
from dothi.layers.models import Feature, LayerImport
from dothi.reports.models import Category, Report
from dothi.sensing.models import Sensor
from tests import factories
from tests.layers import files

pytestmark = pytest.mark.django_db

HAI_CHAU = "20242"


def _neighbour_point(city, code):
    """A point near commune `code` outside its approximate cell, and the neighbour holding it."""
    commune = Commune.objects.get(code=code)
    cell = shape(CommuneArea.objects.get(city=city, commune=commune).geometry)
    for step in range(1, 40):
        for dx, dy in [(1, 0), (-1, 0), (0, 1), (0, -1)]:
            point = shapely.Point(
                commune.centre_lon + dx * step * 0.002, commune.centre_lat + dy * step * 0.002
            )
            if not cell.contains(point):
                found = geo.locate_codes(city, [point.x], [point.y])[0]
                if found:
                    return point, found
    raise AssertionError("no neighbouring point found")


def _report(city, agency, category, lon, lat, commune):
    return Report.objects.create(
        city=city,
        reference=f"R{Report.objects.count() + 1:07d}",
        category=category,
        commune_id=commune,
        agency=agency,
        lat=lat,
        lon=lon,
        description="test",
    )


@pytest.fixture
def located(layers_city, agency, make_layer, make_features):
    """One row of every point set at P (in a neighbour's cell, inside the official Hải Châu to come) and
    one at Hải Châu's centre (already in Hải Châu)."""
    city = layers_city
    point, neighbour = _neighbour_point(city, HAI_CHAU)
    centre = Commune.objects.get(code=HAI_CHAU)
    category = Category.objects.create(city=city, code="pothole", name_vi="Ổ gà")
    warning = PublicWarning.objects.create(
        city=city,
        category=AlertCategory.objects.create(city=city, code="flood", name_vi="Lũ"),
        headline_vi="Lũ",
    )
    rows = {}
    for key, (lon, lat, code) in {
        "p": (point.x, point.y, neighbour),
        "centre": (centre.centre_lon, centre.centre_lat, HAI_CHAU),
    }.items():
        rows[key] = {
            "report": _report(city, agency, category, lon, lat, code),
            "sensor": Sensor.objects.create(
                city=city, code=f"S-{key}", name=key, kind="air", lat=lat, lon=lon, commune_id=code
            ),
            "office": Office.objects.create(
                city=city, code=f"o-{key}", name_vi=key, lat=lat, lon=lon, commune_id=code
            ),
            "reply": SafetyReply.objects.create(
                city=city,
                warning=warning,
                user=factories.make_citizen(city),
                status="safe",
                lat=lat,
                lon=lon,
                commune_id=code,
            ),
        }
        layer = make_layer(city, code=f"pins-{key}")
        rows[key]["feature"] = make_features(
            layer, 1, origin=(lon, lat), commune=Commune.objects.get(code=code)
        )[0]
    no_point = SafetyReply.objects.create(
        city=city, warning=warning, user=factories.make_citizen(city), status="need_help"
    )
    hull = shapely.Point(centre.centre_lon, centre.centre_lat).union(point).buffer(0.003).convex_hull
    return city, point, neighbour, rows, no_point, hull


def _commune_of(obj):
    obj.refresh_from_db()
    return obj.commune_id


def test_a_communes_layer_import_reassigns_every_point(located, make_layer, cast):
    city, point, neighbour, rows, no_point, hull = located
    assert neighbour != HAI_CHAU
    boundaries = make_layer(
        city,
        code="ranh-gioi-xa",
        sector="boundaries",
        role="communes",
        geometry_kind="polygon",
        schema=[{"code": "ma_xa", "type": "str", "required": True}],
        name_attribute="ten",
    )
    data = files.geojson_bytes(
        [
            {
                "type": "Feature",
                "id": "HC",
                "properties": {"ma_xa": HAI_CHAU, "ten": "Phường Hải Châu"},
                "geometry": mapping(hull),
            }
        ]
    )
    row = services.layer_import(
        actor=cast["city_admin"], layer=boundaries, data=data, filename="ranh-gioi.geojson"
    )
    area = CommuneArea.objects.get(city=city, commune_id=HAI_CHAU)
    assert area.approximate is False and "ranh-gioi-xa" in area.source
    assert geo.locate(city, point.x, point.y).code == HAI_CHAU
    for key in ("report", "sensor", "office", "reply", "feature"):
        assert _commune_of(rows["p"][key]) == HAI_CHAU, key
        assert _commune_of(rows["centre"][key]) == HAI_CHAU, key
    assert _commune_of(no_point) is None
    # Only the changed rows were written: one per point set (the boundary's own feature was located after
    # the boundaries applied).
    assert row.reassigned == {
        "reports.report": 1,
        "sensing.sensor": 1,
        "appointments.office": 1,
        "alerts.safetyreply": 1,
        "layers.feature": 1,
    }
    assert Feature.objects.get(layer=boundaries).commune_id == HAI_CHAU


def test_a_rejected_communes_layer_changes_nothing(located, make_layer, cast):
    city, point, neighbour, rows, _no_point, hull = located
    boundaries = make_layer(city, code="ranh-gioi-xa", role="communes", geometry_kind="polygon", schema=[])
    data = files.geojson_bytes(
        [
            {"type": "Feature", "properties": {"ma_xa": HAI_CHAU}, "geometry": mapping(hull)},
            {
                "type": "Feature",
                "properties": {"ma_xa": "00001"},
                "geometry": mapping(hull.buffer(-0.001)),
            },  # Hà Nội
        ]
    )
    with pytest.raises(InvalidInput) as exc:
        services.layer_import(actor=cast["city_admin"], layer=boundaries, data=data, filename="x.geojson")
    assert exc.value.code == "commune_unknown"
    assert CommuneArea.objects.get(city=city, commune_id=HAI_CHAU).approximate is True
    assert geo.locate(city, point.x, point.y).code == neighbour
    assert _commune_of(rows["p"]["report"]) == neighbour
    assert LayerImport.objects.get(layer=boundaries).status == "rejected"


def test_a_communes_layer_needs_the_commune_code(layers_city, make_layer, cast):
    boundaries = make_layer(
        layers_city, code="ranh-gioi-xa", role="communes", geometry_kind="polygon", schema=[]
    )
    data = files.geojson_bytes([files.feature(files.square(108.21, 16.06, 0.002), ten="x")])
    with pytest.raises(InvalidInput) as exc:
        services.layer_import(actor=cast["city_admin"], layer=boundaries, data=data, filename="x.geojson")
    assert exc.value.code == "commune_code_missing" and exc.value.extra["where"] == "feature 1"


def test_reassign_points_sends_points_outside_every_boundary_to_the_nearest_commune(layers_city):
    city = layers_city
    centre = Commune.objects.get(code=HAI_CHAU)
    # 60 km out at sea, due east of the city: outside every cell.
    at_sea = Sensor.objects.create(city=city, code="BUOY", name="buoy", kind="water", lat=16.07, lon=108.85)
    inside = Sensor.objects.create(
        city=city, code="IN", name="in", kind="air", lat=centre.centre_lat, lon=centre.centre_lon
    )
    assert geo.locate_codes(city, [108.85], [16.07]) == [None]
    result = geo.reassign_points(city)
    assert result["sensing.sensor"] == 2
    at_sea.refresh_from_db()
    inside.refresh_from_db()
    assert at_sea.commune_id is not None and inside.commune_id == HAI_CHAU
    nearest = min(
        CommuneArea.objects.filter(city=city),
        key=lambda a: shape(a.geometry).distance(shapely.Point(108.85, 16.07)),
    )
    assert at_sea.commune_id == nearest.commune_id
    assert geo.reassign_points(city)["sensing.sensor"] == 0  # nothing changed: nothing written


def test_reassign_points_stays_in_the_city(layers_city, other_city, admin_units):
    geo.city_build_approximate_boundaries(other_city)
    mine = Sensor.objects.create(city=layers_city, code="A", name="a", kind="air", lat=16.06, lon=108.217)
    theirs = Sensor.objects.create(city=other_city, code="A", name="a", kind="air", lat=16.06, lon=108.217)
    geo.reassign_points(layers_city)
    assert _commune_of(mine) is not None and _commune_of(theirs) is None
    # write_communes ignores a pk of another city.
    assert geo.write_communes(Sensor, city=layers_city, changes=[(theirs.pk, HAI_CHAU)]) == 0
    assert _commune_of(theirs) is None


def test_every_module_declares_its_point_set():
    codes = {p.code for p in registry.point_sets()}
    assert {
        "reports.report",
        "sensing.sensor",
        "appointments.office",
        "alerts.safetyreply",
        "layers.feature",
    } <= codes


def test_progress_is_reported(layers_city):
    seen = []
    geo.reassign_points(layers_city, progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1][0] == seen[-1][1] == len(registry.point_sets())


def test_many_changes_are_written_in_bulk(layers_city, make_layer, make_features):
    # More changes than one chunk: the temporary-table path on PostgreSQL, chunked executemany on SQLite.
    layer = make_layer(layers_city)
    make_features(layer, 2500, step=0.00002)
    assert geo.reassign_points(layers_city)["layers.feature"] == 2500
    assert not Feature.objects.filter(layer=layer, commune__isnull=True).exists()
    assert geo.reassign_points(layers_city)["layers.feature"] == 0
