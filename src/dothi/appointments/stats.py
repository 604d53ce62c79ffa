"""Statistics on appointments: the KPI calculators and the open dataset the manifest declares, and the
statistics table for staff.

Wait = called_at − arrived_at (from arrival at the office to being called); service time =
finished_at − called_at. A period is the city's local days [start, end): a visit belongs to the period
of its day. Percentiles are continuous (linear interpolation, as PostgreSQL's PERCENTILE_CONT).

The wait and online-share KPIs read daily fact rollups (core.facts) the counter services keep: a wait
when a visitor is called, "booked online or walk-in" when a visit is served. The online share is the
share of *served* visits that were booked online (the app or the API); the wait percentiles come from the
facts' log histogram (1 % relative accuracy). The staff statistics table still reads the bookings.
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
from dothi.core import facts
from dothi.core.errors import InvalidInput
from dothi.core.manifests import FactSource, KpiCalculator, KpiValue, OpenDataset, Period
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


# --- Daily facts (core.facts) ---------------------------------------------------------------------------
# The wait and online-share KPIs read these rollups, not the booking table: the counter services add a
# fact when a visitor is called (the wait) and when a visit is served (booked online or not); the fact
# sources re-derive them from the bookings for `dothi rebuild-facts`.

WAIT_MINUTES = "appointments.wait_minutes"  # by visit day, office's commune: minutes from arrival to call
VISITS_ONLINE = "appointments.visits_online"  # by visit day, office's commune: served, 1 booked online


def _wait(arrived: dt.datetime, called: dt.datetime) -> float:
    return max((called - arrived).total_seconds(), 0.0) / 60


def record_call(booking: Booking, office=None) -> None:
    """The visitor was called to a counter (in the transaction of the call; `office`: the booking's,
    when the caller has it at hand)."""
    if booking.arrived_at is not None and booking.called_at is not None:
        commune = (office or booking.office).commune_id
        facts.add(city=booking.city_id, key=WAIT_MINUTES, day=booking.day, commune_id=commune,
                  value=_wait(booking.arrived_at, booking.called_at))


def record_served(booking: Booking) -> None:
    """The visit was served: booked online (1) or a walk-in (0)."""
    facts.add(city=booking.city_id, key=VISITS_ONLINE, day=booking.day,
              commune_id=booking.office.commune_id, value=0 if booking.walk_in else 1)


def wait_minutes_rows(city: City, start: dt.date, end: dt.date) -> Iterator[tuple]:
    rows = (
        _in_period(city, Period(start, end))
        .filter(arrived_at__isnull=False, called_at__isnull=False)
        .values_list("day", "office__commune_id", "arrived_at", "called_at")
        .order_by()
    )
    for day, commune, arrived, called in rows.iterator(chunk_size=5000):
        yield day, commune, _wait(arrived, called)


def visits_online_rows(city: City, start: dt.date, end: dt.date) -> Iterator[tuple]:
    rows = (
        _in_period(city, Period(start, end))
        .filter(status=B.SERVED)
        .values_list("day", "office__commune_id", "walk_in")
        .order_by()
    )
    for day, commune, walk_in in rows.iterator(chunk_size=5000):
        yield day, commune, 0 if walk_in else 1


FACT_SOURCES = (
    FactSource(key=WAIT_MINUTES, label=gettext_lazy("Minutes from arrival to being called"),
               rows=wait_minutes_rows),
    FactSource(key=VISITS_ONLINE, label=gettext_lazy("Served visits booked online"), rows=visits_online_rows),
)


# --- KPI calculators ---------------------------------------------------------------------------------
# Waits and the online share read the daily facts above. Bookings per day and the no-show rate count
# bookings by SQL aggregates over the `booking_city_day` index (city, day): an index range scan of the
# period's bookings (checked with EXPLAIN on PostgreSQL; see docs/modules/kpis.md).


def _window(period: Period) -> dict[str, dt.date]:
    return {"start": period.start, "end": period.end}


NOBODY_CALLED = "nobody was called in the period"


def kpi_bookings_per_day(city: City, period: Period) -> KpiValue:
    """Appointments booked in advance (not walk-ins, not cancelled) per day of the period."""
    days = (period.end - period.start).days
    n = _in_period(city, period).filter(walk_in=False).exclude(status=B.CANCELLED).count()
    return KpiValue(value=round(n / days, 2), numerator=n, denominator=days, sample_size=n)


def kpi_online_share(city: City, period: Period) -> KpiValue:
    """Share (%) of the visits served in the period that were booked online rather than walk-ins."""
    s = facts.summary(city=city, key=VISITS_ONLINE, **_window(period))
    if not s.count:
        return _no_data("no visit was served in the period")
    online = round(s.total)
    return KpiValue(value=round(100 * online / s.count, 2), numerator=online, denominator=s.count,
                    sample_size=s.count)


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


def _mean_wait(s: facts.FactSummary) -> KpiValue:
    if not s.count:
        return _no_data(NOBODY_CALLED)
    return KpiValue(value=round(s.total / s.count, 2), numerator=round(s.total, 2), denominator=s.count,
                    sample_size=s.count)


def kpi_mean_wait(city: City, period: Period) -> KpiValue:
    """Mean minutes from arrival at the office to being called."""
    return _mean_wait(facts.summary(city=city, key=WAIT_MINUTES, **_window(period)))


def wards_mean_wait(city: City, period: Period) -> dict[str, KpiValue]:
    found = facts.by_commune(city=city, key=WAIT_MINUTES, **_window(period))
    return {commune: _mean_wait(s) for commune, s in found.items() if commune}


def kpi_p90_wait(city: City, period: Period) -> KpiValue:
    """The 90th percentile of the minutes from arrival to being called."""
    n = facts.summary(city=city, key=WAIT_MINUTES, **_window(period)).count
    if not n:
        return _no_data(NOBODY_CALLED)
    (p90,) = facts.quantiles(city=city, key=WAIT_MINUTES, qs=(0.9,), **_window(period))
    return KpiValue(
        value=round(p90 or 0.0, 2),
        denominator=n,
        sample_size=n,
        note="90th percentile of minutes from arrival to call (±1 %)",
    )


def kpi_served_within_15(city: City, period: Period) -> KpiValue:
    """Share (%) of the people called in the period who waited at most 15 minutes."""
    within, n = facts.count_at_most(
        city=city, key=WAIT_MINUTES, limit=SERVED_WITHIN_MINUTES, **_window(period)
    )
    if not n:
        return _no_data(NOBODY_CALLED)
    return KpiValue(value=round(100 * within / n, 2), numerator=within, denominator=n, sample_size=n)


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
        method=gettext_lazy(
            "Appointments booked in advance for the days of the period (walk-ins and cancelled ones left "
            "out), divided by the number of days."
        ),
    ),
    KpiCalculator(
        code="appointments.online_share",
        name=gettext_lazy("Public-service visits booked online"),
        unit="%",
        compute=kpi_online_share,
        method=gettext_lazy(
            "Visits served in the period: the share that had been booked online (in the app or through "
            "the API) rather than taken as walk-ins at the office."
        ),
    ),
    KpiCalculator(
        code="appointments.no_show_rate",
        name=gettext_lazy("Appointments missed (no-show)"),
        unit="%",
        compute=kpi_no_show_rate,
        higher_is_better=False,
        method=gettext_lazy(
            "Booked appointments of the period that were served or missed: the share the person missed."
        ),
    ),
    KpiCalculator(
        code="appointments.mean_wait",
        name=gettext_lazy("Mean wait at public-service offices"),
        unit="min",
        compute=kpi_mean_wait,
        higher_is_better=False,
        compute_wards=wards_mean_wait,
        method=gettext_lazy(
            "Mean of the minutes from arrival at the office (check-in or walk-in) to being called to a "
            "counter, for the visits of the period; per ward by the office's ward."
        ),
    ),
    KpiCalculator(
        code="appointments.p90_wait",
        name=gettext_lazy("Wait at public-service offices (90th percentile)"),
        unit="min",
        compute=kpi_p90_wait,
        higher_is_better=False,
        method=gettext_lazy(
            "Nine in ten visitors of the period were called within this many minutes of their arrival "
            "(90th percentile, from a histogram accurate to 1 %)."
        ),
    ),
    KpiCalculator(
        code="appointments.served_within_15_minutes",
        name=gettext_lazy("Visitors called within 15 minutes"),
        unit="%",
        compute=kpi_served_within_15,
        method=gettext_lazy(
            "Visitors called in the period: the share called within 15 minutes of their arrival (to the "
            "1 % accuracy of the wait histogram)."
        ),
    ),
    KpiCalculator(
        code="appointments.mean_satisfaction",
        name=gettext_lazy("Citizens' satisfaction with public-service visits"),
        unit="1–5",
        compute=kpi_mean_satisfaction,
        method=gettext_lazy("Mean of the ratings (1 to 5) people gave in the period to their visit."),
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
