"""The commands: `dothi ingest-key`, `dothi import-sensors` (CSV, GeoJSON), `dothi import-observations`."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from dothi.sensing import keys
from dothi.sensing.models import DataSource, HourlyRollup, IngestKey, Observation, RejectionCount, Sensor

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_ingest_key_prints_the_key_last(city):
    out, err = run("ingest_key", "--city", "danang", "--name", "Vendor A")
    plaintext = out.strip().splitlines()[-1]
    assert plaintext.startswith("dsk_") and len(plaintext) > 40
    key = IngestKey.objects.get()
    assert key.key_hash == keys.hash_key(plaintext) and plaintext not in (key.key_hash, key.prefix)
    assert key.source.name == "vendor-a" and DataSource.objects.get().city == city
    assert keys.lookup(plaintext).source == key.source
    assert "not shown again" in err


def test_ingest_key_unknown_city(db):
    with pytest.raises(CommandError):
        run("ingest_key", "--city", "nowhere", "--name", "x")


CSV = """code,name,kind,lat,lon,quantities,is_public,expected_interval_seconds,stream_url,view_description
AQ-10,Air ten,air,16.05,108.2,pm25;pm10,yes,300,,
CAM-1,Bridge camera,camera,16.06,108.22,,no,60,rtsp://cam.example/1,Dragon bridge looking east
BAD 1,Bad,air,16,108,pm25,,,,
AQ-11,Air eleven,air,16.05,108.2,radon,,,,
"""


def test_import_sensors_csv(city, quantities, tmp_path):
    path = tmp_path / "sensors.csv"
    path.write_text(CSV, encoding="utf-8")
    out, err = run("import_sensors", "--city", "danang", str(path))
    assert "2 sensors registered, 0 updated, 2 rows rejected" in out
    assert "row 3" in err and "row 4" in err
    camera = Sensor.objects.get(code="CAM-1")
    assert (camera.kind, camera.is_public, camera.stream_url, camera.expected_interval_seconds) == (
        "camera",
        False,
        "rtsp://cam.example/1",
        60,
    )
    assert sorted(Sensor.objects.get(code="AQ-10").quantities.values_list("code", flat=True)) == [
        "pm10",
        "pm25",
    ]
    # Again: updates, no duplicates.
    out, _ = run("import_sensors", "--city", "danang", str(path))
    assert "0 sensors registered, 2 updated" in out
    assert Sensor.objects.count() == 2


def test_import_sensors_geojson(danang, quantities, tmp_path):
    from dothi.core.models import CommuneArea

    area = CommuneArea.objects.filter(city=danang).select_related("commune").first()
    lon, lat = area.commune.centre_lon, area.commune.centre_lat
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {
                    "code": "WL-9",
                    "name": "River gauge",
                    "kind": "water",
                    "quantities": "water_level rainfall",
                },
            },
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [0, 0]},
                "properties": {"code": "FAR", "name": "Far away", "kind": "air"},
            },
        ],
    }
    path = tmp_path / "sensors.geojson"
    path.write_text(json.dumps(collection), encoding="utf-8")
    out, err = run("import_sensors", "--city", "danang", str(path))
    assert "1 sensors registered" in out and "row 2" in err
    sensor = Sensor.objects.get(code="WL-9")
    assert sensor.commune is not None and (sensor.lat, sensor.lon) == (lat, lon)


def test_import_sensors_bad_file(city, tmp_path):
    with pytest.raises(CommandError):
        run("import_sensors", "--city", "danang", str(tmp_path / "missing.csv"))
    broken = tmp_path / "broken.geojson"
    broken.write_text("{nope", encoding="utf-8")
    with pytest.raises(CommandError):
        run("import_sensors", "--city", "danang", str(broken))


def test_import_observations(city, air_sensor, tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(
        "sensor,quantity,time,value\n"
        "AQ-1,pm25,2025-01-01T00:10:00+07:00,12.5\n"
        "AQ-1,pm25,2025-01-01T00:20:00+07:00,13.5\n"
        "AQ-1,pm25,2025-01-01 00:30:00,14\n"
        "AQ-1,pm25,2025-01-01T00:40:00+07:00,abc\n"
        "AQ-1,pm25,2025-01-01T00:50:00+07:00,-3\n",
        encoding="utf-8",
    )
    out, err = run("import_observations", "--city", "danang", str(path), "--chunk", "2")
    assert "2 observations stored, 0 already there, 3 rejected" in out
    assert (
        "line 4: time_invalid" in err
        and "line 5: value_invalid" in err
        and "line 6: value_out_of_range" in err
    )
    assert RejectionCount.objects.get(code="time_invalid").source.name == "import"
    out, _ = run("import_observations", "--city", "danang", str(path), "--time-zone", "Asia/Ho_Chi_Minh")
    assert "1 observations stored, 2 already there, 2 rejected" in out
    assert Observation.objects.count() == 3
    assert HourlyRollup.objects.get().count == 3


def test_import_observations_bad_input(city, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(CommandError):
        run("import_observations", "--city", "danang", str(path))
    with pytest.raises(CommandError):
        run("import_observations", "--city", "danang", str(path), "--time-zone", "Mars/Olympus")
