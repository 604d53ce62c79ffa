"""Reads of the reports module, always scoped by city.

Public reads (`public_reports`, `nearby_open_reports`, `public_timeline`) never include confidential
or hidden reports and never expose the reporter; staff reads check the viewer's agency.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime, time
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from dothi.core import audit
from dothi.core.errors import InvalidInput, NotFound
from dothi.core.geo import locate
from dothi.core.models import City, Organisation
from dothi.core.permissions import PLATFORM_ADMIN, can, require, roles_of
from dothi.reports import catalogue
from dothi.reports.models import (
    OPEN_STATUSES,
    Category,
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


def _open_within(qs: QuerySet[Report], *, city: City, category, lat, lon, radius_m: float):
    """`qs` narrowed to open reports of `category` in the box around the point that holds the circle of
    `radius_m` (the caller keeps the rows really inside it), with the point as floats."""
    lat, lon = float(lat), float(lon)
    if not (math.isfinite(lat) and math.isfinite(lon)) or not -90 <= lat <= 90 or not -180 <= lon <= 180:
        raise InvalidInput(_("Latitude and longitude must be numbers."), code="coordinates_invalid")
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
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
    included: the hint is for the agency), or None. One indexed query; used when a report is filed."""
    qs, lat, lon = _open_within(
        Report.objects.for_city(city).filter(hidden=False), city=city, category=category, lat=lat,
        lon=lon, radius_m=radius_m,
    )
    best = None
    for pk, r_lat, r_lon in qs.values_list("pk", "lat", "lon")[:500]:
        distance = haversine_m(lat, lon, r_lat, r_lon)
        if distance <= radius_m and (best is None or distance < best[0]):
            best = (distance, pk)
    return best[1] if best else None


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
