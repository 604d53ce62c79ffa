"""Pages of the control centre under /ioc/: the live screen, each panel's JSON (fetched by the screen's
script every `refresh_seconds`), the alarm list polled by htmx, the alarms page with its actions, the
incident log, shift handovers and a ward's summary (a fragment for the screen's side drawer).

Thin: a form in, one service or selector, a template out. Staff only: `ioc.view` to look, the
manifest's other operations to act (the services check again). What a service refuses is shown on the
page with a 4xx status and nothing is stored. Times are shown in the city's time zone.
"""

from __future__ import annotations

import functools
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from dothi.core import selectors as core_selectors
from dothi.core.cities import map_centre, page_city
from dothi.core.errors import DomainError, InvalidInput, NotFound
from dothi.core.forms import apply_error
from dothi.core.permissions import can
from dothi.ioc import forms, selectors, services
from dothi.ioc.models import Alarm

DEFAULT_POLL_SECONDS = 15
MIN_REFRESH_SECONDS = 2
SCREEN_ALARMS = 8


def _status(exc: DomainError) -> int:
    return exc.status if 400 <= exc.status < 500 else 400


def staff_page(*operations: str):
    """A control-centre page: signed in (else the staff sign-in page), holding one of `operations` in the
    city (else 403); the view runs in the city's time zone and gets the city as its second argument."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), reverse("identity:staff_signin"))
            city = page_city(request)
            if not any(can(request.user, op, city) for op in operations):
                raise PermissionDenied(_("You do not have permission to do this."))
            with timezone.override(ZoneInfo(city.time_zone or settings.TIME_ZONE)):
                return view(request, city, *args, **kwargs)

        return wrapped

    return decorator


def _refresh_override(request) -> int | None:
    """`?refresh=N`: every panel and the alarm list refresh every N seconds (at least 2)."""
    raw = request.GET.get("refresh", "")
    if not raw.isdigit():
        return None
    return min(max(int(raw), MIN_REFRESH_SECONDS), 3600)


def _page_number(request) -> int:
    raw = request.GET.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < len(raw) < 7 else 1


def _next_url(request, fallback: str) -> str:
    target = request.POST.get("next") or ""
    allowed = {request.get_host()}
    if target and url_has_allowed_host_and_scheme(target, allowed, require_https=request.is_secure()):
        return target
    return fallback


# --- The screen -------------------------------------------------------------------------------------


@require_safe
@staff_page("ioc.view")
def screen(request, city):
    """The live screen: the geojson panels on the map, the other panels and the alarm list beside it."""
    override = _refresh_override(request)
    panels = [
        {
            "code": p.code,
            "title": str(p.title),
            "kind": p.kind,
            "refresh": override or max(int(p.refresh_seconds or DEFAULT_POLL_SECONDS), MIN_REFRESH_SECONDS),
            "default_on": p.default_on,
            "url": reverse("ioc:panel", args=[p.code]),
        }
        for p in selectors.panels_for(request.user, city)
        if p.kind in selectors.PANEL_KINDS
    ]
    poll = override or DEFAULT_POLL_SECONDS
    config = {
        "panels": [p for p in panels if p["kind"] == "geojson"],
        "layers": selectors.layer_catalogue(city, request.user),
        "ward_url": reverse("ioc:ward", args=["00000"]),
        "communes_url": reverse("api:communes_geojson"),
        "tile_url": settings.TILE_URL,
        "centre": map_centre(city),
    }
    return render(
        request,
        "ioc/screen.html",
        {
            "config": config,
            "side_panels": [p for p in panels if p["kind"] != "geojson"],
            "map_panels": config["panels"],
            "poll_seconds": poll,
            # A sensor's fragment draws its charts with the sensing module's script (its published
            # window.dothiSensing.initCharts): a static file, not an import of the module.
            "with_sensing": any(p["code"].startswith("sensing.") for p in panels),
            **_alarm_list_context(request, city, poll),
        },
    )


def _alarm_list_context(request, city, poll: int) -> dict:
    return {
        "alarms_page": selectors.alarms(city, status="active", page=1, page_size=SCREEN_ALARMS),
        "counts": selectors.alarm_counts(city),
        "may_handle": can(request.user, "ioc.alarm.handle", city),
        "poll_seconds": poll,
        "fragment_url": reverse("ioc:alarms_fragment")
        + (f"?refresh={poll}" if poll != DEFAULT_POLL_SECONDS else ""),
        "next": reverse("ioc:screen"),
    }


@require_safe
@staff_page("ioc.view")
def alarms_fragment(request, city):
    """The screen's alarm list alone, polled by htmx."""
    poll = _refresh_override(request) or DEFAULT_POLL_SECONDS
    return render(request, "ioc/_alarm_list.html", _alarm_list_context(request, city, poll))


