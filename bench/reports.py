"""Citizen reports at scale: 1,000,000 reports in PostgreSQL.

The platform is served as `dothi serve --server wsgi` runs it (gunicorn with threaded WSGI workers) with
Redis as the shared cache (DOTHI_REDIS_URL: rate-limit counters; sessions cached, written through to the
database), the deployment docs/deployment.md describes for load.

(a) Read latency: Open311 `GET /open311/v2/requests.json` (a filtered page) and the public map's data
    `GET /reports/map.json` (the whole city, and a 2 km viewport), p50/p99 over 500 sequential
    keep-alive requests each, 2 workers. A plain Django view doing the same query (same filter, order,
    limit and fields, no selectors/serialisers/params layer) is served by the same workers behind the same
    middleware; requests alternate between the two, so the ratio app/baseline compares like with like.
(b) Sustained submissions per second over HTTP, 4 workers, from 2,000 signed-in benchmark citizens for
    30 s (BENCH_SUBMIT_SECONDS), by wrk (a C load generator, so the client takes little of the 2 cores)
    with 32 connections (BENCH_SUBMIT_CONNECTIONS): `POST /api/v1/reports/`, the app's submission
    (`report_submit`: validation, commune lookup, routing, deadline, duplicate search within 250 m,
    the report, its event, the follower, the audit record). No photos. The production rate limits stay
    in force, raised for the benchmark city only through its policy
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
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import _harness  # bench/_harness.py: this folder is on the path (script or --pythonpath)

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/dothi_bench"
N_REPORTS = int(os.environ.get("BENCH_REPORTS", "1000000"))
N_CITIZENS = 2000
YEARS = 2
LATENCY_REQUESTS = int(os.environ.get("BENCH_LATENCY_REQUESTS", "500"))
WARMUP = 30
SUBMIT_SECONDS = float(os.environ.get("BENCH_SUBMIT_SECONDS", "30"))
SUBMIT_CONNECTIONS = int(os.environ.get("BENCH_SUBMIT_CONNECTIONS", "32"))
READ_WORKERS = 2
WRITE_WORKERS = 4
TARGET_P99_MS = 100.0
TARGET_SUBMISSIONS = 300.0
CITY_SLUG = "danang"
CSRF = "benchcsrf" + "0" * 23  # a 32-character CSRF secret, sent as cookie and as form field
BENCH_MARK = "bench-reports-v1"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")


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
    """The map query with plain Django: the newest public reports of a category (in a box), 5,000 at
    most, as the same compact rows the app's `map.json` sends, dumped with json.dumps."""
    from django.http import HttpResponse

    from dothi.reports.models import Category, Report, Status

    q = request.GET
    qs = Report.objects.filter(city_id=_city_id(), confidential=False, hidden=False)
    if q.get("category"):
        qs = qs.filter(category__code=q["category"])
    if q.get("bbox"):
        west, south, east, north = (float(v) for v in q["bbox"].split(","))
        qs = qs.filter(lon__gte=west, lon__lte=east, lat__gte=south, lat__lte=north)
    rows = qs.order_by("-submitted_at").values_list("lat", "lon", "reference", "category_id", "status")[:5000]
    categories = Category.objects.filter(city_id=_city_id()).values_list("id", "code", "name_vi")
    body = {
        "categories": {str(pk): [code, name] for pk, code, name in categories},
        "statuses": {value: str(label) for value, label in Status.choices},
        "truncated": len(rows) >= 5000,
        "points": [list(row) for row in rows],
    }
    return HttpResponse(json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                        content_type="application/json")


