"""Writes of the appointments module: configuring offices, counters, services and closed days,
generating slots, booking, cancelling and rescheduling, the counter's queue (check-in, call next,
served, no-show, walk-ins) and the day-before reminders.

Every service is keyword-only and runs in one transaction; it checks the actor's permission, writes
the audit trail and raises dothi.core.errors.* for bad input, so nothing is stored.

Never overbook: a place is taken only by one conditional UPDATE
(`booked = booked + 1 WHERE id = … AND booked < capacity`), whose row count says whether the place
was still free. On PostgreSQL a concurrent UPDATE of the same slot waits for the first one's row lock
and re-checks the condition against the committed row, so two people can never take the last place;
SQLite serialises writers. The CHECK constraint `booked <= capacity` is the backstop.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Max, Q, Value
from django.db.models.functions import Greatest
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from dothi.appointments import selectors, stats
from dothi.appointments.models import (
    ACTIVE_STATUSES,
    Booking,
    BookingChannel,
    BookingStatus,
    ClosedDay,
    Counter,
    Office,
    Service,
    Slot,
)
from dothi.core import audit
from dothi.core.calendar import WorkingCalendar
from dothi.core.cities import policy
from dothi.core.errors import Conflict, InvalidInput, NotFound
from dothi.core.models import AuditEvent, City, CommuneArea, Organisation
from dothi.core.parsing import clean_text
from dothi.core.permissions import require
from dothi.core.services import notify

# Booking codes: 8 characters without the look-alikes 0/O, 1/I/L and U (read aloud at a counter).
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 8
_CODE_RE = re.compile(rf"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")

# Per-city policy (City.settings["appointments"]): see dothi.core.cities.policy.
DEFAULT_POLICY: dict[str, int] = {
    "slot_days_ahead": 14,  # slots are generated this many days ahead (capped by each service's own)
    "no_show_limit": 3,  # this many no-shows …
    "no_show_window_days": 90,  # … within this many days …
    "no_show_ban_days": 30,  # … and the person cannot book for this many days after the last one
}

B = BookingStatus


def appointment_policy(city: City) -> dict[str, int]:
    merged = dict(DEFAULT_POLICY)
    for key, value in policy(city, "appointments").items():
        if key in DEFAULT_POLICY:
            try:
                merged[key] = max(int(value), 0)
            except (TypeError, ValueError):
                continue  # a typo in the city's settings must not stop every booking
        else:
            merged[key] = value
    return merged


def _tz(city: City) -> ZoneInfo:
    return ZoneInfo(city.time_zone or "Asia/Ho_Chi_Minh")


def _local_date(city: City, moment: datetime) -> date:
    return moment.astimezone(_tz(city)).date()


def _format_moment(city: City, moment: datetime) -> str:
    local = moment.astimezone(_tz(city))
    return f"{formats.date_format(local.date(), 'SHORT_DATE_FORMAT')} {local:%H:%M}"


def booking_url(booking: Booking) -> str:
    try:
        return reverse("appointments:detail", kwargs={"code": booking.code})
    except NoReverseMatch:
        return f"/appointments/b/{booking.code}/"




# --- Booking codes -------------------------------------------------------------------------------


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(value: Any) -> str:
    """The booking code in `value`: the code itself (any case, spaces or dashes allowed) or a URL that
    carries it (a QR code's content: `?code=…` or the last path segment). InvalidInput otherwise."""
    malformed = InvalidInput(
        _("This is not a booking code: it has 8 letters and digits, e.g. 7KX4-M2QD."),
        field="code",
        code="code_malformed",
    )
    if not isinstance(value, str) or len(value) > 500:
        raise malformed
    text = value.strip()
    candidates = [text]
    if "/" in text or "?" in text:
        parts = urlsplit(text)
        candidates = parse_qs(parts.query).get("code", [])[:1]
        candidates += [s for s in reversed(parts.path.split("/")) if s]
    for candidate in candidates:
        code = re.sub(r"[\s-]", "", candidate).upper()
        if _CODE_RE.match(code):
            return code
    raise malformed


# --- Opening hours and closed days ---------------------------------------------------------------


def _parse_hours(value: Any) -> tuple[time, time] | None:
    try:
        start, end = time.fromisoformat(str(value[0])), time.fromisoformat(str(value[1]))
    except (TypeError, ValueError, IndexError, KeyError):
        return None
    return (start, end) if start < end else None


def clean_opening_hours(value: Any) -> dict[str, list[str]]:
    """Validate opening hours {"0": ["07:30", "17:00"], …} (Monday = 0) and return them normalised."""
    if not isinstance(value, dict):
        raise InvalidInput(_("Opening hours must map weekdays to [opening, closing]."), field="opening_hours")
    out: dict[str, list[str]] = {}
    for key, hours in value.items():
        if str(key) not in {str(d) for d in range(7)}:
            raise InvalidInput(_("Weekdays are numbered 0 (Monday) to 6 (Sunday)."), field="opening_hours")
        if hours in (None, [], ""):
            continue
        parsed = _parse_hours(hours) if isinstance(hours, list | tuple) and len(hours) == 2 else None
        if parsed is None:
            raise InvalidInput(
                _("Opening hours are two times, the opening before the closing, e.g. 07:30 and 17:00."),
                field="opening_hours",
            )
        out[str(key)] = [f"{parsed[0]:%H:%M}", f"{parsed[1]:%H:%M}"]
    return out


def opening_intervals(office: Office, day: date, calendar: WorkingCalendar) -> list[tuple[time, time]]:
    """The office's open periods on `day` in local time, without the lunch break; [] when closed
    (public holiday of the city's calendar, or a weekday without hours). A make-up working day on a
    weekday without hours opens with Monday's hours. Closed days (ClosedDay) are checked apart."""
    if calendar.is_holiday(day) and day not in calendar.extra_working_days:
        return []
    hours = office.opening_hours or {}
    parsed = _parse_hours(hours.get(str(day.weekday()))) if isinstance(hours, dict) else None
    if parsed is None and calendar.is_working_day(day) and day.weekday() in calendar.weekend:
        parsed = _parse_hours(hours.get("0")) if isinstance(hours, dict) else None
    if parsed is None:
        return []
    start, end = parsed
    lunch_start, lunch_end = office.lunch_start, office.lunch_end
    if lunch_start and lunch_end and lunch_start < lunch_end and start < lunch_end and lunch_start < end:
        periods = [(start, lunch_start), (lunch_end, end)]
        return [(a, b) for a, b in periods if a < b]
    return [(start, end)]


def closed_days(city: City, office: Office | None, start: date, end: date) -> dict[date, str]:
    """Closed days of `office` (and the city-wide ones) in [start, end] -> reason."""
    qs = ClosedDay.objects.for_city(city).filter(day__gte=start, day__lte=end)
    qs = qs.filter(Q(office__isnull=True) | Q(office=office)) if office else qs.filter(office__isnull=True)
    return {c.day: c.reason for c in qs}


def _slot_length(office: Office, service: Service) -> int:
    """A service's slot: its duration rounded up to the office's slot grid."""
    grid = max(int(office.slot_minutes or 15), 5)
    return max(grid, -(-int(service.duration_minutes) // grid) * grid)


def slot_starts(office: Office, service: Service, day: date, calendar: WorkingCalendar) -> list[datetime]:
    """Start times (aware) of the service's slots at the office on `day` (closed days not checked)."""
    length = timedelta(minutes=_slot_length(office, service))
    tz = calendar.tz
    out = []
    for start, end in opening_intervals(office, day, calendar):
        moment = datetime.combine(day, start, tz)
        limit = datetime.combine(day, end, tz)
        while moment + length <= limit:
            out.append(moment)
            moment += length
    return out


# --- Slot generation -----------------------------------------------------------------------------


def _capacities(office: Office) -> dict[int, int]:
    """Service id -> number of the office's active counters able to serve it."""
    rows = (
        Counter.objects.filter(office=office, is_active=True, services__is_active=True)
        .values("services")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["services"]: row["n"] for row in rows if row["services"] is not None}


def slots_generate(
    *,
    city: City,
    days_ahead: int | None = None,
    today: date | None = None,
    office: Office | None = None,
    now: datetime | None = None,
) -> dict[str, int]:
    """Create the bookable slots of the coming days for every active office of the city (or one
    office), from its opening hours, closed days, the city's calendar and its counters. Idempotent:
    existing slots are kept; their capacity follows the configuration but never drops below the places
    already booked (a slot on a day that has since closed keeps only its booked places).

    Returns counts: {"created", "updated"}."""
    now = now or timezone.now()
    calendar = WorkingCalendar.for_city(city)
    today = today or _local_date(city, now)
    horizon = appointment_policy(city)["slot_days_ahead"] if days_ahead is None else int(days_ahead)
    offices = [office] if office is not None else list(Office.objects.for_city(city))
    services = {s.pk: s for s in Service.objects.for_city(city)}
    created = updated = 0
    for off in offices:
        if off.city_id != city.pk:
            raise InvalidInput(_("This office belongs to another city."), field="office")
        capacities = _capacities(off) if off.is_active else {}
        end_day = today + timedelta(days=horizon)
        closed = closed_days(city, off, today, end_day)
        with transaction.atomic():
            wanted: dict[tuple[int, datetime], int] = {}
            for service_id, capacity in capacities.items():
                service = services.get(service_id)
                if service is None or not service.is_active:
                    continue
                days = min(horizon, int(service.max_days_ahead))
                for i in range(days + 1):
                    day = today + timedelta(days=i)
                    if day in closed:
                        continue
                    for start in slot_starts(off, service, day, calendar):
                        if start > now:
                            wanted[(service_id, start)] = capacity
            future = Slot.objects.filter(office=off, start__gt=now)
            existing = {
                (s.service_id, s.start): s for s in future.only("id", "service_id", "start", "capacity")
            }
            new = []
            for (service_id, start), capacity in wanted.items():
                slot = existing.get((service_id, start))
                if slot is None:
                    length = timedelta(minutes=_slot_length(off, services[service_id]))
                    new.append(
                        Slot(
                            city=city,
                            office=off,
                            service_id=service_id,
                            start=start,
                            end=start + length,
                            capacity=capacity,
                        )
                    )
                elif slot.capacity != capacity:
                    # Never below what is booked: the conditional UPDATE reads the committed row.
                    updated += Slot.objects.filter(pk=slot.pk).update(
                        capacity=Greatest(Value(capacity), F("booked"))
                    )
            if new:
                # ignore_conflicts: a concurrent run (scheduler and an admin save) may create the same.
                Slot.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)
                created += len(new)
            gone = [s.pk for key, s in existing.items() if key not in wanted]
            if gone:
                # Slots nobody ever booked go; the others keep exactly their booked places.
                Slot.objects.filter(pk__in=gone, booked=0).exclude(
                    pk__in=Booking.objects.filter(slot_id__in=gone).values("slot_id")
                ).delete()
                updated += (
                    Slot.objects.filter(pk__in=gone)
                    .exclude(capacity=F("booked"))
                    .update(capacity=F("booked"))
                )
    return {"created": created, "updated": updated}


def slots_generate_all(*, days_ahead: int | None = None) -> dict[str, int]:
    """The scheduled job: generate slots for every active city."""
    totals = {"created": 0, "updated": 0}
    for city in City.objects.filter(is_active=True):
        if not city.module_enabled("appointments"):
            continue
        result = slots_generate(city=city, days_ahead=days_ahead)
        for key in totals:
            totals[key] += result[key]
    return totals


# --- Configuration (city administrators) ---------------------------------------------------------


def _commune_for(city: City, lat: Any, lon: Any):
    """The commune containing the office; None when the city has no commune boundaries yet."""
    from dothi.core.geo import _check_coordinates, locate

    lon_f, lat_f = _check_coordinates(lon, lat)
    if not CommuneArea.objects.filter(city=city).exists():
        return None
    return locate(city, lon_f, lat_f)


def _check_agency(city: City, agency: Organisation | None) -> None:
    if agency is not None and (agency.city_id != city.pk or not agency.is_agency):
        raise InvalidInput(_("Choose an agency of this city."), field="agency")


_OFFICE_FIELDS = {
    "name_vi",
    "name_en",
    "address",
    "lat",
    "lon",
    "agency",
    "opening_hours",
    "lunch_start",
    "lunch_end",
    "slot_minutes",
    "phone",
    "is_active",
}


def _clean_office(office: Office) -> None:
    office.name_vi = clean_text(office.name_vi, field="name_vi", max_len=200, required=True)
    office.name_en = clean_text(office.name_en, field="name_en", max_len=200)
    office.address = clean_text(office.address, field="address", max_len=300)
    office.opening_hours = clean_opening_hours(office.opening_hours)
    if not isinstance(office.slot_minutes, int) or not 5 <= office.slot_minutes <= 240:
        raise InvalidInput(_("A slot lasts 5 to 240 minutes."), field="slot_minutes")
    for name in ("lunch_start", "lunch_end"):
        value = getattr(office, name)
        if value is not None and not isinstance(value, time):
            try:
                setattr(office, name, time.fromisoformat(str(value)))
            except ValueError:
                raise InvalidInput(_("Enter a time such as 11:30."), field=name)
    if (office.lunch_start is None) != (office.lunch_end is None) or (
        office.lunch_start and office.lunch_start >= office.lunch_end
    ):
        raise InvalidInput(_("The lunch break must end after it starts."), field="lunch_end")
    _check_agency(office.city, office.agency)
    office.commune = _commune_for(office.city, office.lat, office.lon)
    office.lat, office.lon = float(office.lat), float(office.lon)


@transaction.atomic
def office_create(
    *, actor, city: City, code: str, name_vi: str, lat: float, lon: float, **fields: Any
) -> Office:
    """Add an office (code unique per city); its commune is found from its point. Other fields:
    name_en, address, agency, opening_hours, lunch_start, lunch_end, slot_minutes, phone, is_active."""
    require(actor, "appointments.configure", city)
    extra = set(fields) - _OFFICE_FIELDS
    if extra:
        raise InvalidInput(_("Unknown field: %(name)s.") % {"name": sorted(extra)[0]}, field=sorted(extra)[0])
    if not isinstance(code, str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,59}", code):
        raise InvalidInput(_("A code is lower-case letters, digits and dashes."), field="code")
    office = Office(city=city, code=code, name_vi=name_vi, lat=lat, lon=lon, **fields)
    _clean_office(office)
    if Office.objects.filter(city=city, code=code).exists():
        raise Conflict(_("An office with this code already exists."), field="code")
    office.save()
    audit.record(actor=actor, action=AuditEvent.Action.CREATE, obj=office, summary=office.name_vi)
    return office


@transaction.atomic
def office_update(*, actor, office: Office, **fields: Any) -> Office:
    """Change an office; its future slots follow (never dropping below what is booked)."""
    require(actor, "appointments.configure", office.city)
    extra = set(fields) - _OFFICE_FIELDS
    if extra:
        raise InvalidInput(_("Unknown field: %(name)s.") % {"name": sorted(extra)[0]}, field=sorted(extra)[0])
    office = Office.objects.select_for_update().select_related("city").get(pk=office.pk)
    changed = sorted(k for k, v in fields.items() if getattr(office, k) != v)
    for key, value in fields.items():
        setattr(office, key, value)
    _clean_office(office)
    office.save()
    audit.record(actor=actor, action=AuditEvent.Action.UPDATE, obj=office, details={"changed": changed})
    slots_generate(city=office.city, office=office)
    return office


_SERVICE_FIELDS = {
    "name_en",
    "description_vi",
    "description_en",
    "duration_minutes",
    "documents_vi",
    "documents_en",
    "agency",
    "max_days_ahead",
    "cancel_cutoff_hours",
    "is_active",
    "order",
}


def _clean_service(service: Service) -> None:
    service.name_vi = clean_text(service.name_vi, field="name_vi", max_len=200, required=True)
    service.name_en = clean_text(service.name_en, field="name_en", max_len=200)
    for name, low, high in (
        ("duration_minutes", 5, 480),
        ("max_days_ahead", 1, 90),
        ("cancel_cutoff_hours", 0, 168),
    ):
        value = getattr(service, name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidInput(
                _("This must be a whole number from %(low)d to %(high)d.") % {"low": low, "high": high},
                field=name,
            )
    for name in ("documents_vi", "documents_en"):
        docs = getattr(service, name) or []
        if not isinstance(docs, list) or not all(isinstance(d, str) and 0 < len(d) <= 300 for d in docs):
            raise InvalidInput(_("Required documents are a list of short texts."), field=name)
    _check_agency(service.city, service.agency)


@transaction.atomic
def service_create(*, actor, city: City, code: str, name_vi: str, **fields: Any) -> Service:
    """Add a public service people can book (code unique per city)."""
    require(actor, "appointments.configure", city)
    extra = set(fields) - _SERVICE_FIELDS
    if extra:
        raise InvalidInput(_("Unknown field: %(name)s.") % {"name": sorted(extra)[0]}, field=sorted(extra)[0])
    if not isinstance(code, str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,59}", code):
        raise InvalidInput(_("A code is lower-case letters, digits and dashes."), field="code")
    service = Service(city=city, code=code, name_vi=name_vi, **fields)
    _clean_service(service)
    if Service.objects.filter(city=city, code=code).exists():
        raise Conflict(_("A service with this code already exists."), field="code")
    service.save()
    audit.record(actor=actor, action=AuditEvent.Action.CREATE, obj=service, summary=service.name_vi)
    return service


@transaction.atomic
def service_update(*, actor, service: Service, **fields: Any) -> Service:
    require(actor, "appointments.configure", service.city)
    extra = set(fields) - _SERVICE_FIELDS
    if extra:
        raise InvalidInput(_("Unknown field: %(name)s.") % {"name": sorted(extra)[0]}, field=sorted(extra)[0])
    service = Service.objects.select_for_update().select_related("city").get(pk=service.pk)
    changed = sorted(k for k, v in fields.items() if getattr(service, k) != v)
    for key, value in fields.items():
        setattr(service, key, value)
    _clean_service(service)
    service.save()
    audit.record(actor=actor, action=AuditEvent.Action.UPDATE, obj=service, details={"changed": changed})
    slots_generate(city=service.city)
    return service


def _clean_services(city: City, services: Iterable[Service]) -> list[Service]:
    services = list(services)
    if any(not isinstance(s, Service) or s.city_id != city.pk for s in services):
        raise InvalidInput(_("Choose services of this city."), field="services")
    return services


@transaction.atomic
def counter_create(
    *,
    actor,
    office: Office,
    number: int,
    name: str = "",
    services: Iterable[Service] = (),
    is_active: bool = True,
) -> Counter:
    """Add a counter to an office, with the services it serves; the office's slots follow."""
    require(actor, "appointments.configure", office.city)
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 999:
        raise InvalidInput(_("A counter number is from 1 to 999."), field="number")
    name = clean_text(name, field="name", max_len=120)
    chosen = _clean_services(office.city, services)
    if Counter.objects.filter(office=office, number=number).exists():
        raise Conflict(_("This office already has a counter with this number."), field="number")
    counter = Counter.objects.create(
        city=office.city, office=office, number=number, name=name, is_active=is_active
    )
    counter.services.set(chosen)
    audit.record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=counter,
        summary=f"{office.code} #{number}",
        details={"services": [s.code for s in chosen]},
    )
    slots_generate(city=office.city, office=office)
    return counter


@transaction.atomic
def counter_update(
    *,
    actor,
    counter: Counter,
    name: str | None = None,
    services: Iterable[Service] | None = None,
    is_active: bool | None = None,
) -> Counter:
    """Rename a counter, change its services or (de)activate it; the office's slots follow, never
    dropping below what is booked."""
    counter = Counter.objects.select_for_update().select_related("city", "office").get(pk=counter.pk)
    require(actor, "appointments.configure", counter.city)
    details: dict[str, Any] = {}
    if name is not None:
        counter.name = clean_text(name, field="name", max_len=120)
        details["name"] = counter.name
    if is_active is not None:
        if not isinstance(is_active, bool):
            raise InvalidInput(_("This must be yes or no."), field="is_active")
        counter.is_active = is_active
        details["is_active"] = is_active
    counter.save()
    if services is not None:
        chosen = _clean_services(counter.city, services)
        counter.services.set(chosen)
        details["services"] = [s.code for s in chosen]
    audit.record(actor=actor, action=AuditEvent.Action.UPDATE, obj=counter, details=details)
    slots_generate(city=counter.city, office=counter.office)
    return counter


@transaction.atomic
def closed_day_add(
    *, actor, city: City, day: date, reason: str = "", office: Office | None = None
) -> ClosedDay:
    """Close one office (or, without `office`, every office of the city) on a day. Places already
    booked that day stay booked (staff decide what to tell those people); no new ones are taken."""
    require(actor, "appointments.configure", city)
    if not isinstance(day, date) or isinstance(day, datetime):
        raise InvalidInput(_("Enter a date."), field="day")
    if office is not None and office.city_id != city.pk:
        raise InvalidInput(_("This office belongs to another city."), field="office")
    reason = clean_text(reason, field="reason", max_len=200)
    if ClosedDay.objects.filter(city=city, office=office, day=day).exists():
        raise Conflict(_("This day is already closed."), field="day")
    closed = ClosedDay.objects.create(city=city, office=office, day=day, reason=reason)
    audit.record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=closed,
        summary=f"closed {day:%Y-%m-%d}",
        details={"office": office.code if office else None, "reason": reason},
    )
    slots_generate(city=city, office=office)
    return closed


@transaction.atomic
def closed_day_remove(*, actor, closed_day: ClosedDay) -> None:
    require(actor, "appointments.configure", closed_day.city)
    audit.record(actor=actor, action=AuditEvent.Action.DELETE, obj=closed_day, summary=str(closed_day))
    city, office = closed_day.city, closed_day.office
    closed_day.delete()
    slots_generate(city=city, office=office)


# --- Booking (citizens) --------------------------------------------------------------------------


def _check_booker(actor, city: City) -> None:
    """Verified citizens only: the same rule reports use for reports.submit."""
    require(actor, "appointments.book", city)
    minimum = int(policy(city, "identity").get("min_level_for_writes", 2))
    if actor.kind == actor.Kind.CITIZEN and actor.verification_level < minimum:
        raise PermissionDenied(_("Confirm your citizen ID before booking an appointment."))


def no_show_ban_until(
    *, citizen, city: City, now: datetime | None = None, times: list[datetime] | None = None
) -> datetime | None:
    """Until when the person may not book because of repeated no-shows (City.settings["appointments"]:
    `no_show_limit` no-shows within `no_show_window_days` days bar booking for `no_show_ban_days`
    after the last of them); None when they may book."""
    now = now or timezone.now()
    rules = appointment_policy(city)
    limit, window, ban = rules["no_show_limit"], rules["no_show_window_days"], rules["no_show_ban_days"]
    if limit <= 0 or ban <= 0:
        return None
    if times is None:
        times = list(
            Booking.objects.filter(
                city=city,
                citizen=citizen,
                status=B.NO_SHOW,
                no_show_at__gte=now - timedelta(days=window + ban),
            ).values_list("no_show_at", flat=True)
        )
    times = sorted(t for t in times if t is not None and t >= now - timedelta(days=window + ban))
    until = None
    for i in range(limit - 1, len(times)):
        if times[i] - times[i - limit + 1] <= timedelta(days=window):
            until = times[i] + timedelta(days=ban)
    return until if until is not None and until > now else None


def _check_no_show_ban(actor, city: City, now: datetime, times: list[datetime] | None = None) -> None:
    until = no_show_ban_until(citizen=actor, city=city, now=now, times=times)
    if until is not None:
        rules = appointment_policy(city)
        raise PermissionDenied(
            _("You missed %(count)d appointments within %(days)d days, so you cannot book until %(until)s.")
            % {
                "count": rules["no_show_limit"],
                "days": rules["no_show_window_days"],
                "until": _format_moment(city, until),
            }
        )


def _resolve_slot(city: City, slot: Slot | int | str) -> Slot:
    if isinstance(slot, Slot):
        found = Slot.objects.filter(pk=slot.pk).select_related("office", "service").first()
    else:
        try:
            pk = int(slot)
        except (TypeError, ValueError):
            raise InvalidInput(_("Unknown slot."), field="slot", code="slot_unknown")
        found = Slot.objects.filter(pk=pk).select_related("office", "service").first()
    if found is None:
        raise InvalidInput(_("Unknown slot."), field="slot", code="slot_unknown")
    if found.city_id != city.pk:
        raise InvalidInput(_("This office belongs to another city."), field="slot", code="other_city")
    return found


def _check_slot_open(city: City, slot: Slot, now: datetime) -> None:
    """The slot can be booked at all: in the future, within the service's booking horizon, at an
    active office offering an active service on an open day, inside the opening hours."""
    office, service = slot.office, slot.service
    if office.city_id != city.pk or service.city_id != city.pk:
        raise InvalidInput(_("This office belongs to another city."), field="slot", code="other_city")
    if slot.start <= now:
        raise InvalidInput(
            _("This time has already passed. Choose a later one."), field="slot", code="slot_past"
        )
    if not office.is_active or not service.is_active:
        raise InvalidInput(
            _("This service cannot be booked at this office."), field="slot", code="service_unavailable"
        )
    day = _local_date(city, slot.start)
    if day > _local_date(city, now) + timedelta(days=int(service.max_days_ahead)):
        raise InvalidInput(
            _("This service can be booked at most %(days)d days ahead.") % {"days": service.max_days_ahead},
            field="slot",
            code="too_far_ahead",
        )
    closed = closed_days(city, office, day, day)
    if day in closed:
        reason = closed[day]
        message = _("The office is closed on %(day)s.") % {
            "day": formats.date_format(day, "SHORT_DATE_FORMAT")
        }
        raise InvalidInput(f"{message} {reason}".strip(), field="slot", code="office_closed")
    calendar = WorkingCalendar.for_city(city)
    intervals = opening_intervals(office, day, calendar)
    if not intervals:
        raise InvalidInput(
            _("The office is closed on %(day)s.") % {"day": formats.date_format(day, "SHORT_DATE_FORMAT")},
            field="slot",
            code="office_closed",
        )
    tz = calendar.tz
    start, end = slot.start.astimezone(tz), slot.end.astimezone(tz)
    if not any(
        datetime.combine(day, a, tz) <= start and end <= datetime.combine(day, b, tz) for a, b in intervals
    ):
        raise InvalidInput(
            _("This time is outside the office's opening hours."), field="slot", code="outside_hours"
        )


def _full(city: City, slot: Slot, now: datetime) -> Conflict:
    """The "full" answer, naming the next free slot of the same service at the same office."""
    # The next free time after the one asked for; failing that, the earliest still free.
    following = selectors.next_free_slot(
        city=city, office=slot.office, service=slot.service, after=max(slot.start, now)
    ) or selectors.next_free_slot(city=city, office=slot.office, service=slot.service, after=now)
    if following is None:
        message = _("This slot is full, and there is no free slot in the coming days.")
        return Conflict(message, code="slot_full", field="slot", next_free_slot=None)
    message = _("This slot is full; the next free slot is %(when)s.") % {
        "when": _format_moment(city, following.start)
    }
    return Conflict(
        message,
        code="slot_full",
        field="slot",
        next_free_slot=following.pk,
        next_free_start=following.start.isoformat(),
    )


def _take_place(slot_id: int) -> bool:
    """Take one place of the slot if one is free: one conditional UPDATE, atomic in the database."""
    return Slot.objects.filter(pk=slot_id, booked__lt=F("capacity")).update(booked=F("booked") + 1) == 1


def _give_back_place(slot_id: int) -> None:
    Slot.objects.filter(pk=slot_id, booked__gt=0).update(booked=F("booked") - 1)


def _one_per_service(service: Service) -> Conflict:
    return Conflict(
        _("You already have an appointment for %(service)s. Cancel or reschedule it instead.")
        % {"service": service.name},
        code="already_booked",
        field="service",
    )


def _insert_with_code(booking: Booking) -> None:
    """Save a new booking under a fresh random code (retrying on the rare clash); other unique
    violations propagate as IntegrityError."""
    for _attempt in range(5):
        booking.code = new_code()
        if Booking.objects.filter(city_id=booking.city_id, code=booking.code).exists():
            continue
        booking.save(force_insert=True)
        return
    raise IntegrityError("Could not allocate a booking code.")  # pragma: no cover


def _existing_idempotent(city: City, actor, key: str | None) -> Booking | None:
    if not key:
        return None
    return (
        Booking.objects.filter(city=city, citizen=actor, idempotency_key=key)
        .select_related("slot", "office", "service")
        .first()
    )


def booking_create(
    *,
    actor,
    city: City,
    slot: Slot | int,
    idempotency_key: str | None = None,
    channel: str = BookingChannel.APP,
    request=None,
    now: datetime | None = None,
) -> Booking:
    """Book a place in `slot` for the signed-in, verified citizen. The same `idempotency_key` sent
    again returns the booking made the first time.

    Raises PermissionDenied (not a verified citizen; barred for repeated no-shows, saying until
    when), InvalidInput (unknown slot, another city's, in the past, too far ahead, closed day, outside
    the opening hours), Conflict `already_booked` (an active booking for the same service) or Conflict
    `slot_full` (whose message names the next free slot; `next_free_slot` holds its id)."""
    _check_booker(actor, city)
    key = clean_text(idempotency_key, field="idempotency_key", max_len=100) or None
    existing = _existing_idempotent(city, actor, key)
    if existing is not None:
        return existing
    if channel not in (BookingChannel.APP, BookingChannel.API):
        raise InvalidInput(_("Unknown channel."), field="channel")
    if request is not None:
        from dothi.core.ratelimit import limit_citizen_write

        limit_citizen_write(request, "appointments.book")
    now = now or timezone.now()
    slot = _resolve_slot(city, slot)
    _check_slot_open(city, slot, now)
    # One read of the person's history answers both the no-show rule and "one active booking".
    rules = appointment_policy(city)
    since = now - timedelta(days=rules["no_show_window_days"] + rules["no_show_ban_days"])
    history = list(
        Booking.objects.filter(citizen=actor)
        .filter(
            Q(service=slot.service, status__in=ACTIVE_STATUSES)
            | Q(city=city, status=B.NO_SHOW, no_show_at__gte=since)
        )
        .values_list("status", "no_show_at")
    )
    _check_no_show_ban(actor, city, now, times=[t for status, t in history if status == B.NO_SHOW])
    if any(status in ACTIVE_STATUSES for status, _t in history):
        raise _one_per_service(slot.service)
    # The slot as just read: when it is already full, say so without writing anything. (Only a hint:
    # the conditional UPDATE below decides.)
    if slot.booked >= slot.capacity:
        raise _full(city, slot, now)
    try:
        booking = _book(actor=actor, city=city, slot=slot, key=key, channel=channel, request=request, now=now)
    except IntegrityError as exc:
        # A concurrent request with the same key, or for the same service, won the race.
        existing = _existing_idempotent(city, actor, key)
        if existing is not None:
            return existing
        if (
            "one_active_booking_per_service" in str(exc)
            or Booking.objects.filter(
                citizen=actor, service=slot.service, status__in=ACTIVE_STATUSES
            ).exists()
        ):
            raise _one_per_service(slot.service)
        raise
    return booking


class _SlotFull(Exception):
    pass


def _code_clash(exc: IntegrityError) -> bool:
    text = str(exc)
    return "booking_code_per_city" in text or "appointments_booking.code" in text


def _book(*, actor, city: City, slot: Slot, key, channel, request, now) -> Booking:
    # A fresh random code clashes about once in 10^11 bookings: rather than look each one up first,
    # the unique constraint refuses a clash and the whole booking is tried again under another code.
    for _attempt in range(5):
        try:
            return _book_once(
                actor=actor, city=city, slot=slot, key=key, channel=channel, request=request, now=now
            )
        except IntegrityError as exc:
            if not _code_clash(exc):
                raise
    raise IntegrityError("Could not allocate a booking code.")  # pragma: no cover


def _book_once(*, actor, city: City, slot: Slot, key, channel, request, now) -> Booking:
    try:
        with transaction.atomic():
            booking = Booking(
                city=city,
                citizen=actor,
                service=slot.service,
                office=slot.office,
                slot=slot,
                day=_local_date(city, slot.start),
                status=B.BOOKED,
                channel=channel,
                idempotency_key=key,
                created_at=now,
                code=new_code(),
            )
            booking.save(force_insert=True)
            _confirm(booking, actor=actor)
            audit.record(
                actor=actor,
                action=AuditEvent.Action.CREATE,
                obj=booking,
                request=request,
                summary=f"booking {booking.code} ({slot.service.code})",
                details={"slot": slot.pk, "office": slot.office.code, "channel": channel},
            )
            # Last, so the slot's row lock is held only until the commit right after it.
            if not _take_place(slot.pk):
                raise _SlotFull
    except _SlotFull:
        raise _full(city, slot, now)
    return booking


def _confirm(booking: Booking, *, actor) -> None:
    city = booking.city
    with translation.override(getattr(actor, "language", "") or city.default_language):
        notify(
            recipient=actor,
            city=city,
            topic="appointments.confirmation",
            title=_("Appointment booked: %(service)s") % {"service": booking.service.name},
            body=_("%(when)s at %(office)s. Your booking code is %(code)s.")
            % {
                "when": _format_moment(city, booking.slot.start),
                "office": booking.office.name,
                "code": format_code(booking.code),
            },
            url=booking_url(booking),
        )


def format_code(code: str) -> str:
    """The code as people read it: 7KX4-M2QD."""
    return f"{code[:4]}-{code[4:]}" if len(code) == CODE_LENGTH else code


def _own_booking(actor, booking: Booking) -> Booking:
    """Re-read the booking under a row lock; only its citizen may change it."""
    if actor is None or not getattr(actor, "is_authenticated", False) or booking.citizen_id != actor.pk:
        raise PermissionDenied(_("This is not your booking."))
    return (
        Booking.objects.select_for_update(of=("self",))
        .select_related("city", "slot", "service", "office")
        .get(pk=booking.pk)
    )


def _check_cutoff(booking: Booking, now: datetime) -> None:
    if booking.status != B.BOOKED:
        raise InvalidInput(
            _("This booking can no longer be changed (%(status)s).")
            % {"status": booking.get_status_display()},
            code="booking_not_changeable",
        )
    cutoff = booking.slot.start - timedelta(hours=int(booking.service.cancel_cutoff_hours))
    if now >= cutoff:
        raise InvalidInput(
            _("Bookings can be changed until %(hours)d hours before the appointment.")
            % {"hours": booking.service.cancel_cutoff_hours},
            code="cutoff_passed",
        )


@transaction.atomic
def booking_cancel(*, actor, booking: Booking, now: datetime | None = None, request=None) -> Booking:
    """The citizen cancels their booking, until the service's cut-off; the place is freed."""
    now = now or timezone.now()
    booking = _own_booking(actor, booking)
    _check_cutoff(booking, now)
    booking.status = B.CANCELLED
    booking.cancelled_at = now
    booking.save(update_fields=["status", "cancelled_at", "updated_at"])
    _give_back_place(booking.slot_id)
    audit.record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=booking,
        request=request,
        summary="cancelled",
    )
    return booking


