"""NGSI-LD at /ngsi-ld/v1/: every operation in both content types, the errors (ETSI types), the 207 batch,
tenancy, the temporal API against hand-made observations, and idempotent upserts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from dothi.sensing import ingestion, services
from dothi.sensing.keys import ingest_key_issue, source_get_or_create
from dothi.sensing.models import Observation, RejectionCount, Sensor

pytestmark = pytest.mark.django_db

BASE = "/ngsi-ld/v1"
ETSI = "https://uri.etsi.org/ngsi-ld/errors/"
CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"
SDM = "https://smartdatamodels.org/context.jsonld"
LINK = f'<{SDM}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
NOW = timezone.now().replace(microsecond=0)
T1 = NOW - timedelta(hours=3)
T2 = NOW - timedelta(hours=2)
AQ = "urn:ngsi-ld:AirQualityObserved:danang:AQ-NEW"


def client() -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def air_entity(entity_id=AQ, pm25=42.0, at=T1, **extra):
    entity = {
        "id": entity_id,
        "type": "AirQualityObserved",
        "name": {"type": "Property", "value": "Hải Châu station"},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [108.22, 16.06]}},
        "dateObserved": {"type": "Property", "value": {"@type": "DateTime", "@value": utc(at)}},
        "pm25": {"type": "Property", "value": pm25, "unitCode": "GQ"},
        "relativeHumidity": {"type": "Property", "value": 0.65},
    }
    entity.update(extra)
    return entity


def post_json(path, data, headers=None, content_type="application/json", link=True):
    headers = dict(headers or {})
    if link and content_type == "application/json":
        headers.setdefault("Link", LINK)
    return client().post(BASE + path, json.dumps(data), content_type=content_type, headers=headers)


def get(path, headers=None, **params):
    return client().get(BASE + path, params, headers=headers or {})


def problem(response, kind: str | None, status: int):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["type"] == (ETSI + kind if kind else "about:blank")
    assert body["status"] == status and body["title"]
    return body


@pytest.fixture
def key(city, source, ingest_key, quantities):
    return ingest_key


# --- Creating and reading entities ---------------------------------------------------------------------


def test_create_registers_the_sensor_and_stores_its_values(city, key, source):
    response = post_json("/entities", air_entity(), key.headers)
    assert response.status_code == 201, response.content
    assert response["Location"].endswith(f"/ngsi-ld/v1/entities/{AQ}")
    sensor = Sensor.objects.get(city=city, code="AQ-NEW")
    assert (sensor.kind, sensor.name, sensor.source, sensor.lat, sensor.lon) == (
        "air", "Hải Châu station", source, 16.06, 108.22)
    stored = {(o.quantity.code, o.time, o.value) for o in Observation.objects.select_related("quantity")}
    # relativeHumidity is a fraction in the Smart Data Models, a percentage here.
    assert stored == {("pm25", T1, 42.0), ("humidity", T1, 65.0)}

    entity = get(f"/entities/{AQ}").json()
    assert entity["id"] == AQ and entity["type"] == "AirQualityObserved"
    assert entity["pm25"] == {"type": "Property", "value": 42.0, "observedAt": utc(T1), "unitCode": "GQ"}
    assert entity["relativeHumidity"]["value"] == 65.0 and entity["relativeHumidity"]["unitCode"] == "P1"
    point = {"type": "Point", "coordinates": [108.22, 16.06]}
    assert entity["location"] == {"type": "GeoProperty", "value": point}
    assert entity["dateObserved"]["value"] == {"@type": "DateTime", "@value": utc(T1)}


def test_create_in_json_ld_with_the_context_in_the_body(city, key):
    entity = {"@context": [SDM, CORE], **air_entity()}
    response = post_json("/entities", entity, key.headers, content_type="application/ld+json")
    assert response.status_code == 201, response.content
    assert Sensor.objects.filter(code="AQ-NEW").exists()


def test_context_in_the_wrong_place_is_bad_request_data(city, key):
    in_json = post_json("/entities", {"@context": CORE, **air_entity()}, key.headers)
    problem(in_json, "BadRequestData", 400)
    without = post_json("/entities", air_entity(), key.headers, content_type="application/ld+json")
    problem(without, "BadRequestData", 400)
    assert not Sensor.objects.exists()


def test_bad_bodies(city, key):
    broken = client().post(BASE + "/entities", "{not json", content_type="application/json",
                           headers=key.headers)
    problem(broken, "InvalidRequest", 400)
    form = client().post(BASE + "/entities", "a=b", content_type="text/plain", headers=key.headers)
    problem(form, None, 415)
    for bad in (
        [air_entity()],  # a list, not an entity
        {"type": "AirQualityObserved"},  # no id
        air_entity(entity_id="not a uri"),
        air_entity(entity_id="urn:ngsi-ld:AirQualityObserved:hcm:AQ-NEW"),  # another city's id
        air_entity(entity_id="urn:ngsi-ld:WeatherObserved:danang:AQ-NEW"),  # the id's type differs
        {**air_entity(), "type": "Vehicle"},
        air_entity(pm25="high"),
        air_entity(pm25=float("nan")) | {"pm25": {"type": "Property", "value": None}},
        {**air_entity(), "pm25": {"type": "Property", "value": 12, "unitCode": "XYZ"}},
        {**air_entity(), "pm25": {"type": "Relationship", "object": "urn:x"}},
        {**air_entity(), "location": {"type": "GeoProperty", "value": {"type": "Polygon",
                                                                       "coordinates": []}}},
        {**air_entity(), "location": {"type": "GeoProperty",
                                      "value": {"type": "Point", "coordinates": [200, 16]}}},
        {k: v for k, v in air_entity().items() if k != "dateObserved"},  # values without a time
        {k: v for k, v in air_entity().items() if k != "location"},  # a new sensor needs its place
    ):
        response = post_json("/entities", bad, key.headers)
        body = problem(response, "BadRequestData", 400)
        assert body["detail"]
    assert not Sensor.objects.exists() and not Observation.objects.exists()


def test_impossible_values_are_refused_counted_and_nothing_stored(city, key, source):
    future = NOW + timedelta(hours=1)
    for entity in (air_entity(pm25=-5.0), air_entity(at=future)):
        response = post_json("/entities", entity, key.headers)
        body = problem(response, "BadRequestData", 400)
        assert "pm25" in body["detail"]
    assert not Sensor.objects.exists() and not Observation.objects.exists()
    counted = dict(RejectionCount.objects.filter(source=source).values_list("code", "count"))
    assert counted == {"value_out_of_range": 1, "time_in_future": 2}


def test_writing_needs_a_valid_key(city, key, other_city):
    danang = {"NGSILD-Tenant": "danang"}
    anonymous = post_json("/entities", air_entity(), danang)
    problem(anonymous, None, 401)
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    problem(post_json("/entities", air_entity(), {"Authorization": "Bearer dsk_nope", **danang}), None, 401)
    _, other = ingest_key_issue(actor=None, city=other_city, name="hcm-gateway")
    wrong_city = post_json("/entities", air_entity(), {"Authorization": f"Bearer {other}", **danang})
    problem(wrong_city, None, 401)
    assert not Sensor.objects.exists()


def test_create_twice_is_already_exists(city, key):
    assert post_json("/entities", air_entity(), key.headers).status_code == 201
    problem(post_json("/entities", air_entity(), key.headers), "AlreadyExists", 409)


def test_units_are_converted(city, key):
    entity = {
        "id": "urn:ngsi-ld:WeatherObserved:danang:WX-1", "type": "WeatherObserved",
        "location": {"type": "Point", "coordinates": [108.2, 16.05]},  # concise GeoProperty
        "temperature": {"value": 300.15, "unitCode": "KEL", "observedAt": utc(T1)},
        "windSpeed": {"type": "Property", "value": 36, "unitCode": "KMH", "observedAt": utc(T1)},
        "relativeHumidity": {"type": "Property", "value": 80, "unitCode": "P1", "observedAt": utc(T1)},
        "atmosphericPressure": {"value": 101300, "unitCode": "PAL", "observedAt": utc(T1)},
        "precipitation": [  # several instances of one attribute: several observations
            {"type": "Property", "value": 1.5, "observedAt": utc(T1)},
            {"type": "Property", "value": 2.5, "observedAt": utc(T2)},
        ],
        "stationCode": {"type": "Property", "value": "VN-48-07"},  # kept and answered back
    }
    assert post_json("/entities", entity, key.headers).status_code == 201
    stored = {(o.quantity.code, o.time): o.value for o in Observation.objects.select_related("quantity")}
    assert stored[("temperature", T1)] == pytest.approx(27.0)
    assert stored[("wind_speed", T1)] == pytest.approx(10.0)
    assert stored[("humidity", T1)] == 80
    assert stored[("pressure", T1)] == pytest.approx(1013.0)
    assert (stored[("rainfall", T1)], stored[("rainfall", T2)]) == (1.5, 2.5)
    answer = get("/entities/urn:ngsi-ld:WeatherObserved:danang:WX-1").json()
    assert answer["stationCode"] == {"type": "Property", "value": "VN-48-07"}
    assert answer["precipitation"]["value"] == 2.5 and answer["precipitation"]["observedAt"] == utc(T2)


# --- Queries --------------------------------------------------------------------------------------------


@pytest.fixture
def stations(city, key, source):
    """Three air stations and a water gauge with hand-made latest values."""
    for code, pm25 in (("AQ-A", 20.0), ("AQ-B", 55.0), ("AQ-C", 80.0)):
        services.sensor_register(actor=None, city=city, code=code, name=code, kind="air", lat=16.0, lon=108.2,
                                 quantities=["pm25", "no2"])
        ingestion.ingest(city=city, source=source, items=[
            {"sensor": code, "quantity": "pm25", "time": T1, "value": pm25},
            {"sensor": code, "quantity": "no2", "time": T1, "value": pm25 / 2},
        ])
    services.sensor_register(actor=None, city=city, code="WL-A", name="Gauge", kind="water", lat=16.0,
                             lon=108.2, quantities=["water_level"])
    ingestion.ingest(city=city, source=source, items=[
        {"sensor": "WL-A", "quantity": "water_level", "time": T1, "value": 1.25}])


def ids(response):
    assert response.status_code == 200, response.content
    return [e["id"].rsplit(":", 1)[1] for e in response.json()]


def test_query_by_type_with_paging_and_count(stations):
    assert ids(get("/entities", type="AirQualityObserved")) == ["AQ-A", "AQ-B", "AQ-C"]
    assert ids(get("/entities", type="WaterObserved")) == ["WL-A"]
    assert ids(get("/entities", type="AirQualityObserved,WaterObserved")) == ["AQ-A", "AQ-B", "AQ-C", "WL-A"]
    page = get("/entities", type="AirQualityObserved", limit=1, offset=1, count="true")
    assert ids(page) == ["AQ-B"] and page["NGSILD-Results-Count"] == "3"
    assert "NGSILD-Results-Count" not in get("/entities", type="AirQualityObserved")
    only_count = get("/entities", type="AirQualityObserved", limit=0, count="true")
    assert only_count.json() == [] and only_count["NGSILD-Results-Count"] == "3"
    assert get("/entities", type="Vehicle").json() == []
    # The trailing slash is accepted on every path.
    assert ids(get("/entities/", type="WaterObserved")) == ["WL-A"]


def test_q_compares_latest_values(stations):
    assert ids(get("/entities", type="AirQualityObserved", q="pm25>50")) == ["AQ-B", "AQ-C"]
    assert ids(get("/entities", type="AirQualityObserved", q="pm25>50;no2<30")) == ["AQ-B"]
    assert ids(get("/entities", type="AirQualityObserved", q="pm25<30|pm25>=80")) == ["AQ-A", "AQ-C"]
    assert ids(get("/entities", type="AirQualityObserved", q="pm25==50..60")) == ["AQ-B"]
    assert ids(get("/entities", type="AirQualityObserved", q="pm25==20,80")) == ["AQ-A", "AQ-C"]
    assert ids(get("/entities", type="AirQualityObserved", q="(pm25>10;pm25<60);no2!=10")) == ["AQ-B"]
    assert ids(get("/entities", q="height")) == ["WL-A"]
    assert ids(get("/entities", q=f"pm25.observedAt>={utc(T1)};pm25<21")) == ["AQ-A"]
    counted = get("/entities", type="AirQualityObserved", q="pm25>50", count="true", limit=1)
    assert ids(counted) == ["AQ-B"] and counted["NGSILD-Results-Count"] == "2"
    for bad in ("pm25>", "pm25>>1", "(pm25>1", "pm25>abc", '"x"'):
        problem(get("/entities", type="AirQualityObserved", q=bad), "BadRequestData", 400)


def test_query_parameters_are_checked(stations):
    problem(get("/entities"), "BadRequestData", 400)  # too broad
    problem(get("/entities", type="AirQualityObserved", limit=0), "BadRequestData", 400)
    problem(get("/entities", type="AirQualityObserved", limit=5000), "BadRequestData", 400)
    problem(get("/entities", type="AirQualityObserved", offset=-1), "BadRequestData", 400)
    problem(get("/entities", type="AirQualityObserved", scopeQ="/Madrid"), "OperationNotSupported", 422)


def test_id_attrs_and_key_values(stations):
    wanted = "urn:ngsi-ld:AirQualityObserved:danang:AQ-C,urn:ngsi-ld:WaterObserved:danang:WL-A"
    assert ids(get("/entities", id=wanted)) == ["AQ-C", "WL-A"]
    assert ids(get("/entities", idPattern="AQ-[AB]$")) == ["AQ-A", "AQ-B"]
    only = get("/entities", type="AirQualityObserved", attrs="no2", limit=1).json()[0]
    assert set(only) == {"id", "type", "no2"}
    simple = get("/entities/urn:ngsi-ld:AirQualityObserved:danang:AQ-C", options="keyValues").json()
    assert simple["pm25"] == 80.0 and simple["location"] == {"type": "Point", "coordinates": [108.2, 16.0]}
    assert ids(get("/entities", attrs="height")) == ["WL-A"]


def test_answers_in_json_with_a_link_or_json_ld_with_the_context(stations):
    plain = get("/entities", type="WaterObserved")
    assert plain["Content-Type"] == "application/json"
    assert 'rel="http://www.w3.org/ns/json-ld#context"' in plain["Link"]
    assert "@context" not in plain.json()[0]
    ld = get("/entities", {"Accept": "application/ld+json"}, type="WaterObserved")
    assert ld["Content-Type"] == "application/ld+json" and "Link" not in ld
    assert ld.json()[0]["@context"] == [SDM, CORE]
    own = "https://example.org/my-context.jsonld"
    link = f'<{own}>; rel="http://www.w3.org/ns/json-ld#context"'
    echoed = get("/entities", {"Link": link}, type="WaterObserved")
    assert echoed["Link"].startswith(f"<{own}>")
    problem(get("/entities", {"Accept": "text/html"}, type="WaterObserved"), None, 406)


def test_get_one_entity_errors(stations):
    problem(get("/entities/urn:ngsi-ld:AirQualityObserved:danang:NOPE"), "ResourceNotFound", 404)
    problem(get("/entities/urn:ngsi-ld:WaterObserved:danang:AQ-A"), "ResourceNotFound", 404)  # wrong type
    problem(get("/entities/urn:x:y"), "ResourceNotFound", 404)
    problem(get("/entities/not-a-uri"), "BadRequestData", 400)
    assert get("/entities/urn:ngsi-ld:WaterObserved:danang:WL-A/").status_code == 200


def test_private_sensors_are_shown_only_with_their_sources_key(city, key, source, quantities):
    assert post_json("/entities", air_entity(), key.headers).status_code == 201
    Sensor.objects.filter(code="AQ-NEW").update(is_public=False)
    problem(get(f"/entities/{AQ}"), "ResourceNotFound", 404)
    assert get("/entities", type="AirQualityObserved").json() == []
    assert get(f"/entities/{AQ}", key.headers).status_code == 200
    _, other = ingest_key_issue(actor=None, city=city, name="another-vendor")
    problem(get(f"/entities/{AQ}", {"Authorization": f"Bearer {other}"}), "ResourceNotFound", 404)
    problem(get(f"/entities/{AQ}", {"Authorization": "Bearer dsk_nope"}), None, 401)


# --- Delete -----------------------------------------------------------------------------------------------


def test_delete_retires_the_sensor_and_keeps_its_data(city, key):
    post_json("/entities", air_entity(), key.headers)
    problem(client().delete(f"{BASE}/entities/{AQ}"), None, 401)
    response = client().delete(f"{BASE}/entities/{AQ}", headers=key.headers)
    assert response.status_code == 204
    assert Sensor.objects.get(code="AQ-NEW").status == Sensor.Status.RETIRED
    assert Observation.objects.count() == 2
    problem(get(f"/entities/{AQ}"), "ResourceNotFound", 404)
    problem(client().delete(f"{BASE}/entities/{AQ}", headers=key.headers), "ResourceNotFound", 404)
    # Its source may create it again.
    assert post_json("/entities", air_entity(at=T2), key.headers).status_code == 201
    assert Sensor.objects.get(code="AQ-NEW").status == Sensor.Status.ACTIVE


def test_only_the_registering_source_moves_or_deletes_a_sensor(city, key, air_sensor):
    entity_id = "urn:ngsi-ld:AirQualityObserved:danang:AQ-1"  # registered in the admin, not by this key
    problem(client().delete(f"{BASE}/entities/{entity_id}", headers=key.headers), None, 403)
    values = {"id": entity_id, "type": "AirQualityObserved",
              "pm25": {"type": "Property", "value": 12.0, "observedAt": utc(T1)}}
    assert post_json("/entityOperations/update", [values], key.headers).status_code == 204
    assert Observation.objects.count() == 1
    moved = {**values, "location": {"type": "Point", "coordinates": [108.3, 16.1]}}
    response = post_json("/entityOperations/update", [moved], key.headers)
    assert response.status_code == 207
    assert response.json()["errors"][0]["error"]["status"] == 403
    air_sensor.refresh_from_db()
    assert (air_sensor.lat, air_sensor.lon) == (16.06, 108.22)


# --- Batch operations -------------------------------------------------------------------------------------


def test_batch_create_all_good_is_201_with_the_ids(city, key):
    batch = [air_entity(f"urn:ngsi-ld:AirQualityObserved:danang:AQ-{i}") for i in range(3)]
    response = post_json("/entityOperations/create", batch, key.headers)
    assert response.status_code == 201
    assert response.json() == [e["id"] for e in batch]
    assert Sensor.objects.count() == 3


def test_batch_with_bad_entities_is_207_and_stores_the_good_ones(city, key):
    good = air_entity("urn:ngsi-ld:AirQualityObserved:danang:AQ-GOOD")
    out_of_range = air_entity("urn:ngsi-ld:AirQualityObserved:danang:AQ-BAD", pm25=5000.0)
    no_place = {k: v for k, v in air_entity("urn:ngsi-ld:AirQualityObserved:danang:AQ-NOWHERE").items()
                if k != "location"}
    response = post_json("/entityOperations/create", [good, out_of_range, no_place, "junk"], key.headers)
    assert response.status_code == 207
    body = response.json()
    assert body["success"] == [good["id"]]
    assert [e["entityId"] for e in body["errors"]] == [out_of_range["id"], no_place["id"], ""]
    for error in body["errors"]:
        assert error["error"]["type"] == ETSI + "BadRequestData" and error["error"]["detail"]
    assert list(Sensor.objects.values_list("code", flat=True)) == ["AQ-GOOD"]
    again = post_json("/entityOperations/create", [good], key.headers)
    assert again.status_code == 207
    assert again.json()["errors"][0]["error"]["type"] == ETSI + "AlreadyExists"


def test_upsert_creates_then_updates_and_resending_stores_nothing_new(city, key):
    first = post_json("/entityOperations/upsert", [air_entity()], key.headers)
    assert first.status_code == 201 and first.json() == [AQ]
    assert Observation.objects.count() == 2
    same = post_json("/entityOperations/upsert", [air_entity()], key.headers)
    assert same.status_code == 204
    assert Observation.objects.count() == 2  # the same observedAt: nothing new
    later = post_json("/entityOperations/upsert", [air_entity(pm25=50.0, at=T2)], key.headers)
    assert later.status_code == 204
    assert Observation.objects.count() == 4
    assert get(f"/entities/{AQ}").json()["pm25"]["value"] == 50.0
    # Late data is accepted and does not replace the latest value.
    post_json("/entityOperations/upsert", [air_entity(pm25=30.0, at=T1 - timedelta(hours=1))], key.headers)
    assert get(f"/entities/{AQ}").json()["pm25"]["value"] == 50.0
    merge = post_json("/entityOperations/upsert?options=merge", [air_entity()], key.headers)
    problem(merge, "BadRequestData", 400)


def test_upsert_replace_and_update_options_for_other_attributes(city, key):
    upsert = "/entityOperations/upsert"
    post_json(upsert, [air_entity(owner={"type": "Property", "value": "DONRE"})], key.headers)
    post_json(upsert + "?options=update", [air_entity(reliability={"value": 0.9})], key.headers)
    answer = get(f"/entities/{AQ}").json()
    assert answer["owner"]["value"] == "DONRE" and answer["reliability"] == {"value": 0.9}
    post_json("/entityOperations/upsert", [air_entity()], key.headers)  # replace (the default)
    answer = get(f"/entities/{AQ}").json()
    assert "owner" not in answer and "reliability" not in answer


def test_batch_update_needs_existing_entities(city, key):
    response = post_json("/entityOperations/update", [air_entity()], key.headers)
    assert response.status_code == 207
    assert response.json() == {"success": [], "errors": [
        {"entityId": AQ, "error": response.json()["errors"][0]["error"]}]}
    assert response.json()["errors"][0]["error"]["type"] == ETSI + "ResourceNotFound"
    post_json("/entities", air_entity(), key.headers)
    updated = post_json("/entityOperations/update", [air_entity(pm25=12.0, at=T2)], key.headers)
    assert updated.status_code == 204
    assert Observation.objects.filter(time=T2).count() == 2


def test_batch_delete(city, key):
    post_json("/entities", air_entity(), key.headers)
    response = post_json("/entityOperations/delete", [AQ, "urn:ngsi-ld:AirQualityObserved:danang:NOPE"],
                         key.headers)
    assert response.status_code == 207
    assert response.json()["success"] == [AQ]
    assert response.json()["errors"][0]["error"]["type"] == ETSI + "ResourceNotFound"
    assert post_json("/entityOperations/delete/", [], key.headers).status_code == 400


def test_batch_errors(city, key):
    problem(post_json("/entityOperations/create", air_entity(), key.headers), "BadRequestData", 400)
    problem(post_json("/entityOperations/merge", [air_entity()], key.headers), "ResourceNotFound", 404)
    problem(post_json("/entityOperations/create", [air_entity()]), None, 401)
    problem(client().get(BASE + "/entityOperations/create"), None, 405)
    assert not Sensor.objects.exists()


# --- Types ------------------------------------------------------------------------------------------------


def test_types(stations):
    listing = get("/types").json()
    assert listing["type"] == "EntityTypeList"
    assert listing["typeList"] == ["AirQualityObserved", "WaterObserved"]
    details = get("/types/", details="true").json()
    assert [d["typeName"] for d in details] == ["AirQualityObserved", "WaterObserved"]
    assert "pm25" in details[0]["attributeNames"]
    info = get("/types/AirQualityObserved").json()
    assert info["type"] == "EntityTypeInformation" and info["entityCount"] == 3
    assert {"id": "pm25", "type": "Attribute", "attributeName": "pm25", "attributeTypes": ["Property"]} in \
        info["attributeDetails"]
    problem(get("/types/NoiseLevelObserved"), "ResourceNotFound", 404)
    problem(get("/types/Vehicle"), "ResourceNotFound", 404)


# --- Temporal ---------------------------------------------------------------------------------------------


@pytest.fixture
def history(city, source, air_sensor):
    """Hand-made hourly pm25 at AQ-1: 10, 11, … 15 from T0."""
    t0 = NOW - timedelta(hours=10)
    ingestion.ingest(city=city, source=source, items=[
        {"sensor": "AQ-1", "quantity": "pm25", "time": t0 + timedelta(hours=i), "value": 10.0 + i}
        for i in range(6)
    ] + [{"sensor": "AQ-1", "quantity": "temperature", "time": t0, "value": 28.0}])
    return t0


def test_temporal_between_after_before_and_last_n(history):
    t0 = history
    entity_id = "urn:ngsi-ld:AirQualityObserved:danang:AQ-1"

    def pm25(**params):
        response = get(f"/temporal/entities/{entity_id}", **params)
        assert response.status_code == 200, response.content
        return [(i["value"], i["observedAt"]) for i in response.json().get("pm25", [])]

    def at(hours):
        return utc(t0 + timedelta(hours=hours))

    assert pm25(timerel="between", timeAt=at(1), endTimeAt=at(3)) == [(11.0, at(1)), (12.0, at(2))]
    assert [v for v, _t in pm25(timerel="after", timeAt=utc(t0 + timedelta(hours=4)))] == [14.0, 15.0]
    assert [v for v, _t in pm25(timerel="before", timeAt=utc(t0 + timedelta(hours=2)))] == [10.0, 11.0]
    assert [v for v, _t in pm25(lastN=2)] == [14.0, 15.0]
    assert [v for v, _t in pm25(timerel="before", timeAt=utc(t0 + timedelta(hours=4)), lastN=1)] == [13.0]
    whole = get(f"/temporal/entities/{entity_id}").json()
    assert whole["id"] == entity_id and len(whole["pm25"]) == 6
    assert whole["pm25"][0] == {"type": "Property", "value": 10.0, "observedAt": utc(t0), "unitCode": "GQ"}
    assert whole["temperature"] == [
        {"type": "Property", "value": 28.0, "observedAt": utc(t0), "unitCode": "CEL"}]
    simplified = get(f"/temporal/entities/{entity_id}", options="temporalValues", attrs="pm25",
                     lastN=2).json()
    assert simplified == {"id": entity_id, "type": "AirQualityObserved",
                          "pm25": {"type": "Property", "values": [[14.0, at(4)], [15.0, at(5)]]}}


def test_temporal_query_of_many_entities(history, key, water_sensor, source, city):
    ingestion.ingest(city=city, source=source, items=[
        {"sensor": "WL-1", "quantity": "water_level", "time": history, "value": 1.5}])
    response = get("/temporal/entities", type="AirQualityObserved,WaterObserved", timerel="after",
                   timeAt=utc(history), count="true")
    assert response.status_code == 200 and response["NGSILD-Results-Count"] == "2"
    body = {e["id"].rsplit(":", 1)[1]: e for e in response.json()}
    assert len(body["AQ-1"]["pm25"]) == 6 and body["WL-1"]["height"][0]["value"] == 1.5
    ld = get("/temporal/entities/", {"Accept": "application/ld+json"}, type="WaterObserved")
    assert ld.json()[0]["@context"] and ld["Content-Type"] == "application/ld+json"


def test_temporal_parameters_are_checked(history):
    url = "/temporal/entities/urn:ngsi-ld:AirQualityObserved:danang:AQ-1"
    problem(get(url, timerel="between", timeAt=utc(history)), "BadRequestData", 400)
    problem(get(url, timerel="during", timeAt=utc(history)), "BadRequestData", 400)
    problem(get(url, timerel="after"), "BadRequestData", 400)
    problem(get(url, timerel="after", timeAt="yesterday"), "BadRequestData", 400)
    problem(get(url, timeAt=utc(history)), "BadRequestData", 400)
    problem(get(url, lastN=0), "BadRequestData", 400)
    problem(get(url, timerel="between", timeAt=utc(history), endTimeAt=utc(history - timedelta(hours=1))),
            "BadRequestData", 400)
    problem(get("/temporal/entities"), "BadRequestData", 400)
    problem(get("/temporal/entities/urn:ngsi-ld:AirQualityObserved:danang:NOPE"), "ResourceNotFound", 404)


# --- Tenancy ----------------------------------------------------------------------------------------------


def test_the_tenant_is_the_city(city, other_city, key, source, quantities):
    hcm_source = source_get_or_create(city=other_city, name="hcm-gateway")
    services.sensor_register(actor=None, city=other_city, code="HCM-AQ", name="HCM", kind="air", lat=10.78,
                             lon=106.7, quantities=["pm25"], source=hcm_source)
    services.sensor_register(actor=None, city=city, code="DN-AQ", name="DN", kind="air", lat=16.0, lon=108.2,
                             quantities=["pm25"])
    danang = {"NGSILD-Tenant": "danang"}
    hcm = {"NGSILD-Tenant": "hcm"}
    assert ids(get("/entities", danang, type="AirQualityObserved")) == ["DN-AQ"]
    answer = get("/entities", hcm, type="AirQualityObserved")
    assert ids(answer) == ["HCM-AQ"] and answer["NGSILD-Tenant"] == "hcm"
    assert answer.json()[0]["id"] == "urn:ngsi-ld:AirQualityObserved:hcm:HCM-AQ"
    # Another city's entity is invisible, by id too.
    problem(get("/entities/urn:ngsi-ld:AirQualityObserved:hcm:HCM-AQ", danang), "ResourceNotFound", 404)
    temporal = get("/temporal/entities/urn:ngsi-ld:AirQualityObserved:hcm:HCM-AQ", danang)
    problem(temporal, "ResourceNotFound", 404)
    assert get("/types", hcm).json()["typeList"] == ["AirQualityObserved"]
    # Unknown tenant; two cities served and none named.
    unknown = get("/entities", {"NGSILD-Tenant": "atlantis"}, type="AirQualityObserved")
    problem(unknown, "NonexistentTenant", 404)
    problem(get("/entities", type="AirQualityObserved"), "BadRequestData", 400)
    # A Đà Nẵng key writes Đà Nẵng only.
    problem(post_json("/entities", air_entity(), {**key.headers, **hcm}), None, 401)
    hcm_id = "urn:ngsi-ld:AirQualityObserved:hcm:AQ-NEW"
    problem(post_json("/entities", air_entity(hcm_id), {**key.headers, **danang}), "BadRequestData", 400)
    assert post_json("/entities", air_entity(), {**key.headers, **danang}).status_code == 201
    assert Sensor.objects.get(code="AQ-NEW").city == city


# --- The q language ---------------------------------------------------------------------------------------


def test_q_parser_units():
    from dothi.sensing.ngsild import query

    values = {"pm25": 60.0, "name": "Hải Châu", "flag": True}

    def ok(q):
        return query.matches(query.parse_q(q), values.get)

    assert ok("pm25>50") and not ok("pm25<50") and ok("pm25>=60") and ok("pm25<=60") and ok("pm25!=1")
    assert ok('name=="Hải Châu"') and ok('name~="^Hải"') and not ok('name!~="Châu"')
    assert ok("flag==true") and not ok("flag==false") and not ok("missing>1") and ok("pm25")
    assert ok("missing>1|pm25==60") and not ok("missing>1;pm25==60")
    assert query.attributes_of(query.parse_q("a>1;(b<2|c)")) == {"a", "b", "c"}
    assert query.parse_q("") is None


def test_humidity_as_a_percentage_without_its_unit_is_explained(city, key):
    entity = air_entity(relativeHumidity={"type": "Property", "value": 65})
    body = problem(post_json("/entities", entity, key.headers), "BadRequestData", 400)
    assert "P1" in body["detail"]
    assert not Sensor.objects.exists()


def test_a_citys_own_quantity_is_an_attribute_by_its_code(city, key):
    from dothi.sensing.models import Quantity

    Quantity.objects.create(city=city, code="flow", name_vi="Lưu lượng nước", name_en="Water flow",
                            unit="m³/s", min_value=0, max_value=100_000)
    gauge = {"id": "urn:ngsi-ld:WaterObserved:danang:RIVER-1", "type": "WaterObserved",
             "location": {"type": "Point", "coordinates": [108.2, 16.05]},
             "height": {"value": 2.4, "observedAt": utc(T1)}, "flow": {"value": 310.0, "observedAt": utc(T1)}}
    assert post_json("/entities", gauge, key.headers).status_code == 201
    assert set(Sensor.objects.get(code="RIVER-1").quantities.values_list("code", flat=True)) == {
        "water_level", "flow"}
    answer = get("/entities/urn:ngsi-ld:WaterObserved:danang:RIVER-1").json()
    assert answer["flow"] == {"type": "Property", "value": 310.0, "observedAt": utc(T1)}
    assert answer["height"]["unitCode"] == "MTR"
    with_unit = {**gauge, "flow": {"value": 1.0, "unitCode": "MQS", "observedAt": utc(T2)}}
    response = post_json("/entityOperations/upsert", [with_unit], key.headers)
    assert response.status_code == 207
    assert "without a unitCode" in response.json()["errors"][0]["error"]["detail"]


def test_limits_and_methods(city, key, monkeypatch):
    from dothi.sensing.ngsild import ld

    monkeypatch.setattr(ld, "BODY_MAX", 100)
    problem(post_json("/entities", air_entity(), key.headers), None, 413)
    monkeypatch.undo()
    problem(client().post(BASE + "/types", "{}", content_type="application/json"), None, 405)
    problem(client().put(BASE + f"/entities/{AQ}", "{}", content_type="application/json"), None, 405)
    assert client().post(BASE + "/types").get("Allow") == "GET, HEAD"
    assert not Sensor.objects.exists()


def test_a_batch_of_many_values_in_one_entity(city, key):
    start = NOW - timedelta(days=2)
    instances = [{"type": "Property", "value": float(i % 90), "observedAt": utc(start + timedelta(minutes=i))}
                 for i in range(2000)]
    entity = {**air_entity(), "pm25": instances}
    response = post_json("/entityOperations/upsert", [entity], key.headers)
    assert response.status_code == 201, response.content
    assert Observation.objects.filter(quantity__code="pm25").count() == 2000
    last = get(f"/temporal/entities/{AQ}", lastN=3, attrs="pm25").json()["pm25"]
    assert [i["value"] for i in last] == [float(i % 90) for i in range(1997, 2000)]


def test_a_steady_upsert_batch_is_answered_per_entity(city, key, source):
    """Known sensors bringing only new values (the fast way), a bad one among them, a new one and an id
    twice: each entity all or nothing, in the batch's order."""
    ids_ = [f"urn:ngsi-ld:AirQualityObserved:danang:S{i}" for i in range(4)]
    first = post_json("/entityOperations/upsert", [air_entity(i) for i in ids_], key.headers)
    assert first.status_code == 201
    before = Observation.objects.count()
    half_bad = air_entity(ids_[1], at=T2) | {"pm10": {"type": "Property", "value": 99999.0}}
    batch = [
        air_entity(ids_[0], pm25=1.0, at=T2),
        half_bad,  # pm25 fine, pm10 impossible: nothing of it stored
        air_entity(ids_[2], pm25=2.0, at=T2),
        air_entity("urn:ngsi-ld:AirQualityObserved:danang:S-NEW", at=T2),
        air_entity(ids_[3], pm25=3.0, at=T2),
        air_entity(ids_[3], pm25=4.0, at=NOW - timedelta(hours=1)),
    ]
    response = post_json("/entityOperations/upsert", batch, key.headers)
    assert response.status_code == 207
    body = response.json()
    new = "urn:ngsi-ld:AirQualityObserved:danang:S-NEW"
    assert body["success"] == [ids_[0], ids_[2], new, ids_[3], ids_[3]]
    assert [e["entityId"] for e in body["errors"]] == [ids_[1]]
    assert "pm10" in body["errors"][0]["error"]["detail"]
    assert not Observation.objects.filter(sensor__code="S1", time=T2).exists()
    # pm25 and humidity of S0, S2, S-NEW and S3 twice.
    assert Observation.objects.count() == before + 2 * 5
    assert get(f"/entities/{ids_[3]}").json()["pm25"]["value"] == 4.0
    assert RejectionCount.objects.get(source=source, code="value_out_of_range").count == 1


