"""Report pages: the citizen's form (with routing preview and nearby duplicates), the public report
page, the public list and map, the agency queue and handling page, and the hotline's form. Thin:
forms in, one service or selector, templates out."""

from __future__ import annotations

from datetime import timedelta

import orjson
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from dothi.core import selectors as core_selectors
from dothi.core.cities import map_centre as _centre
from dothi.core.cities import page_city
from dothi.core.errors import DomainError, NotFound
from dothi.core.models import Feedback
from dothi.core.permissions import can
from dothi.core.ratelimit import citizen_write
from dothi.core.services import feedback_give
from dothi.reports import catalogue, deadlines, forms, selectors, services
from dothi.reports.models import Follower, ResponseTemplate, Status

PAGE_SIZE = 25
MAP_LIMIT = 5000
CONFIRM_DAYS = 14
FEEDBACK_SUBJECT = "reports.report"




def _status(exc: DomainError) -> int:
    return exc.status if 400 <= exc.status < 500 else 400


def _staff_login(request):
    return redirect_to_login(request.get_full_path(), reverse("identity:staff_signin"))


def _get_report(request, reference: str):
    try:
        return selectors.report_for_viewer(city=page_city(request), reference=reference, viewer=request.user)
    except NotFound:
        raise Http404


def _communes(city):
    return list(core_selectors.communes_of_city(city).only("code", "name"))


# --- The citizen's form --------------------------------------------------------------------------


def _report_form_context(request, form, *, on_behalf: bool = False) -> dict:
    city = request.city
    return {
        "form": form,
        "on_behalf": on_behalf,
        "communes_url": reverse("api:communes_geojson"),
        "centre": _centre(city),
        "categories": form.categories,
    }


def _category_from(city, code) -> object | None:
    if not code or not isinstance(code, str):
        return None
    try:
        return selectors.category_by_code(city=city, code=code)
    except DomainError:
        return None


def _submit(request, *, form_class, template: str, on_behalf: bool):
    city = request.city
    categories = list(selectors.categories(city=city))
    if request.method == "POST":
        category = _category_from(city, request.POST.get("category"))
        form = form_class(request.POST, request.FILES, categories=categories, category=category)
        if form.is_valid():
            data = form.cleaned_data
            extra = {}
            if on_behalf:
                extra = {"channel": data["channel"], "contact": form.contact()}
            try:
                report = services.report_submit(
                    city=city,
                    category_code=data["category"],
                    description=data["description"],
                    lat=data["lat"],
                    lon=data["lon"],
                    actor=request.user,
                    attributes=form.answers(),
                    photos=data["photos"],
                    address=data["address"],
                    idempotency_key=data["idempotency_key"] or "",
                    request=request,
                    **extra,
                )
            except DomainError as exc:
                forms.apply_error(form, exc)
                status = _status(exc)
            else:
                messages.success(
                    request,
                    _("Thank you. Your report %(reference)s has been sent to %(agency)s.")
                    % {"reference": report.reference, "agency": report.agency.name},
                )
                return redirect("reports:detail", reference=report.reference)
        else:
            status = 422
        # A fresh key for the corrected form is not wanted: the same attempt keeps its key, so a
        # double submission of the corrected form is still one report.
    else:
        category = _category_from(city, request.GET.get("category"))
        form = form_class(
            categories=categories, category=category, initial={"category": category.code if category else ""}
        )
        status = 200
    return render(request, template, _report_form_context(request, form, on_behalf=on_behalf), status=status)


# No rate-limit decorator: report_submit counts the write itself (one counter, not two).
@require_http_methods(["GET", "HEAD", "POST"])
def report_new(request):
    city = page_city(request)
    if not can(request.user, "reports.submit", city):
        # Signed-in staff, unverified accounts and visitors without the right see why, not a form.
        status = 200 if request.method in ("GET", "HEAD") else 403
        return render(request, "reports/signin_prompt.html", status=status)
    return _submit(request, form_class=forms.ReportForm, template="reports/new.html", on_behalf=False)


