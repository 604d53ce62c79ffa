"""Staff pages of the programme under /programme/staff/: the overview, the plan editor with its status
transitions and versions, and one page per part of the plan (team, SWOT board, assessment, risks with
their 5×5 matrix, stakeholders on the influence × interest grid and their commitments, goals and
targets, projects, the Gantt timeline, vendor concentration, challenges, training, cooperation) with
its list and its "add" form, a project's page with its parts (contributions to goals, budget, phases,
milestones, partners, alternatives, risks, lessons), a generic edit and delete for every row, and the
exports (CSV/XLSX per table, the plan's print view).

Thin: a form in, one service or selector, a template out. Every staff member of the city reads
everything (`programme.view`); the council (`programme.edit`) edits; a project's parts are also edited
by the managers and staff of its responsible agency (`selectors.can_update_project`). The services check
all of it again; what they refuse is shown on the form (4xx, nothing stored).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

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
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from dothi.core.cities import page_city
from dothi.core.errors import DomainError
from dothi.core.permissions import can
from dothi.programme import exports, forms, selectors, services
from dothi.programme import models as m

PAGE_SIZE = 25


def _status(exc: DomainError) -> int:
    return exc.status if 400 <= exc.status < 500 else 400


def staff_page(view):
    """A staff page: signed in (else the staff sign-in page), reading the programme of the city
    (`programme.view`, else 403); the view runs in the city's time zone and gets the city."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("identity:staff_signin"))
        city = page_city(request)
        if not can(request.user, "programme.view", city):
            raise PermissionDenied(_("You do not have permission to do this."))
        with timezone.override(ZoneInfo(city.time_zone or settings.TIME_ZONE)):
            return view(request, city, *args, **kwargs)

    return wrapped


def _may_edit(request, city) -> bool:
    return can(request.user, "programme.edit", city)


def _programme(city):
    """The programme staff work on, or None when the city has none yet."""
    try:
        return selectors.programme_of(city)
    except DomainError:
        return None


def _no_programme(request, city):
    return render(
        request,
        "programme/staff/none.html",
        {"may_edit": _may_edit(request, city), "nav": "home"},
        status=404 if request.method != "GET" else 200,
    )


def _project(programme, code: str) -> m.Project:
    project = m.Project.objects.filter(programme=programme, code=code).select_related("agency").first()
    if project is None:
        raise Http404
    return project


def _refuse(form, exc) -> int:
    if isinstance(exc, DomainError):
        forms.apply_error(form, exc)
        return _status(exc)
    form.add_error(None, str(exc) or _("You do not have permission to do this."))
    return 403


# --- Sections: one per model the staff pages list, add to, edit and delete ---------------------------


@dataclass(frozen=True)
class Column:
    label: Any
    value: Any  # a field or property name, or a callable(obj)


@dataclass(frozen=True)
class Section:
    key: str
    model: type
    form: type
    title: Any
    columns: tuple[Column, ...]
    parent: str = "programme"  # "programme" | "project"
    page: str = ""  # URL name of the section's page (programme-level sections)
    empty: Any = ""
    extra: dict = field(default_factory=dict)


def _col(label, value) -> Column:
    return Column(label, value)


def _display(obj, name):
    if callable(name):
        return name(obj)
    getter = getattr(obj, f"get_{name}_display", None)
    value = getter() if getter else getattr(obj, name, "")
    if value is True:
        return _("yes")
    if value is False:
        return _("no")
    return "—" if value in (None, "") else value


def _service_model(model) -> str:
    return model.__name__


TITLE = _col(gettext_lazy("Title"), "title")

