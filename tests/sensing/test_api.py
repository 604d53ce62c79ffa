"""The sensing API over HTTP: the bulk endpoint (keys, 200/207 per item, 400/401/413, gzip) and the
public reads (quantities, sensors with latest values, series, aggregates, private sensors)."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext

from dothi.sensing import api as sensing_api
from dothi.sensing.models import HourlyRollup, IngestKey, Observation, RejectionCount
from tests import factories

pytestmark = pytest.mark.django_db
URL = "/api/v1/sensing/observations"
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def client() -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def post(data, headers=None, url=URL, raw=None, **extra):
    body = raw if raw is not None else orjson.dumps(data)
    return client().post(url, body, content_type="application/json", headers=headers or {}, **extra)


def items(n=3, sensor="AQ-1", quantity="pm25"):
    return [
        {
            "sensor": sensor,
            "quantity": quantity,
            "time": (T0 + timedelta(minutes=i)).isoformat(),
            "value": 10.0 + i,
        }
        for i in range(n)
    ]


def test_all_accepted_is_200(city, air_sensor, ingest_key):
    response = post({"observations": items()}, ingest_key.headers)
    assert response.status_code == 200
    assert response.json() == {"accepted": 3, "duplicates": 0, "rejected": 0, "errors": []}
    assert Observation.objects.count() == 3
    again = post({"observations": items()}, ingest_key.headers)
    assert again.status_code == 200
    assert again.json() == {"accepted": 0, "duplicates": 3, "rejected": 0, "errors": []}
    assert HourlyRollup.objects.get().count == 3


def test_bad_items_are_207_per_item_and_the_good_ones_stored(city, air_sensor, ingest_key):
    batch = items(2) + [
        {"sensor": "AQ-1", "quantity": "pm25", "time": "2026-11-20T10:00:00Z", "value": -1},
        {"sensor": "NOPE", "quantity": "pm25", "time": "2026-11-20T10:00:00Z", "value": 1},
        {"sensor": "AQ-1", "quantity": "pm25", "time": "soon", "value": 1},
        "junk",
    ]
    response = post({"observations": batch}, ingest_key.headers)
    assert response.status_code == 207
    data = response.json()
    assert (data["accepted"], data["duplicates"], data["rejected"]) == (2, 0, 4)
    assert [(e["index"], e["code"]) for e in data["errors"]] == [
        (2, "value_out_of_range"),
        (3, "sensor_unknown"),
        (4, "time_invalid"),
        (5, "item_invalid"),
    ]
    assert data["errors"][1]["message"] == "There is no sensor NOPE in this city."
    assert Observation.objects.count() == 2
    assert RejectionCount.objects.filter(source=ingest_key.key.source).count() == 4


def test_messages_follow_accept_language(city, air_sensor, ingest_key):
    response = Client(HTTP_ACCEPT_LANGUAGE="vi").post(
        URL,
        orjson.dumps({"observations": items(1, sensor="NOPE")}),
        content_type="application/json",
        headers=ingest_key.headers,
    )
    assert response.status_code == 207
    with translation.override("vi"):
        expected = gettext("There is no sensor %(sensor)s in this city.") % {"sensor": "NOPE"}
    assert response.json()["errors"][0]["message"] == expected


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer dsk_not-a-key"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "bearer " + "x" * 500},
    ],
)
def test_missing_or_invalid_key_is_401_and_stores_nothing(city, air_sensor, headers):
    response = post({"observations": items()}, headers)
    assert response.status_code == 401
    assert response.json()["code"] in {"key_required", "key_invalid"}
    assert not Observation.objects.exists() and not RejectionCount.objects.exists()


def test_revoked_key_is_401(city, air_sensor, ingest_key):
    from dothi.sensing import keys

    keys.ingest_key_revoke(actor=None, key=ingest_key.key)
    response = post({"observations": items()}, ingest_key.headers)
    assert response.status_code == 401
    assert not Observation.objects.exists()


def test_inactive_source_is_401(city, air_sensor, ingest_key):
    source = ingest_key.key.source
    source.is_active = False
    source.save()
    assert post({"observations": items()}, ingest_key.headers).status_code == 401


def test_another_citys_key_is_401(city, other_city, air_sensor, ingest_key):
    from dothi.sensing.keys import ingest_key_issue

    _, other_key = ingest_key_issue(actor=None, city=other_city, name="hcm-gateway")
    response = post(
        {"observations": items()}, {"Authorization": f"Bearer {other_key}"}, url="/c/danang" + URL
    )
    assert response.status_code == 401
    assert not Observation.objects.exists() and not RejectionCount.objects.exists()
    # The city's own key on the same address works.
    assert post({"observations": items()}, ingest_key.headers, url="/c/danang" + URL).status_code == 200


def test_a_key_decides_the_city_when_the_address_does_not(city, other_city, air_sensor, ingest_key):
    # Two cities and no prefix or host: the request has no city; the key's is used.
    assert post({"observations": items()}, ingest_key.headers).status_code == 200
    assert Observation.objects.count() == 3


def test_the_key_records_its_last_use(city, air_sensor, ingest_key):
    post({"observations": items()}, ingest_key.headers)
    assert IngestKey.objects.get().last_used_at is not None


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"{not json", "invalid_body"),
        (b"[]", "invalid_body"),
        (b'{"observations": {}}', "invalid_body"),
        (b'{"items": []}', "invalid_body"),
    ],
)
def test_bad_body_is_400(city, air_sensor, ingest_key, raw, code):
    response = post(None, ingest_key.headers, raw=raw)
    assert response.status_code == 400
    assert response.json()["code"] == code


def test_too_many_items_is_413(city, air_sensor, ingest_key, monkeypatch):
    monkeypatch.setattr(sensing_api, "MAX_ITEMS", 5)
    response = post({"observations": items(6)}, ingest_key.headers)
    assert response.status_code == 413
    assert response.json()["code"] == "too_many"
    assert not Observation.objects.exists()


def test_too_large_body_is_413(city, air_sensor, ingest_key, monkeypatch):
    monkeypatch.setattr(sensing_api, "MAX_BODY_BYTES", 100)
    response = post({"observations": items(5)}, ingest_key.headers)
    assert response.status_code == 413
    assert not Observation.objects.exists()


def test_gzip_body(city, air_sensor, ingest_key):
    body = gzip.compress(orjson.dumps({"observations": items(4)}))
    response = post(None, {**ingest_key.headers, "Content-Encoding": "gzip"}, raw=body)
    assert response.status_code == 200
    assert response.json()["accepted"] == 4
    broken = post(None, {**ingest_key.headers, "Content-Encoding": "gzip"}, raw=b"not gzip")
    assert broken.status_code == 400


def test_empty_batch_is_200(city, ingest_key):
    assert post({"observations": []}, ingest_key.headers).json()["accepted"] == 0


def test_a_large_batch(city, air_sensor, ingest_key):
    batch = [
        {
            "sensor": "AQ-1",
            "quantity": "pm25",
            "time": (T0 + timedelta(seconds=i)).isoformat(),
            "value": float(i % 500),
        }
        for i in range(20_000)
    ]
    response = post({"observations": batch}, ingest_key.headers)
    assert response.status_code == 200
    assert response.json()["accepted"] == 20_000


# --- Public reads -----------------------------------------------------------------------------------------


@pytest.fixture
def data(city, source, air_sensor, water_sensor):
    from dothi.sensing.ingestion import ingest

    ingest(city=city, source=source, items=items(3) + items(2, sensor="WL-1", quantity="water_level"))
    return air_sensor


def test_quantities(city, quantities):
    data = client().get("/api/v1/sensing/quantities").json()
    pm25 = next(q for q in data if q["code"] == "pm25")
    assert pm25 == {
        "code": "pm25",
        "name": "PM2.5",
        "unit": "µg/m³",
        "min_value": 0.0,
        "max_value": 1000.0,
        "summed": False,
        "decimals": 1,
    }


def test_sensors_with_latest_values(data):
    listed = client().get("/api/v1/sensing/sensors").json()
    assert [s["code"] for s in listed] == ["AQ-1", "WL-1"]
    aq = listed[0]
    assert aq["latest"] == [
        {"quantity": "pm25", "unit": "µg/m³", "time": "2026-11-20T10:02:00Z", "value": 12.0}
    ]
    assert [s["code"] for s in client().get("/api/v1/sensing/sensors?kind=water").json()] == ["WL-1"]
    one = client().get("/api/v1/sensing/sensors/WL-1").json()
    assert one["latest"][0]["value"] == 11.0
    assert client().get("/api/v1/sensing/sensors/NOPE").status_code == 404


def test_private_sensors_are_for_staff(data, cast):
    data.is_public = False
    data.save()
    assert [s["code"] for s in client().get("/api/v1/sensing/sensors").json()] == ["WL-1"]
    assert client().get("/api/v1/sensing/sensors/AQ-1").status_code == 404
    citizen = client()
    citizen.force_login(cast["citizen"])
    assert citizen.get("/api/v1/sensing/sensors/AQ-1").status_code == 404
    staff = client()
    staff.force_login(cast["operator"])
    assert [s["code"] for s in staff.get("/api/v1/sensing/sensors").json()] == ["AQ-1", "WL-1"]
    assert (
        staff.get(
            "/api/v1/sensing/sensors/AQ-1/series",
            {"quantity": "pm25", "start": "2026-11-20T09:00:00Z", "end": "2026-11-20T11:00:00Z"},
        ).status_code
        == 200
    )


def test_series(data):
    raw = (
        client()
        .get(
            "/api/v1/sensing/sensors/AQ-1/series",
            {"quantity": "pm25", "start": "2026-11-20T09:00:00Z", "end": "2026-11-20T11:00:00Z"},
        )
        .json()
    )
    assert raw["resolution"] == "raw"
    assert [p["value"] for p in raw["points"]] == [10.0, 11.0, 12.0]
    hourly = (
        client()
        .get(
            "/api/v1/sensing/sensors/AQ-1/series",
            {"quantity": "pm25", "start": "2026-11-01T00:00:00Z", "end": "2026-11-30T00:00:00Z"},
        )
        .json()
    )
    assert hourly["resolution"] == "hour"
    assert hourly["points"] == [
        {"time": "2026-11-20T10:00:00Z", "value": 11.0, "min": 10.0, "max": 12.0, "count": 3}
    ]
    bad = client().get(
        "/api/v1/sensing/sensors/AQ-1/series",
        {"quantity": "water_level", "start": "2026-11-01T00:00:00Z", "end": "2026-11-30T00:00:00Z"},
    )
    assert bad.status_code == 422
    backwards = client().get(
        "/api/v1/sensing/sensors/AQ-1/series",
        {"quantity": "pm25", "start": "2026-11-30T00:00:00Z", "end": "2026-11-01T00:00:00Z"},
    )
    assert backwards.status_code == 422


def test_aggregates(data):
    rows = (
        client()
        .get("/api/v1/sensing/aggregates", {"quantity": "pm25", "start": "2026-11-20", "end": "2026-11-21"})
        .json()
    )
    assert rows == [
        {
            "commune": None,
            "commune_name": "",
            "sensors": 1,
            "count": 3,
            "mean": 11.0,
            "min": 10.0,
            "max": 12.0,
        }
    ]


def test_reads_need_no_key_but_another_city_sees_nothing(data, other_city):
    factories.make_city("hcm")
    assert client().get("/c/hcm/api/v1/sensing/sensors").json() == []


def test_a_retired_sensor_keeps_its_page_but_leaves_the_list(data):
    from dothi.sensing import services

    services.sensor_retire(actor=None, sensor=data)
    assert client().get("/api/v1/sensing/sensors/AQ-1").json()["status"] == "retired"
    assert [s["code"] for s in client().get("/api/v1/sensing/sensors").json()] == ["WL-1"]
