"""Statistics on appointments: the KPI calculators and the open dataset the manifest declares, and the
statistics table for staff.

Wait = called_at − arrived_at (from arrival at the office to being called); service time =
finished_at − called_at. A period is the city's local days [start, end): a visit belongs to the period
of its day. Percentiles are continuous (linear interpolation, as PostgreSQL's PERCENTILE_CONT).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dothi.appointments.models import Booking, BookingStatus
from dothi.core.errors import InvalidInput
from dothi.core.manifests import KpiCalculator, KpiValue, OpenDataset, Period
from dothi.core.permissions import require
from dothi.core.stats import percentile_cont

if TYPE_CHECKING:
    from dothi.core.models import City

FEEDBACK_SUBJECT = "appointments.booking"
OPEN_DATASET_MIN_GROUP = 5
SERVED_WITHIN_MINUTES = 15
B = BookingStatus


def _no_data(note: str) -> KpiValue:
    return KpiValue(value=None, numerator=0, denominator=0, sample_size=0, note=note)


def _in_period(city: City, period: Period):
    return Booking.objects.for_city(city).filter(day__gte=period.start, day__lt=period.end)


def _waits_minutes(city: City, period: Period) -> list[float]:
    rows = (
        _in_period(city, period)
        .filter(arrived_at__isnull=False, called_at__isnull=False)
        .values_list("arrived_at", "called_at")
        .order_by()
    )
    return [
        max((called - arrived).total_seconds(), 0.0) / 60
        for arrived, called in rows.iterator(chunk_size=5000)
    ]


def kpi_bookings_per_day(city: City, period: Period) -> KpiValue:
    """Appointments booked in advance (not walk-ins, not cancelled) per day of the period."""
    days = (period.end - period.start).days
    n = _in_period(city, period).filter(walk_in=False).exclude(status=B.CANCELLED).count()
    return KpiValue(value=round(n / days, 2), numerator=n, denominator=days, sample_size=n)


def kpi_online_share(city: City, period: Period) -> KpiValue:
    """Share (%) of the visits served in the period that were booked online rather than walk-ins."""
    figures = (
        _in_period(city, period)
        .filter(status=B.SERVED)
        .aggregate(n=Count("id"), online=Count("id", filter=Q(walk_in=False)))
    )
    if not figures["n"]:
        return _no_data("no visit was served in the period")
    return KpiValue(
        value=round(100 * figures["online"] / figures["n"], 2),
        numerator=figures["online"],
        denominator=figures["n"],
        sample_size=figures["n"],
    )


def kpi_no_show_rate(city: City, period: Period) -> KpiValue:
    """Share (%) of the booked appointments of the period (decided: served or no-show) where the
    person did not come."""
    figures = (
        _in_period(city, period)
        .filter(walk_in=False, status__in=[B.SERVED, B.NO_SHOW])
        .aggregate(n=Count("id"), absent=Count("id", filter=Q(status=B.NO_SHOW)))
    )
    if not figures["n"]:
        return _no_data("no booked appointment was decided in the period")
    return KpiValue(
        value=round(100 * figures["absent"] / figures["n"], 2),
        numerator=figures["absent"],
        denominator=figures["n"],
        sample_size=figures["n"],
    )


def kpi_mean_wait(city: City, period: Period) -> KpiValue:
    """Mean minutes from arrival at the office to being called."""
    waits = _waits_minutes(city, period)
    if not waits:
        return _no_data("nobody was called in the period")
    return KpiValue(
        value=round(sum(waits) / len(waits), 2),
        numerator=round(sum(waits), 2),
        denominator=len(waits),
        sample_size=len(waits),
    )


def kpi_p90_wait(city: City, period: Period) -> KpiValue:
    """The 90th percentile of the minutes from arrival to being called."""
    waits = _waits_minutes(city, period)
    if not waits:
        return _no_data("nobody was called in the period")
    return KpiValue(
        value=round(percentile_cont(waits, 0.9) or 0.0, 2),
        denominator=len(waits),
        sample_size=len(waits),
        note="90th percentile of minutes from arrival to call",
    )


def kpi_served_within_15(city: City, period: Period) -> KpiValue:
    """Share (%) of the people called in the period who waited at most 15 minutes."""
    waits = _waits_minutes(city, period)
    if not waits:
        return _no_data("nobody was called in the period")
    within = sum(1 for w in waits if w <= SERVED_WITHIN_MINUTES)
    return KpiValue(
        value=round(100 * within / len(waits), 2),
        numerator=within,
        denominator=len(waits),
        sample_size=len(waits),
    )


def kpi_mean_satisfaction(city: City, period: Period) -> KpiValue:
    """Mean rating (1–5) people gave in the period to their visit."""
    from dothi.core.selectors import feedback_summary

    summary = feedback_summary(city, FEEDBACK_SUBJECT, period)
    count = summary["count"]
    if not count:
        return _no_data("no rating was given in the period")
    total = sum(rating * n for rating, n in summary["distribution"].items())
    return KpiValue(value=round(total / count, 2), numerator=total, denominator=count, sample_size=count)


KPIS = (
    KpiCalculator(
        code="appointments.bookings_per_day",
        name=gettext_lazy("Appointments booked per day"),
        unit="/day",
        compute=kpi_bookings_per_day,
    ),
    KpiCalculator(
        code="appointments.online_share",
        name=gettext_lazy("Public-service visits booked online"),
        unit="%",
        compute=kpi_online_share,
    ),
    KpiCalculator(
        code="appointments.no_show_rate",
        name=gettext_lazy("Appointments missed (no-show)"),
        unit="%",
        compute=kpi_no_show_rate,
        higher_is_better=False,
    ),
    KpiCalculator(
        code="appointments.mean_wait",
        name=gettext_lazy("Mean wait at public-service offices"),
        unit="min",
        compute=kpi_mean_wait,
        higher_is_better=False,
    ),
    KpiCalculator(
        code="appointments.p90_wait",
        name=gettext_lazy("Wait at public-service offices (90th percentile)"),
        unit="min",
        compute=kpi_p90_wait,
        higher_is_better=False,
    ),
    KpiCalculator(
        code="appointments.served_within_15_minutes",
        name=gettext_lazy("Visitors called within 15 minutes"),
        unit="%",
        compute=kpi_served_within_15,
    ),
    KpiCalculator(
        code="appointments.mean_satisfaction",
        name=gettext_lazy("Citizens' satisfaction with public-service visits"),
        unit="1–5",
        compute=kpi_mean_satisfaction,
    ),
)


# --- The statistics table (staff) -------------------------------------------------------------------

COLUMNS = (
    "office",
    "service",
    "visits",
    "booked",
    "walk_ins",
    "served",
    "no_show",
    "cancelled",
    "wait_n",
    "wait_mean_min",
    "wait_p90_min",
    "within_15_share",
    "service_mean_min",
)


def appointment_statistics(
    *, actor, city: City, since: dt.date, until: dt.date, office=None
) -> list[dict[str, Any]]:
    """Per office × service, for the visits of the local days [since, until): counts by outcome, wait
    (mean, 90th percentile, share within 15 minutes) and service time (mean), in minutes."""
    require(actor, "appointments.stats", city)
    if until <= since:
        raise InvalidInput(_("The end of the period must be after its start."), field="until")
    qs = Booking.objects.for_city(city).filter(day__gte=since, day__lt=until)
    if office is not None:
        qs = qs.filter(office=office)
    groups: dict[tuple[int, int], dict[str, Any]] = defaultdict(
        lambda: {"waits": [], "services": [], **{c: 0 for c in COLUMNS[2:8]}}
    )
    names: dict[tuple[int, int], tuple[str, str]] = {}
    rows = qs.values_list(
        "office_id",
        "service_id",
        "office__name_vi",
        "service__name_vi",
        "walk_in",
        "status",
        "arrived_at",
        "called_at",
        "finished_at",
    ).order_by()
    for office_id, service_id, office_name, service_name, walk_in, status, arrived, called, finished in rows:
        key = (office_id, service_id)
        names[key] = (office_name, service_name)
        g = groups[key]
        g["visits"] += 1
        g["walk_ins" if walk_in else "booked"] += 1
        if status in (B.SERVED, B.NO_SHOW, B.CANCELLED):
            g[status if status != B.NO_SHOW else "no_show"] += 1
        if arrived and called:
            g["waits"].append(max((called - arrived).total_seconds(), 0) / 60)
        if called and finished:
            g["services"].append(max((finished - called).total_seconds(), 0) / 60)
    out = []
    for key, g in groups.items():
        waits, spans = g.pop("waits"), g.pop("services")
        out.append(
            {
                "office": names[key][0],
                "service": names[key][1],
                **g,
                "wait_n": len(waits),
                "wait_mean_min": round(sum(waits) / len(waits), 1) if waits else None,
                "wait_p90_min": round(percentile_cont(waits, 0.9), 1) if waits else None,
                "within_15_share": round(sum(w <= SERVED_WITHIN_MINUTES for w in waits) / len(waits), 4)
                if waits
                else None,
                "service_mean_min": round(sum(spans) / len(spans), 1) if spans else None,
            }
        )
    out.sort(key=lambda r: (r["office"], r["service"]))
    return [{c: r[c] for c in COLUMNS} for r in out]


# --- Open dataset ----------------------------------------------------------------------------------


def open_dataset_rows(city: City) -> Iterator[dict[str, Any]]:
    """Visits per office × service × month with outcomes and the mean wait; aggregates only, groups
    of fewer than 5 visits suppressed."""
    groups: dict[tuple, dict[str, Any]] = defaultdict(
        lambda: {"count": 0, "walk_ins": 0, "served": 0, "no_show": 0, "waits": []}
    )
    rows = (
        Booking.objects.for_city(city)
        .exclude(status=B.CANCELLED)
        .values_list(
            "office__code",
            "office__name_vi",
            "service__code",
            "service__name_vi",
            "day",
            "walk_in",
            "status",
            "arrived_at",
            "called_at",
        )
        .order_by()
    )
    for office_code, office_name, service_code, service_name, day, walk_in, status, arrived, called in rows:
        key = (f"{day.year:04d}-{day.month:02d}", office_code, office_name, service_code, service_name)
        g = groups[key]
        g["count"] += 1
        g["walk_ins"] += int(walk_in)
        g["served"] += int(status == B.SERVED)
        g["no_show"] += int(status == B.NO_SHOW)
        if arrived and called:
            g["waits"].append(max((called - arrived).total_seconds(), 0) / 60)
    for key in sorted(groups):
        g = groups[key]
        if g["count"] < OPEN_DATASET_MIN_GROUP:
            continue
        month, office_code, office_name, service_code, service_name = key
        waits = g["waits"]
        yield {
            "month": month,
            "office_code": office_code,
            "office": office_name,
            "service_code": service_code,
            "service": service_name,
            "count": g["count"],
            "walk_ins": g["walk_ins"],
            "served": g["served"],
            "no_show": g["no_show"],
            "mean_wait_min": round(sum(waits) / len(waits), 1) if waits else None,
        }


DATASETS = (
    OpenDataset(
        code="appointments.visits_per_office_service_month",
        title=gettext_lazy("Public-service office visits per office, service and month"),
        description=gettext_lazy(
            "How many people visited each public-service office for each service per month, how many came "
            "without a booking, were served or did not come, and the mean wait in minutes. Groups of fewer "
            "than 5 visits are suppressed."
        ),
        rows=open_dataset_rows,
        count_field="count",
        min_group_size=OPEN_DATASET_MIN_GROUP,
    ),
)