def booking_reschedule(
    *, actor, booking: Booking, slot: Slot | int, now: datetime | None = None, request=None
) -> Booking:
    """Move the booking to another slot of the same service (at any office of the city), until the
    cut-off. Raises as booking_create does (slot_full naming the next free slot)."""
    now = now or timezone.now()
    city = booking.city
    new = _resolve_slot(city, slot)
    try:
        with transaction.atomic():
            return _reschedule(actor=actor, booking=booking, new=new, now=now, request=request)
    except _SlotFull:
        raise _full(city, new, now)


def _reschedule(*, actor, booking: Booking, new: Slot, now: datetime, request) -> Booking:
    booking = _own_booking(actor, booking)
    _check_cutoff(booking, now)
    city = booking.city
    if new.service_id != booking.service_id:
        raise InvalidInput(_("Choose a time for the same service."), field="slot", code="other_service")
    if new.pk == booking.slot_id:
        raise InvalidInput(_("This is already the time of your booking."), field="slot", code="same_slot")
    _check_slot_open(city, new, now)
    old = booking.slot
    # Lock the two slot rows in id order: two people swapping slots must not deadlock.
    if new.pk < old.pk:
        if not _take_place(new.pk):
            raise _SlotFull
        _give_back_place(old.pk)
    else:
        _give_back_place(old.pk)
        if not _take_place(new.pk):
            raise _SlotFull
    booking.slot = new
    booking.office = new.office
    booking.day = _local_date(city, new.start)
    booking.reschedule_count += 1
    booking.reminded_at = None
    booking.save(update_fields=["slot", "office", "day", "reschedule_count", "reminded_at", "updated_at"])
    audit.record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=booking,
        request=request,
        summary="rescheduled",
        details={"from": old.start.isoformat(), "to": new.start.isoformat(), "office": new.office.code},
    )
    return booking


