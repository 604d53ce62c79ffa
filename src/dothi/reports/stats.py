"""Statistics on citizen reports: per agency, category, commune or month, the counts, the time to
acknowledge and to resolve (mean, median, 90th percentile), the share resolved on time and the
satisfaction; a CSV export; the KPI calculators and the open dataset the manifest declares.

Durations are aggregated in SQL on PostgreSQL (`PERCENTILE_CONT`, the continuous percentile with linear
interpolation); SQLite has no percentile aggregate, so there the same figures are computed in Python
with the same interpolation (`percentile_cont`). Both paths are tested against hand-computed answers.

The statistics table describes the *cohort* of reports submitted in the window [since, until): every
figure of a row is about the same reports. The KPIs describe what happened *in* a period (reports
resolved, ratings given), so a period's value no longer changes once the period is over.

The KPIs read daily fact rollups (core.facts), not the report table: the services record a fact at the
first acknowledgement and at each resolution (and take the resolution back when the report is reopened);
medians and 90th percentiles come from the facts' log histogram (1 % relative accuracy).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import (
    Aggregate,
    Avg,
    Count,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dothi.core import facts
from dothi.core.calendar import calendar_for
from dothi.core.errors import InvalidInput
from dothi.core.manifests import FactSource, KpiCalculator, KpiValue, OpenDataset, Period
from dothi.core.models import Feedback
from dothi.core.permissions import require
from dothi.core.stats import percentile_cont
from dothi.reports.models import OPEN_STATUSES, Report, Status

if TYPE_CHECKING:
    from dothi.core.models import City

GROUPS = ("agency", "category", "commune", "month")
FEEDBACK_SUBJECT = "reports.report"
OPEN_DATASET_MIN_GROUP = 5
HOUR = 3600.0

# Columns of a statistics row, in CSV order. Durations are hours; shares are 0–1.
COLUMNS = (
    "key", "label", "submitted", "resolved", "open", "overdue",
    "acknowledge_n", "acknowledge_mean_h", "acknowledge_median_h", "acknowledge_p90_h",
    "resolve_n", "resolve_mean_h", "resolve_median_h", "resolve_p90_h",
    "on_time", "on_time_n", "on_time_share", "rating_n", "rating_mean",
)


# --- Percentiles ----------------------------------------------------------------------------------


class PercentileCont(Aggregate):
    """PostgreSQL's ordered-set aggregate `PERCENTILE_CONT(f) WITHIN GROUP (ORDER BY expr)`."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        # A literal, not a parameter: the fraction is ours, never user input.
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


class EpochSeconds(Func):
    """Seconds between two timestamps on PostgreSQL: EXTRACT(EPOCH FROM (a - b)); NULL if either is."""

    # EXTRACT returns numeric on PostgreSQL 14+; PERCENTILE_CONT and the driver want a float.
    template = "EXTRACT(EPOCH FROM (%(expressions)s))::double precision"
    arg_joiner = " - "
    output_field = FloatField()


def _sql_percentiles() -> bool:
    return connection.vendor == "postgresql"


# --- The statistics selector ------------------------------------------------------------------------


def _bounds(city: City, since: dt.date | dt.datetime | None, until: dt.date | dt.datetime | None):
    """Aware datetimes for a window given as dates (the city's local midnight) or datetimes."""
    tz = ZoneInfo(city.time_zone)

    def aware(value):
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            return dt.datetime.combine(value, dt.time.min, tzinfo=tz)
        return value if timezone.is_aware(value) else value.replace(tzinfo=tz)

    start, end = aware(since), aware(until)
    if start and end and end <= start:
        raise InvalidInput(_("The end of the period must be after its start."), field="until")
    return start, end


def _cohort(city: City, since, until, agency=None) -> QuerySet[Report]:
    start, end = _bounds(city, since, until)
    qs = Report.objects.for_city(city)
    if start:
        qs = qs.filter(submitted_at__gte=start)
    if end:
        qs = qs.filter(submitted_at__lt=end)
    if agency is not None:
        qs = qs.filter(agency=agency)
    return qs