def test_local_pick_and_omit(stations):
    assert ids(get("/entities", local="true")) == ["AQ-A", "AQ-B", "AQ-C", "WL-A"]
    picked = get("/entities/urn:ngsi-ld:AirQualityObserved:danang:AQ-A", pick="id,pm25").json()
    assert set(picked) == {"id", "pm25"}
    omitted = get("/entities", type="WaterObserved", omit="location,name,dateObserved").json()[0]
    assert set(omitted) == {"id", "type", "height"}
    temporal = get("/temporal/entities/urn:ngsi-ld:AirQualityObserved:danang:AQ-A", omit="no2").json()
    assert set(temporal) == {"id", "type", "pm25"}
    problem(get("/entities", type="WaterObserved", pick="id", omit="name"), "BadRequestData", 400)


def test_another_sources_attributes_are_merged_on_a_city_sensor(city, key, air_sensor):
    entity = {"id": "urn:ngsi-ld:AirQualityObserved:danang:AQ-1", "type": "AirQualityObserved",
              "location": {"type": "Point", "coordinates": [108.22, 16.06]}, "name": "Air 1",
              "address": {"type": "Property", "value": {"streetAddress": "Bạch Đằng"}},
              "pm25": {"value": 9.0, "observedAt": utc(T1)}}
    assert post_json("/entityOperations/upsert", [entity], key.headers).status_code == 204
    answer = get("/entities/urn:ngsi-ld:AirQualityObserved:danang:AQ-1").json()
    assert answer["address"]["value"] == {"streetAddress": "Bạch Đằng"} and answer["pm25"]["value"] == 9.0
    renamed = post_json("/entityOperations/upsert", [{**entity, "name": "Mine now"}], key.headers)
    assert renamed.status_code == 207 and renamed.json()["errors"][0]["error"]["status"] == 403
    new_quantity = {**entity, "no2": {"value": 5.0, "observedAt": utc(T1)}}
    refused = post_json("/entityOperations/upsert", [new_quantity], key.headers).json()["errors"][0]["error"]
    assert refused["type"] == ETSI + "BadRequestData" and "no2" in refused["detail"]
    air_sensor.refresh_from_db()
    assert air_sensor.name == "Air 1" and set(air_sensor.quantities.values_list("code", flat=True)) == {
        "pm25", "pm10", "temperature"}


