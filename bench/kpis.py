"""Computing every automatic indicator at city scale: a year of the demo city scaled up, in PostgreSQL.

The dataset (bench/_kpis_data.py): the demo city for the calendar year 2026 (local), seen from its end —
50,000,000 raw sensor observations (air quality, water, weather; with their hourly and daily rollups and
latest values, derived with the ingestion's bucket definitions and checked on a sample against the
ingestion service itself), 1,000,000 citizen reports (bench/reports.py's loader) and 500,000 public-service
visits; then the daily fact rollups backfilled with `dothi rebuild-facts` (timed and reported apart: it
is the one-off backfill, not the recurring cost). It is built once and kept (`--rebuild` drops the
database and builds it again; a different scale rebuilds too).

The timed part is production behaviour (the shipped settings, `synchronous_commit` on): the catalogue
sync, then `dothi.kpis.services.compute(actor=None, …)` of every active automatic indicator for the year
2026 and for 2026-Q3, without and with ward values, RUNS times each (median); then each calculator alone
(which ones dominate); then the baseline: the same top indicators computed from the raw rows (PERCENTILE_CONT
over the reports, means over the raw observations, averages over the visits), in the same run. Target:
under 5 s for a period's indicators.

The data live in their own database (postgresql://postgres@127.0.0.1:5432/dothi_kpibench, or
DOTHI_BENCH_KPIS_DATABASE_URL). `--small` builds and runs a small scale (about 500,000 observations, 20,000
reports, 10,000 visits; the section then says it is below the stated scale). Run:
`.venv/bin/python bench/kpis.py [--small] [--rebuild]` (`make bench` runs it through bench/bench_kpis.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import statistics
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import _harness  # noqa: E402  bench/_harness.py
import _kpis_data as data  # noqa: E402  bench/_kpis_data.py

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/dothi_kpibench"
RUNS = int(os.environ.get("BENCH_KPIS_RUNS", "3"))
TARGET_S = 5.0
CITY_SLUG = "danang"
STATED = {"observations": 50_000_000, "reports": 1_000_000, "bookings": 500_000}


def database_url() -> str:
    return os.environ.get("DOTHI_BENCH_KPIS_DATABASE_URL", DEFAULT_URL)


def say(message: str) -> None:
    print(message, flush=True)


def drop_database(url: str) -> None:
    import psycopg

    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- The dataset ------------------------------------------------------------------------------------------


def _settings(city) -> dict:
    return (city.settings or {}).get("bench_kpis") or {}


def _save_settings(city, **values) -> None:
    city.refresh_from_db()
    city.settings = {**(city.settings or {}), "bench_kpis": {**_settings(city), **values}}
    city.save(update_fields=["settings"])


def prepare(scale: data.Scale) -> tuple:
    """Migrate; build the dataset when it is missing, incomplete or of another scale. Returns the city and
    the build figures (those of the run that built it, when reused)."""
    import appointments  # bench/appointments.py: emptying the database
    from django.core.management import call_command

    from dothi.core.models import City
    from dothi.sensing.models import Sensor

    say(f"Migrating {database_url()}…")
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    city = City.objects.filter(slug=CITY_SLUG).first()
    built = _settings(city) if city else {}
    if built.get("mark") == data.MARK and built.get("scale") == scale.name and built.get("complete"):
        say(f"Reusing the {scale.name} dataset built {built.get('built_at')}.")
        return city, built
    appointments._empty_database(say)
    figures: dict = {"mark": data.MARK, "scale": scale.name}
    started = time.perf_counter()
    say(f"Building the {scale.name} dataset: {scale.reports:,} reports…")
    figures["reports_s"] = data.build_city_and_reports(scale, say)
    city = City.objects.get(slug=CITY_SLUG)
    _save_settings(city, **figures)
    sensors = data.build_sensors(city, scale, say)
    figures.update(data.build_observations(city, sensors, scale, say))
    figures.update(data.build_bookings(city, scale, say))
    figures["build_s"] = time.perf_counter() - started
    figures["built_at"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    figures["complete"] = True
    _save_settings(city, **figures)
    say(f"Dataset built in {figures['build_s'] / 60:.1f} min.")
    assert Sensor.objects.filter(city=city).count() == len(sensors)
    return city, _settings(city)


def backfill_facts(city, force: bool) -> dict:
    """The one-off backfill of the daily fact rollups (reports' resolution times, visits' waits…), timed:
    `dothi rebuild-facts --city danang`, which rebuilds up to the day after tomorrow of the machine's
    clock, then `core.facts.rebuild` of the same keys for the rest of 2026 when the year is not over on
    that clock (the dataset is seen from the year's end). Run when a registered fact source has no facts
    yet for the dataset (or with --backfill)."""
    from django.core.management import call_command
    from django.core.management.base import CommandError

    try:
        from dothi.core import facts
        from dothi.core.manifests import registry
        from dothi.core.models import DailyFact, DailyFactBin
    except ImportError:
        say("core.facts is not there yet: no backfill.")
        return {}
    built = _settings(city)
    keys = sorted(s.key for s in registry.fact_sources())
    if built.get("facts_s") is not None and built.get("facts_keys") == keys and not force:
        return {
            "facts_s": built["facts_s"],
            "facts_rows": built.get("facts_rows"),
            "facts_keys": keys,
            "facts_tail_s": built.get("facts_tail_s"),
        }
    say(f"Backfilling the daily facts ({', '.join(keys)}): dothi rebuild-facts --city danang…")
    started = time.perf_counter()
    try:
        call_command("rebuild_facts", city=CITY_SLUG)
    except CommandError as exc:
        say(f"rebuild-facts failed: {exc}")
        return {}
    facts_s = time.perf_counter() - started
    _start, end = facts.default_range(city)
    tail_s = None
    year_end = dt.date(data.YEAR + 1, 1, 1)
    if end < year_end:
        say(f"  …and the days {end} … {year_end} (after the machine's clock) with core.facts.rebuild…")
        started = time.perf_counter()
        for key in keys:
            facts.rebuild(city=city, key=key, start=end, end=year_end)
        tail_s = time.perf_counter() - started
    rows = {
        "facts": DailyFact.objects.filter(city=city).count(),
        "bins": DailyFactBin.objects.filter(city=city).count(),
    }
    _save_settings(city, facts_s=facts_s, facts_tail_s=tail_s, facts_rows=rows, facts_keys=keys)
    say(
        f"  backfilled in {facts_s:.1f} s (+ {tail_s or 0:.1f} s): {rows['facts']:,} daily facts, "
        f"{rows['bins']:,} histogram bins"
    )
    return {"facts_s": facts_s, "facts_tail_s": tail_s, "facts_rows": rows, "facts_keys": keys}


def scale_figures(city) -> dict:
    from django.db import connection

    from dothi.appointments.models import Booking
    from dothi.reports.models import Report
    from dothi.sensing.models import Sensor

    low, high = data.year_bounds()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sensing_observation WHERE time >= %s AND time < %s", [low, high])
        observations = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM sensing_hourlyrollup")
        hourly = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM sensing_dailyrollup")
        daily = cursor.fetchone()[0]
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('sensing_observation'))")
        raw_size = cursor.fetchone()[0]
    return {
        "observations": observations,
        "hourly": hourly,
        "daily": daily,
        "raw_size": raw_size,
        "sensors": Sensor.objects.filter(city=city).count(),
        "reports": Report.objects.filter(city=city).count(),
        "reports_year": Report.objects.filter(
            city=city, submitted_at__gte=low, submitted_at__lt=high
        ).count(),
        "bookings": Booking.objects.filter(city=city).count(),
    }


# --- The timed part ---------------------------------------------------------------------------------------


def _median_time(fn, runs: int) -> tuple[float, list[float], object]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times, result


PERIODS = [
    ("year", "2026", dt.date(2026, 1, 1), dt.date(2027, 1, 1)),
    ("quarter", "2026-Q3", dt.date(2026, 7, 1), dt.date(2026, 10, 1)),
]


def time_compute(city) -> dict:
    """catalogue.sync(), then services.compute for the year and the quarter, without and with wards."""
    from dothi.kpis import catalogue, services
    from dothi.kpis.models import Indicator

    out: dict = {}
    out["sync_s"], out["sync_runs"], _ = _median_time(catalogue.sync, RUNS)
    automatic = Indicator.objects.filter(is_active=True).exclude(calculator="")
    out["indicators"] = automatic.count()
    out["per_ward"] = automatic.filter(per_ward=True).count()
    say(
        f"catalogue.sync(): median {out['sync_s'] * 1000:.0f} ms; {out['indicators']} automatic indicators "
        f"({out['per_ward']} per ward)"
    )
    rows = []
    for grain, label, start, _end in PERIODS:
        for wards in (False, True):

            def run(grain=grain, start=start, wards=wards):
                return services.compute(actor=None, city=city, grain=grain, start=start, wards=wards)

            median, times, result = _median_time(run, RUNS)
            row = {
                "grain": grain,
                "label": label,
                "wards": wards,
                "median": median,
                "runs": times,
                "result": _result_counts(result),
            }
            rows.append(row)
            say(
                f"compute({label}, wards={wards}): median {median:.2f} s "
                f"(runs {', '.join(f'{t:.2f}' for t in times)}); {row['result']}"
            )
    out["compute"] = rows
    return out


def _result_counts(result) -> dict:
    counts = {}
    for name in ("computed", "missing", "failed"):
        value = getattr(result, name, None)
        counts[name] = len(value) if isinstance(value, list | tuple | set | dict) else value
    return counts


def time_calculators(city) -> list[dict]:
    """Each calculator alone (median of RUNS), for the year and the quarter, and its ward values."""
    from dothi.core.manifests import Period, registry

    rows = []
    for calc in registry.kpis():
        row = {"code": calc.code, "values": {}}
        for _grain, label, start, end in PERIODS:
            period = Period(start, end)
            try:
                median, _t, value = _median_time(lambda c=calc, p=period: c.compute(city, p), RUNS)
                row[label] = median
                row["values"][label] = value
            except Exception as exc:  # noqa: BLE001 - a failing calculator is reported, the others run
                row[label] = None
                row["values"][label] = f"{type(exc).__name__}: {exc}"[:120]
            if calc.compute_wards is not None:
                try:
                    median, _t, wards = _median_time(lambda c=calc, p=period: c.compute_wards(city, p), RUNS)
                    row[f"{label} wards"] = median
                    row.setdefault("wards_n", len(wards))
                except Exception as exc:  # noqa: BLE001
                    row[f"{label} wards"] = None
                    row["values"][f"{label} wards"] = f"{type(exc).__name__}: {exc}"[:120]
        rows.append(row)
    rows.sort(key=lambda r: -((r.get("2026") or 0) + (r.get("2026 wards") or 0)))
    for r in rows[:8]:
        say(
            f"  {r['code']}: year {_ms(r.get('2026'))}, quarter {_ms(r.get('2026-Q3'))}, "
            f"year wards {_ms(r.get('2026 wards'))}"
        )
    return rows


def _ratio(raw_s: float, rollup_s: float | None) -> str:
    if not rollup_s:
        return "—"
    x = raw_s / rollup_s
    text = f"{x:.2f}×" if x < 10 else f"{x:,.0f}×"
    return text if x >= 1 else f"**{text}** (the rollups are slower)"


def _ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1000:,.1f} ms"


# The raw-row baseline: the same indicators from the raw tables, as one would without rollups. Each: a label,
# the calculator it is compared with (the first code present), and its SQL for the year.
RAW_BASELINES = [
    (
        "annual mean PM2.5 (mean of every reading)",
        ("sensing.mean_pm25",),
        """SELECT avg(o.value), count(*)
        FROM sensing_observation o JOIN sensing_sensor s ON s.id = o.sensor_id
        WHERE s.city_id = %(city)s AND o.quantity_id = %(pm25)s
            AND o.time >= %(low)s AND o.time < %(high)s""",
    ),
    (
        "days above the PM2.5 24-hour limit (city daily mean > 50 µg/m³)",
        ("sensing.days_above_limit_pm25",),
        """SELECT count(*) FILTER (WHERE m > 50), count(*) FROM (
            SELECT date_trunc('day', o.time, %(tz)s) AS d, avg(o.value) AS m
            FROM sensing_observation o JOIN sensing_sensor s ON s.id = o.sensor_id
            WHERE s.city_id = %(city)s AND o.quantity_id = %(pm25)s
            AND o.time >= %(low)s AND o.time < %(high)s
            GROUP BY 1) AS days""",
    ),
    (
        "median and p90 hours to resolve (PERCENTILE_CONT over the reports)",
        ("reports.median_hours_to_resolve", "reports.p90_hours_to_resolve"),
        """SELECT percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (
            ORDER BY extract(epoch FROM resolved_at - submitted_at) / 3600), count(*)
        FROM reports_report WHERE city_id = %(city)s AND resolved_at >= %(low)s AND resolved_at < %(high)s""",
    ),
    (
        "share of reports resolved on time",
        ("reports.resolved_on_time", "reports.resolved_within_deadline"),
        """SELECT avg((resolved_at <= due_at)::int), count(*) FROM reports_report
        WHERE city_id = %(city)s AND due_at IS NOT NULL
            AND resolved_at >= %(low)s AND resolved_at < %(high)s""",
    ),
    (
        "mean appointment wait (arrival → call)",
        ("appointments.mean_wait", "appointments.mean_wait_minutes"),
        """SELECT avg(extract(epoch FROM called_at - arrived_at) / 60), count(*) FROM appointments_booking
        WHERE city_id = %(city)s AND called_at IS NOT NULL AND day >= %(day_low)s AND day < %(day_high)s""",
    ),
    (
        "share of visits booked online",
        ("appointments.online_share",),
        """SELECT avg((NOT walk_in)::int), count(*) FROM appointments_booking
        WHERE city_id = %(city)s AND status = 'served' AND day >= %(day_low)s AND day < %(day_high)s""",
    ),
]


def time_raw_baseline(city, calculators: list[dict]) -> list[dict]:
    """Each raw query twice (the second, warm, is reported: the rollup side is warm too)."""
    from django.db import connection

    from dothi.sensing.models import Quantity

    low, high = data.year_bounds()
    args = {
        "city": city.pk,
        "pm25": Quantity.objects.get(city__isnull=True, code="pm25").pk,
        "low": low,
        "high": high,
        "tz": city.time_zone,
        "day_low": dt.date(2026, 1, 1),
        "day_high": dt.date(2027, 1, 1),
    }
    by_code = {r["code"]: r for r in calculators}
    rows = []
    for label, codes, sql in RAW_BASELINES:
        present = [by_code[c] for c in codes if c in by_code]
        times = []
        with connection.cursor() as cursor:
            for _ in range(2):
                started = time.perf_counter()
                cursor.execute(sql, args)
                result = cursor.fetchone()
                times.append(time.perf_counter() - started)
        rollup = sum(r.get("2026") or 0 for r in present) if present else None
        rows.append(
            {
                "label": label,
                "codes": [r["code"] for r in present],
                "raw_s": times[-1],
                "raw_cold_s": times[0],
                "raw_value": result,
                "rollup_s": rollup,
                "rollup_value": [r["values"].get("2026") for r in present],
            }
        )
        say(
            f"  raw: {label}: {times[-1]:.2f} s (first {times[0]:.2f} s) = {result}; "
            f"rollups: {_ms(rollup)} {[str(v)[:80] for v in rows[-1]['rollup_value']]}"
        )
    return rows


# --- The report -------------------------------------------------------------------------------------------


def write_report(
    scale: data.Scale,
    built: dict,
    facts: dict,
    figures: dict,
    verified: list[str],
    timing: dict | None,
    calcs: list[dict],
    raw: list[dict],
    load_at_start: str,
) -> None:
    import _report

    below = [f"{figures[k]:,} {k} (stated {v:,})" for k, v in STATED.items() if figures[k] < v]
    scale_note = (" — **below the stated scale: " + "; ".join(below) + "**") if below else ""
    lines = [
        f"Scale{scale_note}: the demo city (Đà Nẵng, 93 communes with approximate boundaries) for the "
        f"calendar year 2026 in its own PostgreSQL database: "
        f"**{figures['observations']:,} raw observations** "
        f"({figures['raw_size']} with its key) from {figures['sensors']} sensors (air quality: PM2.5, PM10, "
        "NO₂, temperature, humidity; water level and rainfall; weather), with realistic diurnal and seasonal "
        f"curves, outages and lost readings, and their {figures['hourly']:,} hourly and "
        f"{figures['daily']:,} daily "
        f"rollups; **{figures['reports']:,} citizen reports** (every status, deadlines by the working "
        f"calendar, acknowledgement and resolution times); **{figures['bookings']:,} public-service visits** "
        f"({built.get('offices', '?')} offices; booked online or walk-in; served, absent, cancelled). The "
        "data are seen from the year's end (2027-01-01 00:00 local), so the year is complete even where the "
        "machine's clock is earlier; air-quality episodes are per sensor, not city-wide; visits carry no "
        "slot rows (no indicator reads slots). The "
        "rollups were derived from the raw rows with the ingestion's bucket definitions; "
        + (
            "checked on a sample of days against what `dothi.sensing.ingestion.ingest` writes: identical."
            if not verified
            else "**the check against the ingestion service found differences: " + "; ".join(verified) + "**"
        ),
        "",
        f"Machine: {_harness.machine()}; load average when the run started: {load_at_start}; at its end: "
        f"{_harness.load_average()} (other work on the machine shows up here). The timed part runs with the "
        "shipped settings (`synchronous_commit` on; the build alone used it off), after `VACUUM ANALYZE` of "
        "the fact tables (as autovacuum leaves them; right after the backfill, without statistics, the "
        "quantile calculators read the bins through the key and sort them on disk, about 4× slower).",
        "",
        "| build step (once per dataset) | time |",
        "|---|---|",
        f"| reports (bench/reports.py's COPY loader) | {built.get('reports_s', 0):.0f} s |",
        f"| raw observations (INSERT … SELECT generate_series, key order) | {built.get('raw_s', 0):.0f} s |",
        f"| hourly/daily rollups and latest values from the raw rows | {built.get('rollup_s', 0):.0f} s |",
        f"| visits (COPY) | {built.get('bookings_s', 0):.0f} s |",
        f"| whole build | {built.get('build_s', 0) / 60:.1f} min |",
    ]
    if facts:
        rows = facts.get("facts_rows") or {}
        tail = facts.get("facts_tail_s")
        lines.append(
            f"| **backfill: `dothi rebuild-facts --city danang`** "
            f"({', '.join(facts.get('facts_keys') or [])}; "
            f"{rows.get('facts', 0):,} daily facts, {rows.get('bins', 0):,} histogram bins) | "
            f"{facts['facts_s']:.1f} s"
            + (
                f" + {tail:.1f} s for the days after the machine's clock (`core.facts.rebuild`)"
                if tail
                else ""
            )
            + " |"
        )
    else:
        lines.append("| backfill: `dothi rebuild-facts` | not run (core.facts missing) |")
    lines.append("")
    if timing:
        lines += [
            f"**Computing every automatic indicator** ({timing['indicators']} active, {timing['per_ward']} "
            "with ward values): `dothi.kpis.services.compute(actor=None, city, grain, start, wards)`, which "
            f"upserts the values with their inputs; median of {RUNS} runs. `catalogue.sync()` before it: "
            f"{timing['sync_s'] * 1000:,.0f} ms. Target: under {TARGET_S:.0f} s.",
            "",
            "| period | ward values | median | runs | computed / missing / failed | target |",
            "|---|---|---|---|---|---|",
        ]
        for r in timing["compute"]:
            c = r["result"]
            verdict = "met" if r["median"] < TARGET_S else "**missed**"
            lines.append(
                f"| {r['label']} | {'yes' if r['wards'] else 'no'} | {r['median']:.2f} s | "
                f"{', '.join(f'{t:.2f}' for t in r['runs'])} s | {c.get('computed')} / "
                f"{c.get('missing')} / {c.get('failed')} | < {TARGET_S:.0f} s: {verdict} |"
            )
        lines.append("")
    else:
        lines += ["**`dothi.kpis.services.compute` is not there yet**: only the calculators were timed.", ""]
    total_year = sum(r.get("2026") or 0 for r in calcs)
    total_q = sum(r.get("2026-Q3") or 0 for r in calcs)
    lines += [
        f"**Each calculator alone** (median of {RUNS}; the heaviest first; {len(calcs)} calculators, "
        f"{total_year * 1000:,.0f} ms in all for the year, {total_q * 1000:,.0f} ms for the quarter):",
        "",
        "| calculator | year | quarter | year, ward values | quarter, ward values | value (year) |",
        "|---|---|---|---|---|---|",
    ]
    for r in calcs:
        value = r["values"].get("2026")
        shown = (
            f"{value.value:.4g} (n={value.sample_size})"
            if getattr(value, "value", None) is not None
            else f"missing ({getattr(value, 'note', value)})"[:80]
        )
        lines.append(
            f"| `{r['code']}` | {_ms(r.get('2026'))} | {_ms(r.get('2026-Q3'))} | "
            f"{_ms(r.get('2026 wards'))} | {_ms(r.get('2026-Q3 wards'))} | {shown} |"
        )
    lines.append("")
    if total_year:
        top = calcs[:4]
        share = sum(r.get("2026") or 0 for r in top) / total_year
        lines += [
            "The heaviest four (" + ", ".join(f"`{r['code']}`" for r in top) + f") take {share:.0%} of "
            "the year's calculator time.",
            "",
        ]
    if raw:
        raw_total = sum(r["raw_s"] for r in raw)
        rollup_total = sum(r["rollup_s"] or 0 for r in raw)
        lines += [
            "**Baseline: the same indicators from the raw rows** (year 2026; plain SQL aggregates over the "
            "raw tables in the same run: PERCENTILE_CONT over the reports, means over the raw observations "
            "and the visits; the second of two runs, warm, as the rollup side is):",
            "",
            "| indicator | from rollups/facts (calculators) | from raw rows (SQL) | ratio raw/rollups |",
            "|---|---|---|---|",
        ]
        for r in raw:
            ratio = _ratio(r["raw_s"], r["rollup_s"])
            codes = ", ".join(f"`{c}`" for c in r["codes"]) or "no calculator"
            lines.append(
                f"| {r['label']} ({codes}) | {_ms(r['rollup_s'])} | {r['raw_s']:.2f} s "
                f"(first run {r['raw_cold_s']:.2f} s) | {ratio} |"
            )
        ratio = _ratio(raw_total, rollup_total)
        lines += [
            f"| **these indicators together** | {_ms(rollup_total)} | {raw_total:.2f} s | {ratio} |",
            "",
        ]
    _report.write(
        "kpis", "KPIs: every automatic indicator for a year and a quarter at 50,000,000 observations", lines
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a small dataset (a quick end-to-end run)")
    parser.add_argument(
        "--rebuild", action="store_true", help="drop the database and build the dataset again"
    )
    parser.add_argument("--backfill", action="store_true", help="run rebuild-facts again")
    parser.add_argument("--build-only", action="store_true", help="build the dataset, time nothing")
    args = parser.parse_args()
    scale = data.SMALL if args.small else data.FULL

    url = database_url()
    if args.rebuild:
        drop_database(url)
    _harness.ensure_database(url)
    os.environ["DOTHI_DATABASE_URL"] = url
    os.environ["DOTHI_DATA_DIR"] = tempfile.mkdtemp(prefix="dothi-bench-kpis-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dothi.settings")
    import django

    django.setup()
    load_at_start = _harness.load_average()
    city, built = prepare(scale)
    say("Checking the derived rollups against the ingestion service on a sample…")
    from dothi.sensing.models import Sensor

    verified = data.verify_rollups(city, list(Sensor.objects.filter(city=city).order_by("pk")), say)
    for problem in verified:
        say(f"  MISMATCH {problem}")
    facts = backfill_facts(city, args.backfill)
    if args.build_only:
        return
    if facts:
        # As autovacuum leaves the tables a while after the backfill's bulk inserts: planner statistics
        # (without them the bins of a year are read through the key and sorted on disk: 4× slower).
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE core_dailyfact")
            cursor.execute("VACUUM ANALYZE core_dailyfactbin")
    figures = scale_figures(city)
    say(f"Scale: {figures}")
    try:
        from dothi.kpis import catalogue, services  # noqa: F401

        has_compute = hasattr(services, "compute") and hasattr(catalogue, "sync")
    except ImportError:
        has_compute = False
    # A calculator that fails is logged with its traceback by services.compute and shown in the tables;
    # keep the run's output readable.
    logging.getLogger("dothi.kpis.services").setLevel(logging.CRITICAL)
    timing = time_compute(city) if has_compute else None
    say("Each calculator alone…")
    calcs = time_calculators(city)
    say("The raw-row baseline…")
    raw = time_raw_baseline(city, calcs)
    write_report(scale, built, facts, figures, verified, timing, calcs, raw, load_at_start)


if __name__ == "__main__":
    main()