SECTIONS: dict[str, Section] = {
    s.key: s
    for s in [
        Section(
            "team",
            m.TeamMember,
            forms.TeamMemberForm,
            gettext_lazy("Steering team"),
            (
                _col(gettext_lazy("Name"), "name"),
                _col(gettext_lazy("Role"), "role"),
                _col(gettext_lazy("Position"), "position"),
                _col(gettext_lazy("Organisation"), "organisation"),
            ),
            page="programme:staff_team",
            empty=gettext_lazy("No team member yet."),
        ),
        Section(
            "swot",
            m.SwotItem,
            forms.SwotItemForm,
            gettext_lazy("SWOT board"),
            (_col(gettext_lazy("Quadrant"), "quadrant"), _col(gettext_lazy("Text"), "text_vi")),
            page="programme:staff_swot",
            empty=gettext_lazy("The SWOT board is empty."),
        ),
        Section(
            "assessment",
            m.AssessmentItem,
            forms.AssessmentItemForm,
            gettext_lazy("Current-state assessment"),
            (
                _col(pgettext_lazy("assessment", "Area"), "area"),
                _col(gettext_lazy("Question"), "question_vi"),
                _col(gettext_lazy("Score"), "score"),
                _col(gettext_lazy("Evidence"), "evidence"),
            ),
            page="programme:staff_assessment",
            empty=gettext_lazy("No assessment question yet."),
        ),
        Section(
            "risks",
            m.Risk,
            forms.RiskForm,
            gettext_lazy("Risk register"),
            (
                _col(gettext_lazy("Risk"), "title_vi"),
                _col(gettext_lazy("Likelihood"), "likelihood"),
                _col(gettext_lazy("Impact"), "impact"),
                _col(gettext_lazy("Score"), "score"),
                _col(gettext_lazy("Project"), "project"),
                _col(gettext_lazy("Owner"), "owner"),
                _col(gettext_lazy("Status"), "status"),
            ),
            page="programme:staff_risks",
            empty=gettext_lazy("No risk is registered."),
        ),
        Section(
            "stakeholders",
            m.Stakeholder,
            forms.StakeholderForm,
            gettext_lazy("Stakeholders"),
            (
                _col(gettext_lazy("Name"), "name"),
                _col(gettext_lazy("Kind"), "kind"),
                _col(gettext_lazy("Influence"), "influence"),
                _col(gettext_lazy("Interest"), "interest"),
                _col(pgettext_lazy("programme", "Published"), "is_published"),
            ),
            page="programme:staff_stakeholders",
            empty=gettext_lazy("No stakeholder yet."),
        ),
        Section(
            "commitments",
            m.Commitment,
            forms.CommitmentForm,
            gettext_lazy("Commitments"),
            (
                _col(gettext_lazy("Stakeholder"), "stakeholder"),
                _col(gettext_lazy("Commitment"), "text_vi"),
                _col(gettext_lazy("Due on"), "due_on"),
                _col(gettext_lazy("Status"), "status"),
            ),
            page="programme:staff_stakeholders",
            empty=gettext_lazy("No commitment yet."),
        ),
        Section(
            "goals",
            m.Goal,
            forms.GoalForm,
            gettext_lazy("Goals"),
            (
                _col(gettext_lazy("Code"), "code"),
                TITLE,
                _col(gettext_lazy("Progress (%)"), lambda o: f"{o.progress:.0f}"),
                _col(pgettext_lazy("programme", "Published"), "is_published"),
            ),
            page="programme:staff_goals",
            empty=gettext_lazy("No goal yet."),
        ),
        Section(
            "targets",
            m.Target,
            forms.TargetForm,
            gettext_lazy("Targets"),
            (
                _col(gettext_lazy("Goal"), lambda o: o.goal.code),
                _col(gettext_lazy("Target"), "label_vi"),
                _col(gettext_lazy("Indicator"), "kpi_code"),
                _col(gettext_lazy("Baseline"), lambda o: f"{o.baseline_value:g} ({o.baseline_year})"),
                _col(gettext_lazy("Target value"), lambda o: f"{o.target_value:g} {o.unit}".strip()),
                _col(gettext_lazy("Deadline"), "deadline"),
            ),
            page="programme:staff_goals",
            empty=gettext_lazy("No target yet."),
        ),
        Section(
            "projects",
            m.Project,
            forms.ProjectForm,
            gettext_lazy("Projects"),
            (),
            page="programme:staff_projects",
            empty=gettext_lazy("No project yet."),
        ),
        Section(
            "challenges",
            m.Challenge,
            forms.ChallengeForm,
            gettext_lazy("Innovation challenges"),
            (
                _col(gettext_lazy("Code"), "code"),
                TITLE,
                _col(gettext_lazy("Opens on"), "opens_on"),
                _col(gettext_lazy("Closes on"), "closes_on"),
                _col(gettext_lazy("Status"), "status"),
            ),
            page="programme:staff_challenges",
            empty=gettext_lazy("No challenge yet."),
        ),
        Section(
            "courses",
            m.TrainingCourse,
            forms.TrainingCourseForm,
            gettext_lazy("Training courses"),
            (
                _col(gettext_lazy("Course"), "title_vi"),
                _col(gettext_lazy("Provider"), "provider"),
                _col(gettext_lazy("Starts on"), "starts_on"),
                _col(gettext_lazy("Ends on"), "ends_on"),
                _col(gettext_lazy("Hours"), "hours"),
            ),
            page="programme:staff_training",
            empty=gettext_lazy("No course yet."),
        ),
        Section(
            "cooperation",
            m.Cooperation,
            forms.CooperationForm,
            gettext_lazy("International cooperation"),
            (
                _col(gettext_lazy("Kind"), "kind"),
                _col(gettext_lazy("Partner"), "partner"),
                _col(gettext_lazy("Title"), "title_vi"),
                _col(gettext_lazy("Since"), "since"),
                _col(pgettext_lazy("programme", "Published"), "is_published"),
            ),
            page="programme:staff_cooperation",
            empty=gettext_lazy("No cooperation yet."),
        ),
        # The parts of a project (edited by the council and by the project's agency).
        Section(
            "contribution",
            m.GoalProject,
            forms.GoalProjectForm,
            gettext_lazy("Contributes to goals"),
            (_col(gettext_lazy("Goal"), "goal"), _col(gettext_lazy("Weight"), "weight")),
            parent="project",
            empty=gettext_lazy("The project contributes to no goal yet."),
        ),
        Section(
            "budget",
            m.BudgetLine,
            forms.BudgetLineForm,
            gettext_lazy("Budget"),
            (
                _col(gettext_lazy("Year"), "year"),
                _col(pgettext_lazy("budget", "Source"), "source"),
                _col(gettext_lazy("Kind"), "kind"),
                _col(gettext_lazy("Planned (VND)"), "planned_vnd"),
                _col(gettext_lazy("Disbursed (VND)"), "disbursed_vnd"),
            ),
            parent="project",
            empty=gettext_lazy("No budget line yet."),
        ),
        Section(
            "phase",
            m.Phase,
            forms.PhaseForm,
            gettext_lazy("Phases"),
            (
                _col(gettext_lazy("Phase"), "name"),
                _col(gettext_lazy("Kind"), "kind"),
                _col(gettext_lazy("Starts on"), "starts_on"),
                _col(gettext_lazy("Ends on"), "ends_on"),
            ),
            parent="project",
            empty=gettext_lazy("No phase yet."),
        ),
        Section(
            "milestone",
            m.Milestone,
            forms.MilestoneForm,
            gettext_lazy("Milestones"),
            (
                _col(gettext_lazy("Milestone"), "title"),
                _col(gettext_lazy("Due on"), "due_on"),
                _col(gettext_lazy("Done on"), "done_on"),
                _col(gettext_lazy("Weight"), "weight"),
                _col(gettext_lazy("Progress (%)"), "progress"),
            ),
            parent="project",
            empty=gettext_lazy("No milestone yet."),
        ),
        Section(
            "partner",
            m.ProjectPartner,
            forms.ProjectPartnerForm,
            gettext_lazy("Partners"),
            (
                _col(gettext_lazy("Organisation"), "organisation"),
                _col(gettext_lazy("Role"), "role"),
                _col(gettext_lazy("Value (VND)"), "value_vnd"),
                _col(gettext_lazy("Services"), "services"),
            ),
            parent="project",
            empty=gettext_lazy("No partner yet."),
        ),
        Section(
            "project_risk",
            m.Risk,
            forms.ProjectRiskForm,
            gettext_lazy("Risks of the project"),
            (
                _col(gettext_lazy("Risk"), "title_vi"),
                _col(gettext_lazy("Score"), "score"),
                _col(gettext_lazy("Status"), "status"),
            ),
            parent="project",
            empty=gettext_lazy("No risk is registered for this project."),
        ),
        Section(
            "lesson",
            m.Lesson,
            forms.LessonForm,
            gettext_lazy("Lessons learned"),
            (_col(gettext_lazy("Lesson"), "title"), _col(gettext_lazy("Shared"), "is_shared")),
            parent="project",
            empty=gettext_lazy("No lesson yet."),
        ),
    ]
}

