"""Citizen reports at scale: 1,000,000 reports in PostgreSQL.

(a) Read latency through the real stack: Open311 `GET /open311/v2/requests.json` (a filtered page) and
    the public map query `GET /reports/map.geojson`, p50/p99 over 500 sequential requests each from a
    client process, against uvicorn with 2 workers. In the same run, a plain Django view doing the same
    query (same filter, order, limit and JSON fields, no selectors/serialisers/params layer) is served
    by the same uvicorn workers, behind the same middleware; requests alternate between the two, so the
    ratio app/baseline compares like with like.
(b) Sustained report submissions per second over HTTP (uvicorn, 4 workers) from 2,000 signed-in
    benchmark citizens, for at least 30 s, from 32 client threads. Each submission is the citizen's
    whole flow: the preview (routing preview + the duplicate search `nearby_open_reports` within
    250 m) and the form POST (`report_submit`: routing, deadline, audit record, follower). No photos.
    The production rate limits stay in force, raised for the benchmark city only through its policy
    (`City.settings["ratelimits"]["scopes"]["reports.submit"]`): core.ratelimit has no per-user
    exemption, and the benchmark database holds nothing but the benchmark city.

The data live in a dedicated database (default postgresql://postgres@127.0.0.1:5432/dothi_bench, or
DOTHI_BENCH_DATABASE_URL), created, migrated and bulk-loaded with COPY by this script, and reused by
later runs when it already holds the reports (BENCH_REBUILD=1 reloads). BENCH_REPORTS sets another
scale (the section then says so). Run: `.venv/bin/python bench/reports.py` (`make bench` runs it
through bench/bench_reports.py).
"""

from __future__ import annotations

import datetime as dt
import http.client
import io
import json
import math
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/dothi_bench"
N_REPORTS = int(os.environ.get("BENCH_REPORTS", "1000000"))
N_CITIZENS = 2000
YEARS = 2
LATENCY_REQUESTS = 500
WARMUP = 30
SUBMIT_SECONDS = float(os.environ.get("BENCH_SUBMIT_SECONDS", "30"))
SUBMIT_THREADS = 32
READ_WORKERS = 2
WRITE_WORKERS = 4
TARGET_P99_MS = 100.0
TARGET_SUBMISSIONS = 300.0
CITY_SLUG = "danang"
CSRF = "benchcsrf" + "0" * 23  # a 32-character CSRF secret, sent as cookie and as form field
BENCH_MARK = "bench-reports-v1"


def db_pool() -> str:
    """"1": the served app uses Django's psycopg connection pool (default); "0": the settings as shipped."""
    return os.environ.get("BENCH_DB_POOL", "1")


def database_url() -> str:
    return os.environ.get("DOTHI_BENCH_DATABASE_URL", DEFAULT_URL)


def _configure_environment(data_dir: str) -> None:
    os.environ["DOTHI_DATABASE_URL"] = database_url()
    os.environ["DOTHI_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dothi.settings")


# --- The served application: the app's URLs plus the baseline views -----------------------------------

_CITY_ID: int | None = None


def _city_id() -> int:
    global _CITY_ID
    if _CITY_ID is None:
        from dothi.core.models import City

        _CITY_ID = City.objects.get(slug=CITY_SLUG).pk
    return _CITY_ID


