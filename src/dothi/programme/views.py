"""Public pages of the programme under /programme/: the transparency page (what the city chose to publish:
vision, goals with progress, published projects with their budget totals, the timeline, cooperation), a
published project's page, the print-ready plan (its public part) and the shared lessons with search.

Reads only through the selectors with `public=True`; nothing unpublished reaches these pages. A city
without a published programme gets a page saying so (not an error).
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django.views.decorators.http import require_safe

from dothi.core.cities import page_city
from dothi.core.errors import DomainError
from dothi.core.models import localised
from dothi.programme import exports, forms, selectors

LESSONS_PAGE_SIZE = 20


def _published(city):
    try:
        return selectors.programme_of(city, public=True)
    except DomainError:
        return None


@require_safe
def public(request):
    """The transparency page."""
    city = page_city(request)
    programme = _published(city)
    if programme is None:
        return render(request, "programme/public.html", {"programme": None})
    doc = selectors.plan_document(programme, public=True)
    for item in doc["cooperation"]:
        item["title"] = localised(item["title_vi"], item["title_en"])
    for goal in doc["goals"]:
        goal["description"] = localised(goal["description_vi"], goal["description_en"])
    texts = doc["programme"]
    return render(
        request,
        "programme/public.html",
        {
            "programme": programme,
            "doc": doc,
            "vision": localised(texts["vision_vi"], texts["vision_en"]),
            "principles": localised(texts["principles_vi"], texts["principles_en"]),
            "scope": localised(texts["scope_vi"], texts["scope_en"]),
            "totals": doc["budget"]["total"],
            "timeline": selectors.timeline(programme, public=True),
        },
    )


@require_safe
def project(request, code):
    """A published project: phases, milestones, budget totals, partners, goals, shared lessons."""
    city = page_city(request)
    try:
        detail = selectors.project_detail(city, code, public=True)
    except DomainError:
        raise Http404
    project = detail["project"]
    return render(
        request,
        "programme/project.html",
        {**detail, "solution": localised(project.solution_vi, project.solution_en)},
    )


@require_safe
def plan(request):
    """The print-ready master plan: its public part."""
    city = page_city(request)
    programme = _published(city)
    if programme is None:
        raise Http404
    return HttpResponse(exports.plan_html(programme, public=True))


@require_safe
def lessons(request):
    """Lessons learned the city shares, and those other cities share; searchable without accents."""
    city = page_city(request)
    form = forms.LessonSearchForm(request.GET or None)
    q = form.cleaned_data["q"] if form.is_valid() else ""
    found = selectors.lessons_search(city, q, public=True)
    page = Paginator(found, LESSONS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "programme/lessons.html",
        {"form": form, "q": q, "page": page, "query": urlencode({"q": q}) if q else ""},
    )