PROJECT_PARTS = ("contribution", "budget", "phase", "milestone", "partner", "project_risk", "lesson")
# What the project's agency (not the council) adds, and edits, on its own projects (as the services allow:
# a budget line's disbursement, not its plan).
AGENCY_ADDS = frozenset({"phase", "milestone", "project_risk", "lesson"})
AGENCY_EDITS = AGENCY_ADDS | {"budget"}


def _section(key: str) -> Section:
    section = SECTIONS.get(key)
    if section is None:
        raise Http404
    return section


def _queryset(section: Section, programme, project=None):
    model = section.model
    if section.key == "contribution":
        return m.GoalProject.objects.filter(project=project).select_related("goal")
    if section.key == "project_risk":
        return m.Risk.objects.filter(programme=programme, project=project)
    if section.parent == "project":
        return model.objects.filter(project=project)
    if section.key == "targets":
        return m.Target.objects.filter(goal__programme=programme).select_related("goal")
    if section.key == "commitments":
        return m.Commitment.objects.filter(stakeholder__programme=programme).select_related("stakeholder")
    return model.objects.filter(programme=programme)


def _owner(obj) -> tuple[m.Programme, m.Project | None]:
    """The programme and project a row belongs to."""
    if isinstance(obj, m.GoalProject):
        return obj.project.programme, obj.project
    if isinstance(obj, m.Target):
        return obj.goal.programme, None
    if isinstance(obj, m.Commitment):
        return obj.stakeholder.programme, None
    project = getattr(obj, "project", None) if not isinstance(obj, m.Project) else obj
    programme = getattr(obj, "programme", None) or project.programme
    return programme, project