# --- The counter (staff) -------------------------------------------------------------------------


def _require_serve(actor, office: Office) -> None:
    require(actor, "appointments.serve", office.city)
    if not selectors.can_serve(actor, office):
        raise PermissionDenied(_("This office belongs to another agency."))


def _lock_booking(booking_or_pk: Booking | int) -> Booking:
    pk = booking_or_pk.pk if isinstance(booking_or_pk, Booking) else booking_or_pk
    found = (
        Booking.objects.select_for_update(of=("self",))
        .select_related("city", "office", "service", "slot", "counter", "citizen")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFound(_("Booking not found."))
    return found


def _next_queue_number(office: Office, day: date) -> int:
    # The office row lock serialises numbering per office; the unique constraint is the backstop.
    Office.objects.select_for_update().filter(pk=office.pk).first()
    current = Booking.objects.filter(office=office, day=day).aggregate(m=Max("queue_number"))["m"]
    return (current or 0) + 1


@transaction.atomic
def booking_check_in(
    *, actor, city: City, code: str, office: Office | None = None, now: datetime | None = None, request=None
) -> Booking:
    """Check a person in at the office by their booking code (typed, or read from the QR code: the
    code or a URL carrying it). They join the office's queue with a number, in arrival order.

    Raises InvalidInput (malformed code, a booking of another day or office, not in "booked"),
    NotFound (no such booking in this city), PermissionDenied (staff of another agency)."""
    now = now or timezone.now()
    code = normalise_code(code)
    found = Booking.objects.filter(city=city, code=code).only("pk").first()
    if found is None:
        raise NotFound(_("No booking has this code."), field="code")
    booking = _lock_booking(found)
    _require_serve(actor, booking.office)
    if office is not None and office.pk != booking.office_id:
        raise InvalidInput(
            _("This booking is for another office: %(office)s.") % {"office": booking.office.name},
            field="code",
            code="other_office",
        )
    if booking.status != B.BOOKED:
        raise InvalidInput(
            _("This booking cannot be checked in (%(status)s).") % {"status": booking.get_status_display()},
            field="code",
            code="not_checkable",
        )
    today = _local_date(city, now)
    if booking.day != today:
        raise InvalidInput(
            _("This booking is for %(day)s, not today.")
            % {"day": formats.date_format(booking.day, "SHORT_DATE_FORMAT")},
            field="code",
            code="other_day",
        )
    booking.queue_number = _next_queue_number(booking.office, today)
    booking.status = B.CHECKED_IN
    booking.arrived_at = now
    booking.save(update_fields=["queue_number", "status", "arrived_at", "updated_at"])
    audit.record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=booking,
        request=request,
        summary=f"checked in #{booking.queue_number}",
    )
    return booking


