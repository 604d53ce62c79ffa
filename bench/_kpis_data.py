"""The dataset of bench/kpis.py: a year (2026, local calendar) of the demo city scaled up, in PostgreSQL.

- The city, its communes (approximate boundaries), agencies, report categories, 2,000 citizens and
  1,000,000 reports come from bench/reports.py's `populate` (COPY), spread over the year and seen from
  its end (2027-01-01 00:00 local): resolution and acknowledgement times, deadlines by the working
  calendar, every status.
- Sensors (air quality, water, weather) placed in the communes, and their raw observations generated
  server-side (INSERT … SELECT from generate_series, one statement per sensor and quantity, in key
  order): diurnal and seasonal PM2.5/PM10/NO2 curves with pollution episodes, tides and a rainy season,
  outages of a few hours to days and scattered lost readings. The hourly and daily rollups and the
  latest values are then derived from the raw rows with the bucket definitions of
  `dothi.sensing.ingestion` (hour = `date_trunc('hour', time, 'UTC')`, day = `date_trunc('day', time,
  city time zone)`), and a sample is checked against what the ingestion service itself writes.
- The appointments offices (the demo's four, plus a one-stop desk in every other commune), services and
  counters, and 500,000 past visits (booked online or walk-in; served, absent, cancelled) with arrival,
  call and finish times, bulk-loaded with COPY (visits carry no slot rows: the KPIs read visits).

The build may use `synchronous_commit = off` (its own session only); nothing timed runs with it.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import random
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

TZ = "Asia/Ho_Chi_Minh"
YEAR = 2026
MARK = "bench-kpis-v1"


@dataclass(frozen=True)
class Scale:
    name: str
    air: int  # sensors measuring pm25, pm10, no2, temperature, humidity
    water: int  # water_level, rainfall
    weather: int  # temperature, humidity, wind_speed, rainfall, pressure
    air_minutes: int
    other_minutes: int
    reports: int
    bookings: int

    @property
    def expected_observations(self) -> int:
        """Before gaps: the readings of a full year at the sensors' intervals."""
        minutes = 365 * 24 * 60
        return self.air * 5 * (minutes // self.air_minutes) + (self.water * 2 + self.weather * 5) * (
            minutes // self.other_minutes
        )


FULL = Scale(
    "full", air=80, water=40, weather=18, air_minutes=5, other_minutes=10, reports=1_000_000, bookings=500_000
)
SMALL = Scale(
    "small", air=8, water=4, weather=2, air_minutes=60, other_minutes=60, reports=20_000, bookings=10_000
)

QUANTITIES = {
    "air": ["pm25", "pm10", "no2", "temperature", "humidity"],
    "water": ["water_level", "rainfall"],
    "weather": ["temperature", "humidity", "wind_speed", "rainfall", "pressure"],
}
DROP_RATE = 0.005  # readings lost at random (radio, gateway)

# Value models in SQL: `t` the reading's time, `h` the local hour (fractional), `d` the local day of the
# year; %(base)s, %(phase)s are the sensor's own parameters. random() gives the noise (seeded per series).
_H = f"(extract(hour from t AT TIME ZONE '{TZ}') + extract(minute from t AT TIME ZONE '{TZ}') / 60.0)"
_D = f"extract(doy from t AT TIME ZONE '{TZ}')"
_EPISODE = "(1 + 1.1 * power(greatest(0, sin(2 * pi() * d / 23.0 + %(phase)s)), 10))"
_DIURNAL_PM = (
    "(0.8 + 0.4 * exp(-power(h - 7.5, 2) / 2.0) + 0.55 * exp(-power(h - 20, 2) / 4.5) "
    "- 0.15 * exp(-power(h - 14, 2) / 8.0))"
)
_WINTER = "(1 + 0.35 * cos(2 * pi() * (d - 15) / 365.0))"
VALUE_SQL = {
    "pm25": f"greatest(1, %(base)s * {_WINTER} * {_DIURNAL_PM} * {_EPISODE} * (0.8 + 0.4 * random()))",
    "pm10": f"greatest(2, 1.7 * %(base)s * {_WINTER} * {_DIURNAL_PM} * {_EPISODE} * (0.75 + 0.5 * random()))",
    "no2": (
        "greatest(1, (%(base)s + 8) * (0.65 + 0.5 * exp(-power(h - 8, 2) / 2.0) "
        "+ 0.6 * exp(-power(h - 18.5, 2) / 3.0)) * (0.8 + 0.4 * random()))"
    ),
    "temperature": (
        "25.5 + 4 * cos(2 * pi() * (d - 190) / 365.0) + 3.5 * cos(2 * pi() * (h - 14) / 24.0) "
        "+ (random() - 0.5)"
    ),
    "humidity": (
        "least(100, 78 - 6 * cos(2 * pi() * (d - 190) / 365.0) - 9 * cos(2 * pi() * (h - 14) / 24.0)"
        " + 6 * (random() - 0.5))"
    ),
    "water_level": (
        "0.9 + 0.45 * sin(2 * pi() * extract(epoch from t) / 44712.0 + %(phase)s) "
        "+ 1.1 * exp(-power(d - 300, 2) / 150.0) + 0.05 * random()"
    ),
    "rainfall": (
        "CASE WHEN random() < 0.02 + 0.2 * exp(-power(d - 295, 2) / 700.0) "
        "THEN 12 * power(random(), 3) ELSE 0 END"
    ),
    "wind_speed": "greatest(0, 2.5 + 1.5 * sin(2 * pi() * (h - 9) / 24.0) + 1.2 * random())",
    "pressure": "1010 + 4 * cos(2 * pi() * (d - 15) / 365.0) + 1.2 * (random() - 0.5)",
}