def _may_change(request, city, section: Section, project) -> bool:
    if section.parent == "project" and project is not None:
        if _may_edit(request, city):
            return True
        return section.key in AGENCY_EDITS and selectors.can_update_project(request.user, project)
    return _may_edit(request, city)


def _rows(request, city, section: Section, objects, project=None) -> list[dict]:
    may = _may_change(request, city, section, project)
    rows = []
    for obj in objects:
        rows.append(
            {
                "obj": obj,
                "cells": [_display(obj, c.value) for c in section.columns],
                "edit_url": reverse("programme:staff_item_edit", args=[section.key, obj.pk]) if may else "",
                "delete_url": reverse("programme:staff_item_delete", args=[section.key, obj.pk])
                if may
                else "",
            }
        )
    return rows


def _create(request, city, section: Section, form, programme, project=None):
    fields = form.service_fields()
    if section.key == "lesson":
        return services.lesson_save(actor=request.user, project=project, **fields)
    if section.parent == "project":
        fields["project"] = project
        if section.key == "project_risk":
            fields["programme"] = programme
    elif section.key not in ("targets", "commitments"):
        fields["programme"] = programme
    return services.create(actor=request.user, model=_service_model(section.model), city=city, **fields)


def _section_context(request, city, programme, key: str, form=None, page=None) -> dict:
    section = _section(key)
    objects = _queryset(section, programme)
    paged = Paginator(objects, PAGE_SIZE).get_page(request.GET.get(f"{key}_page") if page is None else page)
    may = _may_edit(request, city)
    return {
        "section": section,
        "rows": _rows(request, city, section, paged.object_list),
        "page": paged,
        "page_param": f"{key}_page",
        "form": (form or section.form(city=city, programme=programme)) if may else None,
        "add_url": reverse("programme:staff_add", args=[key]),
    }


def _section_page(
    request,
    city,
    keys: tuple[str, ...],
    *,
    nav: str,
    title,
    template="programme/staff/section.html",
    extra: dict | None = None,
    forms_by_key: dict | None = None,
    status: int = 200,
):
    programme = _programme(city)
    if programme is None:
        return _no_programme(request, city)
    forms_by_key = forms_by_key or {}
    context = {
        "programme": programme,
        "nav": nav,
        "title": title,
        "may_edit": _may_edit(request, city),
        "sections": [_section_context(request, city, programme, k, forms_by_key.get(k)) for k in keys],
        **(extra(programme) if callable(extra) else (extra or {})),
    }
    return render(request, template, context, status=status)


# The pages of sections, and which sections each shows.
PAGES = {
    "team": (("team",), gettext_lazy("Steering team"), "programme/staff/section.html", None),
    "swot": (("swot",), gettext_lazy("SWOT board"), "programme/staff/swot.html", None),
    "assessment": (
        ("assessment",),
        gettext_lazy("Current-state assessment"),
        "programme/staff/section.html",
        None,
    ),
    "risks": (("risks",), gettext_lazy("Risk register"), "programme/staff/risks.html", "risk_matrix"),
    "stakeholders": (
        ("stakeholders", "commitments"),
        gettext_lazy("Stakeholders and commitments"),
        "programme/staff/stakeholders.html",
        "stakeholder_map",
    ),
    "goals": (("goals", "targets"), gettext_lazy("Goals and targets"), "programme/staff/section.html", None),
    "challenges": (
        ("challenges",),
        gettext_lazy("Innovation challenges"),
        "programme/staff/section.html",
        None,
    ),
    "cooperation": (
        ("cooperation",),
        gettext_lazy("International cooperation"),
        "programme/staff/section.html",
        None,
    ),
}
SECTION_PAGE = {key: page for page, (keys, *_rest) in PAGES.items() for key in keys}
SECTION_PAGE.update({"courses": "training", "projects": "projects"})


