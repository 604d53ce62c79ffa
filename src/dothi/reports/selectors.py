"""Reads of the reports module, always scoped by city.

Public reads (`public_reports`, `nearby_open_reports`, `public_timeline`) never include confidential
or hidden reports and never expose the reporter; staff reads check the viewer's agency.
"""

from __future__ import annotations

import functools
import json
import math
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from dothi.core import audit
from dothi.core.errors import InvalidInput, NotFound
from dothi.core.geo import locate
from dothi.core.models import City, Organisation, localised
from dothi.core.permissions import PLATFORM_ADMIN, can, require, roles_of
from dothi.reports import catalogue
from dothi.reports.models import (
    OPEN_STATUSES,
    Category,
    Priority,
    Report,
    ReportEvent,
    ReportPhoto,
    Status,
)

# Roles that act on every report of the city, not only their agency's.
CITY_WIDE = frozenset({"operator", "city_admin", PLATFORM_ADMIN})
AGENCY_ROLES = ("agency_staff", "agency_manager")
EARTH_RADIUS_M = 6_371_000.0


# --- Categories and routing --------------------------------------------------------------------


def categories(*, city: City, include_inactive: bool = False) -> QuerySet[Category]:
    """The city's categories with their questions, in display order."""
    qs = Category.objects.for_city(city).prefetch_related("attributes")
    return qs if include_inactive else qs.filter(is_active=True)


def category_by_code(*, city: City, code: str, active_only: bool = True) -> Category:
    """The city's category with this code (its Open311 service_code), or InvalidInput."""
    categories = catalogue.for_city(city).categories
    category = categories.get(code[:60]) if isinstance(code, str) else None
    if category is None or (active_only and not category.is_active):
        raise InvalidInput(_("Unknown category."), field="category", code="category_unknown")
    return category


def route(*, category: Category, commune) -> Organisation:
    """The agency responsible for `category` in `commune`: the commune's rule, else the category's
    default rule, else InvalidInput."""
    rules = catalogue.for_city(category.city_id).rules
    agency = rules.get((category.pk, getattr(commune, "pk", commune))) or rules.get((category.pk, None))
    if agency is None or not agency.is_active:
        raise InvalidInput(_("No agency handles this category here."), field="category", code="no_agency")
    return agency


def routing_preview(*, city: City, category_code: str, lat: float, lon: float) -> Organisation:
    """ "This will be sent to X": the agency a report of this category at this point would go to."""
    category = category_by_code(city=city, code=category_code)
    commune = locate(city, lon, lat)
    return route(category=category, commune=commune)


# --- Who may handle a report --------------------------------------------------------------------


def handled_agency_ids(*, actor, city: City) -> set[int] | None:
    """The agencies whose reports `actor` handles in `city`: None means every agency (operator, city
    administrator, platform administrator); an empty set, none."""
    roles = roles_of(actor, city)
    if roles & CITY_WIDE:
        return None
    if not roles & set(AGENCY_ROLES):
        return set()
    return set(
        actor.memberships.filter(city=city, role__in=AGENCY_ROLES, organisation__isnull=False).values_list(
            "organisation_id", flat=True
        )
    )


def member_of_agency(user, agency: Organisation, roles: tuple[str, ...] = AGENCY_ROLES) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return user.memberships.filter(city_id=agency.city_id, organisation=agency, role__in=roles).exists()


def can_handle(actor, report: Report) -> bool:
    """May `actor` work on this report: staff of its agency, or an operator / city administrator."""
    if not can(actor, "reports.handle", report.city):
        return False
    agencies = handled_agency_ids(actor=actor, city=report.city)
    return agencies is None or report.agency_id in agencies


def require_handle(actor, report: Report, operation: str = "reports.handle") -> None:
    require(actor, operation, report.city)
    if operation == "reports.handle" and not can_handle(actor, report):
        raise PermissionDenied(_("This report belongs to another agency."))
    if operation != "reports.handle":
        roles = roles_of(actor, report.city)
        if not roles & CITY_WIDE and not member_of_agency(actor, report.agency, ("agency_manager",)):
            raise PermissionDenied(_("This report belongs to another agency."))


def is_reporter(actor, report: Report) -> bool:
    return (
        actor is not None
        and getattr(actor, "is_authenticated", False)
        and report.reporter_id is not None
        and report.reporter_id == actor.pk
    )


# --- Public reads -------------------------------------------------------------------------------


