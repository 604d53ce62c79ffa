"""Reads of the appointments module, always scoped by city.

Public reads (services, offices, free slots, the "now serving" screen) expose no person; a
citizen's reads return only their own bookings; staff reads check the viewer's agency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from dothi.appointments.models import (
    ACTIVE_STATUSES,
    Booking,
    BookingStatus,
    Counter,
    Office,
    Service,
    Slot,
)
from dothi.core.errors import InvalidInput, NotFound
from dothi.core.models import City
from dothi.core.permissions import PLATFORM_ADMIN, can, require, roles_of

CITY_WIDE = frozenset({"operator", "city_admin", PLATFORM_ADMIN})
AGENCY_ROLES = ("agency_staff", "agency_manager")
EARTH_RADIUS_M = 6_371_000.0


def _tz(city: City) -> ZoneInfo:
    return ZoneInfo(city.time_zone or "Asia/Ho_Chi_Minh")


def local_today(city: City, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(_tz(city)).date()


# --- Services and offices ------------------------------------------------------------------------


def services(*, city: City, include_inactive: bool = False) -> QuerySet[Service]:
    """The city's bookable services in display order."""
    qs = Service.objects.for_city(city).select_related("agency")
    return qs if include_inactive else qs.filter(is_active=True)


def service_by_code(*, city: City, code: str) -> Service:
    """The city's active service with this code, or InvalidInput."""
    found = (
        Service.objects.for_city(city).filter(is_active=True, code=code[:60]).first()
        if isinstance(code, str)
        else None
    )
    if found is None:
        raise InvalidInput(_("Unknown service."), field="service", code="service_unknown")
    return found


def offices(*, city: City, include_inactive: bool = False) -> QuerySet[Office]:
    qs = Office.objects.for_city(city).select_related("commune", "agency")
    return qs if include_inactive else qs.filter(is_active=True)


def office_by_code(*, city: City, code: str) -> Office:
    """The city's active office with this code, or InvalidInput (another city's office is unknown)."""
    found = (
        Office.objects.for_city(city).filter(is_active=True, code=code[:60]).first()
        if isinstance(code, str)
        else None
    )
    if found is None:
        raise InvalidInput(_("Unknown office."), field="office", code="office_unknown")
    return found


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


@dataclass
class OfficeChoice:
    """An office offering a service, with its distance from the person and its next free slot."""

    office: Office
    distance_m: int | None
    next_free_slot: Slot | None


def offices_for_service(
    *,
    city: City,
    service: Service,
    lat: float | None = None,
    lon: float | None = None,
    now: datetime | None = None,
) -> list[OfficeChoice]:
    """The active offices with a counter serving `service`: nearest first when the person's point is
    given (else by name), each with its next free slot (None when fully booked)."""
    if service.city_id != city.pk:
        raise InvalidInput(_("Unknown service."), field="service", code="service_unknown")
    if (lat is None) != (lon is None):
        raise InvalidInput(_("Give both latitude and longitude."), field="lat")
    if lat is not None:
        from dothi.core.geo import _check_coordinates

        lon, lat = _check_coordinates(lon, lat)
    found = (
        offices(city=city)
        .filter(counters__is_active=True, counters__services=service)
        .distinct()
        .order_by("name_vi")
    )
    choices = [
        OfficeChoice(
            office=o,
            distance_m=round(distance_m(lat, lon, o.lat, o.lon)) if lat is not None else None,
            next_free_slot=next_free_slot(city=city, office=o, service=service, after=now),
        )
        for o in found
    ]
    if lat is not None:
        choices.sort(key=lambda c: (c.distance_m, c.office.name_vi))
    return choices


# --- Slots -----------------------------------------------------------------------------------------


def _bookable(city: City, office: Office, service: Service, after: datetime) -> QuerySet[Slot]:
    from dothi.appointments.services import closed_days

    horizon = local_today(city, after) + timedelta(days=int(service.max_days_ahead))
    qs = Slot.objects.filter(
        city=city,
        office=office,
        service=service,
        start__gt=after,
        booked__lt=F("capacity"),
        start__lt=datetime.combine(horizon + timedelta(days=1), datetime.min.time(), _tz(city)),
    )
    closed = closed_days(city, office, local_today(city, after), horizon)
    for day in closed:
        start = datetime.combine(day, datetime.min.time(), _tz(city))
        qs = qs.exclude(start__gte=start, start__lt=start + timedelta(days=1))
    return qs