@transaction.atomic
def walk_in_create(
    *,
    actor,
    office: Office,
    service: Service,
    name: str = "",
    phone: str = "",
    now: datetime | None = None,
    request=None,
) -> Booking:
    """Take a person without a booking into the office's queue (no account needed: an optional name,
    a phone stored only encrypted). They wait in the same queue as booked people, by arrival."""
    from dothi.identity import crypto

    now = now or timezone.now()
    _require_serve(actor, office)
    city = office.city
    if not isinstance(service, Service) or service.city_id != city.pk or not service.is_active:
        raise InvalidInput(_("Choose a service of this city."), field="service")
    if not Counter.objects.filter(office=office, is_active=True, services=service).exists():
        raise InvalidInput(_("No counter of this office serves this service."), field="service")
    name = clean_text(name, field="name", max_len=120)
    phone = clean_text(phone, field="phone", max_len=30)
    if phone and not all(c.isdigit() or c in "+-. ()" for c in phone):
        raise InvalidInput(_("Enter a valid phone number."), field="phone", code="phone_invalid")
    today = _local_date(city, now)
    booking = Booking(
        city=city,
        service=service,
        office=office,
        day=today,
        status=B.CHECKED_IN,
        walk_in=True,
        walk_in_name=name,
        walk_in_phone_enc=crypto.encrypt(phone),
        channel=BookingChannel.COUNTER,
        created_at=now,
        arrived_at=now,
        queue_number=_next_queue_number(office, today),
    )
    _insert_with_code(booking)
    audit.record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=booking,
        request=request,
        summary=f"walk-in #{booking.queue_number} ({service.code})",
    )
    return booking