def test_geojson_answers_for_maps(stations):
    collection = get("/entities", {"Accept": "application/geo+json"}, type="WaterObserved")
    assert collection["Content-Type"] == "application/geo+json" and "Link" in collection
    body = collection.json()
    assert body["type"] == "FeatureCollection"
    feature = body["features"][0]
    assert feature["id"] == "urn:ngsi-ld:WaterObserved:danang:WL-A" and feature["type"] == "Feature"
    assert feature["geometry"] == {"type": "Point", "coordinates": [108.2, 16.0]}
    assert feature["properties"]["type"] == "WaterObserved"
    assert feature["properties"]["height"]["value"] == 1.25
    one = get("/entities/urn:ngsi-ld:WaterObserved:danang:WL-A", {"Accept": "application/geo+json"}).json()
    assert one["type"] == "Feature"
    problem(get("/temporal/entities", {"Accept": "application/geo+json"}, type="WaterObserved"), None, 406)


def test_geo_queries(city, key, quantities, source):
    for code, lon, lat in (("HC", 108.2220, 16.0680), ("SON-TRA", 108.2470, 16.0860), ("FAR", 108.0, 15.5)):
        services.sensor_register(actor=None, city=city, code=code, name=code, kind="noise", lat=lat, lon=lon,
                                 quantities=["noise"])
    near = get("/entities", type="NoiseLevelObserved", georel="near;maxDistance==3500", geometry="Point",
               coordinates="[108.2220,16.0680]")
    assert ids(near) == ["HC", "SON-TRA"]  # about 3.3 km apart
    assert ids(get("/entities", georel="near;maxDistance==1000", geometry="Point",
                   coordinates="[108.2220,16.0680]")) == ["HC"]
    assert ids(get("/entities", type="NoiseLevelObserved", georel="near;minDistance==10000", geometry="Point",
                   coordinates="[108.2220,16.0680]")) == ["FAR"]
    box = "[[[108.1,16.0],[108.3,16.0],[108.3,16.1],[108.1,16.1],[108.1,16.0]]]"
    assert ids(get("/entities", georel="within", geometry="Polygon", coordinates=box)) == ["HC", "SON-TRA"]
    assert ids(get("/entities", georel="disjoint", geometry="Polygon", coordinates=box)) == ["FAR"]
    for bad in (
        {"georel": "near;maxDistance==100", "geometry": "Point"},  # no coordinates
        {"georel": "near;maxDistance==100", "geometry": "Polygon", "coordinates": box},
        {"georel": "near;radius==100", "geometry": "Point", "coordinates": "[108.2,16.0]"},
        {"georel": "touches", "geometry": "Polygon", "coordinates": box},
        {"georel": "within", "geometry": "Polygon", "coordinates": "[[1,2]"},
        {"georel": "within", "geometry": "Circle", "coordinates": box},
        {"georel": "within", "geometry": "Polygon", "coordinates": box, "geoproperty": "observationSpace"},
    ):
        problem(get("/entities", type="NoiseLevelObserved", **bad), "BadRequestData", 400)


