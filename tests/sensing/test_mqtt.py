"""The MQTT ingester against the real Mosquitto on 127.0.0.1:1883 (started here if it is down, as
`make services` does): single readings and batches are stored; a restart of the ingester while a
publisher keeps publishing QoS 1 loses nothing and duplicates nothing; a crash between the commit and
the acknowledgement is redelivered and changes nothing; bad payloads are rejected and counted, never
stored, and do not stop the ingester.

Each test uses its own topic prefix and client ids, and short-lived broker sessions, so runs do not
collide and leave nothing behind in the broker."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from django.db.models import Sum

from dothi.sensing import mqtt
from dothi.sensing.models import DataSource, HourlyRollup, Latest, Observation, RejectionCount

BROKER = "mqtt://127.0.0.1:1883"
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)

def _broker_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def broker():
    if not _broker_up():
        subprocess.run(["mosquitto", "-d", "-c", "/etc/mosquitto/mosquitto.conf"], check=True)  # noqa: S607
        for _ in range(50):
            if _broker_up():
                break
            time.sleep(0.1)
    assert _broker_up(), "Mosquitto is not listening on 127.0.0.1:1883"
    return BROKER


@pytest.fixture
def names(broker):
    """A topic prefix and a client id of this test alone."""
    run = uuid.uuid4().hex[:10]
    return {"prefix": f"dothi-test-{run}", "client_id": f"dothi-test-ingest-{run}"}


def make_ingester(names, cls=mqtt.Ingester, **kwargs) -> mqtt.Ingester:
    # Sessions expire 20 s after the ingester leaves: long enough for a restart, and nothing piles up.
    return cls(url=BROKER, client_id=names["client_id"], prefix=names["prefix"], session_expiry=20,
               **kwargs)


@contextmanager
def running(ingester: mqtt.Ingester):
    """The ingester in a thread (as `dothi ingest-mqtt` runs it in its main thread)."""
    ingester.start()
    errors: list[BaseException] = []

    def target():
        try:
            ingester.run()
        except BaseException as exc:  # surfaced in the test
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        ingester.stop()
        thread.join(15)
        assert not thread.is_alive(), "the ingester did not stop"
        assert not errors, errors


class Publisher:
    """A device or gateway publishing with QoS 1 (MQTT 3.1.1, as most devices speak)."""

    def __init__(self, prefix: str, city: str = "danang") -> None:
        from paho.mqtt.client import CallbackAPIVersion, Client

        self.prefix = f"{prefix}/{city}"
        self.client = Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}")
        self.client.max_inflight_messages_set(100)
        self.client.connect("127.0.0.1", 1883)
        self.client.loop_start()
        self.infos = []

    def reading(self, sensor: str, quantity: str, payload) -> None:
        body = payload if isinstance(payload, bytes | str) else orjson.dumps(payload)
        self.infos.append(self.client.publish(f"{self.prefix}/{sensor}/{quantity}", body, qos=1))

    def batch(self, payload) -> None:
        body = payload if isinstance(payload, bytes | str) else orjson.dumps(payload)
        self.infos.append(self.client.publish(f"{self.prefix}/batch", body, qos=1))

    def flush(self) -> None:
        for info in self.infos:
            info.wait_for_publish(10)
        self.infos = []

    def close(self) -> None:
        self.flush()
        self.client.disconnect()
        self.client.loop_stop()


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


def obs(sensor: str, quantity: str, minutes: int, value: float) -> dict:
    return {"sensor": sensor, "quantity": quantity, "time": (T0 + timedelta(minutes=minutes)).isoformat(),
            "value": value}


# --- Without a broker ---------------------------------------------------------------------------------


def test_broker_urls():
    assert mqtt.parse_url("mqtt://127.0.0.1") == mqtt.Broker("127.0.0.1", 1883, None, None, False)
    assert mqtt.parse_url("mqtts://ingest:s%40cret@broker.example.vn") == mqtt.Broker(
        "broker.example.vn", 8883, "ingest", "s@cret", True)
    with pytest.raises(ValueError):
        mqtt.parse_url("http://broker.example.vn")


def test_payloads_become_items():
    at = datetime(2026, 11, 23, 8, tzinfo=UTC)
    assert mqtt.reading_item("AQ-1", "pm25", b"23.5", at) == {"sensor": "AQ-1", "quantity": "pm25",
                                                               "value": 23.5, "time": at}
    assert mqtt.reading_item("AQ-1", "pm25", b'{"value": 7, "time": "2026-11-23T07:00:00Z"}', at)["time"] == (
        "2026-11-23T07:00:00Z")
    assert mqtt.reading_item("AQ-1", "pm25", b"NaN", at)["value"] != mqtt.reading_item(
        "AQ-1", "pm25", b"NaN", at)["value"]  # a float NaN, which the service rejects as not finite
    assert mqtt.reading_item("AQ-1", "pm25", b"high", at)["value"] == "high"
    assert mqtt.batch_items(b'{"observations": [{"sensor": "AQ-1"}]}') == [{"sensor": "AQ-1"}]
    assert mqtt.batch_items(b"[1, 2]") == [1, 2]
    assert mqtt.batch_items(b"not json") == [{"invalid_batch": "not json"}]


def test_serve_starts_the_ingester_only_when_a_broker_is_configured(monkeypatch):
    from dothi.core.management.commands._processes import background_commands

    monkeypatch.delenv("DOTHI_MQTT_URL", raising=False)
    assert ["ingest_mqtt"] not in background_commands()
    monkeypatch.setenv("DOTHI_MQTT_URL", BROKER)
    assert ["ingest_mqtt"] in background_commands()


# --- Against Mosquitto -----------------------------------------------------------------------------------


@pytest.mark.mqtt
@pytest.mark.django_db(transaction=True)
def test_single_readings_and_batches_are_stored(names, city, air_sensor, water_sensor):
    ingester = make_ingester(names)
    with running(ingester):
        pub = Publisher(names["prefix"])
        pub.reading("AQ-1", "pm25", b"23.5")  # a bare number: the time it was received
        pub.reading("AQ-1", "pm10", {"value": 41, "time": (T0 + timedelta(minutes=1)).isoformat()})
        pub.reading("WL-1", "water_level", {"value": 1.25})
        pub.batch({"observations": [obs("WL-1", "rainfall", m, m / 10) for m in range(50)]})
        pub.close()
        wait_for(lambda: ingester.stats.observations >= 53)
    assert (ingester.stats.accepted, ingester.stats.rejected) == (53, 0)
    assert Observation.objects.filter(sensor=water_sensor, quantity__code="rainfall").count() == 50
    assert Observation.objects.get(sensor=air_sensor, quantity__code="pm10").value == 41
    assert Observation.objects.get(sensor=air_sensor, quantity__code="pm10").time == T0 + timedelta(minutes=1)
    received = Observation.objects.get(sensor=air_sensor, quantity__code="pm25")
    assert received.value == 23.5 and abs((datetime.now(UTC) - received.time).total_seconds()) < 30
    assert Latest.objects.get(sensor=water_sensor, quantity__code="water_level").value == 1.25
    assert DataSource.objects.filter(city=city, name="mqtt").exists()


@pytest.mark.mqtt
@pytest.mark.django_db(transaction=True)
def test_bad_payloads_are_rejected_counted_and_do_not_stop_the_ingester(names, city, air_sensor):
    ingester = make_ingester(names)
    with running(ingester) as thread:
        pub = Publisher(names["prefix"])
        pub.reading("AQ-1", "pm25", b"very high")  # not a number
        pub.reading("AQ-1", "pm25", b"NaN")
        pub.reading("AQ-1", "pm25", {"value": 5000, "time": T0.isoformat()})  # beyond PM2.5's range
        pub.reading("AQ-1", "pm25", {"value": 5, "time": "yesterday"})
        future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        pub.reading("AQ-1", "pm25", {"value": 5, "time": future})
        pub.reading("NOPE-9", "pm25", b"12")  # an unknown sensor
        pub.reading("AQ-1", "water_level", b"1.0")  # a quantity it does not measure
        pub.batch(b"{not json")
        pub.batch({"observations": [obs("AQ-1", "pm25", 1, 10.0), {"sensor": "AQ-1"},
                                    obs("AQ-1", "pm25", 2, -3)]})
        pub.flush()
        wait_for(lambda: ingester.stats.observations >= 11)
        assert thread.is_alive()
        pub.reading("AQ-1", "pm25", {"value": 11.0, "time": (T0 + timedelta(minutes=3)).isoformat()})
        pub.close()
        wait_for(lambda: ingester.stats.accepted >= 2)
    assert ingester.stats.rejected == 10
    stored = Observation.objects.filter(sensor=air_sensor).values_list("value", flat=True)
    assert sorted(stored) == [10.0, 11.0]
    counts = dict(RejectionCount.objects.filter(source__name="mqtt", city=city).values_list("code", "count"))
    assert counts == {"value_invalid": 1, "value_not_finite": 1, "value_out_of_range": 2, "time_invalid": 1,
                      "time_in_future": 1, "sensor_unknown": 1, "quantity_not_measured": 1, "item_invalid": 2}


@pytest.mark.mqtt
@pytest.mark.django_db(transaction=True)
def test_unknown_city_is_dropped_with_a_warning_and_the_stream_goes_on(names, city, air_sensor, caplog):
    ingester = make_ingester(names)
    with running(ingester):
        pub = Publisher(names["prefix"], city="atlantis")
        pub.reading("AQ-1", "pm25", b"1")
        pub.close()
        pub = Publisher(names["prefix"])
        pub.reading("AQ-1", "pm25", b"2")
        pub.close()
        wait_for(lambda: ingester.stats.accepted == 1)
    assert ingester.stats.unknown_city == 1
    assert "unknown city 'atlantis'" in caplog.text


def _publish_stream(prefix: str, count: int, started: threading.Event, progress: list[int]) -> None:
    """A device publishing `count` timed readings with QoS 1 at a steady pace (~2 ms apart)."""
    pub = Publisher(prefix)
    started.set()
    for n in range(count):
        pub.reading("AQ-1", "pm25", {"value": n % 500, "time": (T0 + timedelta(seconds=n)).isoformat()})
        progress[0] = n + 1
        if n % 20 == 19:
            pub.flush()
            time.sleep(0.03)
    pub.close()


@pytest.mark.mqtt
@pytest.mark.django_db(transaction=True)
def test_restart_mid_stream_loses_nothing_and_duplicates_nothing(names, city, air_sensor):
    count = 600
    first = make_ingester(names, max_messages=50)
    started, progress = threading.Event(), [0]
    publisher = threading.Thread(target=_publish_stream, args=(names["prefix"], count, started, progress))
    with running(first):
        publisher.start()
        started.wait(5)
        wait_for(lambda: progress[0] >= count // 4)
    # The ingester is down while the publisher goes on: the broker keeps the messages for its session.
    down_from = progress[0]
    wait_for(lambda: progress[0] >= down_from + count // 4)
    second = make_ingester(names, max_messages=50)
    with running(second):
        publisher.join(20)
        wait_for(lambda: Observation.objects.filter(sensor=air_sensor).count() >= count, timeout=10)
        time.sleep(0.2)  # anything sent twice would arrive now
    assert first.stats.accepted > 0 and second.stats.accepted > 0
    assert first.stats.accepted + second.stats.accepted == count
    assert Observation.objects.filter(sensor=air_sensor).count() == count
    hourly = HourlyRollup.objects.filter(sensor=air_sensor, quantity__code="pm25").aggregate(n=Sum("count"))
    assert hourly["n"] == count  # each observation counted once in the rollups


class CrashingIngester(mqtt.Ingester):
    """Dies after its first commit and before acknowledging it (as a killed process would)."""

    def acknowledge(self, batch):
        self.stop()


@pytest.mark.mqtt
@pytest.mark.django_db(transaction=True)
def test_a_crash_between_commit_and_ack_is_redelivered_and_changes_nothing(names, city, air_sensor):
    crashing = make_ingester(names, cls=CrashingIngester)
    with running(crashing) as thread:
        pub = Publisher(names["prefix"])
        pub.batch({"observations": [obs("AQ-1", "pm25", m, 20.0 + m) for m in range(30)]})
        pub.close()
        thread.join(10)
    assert crashing.stats.accepted == 30
    again = make_ingester(names)
    with running(again):
        wait_for(lambda: again.stats.observations >= 30)
    assert (again.stats.accepted, again.stats.duplicates) == (0, 30)
    assert Observation.objects.filter(sensor=air_sensor).count() == 30
    hourly = HourlyRollup.objects.filter(sensor=air_sensor, quantity__code="pm25").aggregate(n=Sum("count"))
    assert hourly["n"] == 30


@pytest.mark.mqtt
@pytest.mark.django_db(transaction=True)
def test_ingesters_sharing_a_group_store_each_message_once(names, city, air_sensor):
    group = names["client_id"]
    one = make_ingester(dict(names, client_id=names["client_id"] + "-1"), share_group=group)
    two = make_ingester(dict(names, client_id=names["client_id"] + "-2"), share_group=group)
    with running(one), running(two):
        pub = Publisher(names["prefix"])
        for n in range(100):
            pub.reading("AQ-1", "pm25", {"value": n, "time": (T0 + timedelta(seconds=n)).isoformat()})
        pub.close()
        wait_for(lambda: one.stats.observations + two.stats.observations >= 100)
        time.sleep(0.2)
    assert one.stats.accepted > 0 and two.stats.accepted > 0
    assert one.stats.accepted + two.stats.accepted == 100
    assert one.stats.duplicates + two.stats.duplicates == 0
    assert Observation.objects.filter(sensor=air_sensor).count() == 100


@pytest.mark.mqtt
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_command_stores_and_stops_cleanly_on_sigterm(names, city, air_sensor, settings):
    """`dothi ingest-mqtt` as its own process on the test database: it stores what is published and
    leaves on SIGTERM with exit status 0."""
    import os
    import signal
    import sys

    db = settings.DATABASES["default"]
    url = f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    env = dict(os.environ, DOTHI_DATABASE_URL=url, DJANGO_SETTINGS_MODULE="dothi.settings")
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "django", "ingest_mqtt", "--url", BROKER, "--client-id", names["client_id"],
         "--prefix", names["prefix"]], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout.readline().startswith("Ingesting from mqtt://127.0.0.1:1883")
        pub = Publisher(names["prefix"])
        pub.batch({"observations": [obs("AQ-1", "pm25", m, 5.0) for m in range(20)]})
        pub.close()
        wait_for(lambda: Observation.objects.filter(sensor=air_sensor).count() == 20)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert "20 observations stored" in out
    forget_session(names["client_id"])


def forget_session(client_id: str) -> None:
    """End a persistent session in the broker (the command's sessions last a week)."""
    from paho.mqtt.client import CallbackAPIVersion, Client
    from paho.mqtt.enums import MQTTProtocolVersion

    client = Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5)
    client.connect("127.0.0.1", 1883, clean_start=True)  # no session expiry: it ends with the connection
    client.loop_start()
    time.sleep(0.2)
    client.disconnect()
    client.loop_stop()
