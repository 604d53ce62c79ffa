"""Pages of the surveys module under /surveys/.

Citizens: the surveys open now, a survey's form (one page, mobile-first, radio groups for 0–10 and
1–5 scores) and the thank-you page. Staff under /surveys/staff/: the list, the builder (details,
questions while a draft, open and close), the results with bar charts (inline SVG, no script) and the
CSV export of the answers.

Thin: parse, one service or selector, render. The services check permissions again; what they refuse
is shown on the form with a 4xx status and nothing stored.
"""

from __future__ import annotations

import functools
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from dothi.core import audit
from dothi.core.cities import page_city
from dothi.core.errors import DomainError
from dothi.core.models import AuditEvent
from dothi.core.permissions import can
from dothi.core.ratelimit import citizen_write
from dothi.core.selectors import communes_of_city
from dothi.surveys import forms, selectors, services
from dothi.surveys.models import Question, Survey

VIEW = "surveys.view"
MANAGE = "surveys.manage"


def _status(exc: DomainError) -> int:
    return exc.status if 400 <= exc.status < 500 else 400


def _survey_or_404(city, code: str, *, staff: bool = False) -> Survey:
    try:
        return selectors.survey_of(city, code) if staff else selectors.public_survey(city, code)
    except DomainError:
        raise Http404


# --- Citizens -----------------------------------------------------------------------------------------


@require_safe
def survey_list(request):
    city = page_city(request)
    found = selectors.open_surveys(city)
    done = selectors.answered_codes(city, request.user, found)
    for s in found:
        s.answered = s.code in done
    return render(request, "surveys/list.html", {"surveys": found})


def _may_answer(request, survey: Survey) -> bool:
    if survey.audience == Survey.Audience.EVERYONE:
        return True
    return can(request.user, services.RESPOND, survey.city)


def _form_context(request, survey: Survey, *, values=None, errors=None, commune="") -> dict[str, Any]:
    questions = list(survey.questions.all())
    values = values or {}
    items = []
    for q in questions:
        name = f"q{q.pk}"
        given = values.get(name)
        if q.kind == Question.Kind.NPS:
            options = [(str(v), str(v)) for v in range(0, 11)]
        elif q.kind == Question.Kind.RATING:
            options = [(str(v), str(v)) for v in range(1, 6)]
        else:
            options = q.localised_choices()
        chosen = given if isinstance(given, list) else ([given] if given not in (None, "") else [])
        items.append(
            {
                "q": q,
                "name": name,
                "options": options,
                "chosen": [str(c) for c in chosen],
                "text": given if isinstance(given, str) else "",
                "error": (errors or {}).get(name, ""),
            }
        )
    communes = list(communes_of_city(survey.city).values_list("code", "name")) if survey.accepting() else []
    return {
        "survey": survey,
        "items": items,
        "errors": errors or {},
        "communes": communes,
        "commune": commune,
        "may_answer": _may_answer(request, survey),
        "answered": not values and bool(selectors.answered_codes(survey.city, request.user, [survey]))
        and not survey.repeat_days,
        "accepting": survey.accepting(),
        "signin_url": f"{reverse('identity:signin')}?next={request.path}",
    }


@require_http_methods(["GET", "HEAD", "POST"])
@citizen_write("surveys.respond")
def survey_page(request, code):
    city = page_city(request)
    survey = _survey_or_404(city, code)
    if request.method != "POST":
        return render(request, "surveys/survey.html", _form_context(request, survey))
    values: dict[str, Any] = {}
    for q in survey.questions.all():
        name = f"q{q.pk}"
        values[name] = (
            request.POST.getlist(name) if q.kind == Question.Kind.MULTIPLE else request.POST.get(name, "")
        )
    commune = request.POST.get("commune", "")
    session_key = ""
    if not request.user.is_authenticated:
        if not request.session.session_key:
            request.session.save()
        session_key = request.session.session_key or ""
    try:
        services.respond(
            actor=request.user,
            survey=survey,
            answers=values,
            commune=commune,
            session_key=session_key,
            request=request,
        )
    except PermissionDenied:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("identity:signin"))
        raise
    except DomainError as exc:
        errors = {exc.field or "form": exc.message}
        context = _form_context(request, survey, values=values, errors=errors, commune=commune)
        return render(request, "surveys/survey.html", context, status=_status(exc))
    return redirect("surveys:thanks", code=survey.code)