def _public(city: City) -> QuerySet[Report]:
    # The encrypted contact never leaves the database on public reads.
    return (
        Report.objects.for_city(city)
        .filter(confidential=False, hidden=False)
        .defer("reporter_contact_enc", "idempotency_key")
    )


def _as_datetime(value: date | datetime, city: City, end: bool = False) -> datetime:
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    from zoneinfo import ZoneInfo

    moment = datetime.combine(value, time.max if end else time.min, ZoneInfo(city.time_zone))
    return moment


def _statuses(status: Any) -> list[str]:
    if isinstance(status, str):
        if status == "open":
            return [str(s) for s in OPEN_STATUSES]
        if status == "closed":
            return [str(s) for s in Status if s not in OPEN_STATUSES]
        return [status]
    return [str(s) for s in status]


def public_reports(
    *,
    city: City,
    category: Category | str | None = None,
    commune=None,
    status: str | list[str] | None = None,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    bbox: tuple[float, float, float, float] | None = None,
) -> QuerySet[Report]:
    """Reports anyone may see (not confidential, not hidden), newest first. `status` may be a status,
    a list, or "open"/"closed"; `bbox` is (min_lon, min_lat, max_lon, max_lat); `since`/`until` filter
    on the submission time (dates are whole local days)."""
    qs = _public(city).select_related("category", "commune", "agency")
    if category is not None:
        qs = _of_category(qs, city, category)
    if commune is not None:
        qs = qs.filter(commune_id=getattr(commune, "pk", commune))
    if status:
        qs = qs.filter(status__in=_statuses(status))
    if since is not None:
        qs = qs.filter(submitted_at__gte=_as_datetime(since, city))
    if until is not None:
        qs = qs.filter(submitted_at__lte=_as_datetime(until, city, end=True))
    if bbox is not None:
        min_lon, min_lat, max_lon, max_lat = (float(v) for v in bbox)
        qs = qs.filter(lon__gte=min_lon, lon__lte=max_lon, lat__gte=min_lat, lat__lte=max_lat)
    return qs.order_by("-submitted_at")


def public_map_rows(*, city: City, limit: int, **criteria) -> list[tuple]:
    """(reference, category id, status, lat, lon) of the newest `limit` public reports matching the
    criteria of `public_reports`: what the map draws. Thousands of rows, read in one fetch rather than
    through the queryset's chunked iterator; the whole-city view is an index-only scan."""
    query = public_reports(city=city, **criteria).values_list(
        "reference", "category_id", "status", "lat", "lon"
    )[:limit]
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def public_map_points_json(*, city: City, limit: int, **criteria) -> tuple[int, str]:
    """The same points for the map page, as a JSON array the database builds:
    `[[lat, lon, reference, category id, status], …]`, with their number. Thousands of points cost the
    database a few milliseconds and Python nothing."""
    query = public_reports(city=city, **criteria).values_list(
        "lat", "lon", "reference", "category_id", "status"
    )[:limit]
    sql, params = query.query.sql_with_params()
    columns = "t.lat, t.lon, t.reference, t.category_id, t.status"
    if connection.vendor == "postgresql":
        points = f"coalesce(json_agg(json_build_array({columns})), '[]')::text"
    else:  # SQLite's JSON1
        points = f"json_group_array(json_array({columns}))"
    with connection.cursor() as cursor:
        # `sql` is the compiled queryset (its values are in `params`).
        cursor.execute(f"SELECT count(*), {points} FROM ({sql}) AS t", params)  # noqa: S608
        count, text = cursor.fetchone()
    return count, text


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _of_category(qs: QuerySet[Report], city: City, category: Category | str) -> QuerySet[Report]:
    """Filter by a category or its code (looked up in the city's catalogue: no join)."""
    if isinstance(category, str):
        category = catalogue.for_city(city).categories.get(category)
        if category is None:
            return qs.none()
    return qs.filter(category_id=category.pk)


def _box(lat, lon, radius_m: float) -> tuple[float, float, float]:
    """The point as floats (InvalidInput when it is not a point on Earth) and the half-height in degrees
    of the box holding the circle of `radius_m` around it."""
    lat, lon = float(lat), float(lon)
    if not (math.isfinite(lat) and math.isfinite(lon)) or not -90 <= lat <= 90 or not -180 <= lon <= 180:
        raise InvalidInput(_("Latitude and longitude must be numbers."), code="coordinates_invalid")
    return lat, lon, math.degrees(radius_m / EARTH_RADIUS_M)