@require_http_methods(["GET", "HEAD", "POST"])
def report_on_behalf(request):
    city = page_city(request)
    if not request.user.is_authenticated:
        return _staff_login(request)
    if not can(request.user, "reports.file_on_behalf", city):
        raise PermissionDenied
    return _submit(request, form_class=forms.OnBehalfForm, template="reports/new.html", on_behalf=True)


@require_safe
def report_questions(request):
    """The chosen category's description and extra questions (swapped in by htmx)."""
    city = page_city(request)
    category = _category_from(city, request.GET.get("category"))
    form = forms.ReportForm(categories=[], category=category)
    return render(request, "reports/_questions.html", {"form": form, "category": category})


@require_safe
def report_preview(request):
    """Before submitting: who will receive the report, and open reports of the same category nearby."""
    city = page_city(request)
    code = request.GET.get("category", "")
    context: dict = {"ready": False}
    try:
        lat, lon = float(request.GET.get("lat", "")), float(request.GET.get("lon", ""))
    except ValueError:
        lat = lon = None
    if code and lat is not None:
        context["ready"] = True
        try:
            context["agency"] = selectors.routing_preview(city=city, category_code=code, lat=lat, lon=lon)
            context["nearby"] = [
                r
                for r in selectors.nearby_open_reports(
                    city=city, category=code, lat=lat, lon=lon, radius_m=250
                )
                if r.is_public
            ]
        except DomainError as exc:
            context["error"] = exc.message
    context["can_follow"] = can(request.user, "reports.follow", city)
    # htmx only swaps 2xx answers: a problem with the point is content, not an HTTP error.
    return render(request, "reports/_preview.html", context)


# --- The public report page and the reporter's actions ------------------------------------------


def _labelled(events):
    labels = dict(Status.choices)
    for event in events:
        event.status_label = labels.get(event.to_status, "") if event.kind == "status" else ""
    return events


def _detail_context(request, report, **forms_in) -> dict:
    user = request.user
    reporter = selectors.is_reporter(user, report)
    handler = selectors.can_handle(user, report)
    now = timezone.now()
    rated = (
        reporter
        and Feedback.objects.filter(
            city=report.city, author=user, subject_type=FEEDBACK_SUBJECT, subject_id=report.reference
        ).exists()
    )
    following = user.is_authenticated and Follower.objects.filter(report=report, user=user).exists()
    within_window = report.resolved_at is not None and now - report.resolved_at <= timedelta(
        days=CONFIRM_DAYS
    )
    return {
        "report": report,
        "description": report.public_description or report.description,
        "photos": selectors.public_photos(report),
        "timeline": _labelled(selectors.public_timeline(report)),
        "is_reporter": reporter,
        "can_handle": handler,
        "overdue": deadlines.is_overdue(report, now),
        "can_follow": (
            not reporter and not following and report.is_public and can(user, "reports.follow", report.city)
        ),
        "following": following,
        "can_provide_info": reporter and report.status == Status.NEEDS_INFO,
        "can_confirm": reporter and report.status == Status.RESOLVED and within_window,
        "can_rate": reporter and report.status in (Status.RESOLVED, Status.CLOSED) and not rated,
        "rated": rated,
        "info_form": forms_in.get("info_form") or forms.ProvideInfoForm(),
        "reopen_form": forms_in.get("reopen_form") or forms.ReopenForm(),
        "rating_form": forms_in.get("rating_form") or forms.RatingForm(),
        "communes_url": reverse("api:communes_geojson"),
    }


@require_safe
def report_detail(request, reference: str):
    report = _get_report(request, reference)
    return render(request, "reports/detail.html", _detail_context(request, report))