@require_safe
def thanks(request, code):
    city = page_city(request)
    survey = _survey_or_404(city, code)
    return render(request, "surveys/thanks.html", {"survey": survey})


# --- Staff --------------------------------------------------------------------------------------------


def staff_page(view):
    """Signed in (else the staff sign-in page) with `surveys.view` in the city (else 403); runs in the
    city's time zone."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("identity:staff_signin"))
        city = page_city(request)
        if not can(request.user, VIEW, city):
            raise PermissionDenied(_("You do not have permission to do this."))
        with timezone.override(ZoneInfo(city.time_zone or settings.TIME_ZONE)):
            return view(request, city, *args, **kwargs)

    return wrapped


def _manager(request, city) -> None:
    if not can(request.user, MANAGE, city):
        raise PermissionDenied(_("You do not have permission to do this."))


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page
def staff_list(request, city):
    may_manage = can(request.user, MANAGE, city)
    form = forms.SurveyForm(request.POST or None)
    status = 200
    if request.method == "POST":
        _manager(request, city)
        if form.is_valid():
            try:
                survey = services.survey_create(actor=request.user, city=city, **form.cleaned_data)
            except DomainError as exc:
                forms.apply_error(form, exc)
                status = _status(exc)
            else:
                messages.success(request, _("The survey was created. Add its questions, then open it."))
                return redirect("surveys:staff_survey", code=survey.code)
        else:
            status = 422
    return render(
        request,
        "surveys/staff/list.html",
        {"surveys": selectors.surveys(city), "form": form, "may_manage": may_manage},
        status=status,
    )


def _builder(request, city, survey, *, form=None, question_form=None, status=200):
    initial = {
        f: getattr(survey, f)
        for f in (
            "title_vi",
            "title_en",
            "intro_vi",
            "intro_en",
            "audience",
            "anonymous_results",
            "opens_at",
            "closes_at",
        )
    }
    return render(
        request,
        "surveys/staff/survey.html",
        {
            "survey": survey,
            "questions": list(survey.questions.order_by("order", "pk")),
            "form": form or forms.SurveyEditForm(initial=initial),
            "question_form": question_form or forms.QuestionForm(),
            "may_manage": can(request.user, MANAGE, city),
            "is_draft": survey.status == Survey.Status.DRAFT,
            "response_count": survey.responses.count(),
        },
        status=status,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page
def staff_survey(request, city, code):
    survey = _survey_or_404(city, code, staff=True)
    if request.method != "POST":
        return _builder(request, city, survey)
    _manager(request, city)
    form = forms.SurveyEditForm(request.POST)
    if not form.is_valid():
        return _builder(request, city, survey, form=form, status=422)
    changes = dict(form.cleaned_data)
    if survey.status != Survey.Status.DRAFT:
        changes.pop("audience"), changes.pop("anonymous_results")
    try:
        services.survey_update(actor=request.user, survey=survey, **changes)
    except DomainError as exc:
        forms.apply_error(form, exc)
        return _builder(request, city, survey, form=form, status=_status(exc))
    messages.success(request, _("The survey was saved."))
    return redirect("surveys:staff_survey", code=survey.code)


@require_POST
@staff_page
def staff_question_add(request, city, code):
    survey = _survey_or_404(city, code, staff=True)
    _manager(request, city)
    form = forms.QuestionForm(request.POST)
    if not form.is_valid():
        return _builder(request, city, survey, question_form=form, status=422)
    data = dict(form.cleaned_data)
    data["choices"] = form.parsed_choices()
    try:
        services.question_add(actor=request.user, survey=survey, **data)
    except DomainError as exc:
        forms.apply_error(form, exc)
        return _builder(request, city, survey, question_form=form, status=_status(exc))
    messages.success(request, _("The question was added."))
    return redirect("surveys:staff_survey", code=survey.code)


def _question(survey: Survey, pk: int) -> Question:
    question = survey.questions.filter(pk=pk).first()
    if question is None:
        raise Http404
    return question


def _done_or_error(request, city, survey, call) -> HttpResponse:
    """Run a builder action; a refusal is shown on the builder with its 4xx status."""
    try:
        call()
    except DomainError as exc:
        messages.error(request, exc.message)
        survey.refresh_from_db()
        return _builder(request, city, survey, status=_status(exc))
    return redirect("surveys:staff_survey", code=survey.code)


@require_POST
@staff_page
def staff_question_delete(request, city, code, pk):
    survey = _survey_or_404(city, code, staff=True)
    _manager(request, city)
    question = _question(survey, pk)
    return _done_or_error(
        request, city, survey, lambda: services.question_delete(actor=request.user, question=question)
    )


@require_POST
@staff_page
def staff_question_move(request, city, code, pk):
    survey = _survey_or_404(city, code, staff=True)
    _manager(request, city)
    question = _question(survey, pk)
    ids = list(survey.questions.order_by("order", "pk").values_list("pk", flat=True))
    i = ids.index(question.pk)
    j = i - 1 if request.POST.get("direction") == "up" else i + 1
    if 0 <= j < len(ids):
        ids[i], ids[j] = ids[j], ids[i]
    return _done_or_error(
        request,
        city,
        survey,
        lambda: services.questions_reorder(actor=request.user, survey=survey, order=ids),
    )


@require_POST
@staff_page
def staff_status(request, city, code):
    survey = _survey_or_404(city, code, staff=True)
    _manager(request, city)
    action = request.POST.get("action")
    if action == "open":
        return _done_or_error(
            request, city, survey, lambda: services.survey_open(actor=request.user, survey=survey)
        )
    if action == "close":
        return _done_or_error(
            request, city, survey, lambda: services.survey_close(actor=request.user, survey=survey)
        )
    return HttpResponse(_("Unknown action."), status=400)


def _chart(bars: list[dict[str, Any]]) -> dict[str, Any]:
    """Geometry of a horizontal bar chart drawn as inline SVG (attributes, no style)."""
    row, label_w, bar_w = 26, 170, 300
    rows = []
    for i, b in enumerate(bars):
        rows.append(
            {
                **b,
                "y": i * row,
                "text_y": i * row + 17,
                "w": round(bar_w * b["width"] / 100.0, 1),
                "value_x": label_w + round(bar_w * b["width"] / 100.0, 1) + 6,
            }
        )
    return {
        "rows": rows,
        "height": max(len(bars) * row, row),
        "label_w": label_w,
        "width": label_w + bar_w + 90,
    }


@require_safe
@staff_page
def staff_results(request, city, code):
    survey = _survey_or_404(city, code, staff=True)
    found = selectors.results(survey)
    for item in found["questions"]:
        if "bars" in item:
            item["chart"] = _chart(item["bars"])
    return render(request, "surveys/staff/results.html", {**found, "min_group": selectors.MIN_GROUP})


@require_safe
@staff_page
def staff_export(request, city, code):
    survey = _survey_or_404(city, code, staff=True)
    body = selectors.export_csv(survey)
    audit.record(
        actor=request.user,
        action=AuditEvent.Action.EXPORT,
        obj=survey,
        city=city,
        summary=survey.title_vi,
        request=request,
    )
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="survey-{survey.code}.csv"'
    return response
