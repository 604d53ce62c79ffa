"""Appointments API under /api/v1/appointments/: services, offices (nearest first, with the next free
slot), free slots, booking (Idempotency-Key header), my bookings, cancel, reschedule, rating; and the
counter for staff: check-in, call next, served, no-show.

Sessions and CSRF as in the identity API: writes use ninja's `django_auth` (which enforces Django's
CSRF check), so a client first calls GET /api/v1/identity/csrf and sends the token in `X-CSRFToken`.
Errors are `{"code", "message", "field"}`; a full slot answers 409 `slot_full` with `next_free_slot`
(the id of the next free slot, or null) and a message naming its time.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.security import django_auth

from dothi.appointments import selectors, services
from dothi.appointments.models import Booking, Counter, Slot
from dothi.core.cities import request_city
from dothi.core.errors import NotFound
from dothi.core.ratelimit import limit_citizen_write
from dothi.core.services import feedback_give

router = Router(tags=["appointments"])
FEEDBACK_SUBJECT = "appointments.booking"


class Error(Schema):
    code: str
    message: str
    field: str | None = None


class FullError(Error):
    next_free_slot: int | None = None
    next_free_start: str | None = None


ERRORS: dict[int | str, Any] = {400: Error, 401: Error, 403: Error, 404: Error, 422: Error, 429: Error}
WRITE_ERRORS: dict[int | str, Any] = {**ERRORS, 409: FullError}




# --- Services, offices and slots (public) -----------------------------------------------------------


class ServiceOut(Schema):
    code: str
    name: str
    description: str
    duration_minutes: int
    documents: list[str]
    max_days_ahead: int
    cancel_cutoff_hours: int


@router.get("/services", response=list[ServiceOut], auth=None, summary="Public services that can be booked")
def list_services(request):
    return [
        ServiceOut(
            code=s.code,
            name=s.name,
            description=s.description,
            duration_minutes=s.duration_minutes,
            documents=s.documents,
            max_days_ahead=s.max_days_ahead,
            cancel_cutoff_hours=s.cancel_cutoff_hours,
        )
        for s in selectors.services(city=request_city(request))
    ]


class SlotOut(Schema):
    id: int
    start: str
    end: str
    free: int


def _iso(city, moment) -> str:
    """A moment in the city's local time, with its offset (e.g. 2026-11-25T14:00:00+07:00)."""
    return moment.astimezone(ZoneInfo(city.time_zone)).isoformat()


def _slot_out(city, slot: Slot) -> SlotOut:
    return SlotOut(id=slot.pk, start=_iso(city, slot.start), end=_iso(city, slot.end), free=slot.free)


class OfficeQuery(Schema):
    service: str = Field(max_length=60)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)


class OfficeOut(Schema):
    code: str
    name: str
    address: str
    lat: float
    lon: float
    distance_m: int | None
    next_free_slot: SlotOut | None


@router.get(
    "/offices",
    response={200: list[OfficeOut], **ERRORS},
    auth=None,
    summary="Offices providing a service: nearest first (with lat/lon), each with its next free slot",
)
def list_offices(request, q: Query[OfficeQuery]):
    city = request_city(request)
    service = selectors.service_by_code(city=city, code=q.service)
    return [
        OfficeOut(
            code=c.office.code,
            name=c.office.name,
            address=c.office.address,
            lat=c.office.lat,
            lon=c.office.lon,
            distance_m=c.distance_m,
            next_free_slot=_slot_out(city, c.next_free_slot) if c.next_free_slot else None,
        )
        for c in selectors.offices_for_service(city=city, service=service, lat=q.lat, lon=q.lon)
    ]


class SlotQuery(Schema):
    office: str = Field(max_length=60)
    service: str = Field(max_length=60)
    day: date


@router.get(
    "/slots",
    response={200: list[SlotOut], **ERRORS},
    auth=None,
    summary="Free slots of a service at an office on a day",
)
def list_slots(request, q: Query[SlotQuery]):
    city = request_city(request)
    office = selectors.office_by_code(city=city, code=q.office)
    service = selectors.service_by_code(city=city, code=q.service)
    return [
        _slot_out(city, s) for s in selectors.free_slots(city=city, office=office, service=service, day=q.day)
    ]


# --- Bookings (citizens) ------------------------------------------------------------------------------


class BookingOut(Schema):
    code: str
    display_code: str
    status: str
    status_label: str
    service: str
    service_name: str
    office: str
    office_name: str
    office_address: str
    day: str
    start: str | None
    end: str | None
    walk_in: bool
    queue_number: int | None
    counter: int | None
    documents: list[str]


def _booking_out(b: Booking) -> BookingOut:
    return BookingOut(
        code=b.code,
        display_code=services.format_code(b.code),
        status=b.status,
        status_label=str(b.get_status_display()),
        service=b.service.code,
        service_name=b.service.name,
        office=b.office.code,
        office_name=b.office.name,
        office_address=b.office.address,
        day=b.day.isoformat(),
        start=_iso(b.city, b.slot.start) if b.slot else None,
        end=_iso(b.city, b.slot.end) if b.slot else None,
        walk_in=b.walk_in,
        queue_number=b.queue_number,
        counter=b.counter.number if b.counter else None,
        documents=b.service.documents,
    )


class BookIn(Schema):
    slot: int


@router.post(
    "/bookings",
    response={201: BookingOut, **WRITE_ERRORS},
    auth=django_auth,
    summary="Book a slot (verified citizens; Idempotency-Key header)",
)
def book(request, payload: BookIn):
    booking = services.booking_create(
        actor=request.auth,
        city=request_city(request),
        slot=payload.slot,
        idempotency_key=request.headers.get("Idempotency-Key", "")[:100] or None,
        channel="api",
        request=request,
    )
    return Status(201, _booking_out(booking))


