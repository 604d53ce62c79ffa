"""Appointment pages: the citizen's booking flow (service → office → day and time → confirm), the
booking page (code, QR code, calendar file, cancel, reschedule, rating), "My appointments", the staff
counter screen (check-in by code or QR, call next, served or no-show, walk-ins) and the public
"now serving" screen. Thin: forms in, one service or selector, templates out; times are shown in the
city's time zone."""

from __future__ import annotations

import contextlib
import functools
from datetime import date, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from dothi.appointments import forms, selectors
from dothi.appointments import services as svc
from dothi.appointments.ics import booking_ics, ics_filename
from dothi.appointments.models import BookingStatus
from dothi.appointments.qr import booking_qr_svg
from dothi.core.calendar import WorkingCalendar
from dothi.core.cities import page_city
from dothi.core.errors import DomainError
from dothi.core.forms import apply_error
from dothi.core.models import Feedback
from dothi.core.permissions import can
from dothi.core.ratelimit import citizen_write
from dothi.core.services import feedback_give

FEEDBACK_SUBJECT = "appointments.booking"
NEXT_IN_LINE = 6  # queue numbers the public screen shows after the ones being served
PANEL_POLL_SECONDS = 10  # the counter screen's lists refresh themselves
BOARD_POLL_SECONDS = 4  # the public screen refreshes itself
WITHIN_MINUTES = 15  # "served within 15 minutes" on the counter screen, as the KPI

B = BookingStatus




def _tz(city) -> ZoneInfo:
    return ZoneInfo(city.time_zone or settings.TIME_ZONE)