@require_safe
def report_photo(request, reference: str, token: str):
    """A photo or evidence file, served only to those who may see the report (and, once moderated
    away, only to its handlers)."""
    report = _get_report(request, reference)
    photo = report.photos.filter(token=str(token)[:32]).first()
    if photo is None or (photo.hidden and not selectors.can_handle(request.user, report)):
        raise Http404
    try:
        handle = photo.file.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404
    response = FileResponse(handle, content_type=photo.content_type)
    disposition = "inline" if photo.content_type.startswith("image/") else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{photo.token}.{photo.extension}"'
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _citizen_action(
    request, reference: str, act, *, form_name: str | None = None, form_class=None, success: str
):
    """Run one reporter action; on a refusal show the page again with the error and its 4xx."""
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("reports:detail", args=[reference]))
    report = _get_report(request, reference)
    form = None
    if form_class is not None:
        form = form_class(request.POST, request.FILES)
        if not form.is_valid():
            context = _detail_context(request, report, **{form_name: form})
            return render(request, "reports/detail.html", context, status=422)
    try:
        act(report, form.cleaned_data if form is not None else {})
    except DomainError as exc:
        if form is not None:
            forms.apply_error(form, exc)
            context = _detail_context(request, report, **{form_name: form})
            return render(request, "reports/detail.html", context, status=_status(exc))
        messages.error(request, exc.message)
        context = _detail_context(request, report)
        return render(request, "reports/detail.html", context, status=_status(exc))
    messages.success(request, success)
    return redirect("reports:detail", reference=report.reference)


@require_POST
@citizen_write("reports.follow")
def report_follow(request, reference: str):
    return _citizen_action(
        request,
        reference,
        lambda report, _data: services.report_follow(actor=request.user, report=report),
        success=_("You now follow this report: you will be told when its status changes."),
    )


@require_POST
@citizen_write("reports.provide_info")
def report_provide_info(request, reference: str):
    return _citizen_action(
        request,
        reference,
        lambda report, data: services.report_provide_info(
            actor=request.user, report=report, text=data["text"], photos=data["photos"]
        ),
        form_name="info_form",
        form_class=forms.ProvideInfoForm,
        success=_("Thank you. The agency has your information."),
    )


@require_POST
@citizen_write("reports.confirm")
def report_confirm(request, reference: str):
    return _citizen_action(
        request,
        reference,
        lambda report, _data: services.report_confirm_fixed(actor=request.user, report=report),
        success=_("Thank you for confirming the fix."),
    )


@require_POST
@citizen_write("reports.reopen")
def report_reopen(request, reference: str):
    return _citizen_action(
        request,
        reference,
        lambda report, data: services.report_reopen(actor=request.user, report=report, text=data["text"]),
        form_name="reopen_form",
        form_class=forms.ReopenForm,
        success=_("The report is open again and back with the agency."),
    )


@require_POST
@citizen_write("core.feedback.give")
def report_rate(request, reference: str):
    def rate(report, data):
        services.validate_rating(author=request.user, city=report.city, subject_id=report.reference)
        feedback_give(
            author=request.user,
            city=report.city,
            subject_type=FEEDBACK_SUBJECT,
            subject_id=report.reference,
            rating=data["rating"],
            comment=data["comment"],
        )

    return _citizen_action(
        request,
        reference,
        rate,
        form_name="rating_form",
        form_class=forms.RatingForm,
        success=_("Thank you for your rating."),
    )


# --- The public list and map ---------------------------------------------------------------------


def _public_filters(request):
    city = page_city(request)
    known = catalogue.for_city(city)  # every public page and the map's data ask: no queries
    form = forms.PublicFilterForm(
        request.GET or None, categories=known.active_categories(), communes=known.communes
    )
    return city, form, form.criteria() if request.GET else {}


@require_safe
def report_list(request):
    city, form, criteria = _public_filters(request)
    qs = selectors.public_reports(city=city, **criteria)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "reports/list.html", {"form": form, "page": page, "query": query.urlencode()})