def year_bounds() -> tuple[dt.datetime, dt.datetime]:
    tz = ZoneInfo(TZ)
    return dt.datetime(YEAR, 1, 1, tzinfo=tz), dt.datetime(YEAR + 1, 1, 1, tzinfo=tz)


def _fast_session(cursor) -> None:
    """Bulk load settings for the build's own session (never for the timed part)."""
    cursor.execute("SET synchronous_commit = off")
    cursor.execute("SET maintenance_work_mem = '1GB'")
    cursor.execute("SET work_mem = '256MB'")


# --- The city and its reports (bench/reports.py) ----------------------------------------------------------


def build_city_and_reports(scale: Scale, say) -> float:
    import reports  # bench/reports.py
    from django.db import connection

    reports.N_REPORTS = scale.reports
    reports.YEARS = 1  # one year ending at `now`: 2026-01-01 00:00 local … 2027-01-01 00:00 local
    _start, end = year_bounds()
    with connection.cursor() as cursor:
        _fast_session(cursor)
    started = time.perf_counter()
    reports.populate(end.astimezone(dt.UTC), say)
    return time.perf_counter() - started


# --- Sensors and observations -----------------------------------------------------------------------------


def build_sensors(city, scale: Scale, say) -> list:
    import numpy as np
    import reports  # bench/reports.py: its point sampler
    from shapely.geometry import shape

    from dothi.core.models import CommuneArea
    from dothi.reports import demo as reports_demo
    from dothi.sensing import services
    from dothi.sensing.models import Sensor
    from dothi.sensing.quantities import ensure_global_catalogue

    ensure_global_catalogue()
    areas = [
        a
        for a in CommuneArea.objects.filter(city=city).select_related("commune").order_by("commune_id")
        if a.commune.kind != "đặc khu"
    ]
    urban = [a for a in areas if a.commune.name in reports_demo.URBAN_WARDS]
    rng = np.random.default_rng(2026)
    kinds = [("air", scale.air), ("water", scale.water), ("weather", scale.weather)]
    say(f"Registering {sum(n for _k, n in kinds)} sensors…")
    sensors = []
    for kind, count in kinds:
        # Air sensors mostly in the urban wards (as cities deploy them), one in every other commune in turn.
        cells = [
            urban[i % len(urban)] if (kind == "air" and i % 3) else areas[(i * 7) % len(areas)]
            for i in range(count)
        ]
        lat, lon, _idx = reports._sample_points([shape(a.geometry) for a in cells], [1] * count, rng)
        for i in range(count):
            sensors.append(
                services.sensor_register(
                    actor=None,
                    city=city,
                    code=f"KPI-{kind[:3].upper()}-{i + 1:03d}",
                    name=f"{kind} {i + 1}",
                    kind=kind,
                    lat=round(float(lat[i]), 6),
                    lon=round(float(lon[i]), 6),
                    quantities=QUANTITIES[kind],
                    expected_interval_seconds=60
                    * (scale.air_minutes if kind == "air" else scale.other_minutes),
                )
            )
    Sensor.objects.filter(pk__in=[s.pk for s in sensors]).update(
        created_at=year_bounds()[0] - dt.timedelta(days=30)
    )
    return sensors