def _swot_board(programme) -> dict:
    items = list(m.SwotItem.objects.filter(programme=programme))
    return {
        "board": [
            {"quadrant": value, "label": label, "items": [i for i in items if i.quadrant == value]}
            for value, label in m.SwotItem.Quadrant.choices
        ]
    }


def _page_extra(name: str):
    if name == "swot":
        return _swot_board
    selector = PAGES[name][3]
    if not selector:
        return None
    return lambda programme: {"extra": getattr(selectors, selector)(programme)}


def _render_page(request, city, name: str, forms_by_key=None, status=200):
    if name == "training":
        return _training(request, city, forms_by_key=forms_by_key, status=status)
    if name == "projects":
        return _projects(request, city, form=(forms_by_key or {}).get("projects"), status=status)
    keys, title, template, _sel = PAGES[name]
    return _section_page(
        request,
        city,
        keys,
        nav=name,
        title=title,
        template=template,
        extra=_page_extra(name),
        forms_by_key=forms_by_key,
        status=status,
    )


def _page_view(name: str):
    @require_safe
    @staff_page
    def view(request, city):
        return _render_page(request, city, name)

    view.__name__ = f"staff_{name}"
    view.__doc__ = f"The {name} page: its list(s) and, for the council, the forms to add."
    return view


staff_team = _page_view("team")
staff_swot = _page_view("swot")
staff_assessment = _page_view("assessment")
staff_risks = _page_view("risks")
staff_stakeholders = _page_view("stakeholders")
staff_goals = _page_view("goals")
staff_challenges = _page_view("challenges")
staff_cooperation = _page_view("cooperation")


@require_POST
@staff_page
def staff_add(request, city, section):
    """Add a row to a programme-level section (the council); the page again with errors, or back."""
    section = _section(section)
    if section.parent != "programme":
        raise Http404
    if not _may_edit(request, city):
        raise PermissionDenied(_("You do not have permission to do this."))
    programme = _programme(city)
    if programme is None:
        return _no_programme(request, city)
    form = section.form(request.POST, request.FILES, city=city, programme=programme)
    page = SECTION_PAGE[section.key]
    if form.is_valid():
        try:
            obj = _create(request, city, section, form, programme)
        except (DomainError, PermissionDenied) as exc:
            status = _refuse(form, exc)
        else:
            messages.success(request, _("Saved."))
            if section.key == "projects":
                return redirect("programme:staff_project", code=obj.code)
            return redirect(section.page)
    else:
        status = 422
    return _render_page(request, city, page, forms_by_key={section.key: form}, status=status)