def _iso(value) -> str | None:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def baseline_requests(request):
    """What a developer would write with plain Django for the Open311 page: one query, the same
    filter, order and page, the same fields serialised with json.dumps."""
    from django.http import HttpResponse

    from dothi.reports.models import OPEN_STATUSES, Report

    q = request.GET
    qs = Report.objects.filter(city_id=_city_id(), confidential=False, hidden=False)
    if q.get("service_code"):
        qs = qs.filter(category__code__in=q["service_code"].split(","))
    if q.get("status") == "open":
        qs = qs.filter(status__in=OPEN_STATUSES)
    if q.get("updated_after"):
        qs = qs.filter(updated_at__gte=dt.datetime.fromisoformat(q["updated_after"].replace("Z", "+00:00")))
    size = min(int(q.get("page_size", 50)), 200)
    rows = qs.order_by("-updated_at", "-id").values(
        "reference", "status", "category__name_vi", "category__code", "description", "agency__name_vi",
        "submitted_at", "updated_at", "due_at", "address", "lat", "lon",
    )[:size]
    body = [
        {
            "service_request_id": r["reference"],
            "status": "open" if r["status"] in OPEN_STATUSES else "closed",
            "service_name": r["category__name_vi"],
            "service_code": r["category__code"],
            "description": r["description"],
            "agency_responsible": r["agency__name_vi"],
            "requested_datetime": _iso(r["submitted_at"]),
            "updated_datetime": _iso(r["updated_at"]),
            "expected_datetime": _iso(r["due_at"]),
            "address": r["address"],
            "lat": r["lat"],
            "long": r["lon"],
        }
        for r in rows
    ]
    return HttpResponse(json.dumps(body, ensure_ascii=False), content_type="application/json")


def baseline_map(request):
    """The map query with plain Django: newest public reports of a category (and commune), 5,000 at most."""
    from django.http import HttpResponse

    from dothi.reports.models import Report

    q = request.GET
    qs = Report.objects.filter(city_id=_city_id(), confidential=False, hidden=False)
    if q.get("category"):
        qs = qs.filter(category__code=q["category"])
    if q.get("commune"):
        qs = qs.filter(commune_id=q["commune"])
    rows = qs.order_by("-submitted_at").values_list(
        "reference", "category__code", "category__name_vi", "status", "lat", "lon"
    )[:5000]
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
         "properties": {"reference": ref, "category": code, "category_name": name, "status": status,
                        "url": f"/reports/{ref}/"}}
        for ref, code, name, status, lat, lon in rows
    ]
    body = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False,
                      separators=(",", ":"))
    return HttpResponse(body, content_type="application/json")


