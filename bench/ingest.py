"""Sensor ingestion at 1,000,000 observations: the bulk API, MQTT end to end, and raw COPY, in one run.

A city with 300 sensors (air quality, water, weather, traffic, noise: 1,050 sensor × quantity pairs)
sends 1,000,000 observations (BENCH_OBSERVATIONS): about 3.3 days of five-minute readings, in time
order, as live data arrives. Each path starts from empty observation tables and stores the same rows:

(c) raw COPY (psycopg 3, binary) of the rows into the raw observation table: the physical baseline;
(d) the ingestion service called in-process, 10,000 observations a call: what HTTP and MQTT add to;
(a) the bulk API over HTTP: `POST /api/v1/sensing/observations` with an ingestion key, batches of
    10,000 (BENCH_BATCH), 4 concurrent clients (BENCH_CLIENTS) each sending its own sensors (as four
    gateways would), served as `dothi serve --server wsgi`
    serves it (gunicorn, threaded WSGI workers; 3 workers, BENCH_WORKERS);
(b) MQTT end to end: the same batches published as JSON messages to `<prefix>/<city>/batch` with QoS 1,
    stored by `dothi ingest-mqtt` (a separate process), timed from the first publish until the last
    observation is committed; then single-reading messages (`<prefix>/<city>/<sensor>/<quantity>`),
    measured separately on 100,000 messages (BENCH_SINGLE_MESSAGES).

Every path goes through the one ingestion service: validation of every item, the raw rows, the hourly
and daily rollups, the latest values, the sensors' last-seen times, and the observation listeners
registered in the manifests (the run names them). The rate is observations stored per second; each is
also given as a ratio to (c).

The warnings' rules are on: the city has a realistic set (RULES: a water-level rule per flood-prone
area, PM2.5 hourly-mean rules over the city and one district, a heavy-rain rule), some of whose areas
hold bench sensors and one of which holds none, so every path evaluates rules on a share of its rows,
keeps their per-sensor state, and raises, updates and ends warnings (CAP messages) as the simulated
storm passes. Rule state and rule warnings are reset with the observation tables before each path.
BENCH_RULES=0 leaves the same rules inactive (a trial that isolates their cost).

PostgreSQL runs in its own database (postgresql://postgres@127.0.0.1:5432/dothi_bench_ingest, or
DOTHI_BENCH_INGEST_DATABASE_URL), created and migrated by this script. SQLite runs the same paths in a
fresh file at a smaller scale (BENCH_SQLITE_OBSERVATIONS, 200,000; 20,000 single readings), with an
`executemany` INSERT of the rows as its baseline (SQLite has no COPY). MQTT goes through a Mosquitto
started for the run on a free port (`max_queued_messages 0`, as docs/deployment.md advises for the
ingester's persistent session), so the shared broker on 1883 is left alone.

Run: `.venv/bin/python bench/ingest.py` (`make bench` runs it through bench/bench_ingest.py).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/dothi_bench_ingest"
N_PG = int(os.environ.get("BENCH_OBSERVATIONS", "1000000"))
N_SQLITE = int(os.environ.get("BENCH_SQLITE_OBSERVATIONS", "200000"))
N_SINGLE_PG = int(os.environ.get("BENCH_SINGLE_MESSAGES", "100000"))
N_SINGLE_SQLITE = int(os.environ.get("BENCH_SQLITE_SINGLE_MESSAGES", "20000"))
BATCH = int(os.environ.get("BENCH_BATCH", "10000"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "4"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "3"))
STEP = timedelta(minutes=5)
CITY_SLUG = "danang"
PREFIX = "dothi-bench"
RULES_ON = os.environ.get("BENCH_RULES", "1") != "0"
TARGET_API = 100_000
TARGET_MQTT = 20_000

# kind, how many, the quantities each measures
SENSOR_MIX = [
    ("air", 120, ["pm25", "pm10", "no2", "temperature", "humidity"]),
    ("water", 60, ["water_level", "rainfall"]),
    ("weather", 40, ["temperature", "humidity", "wind_speed", "rainfall", "pressure"]),
    ("traffic", 50, ["vehicle_count", "average_speed"]),
    ("noise", 30, ["noise"]),
]


def _box(min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[min_lon, min_lat], [max_lon, min_lat], [max_lon, max_lat],
                                                 [min_lon, max_lat], [min_lon, min_lat]]]}


# The warnings' rules of the bench city (name, category, quantity, statistic, levels, hysteresis, minutes,
# polygon or None for the whole city). Sensor n of SENSOR_MIX stands at lat 16.0 + (n % 20) × 0.005,
# lon 108.15 + (n // 20) × 0.005: water gauges are the columns at lon 108.180–108.195, air sensors west of
# 108.180, traffic and noise east of 108.205.
_FLOOD_LEVELS = [{"threshold": 1.5, "severity": "Moderate"}, {"threshold": 2.0, "severity": "Severe"},
                 {"threshold": 2.5, "severity": "Extreme"}]
RULES = [
    ("Riverside flooding", "flood", "water_level", "value", _FLOOD_LEVELS, 0.1, 10,
     _box(108.178, 15.998, 108.188, 16.1)),
    ("Low-lying south flooding", "flood", "water_level", "value", _FLOOD_LEVELS, 0.1, 10,
     _box(108.188, 15.998, 108.192, 16.05)),
    ("Northern canal flooding", "flood", "water_level", "value", _FLOOD_LEVELS, 0.1, 10,
     _box(108.193, 15.998, 108.2, 16.1)),
    ("Coastal flooding", "flood", "water_level", "value", _FLOOD_LEVELS, 0.1, 10,
     _box(108.21, 15.998, 108.23, 16.1)),  # no water gauge there: read by no bench row
    ("PM2.5 hourly mean", "air", "pm25", "hourly_mean",
     [{"threshold": 55.0, "severity": "Moderate"}, {"threshold": 75.0, "severity": "Severe"}], 5.0, 0, None),
    ("PM2.5 hourly mean, western district", "air", "pm25", "hourly_mean",
     [{"threshold": 50.0, "severity": "Minor"}], 5.0, 30, _box(108.148, 15.998, 108.163, 16.1)),
    ("Heavy rain", "rain", "rainfall", "value",
     [{"threshold": 8.0, "severity": "Moderate"}, {"threshold": 12.0, "severity": "Severe"}], 2.0, 15, None),
]


def pg_url() -> str:
    return os.environ.get("DOTHI_BENCH_INGEST_DATABASE_URL", DEFAULT_URL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def say(message: str) -> None:
    print(message, flush=True)


# --- The orchestrator: one child process per database (settings are read once per process) -------------


def ensure_pg_database() -> None:
    import psycopg

    parts = urllib.parse.urlsplit(pg_url())
    name = parts.path.lstrip("/")
    admin = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def run_child(backend: str, data_dir: str) -> dict:
    out = Path(data_dir) / f"{backend}.json"
    env = dict(os.environ, DOTHI_DATA_DIR=data_dir, DJANGO_SETTINGS_MODULE="dothi.settings", DOTHI_DEBUG="0")
    if backend == "postgresql":
        env["DOTHI_DATABASE_URL"] = pg_url()
    else:
        env.pop("DOTHI_DATABASE_URL", None)
    env.pop("DOTHI_REDIS_URL", None)
    subprocess.run([sys.executable, __file__, "--child", backend, str(out)], env=env, check=True)  # noqa: S603
    return json.loads(out.read_text())


def main() -> None:
    sys.path.insert(0, str(BENCH_DIR))
    import _report

    ensure_pg_database()
    data_dir = tempfile.mkdtemp(prefix="dothi-bench-ingest-")
    broker = Mosquitto(data_dir)
    os.environ["BENCH_BROKER_PORT"] = str(broker.port)
    try:
        say(f"== PostgreSQL ({pg_url()}), {N_PG:,} observations")
        pg = run_child("postgresql", data_dir)
        if os.environ.get("BENCH_ONLY") == "postgresql":  # a trial
            return
        say(f"== SQLite, {N_SQLITE:,} observations")
        lite = run_child("sqlite", data_dir)
    finally:
        broker.stop()
    write_report(_report, pg, lite)


class Mosquitto:
    """A broker of the run's own on a free port: nothing persisted, no cap on a session's queue."""

    def __init__(self, folder: str) -> None:
        self.port = free_port()
        conf = Path(folder) / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "max_queued_messages 0\nlog_dest none\n"
        )
        self.proc = subprocess.Popen(["mosquitto", "-c", str(conf)], start_new_session=True)  # noqa: S603,S607
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


# --- Inside a child: Django configured for one database ------------------------------------------------


def prepare(say) -> dict:
    """Migrate; create the city, its 300 sensors and an ingestion key when missing."""
    from django.core.management import call_command
    from django.db import transaction

    from dothi.core.demo import CITY
    from dothi.core.models import City
    from dothi.sensing import services
    from dothi.sensing.keys import ingest_key_issue
    from dothi.sensing.models import Sensor
    from dothi.sensing.quantities import ensure_global_catalogue

    say("Migrating…")
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    ensure_global_catalogue()
    city = City.objects.filter(slug=CITY_SLUG).first() or City.objects.create(**CITY)
    have = Sensor.objects.filter(city=city).count()
    wanted = sum(n for _kind, n, _q in SENSOR_MIX)
    if have < wanted:
        say(f"Registering {wanted} sensors…")
        with transaction.atomic():
            Sensor.objects.filter(city=city).delete()
            n = 0
            for kind, count, quantities in SENSOR_MIX:
                for i in range(count):
                    n += 1
                    services.sensor_register(
                        actor=None, city=city, code=f"DN-{kind[:3].upper()}-{i + 1:03d}",
                        name=f"{kind} {i + 1}", kind=kind, lat=16.0 + (n % 20) * 0.005,
                        lon=108.15 + (n // 20) * 0.005, quantities=quantities, expected_interval_seconds=300,
                    )
    prepare_rules(city)
    _key, plaintext = ingest_key_issue(actor=None, city=city, name="bench")
    return {"city": city, "key": plaintext}


def prepare_rules(city) -> None:
    """The city's warning categories and RULES, as an operator would configure them (replaced on each
    run, so the run measures exactly these). The bench city has no commune boundaries: areas are
    polygons or the whole city, created directly (the admin's `rule_clean` wants the boundaries)."""
    from dothi.alerts.models import AlertCategory, AlertRule, CapCategory, PublicWarning, RuleSensorState

    categories = {
        "flood": ("Ngập lụt", "Flood", CapCategory.MET),
        "air": ("Chất lượng không khí", "Air quality", CapCategory.ENV),
        "rain": ("Mưa lớn", "Heavy rain", CapCategory.MET),
    }
    cats = {
        code: AlertCategory.objects.get_or_create(
            city=city, code=code, defaults={"name_vi": vi, "name_en": en, "cap_category": cap})[0]
        for code, (vi, en, cap) in categories.items()
    }
    PublicWarning.objects.filter(city=city).delete()
    RuleSensorState.objects.filter(rule__city=city).delete()
    AlertRule.objects.filter(city=city).delete()
    for name, category, quantity, statistic, levels, hysteresis, minutes, polygon in RULES:
        AlertRule.objects.create(
            city=city, name=name, category=cats[category], quantity_code=quantity, statistic=statistic,
            operator=">=", levels=levels, hysteresis=hysteresis, duration_minutes=minutes, polygon=polygon,
            area_desc_vi=name, area_desc_en=name, headline_vi=f"{name}: {{value}} {{unit}} tại {{sensor}}",
            headline_en=f"{name}: {{value}} {{unit}} at {{sensor}}",
            is_active=RULES_ON,  # BENCH_RULES=0: the same rules, inactive (a trial isolating their cost)
        )


def rules_read(city, items) -> dict:
    """How much of the stream the rules read: rules, sensor × quantity pairs and observations."""
    from dothi.alerts import rules
    from dothi.sensing import catalogue

    compiled = rules.compiled_for(city.pk)
    pairs = catalogue.for_city(city).pairs
    read = {key for key, ids in pairs.items() if (ids[0], ids[1]) in compiled.pairs}
    return {"rules": len(compiled.rules), "pairs": len(read),
            "observations": sum(1 for s, q, _t, _v in items if (s, q) in read)}


def rule_outcome() -> dict:
    """What the rules did on the last path: state rows kept, warnings raised, CAP messages published."""
    from dothi.alerts.models import CapMessage, PublicWarning, RuleSensorState

    return {"states": RuleSensorState.objects.count(),
            "warnings": PublicWarning.objects.filter(source="rule").count(),
            "messages": CapMessage.objects.filter(warning__source="rule").count()}


def generate(city, n: int) -> tuple[list[tuple], list[tuple]]:
    """n observations in time order, ending a minute ago: (sensor code, quantity code, ISO time, value)
    for the clients and (sensor id, quantity id, datetime, value) for COPY."""
    from dothi.sensing import catalogue
    from dothi.sensing.simulate import Model, Scenario

    cat = catalogue.for_city(city)
    pairs = sorted((s, q, *ids) for (s, q), ids in cat.pairs.items())
    rounds = -(-n // len(pairs))
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    start = end - STEP * (rounds - 1)
    model = Model(city.time_zone, Scenario(storm=True), seed=1)
    items, rows = [], []
    when = start
    scenario_step = 1.0 / rounds
    while len(items) < n:
        iso = when.isoformat()
        for sensor, quantity, sid, qid, low, high in pairs:
            value = round(model.value(sensor, quantity, when, 300.0, low, high), 3)
            items.append((sensor, quantity, iso, value))
            rows.append((sid, qid, when, value))
            if len(items) == n:
                break
        model.scenario.advance(scenario_step)
        when += STEP
    return items, rows


def empty_tables() -> None:
    from django.db import connection

    tables = ["sensing_observation", "sensing_hourlyrollup", "sensing_dailyrollup", "sensing_latest"]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(tables)}")
        else:
            for table in tables:
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608
        cursor.execute("UPDATE sensing_sensor SET last_seen_at = NULL, status = 'active'")
    from dothi.alerts.models import PublicWarning, RuleSensorState

    # Each path starts with no rule state and no rule warning, so each does the same rule work.
    RuleSensorState.objects.all().delete()
    PublicWarning.objects.filter(source="rule").delete()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE sensing_sensor")


def stored() -> tuple[int, int]:
    """(raw rows, observations counted in the daily rollups)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sensing_observation")
        raw = cursor.fetchone()[0]
        cursor.execute("SELECT coalesce(sum(count), 0) FROM sensing_dailyrollup")
        return raw, int(cursor.fetchone()[0])


def rollup_total() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(sum(count), 0) FROM sensing_dailyrollup")
        return int(cursor.fetchone()[0])


def measure_baseline(rows) -> dict:
    from django.db import connection, transaction

    empty_tables()
    started = time.perf_counter()
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as wrapper:
            cur = wrapper.cursor
            with cur.copy("COPY sensing_observation (sensor_id, quantity_id, time, value) "
                          "FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["int8", "int8", "timestamptz", "float8"])
                for row in rows:
                    copy.write_row(row)
        how = "COPY (binary) from psycopg 3"
    else:
        data = [(s, q, str(t.astimezone(UTC).replace(tzinfo=None)), v) for s, q, t, v in rows]
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO sensing_observation (sensor_id, quantity_id, time, value) "
                "VALUES (%s, %s, %s, %s)",
                data,
            )
        how = "executemany INSERT in one transaction"
    seconds = time.perf_counter() - started
    raw, _rollups = stored()
    assert raw == len(rows), (raw, len(rows))
    return {"n": len(rows), "seconds": seconds, "how": how}


def measure_service(city, items) -> dict:
    """The ingestion service in-process, one call per batch of dicts as the JSON parser gives them."""
    from dothi.sensing.ingestion import ingest
    from dothi.sensing.keys import source_get_or_create

    empty_tables()
    source = source_get_or_create(city=city, name="bench-direct")
    batches = [[{"sensor": s, "quantity": q, "time": t, "value": v} for s, q, t, v in items[i:i + BATCH]]
               for i in range(0, len(items), BATCH)]
    accepted = 0
    started = time.perf_counter()
    for batch in batches:
        accepted += ingest(city=city, source=source, items=batch).accepted
    seconds = time.perf_counter() - started
    raw, rollups = stored()
    assert raw == rollups == accepted == len(items), (raw, rollups, accepted, len(items))
    return {"n": len(items), "seconds": seconds}


class Server:
    """The platform as `dothi serve --server wsgi` runs it: gunicorn with threaded WSGI workers."""

    def __init__(self, workers: int) -> None:
        from dothi.core.management.commands._processes import gunicorn_command

        self.port = free_port()
        command = gunicorn_command(host="127.0.0.1", port=self.port, workers=workers, server="wsgi",
                                   access_log=False)
        self.proc = subprocess.Popen([*command, "--log-level", "warning", "--timeout", "120"],  # noqa: S603
                                     env=dict(os.environ), start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/api/v1/sensing/quantities")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("the server did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def _bodies(items) -> list[bytes]:
    import orjson

    return [
        orjson.dumps({"observations": [{"sensor": s, "quantity": q, "time": t, "value": v}
                                       for s, q, t, v in items[i:i + BATCH]]})
        for i in range(0, len(items), BATCH)
    ]


def _gateway_bodies(items, gateways: int) -> list[list[bytes]]:
    """The stream split as `gateways` gateways would send it: each its own sensors, in time order."""
    sensors = sorted({s for s, _q, _t, _v in items})
    gateway_of = {code: n % gateways for n, code in enumerate(sensors)}
    parts: list[list] = [[] for _ in range(gateways)]
    for item in items:
        parts[gateway_of[item[0]]].append(item)
    return [_bodies(part) for part in parts]


def measure_api(items, key: str) -> dict:
    import orjson

    queues = _gateway_bodies(items, CLIENTS)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    server = Server(WORKERS)
    try:
        # Warm every worker (imports, the catalogue, the key) with readings outside the data set.
        warm = orjson.dumps({"observations": [{"sensor": items[0][0], "quantity": items[0][1],
                                               "time": "2020-01-01T00:00:00+00:00", "value": items[0][3]}]})
        for _ in range(WORKERS * 4):
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
            conn.request("POST", "/api/v1/sensing/observations", body=warm, headers=headers)
            assert conn.getresponse().status == 200
            conn.close()
        empty_tables()
        lock = threading.Lock()
        statuses: dict[int, int] = {}
        accepted = [0]
        errors: list[str] = []

        def client(bodies: list[bytes]) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
            for body in bodies:
                conn.request("POST", "/api/v1/sensing/observations", body=body, headers=headers)
                response = conn.getresponse()
                body = response.read()
                with lock:
                    statuses[response.status] = statuses.get(response.status, 0) + 1
                    if response.status in (200, 207):
                        accepted[0] += orjson.loads(body)["accepted"]
                    elif len(errors) < 3:
                        errors.append(body[:200].decode("utf-8", "replace"))
            conn.close()

        threads = [threading.Thread(target=client, args=(bodies,)) for bodies in queues]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - started
    finally:
        server.stop()
    raw, rollups = stored()
    return {"n": len(items), "seconds": seconds, "statuses": statuses, "accepted": accepted[0], "raw": raw,
            "rollups": rollups, "errors": errors}


class Ingester:
    """`dothi ingest-mqtt` as a separate process, as `dothi serve` runs it."""

    def __init__(self, port: int, client_id: str | None = None) -> None:
        self.client_id = client_id or f"dothi-bench-ingest-{uuid.uuid4().hex[:8]}"
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (open while the process runs)
            prefix="dothi-bench-ingester-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "django", "ingest_mqtt", "--url", f"mqtt://127.0.0.1:{port}",
             "--client-id", self.client_id, "--prefix", PREFIX,
             *(["--max-messages", os.environ["BENCH_MQTT_MAX_MESSAGES"]]
               if os.environ.get("BENCH_MQTT_MAX_MESSAGES") else [])],
            env=dict(os.environ), stdout=subprocess.PIPE, stderr=self.log, text=True,
        )
        line = self.proc.stdout.readline()
        self.connected = time.perf_counter()
        if not line.startswith("Ingesting"):
            raise RuntimeError(f"the ingester did not start: {line!r}; see {self.log.name}")

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=60)
        if self.proc.returncode != 0:
            raise RuntimeError(f"the ingester exited with {self.proc.returncode}; see {self.log.name}")
        return out.strip()


def _publisher(port: int):
    from paho.mqtt.client import CallbackAPIVersion, Client

    client = Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:8]}")
    client.max_inflight_messages_set(1000)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def _wait_stored(n: int, timeout: float) -> float:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if rollup_total() >= n:
            return time.perf_counter()
        time.sleep(0.05)
    raise RuntimeError(f"only {rollup_total():,} of {n:,} observations were stored within {timeout:.0f} s")


def measure_mqtt_batches(items, port: int) -> dict:
    bodies = _bodies(items)
    topic = f"{PREFIX}/{CITY_SLUG}/batch"
    empty_tables()
    ingester = Ingester(port)
    try:
        client = _publisher(port)
        started = time.perf_counter()
        infos = [client.publish(topic, body, qos=1) for body in bodies]
        for info in infos:
            info.wait_for_publish(120)
        published = time.perf_counter()
        done = _wait_stored(len(items), 600)
        client.disconnect()
        client.loop_stop()
    finally:
        summary = ingester.stop()
    raw, rollups = stored()
    return {"n": len(items), "messages": len(bodies), "seconds": done - started,
            "publish_seconds": published - started, "raw": raw, "rollups": rollups, "ingester": summary}


def _publish_all(port: int, messages) -> None:
    client = _publisher(port)
    # paho numbers unacknowledged messages with 16 bits: keep well under 65,535 outstanding.
    for i in range(0, len(messages), 5000):
        infos = [client.publish(topic, body, qos=1) for topic, body in messages[i:i + 5000]]
        for info in infos:
            info.wait_for_publish(120)
    client.disconnect()
    client.loop_stop()


def measure_mqtt_single(items, port: int) -> dict:
    """Single-reading messages, twice: published while the ingester runs (end to end; one Python
    publisher, which paho limits to about 10,000 messages/s on this machine), and drained by the
    ingester from its persistent session after they were all published while it was down (the
    ingester's own rate, timed from its connection)."""
    import orjson

    messages = [(f"{PREFIX}/{CITY_SLUG}/{s}/{q}", orjson.dumps({"value": v, "time": t}))
                for s, q, t, v in items]
    empty_tables()
    ingester = Ingester(port)
    try:
        started = time.perf_counter()
        _publish_all(port, messages)
        published = time.perf_counter()
        done = _wait_stored(len(items), 600)
    finally:
        summary = ingester.stop()
    raw, rollups = stored()
    result = {"n": len(items), "messages": len(items), "seconds": done - started,
              "publish_seconds": published - started, "raw": raw, "rollups": rollups, "ingester": summary}
    # The same messages again, published while the ingester is down (its session keeps them).
    empty_tables()
    client_id = ingester.client_id
    _publish_all(port, messages)
    ingester = Ingester(port, client_id=client_id)
    try:
        done = _wait_stored(len(items), 600)
    finally:
        summary = ingester.stop()
    raw, rollups = stored()
    result["drain"] = {"n": len(items), "seconds": done - ingester.connected, "raw": raw, "rollups": rollups,
                       "ingester": summary}
    return result


def child(backend: str, out: str) -> None:
    sys.path.insert(0, str(BENCH_DIR))
    import django

    django.setup()
    from django.db import connection

    from dothi.core.manifests import registry

    n = N_PG if backend == "postgresql" else N_SQLITE
    n_single = N_SINGLE_PG if backend == "postgresql" else N_SINGLE_SQLITE
    port = int(os.environ["BENCH_BROKER_PORT"])
    setup = prepare(say)
    city = setup["city"]
    say(f"Generating {n:,} observations…")
    items, rows = generate(city, n)
    listeners = [f"{fn.__module__}.{fn.__qualname__}" for fn in registry.observation_listeners()]
    results: dict = {"backend": backend, "listeners": listeners, "load": os.getloadavg()[0],
                     "rules": rules_read(city, items),
                     "sensors": len({i[0] for i in items}),
                     "pairs": len({(i[0], i[1]) for i in items}), "first": items[0][2], "last": items[-1][2]}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            results["server"] = f"PostgreSQL {cursor.fetchone()[0]}"
    else:
        import sqlite3

        results["server"] = f"SQLite {sqlite3.sqlite_version}"
    say("(c) baseline…")
    results["baseline"] = measure_baseline(rows)
    say(f"    {n / results['baseline']['seconds']:,.0f}/s")
    say("(d) the ingestion service in-process…")
    results["service"] = measure_service(city, items)
    results["service"]["rule_outcome"] = rule_outcome()
    say(f"    {n / results['service']['seconds']:,.0f}/s")
    connection.close()
    say(f"(a) bulk API over HTTP, {CLIENTS} clients, {WORKERS} workers, batches of {BATCH:,}…")
    results["api"] = measure_api(items, setup["key"])
    results["api"]["rule_outcome"] = rule_outcome()
    say(f"    {n / results['api']['seconds']:,.0f}/s; statuses {results['api']['statuses']}")
    say("(b) MQTT batch messages end to end…")
    results["mqtt_batch"] = measure_mqtt_batches(items, port)
    results["mqtt_batch"]["rule_outcome"] = rule_outcome()
    say(f"    {n / results['mqtt_batch']['seconds']:,.0f}/s")
    say(f"(b) MQTT single-reading messages end to end ({n_single:,})…")
    results["mqtt_single"] = measure_mqtt_single(items[:n_single], port)
    results["mqtt_single"]["drain"]["rule_outcome"] = rule_outcome()
    say(f"    {n_single / results['mqtt_single']['seconds']:,.0f}/s; drained from the session: "
        f"{n_single / results['mqtt_single']['drain']['seconds']:,.0f}/s")
    empty_tables()
    Path(out).write_text(json.dumps(results, default=str))


# --- The report ------------------------------------------------------------------------------------------


def rules_paragraph(pg: dict, lite: dict) -> str:
    read = pg["rules"]

    def outcome(result: dict) -> str:
        o = result.get("rule_outcome") or {}
        return f"{o.get('warnings', 0)} warnings, {o.get('messages', 0)} CAP messages"

    if not read["rules"]:
        return ("**Warning rules off** (BENCH_RULES=0: the rules exist but are inactive); the listener is "
                "still registered, so ingestion still hands every accepted row to it.")
    return (
        f"**Warning rules on.** The city has {read['rules']} active warning rules (bench/ingest.py "
        "`RULES`: a water-level rule per flood-prone area, with three levels, 10 minutes sustained and "
        "hysteresis; PM2.5 hourly-mean rules over the whole city and one district; a heavy-rain rule), "
        f"evaluated inside the ingestion transaction on every path. They read {read['pairs']:,} of the "
        f"{pg['pairs']:,} sensor × quantity pairs, i.e. {read['observations']:,} of the "
        f"{pg['api']['n']:,} observations ({read['observations'] / max(1, pg['api']['n']):.0%}); the other "
        "rows cost a dictionary lookup per pair and batch. Rule state and rule warnings are reset with the "
        "observation tables before each path, and as the simulated storm passes each path raises, updates "
        f"and ends warnings (PostgreSQL: (d) {outcome(pg['service'])}; (a) {outcome(pg['api'])}; (b) "
        f"batches {outcome(pg['mqtt_batch'])}, single readings drained "
        f"{outcome(pg['mqtt_single']['drain'])}. SQLite: (a) {outcome(lite['api'])}). The fan-out of "
        "those messages to subscribers is queued for the background worker (none runs here)."
    )


def write_report(_report, pg: dict, lite: dict) -> None:
    def rate(r: dict) -> float:
        return r["n"] / r["seconds"]

    def row(label: str, result: dict, base: dict, target: float | None = None, note: str = "") -> str:
        verdict = ""
        if target:
            verdict = f"≥ {target:,.0f}/s: " + ("met" if rate(result) >= target else "**missed**")
        return (f"| {label} | {result['n']:,} | {result['seconds']:.1f} s | **{rate(result):,.0f}/s** | "
                f"{rate(result) / rate(base):.2f}× | {verdict}{note} |")

    lines = []
    scale_note = "" if pg["api"]["n"] >= 1_000_000 else " — **below the stated scale of 1,000,000**"
    listeners = ", ".join(f"`{x}`" for x in pg["listeners"]) or "**none registered in any manifest**"
    lines += [
        f"{pg['api']['n']:,} observations{scale_note} from {pg['sensors']} sensors ({pg['pairs']:,} sensor × "
        f"quantity pairs, five-minute readings from {pg['first'][:16]} to {pg['last'][:16]} UTC, in time "
        "order). Every path starts from empty observation tables and stores the same rows through the one "
        "ingestion service: validation of every item, raw rows (idempotent on sensor, quantity and time), "
        "hourly and daily rollups, latest values, sensors' last-seen times, and the observation listeners "
        f"of the manifests (the warnings hook): {listeners}. Client, server, broker and database share the "
        f"machine (1-minute load average when the run started: {pg['load']:.1f} on PostgreSQL, "
        f"{lite['load']:.1f} on SQLite; other work on the machine lowers every row alike, the ratios less). "
        "Ratios are to the physical baseline (c) of the same run.",
        "",
        rules_paragraph(pg, lite),
        "",
        f"### {pg['server']}",
        "",
        "| path | observations | time | rate | ÷ (c) | target |",
        "|---|---|---|---|---|---|",
        row("(c) raw `COPY` (binary, psycopg 3) into the raw table: the baseline", pg["baseline"],
            pg["baseline"]),
        row(f"(d) the ingestion service in-process, {BATCH:,} per call (for reference)", pg["service"],
            pg["baseline"]),
        row(f"(a) bulk API `POST /api/v1/sensing/observations`, {BATCH:,} per request, {CLIENTS} clients "
            f"(each its own sensors), gunicorn {WORKERS} WSGI workers", pg["api"], pg["baseline"],
            TARGET_API),
        row(f"(b) MQTT end to end, batch messages of {BATCH:,} (`…/batch`, QoS 1) → `dothi ingest-mqtt`",
            pg["mqtt_batch"], pg["baseline"], TARGET_MQTT),
        row("(b) MQTT end to end, one reading a message (QoS 1), measured separately on "
            f"{pg['mqtt_single']['n']:,} messages from one Python publisher", pg["mqtt_single"],
            pg["baseline"]),
        row(f"(b) the same {pg['mqtt_single']['n']:,} single readings, published while the ingester was "
            "down and drained from its session (the ingester's own rate)", pg["mqtt_single"]["drain"],
            pg["baseline"]),
        "",
        f"### {lite['server']} (smaller scale: {lite['api']['n']:,} observations, "
        f"{lite['mqtt_single']['n']:,} single readings)",
        "",
        "| path | observations | time | rate | ÷ (c) |",
        "|---|---|---|---|---|",
    ]
    for label, key in (("(c) `executemany` INSERT into the raw table, one transaction: the baseline",
                        "baseline"),
                       ("(d) the ingestion service in-process", "service"),
                       (f"(a) bulk API, {CLIENTS} clients, {WORKERS} workers", "api"),
                       ("(b) MQTT batch messages end to end", "mqtt_batch"),
                       ("(b) MQTT single readings end to end", "mqtt_single"),
                       ("(b) MQTT single readings drained from the session", "drain")):
        result = lite["mqtt_single"]["drain"] if key == "drain" else lite[key]
        lines.append(row(label, result, lite["baseline"]).rsplit("|", 2)[0] + "|")
    checks = []
    for name, result in (("PostgreSQL", pg), ("SQLite", lite)):
        for key in ("api", "mqtt_batch", "mqtt_single", "drain"):
            r = result["mqtt_single"]["drain"] if key == "drain" else result[key]
            if r["raw"] != r["n"] or r["rollups"] != r["n"]:
                checks.append(f"{name} {key}: {r['raw']:,} raw rows and {r['rollups']:,} in the rollups for "
                              f"{r['n']:,} sent")
    lines += [
        "",
        "Checks: after each path the raw table holds exactly the observations sent and the daily rollups "
        "count each once" + (": **" + "; ".join(checks) + "**." if checks else " (verified)."),
        f"HTTP statuses (PostgreSQL): {pg['api']['statuses']}. The MQTT times run from the first publish to "
        "the commit of the last observation (publishing itself took "
        f"{pg['mqtt_batch']['publish_seconds']:.1f} s for the batches and "
        f"{pg['mqtt_single']['publish_seconds']:.1f} s for the single readings); the ingester acknowledges "
        "each message only after its transaction committed. The broker is a Mosquitto started for the run.",
        "",
        "Reading the ratios: (c) is one connection fed by one Python process, as is (d); the bulk API runs "
        f"{WORKERS} server processes side by side, so it can come close to (c) on two cores although each "
        "request does all the work of (d). The MQTT ingester is one process storing one batch at a time "
        "(several share a stream with `DOTHI_MQTT_SHARE_GROUP`). Single readings cost one MQTT message "
        "each: the end-to-end figure is bound by the one Python (paho) publisher, the drained figure by the "
        "ingester's paho network thread and the rollups touched per stored batch.",
        "",
    ]
    if os.environ.get("BENCH_DRY_RUN") == "1":  # a trial: print, leave docs/performance.md alone
        print("\n".join(lines))
        return
    _report.write("ingest", "Sensor ingestion at 1,000,000 observations (bulk API, MQTT, COPY)", lines)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        main()
