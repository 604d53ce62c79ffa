"""Staff pages of warnings under /alerts/staff/: the desk (drafts awaiting approval, one's own drafts,
published manual and automatic warnings, ended ones), the warning form (draft, edit, update), a
warning's page (its CAP messages, delivery runs and audit trail, with approve / reject / update /
cancel), the delivery log, and the control centre's map of "I need help" / "I am safe" replies.

Thin: a form in, one service or selector, a template out. The services check permissions again and
validate; what they refuse is shown on the form (4xx, nothing stored). Times are read and shown in the
city's time zone. Replies are personal data: every page view and GeoJSON request that shows them writes
a `read_personal` audit record naming the warning, and no name or phone number is ever shown.
"""

from __future__ import annotations

import functools
from zoneinfo import ZoneInfo

import orjson
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from dothi.alerts import forms, selectors
from dothi.alerts import services as svc
from dothi.alerts.models import PublicWarning, SafetyReply
from dothi.core import audit
from dothi.core import selectors as core_selectors
from dothi.core.cities import page_city
from dothi.core.errors import DomainError
from dothi.core.permissions import can

PAGE_SIZE = 20
REPLIES_PAGE_SIZE = 50
# What a staff member reading replies sees of a person's answer (the audit record lists it).
REPLY_FIELDS = ["status", "note", "location", "commune", "time"]

Status = PublicWarning.Status


def _status(exc: DomainError) -> int:
    return exc.status if 400 <= exc.status < 500 else 400


def staff_page(*operations: str):
    """A staff page: signed in (else the staff sign-in page), holding one of `operations` in the city
    (else 403); the view runs in the city's time zone and gets the city as its second argument."""

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


def _warning(city, uid) -> PublicWarning:
    try:
        return selectors.staff_warning(city, uid)
    except DomainError:
        raise Http404


def _form(city, data=None, files=None, *, initial=None) -> forms.WarningForm:
    return forms.WarningForm(
        data,
        files,
        initial=initial,
        categories=list(selectors.categories(city)),
        communes=list(core_selectors.communes_of_city(city).only("code", "name")),
    )


def _map_context(city) -> dict:
    bbox = city.bbox
    return {
        "map_bbox": ",".join(f"{v:.6f}" for v in bbox) if bbox else "",
        "communes_url": reverse("api:communes_geojson"),
    }


# --- The desk ---------------------------------------------------------------------------------------