@transaction.atomic
def queue_call_next(*, actor, counter: Counter, now: datetime | None = None, request=None) -> Booking | None:
    """Call the next person to this counter: the earliest arrival among the checked-in bookings and
    walk-ins of today for a service the counter serves; None when nobody is waiting. Two counters
    calling at once never get the same person (on PostgreSQL the candidate row is locked with SKIP
    LOCKED, so the other counter takes the next one).

    Raises Conflict when the counter still has someone called or being served."""
    now = now or timezone.now()
    counter = Counter.objects.select_related("office", "city").get(pk=counter.pk)
    _require_serve(actor, counter.office)
    if not counter.is_active:
        raise InvalidInput(_("This counter is closed."), field="counter")
    busy = Booking.objects.filter(counter=counter, status__in=[B.CALLED, B.SERVING]).first()
    if busy is not None:
        raise Conflict(
            _("Finish with number %(number)s first (served or did not come).")
            % {"number": busy.queue_number},
            code="counter_busy",
        )
    waiting = Booking.objects.filter(
        office=counter.office,
        day=_local_date(counter.city, now),
        status=B.CHECKED_IN,
        service__in=counter.services.filter(is_active=True),
    ).order_by("arrived_at", "queue_number")
    if connection.features.has_select_for_update_skip_locked:
        waiting = waiting.select_for_update(skip_locked=True, of=("self",))
    booking = waiting.first()
    if booking is None:
        return None
    booking.status = B.CALLED
    booking.called_at = now
    booking.counter = counter
    booking.served_by = actor
    booking.save(update_fields=["status", "called_at", "counter", "served_by", "updated_at"])
    stats.record_call(booking, counter.office)  # the KPIs' daily facts (core.facts)
    audit.record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=booking,
        request=request,
        summary=f"called #{booking.queue_number} to counter {counter.number}",
    )
    return booking