def _outages(rng: random.Random, start: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """Two outages a sensor: from a few hours to three days."""
    out = []
    for _ in range(2):
        begin = start + dt.timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
        out.append((begin, begin + dt.timedelta(hours=rng.uniform(2, 72))))
    return out


def build_observations(city, sensors, scale: Scale, say) -> dict:
    """The raw rows, then the rollups and latest values derived from them. Returns counts and times."""
    from django.db import connection

    from dothi.sensing.models import Quantity

    qids = {q.code: q.pk for q in Quantity.objects.filter(city__isnull=True)}
    start, end = year_bounds()
    rng = random.Random(48)
    series = sorted(
        ((s.pk, qids[code], s, code) for s in sensors for code in QUANTITIES[s.kind]), key=lambda x: x[:2]
    )
    say(
        f"Generating the raw observations of {len(series)} series "
        f"(about {scale.expected_observations:,} readings before gaps)…"
    )
    started = time.perf_counter()
    params_by_sensor = {
        s.pk: {
            "base": rng.uniform(12, 30),
            "phase": rng.uniform(0, 2 * math.pi),
            "outages": _outages(rng, start),
        }
        for s in sensors
    }
    with connection.cursor() as cursor:
        _fast_session(cursor)
        done = 0
        for n, (sid, qid, sensor, code) in enumerate(series, 1):
            p = params_by_sensor[sid]
            minutes = scale.air_minutes if sensor.kind == "air" else scale.other_minutes
            (o1, e1), (o2, e2) = p["outages"]
            value = VALUE_SQL[code]
            cursor.execute("SELECT setseed(%s)", [((sid * 31 + qid) % 10007) / 10007.0])
            cursor.execute(
                f"""INSERT INTO sensing_observation (sensor_id, quantity_id, time, value)
                SELECT %(sid)s, %(qid)s, t, round(({value})::numeric, 2)::float8
                FROM (SELECT t, {_H} AS h, {_D} AS d
                      FROM generate_series(%(start)s::timestamptz, %(last)s::timestamptz,
                                           make_interval(mins => %(minutes)s)) AS t) AS g
                WHERE random() >= %(drop)s AND NOT (t >= %(o1)s AND t < %(e1)s)
                    AND NOT (t >= %(o2)s AND t < %(e2)s)
                ORDER BY t""",  # noqa: S608 - the expressions are this module's constants
                {
                    "sid": sid,
                    "qid": qid,
                    "start": start,
                    "last": end - dt.timedelta(minutes=minutes),
                    "minutes": minutes,
                    "drop": DROP_RATE,
                    "o1": o1,
                    "e1": e1,
                    "o2": o2,
                    "e2": e2,
                    "base": p["base"],
                    "phase": p["phase"],
                },
            )
            done += cursor.rowcount
            if n % 25 == 0 or n == len(series):
                elapsed = time.perf_counter() - started
                say(
                    f"  {n}/{len(series)} series, {done:,} rows, {elapsed:.0f} s "
                    f"({done / elapsed:,.0f} rows/s)"
                )
    raw_s = time.perf_counter() - started
    say("Deriving the hourly and daily rollups and the latest values from the raw rows…")
    started = time.perf_counter()
    with connection.cursor() as cursor:
        _fast_session(cursor)
        for n, sensor in enumerate(sorted(sensors, key=lambda s: s.pk), 1):
            derive_rollups(cursor, sensor.pk, city.time_zone)
            if n % 20 == 0 or n == len(sensors):
                say(f"  {n}/{len(sensors)} sensors, {time.perf_counter() - started:.0f} s")
        cursor.execute("VACUUM ANALYZE sensing_observation")
        cursor.execute("VACUUM ANALYZE sensing_hourlyrollup")
        cursor.execute("VACUUM ANALYZE sensing_dailyrollup")
        cursor.execute("SELECT count(*) FROM sensing_hourlyrollup")
        hourly = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM sensing_dailyrollup")
        daily = cursor.fetchone()[0]
    rollup_s = time.perf_counter() - started
    say(
        f"  {done:,} raw rows in {raw_s:.0f} s; {hourly:,} hourly and {daily:,} daily rollups "
        f"in {rollup_s:.0f} s"
    )
    return {
        "observations": done,
        "raw_s": raw_s,
        "rollup_s": rollup_s,
        "hourly": hourly,
        "daily": daily,
        "series": len(series),
    }


def derive_rollups(cursor, sensor_id: int, tz: str, *, since=None, until=None) -> None:
    """The rollups and latest values of one sensor from its raw rows, bucketed as the ingestion does."""
    where = "sensor_id = %(sid)s"
    if since is not None:
        where += " AND time >= %(since)s AND time < %(until)s"
    args = {"sid": sensor_id, "tz": tz, "since": since, "until": until}
    for table, bucket in (
        ("sensing_hourlyrollup", "date_trunc('hour', time, 'UTC')"),
        ("sensing_dailyrollup", "date_trunc('day', time, %(tz)s)"),
    ):
        cursor.execute(
            f"""INSERT INTO {table} (sensor_id, quantity_id, bucket, count, sum, min, max)
            SELECT sensor_id, quantity_id, {bucket}, count(*), sum(value), min(value), max(value)
            FROM sensing_observation WHERE {where} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""",  # noqa: S608
            args,
        )
    if since is None:
        cursor.execute(
            """INSERT INTO sensing_latest (sensor_id, quantity_id, time, value)
            SELECT DISTINCT ON (sensor_id, quantity_id) sensor_id, quantity_id, time, value
            FROM sensing_observation WHERE sensor_id = %(sid)s ORDER BY sensor_id, quantity_id, time DESC""",
            args,
        )
        cursor.execute(
            "UPDATE sensing_sensor SET last_seen_at = (SELECT max(time) FROM sensing_latest "
            "WHERE sensor_id = %(sid)s) WHERE id = %(sid)s",
            args,
        )


def verify_rollups(city, sensors, say) -> list[str]:
    """For a few (sensor, quantity, local day): remove the day's raw rows and rollups, store the same rows
    again through `dothi.sensing.ingestion.ingest`, and compare what it wrote with the derived rollups
    (then roll everything back). Returns the problems found (none expected)."""
    from django.db import connection, transaction

    from dothi.sensing import ingestion
    from dothi.sensing.models import DataSource

    tz = ZoneInfo(city.time_zone)
    picks = []
    by_kind = {}
    for s in sensors:
        by_kind.setdefault(s.kind, s)
    for (kind, code), day in (
        (("air", "pm25"), dt.date(YEAR, 3, 10)),
        (("water", "rainfall"), dt.date(YEAR, 10, 21)),
        (("weather", "pressure"), dt.date(YEAR, 1, 1)),
        (("air", "no2"), dt.date(YEAR, 12, 31)),
    ):
        if kind in by_kind:
            picks.append((by_kind[kind], code, day))
    source, _ = DataSource.objects.get_or_create(city=city, name="bench-kpis-check")
    problems = []
    for sensor, code, day in picks:
        low = dt.datetime.combine(day, dt.time(0), tz)
        high = low + dt.timedelta(days=1)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT id FROM sensing_quantity WHERE city_id IS NULL AND code = %s", [code])
                qid = cursor.fetchone()[0]
                cursor.execute(
                    "SELECT time, value FROM sensing_observation WHERE sensor_id = %s AND quantity_id = %s "
                    "AND time >= %s AND time < %s ORDER BY time",
                    [sensor.pk, qid, low, high],
                )
                rows = cursor.fetchall()
                derived = _rollups(cursor, sensor.pk, qid, low, high)
                cursor.execute(
                    "DELETE FROM sensing_observation WHERE sensor_id = %s AND quantity_id = %s "
                    "AND time >= %s AND time < %s",
                    [sensor.pk, qid, low, high],
                )
                for table in ("sensing_hourlyrollup", "sensing_dailyrollup"):
                    cursor.execute(
                        f"DELETE FROM {table} WHERE sensor_id = %s AND quantity_id = %s "  # noqa: S608
                        "AND bucket >= %s AND bucket < %s",
                        [sensor.pk, qid, low, high],
                    )
            result = ingestion.ingest(
                city=city,
                source=source,
                items=[(sensor.code, code, t, v) for t, v in rows],
                now=dt.datetime(YEAR + 1, 1, 2, tzinfo=dt.UTC),
            )
            with connection.cursor() as cursor:
                written = _rollups(cursor, sensor.pk, qid, low, high)
            transaction.set_rollback(True)
        label = f"{sensor.code}/{code} {day}"
        if result.accepted != len(rows) or result.rejected:
            problems.append(
                f"{label}: ingestion accepted {result.accepted} of {len(rows)} ({result.rejected[:2]})"
            )
        elif not rows:
            problems.append(f"{label}: no rows to check")
        elif not _same(derived, written):
            problems.append(f"{label}: derived {derived[:3]}… ≠ ingested {written[:3]}…")
        else:
            say(
                f"  {label}: {len(rows)} readings, {len(written) - 1} hourly + 1 daily rollups as ingestion "
                "writes them"
            )
    return problems


def _rollups(cursor, sid, qid, low, high) -> list[tuple]:
    out = []
    for table in ("sensing_hourlyrollup", "sensing_dailyrollup"):
        cursor.execute(
            f"SELECT bucket, count, sum, min, max FROM {table} WHERE sensor_id = %s "  # noqa: S608
            "AND quantity_id = %s AND bucket >= %s AND bucket < %s ORDER BY bucket",
            [sid, qid, low, high],
        )
        out += [(table, *r) for r in cursor.fetchall()]
    return out


def _same(a: list[tuple], b: list[tuple]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if x[:3] != y[:3] or x[4:] != y[4:] or not math.isclose(x[3], y[3], rel_tol=1e-9, abs_tol=1e-9):
            return False
    return True


# --- Appointments -----------------------------------------------------------------------------------------


def build_bookings(city, scale: Scale, say) -> dict:
    """The demo's offices, services and counters plus a one-stop desk in every other commune, and
    `scale.bookings` past visits over the year's opening days, COPied."""
    import numpy as np
    import reports  # bench/reports.py: COPY text encoding
    from django.db import connection, transaction

    from dothi.appointments import demo, services
    from dothi.appointments.models import Booking, Counter, Office
    from dothi.core.calendar import WorkingCalendar
    from dothi.core.models import CommuneArea, Organisation
    from dothi.identity.models import User

    say("Creating the offices, services and counters…")
    with transaction.atomic():
        orgs = {o.code: o for o in Organisation.objects.for_city(city)}
        offices, by_code = demo._seed_config(city, orgs)
        have = {o.commune_id for o in offices}
        desk_services = [
            by_code[c]
            for c in (
                "dang-ky-khai-sinh",
                "dang-ky-ket-hon",
                "chung-thuc-ban-sao",
                "xac-nhan-tinh-trang-hon-nhan",
                "dang-ky-ho-kinh-doanh",
            )
        ]
        for area in CommuneArea.objects.filter(city=city).select_related("commune").order_by("commune_id"):
            commune = area.commune
            if commune.pk in have or commune.kind == "đặc khu" or commune.centre_lat is None:
                continue
            office = Office.objects.create(
                city=city,
                code=f"mot-cua-{commune.pk}",
                name_vi=f"Bộ phận Một cửa {commune.name}",
                lat=commune.centre_lat,
                lon=commune.centre_lon,
                commune=commune,
                opening_hours={str(d): ["07:30", "17:00"] for d in range(5)},
            )
            for number, codes in (
                (1, desk_services[:2] + desk_services[3:4]),
                (2, desk_services[2:3] + desk_services[4:]),
            ):
                counter = Counter.objects.create(city=city, office=office, number=number)
                counter.services.set(codes)
            offices.append(office)
    offices = list(Office.objects.filter(city=city).order_by("pk"))
    calendar = WorkingCalendar.for_city(city)
    tz = ZoneInfo(city.time_zone)
    start, end = year_bounds()
    days = []
    day = start.date()
    while day < end.date():
        days.append(day)
        day += dt.timedelta(days=1)
    # (office, service, counters, day) combinations open that day, weighted by counters.
    choices, weights = [], []
    for office in offices:
        counters = list(Counter.objects.filter(office=office).prefetch_related("services"))
        per_service: dict[int, list[int]] = {}
        for c in counters:
            for s in c.services.all():
                per_service.setdefault(s.pk, []).append(c.pk)
        for d in days:
            if not services.opening_intervals(office, d, calendar):
                continue
            for service_id, counter_ids in per_service.items():
                choices.append((office, service_id, counter_ids, d))
                weights.append(len(counter_ids) * (3 if office.code.startswith(("hcc", "cong-an")) else 1))
    durations = {s.pk: s.duration_minutes for s in by_code.values()}
    citizens = list(
        User.objects.filter(username__startswith="bench-citizen-").order_by("pk").values_list("pk", flat=True)
    )
    n = scale.bookings
    rng = np.random.default_rng(9)
    w = np.array(weights, dtype=float)
    pick = rng.choice(len(choices), size=n, p=w / w.sum())
    walk_in = rng.random(n) < 0.25
    roll = rng.random(n)
    minute = rng.integers(0, 9 * 60, n)  # 07:30 … 16:30
    early = rng.integers(0, 16, n)
    wait = np.minimum(rng.lognormal(1.9, 0.7, n), 120.0)
    served_min = rng.integers(5, 40, n)
    booked_ahead = rng.integers(1, 11, n)
    who = rng.integers(0, len(citizens), n)
    channel_api = rng.random(n) < 0.1
    fields = list(Booking._meta.concrete_fields)
    columns = [f.column for f in fields]
    defaults = {f.column: f.get_default() for f in fields if f.column != "id"}
    alphabet = services.CODE_ALPHABET
    say(f"Writing {n:,} visits with COPY…")
    started = time.perf_counter()
    counts = {"served": 0, "no_show": 0, "cancelled": 0, "walk_in": int(walk_in.sum())}
    with connection.cursor() as cursor:
        _fast_session(cursor)
        with cursor.cursor.copy(f"COPY appointments_booking ({', '.join(columns)}) FROM STDIN") as copy:
            buffer = io.StringIO()
            for i in range(n):
                office, service_id, counter_ids, d = choices[int(pick[i])]
                slot_start = dt.datetime.combine(d, dt.time(7, 30), tz) + dt.timedelta(minutes=int(minute[i]))
                wi = bool(walk_in[i])
                row = dict(defaults)
                code = "".join(alphabet[(i // len(alphabet) ** k) % len(alphabet)] for k in range(7, -1, -1))
                row.update(
                    {
                        "id": i + 1,
                        "city_id": city.pk,
                        "code": code,
                        "service_id": service_id,
                        "office_id": office.pk,
                        "slot_id": None,
                        "day": d,
                        "walk_in": wi,
                        "citizen_id": None if wi else citizens[int(who[i])],
                        "channel": "counter" if wi else ("api" if channel_api[i] else "app"),
                        "created_at": slot_start
                        if wi
                        else slot_start - dt.timedelta(days=int(booked_ahead[i])),
                    }
                )
                if not wi and roll[i] < 0.07:
                    row.update(status="no_show", no_show_at=slot_start + dt.timedelta(minutes=30))
                    counts["no_show"] += 1
                elif not wi and roll[i] < 0.12:
                    row.update(status="cancelled", cancelled_at=row["created_at"] + dt.timedelta(hours=5))
                    counts["cancelled"] += 1
                else:
                    arrived = (
                        slot_start + dt.timedelta(minutes=int(early[i]) // 2)
                        if wi
                        else slot_start - dt.timedelta(minutes=int(early[i]))
                    )
                    called = arrived + dt.timedelta(minutes=float(wait[i]))
                    finished = called + dt.timedelta(
                        minutes=min(int(served_min[i]), durations[service_id] + 10)
                    )
                    row.update(
                        status="served",
                        arrived_at=arrived,
                        called_at=called,
                        served_at=called + dt.timedelta(minutes=1),
                        finished_at=finished,
                        counter_id=counter_ids[i % len(counter_ids)],
                    )
                    counts["served"] += 1
                row["updated_at"] = max(v for k, v in row.items() if k.endswith("_at") and v is not None)
                buffer.write("\t".join(reports._copy_text(row[c]) for c in columns))
                buffer.write("\n")
                if i % 20000 == 19999:
                    copy.write(buffer.getvalue())
                    buffer = io.StringIO()
            copy.write(buffer.getvalue())
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('appointments_booking', 'id'), "
            "(SELECT MAX(id) FROM appointments_booking))"
        )
        cursor.execute("VACUUM ANALYZE appointments_booking")
    load_s = time.perf_counter() - started
    say(f"  {n:,} visits in {load_s:.0f} s ({counts})")
    return {"bookings": n, "bookings_s": load_s, "offices": len(offices), **counts}