def _group_expression(city: City, group_by: str):
    if group_by == "month":
        return TruncMonth("submitted_at", tzinfo=ZoneInfo(city.time_zone))
    return F({"agency": "agency_id", "category": "category_id", "commune": "commune_id"}[group_by])


def _labels(city: City, group_by: str, keys: Iterable[Any]) -> dict[Any, tuple[str, str]]:
    """Group key -> (code, name): the agency's or category's code, the commune code, "YYYY-MM"."""
    from dothi.core.models import Commune, Organisation
    from dothi.reports.models import Category

    keys = [k for k in keys if k is not None]
    if group_by == "agency":
        return {o.pk: (o.code, o.name) for o in Organisation.objects.for_city(city).filter(pk__in=keys)}
    if group_by == "category":
        return {c.pk: (c.code, c.name) for c in Category.objects.for_city(city).filter(pk__in=keys)}
    if group_by == "commune":
        names = Commune.objects.filter(pk__in=keys).values_list("code", "name")
        return {code: (code, name) for code, name in names}
    return {k: (_month_key(k), _month_key(k)) for k in keys}


def _month_key(value: dt.date | dt.datetime) -> str:
    return f"{value.year:04d}-{value.month:02d}"


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / HOUR, 2)


def _duration_figures(qs: QuerySet[Report], group) -> dict[Any, dict[str, Any]]:
    """Per group: n, mean, median and 90th percentile (seconds) of the time to acknowledge and to
    resolve, in SQL on PostgreSQL, in Python elsewhere."""
    result: dict[Any, dict[str, Any]] = defaultdict(dict)
    spans = {"acknowledge": "acknowledged_at", "resolve": "resolved_at"}
    if _sql_percentiles():
        for name, field in spans.items():
            seconds = EpochSeconds(F(field), F("submitted_at"))
            rows = (
                qs.filter(**{f"{field}__isnull": False})
                .annotate(g=group)
                .values("g")
                .annotate(
                    n=Count("id"), mean=Avg(seconds), median=PercentileCont(seconds, 0.5),
                    p90=PercentileCont(seconds, 0.9),
                )
                .order_by()
            )
            for row in rows:
                result[row["g"]].update({
                    f"{name}_n": row["n"], f"{name}_mean": row["mean"], f"{name}_median": row["median"],
                    f"{name}_p90": row["p90"],
                })
        return result
    samples: dict[Any, dict[str, list[float]]] = defaultdict(lambda: {name: [] for name in spans})
    rows = (
        qs.filter(Q(acknowledged_at__isnull=False) | Q(resolved_at__isnull=False))
        .annotate(g=group)
        .values_list("g", "submitted_at", "acknowledged_at", "resolved_at")
        .order_by()
    )
    for key, submitted, acknowledged, resolved in rows.iterator(chunk_size=5000):
        if acknowledged is not None:
            samples[key]["acknowledge"].append((acknowledged - submitted).total_seconds())
        if resolved is not None:
            samples[key]["resolve"].append((resolved - submitted).total_seconds())
    for key, by_name in samples.items():
        for name, values in by_name.items():
            if values:
                result[key].update({
                    f"{name}_n": len(values), f"{name}_mean": sum(values) / len(values),
                    f"{name}_median": percentile_cont(values, 0.5),
                    f"{name}_p90": percentile_cont(values, 0.9),
                })
    return result