def next_free_slot(
    *, city: City, office: Office, service: Service, after: datetime | None = None
) -> Slot | None:
    """The earliest slot with a free place of `service` at `office` after `after` (now)."""
    return _bookable(city, office, service, after or timezone.now()).order_by("start").first()


def free_slots(
    *, city: City, office: Office, service: Service, day: date, now: datetime | None = None
) -> list[Slot]:
    """The slots of `day` (local) with free places, in time order. Another city's office or service
    is InvalidInput; a day in the past or beyond the service's horizon has none."""
    if office.city_id != city.pk:
        raise InvalidInput(_("Unknown office."), field="office", code="office_unknown")
    if service.city_id != city.pk:
        raise InvalidInput(_("Unknown service."), field="service", code="service_unknown")
    start = datetime.combine(day, datetime.min.time(), _tz(city))
    qs = _bookable(city, office, service, now or timezone.now()).filter(
        start__gte=start, start__lt=start + timedelta(days=1)
    )
    return list(qs.order_by("start"))


def days_with_free_slots(
    *, city: City, office: Office, service: Service, now: datetime | None = None
) -> list[date]:
    """The local days that still have a free place (for a date picker)."""
    tz = _tz(city)
    starts = _bookable(city, office, service, now or timezone.now()).values_list("start", flat=True)
    return sorted({s.astimezone(tz).date() for s in starts})


def slot(*, city: City, pk: int) -> Slot:
    found = Slot.objects.filter(city=city, pk=pk).select_related("office", "service").first()
    if found is None:
        raise NotFound(_("Unknown slot."), field="slot")
    return found


# --- Bookings --------------------------------------------------------------------------------------


def booking_by_code(*, city: City, code: str) -> Booking:
    """The city's booking with this code (typed or from a QR code); InvalidInput when malformed,
    NotFound when none. No permission check: callers check who may see it (see booking_for_viewer)."""
    from dothi.appointments.services import normalise_code

    code = normalise_code(code)
    found = (
        Booking.objects.for_city(city)
        .filter(code=code)
        .select_related("office", "service", "slot", "counter", "citizen")
        .first()
    )
    if found is None:
        raise NotFound(_("Booking not found."), field="code")
    return found


def booking_for_viewer(*, actor, city: City, code: str) -> Booking:
    """A booking its citizen, or staff serving its office, may see; NotFound for anyone else (so
    codes cannot be probed)."""
    booking = booking_by_code(city=city, code=code)
    own = getattr(actor, "is_authenticated", False) and booking.citizen_id == actor.pk
    if not own and not (can(actor, "appointments.serve", city) and can_serve(actor, booking.office)):
        raise NotFound(_("Booking not found."), field="code")
    return booking


def my_bookings(*, actor, city: City, active_only: bool = False) -> QuerySet[Booking]:
    """The signed-in person's bookings in the city, upcoming first then the most recent."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return Booking.objects.none()
    qs = (
        Booking.objects.for_city(city)
        .filter(citizen=actor)
        .select_related("office", "service", "slot")
        .order_by("-day", "-created_at")
    )
    return qs.filter(status__in=ACTIVE_STATUSES) if active_only else qs


# --- Staff ----------------------------------------------------------------------------------------


def served_agency_ids(*, actor, city: City) -> set[int] | None:
    """The agencies whose offices `actor` serves: None = every office (operators, city
    administrators); an empty set, none."""
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


def can_serve(actor, office: Office) -> bool:
    """Staff of the office's agency, operators and city administrators serve at its counters."""
    if not can(actor, "appointments.serve", office.city):
        return False
    agencies = served_agency_ids(actor=actor, city=office.city)
    return agencies is None or (office.agency_id is not None and office.agency_id in agencies)


def staff_offices(*, actor, city: City) -> QuerySet[Office]:
    """The offices `actor` serves at (PermissionDenied without appointments.serve)."""
    require(actor, "appointments.serve", city)
    agencies = served_agency_ids(actor=actor, city=city)
    qs = offices(city=city)
    return qs if agencies is None else qs.filter(agency_id__in=agencies)


def counters(*, actor, office: Office) -> QuerySet[Counter]:
    if not can_serve(actor, office):
        raise PermissionDenied(_("This office belongs to another agency."))
    return Counter.objects.filter(office=office, is_active=True).prefetch_related("services")