def asgi_app():
    """uvicorn factory (`--factory reports:asgi_app`): the project's ASGI application with this module
    as the URLconf, which mounts the project's URLs and the two baseline views."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dothi.settings")
    import django
    from django.conf import settings

    if os.environ.get("BENCH_DB_POOL") == "1":
        # Under ASGI every request runs in its own thread, so CONN_MAX_AGE keeps one idle connection
        # per thread (PostgreSQL runs out of connections under load) and 0 connects per request;
        # Django 5.1+'s psycopg pool is the fix (see the section in docs/performance.md).
        database = settings.DATABASES["default"]
        database["CONN_MAX_AGE"] = 0
        database.setdefault("OPTIONS", {})["pool"] = {"min_size": 4, "max_size": 16, "timeout": 20}
    django.setup(set_prefix=False)
    from django.urls import include, path

    globals()["urlpatterns"] = [
        path("bench/baseline/requests.json", baseline_requests),
        path("bench/baseline/map.geojson", baseline_map),
        path("", include("dothi.urls")),
    ]
    settings.ROOT_URLCONF = __name__
    from django.core.handlers.asgi import ASGIHandler

    return ASGIHandler()


# --- The database ---------------------------------------------------------------------------------------


def ensure_database() -> None:
    import psycopg

    parts = urllib.parse.urlsplit(database_url())
    name = parts.path.lstrip("/")
    admin = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _sample_points(cells, counts, rng):
    """`counts[i]` random points inside `cells[i]` (vectorised rejection sampling)."""
    import numpy as np
    import shapely

    out_lat, out_lon, out_idx = [], [], []
    for index, (cell, count) in enumerate(zip(cells, counts, strict=True)):
        if not count:
            continue
        min_lon, min_lat, max_lon, max_lat = cell.bounds
        got_lat, got_lon = [], []
        need = count
        while need > 0:
            n = max(need * 3, 64)
            lon = rng.uniform(min_lon, max_lon, n)
            lat = rng.uniform(min_lat, max_lat, n)
            inside = shapely.contains_xy(cell, lon, lat)
            got_lon.append(lon[inside][:need])
            got_lat.append(lat[inside][:need])
            need -= int(min(inside.sum(), need))
        out_lat.append(np.concatenate(got_lat))
        out_lon.append(np.concatenate(got_lon))
        out_idx.append(np.full(count, index))
    return np.concatenate(out_lat), np.concatenate(out_lon), np.concatenate(out_idx)


def _copy_text(value) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        value = json.dumps(value)
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def populate(now: dt.datetime, say) -> dict:
    """Create the benchmark city and bulk-load the reports with COPY. Returns load figures."""
    import numpy as np
    from django.db import connection, transaction
    from shapely.geometry import shape

    from dothi.core import geo
    from dothi.core.demo import CITY, _seed_organisations
    from dothi.core.models import City, CommuneArea
    from dothi.reports import demo
    from dothi.reports.models import Report, RoutingRule, Status

    say("Loading administrative units and building the city…")
    geo.load_admin_units()
    with transaction.atomic():
        city = City.objects.create(**CITY, settings={"bench": BENCH_MARK})
        geo.city_build_approximate_boundaries(city)
        orgs = _seed_organisations(city, now)
        areas = list(CommuneArea.objects.filter(city=city).select_related("commune").order_by("commune_id"))
        communes_by_name = {a.commune.name: a.commune_id for a in areas}
        categories = demo._seed_categories(city, orgs, communes_by_name)
        demo._seed_agency_setup(city, orgs)
    say("Creating the benchmark citizens…")
    citizens = create_citizens(city)

    rng = np.random.default_rng(48)
    specs = list(demo.CATEGORIES)
    cat_weights = np.array([s.weight for s in specs], dtype=float)
    cat_index = rng.choice(len(specs), size=N_REPORTS, p=cat_weights / cat_weights.sum())
    cells, weights, codes = [], [], []
    for area in areas:
        commune = area.commune
        if commune.kind == "đặc khu":
            continue
        cells.append(shape(area.geometry))
        weights.append(12 if commune.name in demo.URBAN_WARDS else 3 if commune.kind == "phường" else 1)
        codes.append(commune.pk)
    weights = np.array(weights, dtype=float)
    counts = rng.multinomial(N_REPORTS, weights / weights.sum())
    say(f"Sampling {N_REPORTS:,} points inside {len(cells)} communes…")
    lat, lon, commune_index = _sample_points(cells, counts, rng)
    order = rng.permutation(N_REPORTS)  # communes were generated in blocks: mix them
    lat, lon, commune_index = lat[order], lon[order], commune_index[order]

    age_s = rng.uniform(0, YEARS * 365 * 86400, N_REPORTS)
    ack_h = rng.lognormal(math.log(5), 1.0, N_REPORTS)
    resolve_h = rng.lognormal(math.log(40), 0.9, N_REPORTS)
    fate = rng.random(N_REPORTS)
    open_kind = rng.choice(5, size=N_REPORTS, p=[0.3, 0.2, 0.4, 0.05, 0.05])
    reporter = rng.integers(0, len(citizens), N_REPORTS)
    hidden = rng.random(N_REPORTS) < 0.001
    open_statuses = [Status.RECEIVED, Status.ASSIGNED, Status.IN_PROGRESS, Status.NEEDS_INFO, Status.REOPENED]

    rules = {(r.category_id, r.commune_id): r.agency_id for r in RoutingRule.objects.filter(city=city)}
    cat_objs = [categories[s.code] for s in specs]
    descriptions = [s.descriptions for s in specs]
    fields = [f for f in Report._meta.concrete_fields]
    columns = [f.column for f in fields]
    defaults = {f.column: f.get_default() for f in fields if f.column != "id"}
    start_id = (Report.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    holidays = sorted(d for y in range(now.year - YEARS - 1, now.year + 2) for d in _vn_holidays(y))
    say(f"Writing {N_REPORTS:,} reports with COPY…")
    started = time.perf_counter()
    alphabet = demo.REFERENCE_ALPHABET
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg 3 cursor
        with raw.copy(f"COPY reports_report ({', '.join(columns)}) FROM STDIN") as copy:
            buffer = io.StringIO()
            for i in range(N_REPORTS):
                spec_i = int(cat_index[i])
                category = cat_objs[spec_i]
                commune = codes[int(commune_index[i])]
                submitted = now - dt.timedelta(seconds=float(age_s[i]))
                age_days = age_s[i] / 86400
                local_day = (submitted + dt.timedelta(hours=7)).date()
                due_day = np.busday_offset(local_day, category.deadline_working_days, roll="forward",
                                           holidays=holidays)
                due = submitted + dt.timedelta(days=int((due_day - np.datetime64(local_day)).astype(int)))
                acknowledged = submitted + dt.timedelta(hours=float(ack_h[i]))
                resolved = closed = None
                open_p = 0.6 if age_days < 3 else 0.2 if age_days < 14 else 0.03
                if fate[i] < open_p:
                    status = open_statuses[int(open_kind[i])]
                    if status == Status.RECEIVED or acknowledged > now:
                        status, acknowledged = Status.RECEIVED, None
                else:
                    resolved = submitted + dt.timedelta(hours=float(resolve_h[i]))
                    if resolved > now:
                        resolved = now - dt.timedelta(minutes=5)
                    acknowledged = min(acknowledged, resolved)
                    roll = (fate[i] - open_p) / (1 - open_p)
                    if roll < 0.08:
                        status, resolved, closed = Status.REJECTED, None, acknowledged
                    elif roll < 0.12:
                        status, resolved, closed = Status.DUPLICATE, None, acknowledged
                    elif resolved < now - dt.timedelta(days=14):
                        status, closed = Status.CLOSED, resolved + dt.timedelta(days=14)
                    else:
                        status = Status.RESOLVED
                updated = max(x for x in (submitted, acknowledged, resolved, closed) if x is not None)
                row = dict(defaults)
                row.update({
                    "city_id": city.pk,
                    "reference": f"BEN-{local_day:%y%m%d}-" + "".join(
                        alphabet[(i >> (5 * k)) & 31] for k in range(5, -1, -1)),
                    "category_id": category.pk,
                    "commune_id": commune,
                    "agency_id": rules.get((category.pk, commune)) or rules[(category.pk, None)],
                    "status": str(status),
                    "confidential": category.confidential,
                    "hidden": bool(hidden[i]),
                    "channel": "app",
                    "lat": round(float(lat[i]), 6),
                    "lon": round(float(lon[i]), 6),
                    "description": descriptions[spec_i][i % len(descriptions[spec_i])],
                    "attributes": {},
                    "reporter_id": citizens[int(reporter[i])],
                    "submitted_at": submitted,
                    "acknowledged_at": acknowledged,
                    "resolved_at": resolved,
                    "closed_at": closed,
                    "due_at": due,
                    "updated_at": updated,
                })
                row["id"] = start_id + i
                buffer.write("\t".join(_copy_text(row[c]) for c in columns))
                buffer.write("\n")
                if i % 20000 == 19999:
                    copy.write(buffer.getvalue())
                    buffer = io.StringIO()
            copy.write(buffer.getvalue())
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('reports_report', 'id'), "
            "(SELECT MAX(id) FROM reports_report))"
        )
    load_s = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE reports_report")
    say(f"Loaded in {load_s:.1f} s ({N_REPORTS / load_s:,.0f} rows/s, generation included).")
    return {"load_s": load_s}


def _vn_holidays(year: int):
    import holidays

    return list(holidays.country_holidays("VN", years=year).keys())


def create_citizens(city) -> list[int]:
    from django.contrib.auth.hashers import make_password

    from dothi.identity import crypto
    from dothi.identity.models import User

    unusable = make_password(None)
    users = []
    for n in range(N_CITIZENS):
        id_number = f"048090{n:06d}"
        phone = f"+8490{n:07d}"
        users.append(User(
            username=f"bench-citizen-{n:05d}", password=unusable, kind=User.Kind.CITIZEN,
            display_name=f"Benchmark citizen {n}", id_number_enc=crypto.encrypt(id_number),
            id_number_hash=crypto.lookup_hash("cccd", id_number), phone_enc=crypto.encrypt(phone),
            phone_hash=crypto.lookup_hash("phone", phone), birth_year=1990,
            verification_level=User.Level.CITIZEN_ID, verified_by="format", home_city=city,
        ))
    User.objects.bulk_create(users, batch_size=1000)
    mine = User.objects.filter(username__startswith="bench-citizen-").order_by("pk")
    return list(mine.values_list("pk", flat=True))


def prepare_city(say) -> dict:
    """Migrate, load the data when missing, raise the benchmark city's rate limits, sign the citizens in."""
    from django.core.management import call_command
    from django.db import connection

    from dothi.core.models import City
    from dothi.reports.models import Report

    say(f"Migrating {database_url()}…")
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    city = City.objects.filter(slug=CITY_SLUG).first()
    figures: dict = {}
    rebuild = os.environ.get("BENCH_REBUILD") == "1"
    have = Report.objects.filter(city=city).count() if city else 0
    if city is None or rebuild or have < N_REPORTS or (city.settings or {}).get("bench") != BENCH_MARK:
        if city is not None or have:
            say("Emptying the benchmark database…")
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables "
                    "WHERE schemaname = 'public' "
                    "AND tablename NOT IN ('django_migrations', 'core_province', 'core_commune')"
                )
                tables = cursor.fetchone()[0]
                cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        figures = populate(dt.datetime.now(dt.UTC).replace(microsecond=0), say)
        city = City.objects.get(slug=CITY_SLUG)
    else:
        say(f"Reusing the {have:,} reports already loaded.")
    # Benchmark submissions come from one address and 2,000 people at 300+/s: raise the limits of
    # this city only (the production defaults stay for every other city and scope).
    city.settings = {
        **(city.settings or {}),
        "ratelimits": {
            "scopes": {"reports.submit": {"citizen_write": "1000000/h", "ip_write": "100000000/h"}}
        },
    }
    city.save(update_fields=["settings"])
    figures["reports"] = Report.objects.filter(city=city).count()
    figures["sessions"] = sign_in_citizens()
    return figures


