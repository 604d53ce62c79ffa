"""The sensor pages over HTTP: the public map and its data, the list view, a sensor's page and its
chart data (resolution chosen by the period), for anonymous visitors and staff."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from dothi.core.models import Agreement
from dothi.sensing import levels, services
from dothi.sensing.ingestion import ingest
from tests import factories

pytestmark = pytest.mark.django_db


def client_as(user=None) -> Client:
    client = Client()
    client.cookies["dothi_language"] = "en"
    if user is not None:
        client.force_login(user)
    return client


def store(city, source, *items):
    result = ingest(city=city, source=source, items=list(items))
    assert not result.rejected, result.rejected
    return result


@pytest.fixture
def private_sensor(city, quantities):
    return services.sensor_register(
        actor=None,
        city=city,
        code="PRIV-1",
        name="Factory fence sensor",
        kind="air",
        lat=16.05,
        lon=108.2,
        quantities=["pm25"],
        is_public=False,
    )


@pytest.fixture
def shared_sensor(city, quantities):
    """A sensor a resident group owns, shared with the city under a data-sharing agreement."""
    group = factories.make_agency(
        city,
        "green-club",
        kind="resident_group",
        agency_type="",
        name_vi="CLB Sống xanh",
        name_en="Green Living Club",
    )
    agreement = Agreement.objects.create(
        city=city,
        organisation=group,
        kind=Agreement.Kind.DATA_SHARING,
        title="Community PM2.5 sharing",
        scope="Four low-cost PM2.5 sensors, every ten minutes, published on the city map.",
        starts_on=timezone.localdate() - timedelta(days=30),
        ends_on=timezone.localdate() + timedelta(days=300),
    )
    agreement.shared_with.set([factories.make_agency(city, "env-dept", name_en="Environment Department")])
    return services.sensor_register(
        actor=None,
        city=city,
        code="CLB-1",
        name="Community sensor 1",
        kind="air",
        lat=16.061,
        lon=108.221,
        quantities=["pm25"],
        owner=group,
        agreement=agreement,
    )


# --- Levels (the map's colours) ----------------------------------------------------------------------


def test_levels_follow_the_bands():
    assert levels.level("pm25", 12.0).severity == 1
    assert levels.level("pm25", 25.0).severity == 2  # the band holds values below its upper bound
    assert levels.level("pm25", 60.0).severity == 3
    assert levels.level("pm25", 300.0).severity == 6
    assert levels.level("vehicle_count", 900.0) == levels.NONE  # no bands: not coloured
    assert levels.level("pm25", None) == levels.NONE
    station = {"alert_levels": [1.5, 2.5, 3.5]}
    assert [levels.level("water_level", v, station).severity for v in (1.0, 1.5, 2.6, 4.0)] == [1, 2, 3, 4]
    assert levels.level("water_level", 9.0, {}) == levels.NONE  # a station without warning levels
    assert levels.level("water_level", 9.0, {"alert_levels": [3, 2, 1]}) == levels.NONE  # not ordered
    worst = levels.worst([levels.level("pm25", 10.0), levels.level("pm10", 200.0)])
    assert worst.severity == 3
    # Values without a scale: "measured" (blue), not "no recent value" (grey).
    assert levels.worst([levels.level("vehicle_count", 900.0)]) == levels.UNRATED
    assert levels.worst([levels.level("vehicle_count", 900.0), levels.level("pm25", 10.0)]).severity == 1
    assert levels.worst([]) == levels.NONE


# --- The map and its data ----------------------------------------------------------------------------


def test_map_page_for_anonymous(air_sensor):
    response = client_as().get("/sensors/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-mode="sensors"' in body
    assert 'data-url="/sensors/map.json"' in body
    assert "Show as a list" in body
    assert "Hazardous" in body  # the legend
    assert "Sensor status" not in body  # counts of offline sensors are for staff


def test_map_data_is_compact_and_coloured(city, source, air_sensor, water_sensor):
    now = timezone.now()
    services.sensor_update(actor=None, sensor=water_sensor, properties={"alert_levels": [1.0, 2.0, 3.0]})
    store(
        city,
        source,
        ("AQ-1", "pm25", now - timedelta(minutes=5), 62.0),
        ("AQ-1", "pm10", now - timedelta(minutes=5), 80.0),
        ("WL-1", "water_level", now, 2.4),
    )
    response = client_as().get("/sensors/map.json")
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("public")
    data = response.json()
    points = {p[2]: p for p in data["points"]}
    assert set(points) == {"AQ-1", "WL-1"}
    air = points["AQ-1"]
    assert air[3] == "Air 1"
    assert data["kinds"][air[4]][0] == "air"
    assert data["statuses"][air[5]][0] == "active"
    assert air[6] == 3  # PM2.5 62 µg/m³ is "poor": the worst of its values colours it
    pm25 = next(v for v in air[7] if data["quantities"][v[0]][0] == "pm25")
    assert pm25[1:] == [62.0, 3, "Poor"]
    assert data["quantities"][pm25[0]][2] == "µg/m³"
    assert points["WL-1"][6] == 3  # past warning level II
    assert data["levels"][3][1].startswith("#")


def test_map_data_filters_by_kind_and_ignores_bad_filters(air_sensor, water_sensor):
    codes = [p[2] for p in client_as().get("/sensors/map.json?kind=water").json()["points"]]
    assert codes == ["WL-1"]
    codes = [p[2] for p in client_as().get("/sensors/map.json?kind=nonsense").json()["points"]]
    assert sorted(codes) == ["AQ-1", "WL-1"]


def test_offline_sensor_is_grey(city, source, air_sensor):
    store(city, source, ("AQ-1", "pm25", timezone.now() - timedelta(hours=3), 300.0))
    services.sensor_update(actor=None, sensor=air_sensor, status="offline")
    point = client_as().get("/sensors/map.json").json()["points"][0]
    assert point[6] == 0  # its last value says nothing about now


def test_private_sensor_is_invisible_to_the_public(cast, private_sensor, air_sensor):
    anonymous = client_as()
    assert [p[2] for p in anonymous.get("/sensors/map.json").json()["points"]] == ["AQ-1"]
    assert "PRIV-1" not in anonymous.get("/sensors/list/").content.decode()
    assert anonymous.get("/sensors/PRIV-1/").status_code == 404
    assert anonymous.get("/sensors/PRIV-1/series.json?quantity=pm25").status_code == 404
    citizen = client_as(cast["citizen"])
    assert citizen.get("/sensors/PRIV-1/").status_code == 404
    staff = client_as(cast["agency_staff"])
    response = staff.get("/sensors/map.json")
    assert sorted(p[2] for p in response.json()["points"]) == ["AQ-1", "PRIV-1"]
    assert response["Cache-Control"] == "private, no-store"  # never kept by a shared cache
    page = staff.get("/sensors/PRIV-1/")
    assert page.status_code == 200
    assert "Not public: shown to staff only" in page.content.decode()
    series = staff.get("/sensors/PRIV-1/series.json?quantity=pm25")
    assert series.status_code == 200
    assert series["Cache-Control"] == "private, no-store"
    assert "Sensor status" in staff.get("/sensors/").content.decode()


def test_other_citys_sensor_is_not_found(city, other_city, quantities):
    services.sensor_register(
        actor=None,
        city=other_city,
        code="HCM-1",
        name="Saigon air",
        kind="air",
        lat=10.78,
        lon=106.7,
        quantities=["pm25"],
    )
    client = client_as()
    assert client.get("/c/hcm/sensors/HCM-1/").status_code == 200
    assert client.get("/c/danang/sensors/HCM-1/").status_code == 404
    assert client.get("/c/danang/sensors/HCM-1/series.json?quantity=pm25").status_code == 404
    assert client.get("/c/danang/sensors/map.json").json()["points"] == []
    assert [p[2] for p in client.get("/c/hcm/sensors/map.json").json()["points"]] == ["HCM-1"]


# --- The list view -----------------------------------------------------------------------------------


def test_list_view_shows_values_and_levels(city, source, air_sensor, water_sensor):
    store(city, source, ("AQ-1", "pm25", timezone.now(), 12.34))
    response = client_as().get("/sensors/list/?kind=air")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Air 1" in body and "Water 1" not in body
    assert "12.3" in body and "µg/m³" in body and "(Good)" in body
    assert "1 sensor" in body


def test_list_and_map_empty_states(city):
    body = client_as().get("/sensors/list/").content.decode()
    assert "No sensors match these filters." in body
    assert client_as().get("/sensors/map.json").json()["points"] == []
    assert client_as().get("/sensors/").status_code == 200


# --- A sensor's page ---------------------------------------------------------------------------------


def test_sensor_page_shows_latest_values_owner_and_status(city, source, air_sensor, cast):
    owner = factories.make_agency(city, "env", name_en="Environment Department")
    services.sensor_update(actor=None, sensor=air_sensor, owner=owner)
    store(city, source, ("AQ-1", "pm25", timezone.now() - timedelta(minutes=2), 41.0))
    for user in (None, cast["agency_staff"]):
        response = client_as(user).get("/sensors/AQ-1/")
        assert response.status_code == 200
        body = response.content.decode()
        assert "Air 1" in body and "Latest values" in body
        assert "41.0" in body and "µg/m³" in body and "Moderate" in body
        assert "Environment Department" in body
        assert "No value yet" in body  # PM10 and temperature: nothing received yet
        assert "ago" in body  # last seen
        assert "5 minutes" in body  # expected every 300 s
        assert "data-chart" in body and "uplot/uplot.iife.min.js" in body
        assert 'data-url="/sensors/AQ-1/series.json?quantity=pm25"' in body
        assert "Privately owned" not in body


def test_sensor_page_empty_state(air_sensor):
    body = client_as().get("/sensors/AQ-1/").content.decode()
    assert body.count("No value yet") == 3
    assert "Never" in body  # never seen


def test_shared_sensor_page_shows_the_agreement(shared_sensor):
    body = client_as().get("/sensors/CLB-1/").content.decode()
    assert "Privately owned, shared with the city" in body
    assert "Community PM2.5 sharing" in body
    assert "Four low-cost PM2.5 sensors" in body
    assert "Environment Department" in body  # shared with
    assert "Green Living Club" in body


def test_camera_page_shows_location_and_view_not_video(city):
    services.sensor_register(
        actor=None,
        city=city,
        code="CAM-1",
        name="Dragon Bridge camera",
        kind="camera",
        lat=16.061,
        lon=108.227,
        view_description="The river under the bridge, looking south.",
        stream_url="rtsp://user:secret@camera.example.invalid/stream",
        properties={"heading": 180},
    )
    response = client_as().get("/sensors/CAM-1/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "The river under the bridge, looking south." in body
    assert "never shows or stores its video" in body
    assert "camera.example.invalid" not in body and "secret" not in body
    assert 'data-heading="180"' in body
    assert "uplot" not in body  # no chart for a camera


def test_retired_sensor_page_still_answers(air_sensor):
    services.sensor_retire(actor=None, sensor=air_sensor)
    body = client_as().get("/sensors/AQ-1/").content.decode()
    assert "Retired" in body and "no longer in service" in body
    assert "AQ-1" not in str(client_as().get("/sensors/map.json").json()["points"])


def test_unknown_sensor_is_not_found(city):
    assert client_as().get("/sensors/NOPE/").status_code == 404
    assert client_as().get("/sensors/NOPE/series.json?quantity=pm25").status_code == 404


# --- Chart data --------------------------------------------------------------------------------------


@pytest.fixture
def history(city, source, air_sensor, water_sensor):
    """Readings of AQ-1 over a year: every ten minutes in the last day, hourly the last month, daily
    before (through the ingestion service, which keeps the rollups)."""
    now = timezone.now().replace(second=0, microsecond=0)
    items = [("AQ-1", "pm25", now - timedelta(minutes=10 * k), 20.0 + k % 5) for k in range(1, 100)]
    items += [("AQ-1", "pm25", now - timedelta(hours=h), 30.0) for h in range(30, 24 * 25, 3)]
    items += [("AQ-1", "pm25", now - timedelta(days=d), 40.0) for d in range(40, 360, 7)]
    items += [
        ("WL-1", "rainfall", now - timedelta(hours=h, minutes=m), 1.5) for h in range(2, 60) for m in (0, 10)
    ]
    store(city, source, *items)
    return now


@pytest.mark.parametrize(
    ("period", "resolution"), [("24h", "raw"), ("7d", "hour"), ("30d", "hour"), ("1y", "day")]
)
def test_series_resolution_follows_the_period(history, period, resolution):
    response = client_as().get(f"/sensors/AQ-1/series.json?quantity=pm25&period={period}")
    assert response.status_code == 200
    data = response.json()
    assert data["resolution"] == resolution
    assert data["period"] == period
    assert data["unit"] == "µg/m³"
    assert len(data["t"]) == len(data["v"]) > 0
    assert data["t"] == sorted(data["t"])
    if resolution == "raw":
        assert data["min"] is None  # readings have no band
        assert len(data["t"]) == 99 and set(data["v"]) <= {20.0, 21.0, 22.0, 23.0, 24.0}
    else:
        assert len(data["min"]) == len(data["t"])
        assert all(lo <= v <= hi for lo, v, hi in zip(data["min"], data["v"], data["max"], strict=True))
    if period == "1y":
        assert 40.0 in data["v"]  # the daily readings of months ago


def test_series_defaults_to_a_day(history):
    assert client_as().get("/sensors/AQ-1/series.json?quantity=pm25").json()["resolution"] == "raw"


def test_series_of_a_summed_quantity_has_totals_without_a_band(history):
    data = client_as().get("/sensors/WL-1/series.json?quantity=rainfall&period=7d").json()
    assert data["summed"] is True and data["min"] is None
    assert data["resolution_label"] == "hourly totals"
    assert max(data["v"]) == pytest.approx(3.0)  # two readings of 1.5 mm in an hour


def test_series_empty_period(air_sensor):
    data = client_as().get("/sensors/AQ-1/series.json?quantity=pm10&period=7d").json()
    assert data["t"] == [] and data["v"] == []


def test_series_bad_input_is_a_clear_4xx(history):
    client = client_as()
    response = client.get("/sensors/AQ-1/series.json?quantity=pm25&period=2w")
    assert response.status_code == 400
    assert response.json()["field"] == "period"
    assert response.json()["message"] == "Choose a period among 24h, 7d, 30d, 1y."
    response = client.get("/sensors/AQ-1/series.json?quantity=water_level")
    assert response.status_code == 422
    assert response.json()["code"] == "quantity_not_measured"
    assert client.get("/sensors/AQ-1/series.json").status_code == 422  # no quantity


def test_values_without_a_scale_are_blue_not_grey(city, source, quantities):
    services.sensor_register(
        actor=None,
        city=city,
        code="TC-1",
        name="Counter",
        kind="traffic",
        lat=16.06,
        lon=108.2,
        quantities=["vehicle_count"],
    )
    services.sensor_register(
        actor=None,
        city=city,
        code="TC-2",
        name="Silent counter",
        kind="traffic",
        lat=16.07,
        lon=108.2,
        quantities=["vehicle_count"],
    )
    store(city, source, ("TC-1", "vehicle_count", timezone.now(), 420))
    data = client_as().get("/sensors/map.json").json()
    severity = {p[2]: p[6] for p in data["points"]}
    assert severity == {"TC-1": levels.UNRATED_SEVERITY, "TC-2": levels.NO_VALUE}
    assert data["levels"][levels.UNRATED_SEVERITY][2] == "Measured, no scale"