@require_safe
@staff_page("ioc.view")
def panel_json(request, city, code: str):
    try:
        body = selectors.panel_data(request.user, city, code)
    except NotFound as exc:
        return JsonResponse(exc.as_dict(), status=404)
    response = JsonResponse(body, encoder=DjangoJSONEncoder, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "no-store"
    return response


@require_safe
@staff_page("ioc.view")
def ward(request, city, code: str):
    """A ward's summary: what each module counts there, its population and its open alarms."""
    try:
        summary = selectors.ward_summary(city, code)
    except NotFound:
        raise Http404
    return render(request, "ioc/_ward.html", {"summary": summary})


# --- Alarms -----------------------------------------------------------------------------------------


def _alarms_page(request, city, *, status: int = 200, error: str = "", error_alarm: int | None = None):
    form = forms.AlarmFilterForm(request.GET or None)
    chosen_status, level = "active", None
    if form.is_valid():
        chosen_status = form.cleaned_data["status"] or "active"
        level = form.cleaned_data["level"] or None
    page = selectors.alarms(city, status=chosen_status, level=level, page=_page_number(request))
    query = "&".join(f"{k}={v}" for k, v in (("status", chosen_status), ("level", level or "")) if v)
    may_handle = can(request.user, "ioc.alarm.handle", city)
    return render(
        request,
        "ioc/alarms.html",
        {
            "filter_form": form,
            "page": page,
            "query": query,
            "counts": selectors.alarm_counts(city),
            "may_handle": may_handle,
            "staff": list(selectors.assignable_staff(city)) if may_handle else [],
            "error": error,
            "error_alarm": error_alarm,
            "chosen_status": chosen_status,
            "next": request.get_full_path(),
        },
        status=status,
    )


@require_safe
@staff_page("ioc.view")
def alarms(request, city):
    return _alarms_page(request, city)


def _act(request, city, pk: int, action):
    try:
        alarm = selectors.alarm(city, pk)
    except NotFound:
        raise Http404
    try:
        message = action(alarm)
    except DomainError as exc:
        return _alarms_page(request, city, status=_status(exc), error=exc.message, error_alarm=alarm.pk)
    messages.success(request, message)
    return redirect(_next_url(request, reverse("ioc:alarms")))


@require_POST
@staff_page("ioc.alarm.handle")
def alarm_acknowledge(request, city, pk: int):
    def act(alarm):
        services.alarm_acknowledge(actor=request.user, alarm=alarm)
        return _("Alarm acknowledged.")

    return _act(request, city, pk, act)


@require_POST
@staff_page("ioc.alarm.handle")
def alarm_assign(request, city, pk: int):
    def act(alarm):
        form = forms.AssignForm(request.POST, staff=selectors.assignable_staff(city))
        if not form.is_valid():
            raise InvalidInput(_("Choose a staff member of this city."), field="assignee")
        services.alarm_assign(actor=request.user, alarm=alarm, assignee=form.cleaned_data["assignee"])
        return _("Alarm assigned.")

    return _act(request, city, pk, act)


@require_POST
@staff_page("ioc.alarm.handle")
def alarm_close(request, city, pk: int):
    def act(alarm):
        services.alarm_close(actor=request.user, alarm=alarm, note=request.POST.get("note", ""))
        return _("Alarm closed.")

    return _act(request, city, pk, act)


# --- The incident log -------------------------------------------------------------------------------


def _log_page(request, city, form, *, status: int = 200):
    return render(
        request,
        "ioc/log.html",
        {
            "form": form,
            "page": selectors.log(city, page=_page_number(request)),
            "may_write": can(request.user, "ioc.log.write", city),
        },
        status=status,
    )


def _communes(city):
    return list(core_selectors.communes_of_city(city).only("code", "name"))


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page("ioc.view")
def log(request, city):
    if request.method != "POST":
        return _log_page(request, city, forms.LogForm(communes=_communes(city)))
    if not can(request.user, "ioc.log.write", city):
        raise PermissionDenied(_("You do not have permission to do this."))
    form = forms.LogForm(request.POST, communes=_communes(city))
    if not form.is_valid():
        return _log_page(request, city, form, status=422)
    try:
        services.log_add(
            actor=request.user,
            city=city,
            kind=form.cleaned_data["kind"],
            text=form.cleaned_data["text"],
            commune=form.cleaned_data["commune"] or None,
        )
    except DomainError as exc:
        apply_error(form, exc)
        return _log_page(request, city, form, status=_status(exc))
    messages.success(request, _("The entry is added to the incident log."))
    return redirect("ioc:log")


# --- Shift handovers --------------------------------------------------------------------------------


def _handover_page(request, city, form, *, status: int = 200, error: str = ""):
    may_hand_over = can(request.user, "ioc.handover", city)
    page = selectors.handovers(city, page=_page_number(request))
    labels = dict(Alarm.Status.choices)
    for h in page.object_list:
        h.snapshot = [
            {**a, "status_label": labels.get(a.get("status"), a.get("status"))} for a in h.open_alarms
        ]
    return render(
        request,
        "ioc/handover.html",
        {
            "form": form,
            "page": page,
            "may_hand_over": may_hand_over,
            "counts": selectors.alarm_counts(city),
            "error": error,
        },
        status=status,
    )


def _handover_form(request, city, data=None):
    return forms.HandoverForm(data, operators=selectors.operators(city).exclude(pk=request.user.pk))


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page("ioc.view")
def handover(request, city):
    if request.method != "POST":
        return _handover_page(request, city, _handover_form(request, city))
    if not can(request.user, "ioc.handover", city):
        raise PermissionDenied(_("You do not have permission to do this."))
    form = _handover_form(request, city, request.POST)
    if not form.is_valid():
        return _handover_page(request, city, form, status=422)
    try:
        services.handover_create(
            actor=request.user,
            city=city,
            notes=form.cleaned_data["notes"],
            handed_to=form.cleaned_data["handed_to"],
        )
    except DomainError as exc:
        apply_error(form, exc)
        return _handover_page(request, city, form, status=_status(exc))
    messages.success(request, _("The shift is handed over."))
    return redirect("ioc:handover")


@require_POST
@staff_page("ioc.handover")
def handover_accept(request, city, pk: int):
    try:
        found = selectors.handover(city, pk)
    except NotFound:
        raise Http404
    try:
        services.handover_accept(actor=request.user, handover=found)
    except DomainError as exc:
        return _handover_page(
            request, city, _handover_form(request, city), status=_status(exc), error=exc.message
        )
    except PermissionDenied as exc:
        return _handover_page(request, city, _handover_form(request, city), status=403, error=str(exc))
    messages.success(request, _("You have taken over the shift."))
    return redirect("ioc:handover")