def _open_within(qs: QuerySet[Report], *, city: City, category, lat, lon, radius_m: float):
    """`qs` narrowed to open reports of `category` in the box around the point that holds the circle of
    `radius_m` (the caller keeps the rows really inside it), with the point as floats."""
    lat, lon, dlat = _box(lat, lon, radius_m)
    dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
    qs = qs.filter(
        status__in=OPEN_STATUSES,
        lat__gte=lat - dlat,
        lat__lte=lat + dlat,
        lon__gte=lon - dlon,
        lon__lte=lon + dlon,
    )
    return _of_category(qs, city, category), lat, lon


def nearby_open_reports(
    *, city: City, category: Category | str, lat: float, lon: float, radius_m: float = 250, limit: int = 20
) -> list[Report]:
    """Public open reports of the category within `radius_m` of the point, nearest first (shown
    before submitting so the citizen can follow one instead of filing a duplicate)."""
    qs, lat, lon = _open_within(
        _public(city), city=city, category=category, lat=lat, lon=lon, radius_m=radius_m
    )
    hits = []
    for report in qs.select_related("category", "agency")[:500]:
        distance = haversine_m(lat, lon, report.lat, report.lon)
        if distance <= radius_m:
            report.distance_m = round(distance)
            hits.append(report)
    hits.sort(key=lambda r: r.distance_m)
    return hits[:limit]


def nearest_open_report_id(
    *, city: City, category: Category, lat: float, lon: float, radius_m: float = 250
) -> int | None:
    """The id of the nearest open, visible report of the category within `radius_m` (confidential ones
    included: the hint is for the agency), or None. Used on every submission, so one indexed statement
    that lets the database pick the nearest in the box (by the local flat-earth distance, which orders
    points within a few hundred metres as the great-circle one does) and returns only that row."""
    lat, lon, dlat = _box(lat, lon, radius_m)
    cos_lat = max(math.cos(math.radians(lat)), 1e-6)
    dlon = dlat / cos_lat
    with connection.cursor() as cursor:
        cursor.execute(_nearest_open_sql(), [
            city.pk, category.pk, False, *OPEN_STATUSES, lat - dlat, lat + dlat, lon - dlon, lon + dlon,
            lat, lat, lon, lon, cos_lat * cos_lat,
        ])
        row = cursor.fetchone()
    if row is None or haversine_m(lat, lon, row[1], row[2]) > radius_m:
        return None
    return row[0]


@functools.cache
def _nearest_open_sql() -> str:
    table = connection.ops.quote_name(Report._meta.db_table)
    placeholders = ", ".join(["%s"] * len(OPEN_STATUSES))
    return (
        f"SELECT id, lat, lon FROM {table} WHERE city_id = %s AND category_id = %s AND hidden = %s"  # noqa: S608 - names from the model, values bound
        f" AND status IN ({placeholders}) AND lat BETWEEN %s AND %s AND lon BETWEEN %s AND %s"
        " ORDER BY (lat - %s) * (lat - %s) + (lon - %s) * (lon - %s) * %s LIMIT 1"
    )


def can_view(viewer, report: Report) -> bool:
    """Public reports are visible to all; confidential or hidden ones to their reporter and to staff
    who may handle them."""
    return report.is_public or is_reporter(viewer, report) or can_handle(viewer, report)


def report_for_viewer(*, city: City, reference: str, viewer) -> Report:
    """The report with this reference in `city`, if `viewer` may see it; NotFound (404) otherwise, so
    a confidential report's existence is not revealed."""
    report = (
        Report.objects.for_city(city)
        .select_related("category", "commune", "agency", "city", "assignee", "duplicate_of")
        .filter(reference=str(reference or "")[:24])
        .first()
    )
    if report is None or not can_view(viewer, report):
        raise NotFound(_("Report not found."))
    return report


def public_timeline(report: Report) -> list[ReportEvent]:
    """The events shown on the public page (no internal notes, no actor)."""
    return list(report.events.filter(public=True).order_by("at", "id"))


def timeline_for(viewer, report: Report) -> list[ReportEvent]:
    """Every event for staff who handle the report; the public ones for others."""
    if can_handle(viewer, report):
        return list(report.events.select_related("actor").order_by("at", "id"))
    return public_timeline(report)


def public_photos(report: Report) -> list[ReportPhoto]:
    """Photos anyone who may see the report may see (not hidden by moderation)."""
    return list(report.photos.filter(hidden=False).order_by("created_at", "id"))