def _ratings(city: City, qs: QuerySet[Report], group) -> dict[Any, tuple[int, float]]:
    """Per group: number and mean of the ratings given on the cohort's reports (core Feedback,
    subject "reports.report", subject id = the report's reference)."""
    report = qs.filter(reference=OuterRef("subject_id")).annotate(g=group).values("g")[:1]
    rows = (
        Feedback.objects.for_city(city)
        .filter(subject_type=FEEDBACK_SUBJECT, subject_id__in=qs.values("reference"))
        .annotate(g=Subquery(report))
        .values("g")
        .annotate(n=Count("id"), total=Sum("rating"))
        .order_by()
    )
    return {row["g"]: (row["n"], row["total"] / row["n"]) for row in rows if row["n"]}


def report_statistics(
    *,
    city: City,
    actor,
    group_by: str = "agency",
    since: dt.date | dt.datetime | None = None,
    until: dt.date | dt.datetime | None = None,
    agency=None,
    now: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Statistics of the reports submitted in [since, until) (dates are the city's local days), one
    row per agency, category, commune or month (see COLUMNS), sorted by label (months by date).

    Overdue: open, not paused for information, due before `now`. On time: resolved no later than due,
    among resolved reports that have a due date. Durations in hours, from submission.
    """
    require(actor, "reports.stats", city)
    if group_by not in GROUPS:
        raise InvalidInput(
            _("Group by one of: %(choices)s.") % {"choices": ", ".join(GROUPS)}, field="group_by"
        )
    now = now or timezone.now()
    qs = _cohort(city, since, until, agency)
    group = _group_expression(city, group_by)
    resolved = Q(resolved_at__isnull=False)
    counts = (
        qs.annotate(g=group)
        .values("g")
        .annotate(
            submitted=Count("id"),
            resolved=Count("id", filter=resolved),
            open=Count("id", filter=Q(status__in=OPEN_STATUSES)),
            overdue=Count(
                "id", filter=Q(status__in=OPEN_STATUSES, due_at__lt=now, paused_at__isnull=True)
            ),
            on_time=Count("id", filter=resolved & Q(due_at__isnull=False, resolved_at__lte=F("due_at"))),
            on_time_n=Count("id", filter=resolved & Q(due_at__isnull=False)),
        )
        .order_by()
    )
    durations = _duration_figures(qs, group)
    ratings = _ratings(city, qs, group)
    counts = list(counts)
    labels = _labels(city, group_by, [row["g"] for row in counts])
    rows = []
    for row in counts:
        key = row["g"]
        spans = durations.get(key, {})
        rating_n, rating_mean = ratings.get(key, (0, None))
        rows.append({
            "key": labels.get(key, (str(key), ""))[0],
            "label": labels.get(key, ("", str(key)))[1],
            "submitted": row["submitted"],
            "resolved": row["resolved"],
            "open": row["open"],
            "overdue": row["overdue"],
            **{
                f"{name}_{part}_h" if part != "n" else f"{name}_n": (
                    spans.get(f"{name}_n", 0) if part == "n" else _hours(spans.get(f"{name}_{part}"))
                )
                for name in ("acknowledge", "resolve")
                for part in ("n", "mean", "median", "p90")
            },
            "on_time": row["on_time"],
            "on_time_n": row["on_time_n"],
            "on_time_share": round(row["on_time"] / row["on_time_n"], 4) if row["on_time_n"] else None,
            "rating_n": rating_n,
            "rating_mean": round(rating_mean, 2) if rating_mean is not None else None,
        })
    rows.sort(key=lambda r: r["key"] if group_by == "month" else (r["label"].casefold(), r["key"]))
    return [{column: row[column] for column in COLUMNS} for row in rows]


def column_titles() -> dict[str, str]:
    """Human titles of the statistics columns, in the active language."""
    return {
        "key": _("Code"),
        "label": _("Name"),
        "submitted": _("Submitted"),
        "resolved": _("Resolved"),
        "open": _("Open"),
        "overdue": _("Overdue"),
        "acknowledge_n": _("Acknowledged"),
        "acknowledge_mean_h": _("Hours to acknowledge (mean)"),
        "acknowledge_median_h": _("Hours to acknowledge (median)"),
        "acknowledge_p90_h": _("Hours to acknowledge (90th percentile)"),
        "resolve_n": _("Resolved (with times)"),
        "resolve_mean_h": _("Hours to resolve (mean)"),
        "resolve_median_h": _("Hours to resolve (median)"),
        "resolve_p90_h": _("Hours to resolve (90th percentile)"),
        "on_time": _("Resolved on time"),
        "on_time_n": _("Resolved with a deadline"),
        "on_time_share": _("Share resolved on time"),
        "rating_n": _("Ratings"),
        "rating_mean": _("Mean rating (1–5)"),
    }


def _csv_cell(value: Any) -> Any:
    # A label starting with =, +, - or @ would run as a formula in a spreadsheet (CSV injection).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def stats_csv(rows: Iterable[dict[str, Any]], *, titles: bool = False) -> str:
    """The statistics rows as CSV (comma separated, a header of column codes, or of translated
    titles with `titles=True`). Empty cells for figures without data."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    names = column_titles() if titles else {c: c for c in COLUMNS}
    writer.writerow([names[c] for c in COLUMNS])
    for row in rows:
        writer.writerow([_csv_cell(row.get(c)) for c in COLUMNS])
    return out.getvalue()


# --- Daily facts (core.facts) ---------------------------------------------------------------------------
# The KPIs read these rollups, not the report table: the services add a fact in the transaction of the
# move (first acknowledgement, resolution; a reopened resolution is taken back), and the fact sources
# below re-derive them from the reports for `dothi rebuild-facts`.

RESOLUTION_HOURS = "reports.resolution_hours"  # by local resolution day: hours from submission
RESOLVED_ON_TIME = "reports.resolved_on_time"  # by local resolution day: 1 or 0 (reports with a deadline)
ACKNOWLEDGED_IN_TIME = "reports.acknowledged_in_time"  # by local submission day: 1 or 0


def _local_day(city: City, moment: dt.datetime) -> dt.date:
    return moment.astimezone(ZoneInfo(city.time_zone)).date()


def _in_time(calendar, submitted: dt.datetime, acknowledged: dt.datetime) -> int:
    return int(acknowledged <= calendar.add_working_days(submitted, 1))


def record_acknowledgement(report: Report) -> None:
    """The report was acknowledged (its first move off "received"): within one working day or not."""
    facts.add(
        city=report.city_id, key=ACKNOWLEDGED_IN_TIME, day=_local_day(report.city, report.submitted_at),
        commune_id=report.commune_id,
        value=_in_time(calendar_for(report.city), report.submitted_at, report.acknowledged_at),
    )


def record_resolution(report: Report, *, weight: int = 1) -> None:
    """The report was resolved (weight 1), or its resolution is taken back when it is reopened (weight
    -1, before `resolved_at` and `due_at` change)."""
    day = _local_day(report.city, report.resolved_at)
    hours = (report.resolved_at - report.submitted_at).total_seconds() / HOUR
    facts.add(city=report.city_id, key=RESOLUTION_HOURS, day=day, commune_id=report.commune_id,
              value=hours, weight=weight)
    if report.due_at is not None:
        facts.add(city=report.city_id, key=RESOLVED_ON_TIME, day=day, commune_id=report.commune_id,
                  value=int(report.resolved_at <= report.due_at), weight=weight)


def _resolved_rows(city: City, start: dt.date, end: dt.date):
    low, high = _period_bounds(city, Period(start, end))
    return (
        Report.objects.for_city(city)
        .filter(resolved_at__gte=low, resolved_at__lt=high)
        .values_list("commune_id", "submitted_at", "resolved_at", "due_at")
        .order_by()
        .iterator(chunk_size=5000)
    )


def resolution_hours_rows(city: City, start: dt.date, end: dt.date) -> Iterator[tuple]:
    for commune, submitted, resolved, _due in _resolved_rows(city, start, end):
        yield _local_day(city, resolved), commune, (resolved - submitted).total_seconds() / HOUR


def resolved_on_time_rows(city: City, start: dt.date, end: dt.date) -> Iterator[tuple]:
    for commune, _submitted, resolved, due in _resolved_rows(city, start, end):
        if due is not None:
            yield _local_day(city, resolved), commune, int(resolved <= due)


def acknowledged_in_time_rows(city: City, start: dt.date, end: dt.date) -> Iterator[tuple]:
    low, high = _period_bounds(city, Period(start, end))
    calendar = calendar_for(city)
    rows = (
        Report.objects.for_city(city)
        .filter(submitted_at__gte=low, submitted_at__lt=high, acknowledged_at__isnull=False)
        .values_list("commune_id", "submitted_at", "acknowledged_at")
        .order_by()
        .iterator(chunk_size=5000)
    )
    for commune, submitted, acknowledged in rows:
        yield _local_day(city, submitted), commune, _in_time(calendar, submitted, acknowledged)


FACT_SOURCES = (
    FactSource(key=RESOLUTION_HOURS, label=gettext_lazy("Hours to resolve a report"),
               rows=resolution_hours_rows),
    FactSource(key=RESOLVED_ON_TIME, label=gettext_lazy("Reports resolved by their deadline"),
               rows=resolved_on_time_rows),
    FactSource(key=ACKNOWLEDGED_IN_TIME, label=gettext_lazy("Reports acknowledged within one working day"),
               rows=acknowledged_in_time_rows),
)


# --- KPI calculators ---------------------------------------------------------------------------------
# They read the daily facts above (a period of a city is at most a few thousand rows), never the report
# table, except the handful of reports still waiting for a first answer (see the acknowledgement KPI).


def _period_bounds(city: City, period: Period) -> tuple[dt.datetime, dt.datetime]:
    tz = ZoneInfo(city.time_zone)
    return (
        dt.datetime.combine(period.start, dt.time.min, tzinfo=tz),
        dt.datetime.combine(period.end, dt.time.min, tzinfo=tz),
    )


def _no_data(note: str) -> KpiValue:
    return KpiValue(value=None, numerator=0, denominator=0, sample_size=0, note=note)


def _share(summary: facts.FactSummary, note: str) -> KpiValue:
    if not summary.count:
        return _no_data(note)
    return KpiValue(value=round(100 * summary.total / summary.count, 2), numerator=round(summary.total),
                    denominator=summary.count, sample_size=summary.count)


def _window(period: Period) -> dict[str, dt.date]:
    return {"start": period.start, "end": period.end}


NO_DEADLINE_RESOLVED = "no report with a deadline was resolved in the period"
NONE_RESOLVED = "no report was resolved in the period"


def kpi_resolved_on_time(city: City, period: Period) -> KpiValue:
    """Share (%) of the reports resolved in the period that were resolved by their deadline."""
    return _share(facts.summary(city=city, key=RESOLVED_ON_TIME, **_window(period)), NO_DEADLINE_RESOLVED)


def wards_resolved_on_time(city: City, period: Period) -> dict[str, KpiValue]:
    found = facts.by_commune(city=city, key=RESOLVED_ON_TIME, **_window(period))
    return {commune: _share(s, NO_DEADLINE_RESOLVED) for commune, s in found.items() if commune}


def _hours_quantile(city: City, period: Period, q: float, commune=None, count=None) -> KpiValue:
    if count is None:
        count = facts.summary(city=city, key=RESOLUTION_HOURS, commune_id=commune, **_window(period)).count
    if not count:
        return _no_data(NONE_RESOLVED)
    (value,) = facts.quantiles(
        city=city, key=RESOLUTION_HOURS, qs=(q,), commune_id=commune, **_window(period)
    )
    # A quantile has no numerator of its own: the count of reports is its denominator.
    return KpiValue(value=_hours(value * HOUR) if value is not None else None, numerator=None,
                    denominator=count, sample_size=count,
                    note=f"{round(q * 100)}th percentile of hours from submission to resolution (±1 %)")


def kpi_median_hours_to_resolve(city: City, period: Period) -> KpiValue:
    """Median hours from submission to resolution of the reports resolved in the period."""
    return _hours_quantile(city, period, 0.5)


def kpi_p90_hours_to_resolve(city: City, period: Period) -> KpiValue:
    """90th percentile of the hours from submission to resolution of the reports resolved in the period."""
    return _hours_quantile(city, period, 0.9)


def wards_median_hours_to_resolve(city: City, period: Period) -> dict[str, KpiValue]:
    counts = facts.by_commune(city=city, key=RESOLUTION_HOURS, **_window(period))
    medians = facts.quantiles_by_commune(city=city, key=RESOLUTION_HOURS, qs=(0.5,), **_window(period))
    return {
        commune: KpiValue(value=_hours(medians[commune][0] * HOUR), denominator=s.count, sample_size=s.count,
                          note="50th percentile of hours from submission to resolution (±1 %)")
        for commune, s in counts.items()
        if commune and commune in medians
    }


def kpi_mean_hours_to_resolve(city: City, period: Period) -> KpiValue:
    """Mean hours from submission to resolution of the reports resolved in the period."""
    s = facts.summary(city=city, key=RESOLUTION_HOURS, **_window(period))
    if not s.count:
        return _no_data(NONE_RESOLVED)
    return KpiValue(value=round(s.total / s.count, 2), numerator=round(s.total, 2), denominator=s.count,
                    sample_size=s.count)


def kpi_mean_satisfaction(city: City, period: Period) -> KpiValue:
    """Mean rating (1–5) citizens gave in the period to the handling of their reports."""
    from dothi.core.selectors import feedback_summary

    summary = feedback_summary(city, FEEDBACK_SUBJECT, period)
    count = summary["count"]
    if not count:
        return _no_data("no rating was given in the period")
    total = sum(rating * n for rating, n in summary["distribution"].items())
    return KpiValue(value=round(total / count, 2), numerator=total, denominator=count, sample_size=count)


def kpi_acknowledged_within_one_working_day(city: City, period: Period) -> KpiValue:
    """Share (%) of the reports submitted in the period that an agency acknowledged within one working
    day: the acknowledged ones from the facts (1 within, 0 late), plus, as late, the reports still
    unacknowledged whose working day has passed (read from the reports still "received": the queue's
    head, a few rows by the (city, status) index). Unacknowledged reports within their day are left out
    (undecided)."""
    s = facts.summary(city=city, key=ACKNOWLEDGED_IN_TIME, **_window(period))
    start, end = _period_bounds(city, period)
    now = timezone.now()
    calendar = calendar_for(city)
    waiting = (
        Report.objects.for_city(city)
        .filter(status=Status.RECEIVED, acknowledged_at__isnull=True)
        .filter(submitted_at__gte=start, submitted_at__lt=end)
        .values_list("submitted_at", flat=True)
        .order_by()
    )
    late_waiting = sum(1 for submitted in waiting.iterator(chunk_size=5000)
                       if calendar.add_working_days(submitted, 1) < now)
    decided = s.count + late_waiting
    if not decided:
        return _no_data("no report submitted in the period is decided yet")
    within = round(s.total)
    return KpiValue(value=round(100 * within / decided, 2), numerator=within, denominator=decided,
                    sample_size=decided)


KPIS = (
    KpiCalculator(
        code="reports.resolved_on_time", name=gettext_lazy("Reports resolved by their deadline"), unit="%",
        compute=kpi_resolved_on_time, compute_wards=wards_resolved_on_time,
        method=gettext_lazy(
            "Reports resolved in the period that had a deadline: the share resolved no later than it "
            "(the deadline counts working days and stops while the agency waits for information)."
        ),
    ),
    KpiCalculator(
        code="reports.median_hours_to_resolve", name=gettext_lazy("Median time to resolve a report"),
        unit="h", compute=kpi_median_hours_to_resolve, higher_is_better=False,
        compute_wards=wards_median_hours_to_resolve,
        method=gettext_lazy(
            "Median of the hours from submission to resolution of the reports resolved in the period, "
            "from a histogram accurate to 1 %."
        ),
    ),
    KpiCalculator(
        code="reports.p90_hours_to_resolve", name=gettext_lazy("Time to resolve a report (90th percentile)"),
        unit="h", compute=kpi_p90_hours_to_resolve, higher_is_better=False,
        method=gettext_lazy(
            "Nine in ten reports resolved in the period were resolved within this many hours of their "
            "submission (90th percentile, from a histogram accurate to 1 %)."
        ),
    ),
    KpiCalculator(
        code="reports.mean_hours_to_resolve", name=gettext_lazy("Mean time to resolve a report"),
        unit="h", compute=kpi_mean_hours_to_resolve, higher_is_better=False,
        method=gettext_lazy(
            "Mean of the hours from submission to resolution of the reports resolved in the period."
        ),
    ),
    KpiCalculator(
        code="reports.mean_satisfaction", name=gettext_lazy("Citizens' satisfaction with report handling"),
        unit="1–5", compute=kpi_mean_satisfaction,
        method=gettext_lazy("Mean of the ratings (1 to 5) reporters gave in the period to resolved reports."),
    ),
    KpiCalculator(
        code="reports.acknowledged_within_one_working_day",
        name=gettext_lazy("Reports acknowledged within one working day"), unit="%",
        compute=kpi_acknowledged_within_one_working_day,
        method=gettext_lazy(
            "Reports submitted in the period: the share an agency acknowledged within one working day of "
            "the city's calendar; reports still unanswered after that day count as late."
        ),
    ),
)


# --- Open dataset ---------------------------------------------------------------------------------------


def open_dataset_rows(city: City) -> Iterator[dict[str, Any]]:
    """Reports per category × commune × month (the city's local months). Confidential and hidden
    reports are left out entirely, and groups under the dataset's minimum size are suppressed here
    already (the open-data module suppresses them again before publication)."""
    from dothi.core.models import Commune
    from dothi.reports.models import Category

    rows = (
        Report.objects.for_city(city)
        .filter(confidential=False, hidden=False)
        .annotate(month=TruncMonth("submitted_at", tzinfo=ZoneInfo(city.time_zone)))
        .values("category_id", "commune_id", "month")
        .annotate(count=Count("id"), resolved=Count("id", filter=Q(resolved_at__isnull=False)))
        .order_by("month", "category_id", "commune_id")
    )
    categories = {c.pk: c for c in Category.objects.for_city(city)}
    communes = dict(Commune.objects.filter(province_id=city.province_code).values_list("code", "name"))
    for row in rows:
        if row["count"] < OPEN_DATASET_MIN_GROUP:
            continue
        category = categories[row["category_id"]]
        yield {
            "month": _month_key(row["month"]),
            "category_code": category.code,
            "category": category.name_vi,
            "category_en": category.name_en,
            "commune_code": row["commune_id"],
            "commune": communes.get(row["commune_id"], ""),
            "count": row["count"],
            "resolved": row["resolved"],
        }


DATASETS = (
    OpenDataset(
        code="reports.per_category_commune_month",
        title=gettext_lazy("Citizen reports per category, commune and month"),
        description=gettext_lazy(
            "How many problems citizens reported, per category, commune and month, and how many of them "
            "were resolved. Confidential categories are left out; groups of fewer than 5 reports are "
            "suppressed."
        ),
        rows=open_dataset_rows,
        count_field="count",
        min_group_size=OPEN_DATASET_MIN_GROUP,
    ),
)