@require_safe
def report_map(request):
    _city_, form, _criteria = _public_filters(request)
    query = request.GET.urlencode()
    return render(
        request,
        "reports/map.html",
        {
            "form": form,
            "data_url": reverse("reports:map_points") + (f"?{query}" if query else ""),
            "communes_url": reverse("api:communes_geojson"),
            "centre": _centre(_city_),
            "list_url": reverse("reports:list") + (f"?{query}" if query else ""),
        },
    )


@require_safe
def report_map_points(request):
    """What the public map draws: the newest MAP_LIMIT public reports in the viewport, compact: each
    point is [lat, lon, reference, category id, status] (about 50 bytes against 250 in GeoJSON), built
    by the database; the category and status labels come once. The map asks again for its new viewport
    when it moves, so zooming in shows more."""
    city, _form, criteria = _public_filters(request)
    count, points = selectors.public_map_points_json(city=city, limit=MAP_LIMIT, **criteria)
    head = orjson.dumps({
        "categories": {str(c.pk): [c.code, c.name] for c in catalogue.for_city(city).categories.values()},
        "statuses": {value: str(label) for value, label in Status.choices},
        "url": reverse("reports:detail", args=["REF"]).replace("REF/", ""),
        "limit": MAP_LIMIT,
        "truncated": count >= MAP_LIMIT,
    })
    body = head[:-1] + b',"points":' + points.encode() + b"}"
    response = HttpResponse(body, content_type="application/json")
    response["Cache-Control"] = "public, max-age=60"
    return response


@require_safe
def report_map_geojson(request):
    """The map's points as GeoJSON, for other tools (the map page uses the compact `map.json`)."""
    city, _form, criteria = _public_filters(request)
    rows = selectors.public_map_rows(city=city, limit=MAP_LIMIT, **criteria)
    categories = {c.pk: (c.code, c.name) for c in catalogue.for_city(city).categories.values()}
    labels = {value: str(label) for value, label in Status.choices}
    base = reverse("reports:detail", args=["REF"]).replace("REF/", "")
    features = []
    for ref, category_id, status, lat, lon in rows:
        code, name = categories[category_id]
        features.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {
                "reference": ref, "category": code, "category_name": name, "status": status,
                "status_label": labels.get(status, status), "url": f"{base}{ref}/",
            },
        })
    response = HttpResponse(
        orjson.dumps({"type": "FeatureCollection", "features": features}), content_type="application/json"
    )
    response["Cache-Control"] = "public, max-age=60"
    return response


# --- The agency side -----------------------------------------------------------------------------


def _require_handle_area(request):
    city = page_city(request)
    if not request.user.is_authenticated:
        return None, _staff_login(request)
    if not can(request.user, "reports.handle", city):
        raise PermissionDenied
    return city, None


@require_safe
def report_queue(request):
    city, refusal = _require_handle_area(request)
    if refusal:
        return refusal
    form = forms.QueueFilterForm(
        request.GET or None,
        categories=selectors.categories(city=city),
        communes=_communes(city),
    )
    criteria = form.criteria()
    status = criteria["status"]
    assignee = criteria["assignee"]
    if assignee == "me":
        assignee = request.user
    elif assignee not in (None, "none"):
        assignee = int(assignee) if str(assignee).isdigit() else None
    qs = selectors.agency_queue(
        city=city,
        actor=request.user,
        status=None if status == "all" else (status or "open"),
        assignee=assignee,
        overdue=criteria["overdue"],
        category=criteria["category"],
        commune=criteria["commune"],
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    for report in page.object_list:
        report.overdue = deadlines.is_overdue(report, now)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "reports/queue.html", {"form": form, "page": page, "query": query.urlencode()})


HANDLE_ACTIONS = ("assign", "priority", "note", "transition", "reroute", "recategorise", "merge", "moderate")