def agency_queue(
    *,
    city: City,
    actor,
    agency: Organisation | None = None,
    status: str | list[str] | None = None,
    assignee=None,
    overdue: bool | None = None,
    category: Category | str | None = None,
    commune=None,
) -> QuerySet[Report]:
    """The reports an agency works on, oldest due first. Agency staff see their agencies' reports;
    operators and city administrators every agency's (optionally one). `status` may be "open";
    `assignee` a user, a user id, or "none" for unassigned."""
    require(actor, "reports.handle", city)
    qs = Report.objects.for_city(city).select_related("category", "commune", "agency", "assignee")
    agencies = handled_agency_ids(actor=actor, city=city)
    if agencies is not None:
        qs = qs.filter(agency_id__in=agencies)
    if agency is not None:
        qs = qs.filter(agency_id=getattr(agency, "pk", agency))
    if status:
        qs = qs.filter(status__in=_statuses(status))
    if assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif assignee is not None:
        qs = qs.filter(assignee_id=getattr(assignee, "pk", assignee))
    if overdue is not None:
        late = Q(status__in=OPEN_STATUSES, paused_at__isnull=True, due_at__lt=timezone.now())
        qs = qs.filter(late) if overdue else qs.exclude(late)
    if category is not None:
        qs = qs.filter(category__code=category) if isinstance(category, str) else qs.filter(category=category)
    if commune is not None:
        qs = qs.filter(commune_id=getattr(commune, "pk", commune))
    return qs.order_by("due_at", "submitted_at")


def assignable_staff(*, report: Report):
    """Staff of the report's agency who can be assigned to it."""
    from dothi.identity.models import User

    return User.objects.filter(
        is_active=True,
        memberships__city_id=report.city_id,
        memberships__organisation_id=report.agency_id,
        memberships__role__in=AGENCY_ROLES,
    ).distinct()


def reporter_contact(*, actor, report: Report, request=None) -> dict[str, str]:
    """The reporter's name, phone and e-mail, for staff of the report's agency and city
    administrators only; every read is audited."""
    from dothi.identity import crypto

    require(actor, "reports.view_contact", report.city)
    roles = roles_of(actor, report.city)
    if not roles & {"city_admin", PLATFORM_ADMIN} and not member_of_agency(actor, report.agency):
        raise PermissionDenied(_("This report belongs to another agency."))
    contact = {"name": "", "phone": "", "email": ""}
    if report.reporter_contact_enc:
        stored = json.loads(crypto.decrypt(report.reporter_contact_enc))
        contact.update({k: str(stored.get(k) or "") for k in contact})
    elif report.reporter is not None:
        person = report.reporter
        contact = {
            "name": person.display_name,
            "phone": crypto.decrypt(person.phone_enc) if person.phone_enc else "",
            "email": person.email,
        }
    audit.read_personal(
        actor=actor,
        subject=report,
        city=report.city,
        request=request,
        fields=[k for k, v in contact.items() if v],
    )
    return contact


# --- Control centre (the manifest's panels, alarm source and ward summary) -------------------------
# The control centre is a staff screen: its panels show every open report of the city, but a
# confidential one (its category or the report itself) never with its text or exact place: it sits at
# its commune's centre, titled by its category, without its reference or address in the line shown.

# At most this many open reports on the map, and overdue ones as alarms, the most urgent first.
IOC_MAP_LIMIT = 2000
IOC_ALARM_LIMIT = 500
TREND_DAYS = 14
# Within this time of its deadline an open report is drawn as a warning.
DUE_SOON_HOURS = 24


def _is_confidential(report_confidential: bool, category: Category | None) -> bool:
    return bool(report_confidential or (category is not None and category.confidential))


def _local_midnight(city: City, day: date) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime.combine(day, time.min, ZoneInfo(city.time_zone))


def _overdue_q(now: datetime) -> Q:
    return Q(status__in=OPEN_STATUSES, paused_at__isnull=True, due_at__lt=now)


def _due_text(due_at: datetime | None, paused_at: datetime | None, now: datetime) -> str:
    from django.utils.timesince import timesince, timeuntil

    if paused_at is not None:
        return _("waiting for information")
    if due_at is None:
        return ""
    if due_at < now:
        return _("overdue by %(time)s") % {"time": timesince(due_at, now, depth=1)}
    return _("due in %(time)s") % {"time": timeuntil(due_at, now, depth=1)}