def city_time(view):
    """Dates and times on the page in the city's time zone, whatever the server's."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        with timezone.override(_tz(page_city(request))):
            return view(request, *args, **kwargs)

    return wrapped


def _status(exc: DomainError) -> int:
    return exc.status if 400 <= exc.status < 500 else 400


def _signin(request):
    return redirect_to_login(request.get_full_path(), reverse("identity:signin"))


def _service(city, code: str):
    try:
        return selectors.service_by_code(city=city, code=code)
    except DomainError:
        raise Http404


def _office(city, code: str):
    try:
        return selectors.office_by_code(city=city, code=code)
    except DomainError:
        raise Http404


def _when(moment) -> str:
    """A slot's start as people read it, in the active (the city's) time zone."""
    local = timezone.localtime(moment)
    return f"{formats.date_format(local.date(), 'SHORT_DATE_FORMAT')} {local:%H:%M}"


# --- Citizen: choose a service, an office, a day and a time ------------------------------------------


@require_safe
@city_time
def home(request):
    city = page_city(request)
    return render(
        request,
        "appointments/home.html",
        {
            "services": list(selectors.services(city=city)),
            "can_book": can(request.user, "appointments.book", city),
        },
    )


@require_safe
@city_time
def offices(request, service: str):
    """The offices providing the service: nearest first when the browser gave a point (?lat=&lon=),
    else by name, each with its next free time."""
    city = page_city(request)
    service = _service(city, service)
    point = forms.LocationForm(request.GET).point()
    try:
        lat, lon = point if point else (None, None)
        choices = selectors.offices_for_service(city=city, service=service, lat=lat, lon=lon)
    except DomainError:
        point = None
        choices = selectors.offices_for_service(city=city, service=service)
    for choice in choices:
        choice.km = None if choice.distance_m is None else choice.distance_m / 1000
    context = {"service": service, "choices": choices, "located": point is not None}
    template = "appointments/_office_list.html" if request.htmx else "appointments/offices.html"
    return render(request, template, context)


def _day_problem(city, office, service, day: date) -> str | None:
    """Why `day` cannot be booked at all (the page says so instead of an empty list)."""
    today = selectors.local_today(city)
    if day < today:
        return _("This day has passed. Choose a later one.")
    if day > today + timedelta(days=int(service.max_days_ahead)):
        return _("This service can be booked at most %(days)d days ahead.") % {"days": service.max_days_ahead}
    day_text = formats.date_format(day, "SHORT_DATE_FORMAT")
    closed = svc.closed_days(city, office, day, day)
    if day in closed:
        message = _("The office is closed on %(day)s.") % {"day": day_text}
        return f"{message} {closed[day]}".strip()
    if not svc.opening_intervals(office, day, WorkingCalendar.for_city(city)):
        return _("The office is closed on %(day)s.") % {"day": day_text}
    return None


def _slot_picker(request, city, office, service, *, base_query: dict | None = None) -> tuple[dict, int]:
    """The days with free places, the chosen day (?day=, else the first) and its free slots."""
    days = selectors.days_with_free_slots(city=city, office=office, service=service)
    raw = request.GET.get("day", "")
    form = forms.DayForm({"day": raw} if raw else None, auto_id="picker_%s")
    day, status = None, 200
    if raw:
        if form.is_valid() and form.cleaned_data["day"] is not None:
            day = form.cleaned_data["day"]
            problem = _day_problem(city, office, service, day)
            if problem:
                form.add_error("day", problem)
                day, status = None, 422
        else:
            status = 422
    elif days:
        day = days[0]
    query = dict(base_query or {})
    day_links = [
        {"day": d, "query": urlencode({**query, "day": d.isoformat()}), "active": d == day} for d in days
    ]
    slots = selectors.free_slots(city=city, office=office, service=service, day=day) if day else []
    return {
        "day_form": form,
        "day": day,
        "day_links": day_links,
        "slots": slots,
        "base_query": query,
        "base_qs": urlencode(query),
    }, status


@require_safe
@city_time
def slots(request, service: str, office: str):
    city = page_city(request)
    service, office = _service(city, service), _office(city, office)
    picker, status = _slot_picker(request, city, office, service)
    context = {"service": service, "office": office, "mode": "book", **picker}
    template = "appointments/_slot_picker.html" if request.htmx else "appointments/slots.html"
    return render(request, template, context, status=status)


def _confirm_context(request, city, slot, form, *, error=None) -> dict:
    may_book = can(request.user, "appointments.book", city)
    now = timezone.now()
    context = {
        "slot": slot,
        "service": slot.service,
        "office": slot.office,
        "documents": slot.service.documents,
        "form": form,
        "may_book": may_book,
        "past": slot.start <= now,
        "full": slot.free <= 0,
        "next_free": None,
        "already_booked": False,
        "signin_url": reverse("identity:signin") + "?" + urlencode({"next": request.get_full_path()}),
    }
    if error is not None:
        context["already_booked"] = error.code == "already_booked"
        next_id = error.extra.get("next_free_slot") if error.code == "slot_full" else None
        if next_id:
            with contextlib.suppress(DomainError):
                context["next_free"] = selectors.slot(city=city, pk=int(next_id))
    elif context["full"] and not context["past"]:
        # As the "full" refusal does: the next free time after this one, else the earliest.
        context["next_free"] = selectors.next_free_slot(
            city=city, office=slot.office, service=slot.service, after=slot.start
        ) or selectors.next_free_slot(city=city, office=slot.office, service=slot.service)
    return context


@require_http_methods(["GET", "HEAD", "POST"])
@city_time
def confirm(request, slot: int):
    """The chosen time, the documents to bring and the button that books it (citizens only)."""
    city = page_city(request)
    if request.method == "POST":
        if not request.user.is_authenticated:
            return _signin(request)
        if not can(request.user, "appointments.book", city):
            raise PermissionDenied(
                _("Appointments are booked by citizens signed in with a verified citizen ID.")
            )
    try:
        chosen = selectors.slot(city=city, pk=slot)
    except DomainError:
        raise Http404
    if request.method != "POST":
        return render(
            request, "appointments/confirm.html", _confirm_context(request, city, chosen, forms.BookForm())
        )
    form = forms.BookForm(request.POST)
    error = None
    if not form.is_valid():
        status = 422
    else:
        try:
            # No rate-limit decorator: booking_create counts the write itself (one counter, not two).
            booking = svc.booking_create(
                actor=request.user,
                city=city,
                slot=chosen.pk,
                idempotency_key=form.cleaned_data["idempotency_key"] or None,
                request=request,
            )
        except DomainError as exc:
            apply_error(form, exc, field="__all__")
            error, status = exc, _status(exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc) or _("You cannot book an appointment."))
            status = 403
        else:
            messages.success(
                request,
                _("Your appointment is booked. Your booking code is %(code)s.")
                % {"code": svc.format_code(booking.code)},
            )
            return redirect("appointments:detail", code=booking.code)
    context = _confirm_context(request, city, chosen, form, error=error)
    return render(request, "appointments/confirm.html", context, status=status)


# --- Citizen: the booking, my appointments, cancel, reschedule, rate ---------------------------------


def _viewable(request, code: str):
    """The booking its citizen (or staff serving its office) may see; 404 for anyone else."""
    try:
        return selectors.booking_for_viewer(actor=request.user, city=page_city(request), code=code)
    except DomainError:
        raise Http404


def _own(request, code: str):
    booking = _viewable(request, code)
    if booking.citizen_id != request.user.pk:
        raise Http404
    return booking


def _cutoff(booking):
    if booking.slot is None:
        return None
    return booking.slot.start - timedelta(hours=int(booking.service.cancel_cutoff_hours))


def _annotate(booking, user, now) -> None:
    """What the person may still do with the booking, for the templates."""
    booking.display_code = svc.format_code(booking.code)
    booking.cutoff = _cutoff(booking)
    own = user.is_authenticated and booking.citizen_id == user.pk
    booking.is_own = own
    booking.changeable = bool(
        own and booking.status == B.BOOKED and booking.cutoff is not None and now < booking.cutoff
    )
    booking.cutoff_passed = bool(own and booking.status == B.BOOKED and not booking.changeable)


def _detail_context(request, booking, *, rating_form=None, error: str = "") -> dict:
    city = page_city(request)
    user = request.user
    _annotate(booking, user, timezone.now())
    rated = (
        booking.is_own
        and Feedback.objects.filter(
            city=city, author=user, subject_type=FEEDBACK_SUBJECT, subject_id=booking.code
        ).exists()
    )
    office = booking.office
    return {
        "booking": booking,
        "office": office,
        "documents": booking.service.documents,
        "error": error,
        "can_rate": booking.is_own and booking.status == B.SERVED and not rated,
        "rated": rated,
        "rating_form": rating_form or forms.RatingForm(),
        "map": {"lat": f"{office.lat:.6f}", "lon": f"{office.lon:.6f}"},
        "communes_url": reverse("api:communes_geojson"),
    }


@require_safe
@city_time
def detail(request, code: str):
    if not request.user.is_authenticated:
        return _signin(request)
    booking = _viewable(request, code)
    return render(request, "appointments/detail.html", _detail_context(request, booking))


@require_safe
def qr(request, code: str):
    """The booking's QR code (SVG): a link to the booking, which the counter's check-in box accepts."""
    if not request.user.is_authenticated:
        return _signin(request)
    booking = _viewable(request, code)
    url = request.build_absolute_uri(reverse("appointments:detail", kwargs={"code": booking.code}))
    return HttpResponse(booking_qr_svg(booking, url=url), content_type="image/svg+xml")


@require_safe
@city_time
def ics(request, code: str):
    """The booking as an iCalendar (RFC 5545) file for the person's own calendar."""
    if not request.user.is_authenticated:
        return _signin(request)
    booking = _viewable(request, code)
    url = request.build_absolute_uri(reverse("appointments:detail", kwargs={"code": booking.code}))
    response = HttpResponse(booking_ics(booking, url=url), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{ics_filename(booking)}"'
    return response


@require_safe
@city_time
def mine(request):
    if not request.user.is_authenticated:
        return _signin(request)
    city = page_city(request)
    now = timezone.now()
    bookings = list(selectors.my_bookings(actor=request.user, city=city))
    for booking in bookings:
        _annotate(booking, request.user, now)
    upcoming = sorted(
        (b for b in bookings if b.is_active), key=lambda b: b.slot.start if b.slot else b.created_at
    )
    return render(
        request,
        "appointments/mine.html",
        {"upcoming": upcoming, "past": [b for b in bookings if not b.is_active]},
    )


@require_POST
@city_time
@citizen_write("appointments.change")
def cancel(request, code: str):
    if not request.user.is_authenticated:
        return _signin(request)
    booking = _own(request, code)
    try:
        svc.booking_cancel(actor=request.user, booking=booking, request=request)
    except DomainError as exc:
        context = _detail_context(request, booking, error=exc.message)
        return render(request, "appointments/detail.html", context, status=_status(exc))
    messages.success(
        request,
        _("Your appointment %(code)s is cancelled. The time is free for someone else.")
        % {"code": svc.format_code(booking.code)},
    )
    return redirect("appointments:mine")


@require_http_methods(["GET", "HEAD", "POST"])
@city_time
@citizen_write("appointments.change")
def reschedule(request, code: str):
    """Another time for the same service: at the same office, or another one (?office=)."""
    if not request.user.is_authenticated:
        return _signin(request)
    city = page_city(request)
    booking = _own(request, code)
    _annotate(booking, request.user, timezone.now())
    choices = selectors.offices_for_service(city=city, service=booking.service)
    office = booking.office
    wanted = request.GET.get("office")
    if wanted and wanted != office.code:
        office = next((c.office for c in choices if c.office.code == wanted), None)
        if office is None:
            raise Http404
    picker, status = _slot_picker(request, city, office, booking.service, base_query={"office": office.code})
    form = forms.RescheduleForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not form.is_valid():
            status = 422
        else:
            try:
                moved = svc.booking_reschedule(
                    actor=request.user, booking=booking, slot=form.cleaned_data["slot"], request=request
                )
            except DomainError as exc:
                apply_error(form, exc, field="__all__")
                status = _status(exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
                status = 403
            else:
                messages.success(
                    request,
                    _("Your appointment is moved to %(when)s at %(office)s.")
                    % {"when": _when(moved.slot.start), "office": moved.office.name},
                )
                return redirect("appointments:detail", code=booking.code)
    context = {
        "booking": booking,
        "service": booking.service,
        "office": office,
        "offices": [c.office for c in choices],
        "form": form,
        "mode": "reschedule",
        **picker,
    }
    if request.htmx and request.method != "POST":
        return render(request, "appointments/_slot_picker.html", context, status=status)
    return render(request, "appointments/reschedule.html", context, status=status)


@require_POST
@city_time
@citizen_write("core.feedback.give")
def rate(request, code: str):
    if not request.user.is_authenticated:
        return _signin(request)
    city = page_city(request)
    booking = _own(request, code)
    form = forms.RatingForm(request.POST)
    if not form.is_valid():
        context = _detail_context(request, booking, rating_form=form)
        return render(request, "appointments/detail.html", context, status=422)
    try:
        feedback_give(
            author=request.user,
            city=city,
            subject_type=FEEDBACK_SUBJECT,
            subject_id=booking.code,
            rating=form.cleaned_data["rating"],
            comment=form.cleaned_data["comment"],
        )
    except DomainError as exc:
        apply_error(form, exc)
        context = _detail_context(request, booking, rating_form=form)
        return render(request, "appointments/detail.html", context, status=_status(exc))
    messages.success(request, _("Thank you for your rating."))
    return redirect("appointments:detail", code=booking.code)


# --- Staff: the counter ------------------------------------------------------------------------------


def _staff(request):
    city = page_city(request)
    if not request.user.is_authenticated:
        return city, redirect_to_login(request.get_full_path(), reverse("identity:staff_signin"))
    if not can(request.user, "appointments.serve", city):
        raise PermissionDenied(_("The counter screens are for the staff of public-service offices."))
    return city, None


@require_safe
@city_time
def desk(request):
    """Choose the office and the counter to work at."""
    city, refusal = _staff(request)
    if refusal:
        return refusal
    rows = []
    for office in selectors.staff_offices(actor=request.user, city=city):
        rows.append(
            {
                "office": office,
                "counters": list(selectors.counters(actor=request.user, office=office)),
                "waiting": selectors.waiting(office=office).count(),
            }
        )
    return render(request, "appointments/desk.html", {"rows": rows})


def _counter(request, office: str, number: int):
    city, refusal = _staff(request)
    if refusal:
        return None, refusal
    office = _office(city, office)
    if not selectors.can_serve(request.user, office):
        raise PermissionDenied(_("This office belongs to another agency."))
    counter = selectors.counters(actor=request.user, office=office).filter(number=number).first()
    if counter is None:
        raise Http404
    counter.office = office
    return counter, None


def _office_services(user, office) -> list:
    """The services some active counter of the office serves (what a walk-in may come for)."""
    found = {}
    for counter in selectors.counters(actor=user, office=office):
        for service in counter.services.all():
            if service.is_active:
                found.setdefault(service.pk, service)
    return sorted(found.values(), key=lambda s: (s.order, s.code))


def _minutes(seconds: float | None) -> int | None:
    return None if seconds is None else max(int(seconds // 60), 0)


def _counter_context(request, counter, *, check_in_form=None, walk_in_form=None, notice="", error="") -> dict:
    office = counter.office
    now = timezone.now()
    bookings = list(selectors.counter_day(actor=request.user, counter=counter))
    serves = {s.pk for s in counter.services.all()}
    for booking in bookings:
        booking.display_code = svc.format_code(booking.code)
        booking.waited = _minutes(
            booking.wait_seconds
            if booking.called_at
            else ((now - booking.arrived_at).total_seconds() if booking.arrived_at else None)
        )
        booking.took = _minutes(booking.service_seconds)
        booking.started = booking.slot is None or booking.slot.start <= now
    current = next(
        (b for b in bookings if b.counter_id == counter.pk and b.status in (B.CALLED, B.SERVING)), None
    )
    waiting = sorted(
        (b for b in bookings if b.status == B.CHECKED_IN and b.service_id in serves),
        key=lambda b: (b.arrived_at, b.queue_number or 0),
    )
    waits = [b.wait_seconds for b in bookings if b.wait_seconds is not None]
    done_here = [b for b in bookings if b.counter_id == counter.pk and b.status == B.SERVED]
    return {
        "office": office,
        "counter": counter,
        "bookings": bookings,
        "current": current,
        "waiting": waiting,
        "served_count": len(done_here),
        "mean_wait": _minutes(sum(waits) / len(waits)) if waits else None,
        "within": sum(1 for w in waits if w <= WITHIN_MINUTES * 60),
        "called_count": len(waits),
        "within_minutes": WITHIN_MINUTES,
        "check_in_form": check_in_form or forms.CheckInForm(auto_id="checkin_%s"),
        "walk_in_form": walk_in_form
        or forms.WalkInForm(services=_office_services(request.user, office), auto_id="walkin_%s"),
        "notice": notice,
        "error": error,
        "poll_seconds": PANEL_POLL_SECONDS,
        "now": now,
    }


def _counter_answer(request, counter, *, status: int = 200, notice: str = "", error: str = "", **forms_in):
    """After an action: htmx gets the refreshed panel (and the forms, out of band); a plain form post
    is redirected back to the screen (or shown again with its errors)."""
    if request.htmx:
        context = _counter_context(request, counter, notice=notice, error=error, **forms_in)
        return render(request, "appointments/_counter_action.html", context, status=status)
    if status < 400:
        if notice:
            messages.success(request, notice)
        return redirect("appointments:counter", office=counter.office.code, counter=counter.number)
    context = _counter_context(request, counter, error=error, **forms_in)
    return render(request, "appointments/counter.html", context, status=status)


@require_safe
@city_time
def counter(request, office: str, counter: int):
    """The counter screen; htmx polls it for the refreshed lists (the panel alone)."""
    found, refusal = _counter(request, office, counter)
    if refusal:
        return refusal
    context = _counter_context(request, found)
    template = "appointments/_counter_panel.html" if request.htmx else "appointments/counter.html"
    return render(request, template, context)


@require_POST
@city_time
def check_in(request, office: str, counter: int):
    found, refusal = _counter(request, office, counter)
    if refusal:
        return refusal
    form = forms.CheckInForm(request.POST, auto_id="checkin_%s")
    if not form.is_valid():
        return _counter_answer(request, found, status=422, check_in_form=form)
    try:
        booking = svc.booking_check_in(
            actor=request.user,
            city=found.office.city,
            code=form.cleaned_data["code"],
            office=found.office,
            request=request,
        )
    except DomainError as exc:
        apply_error(form, exc, field="code")
        return _counter_answer(request, found, status=_status(exc), check_in_form=form)
    notice = _("Checked in: number %(number)s (%(code)s, %(service)s).") % {
        "number": booking.queue_number,
        "code": svc.format_code(booking.code),
        "service": booking.service.name,
    }
    return _counter_answer(request, found, notice=notice)


@require_POST
@city_time
def call_next(request, office: str, counter: int):
    found, refusal = _counter(request, office, counter)
    if refusal:
        return refusal
    try:
        booking = svc.queue_call_next(actor=request.user, counter=found, request=request)
    except DomainError as exc:
        return _counter_answer(request, found, status=_status(exc), error=exc.message)
    if booking is None:
        return _counter_answer(request, found, notice=_("Nobody is waiting for this counter."))
    notice = _("Number %(number)s is called to counter %(counter)s.") % {
        "number": booking.queue_number,
        "counter": found.number,
    }
    return _counter_answer(request, found, notice=notice)


STAFF_ACTIONS = {
    "serve": svc.booking_start_serving,
    "served": svc.booking_mark_served,
    "no-show": svc.booking_mark_no_show,
}


@require_POST
@city_time
def booking_action(request, office: str, counter: int, code: str, action: str):
    """Start serving, served, or did not come, for one booking of the office."""
    if action not in STAFF_ACTIONS:
        raise Http404
    found, refusal = _counter(request, office, counter)
    if refusal:
        return refusal
    try:
        booking = selectors.booking_by_code(city=found.office.city, code=code)
    except DomainError:
        raise Http404
    if booking.office_id != found.office.pk:
        raise Http404
    try:
        booking = STAFF_ACTIONS[action](actor=request.user, booking=booking, request=request)
    except DomainError as exc:
        return _counter_answer(request, found, status=_status(exc), error=exc.message)
    values = {"number": booking.queue_number or "—", "code": svc.format_code(booking.code)}
    notices = {
        "serve": _("Serving number %(number)s."),
        "served": _("Number %(number)s is served."),
        "no-show": _("%(code)s is marked as not come."),
    }
    return _counter_answer(request, found, notice=notices[action] % values)


@require_POST
@city_time
def walk_in(request, office: str, counter: int):
    found, refusal = _counter(request, office, counter)
    if refusal:
        return refusal
    form = forms.WalkInForm(
        request.POST, services=_office_services(request.user, found.office), auto_id="walkin_%s"
    )
    if not form.is_valid():
        return _counter_answer(request, found, status=422, walk_in_form=form)
    data = form.cleaned_data
    try:
        booking = svc.walk_in_create(
            actor=request.user,
            office=found.office,
            service=form.services[data["service"]],
            name=data["name"],
            phone=data["phone"],
            request=request,
        )
    except DomainError as exc:
        apply_error(form, exc)
        return _counter_answer(request, found, status=_status(exc), walk_in_form=form)
    notice = _("Walk-in number %(number)s joins the queue (%(service)s).") % {
        "number": booking.queue_number,
        "service": booking.service.name,
    }
    return _counter_answer(request, found, notice=notice)


# --- Public: the "now serving" screen ----------------------------------------------------------------


def _board_context(city, office) -> dict:
    data = selectors.now_serving(city=city, office=office)
    upcoming = [b.queue_number for b in selectors.waiting(office=office)[:NEXT_IN_LINE]]
    return {
        **data,
        "next_numbers": upcoming,
        "poll_seconds": BOARD_POLL_SECONDS,
    }


@require_safe
@city_time
def now_serving(request, office: str):
    """The screen in the office's waiting room: queue numbers only, never names or codes."""
    city = page_city(request)
    office = _office(city, office)
    return render(request, "appointments/now_serving.html", _board_context(city, office))


@require_safe
@city_time
def now_serving_board(request, office: str):
    """The screen's board alone, polled by htmx every few seconds."""
    city = page_city(request)
    office = _office(city, office)
    response = render(request, "appointments/_board.html", _board_context(city, office))
    response["Cache-Control"] = "no-store"
    return response