def _handle_forms(request, report, bound: str | None = None, bound_form=None) -> dict:
    city = report.city
    templates = ResponseTemplate.objects.for_city(city).filter(
        Q(agency__isnull=True) | Q(agency=report.agency)
    )
    built = {
        "assign": forms.AssignForm(
            staff=selectors.assignable_staff(report=report),
            initial={"assignee": report.assignee_id or ""},
            auto_id="assign_%s",
        ),
        "priority": forms.PriorityForm(initial={"priority": report.priority}, auto_id="priority_%s"),
        "note": forms.NoteForm(auto_id="note_%s"),
        "transition": forms.TransitionForm(templates=templates, auto_id="transition_%s"),
        "reroute": forms.RerouteForm(
            agencies=core_selectors.organisations(city, kind="agency").exclude(pk=report.agency_id),
            auto_id="reroute_%s",
        ),
        "recategorise": forms.RecategoriseForm(
            categories=selectors.categories(city=city).exclude(pk=report.category_id),
            auto_id="recategorise_%s",
        ),
        "merge": forms.MergeForm(auto_id="merge_%s"),
        "moderate": forms.ModerateForm(
            photos=report.photos.all(),
            auto_id="moderate_%s",
            initial={"public_description": report.public_description},
        ),
    }
    if bound:
        built[bound] = bound_form
    return built


def _handle_context(request, report, **kw) -> dict:
    user = request.user
    city = report.city
    now = timezone.now()
    return {
        "report": report,
        "forms": _handle_forms(request, report, **kw),
        "photos": list(report.photos.all()),
        "timeline": _labelled(selectors.timeline_for(user, report)),
        "overdue": deadlines.is_overdue(report, now),
        "may_assign": can(user, "reports.assign", city),
        "may_reroute": can(user, "reports.reroute", city),
        "may_moderate": can(user, "reports.moderate", city),
        "may_view_contact": can(user, "reports.view_contact", city),
    }


def _handled_report(request, reference: str):
    city, refusal = _require_handle_area(request)
    if refusal:
        return None, refusal
    report = _get_report(request, reference)
    if not selectors.can_handle(request.user, report):
        raise Http404
    return report, None


@require_safe
def report_handle(request, reference: str):
    report, refusal = _handled_report(request, reference)
    if refusal:
        return refusal
    return render(request, "reports/handle.html", _handle_context(request, report))


def _bound(action: str, request, report):
    city = report.city
    data, files = request.POST, request.FILES
    ids = {"auto_id": f"{action}_%s"}
    if action == "assign":
        return forms.AssignForm(data, staff=selectors.assignable_staff(report=report), **ids)
    if action == "priority":
        return forms.PriorityForm(data, **ids)
    if action == "note":
        return forms.NoteForm(data, **ids)
    if action == "transition":
        return forms.TransitionForm(data, files, templates=ResponseTemplate.objects.for_city(city), **ids)
    if action == "reroute":
        return forms.RerouteForm(data, agencies=core_selectors.organisations(city, kind="agency"), **ids)
    if action == "recategorise":
        return forms.RecategoriseForm(data, categories=selectors.categories(city=city), **ids)
    if action == "merge":
        return forms.MergeForm(data, **ids)
    return forms.ModerateForm(data, photos=report.photos.all(), **ids)