def wsgi_app():
    """gunicorn factory (`reports:wsgi_app()`): the project's WSGI application with this module as the
    URLconf, which mounts the project's URLs and the two baseline views."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dothi.settings")
    import django
    from django.conf import settings

    django.setup(set_prefix=False)
    from django.urls import include, path

    globals()["urlpatterns"] = [
        path("bench/baseline/requests.json", baseline_requests),
        path("bench/baseline/map.json", baseline_map),
        path("", include("dothi.urls")),
    ]
    settings.ROOT_URLCONF = __name__
    from django.core.handlers.wsgi import WSGIHandler

    return WSGIHandler()


# --- The database ---------------------------------------------------------------------------------------


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
        cursor.execute("VACUUM ANALYZE reports_report")  # as autovacuum leaves it: index-only scans work
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


def Server(workers: int, data_dir: str) -> _harness.Server:  # noqa: N802 - reads as the class it makes
    return _harness.Server(workers, data_dir, database_url=database_url(), redis_url=REDIS_URL,
                           app="reports:wsgi_app()", ready_path="/open311/v2/discovery.json")


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
            label: {"p50": _harness.percentile(t, 0.5), "p99": _harness.percentile(t, 0.99),
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
        .order_by("commune_id").values_list("commune__centre_lat", "commune__centre_lon")
    )
    rng = random.Random(7)
    open_paths, updated_paths, map_paths, map_zoom_paths = [], [], [], []
    for i in range(60):
        code = public[i % len(public)]
        since = (now - dt.timedelta(days=rng.randint(1, 30))).strftime("%Y-%m-%dT%H:%M:%SZ")
        lat, lon = urban[i % len(urban)]
        # A viewport of about 2 km × 2 km around a ward's centre (the map zoomed in to a neighbourhood).
        box = f"{lon - 0.01:.5f},{lat - 0.009:.5f},{lon + 0.01:.5f},{lat + 0.009:.5f}"
        open_paths.append(f"?service_code={code}&status=open&page_size=50")
        updated_paths.append(f"?service_code={code}&updated_after={since}&page_size=50")
        map_paths.append(f"?category={code}")
        map_zoom_paths.append(f"?category={code}&bbox={box}")
    return {
        "open311_open": ([f"/open311/v2/requests.json{p}" for p in open_paths],
                         [f"/bench/baseline/requests.json{p}" for p in open_paths]),
        "open311_updated_after": ([f"/open311/v2/requests.json{p}" for p in updated_paths],
                                  [f"/bench/baseline/requests.json{p}" for p in updated_paths]),
        "map_category": ([f"/reports/map.json{p}" for p in map_paths],
                         [f"/bench/baseline/map.json{p}" for p in map_paths]),
        "map_category_viewport": ([f"/reports/map.json{p}" for p in map_zoom_paths],
                                  [f"/bench/baseline/map.json{p}" for p in map_zoom_paths]),
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
    ("pothole", {"size": "medium"}),
    ("street-light", {}),
    ("illegal-dumping", {"waste_type": "household"}),
    ("noise", {"source": "karaoke"}),
    ("water-supply", {"issue": "leak"}),
]

WRK_SCRIPT = r"""
-- Each request: a random benchmark citizen's session, a random point and category, a fresh
-- Idempotency-Key; statuses are counted and printed as JSON when the run ends.
dofile(DATA_FILE)
local counter = 0
request = function()
  counter = counter + 1
  local s = sessions[math.random(#sessions)]
  local p = points[math.random(#points)]
  local k = kinds[math.random(#kinds)]
  local headers = {}
  headers["Cookie"] = "sessionid=" .. s .. "; csrftoken=" .. CSRF .. "; dothi_language=vi"
  headers["X-CSRFToken"] = CSRF
  headers["Content-Type"] = "application/x-www-form-urlencoded"
  headers["Idempotency-Key"] = string.format("%s-%d-%d-%x", RUN, tid, counter, math.random(0, 2^30))
  return wrk.format("POST", "/api/v1/reports/", headers, k .. "&lat=" .. p[1] .. "&lon=" .. p[2])
end
local threads = {}
setup = function(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end
init = function(args)
  codes = {}
  sample = ""
  math.randomseed(SEED * 1000 + tid)  -- each thread its own sequence of citizens, points and keys
end
response = function(status, headers, body)
  codes[status] = (codes[status] or 0) + 1
  if status ~= 201 and sample == "" then sample = body:sub(1, 200) end
end
done = function(summary, latency, requests)
  local merged, samples = {}, {}
  for _, t in ipairs(threads) do
    local c = t:get("codes")
    for k, v in pairs(c) do merged[k] = (merged[k] or 0) + v end
    local smp = t:get("sample")
    if smp ~= "" then table.insert(samples, smp) end
  end
  local parts = {}
  for k, v in pairs(merged) do table.insert(parts, string.format('"%d": %d', k, v)) end
  io.write("WRK-JSON {\"codes\": {" .. table.concat(parts, ", ") .. "}, ")
  io.write(string.format('"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, ',
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
  local sample = ((samples[1] or ""):gsub('[%c"\\]', " "))
  io.write(string.format('"requests": %d, "seconds": %f, "errors": %d, "timeouts": %d, "sample": "%s"}\n',
    summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status,
    summary.errors.timeout, sample))
end
"""


def _lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def measure_submissions(server: Server, sessions: list[str], say) -> dict:
    """wrk (a C load generator, so the client takes little of the 2 cores) posts the JSON API's
    submission from SUBMIT_CONNECTIONS connections for SUBMIT_SECONDS; counts come from its Lua hooks
    and from the database."""
    points = submission_points(5000)
    kinds = []
    for code, answers in SUBMISSION_KINDS:
        kinds.append(urllib.parse.urlencode({
            "category": code, "description": "Benchmark: một ổ gà lớn trước nhà số 12.",
            "address": "", "attributes": json.dumps(answers),
        }))
    folder = Path(tempfile.mkdtemp(prefix="dothi-bench-wrk-"))
    data = folder / "data.lua"
    data.write_text(
        "sessions = {" + ",".join(_lua_string(k) for k in sessions) + "}\n"
        + "points = {" + ",".join(f"{{{lat},{lon}}}" for lat, lon in points) + "}\n"
        + "kinds = {" + ",".join(_lua_string(k) for k in kinds) + "}\n"
    )
    script = folder / "submit.lua"
    script.write_text(
        f"DATA_FILE = {_lua_string(str(data))}\nCSRF = {_lua_string(CSRF)}\nSEED = 48\n"
        # Keys unique to this run: a key an earlier run used would replay that run's report (idempotency).
        f"RUN = {_lua_string(secrets.token_hex(6))}\n" + WRK_SCRIPT
    )
    from dothi.reports.models import Report

    before = Report.objects.count()
    command = ["wrk", "-t2", f"-c{SUBMIT_CONNECTIONS}", f"-d{int(SUBMIT_SECONDS)}s", "--timeout", "10s",
               "-s", str(script), f"http://127.0.0.1:{server.port}/api/v1/reports/"]
    run = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
    line = next(x for x in run.stdout.splitlines() if x.startswith("WRK-JSON "))
    result = json.loads(line[len("WRK-JSON "):])
    created = Report.objects.count() - before
    ok = int(result["codes"].get("201", 0))
    rate = ok / result["seconds"]
    say(f"  {ok:,} submissions (201) in {result['seconds']:.1f} s: {rate:.0f}/s; statuses {result['codes']}; "
        f"p50 {result['p50_us'] / 1000:.0f} ms, p99 {result['p99_us'] / 1000:.0f} ms; created {created:,}")
    return {"ok": ok, "seconds": result["seconds"], "rate": rate, "created": created,
            "statuses": {int(k): v for k, v in result["codes"].items()},
            "errors": [result["sample"]] if result["sample"] else [],
            "socket_errors": result["errors"], "timeouts": result["timeouts"],
            "p50": result["p50_us"] / 1000, "p90": result["p90_us"] / 1000, "p99": result["p99_us"] / 1000}


def check_endpoints(server: Server) -> list[str]:
    """The endpoints this benchmark measures must exist and answer before anything is timed."""
    problems = []
    for path in ("/open311/v2/requests.json?page_size=1", "/reports/map.json?category=pothole",
                 "/bench/baseline/requests.json?page_size=1", "/bench/baseline/map.json?category=pothole"):
        status, body = server.get(path)
        if status != 200:
            problems.append(f"{path}: {status}")
    return problems


def main() -> None:
    sys.path.insert(0, str(BENCH_DIR))
    import _report

    data_dir = tempfile.mkdtemp(prefix="dothi-bench-reports-")
    _configure_environment(data_dir)
    _harness.ensure_database(database_url())
    import django

    django.setup()
    from django.db import connections

    def say(message: str) -> None:
        print(message, flush=True)

    load_at_start = _harness.load_average()
    figures = prepare_city(say)
    figures["load_at_start"] = load_at_start
    now = dt.datetime.now(dt.UTC)
    cases = read_cases(now)
    sessions = figures.pop("sessions")
    connections.close_all()

    flush_redis()
    say(f"(a) reads: gunicorn (WSGI) with {READ_WORKERS} workers…")
    server = Server(READ_WORKERS, data_dir)
    try:
        problems = check_endpoints(server)
        if problems:
            raise RuntimeError(f"endpoints missing: {problems}")
        reads = measure_reads(server, cases, say)
    finally:
        server.stop()

    say(f"(b) submissions: gunicorn (WSGI) with {WRITE_WORKERS} workers, wrk with {SUBMIT_CONNECTIONS} "
        f"connections, {SUBMIT_SECONDS:.0f} s…")
    server = Server(WRITE_WORKERS, data_dir)
    try:
        writes = measure_submissions(server, sessions, say)
    finally:
        server.stop()
    write_report(_report, figures, reads, writes)


def flush_redis() -> None:
    """Start from an empty benchmark cache (rate-limit counters and cached sessions of earlier runs)."""
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def write_report(_report, figures: dict, reads: dict, writes: dict) -> None:
    scale = figures["reports"]
    scale_note = "" if scale >= 1_000_000 else " — **below the stated scale of 1,000,000**"
    titles = {
        "open311_open": "Open311 `GET requests.json?service_code=…&status=open&page_size=50`",
        "open311_updated_after": "Open311 `GET requests.json?service_code=…&updated_after=…&page_size=50`",
        "map_category": "public map `GET /reports/map.json?category=…` (whole city: newest 5,000 points)",
        "map_category_viewport": "public map `GET /reports/map.json?category=…&bbox=…` (a 2 km viewport)",
    }
    lines = [
        f"{scale:,} reports in PostgreSQL{scale_note} (2 years, {N_CITIZENS:,} citizens, 93 communes, "
        f"10 categories, every status); the schema and indexes as migrated. Machine: {_harness.machine()}; "
        "client and server share it. The platform is served as `dothi serve --server wsgi` runs it "
        "(gunicorn, "
        "threaded WSGI workers, the shipped settings with the psycopg pool) with Redis as the shared cache "
        "(`DOTHI_REDIS_URL`: rate-limit counters, sessions read from Redis and written through to "
        "PostgreSQL), the deployment docs/deployment.md describes for load. Load average when the run "
        f"started: {figures['load_at_start']}; at its end: {_harness.load_average()} "
        "(other work on the machine shows up here).",
        "",
        f"**(a) Reads**: {LATENCY_REQUESTS} sequential keep-alive requests per query "
        f"(after {WARMUP} warm-up), {READ_WORKERS} workers. The baseline is a plain Django view in the same "
        "server (same middleware) running the same filter, order and limit and dumping the same fields with "
        "`json.dumps`; app and baseline requests alternate. Target: p99 < 100 ms. The public map page asks "
        "`map.json` for the newest 5,000 points in its viewport (compact rows) and asks again when it "
        "moves; `map.geojson` gives the same points as GeoJSON for other tools.",
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
    stored = "yes" if abs(writes["created"] - writes["ok"]) <= SUBMIT_CONNECTIONS else "**no**"
    statuses = ", ".join(f"{k}: {v:,}" for k, v in sorted(writes["statuses"].items()))
    lines += [
        "",
        f"**(b) Submissions**: wrk with {SUBMIT_CONNECTIONS} connections for {writes['seconds']:.0f} s "
        f"against {WRITE_WORKERS} workers, as {N_CITIZENS:,} signed-in citizens (sessions created directly, "
        "one picked at random per request). Each request is the app's submission "
        "`POST /api/v1/reports/` with a fresh `Idempotency-Key`, a random point in the urban wards and one "
        "of five categories with their answers: session and CSRF checks, the rate limits (raised for the "
        "benchmark city only, through its policy; there is no per-user exemption), validation, commune "
        "lookup, routing, deadline, the duplicate search within 250 m (a match is linked to the new "
        "report), the report, its timeline event, the follower, the audit record. No photos.",
        "",
        "| figure | value | target |",
        "|---|---|---|",
        f"| submissions accepted (201) | {writes['ok']:,} | |",
        f"| sustained submissions/s | {writes['rate']:.0f} | ≥ {TARGET_SUBMISSIONS:.0f}: {verdict} |",
        f"| latency p50 / p90 / p99 | {writes['p50']:.0f} ms / {writes['p90']:.0f} ms / "
        f"{writes['p99']:.0f} ms | |",
        f"| reports created in the database | {writes['created']:,} | equal to the 201s (± the requests "
        f"in flight when wrk stopped): {stored} |",
        f"| HTTP statuses | {statuses} | |",
        f"| socket errors / timeouts | {writes['socket_errors']} / {writes['timeouts']} | |",
        "",
    ]
    if writes["errors"]:
        lines += ["A non-201 answer seen: " + "; ".join(str(e)[:200] for e in writes["errors"]), ""]
    _report.write("reports", "Citizen reports at 1,000,000 reports (Open311, map, submissions)", lines)


if __name__ == "__main__":
    main()