def ioc_open_geojson(city: City, *, now: datetime | None = None, limit: int = IOC_MAP_LIMIT) -> dict:
    """The `reports.open` panel: the city's open reports (the `limit` due soonest: overdue ones first),
    `danger` when overdue, `warning` when due within a day or of high priority, `muted` while waiting
    for information, `info` otherwise. A confidential report is drawn at its commune's centre with its
    category's name only (no text, no address, no exact place). One query."""
    from django.db.models import F
    from django.urls import reverse

    now = now or timezone.now()
    categories = {c.pk: c for c in catalogue.for_city(city).categories.values()}
    rows = (
        Report.objects.for_city(city)
        .filter(status__in=OPEN_STATUSES)
        .order_by(F("due_at").asc(nulls_last=True), "submitted_at", "pk")
        .values_list(
            "reference",
            "category_id",
            "status",
            "priority",
            "confidential",
            "lat",
            "lon",
            "address",
            "commune_id",
            "commune__name",
            "commune__centre_lat",
            "commune__centre_lon",
            "due_at",
            "paused_at",
        )[:limit]
    )
    labels = dict(Status.choices)
    features = []
    for (
        reference,
        category_id,
        status,
        priority,
        confidential,
        lat,
        lon,
        address,
        commune,
        commune_name,
        c_lat,
        c_lon,
        due_at,
        paused_at,
    ) in rows:
        category = categories.get(category_id)
        secret = _is_confidential(confidential, category)
        if secret:
            if c_lat is None or c_lon is None:
                continue  # no commune centre known: never fall back to the exact place
            lat, lon = c_lat, c_lon
        overdue = paused_at is None and due_at is not None and due_at < now
        if overdue:
            level = "danger"
        elif paused_at is not None:
            level = "muted"
        elif priority >= Priority.HIGH or (
            due_at is not None and due_at - now < timedelta(hours=DUE_SOON_HOURS)
        ):
            level = "warning"
        else:
            level = "info"
        parts = [] if secret else [reference, address or commune_name]
        if secret:
            parts.append(commune_name)
        parts += [str(labels.get(status, status)), _due_text(due_at, paused_at, now)]
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
                "properties": {
                    "id": reference,
                    "title": category.name if category is not None else "",
                    "level": level,
                    "meta": " · ".join(p for p in parts if p),
                    "url": reverse("reports:detail", args=[reference]),
                    "fragment": reverse("reports:fragment", args=[reference]),
                    "status": status,
                    "overdue": overdue,
                    "confidential": secret,
                    "category": category.code if category is not None else "",
                    "commune": commune,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def ioc_counts(city: City, *, now: datetime | None = None, commune_code: str | None = None) -> dict[str, int]:
    """Reports received today (local day), received this month, open, and overdue: one query."""
    from django.db.models import Count

    now = now or timezone.now()
    today = timezone.localtime(now, timezone=_zone(city)).date()
    start_today = _local_midnight(city, today)
    start_month = _local_midnight(city, today.replace(day=1))
    qs = Report.objects.for_city(city)
    if commune_code:
        qs = qs.filter(commune_id=commune_code)
    counts = qs.aggregate(
        today=Count("pk", filter=Q(submitted_at__gte=start_today)),
        month=Count("pk", filter=Q(submitted_at__gte=start_month)),
        open=Count("pk", filter=Q(status__in=OPEN_STATUSES)),
        overdue=Count("pk", filter=_overdue_q(now)),
    )
    return {key: value or 0 for key, value in counts.items()}


def _zone(city: City):
    from zoneinfo import ZoneInfo

    return ZoneInfo(city.time_zone)


def ioc_counts_panel(city: City, *, now: datetime | None = None) -> dict:
    """The `reports.counts` panel: new today, open, overdue."""
    from django.urls import reverse

    counts = ioc_counts(city, now=now)
    queue = reverse("reports:queue")
    return {
        "items": [
            {"label": _("New today"), "value": counts["today"], "url": reverse("reports:list")},
            {"label": _("Open"), "value": counts["open"], "url": queue},
            {
                "label": _("Overdue"),
                "value": counts["overdue"],
                "level": "danger" if counts["overdue"] else "normal",
                "url": f"{queue}?overdue=1",
            },
        ]
    }


def ioc_trend(city: City, *, now: datetime | None = None, days: int = TREND_DAYS) -> dict:
    """The `reports.trend` panel: reports received per local day over the last `days` days (today
    included), as a series. One grouped query."""
    from django.db.models import Count
    from django.db.models.functions import TruncDate
    from django.utils.translation import pgettext

    now = now or timezone.now()
    zone = _zone(city)
    today = timezone.localtime(now, timezone=zone).date()
    first = today - timedelta(days=days - 1)
    per_day = dict(
        Report.objects.for_city(city)
        .filter(submitted_at__gte=_local_midnight(city, first))
        .annotate(day=TruncDate("submitted_at", tzinfo=zone))
        .values_list("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    labels = [first + timedelta(days=i) for i in range(days)]
    return {
        "unit": pgettext("chart unit", "reports"),
        "labels": [d.isoformat() for d in labels],
        "series": [{"label": _("Received"), "values": [per_day.get(d, 0) for d in labels]}],
    }


def ioc_overdue(city: City, *, now: datetime | None = None, limit: int = IOC_ALARM_LIMIT) -> list:
    """The `reports.overdue:<reference>` alarm candidates: open reports past their deadline (not paused),
    the longest overdue first, at most `limit`; `danger` for high or urgent priority. Confidential ones
    carry their category's name and their commune's centre only. One query."""
    from django.urls import reverse

    from dothi.core.manifests import AlarmCandidate

    now = now or timezone.now()
    categories = {c.pk: c for c in catalogue.for_city(city).categories.values()}
    rows = (
        Report.objects.for_city(city)
        .filter(_overdue_q(now))
        .order_by("due_at", "pk")
        .values_list(
            "reference",
            "category_id",
            "priority",
            "confidential",
            "lat",
            "lon",
            "commune_id",
            "commune__name",
            "commune__centre_lat",
            "commune__centre_lon",
            "agency__name_vi",
            "agency__name_en",
            "due_at",
        )[:limit]
    )
    found = []
    for (
        reference,
        category_id,
        priority,
        confidential,
        lat,
        lon,
        commune,
        commune_name,
        c_lat,
        c_lon,
        agency_vi,
        agency_en,
        due_at,
    ) in rows:
        category = categories.get(category_id)
        name = category.name if category is not None else ""
        if _is_confidential(confidential, category):
            lat, lon = c_lat, c_lon
        found.append(
            AlarmCandidate(
                key=f"reports.overdue:{reference}",
                kind="overdue",
                title=_("Overdue report: %(category)s") % {"category": name},
                raised_at=due_at,
                level="danger" if priority >= Priority.HIGH else "warning",
                detail=_("%(reference)s · %(commune)s · %(agency)s · %(due)s")
                % {
                    "reference": reference,
                    "commune": commune_name,
                    "agency": localised(agency_vi, agency_en),
                    "due": _due_text(due_at, None, now),
                },
                url=reverse("reports:detail", args=[reference]),
                lon=lon,
                lat=lat,
                commune_code=commune or "",
            )
        )
    return found


def ioc_ward_summary(city: City, commune_code: str, *, now: datetime | None = None) -> list[dict]:
    """A commune's reports for the control centre's ward drawer: open, overdue, received this month."""
    from django.urls import reverse

    counts = ioc_counts(city, now=now, commune_code=commune_code)
    queue = reverse("reports:queue")
    return [
        {"label": _("Open reports"), "value": counts["open"], "url": f"{queue}?commune={commune_code}"},
        {
            "label": _("Overdue reports"),
            "value": counts["overdue"],
            "level": "danger" if counts["overdue"] else "normal",
            "url": f"{queue}?commune={commune_code}&overdue=1",
        },
        {"label": _("Reports received this month"), "value": counts["month"]},
    ]


def ioc_report(*, city: City, reference: str, viewer) -> Report:
    """The report the control centre's drill-down shows: a public report to anyone; a confidential or
    hidden one only to staff who may handle it (NotFound otherwise, its reporter included: the
    fragment is a staff view)."""
    report = (
        Report.objects.for_city(city)
        .select_related("category", "commune", "agency")
        .defer("reporter_contact_enc", "idempotency_key")
        .filter(reference=str(reference or "")[:24])
        .first()
    )
    public = report is not None and report.is_public and not report.category.confidential
    if report is None or not (public or can_handle(viewer, report)):
        raise NotFound(_("Report not found."))
    return report


# --- Point set (core.geo.reassign_points re-locates these when official commune boundaries arrive) ----


def report_point_rows(city: City):
    """(pk, lon, lat, commune code) of every Report of the city, streamed."""
    from dothi.reports.models import Report

    return (
        Report.objects.filter(city=city)
        .values_list("pk", "lon", "lat", "commune_id")
        .iterator(chunk_size=20_000)
    )