def _perform(action: str, request, report, form) -> str:
    """Call the service for a handling action; returns the success message."""
    actor, d = request.user, form.cleaned_data
    if action == "assign":
        services.report_assign(
            actor=actor, report=report, assignee=form.staff[d["assignee"]], request=request
        )
        return _("Assigned.")
    if action == "priority":
        services.report_set_priority(actor=actor, report=report, priority=d["priority"])
        return _("Priority changed.")
    if action == "note":
        services.report_add_note(actor=actor, report=report, text=d["text"], public=False)
        return _("Note added.")
    if action == "transition":
        duplicate_of = None
        if d["duplicate_of"]:
            try:
                duplicate_of = selectors.report_for_viewer(
                    city=report.city, reference=d["duplicate_of"], viewer=actor
                )
            except NotFound:
                raise NotFound(_("No report has this reference."), field="duplicate_of")
        services.report_transition(
            actor=actor,
            report=report,
            to_status=d["to_status"],
            text=d["text"],
            evidence=d["evidence"],
            reason=d["reason"],
            duplicate_of=duplicate_of,
            request=request,
        )
        return _("Status changed.")
    if action == "reroute":
        services.report_reroute(
            actor=actor, report=report, agency=form.agencies[d["agency"]], reason=d["reason"]
        )
        return _("Sent to the other agency.")
    if action == "recategorise":
        services.report_recategorise(
            actor=actor, report=report, category_code=d["category"], reason=d["reason"]
        )
        return _("Category changed.")
    if action == "merge":
        try:
            into = selectors.report_for_viewer(city=report.city, reference=d["into"], viewer=actor)
        except NotFound:
            raise NotFound(_("No report has this reference."), field="into")
        services.report_merge(actor=actor, report=report, into=into, reason=d["reason"])
        return _("Merged.")
    hide = {"1": True, "0": False}.get(d["hide"] or "")
    services.report_moderate(
        actor=actor,
        report=report,
        hide=hide,
        public_description=d["public_description"] or None,
        hide_photo_ids=[int(p) for p in d["hide_photos"]],
        reason=d["reason"],
    )
    return _("Moderation saved.")


@require_POST
def report_handle_action(request, reference: str, action: str):
    if action not in HANDLE_ACTIONS:
        raise Http404
    report, refusal = _handled_report(request, reference)
    if refusal:
        return refusal
    form = _bound(action, request, report)
    if form.is_valid():
        try:
            message = _perform(action, request, report, form)
        except DomainError as exc:
            forms.apply_error(form, exc)
            status = _status(exc)
        else:
            messages.success(request, message)
            # Re-routed or merged away, the report may have left this person's queue.
            report.refresh_from_db()
            if selectors.can_handle(request.user, report):
                return redirect("reports:handle", reference=report.reference)
            return redirect("reports:queue")
    else:
        status = 422
    context = _handle_context(request, report, bound=action, bound_form=form)
    context["open_section"] = action
    return render(request, "reports/handle.html", context, status=status)


@require_POST
def report_contact(request, reference: str):
    """The reporter's contact, read on request only (each read is audited), as an htmx partial."""
    report, refusal = _handled_report(request, reference)
    if refusal:
        return refusal
    contact = selectors.reporter_contact(actor=request.user, report=report, request=request)
    return render(request, "reports/_contact.html", {"contact": contact, "report": report})


@require_safe
def report_fragment(request, reference: str):
    """The control centre's drill-down of a report: an HTML fragment (no page around it) with its
    status, deadline and timeline. A confidential or hidden report is shown only to staff who may
    handle it, and without its text; no one's name or contact is ever in it (internal events show
    their kind only)."""
    city = page_city(request)
    try:
        report = selectors.ioc_report(city=city, reference=reference, viewer=request.user)
    except NotFound:
        raise Http404
    handler = selectors.can_handle(request.user, report)
    secret = report.confidential or report.category.confidential
    shown = not secret and report.is_public
    public_events = selectors.public_timeline(report)
    events = list(report.events.order_by("at", "id")) if handler else public_events
    for event in events:
        # Internal events (notes) are listed by their kind: their text may name people.
        event.shown_text = event.text if event.public and not secret else ""
    response = render(
        request,
        "reports/_ioc_report.html",
        {
            "report": report,
            "secret": secret,
            "description": (report.public_description or report.description) if shown else "",
            "timeline": _labelled(events),
            "overdue": deadlines.is_overdue(report, timezone.now()),
            "can_handle": handler,
        },
    )
    response["Cache-Control"] = "private, no-store"
    return response