def _staff_transition(
    *, actor, booking: Booking, allowed: tuple[str, ...], to: str, now: datetime | None, request
) -> Booking:
    now = now or timezone.now()
    booking = _lock_booking(booking)
    _require_serve(actor, booking.office)
    if booking.status not in allowed:
        raise InvalidInput(
            _("This booking cannot change from “%(status)s”.") % {"status": booking.get_status_display()},
            code="transition_invalid",
        )
    fields = ["status", "updated_at"]
    if to == B.SERVING:
        booking.served_at = now
        fields.append("served_at")
    elif to == B.SERVED:
        booking.served_at = booking.served_at or booking.called_at or now
        booking.called_at = booking.called_at or now
        booking.finished_at = now
        fields += ["served_at", "called_at", "finished_at"]
    elif to == B.NO_SHOW:
        if booking.status == B.BOOKED and booking.slot is not None and booking.slot.start > now:
            raise InvalidInput(
                _("The appointment has not started yet."),
                code="not_started",
            )
        booking.no_show_at = now
        fields.append("no_show_at")
    previous = booking.status
    booking.status = to
    booking.save(update_fields=fields)
    if to == B.SERVED:
        stats.record_served(booking)  # the KPIs' daily facts (core.facts)
    audit.record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=booking,
        request=request,
        summary=f"{previous} -> {to}",
    )
    return booking


