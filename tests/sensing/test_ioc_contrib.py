"""What sensing contributes to the control centre through its manifest: the `sensing.latest` and
`sensing.online` panels (levels from the quantities' bands, muted when silent), the
`sensing.silent:<code>` alarm source, the ward summary, the published `sensing.sensor_points` and the
sensor's drill-down fragment (public sensors to all, private ones to staff)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from dothi.core.manifests import AlarmCandidate, registry
from dothi.sensing import selectors, services
from dothi.sensing.ingestion import ingest
from dothi.sensing.models import Sensor

pytestmark = pytest.mark.django_db


def client_as(user=None) -> Client:
    client = Client()
    client.cookies["dothi_language"] = "en"
    if user is not None:
        client.force_login(user)
    return client


def store(city, source, sensor, quantity, value, *, ago=timedelta(0)):
    item = {
        "sensor": sensor,
        "quantity": quantity,
        "time": (timezone.now() - ago).isoformat(),
        "value": value,
    }
    result = ingest(city=city, source=source, items=[item])
    assert result.accepted == 1, result.rejected


def panel(code):
    return next(p for p in registry.panels() if p.code == code)


def features_by_id(city):
    data = panel("sensing.latest").data(city)
    assert data["type"] == "FeatureCollection"
    return {f["properties"]["id"]: f for f in data["features"]}


def test_a_breach_level_latest_value_is_danger_and_a_fine_one_normal(city, source, air_sensor, water_sensor):
    store(city, source, "AQ-1", "pm25", 200.0)  # VN_AQI "very bad" (150–250 µg/m³)
    store(city, source, "AQ-1", "temperature", 30.0)
    store(city, source, "WL-1", "rainfall", 1.0)  # light rain
    features = features_by_id(city)
    air = features["AQ-1"]
    assert air["geometry"] == {"type": "Point", "coordinates": [108.22, 16.06]}
    props = air["properties"]
    assert props["level"] == "danger" and props["title"] == "Air 1"
    assert props["url"] == "/sensors/AQ-1/" and props["fragment"] == "/sensors/AQ-1/fragment/"
    assert "PM2.5" in props["meta"] and "200" in props["meta"]
    assert features["WL-1"]["properties"]["level"] == "normal"
    for f in features.values():
        assert {"id", "title", "level", "meta", "url", "fragment"} <= set(f["properties"])


def test_the_levels_follow_the_bands(city, source, air_sensor):
    expected = {10.0: "normal", 30.0: "info", 60.0: "warning", 100.0: "danger"}
    for minute, (value, level) in enumerate(expected.items()):
        store(city, source, "AQ-1", "pm25", value, ago=timedelta(seconds=50 - minute * 10))
        assert features_by_id(city)["AQ-1"]["properties"]["level"] == level, value


def test_a_silent_sensor_is_muted_and_raises_an_alarm(city, source, air_sensor, water_sensor):
    store(city, source, "AQ-1", "pm25", 200.0, ago=timedelta(minutes=16))  # 3 × 5 min passed
    store(city, source, "WL-1", "water_level", 1.0, ago=timedelta(minutes=16))  # 3 × 10 min not yet
    assert Sensor.objects.get(code="AQ-1").status == "active"  # not yet marked offline
    features = features_by_id(city)
    assert features["AQ-1"]["properties"]["level"] == "muted"  # its breach says nothing about now
    assert features["AQ-1"]["properties"]["silent"] is True
    assert features["WL-1"]["properties"]["level"] != "muted"
    candidates = list(registry.get("sensing").alarm_sources[0](city, timezone.now()))
    assert [c.key for c in candidates] == ["sensing.silent:AQ-1"]
    alarm = candidates[0]
    assert isinstance(alarm, AlarmCandidate) and alarm.kind == "silent" and alarm.level == "warning"
    assert (alarm.lon, alarm.lat) == (108.22, 16.06) and alarm.url == "/sensors/AQ-1/"
    assert abs((alarm.raised_at - (timezone.now() - timedelta(minutes=1))).total_seconds()) < 5
    counts = {i["label"]: i["value"] for i in panel("sensing.online").data(city)["items"]}
    assert list(counts.values()) == [1, 1, 2]  # online, silent, total


def test_offline_sensors_are_muted_retired_ones_and_cameras_left_out(city, source, air_sensor, quantities):
    store(city, source, "AQ-1", "pm25", 10.0)
    Sensor.objects.filter(code="AQ-1").update(status="offline")
    services.sensor_register(
        actor=None, city=city, code="CAM-1", name="Cam", kind="camera", lat=16.0, lon=108.2, quantities=[]
    )
    services.sensor_register(
        actor=None, city=city, code="OLD-1", name="Old", kind="air", lat=16.0, lon=108.2, quantities=["pm25"]
    )
    Sensor.objects.filter(code="OLD-1").update(status="retired")
    features = features_by_id(city)
    assert set(features) == {"AQ-1"} and features["AQ-1"]["properties"]["level"] == "muted"
    assert list(registry.get("sensing").alarm_sources[0](city, timezone.now())) == []  # seen just now


def test_a_sensor_never_heard_from_is_silent_after_its_default_or_interval(city, quantities):
    sensor = services.sensor_register(
        actor=None,
        city=city,
        code="NEW-1",
        name="New",
        kind="air",
        lat=16.0,
        lon=108.2,
        quantities=["pm25"],
        expected_interval_seconds=600,
    )
    now = timezone.now()
    assert selectors.ioc_silent_sensors(city, now=now + timedelta(minutes=29)) == []
    [alarm] = selectors.ioc_silent_sensors(city, now=now + timedelta(minutes=31))
    assert alarm.key == "sensing.silent:NEW-1" and alarm.raised_at == sensor.created_at + timedelta(
        minutes=30
    )
    assert selectors.silent_after(0) == timedelta(minutes=30)


def test_the_silent_alarms_are_bounded_most_recently_silent_first(city, source, quantities):
    for i in range(4):
        services.sensor_register(
            actor=None,
            city=city,
            code=f"S-{i}",
            name=f"S {i}",
            kind="air",
            lat=16.0,
            lon=108.2,
            quantities=["pm25"],
            expected_interval_seconds=60,
        )
        store(city, source, f"S-{i}", "pm25", 5.0, ago=timedelta(minutes=10 + i))
    found = selectors.ioc_silent_sensors(city, limit=2)
    assert [c.key for c in found] == ["sensing.silent:S-0", "sensing.silent:S-1"]


def test_private_sensors_are_on_the_staff_screen_and_their_fragment_is_staff_only(
    city, source, cast, quantities
):
    services.sensor_register(
        actor=None,
        city=city,
        code="PRIV-1",
        name="Factory fence",
        kind="air",
        lat=16.05,
        lon=108.2,
        quantities=["pm25"],
        is_public=False,
    )
    store(city, source, "PRIV-1", "pm25", 42.0)
    assert features_by_id(city)["PRIV-1"]["properties"]["public"] is False
    assert client_as().get("/sensors/PRIV-1/fragment/").status_code == 404
    assert client_as(cast["citizen"]).get("/sensors/PRIV-1/fragment/").status_code == 404
    response = client_as(cast["operator"]).get("/sensors/PRIV-1/fragment/")
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
    assert "Factory fence" in response.content.decode()


def test_the_fragment_carries_the_charts_data_and_no_page_around_it(city, source, air_sensor):
    store(city, source, "AQ-1", "pm25", 62.0)
    response = client_as().get("/sensors/AQ-1/fragment/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body and "<body" not in body and "<script" not in body and "style=" not in body
    assert body.count("data-chart ") == 3  # pm25, pm10, temperature
    assert 'data-url="/sensors/AQ-1/series.json?quantity=pm25"' in body and "data-keep-url" in body
    assert "62" in body and "Poor" in body
    assert client_as().get("/sensors/NOPE/fragment/").status_code == 404
    assert client_as().post("/sensors/AQ-1/fragment/").status_code == 405


def test_the_ward_summary_counts_the_communes_sensors(danang, quantities):
    from dothi.core.models import CommuneArea
    from dothi.sensing.keys import source_get_or_create

    city = danang
    area = CommuneArea.objects.filter(city=city).select_related("commune").first()
    commune = area.commune
    source = source_get_or_create(city=city, name="gw")
    lat, lon = commune.centre_lat, commune.centre_lon
    for code in ("W-1", "W-2"):
        services.sensor_register(
            actor=None, city=city, code=code, name=code, kind="air", lat=lat, lon=lon, quantities=["pm25"]
        )
    Sensor.objects.filter(code__in=["W-1", "W-2"]).update(commune=commune)
    store(city, source, "W-1", "pm25", 120.0)
    store(city, source, "W-2", "pm25", 20.0, ago=timedelta(hours=1))  # silent
    summary = registry.get("sensing").ward_summary(city, commune)
    assert [i["value"] for i in summary[:2]] == [2, 1]
    assert summary[1]["level"] == "warning"
    assert "120" in summary[2]["value"] and "W-1" in summary[2]["value"] and summary[2]["level"] == "danger"
    assert registry.get("sensing").ward_summary(city, "00000")[0]["value"] == 0


def test_sensor_points_by_quantity(city, air_sensor, water_sensor, other_city, quantities):
    points = registry.provided("sensing.sensor_points")
    assert sorted(points(city)) == [(108.21, 16.07), (108.22, 16.06)]
    assert points(city, ["water_level"]) == [(108.21, 16.07)]
    assert points(city, ["pm25", "rainfall"]) == [(108.22, 16.06), (108.21, 16.07)]
    assert points(city, []) == [] and points(other_city) == []
    Sensor.objects.filter(code="WL-1").update(status="offline")
    assert points(city) == [(108.22, 16.06)]


def test_a_street_flood_gauge_is_coloured_by_its_depth(city, source, quantities):
    """`flood_depth` is a city's own quantity (the warnings' demo street gauge): it has bands too, so a
    breach of the street flood rule (0.5 m) is danger on the control centre's map."""
    from dothi.sensing.models import Quantity

    Quantity.objects.create(
        city=city, code="flood_depth", name_vi="Độ sâu ngập", unit="m", min_value=0, max_value=5, decimals=2
    )
    services.sensor_register(
        actor=None,
        city=city,
        code="FD-1",
        name="Gauge",
        kind="water",
        lat=16.0,
        lon=108.2,
        quantities=["flood_depth"],
        expected_interval_seconds=86400,
    )
    store(city, source, "FD-1", "flood_depth", 0.2, ago=timedelta(minutes=5))
    assert features_by_id(city)["FD-1"]["properties"]["level"] == "info"
    store(city, source, "FD-1", "flood_depth", 0.63)
    assert features_by_id(city)["FD-1"]["properties"]["level"] == "danger"