def test_append_and_merge_attributes(city, key):
    post_json("/entities", air_entity(), key.headers)
    more = {"pm10": {"type": "Property", "value": 30.0, "observedAt": utc(T2)}}
    appended = client().post(f"{BASE}/entities/{AQ}/attrs", json.dumps(more), content_type="application/json",
                             headers=key.headers)
    assert appended.status_code == 204
    change = {"pm25": {"value": 7.0, "observedAt": utc(T2)}}
    merged = client().patch(f"{BASE}/entities/{AQ}", json.dumps(change), content_type="application/json",
                            headers=key.headers)
    assert merged.status_code == 204
    answer = get(f"/entities/{AQ}").json()
    assert answer["pm10"]["value"] == 30.0 and answer["pm25"]["value"] == 7.0
    impossible = {"pm25": {"value": -1, "observedAt": utc(NOW)}}
    patched = client().patch(f"{BASE}/entities/{AQ}/attrs/", json.dumps(impossible),
                             content_type="application/json", headers=key.headers)
    problem(patched, "BadRequestData", 400)
    wrong = client().patch(f"{BASE}/entities/{AQ}/attrs", json.dumps({"id": "urn:x:y", "pm25": 1}),
                           content_type="application/json", headers=key.headers)
    problem(wrong, "BadRequestData", 400)
    missing = client().post(f"{BASE}/entities/urn:ngsi-ld:AirQualityObserved:danang:NOPE/attrs",
                            json.dumps(more), content_type="application/json", headers=key.headers)
    problem(missing, "ResourceNotFound", 404)
    problem(client().post(f"{BASE}/entities/{AQ}/attrs", json.dumps(more), content_type="application/json"),
            None, 401)