@transaction.atomic
def booking_start_serving(*, actor, booking: Booking, now: datetime | None = None, request=None) -> Booking:
    """The called person reached the counter: called -> serving."""
    return _staff_transition(
        actor=actor, booking=booking, allowed=(B.CALLED,), to=B.SERVING, now=now, request=request
    )


@transaction.atomic
def booking_mark_served(*, actor, booking: Booking, now: datetime | None = None, request=None) -> Booking:
    """Done: called or serving -> served (finished_at is the end of the service)."""
    return _staff_transition(
        actor=actor, booking=booking, allowed=(B.CALLED, B.SERVING), to=B.SERVED, now=now, request=request
    )


@transaction.atomic
def booking_mark_no_show(*, actor, booking: Booking, now: datetime | None = None, request=None) -> Booking:
    """The person did not come (booked, once its time has begun) or did not answer the call (checked
    in, called). Counts toward the no-show limit."""
    return _staff_transition(
        actor=actor,
        booking=booking,
        allowed=(B.BOOKED, B.CHECKED_IN, B.CALLED),
        to=B.NO_SHOW,
        now=now,
        request=request,
    )


# --- Reminders (scheduled) -----------------------------------------------------------------------


def bookings_send_reminders(*, now: datetime | None = None) -> int:
    """Remind every person whose appointment is tomorrow (their city's local day), once: the
    conditional UPDATE on `reminded_at` makes a second run, or a concurrent one, send nothing."""
    now = now or timezone.now()
    sent = 0
    for city in City.objects.filter(is_active=True):
        tomorrow = _local_date(city, now) + timedelta(days=1)
        ids = list(
            Booking.objects.filter(
                city=city, day=tomorrow, status=B.BOOKED, reminded_at__isnull=True, citizen__isnull=False
            ).values_list("pk", flat=True)[:50_000]
        )
        for pk in ids:
            with transaction.atomic():
                if not Booking.objects.filter(pk=pk, reminded_at__isnull=True, status=B.BOOKED).update(
                    reminded_at=now
                ):
                    continue
                booking = Booking.objects.select_related("citizen", "office", "service", "slot").get(pk=pk)
                person = booking.citizen
                if not person.is_active:
                    continue
                with translation.override(person.language or city.default_language):
                    notify(
                        recipient=person,
                        city=city,
                        topic="appointments.reminder",
                        title=_("Reminder: your appointment tomorrow"),
                        body=_("%(service)s, %(when)s at %(office)s. Booking code %(code)s.")
                        % {
                            "service": booking.service.name,
                            "when": _format_moment(city, booking.slot.start),
                            "office": booking.office.name,
                            "code": format_code(booking.code),
                        },
                        url=booking_url(booking),
                    )
                sent += 1
    return sent


# --- Rating ----------------------------------------------------------------------------------------


def validate_rating(*, author, city: City, subject_id: str) -> None:
    """Only the citizen whose booking was served rates it (feedback subject "appointments.booking",
    subject id = the booking code); called by dothi.core.services.feedback_give via the manifest."""
    try:
        code = normalise_code(str(subject_id))
    except InvalidInput:
        raise InvalidInput(_("Booking not found."), field="subject_id")
    booking = Booking.objects.filter(city=city, code=code).first()
    if booking is None:
        raise InvalidInput(_("Booking not found."), field="subject_id")
    if author is None or booking.citizen_id is None or booking.citizen_id != getattr(author, "pk", None):
        raise PermissionDenied(_("Only the person who was served can rate this visit."))
    if booking.status != B.SERVED:
        raise InvalidInput(_("A visit can be rated once you have been served."), field="subject_id")


def office_points_assign(*, city: City, changes: list[tuple[int, str]]) -> int:
    """Write the communes core.geo.reassign_points found for Office rows, in bulk (no other column)."""
    from dothi.appointments.models import Office
    from dothi.core.geo import write_communes

    return write_communes(Office, city=city, changes=changes)