@require_POST
@staff_page
def staff_project_add(request, city, code, section):
    """Add a part to a project (the council, or the project's agency)."""
    section = _section(section)
    if section.parent != "project":
        raise Http404
    programme = _programme(city)
    if programme is None:
        return _no_programme(request, city)
    project = _project(programme, code)
    if not selectors.can_update_project(request.user, project):
        raise PermissionDenied(_("You do not have permission to do this."))
    form = section.form(request.POST, request.FILES, city=city, programme=programme, project=project)
    if form.is_valid():
        try:
            _create(request, city, section, form, programme, project)
        except (DomainError, PermissionDenied) as exc:
            status = _refuse(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(reverse("programme:staff_project", args=[project.code]) + f"#{section.key}")
    else:
        status = 422
    return _project_page(request, city, programme, project, forms_by_key={section.key: form}, status=status)


def _item(city, section: Section, pk: int):
    obj = section.model.objects.filter(pk=pk)
    obj = obj.filter(project__city=city) if section.key == "contribution" else obj.filter(city=city)
    obj = obj.first()
    if obj is None:
        raise Http404
    if section.key == "project_risk" and obj.project_id is None:
        raise Http404
    if section.parent == "project" and section.key not in ("project_risk",) and not hasattr(obj, "project"):
        raise Http404
    return obj


def _back(section: Section, obj) -> str:
    if section.parent == "project":
        _programme_of, project = _owner(obj)
        return reverse("programme:staff_project", args=[project.code]) + f"#{section.key}"
    if section.key == "projects":
        return reverse("programme:staff_project", args=[obj.code])
    return reverse(section.page)


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page
def staff_item_edit(request, city, section, pk):
    """Edit one row of any section (the council; a project's part also its agency)."""
    section = _section(section)
    obj = _item(city, section, pk)
    programme, project = _owner(obj)
    if not _may_change(request, city, section, project if section.parent == "project" else None):
        raise PermissionDenied(_("You do not have permission to do this."))
    form_kwargs = {"city": city, "programme": programme, "project": project, "instance": obj}
    status = 200
    if request.method == "POST":
        form = section.form(request.POST, request.FILES, **form_kwargs)
        if form.is_valid():
            fields = {k: v for k, v in form.service_fields().items() if k in form.changed_data}
            try:
                if section.key == "lesson":
                    services.lesson_save(actor=request.user, project=project, lesson=obj, **fields)
                else:
                    services.update(actor=request.user, obj=obj, **fields)
            except (DomainError, PermissionDenied) as exc:
                status = _refuse(form, exc)
            else:
                messages.success(request, _("Saved."))
                return redirect(_back(section, obj))
        else:
            status = 422
    else:
        form = section.form(**form_kwargs)
    return render(
        request,
        "programme/staff/item_form.html",
        {
            "form": form,
            "section": section,
            "obj": obj,
            "back_url": _back(section, obj),
            "nav": "",
            "programme": programme,
        },
        status=status,
    )


@require_POST
@staff_page
def staff_item_delete(request, city, section, pk):
    section = _section(section)
    obj = _item(city, section, pk)
    programme, project = _owner(obj)
    if not _may_change(request, city, section, project if section.parent == "project" else None):
        raise PermissionDenied(_("You do not have permission to do this."))
    back = _back(section, obj) if section.key != "projects" else reverse("programme:staff_projects")
    try:
        services.delete(actor=request.user, obj=obj)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    messages.success(request, _("Deleted."))
    return redirect(back)


# --- Overview, plan, versions ------------------------------------------------------------------------


@require_safe
@staff_page
def staff_home(request, city):
    programme = _programme(city)
    if programme is None:
        return _no_programme(request, city)
    return render(
        request,
        "programme/staff/home.html",
        {
            "programme": programme,
            "overview": selectors.overview(programme),
            "nav": "home",
            "may_edit": _may_edit(request, city),
        },
    )


def _plan_page(request, city, programme, *, form=None, transition=None, status=200):
    return render(
        request,
        "programme/staff/plan.html",
        {
            "programme": programme,
            "nav": "plan",
            "may_edit": _may_edit(request, city),
            "form": form
            or (
                forms.ProgrammeForm(city=city, instance=programme)
                if programme
                else forms.ProgrammeForm(city=city)
            ),
            "transition_form": transition or forms.TransitionForm(),
            "version_form": forms.VersionForm(),
        },
        status=status,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page
def staff_plan(request, city):
    """The plan editor: the programme's texts and period (creates the programme when there is none)."""
    programme = _programme(city)
    if request.method != "POST":
        if programme is None and not _may_edit(request, city):
            return _no_programme(request, city)
        return _plan_page(request, city, programme)
    if not _may_edit(request, city):
        raise PermissionDenied(_("You do not have permission to do this."))
    form = forms.ProgrammeForm(request.POST, city=city, instance=programme)
    if not form.is_valid():
        return _plan_page(request, city, programme, form=form, status=422)
    fields = form.service_fields()
    try:
        if programme is None:
            services.create(actor=request.user, model="Programme", city=city, **fields)
        else:
            fields = {k: v for k, v in fields.items() if k in form.changed_data}
            services.update(actor=request.user, obj=programme, **fields)
    except (DomainError, PermissionDenied) as exc:
        return _plan_page(request, city, programme, form=form, status=_refuse(form, exc))
    messages.success(request, _("The plan is saved."))
    return redirect("programme:staff_plan")


@require_POST
@staff_page
def staff_plan_status(request, city):
    """Move the plan to another status (approving needs the decision's number and date)."""
    if not _may_edit(request, city):
        raise PermissionDenied(_("You do not have permission to do this."))
    programme = _programme(city)
    if programme is None:
        return _no_programme(request, city)
    form = forms.TransitionForm(request.POST)
    if not form.is_valid():
        return _plan_page(request, city, programme, transition=form, status=422)
    try:
        services.programme_transition(actor=request.user, programme=programme, **form.cleaned_data)
    except (DomainError, PermissionDenied) as exc:
        return _plan_page(request, city, programme, transition=form, status=_refuse(form, exc))
    messages.success(request, _("The plan's status is changed."))
    return redirect("programme:staff_plan")


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page
def staff_versions(request, city):
    """The plan's versions (immutable snapshots); the council saves a new one."""
    programme = _programme(city)
    if programme is None:
        return _no_programme(request, city)
    form = forms.VersionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not _may_edit(request, city):
            raise PermissionDenied(_("You do not have permission to do this."))
        if form.is_valid():
            try:
                version = services.plan_version_save(
                    actor=request.user, programme=programme, note=form.cleaned_data["note"]
                )
            except (DomainError, PermissionDenied) as exc:
                status = _refuse(form, exc)
            else:
                messages.success(request, _("Version %(number)d is saved.") % {"number": version.number})
                return redirect("programme:staff_versions")
        else:
            status = 422
    page = Paginator(
        m.PlanVersion.objects.filter(programme=programme).select_related("created_by"), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "programme/staff/versions.html",
        {
            "programme": programme,
            "page": page,
            "form": form,
            "nav": "plan",
            "may_edit": _may_edit(request, city),
        },
        status=status,
    )


# --- Projects ----------------------------------------------------------------------------------------


def _projects(request, city, *, form=None, status=200):
    programme = _programme(city)
    if programme is None:
        return _no_programme(request, city)
    projects = m.Project.objects.filter(programme=programme).select_related("agency")
    may = _may_edit(request, city)
    return render(
        request,
        "programme/staff/projects.html",
        {
            "programme": programme,
            "nav": "projects",
            "may_edit": may,
            "page": Paginator(projects, PAGE_SIZE).get_page(request.GET.get("page")),
            "form": (form or forms.ProjectForm(city=city, programme=programme)) if may else None,
            "add_url": reverse("programme:staff_add", args=["projects"]),
        },
        status=status,
    )


@require_safe
@staff_page
def staff_projects(request, city):
    return _projects(request, city)


def _project_page(request, city, programme, project, *, forms_by_key=None, alternative=None, status=200):
    forms_by_key = forms_by_key or {}
    may = selectors.can_update_project(request.user, project)
    council = _may_edit(request, city)
    parts = []
    for key in PROJECT_PARTS:
        section = SECTIONS[key]
        objects = _queryset(section, programme, project)
        adds = may and (council or key in AGENCY_ADDS)
        parts.append(
            {
                "section": section,
                "rows": _rows(request, city, section, objects, project),
                "form": (
                    forms_by_key.get(key) or section.form(city=city, programme=programme, project=project)
                )
                if adds
                else None,
                "add_url": reverse("programme:staff_project_add", args=[project.code, key]),
            }
        )
    alternatives = [
        {"index": i, **a} for i, a in enumerate(project.alternatives or []) if isinstance(a, dict)
    ]
    return render(
        request,
        "programme/staff/project.html",
        {
            "programme": programme,
            "project": project,
            "nav": "projects",
            "may_update": may,
            "may_edit": _may_edit(request, city),
            "parts": parts,
            "alternatives": alternatives,
            "alternative_form": alternative or forms.AlternativeForm(),
            "budget_planned": sum(b.planned_vnd for b in project.budget.all()),
            "budget_disbursed": sum(b.disbursed_vnd for b in project.budget.all()),
        },
        status=status,
    )


@require_safe
@staff_page
def staff_project(request, city, code):
    programme = _programme(city)
    if programme is None:
        return _no_programme(request, city)
    return _project_page(request, city, programme, _project(programme, code))


@require_POST
@staff_page
def staff_project_alternatives(request, city, code):
    """Add a technology alternative (`action=add`) or remove one (`action=remove`, `index`)."""
    programme = _programme(city)
    if programme is None:
        return _no_programme(request, city)
    project = _project(programme, code)
    if not _may_edit(request, city):
        raise PermissionDenied(_("You do not have permission to do this."))
    alternatives = [a for a in (project.alternatives or []) if isinstance(a, dict)]
    form = forms.AlternativeForm(request.POST)
    if request.POST.get("action") == "remove":
        try:
            index = int(request.POST.get("index", ""))
            alternatives.pop(index)
        except (ValueError, IndexError):
            return HttpResponse(_("There is no such alternative."), status=400)
    elif form.is_valid():
        alternatives.append(form.cleaned_data)
    else:
        return _project_page(request, city, programme, project, alternative=form, status=422)
    try:
        services.update(actor=request.user, obj=project, alternatives=alternatives)
    except (DomainError, PermissionDenied) as exc:
        return _project_page(request, city, programme, project, alternative=form, status=_refuse(form, exc))
    messages.success(request, _("Saved."))
    return redirect(reverse("programme:staff_project", args=[project.code]) + "#alternatives")


# --- Timeline, vendors, training ---------------------------------------------------------------------


@require_safe
@staff_page
def staff_timeline(request, city):
    """The Gantt view: projects and their phases as bars over the programme's period."""
    programme = _programme(city)
    if programme is None:
        return _no_programme(request, city)
    return render(
        request,
        "programme/staff/timeline.html",
        {"programme": programme, "timeline": selectors.timeline(programme), "nav": "timeline"},
    )


@require_safe
@staff_page
def staff_vendors(request, city):
    """Vendor concentration per domain (shares, Herfindahl index, the warning)."""
    programme = _programme(city)
    if programme is None:
        return _no_programme(request, city)
    return render(
        request,
        "programme/staff/vendors.html",
        {"programme": programme, "domains": selectors.vendor_concentration(programme), "nav": "vendors"},
    )


def _training(request, city, *, forms_by_key=None, status=200):
    forms_by_key = forms_by_key or {}
    programme = _programme(city)
    if programme is None:
        return _no_programme(request, city)
    may = _may_edit(request, city)
    completions = (
        m.TrainingCompletion.objects.filter(course__programme=programme)
        .select_related("course", "user", "organisation")
        .order_by("-completed_on", "pk")
    )
    return render(
        request,
        "programme/staff/training.html",
        {
            "programme": programme,
            "nav": "training",
            "may_edit": may,
            "sections": [_section_context(request, city, programme, "courses", forms_by_key.get("courses"))],
            "completions": Paginator(completions, PAGE_SIZE).get_page(request.GET.get("page")),
            "completion_form": (
                forms_by_key.get("completion") or forms.CompletionForm(city=city, programme=programme)
            )
            if may
            else None,
        },
        status=status,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page
def staff_training(request, city):
    """Courses and who completed them; POST records a completion (the council)."""
    if request.method != "POST":
        return _training(request, city)
    if not _may_edit(request, city):
        raise PermissionDenied(_("You do not have permission to do this."))
    programme = _programme(city)
    if programme is None:
        return _no_programme(request, city)
    form = forms.CompletionForm(request.POST, city=city, programme=programme)
    if form.is_valid():
        try:
            services.training_complete(actor=request.user, **form.cleaned_data)
        except (DomainError, PermissionDenied) as exc:
            status = _refuse(form, exc)
        else:
            messages.success(request, _("The completion is recorded."))
            return redirect("programme:staff_training")
    else:
        status = 422
    return _training(request, city, forms_by_key={"completion": form}, status=status)


# --- Exports -----------------------------------------------------------------------------------------


@require_safe
@staff_page
def staff_exports(request, city):
    programme = _programme(city)
    if programme is None:
        return _no_programme(request, city)
    return render(
        request,
        "programme/staff/exports.html",
        {
            "programme": programme,
            "tables": [(key, spec[0]) for key, spec in exports.TABLES.items()],
            "nav": "exports",
        },
    )


@require_safe
@staff_page
def staff_export(request, city, table, fmt):
    """One table as CSV or XLSX."""
    if table not in exports.TABLES or fmt not in ("csv", "xlsx"):
        raise Http404
    programme = _programme(city)
    if programme is None:
        raise Http404
    label, rows, columns = exports.table(programme, table)
    filename = f"{programme.code}-{table}.{fmt}"
    if fmt == "csv":
        response = HttpResponse(exports.table_csv(rows, columns), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(
            exports.table_xlsx(rows, columns, label),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_safe
@staff_page
def staff_plan_print(request, city):
    """The whole plan (published or not) as the print view."""
    programme = _programme(city)
    if programme is None:
        raise Http404
    return HttpResponse(exports.plan_html(programme, public=False))