def sign_in_citizens() -> list[str]:
    """A session for each benchmark citizen, created directly (as a sign-in would leave it)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from dothi.identity.models import User

    Session.objects.all().delete()
    backend = settings.AUTHENTICATION_BACKENDS[0]
    store = SessionStore()
    expire = timezone.now() + dt.timedelta(days=1)
    rows, keys = [], []
    for user in User.objects.filter(username__startswith="bench-citizen-").order_by("pk"):
        key = secrets.token_hex(16)
        data = {SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: backend,
                HASH_SESSION_KEY: user.get_session_auth_hash()}
        rows.append(Session(session_key=key, session_data=store.encode(data), expire_date=expire))
        keys.append(key)
    Session.objects.bulk_create(rows, batch_size=1000)
    return keys


# --- Serving and measuring ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, workers: int, data_dir: str) -> None:
        self.port = free_port()
        env = dict(os.environ, DOTHI_DATABASE_URL=database_url(), DOTHI_DATA_DIR=data_dir,
                   DJANGO_SETTINGS_MODULE="dothi.settings", DOTHI_DEBUG="0", BENCH_DB_POOL=db_pool())
        self.proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "uvicorn", "--factory", "reports:asgi_app", "--app-dir", str(BENCH_DIR),
             "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers), "--lifespan", "off",
             "--no-access-log", "--log-level", "warning"],
            env=env, start_new_session=True,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                status, _ = self.get("/open311/v2/discovery.json")
                if status == 200:
                    return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("the server did not start")

    def get(self, path: str, conn: http.client.HTTPConnection | None = None) -> tuple[int, bytes]:
        own = conn is None
        conn = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            if own:
                conn.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def measure_reads(server: Server, cases: dict[str, tuple[list[str], list[str]]], say) -> dict:
    """For each case, alternate app and baseline requests (keep-alive connections), 500 each."""
    results = {}
    for name, (app_paths, base_paths) in cases.items():
        app_conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        base_conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        timings: dict[str, list[float]] = {"app": [], "baseline": []}
        sizes: dict[str, list[int]] = {"app": [], "baseline": []}
        for i in range(WARMUP + LATENCY_REQUESTS):
            for label, conn, paths in (("app", app_conn, app_paths), ("baseline", base_conn, base_paths)):
                path = paths[i % len(paths)]
                started = time.perf_counter()
                status, body = server.get(path, conn)
                elapsed = (time.perf_counter() - started) * 1000
                if status != 200:
                    raise RuntimeError(f"{path} answered {status}: {body[:300]!r}")
                if i >= WARMUP:
                    timings[label].append(elapsed)
                    sizes[label].append(len(body))
        app_conn.close()
        base_conn.close()
        results[name] = {
            label: {"p50": percentile(t, 0.5), "p99": percentile(t, 0.99),
                    "mean_bytes": statistics.mean(sizes[label])}
            for label, t in timings.items()
        }
        app, base = results[name]["app"], results[name]["baseline"]
        say(f"  {name}: app p50 {app['p50']:.1f} ms p99 {app['p99']:.1f} ms; "
            f"baseline p50 {base['p50']:.1f} ms p99 {base['p99']:.1f} ms")
    return results


def read_cases(now: dt.datetime) -> dict[str, tuple[list[str], list[str]]]:
    from dothi.core.models import CommuneArea
    from dothi.reports import demo

    public = [s.code for s in demo.CATEGORIES if not s.confidential]
    urban = list(
        CommuneArea.objects.filter(city__slug=CITY_SLUG, commune__name__in=demo.URBAN_WARDS)
        .order_by("commune_id").values_list("commune_id", flat=True)
    )
    rng = random.Random(7)
    open_paths, updated_paths, map_paths, map_commune_paths = [], [], [], []
    for i in range(60):
        code = public[i % len(public)]
        since = (now - dt.timedelta(days=rng.randint(1, 30))).strftime("%Y-%m-%dT%H:%M:%SZ")
        commune = urban[i % len(urban)]
        open_paths.append(f"?service_code={code}&status=open&page_size=50")
        updated_paths.append(f"?service_code={code}&updated_after={since}&page_size=50")
        map_paths.append(f"?category={code}")
        map_commune_paths.append(f"?category={code}&commune={commune}")
    return {
        "open311_open": ([f"/open311/v2/requests.json{p}" for p in open_paths],
                         [f"/bench/baseline/requests.json{p}" for p in open_paths]),
        "open311_updated_after": ([f"/open311/v2/requests.json{p}" for p in updated_paths],
                                  [f"/bench/baseline/requests.json{p}" for p in updated_paths]),
        "map_category": ([f"/reports/map.geojson{p}" for p in map_paths],
                         [f"/bench/baseline/map.geojson{p}" for p in map_paths]),
        "map_category_commune": ([f"/reports/map.geojson{p}" for p in map_commune_paths],
                                 [f"/bench/baseline/map.geojson{p}" for p in map_commune_paths]),
    }


def submission_points(n: int) -> list[tuple[float, float]]:
    import shapely
    from shapely.geometry import shape

    from dothi.core.models import CommuneArea
    from dothi.reports import demo

    rng = random.Random(11)
    cells = [shape(g) for g in CommuneArea.objects.filter(
        city__slug=CITY_SLUG, commune__name__in=demo.URBAN_WARDS).values_list("geometry", flat=True)]
    points = []
    while len(points) < n:
        cell = rng.choice(cells)
        min_lon, min_lat, max_lon, max_lat = cell.bounds
        lon, lat = rng.uniform(min_lon, max_lon), rng.uniform(min_lat, max_lat)
        if shapely.contains_xy(cell, lon, lat):
            points.append((round(lat, 6), round(lon, 6)))
    return points


SUBMISSION_KINDS = [
    ("pothole", {"attr_size": "medium"}),
    ("street-light", {}),
    ("illegal-dumping", {"attr_waste_type": "household"}),
    ("noise", {"attr_source": "karaoke"}),
    ("water-supply", {"attr_issue": "leak"}),
]


def measure_submissions(server: Server, sessions: list[str], say) -> dict:
    points = submission_points(5000)
    stop = threading.Event()
    lock = threading.Lock()
    done: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []

    def worker(index: int) -> None:
        rng = random.Random(index)
        mine = sessions[index::SUBMIT_THREADS]
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        n = 0
        while not stop.is_set():
            session = mine[n % len(mine)]
            n += 1
            code, answers = SUBMISSION_KINDS[rng.randrange(len(SUBMISSION_KINDS))]
            lat, lon = points[rng.randrange(len(points))]
            cookie = f"sessionid={session}; csrftoken={CSRF}; dothi_language=vi"
            started = time.perf_counter()
            try:
                conn.request("GET", f"/reports/new/preview?category={code}&lat={lat}&lon={lon}",
                             headers={"Cookie": cookie})
                preview = conn.getresponse()
                preview.read()
                body = urllib.parse.urlencode({
                    "csrfmiddlewaretoken": CSRF, "category": code, "description": "Benchmark: một ổ gà lớn.",
                    "lat": lat, "lon": lon, "address": "", "idempotency_key": secrets.token_hex(12),
                    **answers,
                })
                conn.request("POST", "/reports/new/", body=body, headers={
                    "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
                response = conn.getresponse()
                content = response.read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
                with lock:
                    errors.append(repr(exc))
                continue
            elapsed = time.perf_counter() - started
            with lock:
                statuses[response.status] = statuses.get(response.status, 0) + 1
                if preview.status == 200 and response.status == 302:
                    done.append(elapsed)
                elif len(errors) < 5:
                    errors.append(f"{preview.status}/{response.status}: {content[:300]!r}")
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(SUBMIT_THREADS)]
    from dothi.reports.models import Report

    before = Report.objects.count()
    started = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(SUBMIT_SECONDS)
    stop.set()
    for t in threads:
        t.join(60)
    elapsed = time.perf_counter() - started
    created = Report.objects.count() - before
    rate = len(done) / elapsed
    say(f"  {len(done):,} submissions in {elapsed:.1f} s: {rate:.0f}/s; statuses {statuses}; "
        f"errors {errors[:3]}")
    return {"ok": len(done), "seconds": elapsed, "rate": rate, "created": created, "statuses": statuses,
            "errors": errors[:5], "p50": percentile(done, 0.5) * 1000 if done else None,
            "p99": percentile(done, 0.99) * 1000 if done else None}


def check_endpoints(server: Server) -> list[str]:
    """The endpoints this benchmark measures must exist and answer before anything is timed."""
    problems = []
    for path in ("/open311/v2/requests.json?page_size=1", "/reports/map.geojson?category=pothole",
                 "/bench/baseline/requests.json?page_size=1"):
        status, body = server.get(path)
        if status != 200:
            problems.append(f"{path}: {status}")
    return problems


def main() -> None:
    sys.path.insert(0, str(BENCH_DIR))
    import _report

    data_dir = tempfile.mkdtemp(prefix="dothi-bench-reports-")
    _configure_environment(data_dir)
    ensure_database()
    import django

    django.setup()
    from django.db import connections

    def say(message: str) -> None:
        print(message, flush=True)

    figures = prepare_city(say)
    now = dt.datetime.now(dt.UTC)
    cases = read_cases(now)
    sessions = figures.pop("sessions")
    connections.close_all()

    say(f"(a) reads: uvicorn with {READ_WORKERS} workers…")
    server = Server(READ_WORKERS, data_dir)
    try:
        problems = check_endpoints(server)
        if problems:
            raise RuntimeError(f"endpoints missing: {problems}")
        reads = measure_reads(server, cases, say)
    finally:
        server.stop()

    say(f"(b) submissions: uvicorn with {WRITE_WORKERS} workers, {SUBMIT_THREADS} client threads, "
        f"{SUBMIT_SECONDS:.0f} s…")
    server = Server(WRITE_WORKERS, data_dir)
    try:
        writes = measure_submissions(server, sessions, say)
    finally:
        server.stop()
    write_report(_report, figures, reads, writes)


def write_report(_report, figures: dict, reads: dict, writes: dict) -> None:
    scale = figures["reports"]
    scale_note = "" if scale >= 1_000_000 else " — **below the stated scale of 1,000,000**"
    titles = {
        "open311_open": "Open311 `GET requests.json?service_code=…&status=open&page_size=50`",
        "open311_updated_after": "Open311 `GET requests.json?service_code=…&updated_after=…&page_size=50`",
        "map_category": "map `GET /reports/map.geojson?category=…` (newest 5,000 points)",
        "map_category_commune": "map `GET /reports/map.geojson?category=…&commune=…`",
    }
    lines = [
        f"{scale:,} reports in PostgreSQL{scale_note} (2 years, {N_CITIZENS:,} citizens, 93 communes, "
        "10 categories, every status); the schema and indexes as migrated. Client and server share the "
        "machine's 2 cores. "
        + ("The served app used Django's psycopg connection pool (`OPTIONS['pool']`, `CONN_MAX_AGE=0`): with "
           "the shipped `conn_max_age=60`, every ASGI request thread kept its own idle connection and a "
           "trial "
           "run exhausted PostgreSQL's 100 connections (HTTP 500s under load)."
           if db_pool() == "1" else "The served app used the settings as shipped (`conn_max_age=60`)."),
        "",
        f"**(a) Reads**: {LATENCY_REQUESTS} sequential keep-alive requests per query "
        f"(after {WARMUP} warm-up), "
        f"uvicorn with {READ_WORKERS} workers. The baseline is a plain Django view in the same server (same "
        "middleware) running the same filter, order and limit and dumping the same fields with `json.dumps`; "
        "app and baseline requests alternate. Target: p99 < 100 ms.",
        "",
        "| query | app p50 | app p99 | baseline p50 | baseline p99 | ratio p50 (app/baseline) | body "
        "| target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, result in reads.items():
        app, base = result["app"], result["baseline"]
        verdict = "met" if app["p99"] < TARGET_P99_MS else "**missed**"
        lines.append(
            f"| {titles[name]} | {app['p50']:.1f} ms | {app['p99']:.1f} ms | {base['p50']:.1f} ms | "
            f"{base['p99']:.1f} ms | {app['p50'] / base['p50']:.2f}× | {app['mean_bytes'] / 1024:,.0f} KiB | "
            f"{verdict} |"
        )
    verdict = "met" if writes["rate"] >= TARGET_SUBMISSIONS else "**missed**"
    statuses = ", ".join(f"{k}: {v:,}" for k, v in sorted(writes["statuses"].items()))
    lines += [
        "",
        f"**(b) Submissions**: {SUBMIT_THREADS} client threads for {writes['seconds']:.0f} s against "
        f"uvicorn with {WRITE_WORKERS} workers, {N_CITIZENS:,} signed-in citizens (sessions created "
        "directly). One submission is the citizen's flow: `GET /reports/new/preview` (routing preview and "
        "duplicate search within 250 m) "
        "then `POST /reports/new/` (validation, commune lookup, routing, deadline, the report, its timeline "
        "event, the follower, the audit record, the rate-limit counters). No photos. Rate limits raised "
        "for the "
        "benchmark city only, through its policy (there is no per-user exemption).",
        "",
        "| figure | value | target |",
        "|---|---|---|",
        f"| submissions completed (preview + POST, 302) | {writes['ok']:,} | |",
        f"| sustained submissions/s | {writes['rate']:.0f} | ≥ {TARGET_SUBMISSIONS:.0f}: {verdict} |",
        f"| latency of one submission (both requests) p50 / p99 | "
        f"{writes['p50'] or 0:.0f} ms / {writes['p99'] or 0:.0f} ms | |",
        f"| reports created in the database | {writes['created']:,} | |",
        f"| HTTP statuses of the POSTs | {statuses} | |",
        "",
    ]
    if writes["errors"]:
        lines += ["Errors seen: " + "; ".join(str(e)[:200] for e in writes["errors"]), ""]
    _report.write("reports", "Citizen reports at 1,000,000 reports (Open311, map, submissions)", lines)


if __name__ == "__main__":
    main()