class MineQuery(Schema):
    active: bool = False


@router.get("/bookings", response={200: list[BookingOut], **ERRORS}, auth=django_auth, summary="My bookings")
def my_bookings(request, q: Query[MineQuery]):
    qs = selectors.my_bookings(actor=request.auth, city=request_city(request), active_only=q.active)
    return [_booking_out(b) for b in qs[:200]]


def _booking(request, code: str) -> Booking:
    return selectors.booking_for_viewer(actor=request.auth, city=request_city(request), code=code)


@router.get(
    "/bookings/{code}",
    response={200: BookingOut, **ERRORS},
    auth=django_auth,
    summary="One of my bookings (or, for staff, one at an office they serve)",
)
def get_booking(request, code: str):
    return _booking_out(_booking(request, code))


@router.post(
    "/bookings/{code}/cancel",
    response={200: BookingOut, **WRITE_ERRORS},
    auth=django_auth,
    summary="Cancel my booking (until the service's cut-off)",
)
def cancel(request, code: str):
    limit_citizen_write(request, "appointments.book")
    booking = services.booking_cancel(actor=request.auth, booking=_booking(request, code), request=request)
    return _booking_out(booking)


class RescheduleIn(Schema):
    slot: int


@router.post(
    "/bookings/{code}/reschedule",
    response={200: BookingOut, **WRITE_ERRORS},
    auth=django_auth,
    summary="Move my booking to another slot of the same service (until the cut-off)",
)
def reschedule(request, code: str, payload: RescheduleIn):
    limit_citizen_write(request, "appointments.book")
    booking = services.booking_reschedule(
        actor=request.auth, booking=_booking(request, code), slot=payload.slot, request=request
    )
    return _booking_out(booking)


class RatingIn(Schema):
    rating: int
    comment: str = Field("", max_length=2000)


class RatingOut(Schema):
    code: str
    rating: int
    comment: str


@router.post(
    "/bookings/{code}/rating",
    response={201: RatingOut, **WRITE_ERRORS},
    auth=django_auth,
    summary="Rate my visit once served (1–5)",
)
def rate(request, code: str, payload: RatingIn):
    limit_citizen_write(request, "core.feedback.give")
    booking = _booking(request, code)
    feedback = feedback_give(
        author=request.auth,
        city=booking.city,
        subject_type=FEEDBACK_SUBJECT,
        subject_id=booking.code,
        rating=payload.rating,
        comment=payload.comment,
    )
    return Status(201, RatingOut(code=booking.code, rating=feedback.rating, comment=feedback.comment))


# --- The counter (staff) ------------------------------------------------------------------------------


class CheckInIn(Schema):
    code: str = Field(max_length=500, description="The booking code, or the URL its QR code carries")
    office: str | None = Field(None, max_length=60)


@router.post(
    "/check-in",
    response={200: BookingOut, **WRITE_ERRORS},
    auth=django_auth,
    summary="Check a person in by booking code or QR content (staff)",
)
def check_in(request, payload: CheckInIn):
    city = request_city(request)
    office = selectors.office_by_code(city=city, code=payload.office) if payload.office else None
    booking = services.booking_check_in(
        actor=request.auth, city=city, code=payload.code, office=office, request=request
    )
    return _booking_out(booking)


def _counter(request, counter_id: int) -> Counter:
    found = (
        Counter.objects.for_city(request_city(request))
        .select_related("office", "city")
        .filter(pk=counter_id)
        .first()
    )
    if found is None or not selectors.can_serve(request.auth, found.office):
        raise NotFound(_("Unknown counter."))
    return found


class CallOut(Schema):
    booking: BookingOut | None


@router.post(
    "/counters/{counter_id}/call-next",
    response={200: CallOut, **WRITE_ERRORS},
    auth=django_auth,
    summary="Call the next person in the queue to this counter (staff); null when nobody waits",
)
def call_next(request, counter_id: int):
    booking = services.queue_call_next(
        actor=request.auth, counter=_counter(request, counter_id), request=request
    )
    return CallOut(booking=_booking_out(booking) if booking else None)


def _staff_booking(request, code: str) -> Booking:
    booking = selectors.booking_by_code(city=request_city(request), code=code)
    if not selectors.can_serve(request.auth, booking.office):
        raise NotFound(_("Booking not found."))
    return booking


@router.post(
    "/bookings/{code}/serving",
    response={200: BookingOut, **WRITE_ERRORS},
    auth=django_auth,
    summary="The called person is at the counter (staff)",
)
def start_serving(request, code: str):
    booking = services.booking_start_serving(
        actor=request.auth, booking=_staff_booking(request, code), request=request
    )
    return _booking_out(booking)


@router.post(
    "/bookings/{code}/served",
    response={200: BookingOut, **WRITE_ERRORS},
    auth=django_auth,
    summary="Mark served (staff)",
)
def served(request, code: str):
    booking = services.booking_mark_served(
        actor=request.auth, booking=_staff_booking(request, code), request=request
    )
    return _booking_out(booking)


@router.post(
    "/bookings/{code}/no-show",
    response={200: BookingOut, **WRITE_ERRORS},
    auth=django_auth,
    summary="Mark that the person did not come (staff)",
)
def no_show(request, code: str):
    booking = services.booking_mark_no_show(
        actor=request.auth, booking=_staff_booking(request, code), request=request
    )
    return _booking_out(booking)