def office_day(*, actor, office: Office, day: date | None = None) -> QuerySet[Booking]:
    """Every booking and walk-in of the office on `day` (today), by slot time then arrival."""
    if not can_serve(actor, office):
        raise PermissionDenied(_("This office belongs to another agency."))
    day = day or local_today(office.city)
    return (
        Booking.objects.filter(city=office.city, office=office, day=day)
        .select_related("service", "slot", "counter", "citizen")
        .order_by(F("slot__start").asc(nulls_last=True), "arrived_at", "created_at")
    )


def counter_day(*, actor, counter: Counter, day: date | None = None) -> QuerySet[Booking]:
    """The day's list for a counter: the office's bookings for the services it serves, and whoever
    it called or served."""
    base = office_day(actor=actor, office=counter.office, day=day)
    return base.filter(Q(service__in=counter.services.all()) | Q(counter=counter)).distinct()


def waiting(*, office: Office, day: date | None = None) -> QuerySet[Booking]:
    """The office's queue: checked-in bookings and walk-ins, in arrival order (no personal data)."""
    day = day or local_today(office.city)
    return (
        Booking.objects.filter(office=office, day=day, status=BookingStatus.CHECKED_IN)
        .only("pk", "queue_number", "arrived_at", "service_id")
        .order_by("arrived_at", "queue_number")
    )


@dataclass
class NowServing:
    counter_number: int
    counter_name: str
    queue_number: int | None
    service: str
    status: str


def now_serving(*, city: City, office: Office) -> dict:
    """The public "now serving" screen: per counter the number called or being served, and how many
    are waiting. Queue numbers only, never names or codes."""
    if office.city_id != city.pk:
        raise NotFound(_("Unknown office."))
    today = local_today(city)
    current = {
        b.counter_id: b
        for b in Booking.objects.filter(
            office=office, day=today, status__in=[BookingStatus.CALLED, BookingStatus.SERVING]
        )
        .select_related("service")
        .order_by("called_at")
    }
    rows = [
        NowServing(
            counter_number=c.number,
            counter_name=c.name,
            queue_number=current[c.pk].queue_number if c.pk in current else None,
            service=current[c.pk].service.name if c.pk in current else "",
            status=current[c.pk].status if c.pk in current else "",
        )
        for c in Counter.objects.filter(office=office, is_active=True).order_by("number")
    ]
    return {
        "office": office,
        "counters": rows,
        "waiting": waiting(office=office, day=today).count(),
        "updated_at": timezone.now(),
    }


# --- Control centre (the manifest's panel and ward summary) -----------------------------------------


def ioc_today(city: City, *, now: datetime | None = None) -> dict[str, int]:
    """Today's bookings and walk-ins across the city's offices: booked (not cancelled), served, and
    waiting now (checked in, not yet called). One query."""
    from django.db.models import Count

    today = local_today(city, now)
    counts = Booking.objects.filter(city=city, day=today).aggregate(
        booked=Count("pk", filter=~Q(status=BookingStatus.CANCELLED)),
        served=Count("pk", filter=Q(status=BookingStatus.SERVED)),
        waiting=Count("pk", filter=Q(status=BookingStatus.CHECKED_IN)),
    )
    return {key: value or 0 for key, value in counts.items()}


def ioc_today_panel(city: City, *, now: datetime | None = None) -> dict:
    """The `appointments.today` panel (counts)."""
    counts = ioc_today(city, now=now)
    return {
        "items": [
            {"label": _("Booked today"), "value": counts["booked"]},
            {"label": _("Served"), "value": counts["served"]},
            {"label": _("Waiting now"), "value": counts["waiting"]},
        ]
    }


def ioc_ward_summary(city: City, commune_code: str, *, now: datetime | None = None) -> list[dict]:
    """Bookings this month (local calendar, not cancelled) at the offices of one commune. One query."""
    today = local_today(city, now)
    first = today.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    n = (
        Booking.objects.filter(city=city, office__commune_id=commune_code, day__gte=first, day__lt=following)
        .exclude(status=BookingStatus.CANCELLED)
        .count()
    )
    return [{"label": _("Bookings this month"), "value": n}]


# --- Point set (core.geo.reassign_points re-locates these when official commune boundaries arrive) ----


def office_point_rows(city: City):
    """(pk, lon, lat, commune code) of every Office of the city, streamed."""
    from dothi.appointments.models import Office

    return (
        Office.objects.filter(city=city)
        .values_list("pk", "lon", "lat", "commune_id")
        .iterator(chunk_size=20_000)
    )