@require_safe
@staff_page("alerts.draft")
def staff_home(request, city):
    """The lists a drafter and an approver work from, one at a time (?show=), paginated."""
    may_approve = can(request.user, "alerts.approve", city)
    sections = [s for s in selectors.STAFF_SECTIONS if s != "awaiting" or may_approve]
    counts = selectors.staff_section_counts(city, user=request.user)
    show = request.GET.get("show", "")
    if show not in sections:
        show = "awaiting" if may_approve and counts["awaiting"] else "mine"
    labels = {
        "awaiting": _("Awaiting approval"),
        "mine": _("My drafts"),
        "active": _("Published"),
        "automatic": _("Automatic"),
        "ended": _("Ended"),
    }
    empty = {
        "awaiting": _("No draft is waiting for approval."),
        "mine": _("You have no drafts. Write one with “New warning”."),
        "active": _("No manual warning is published at the moment."),
        "automatic": _("No automatic warning is active: no sensor rule is breached."),
        "ended": _("No warning has ended yet."),
    }
    page = Paginator(selectors.staff_warnings(city, section=show, user=request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "alerts/staff/home.html",
        {
            "tabs": [
                {"key": s, "label": labels[s], "count": counts[s], "active": s == show} for s in sections
            ],
            "show": show,
            "page": page,
            "query": f"show={show}",
            "empty_text": empty[show],
            "may_approve": may_approve,
            "may_read_replies": can(request.user, "alerts.read_replies", city),
            "reason_form": forms.ReasonForm(),
        },
    )


# --- The warning form: new draft, edit a draft, update a published warning ---------------------------


def _form_page(request, city, form, *, mode: str, warning=None, status: int = 200):
    titles = {
        "new": _("New warning"),
        "edit": _("Edit the draft"),
        "update": _("Update the published warning"),
    }
    actions = {
        "new": reverse("alerts:staff_new"),
        "edit": reverse("alerts:staff_edit", args=[warning.uid]) if warning else "",
        "update": reverse("alerts:staff_update", args=[warning.uid]) if warning else "",
    }
    context = {"form": form, "mode": mode, "title": titles[mode], "action": actions[mode], "warning": warning,
               **_map_context(city)}
    return render(request, "alerts/staff/form.html", context, status=status)


def _submit(request, city, form, *, mode: str, warning=None):
    """Validate the form, call the service of `mode`; the page again with the errors, or a redirect.

    Editing and updating send only what the person changed: the form shows times to the minute, so
    sending an untouched time back would change its seconds (and make an empty update look like one)."""
    if not form.is_valid():
        return _form_page(request, city, form, mode=mode, warning=warning, status=422)
    fields = form.service_fields()
    if mode != "new":
        fields = {name: value for name, value in fields.items() if name in form.changed_data}
    files = form.cleaned_data.get("attachments") or []
    try:
        if mode == "new":
            warning = svc.warning_draft(actor=request.user, city=city, attachments=files, **fields)
            messages.success(request, _("The draft is saved. It is published once a manager approves it."))
        elif mode == "edit":
            warning = svc.warning_edit(actor=request.user, warning=warning, attachments=files, **fields)
            messages.success(request, _("The draft is saved."))
        else:
            message = svc.warning_update(actor=request.user, warning=warning, attachments=files, **fields)
            messages.success(
                request, _("The update is published (version %(version)d).") % {"version": message.version}
            )
    except DomainError as exc:
        forms.apply_error(form, exc)
        return _form_page(request, city, form, mode=mode, warning=warning, status=_status(exc))
    except PermissionDenied as exc:
        form.add_error(None, str(exc) or _("You do not have permission to do this."))
        return _form_page(request, city, form, mode=mode, warning=warning, status=403)
    return redirect("alerts:staff_detail", uid=warning.uid)


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page("alerts.draft")
def staff_new(request, city):
    if request.method == "POST":
        return _submit(request, city, _form(city, request.POST, request.FILES), mode="new")
    return _form_page(request, city, _form(city), mode="new")


def _change(request, city, uid, *, mode: str, status: str, refusal: str):
    """Edit a draft or update a published warning: the same form, filled with its current values."""
    warning = _warning(city, uid)
    if warning.status != status:
        messages.info(request, refusal)
        return redirect("alerts:staff_detail", uid=warning.uid)
    initial = forms.WarningForm.initial_for(warning)
    if request.method == "POST":
        form = _form(city, request.POST, request.FILES, initial=initial)
        return _submit(request, city, form, mode=mode, warning=warning)
    return _form_page(request, city, _form(city, initial=initial), mode=mode, warning=warning)


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page("alerts.draft")
def staff_edit(request, city, uid):
    return _change(
        request, city, uid, mode="edit", status=Status.DRAFT,
        refusal=_("Only a draft can be edited; a published warning is updated instead."),
    )


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page("alerts.approve")
def staff_update(request, city, uid):
    return _change(
        request, city, uid, mode="update", status=Status.PUBLISHED,
        refusal=_("Only a published warning can be updated."),
    )


# --- A warning: messages, deliveries, audit trail, and the workflow ----------------------------------


def _fanouts(warning) -> list:
    """The delivery runs, each with its duration in seconds (None while it runs)."""
    runs = selectors.fanouts_of(warning)
    for run in runs:
        done = run.started_at is not None and run.finished_at is not None
        run.duration_s = (run.finished_at - run.started_at).total_seconds() if done else None
    return runs


def _detail_context(request, city, warning, *, reject_form=None, cancel_form=None, error: str = "") -> dict:
    user = request.user
    may_approve = can(user, "alerts.approve", city)
    is_draft = warning.status == Status.DRAFT
    return {
        "warning": warning,
        "cap_messages": selectors.messages_of(warning),
        "fanouts": _fanouts(warning),
        "audit_events": selectors.audit_trail_of(warning),
        "attachments": list(warning.attachments.all()),
        "communes": list(
            core_selectors.communes_of_city(city).filter(code__in=list(warning.commune_codes or []))
            .only("code", "name")
        ),
        "own": warning.created_by_id == user.pk,
        "may_edit": is_draft and (warning.created_by_id == user.pk or may_approve),
        "may_approve": may_approve and is_draft,
        "may_update": may_approve and warning.status == Status.PUBLISHED,
        "reject_form": reject_form or forms.ReasonForm(),
        "cancel_form": cancel_form or forms.ReasonForm(auto_id="cancel_%s"),
        "error": error,
    }


def _detail_page(request, city, warning, *, status: int = 200, **extra):
    return render(
        request, "alerts/staff/detail.html", _detail_context(request, city, warning, **extra), status=status
    )


@require_safe
@staff_page("alerts.draft")
def staff_detail(request, city, uid):
    return _detail_page(request, city, _warning(city, uid))


@require_POST
@staff_page("alerts.approve")
def staff_approve(request, city, uid):
    warning = _warning(city, uid)
    try:
        message = svc.warning_approve(actor=request.user, warning=warning)
    except DomainError as exc:
        return _detail_page(request, city, warning, status=_status(exc), error=exc.message)
    except PermissionDenied as exc:  # four eyes, or another agency's warning
        return _detail_page(request, city, warning, status=403, error=str(exc))
    messages.success(
        request,
        _("The warning is published (CAP message %(identifier)s).") % {"identifier": message.identifier},
    )
    return redirect("alerts:staff_detail", uid=warning.uid)


def _with_reason(request, city, uid, *, action: str):
    """Reject or cancel: both ask for a reason, shown on the page when it is missing."""
    warning = _warning(city, uid)
    auto_id = "reason_%s" if action == "reject" else "cancel_%s"
    form = forms.ReasonForm(request.POST, auto_id=auto_id)
    key = "reject_form" if action == "reject" else "cancel_form"
    if not form.is_valid():
        return _detail_page(request, city, warning, status=422, **{key: form})
    try:
        if action == "reject":
            svc.warning_reject(actor=request.user, warning=warning, reason=form.cleaned_data["reason"])
            messages.success(request, _("The draft is rejected; its author sees your reason."))
        else:
            svc.warning_cancel(actor=request.user, warning=warning, reason=form.cleaned_data["reason"])
            messages.success(request, _("The warning is cancelled; a Cancel message is published."))
    except DomainError as exc:
        forms.apply_error(form, exc, field="reason" if exc.field == "reason" else None)
        return _detail_page(request, city, warning, status=_status(exc), **{key: form})
    except PermissionDenied as exc:
        return _detail_page(request, city, warning, status=403, error=str(exc))
    return redirect("alerts:staff_detail", uid=warning.uid)


@require_POST
@staff_page("alerts.approve")
def staff_reject(request, city, uid):
    return _with_reason(request, city, uid, action="reject")


@require_POST
@staff_page("alerts.approve")
def staff_cancel(request, city, uid):
    return _with_reason(request, city, uid, action="cancel")


@require_safe
@staff_page("alerts.draft", "alerts.stats")
def staff_deliveries(request, city, uid):
    """The delivery log of a warning: one run per published message."""
    warning = _warning(city, uid)
    return render(
        request,
        "alerts/staff/deliveries.html",
        {"warning": warning, "fanouts": _fanouts(warning),
         "may_see_warning": can(request.user, "alerts.draft", city)},
    )


# --- "Are you safe?" replies: the control centre's map --------------------------------------------------


def _read_replies(request, city, warning) -> None:
    audit.read_personal(actor=request.user, subject=warning, city=city, request=request, fields=REPLY_FIELDS)


def _chosen(request, city, warnings, raw: str | None):
    """The warning asked for (?warning=uid, one of `warnings`), else the first; None when none."""
    if not raw:
        return warnings[0] if warnings else None
    chosen = next((w for w in warnings if str(w.uid) == raw), None)
    if chosen is None:
        raise Http404
    return chosen


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page("alerts.read_replies")
def staff_replies(request, city):
    """A map and list of the replies to one warning (?warning=), with the counts of every warning that
    asks; "need help" replies can be marked handled (POST)."""
    warnings = selectors.safety_warnings(city)
    if request.method == "POST":
        return _handle_reply(request, city, warnings)
    chosen = _chosen(request, city, warnings, request.GET.get("warning"))
    context = {"warnings": warnings, "chosen": chosen, **_map_context(city)}
    if chosen is not None:
        _read_replies(request, city, chosen)
        need_help = selectors.replies_of(chosen, status=SafetyReply.Status.NEED_HELP)
        context.update(
            page=Paginator(need_help, REPLIES_PAGE_SIZE).get_page(request.GET.get("page")),
            query=f"warning={chosen.uid}",
            geojson_url=reverse("alerts:staff_replies_geojson") + f"?warning={chosen.uid}",
        )
    return render(request, "alerts/staff/replies.html", context)


def _handle_reply(request, city, warnings):
    form = forms.HandleReplyForm(request.POST)
    if not form.is_valid():
        return HttpResponse(_("Choose a reply to mark handled."), status=422, content_type="text/plain")
    warning = next((w for w in warnings if w.uid == form.cleaned_data["warning"]), None)
    if warning is None:
        raise Http404
    try:
        reply = selectors.reply_of(warning, form.cleaned_data["reply"])
        svc.safety_reply_handle(actor=request.user, reply=reply)
    except DomainError as exc:
        return HttpResponse(exc.message, status=_status(exc), content_type="text/plain")
    messages.success(request, _("The reply is marked handled."))
    return redirect(reverse("alerts:staff_replies") + f"?warning={warning.uid}")


@require_safe
@staff_page("alerts.read_replies")
def staff_replies_geojson(request, city):
    """The located replies as GeoJSON points, without names: one warning (?warning=uid), or every
    warning the replies page lists (each read is audited, naming its warning)."""
    warnings = selectors.safety_warnings(city)
    raw = request.GET.get("warning")
    chosen = [_chosen(request, city, warnings, raw)] if raw else warnings
    for warning in chosen:
        _read_replies(request, city, warning)
    body = selectors.replies_geojson(city, warnings=chosen)
    response = HttpResponse(orjson.dumps(body), content_type="application/geo+json")
    response["Cache-Control"] = "private, no-store"
    return response
