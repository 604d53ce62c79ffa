"""Documents and tables of the programme module: the master plan as print-ready HTML (its own template
and print style sheet, no inline style or script: the content-security policy), and any table as CSV
or XLSX (openpyxl).

A table is rows (dicts) and columns ((key, label) pairs); `table(programme, name)` gives the rows and
columns of each table the staff exports page offers (`TABLES`). Cells that a spreadsheet would read as a
formula (starting with =, +, - or @) are written as text, so an exported name cannot run anything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.template.loader import render_to_string
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from dothi.core.errors import NotFound
from dothi.core.tables import Columns, table_csv, table_xlsx  # noqa: F401 - the module's exports
from dothi.programme import selectors
from dothi.programme.models import (
    BudgetLine,
    Commitment,
    Milestone,
    Programme,
    Project,
    Risk,
    Stakeholder,
    Target,
    TrainingCompletion,
)

# --- The master plan -----------------------------------------------------------------------------


def plan_html(programme: Programme, *, public: bool) -> str:
    """The master plan as one print-ready HTML page (templates/programme/plan_print.html, styled by
    static/programme/print.css); `public`: only what the city published (NotFound if the programme is
    not published)."""
    plan = selectors.plan_document(programme, public=public)
    return render_to_string(
        "programme/plan_print.html", {"plan": plan, "public": public, "programme": programme}
    )


# --- Tables --------------------------------------------------------------------------------------


# The tables themselves are written by dothi.core.tables (table_csv, table_xlsx).


# --- The tables the exports page offers ----------------------------------------------------------


def _projects(programme: Programme) -> list[dict]:
    budget: dict[int, dict] = {}
    for line in BudgetLine.objects.for_city(programme.city).filter(project__programme=programme):
        b = budget.setdefault(line.project_id, {"planned": 0, "disbursed": 0})
        b["planned"] += line.planned_vnd
        b["disbursed"] += line.disbursed_vnd
    qs = (
        Project.objects.for_city(programme.city)
        .filter(programme=programme)
        .select_related("agency", "scaled_from")
    )
    return [
        {
            "code": p.code,
            "title_vi": p.title_vi,
            "title_en": p.title_en,
            "kind": p.get_kind_display(),
            "domain": p.get_domain_display(),
            "agency": p.agency.name,
            "investment_model": p.get_investment_model_display(),
            "status": p.get_status_display(),
            "starts_on": p.starts_on,
            "ends_on": p.ends_on,
            "scaled_from": p.scaled_from.code if p.scaled_from else "",
            "progress": round(p.progress, 1),
            "planned_vnd": budget.get(p.pk, {}).get("planned", 0),
            "disbursed_vnd": budget.get(p.pk, {}).get("disbursed", 0),
            "is_published": p.is_published,
        }
        for p in qs
    ]


def _budget(programme: Programme) -> list[dict]:
    lines = (
        BudgetLine.objects.for_city(programme.city)
        .filter(project__programme=programme)
        .select_related("project")
        .order_by("year", "project__code", "source", "kind")
    )
    return [
        {
            "year": line.year,
            "project": line.project.code,
            "source": line.get_source_display(),
            "kind": line.get_kind_display(),
            "planned_vnd": line.planned_vnd,
            "disbursed_vnd": line.disbursed_vnd,
        }
        for line in lines
    ]


def _risks(programme: Programme) -> list[dict]:
    qs = Risk.objects.for_city(programme.city).filter(programme=programme).select_related("project", "owner")
    return [
        {
            "title_vi": r.title_vi,
            "title_en": r.title_en,
            "project": r.project.code if r.project else "",
            "likelihood": r.likelihood,
            "impact": r.impact,
            "score": r.score,
            "owner": r.owner.name if r.owner else "",
            "mitigation": r.mitigation,
            "status": r.get_status_display(),
        }
        for r in qs
    ]


def _stakeholders(programme: Programme) -> list[dict]:
    qs = Stakeholder.objects.for_city(programme.city).filter(programme=programme)
    return [
        {
            "name": s.name,
            "kind": s.get_kind_display(),
            "influence": s.influence,
            "interest": s.interest,
            "mechanisms": ", ".join(selectors._label(Stakeholder.Mechanism, m) for m in s.mechanisms or []),
            "note": s.note,
            "is_published": s.is_published,
        }
        for s in qs
    ]


def _commitments(programme: Programme) -> list[dict]:
    qs = (
        Commitment.objects.for_city(programme.city)
        .filter(stakeholder__programme=programme)
        .select_related("stakeholder", "project")
    )
    return [
        {
            "stakeholder": c.stakeholder.name,
            "text_vi": c.text_vi,
            "text_en": c.text_en,
            "project": c.project.code if c.project else "",
            "made_on": c.made_on,
            "due_on": c.due_on,
            "status": c.get_status_display(),
        }
        for c in qs
    ]


def _targets(programme: Programme) -> list[dict]:
    qs = Target.objects.for_city(programme.city).filter(goal__programme=programme).select_related("goal")
    return [
        {
            "goal": t.goal.code,
            "kpi_code": t.kpi_code,
            "label_vi": t.label_vi,
            "label_en": t.label_en,
            "unit": t.unit,
            "baseline_value": t.baseline_value,
            "baseline_year": t.baseline_year,
            "target_value": t.target_value,
            "deadline": t.deadline,
            "higher_is_better": t.higher_is_better,
        }
        for t in qs
    ]


def _milestones(programme: Programme) -> list[dict]:
    qs = (
        Milestone.objects.for_city(programme.city)
        .filter(project__programme=programme)
        .select_related("project", "phase")
        .order_by("project__code", "due_on", "pk")
    )
    return [
        {
            "project": m.project.code,
            "phase": m.phase.name if m.phase else "",
            "title_vi": m.title_vi,
            "title_en": m.title_en,
            "due_on": m.due_on,
            "done_on": m.done_on,
            "weight": m.weight,
            "progress": m.progress,
        }
        for m in qs
    ]


def _completions(programme: Programme) -> list[dict]:
    qs = (
        TrainingCompletion.objects.for_city(programme.city)
        .filter(course__programme=programme)
        .select_related("course", "user", "organisation")
        .order_by("course__starts_on", "completed_on", "pk")
    )
    return [
        {
            "course": c.course.title_vi,
            "person": c.user.display_name or c.user.username,
            "organisation": c.organisation.name if c.organisation else "",
            "completed_on": c.completed_on,
            "hours": c.course.hours,
        }
        for c in qs
    ]


TITLE_VI, TITLE_EN = _("Title (Vietnamese)"), _("Title (English)")
PROJECT = _("Project")

# name -> (sheet label, rows(programme), columns)
TABLES: dict[str, tuple[Any, Callable[[Programme], list[dict]], Columns]] = {
    "projects": (
        _("Projects"),
        _projects,
        [
            ("code", _("Code")),
            ("title_vi", TITLE_VI),
            ("title_en", TITLE_EN),
            ("kind", _("Kind")),
            ("domain", _("Domain")),
            ("agency", _("Responsible agency")),
            ("investment_model", _("Investment model")),
            ("status", _("Status")),
            ("starts_on", _("Starts on")),
            ("ends_on", _("Ends on")),
            ("scaled_from", _("Scales up")),
            ("progress", _("Progress (%)")),
            ("planned_vnd", _("Planned (VND)")),
            ("disbursed_vnd", _("Disbursed (VND)")),
            ("is_published", pgettext_lazy("programme", "Published")),
        ],
    ),
    "budget": (
        _("Budget"),
        _budget,
        [
            ("year", _("Year")),
            ("project", PROJECT),
            ("source", _("Funding source")),
            ("kind", _("Kind")),
            ("planned_vnd", _("Planned (VND)")),
            ("disbursed_vnd", _("Disbursed (VND)")),
        ],
    ),
    "risks": (
        _("Risks"),
        _risks,
        [
            ("title_vi", _("Risk (Vietnamese)")),
            ("title_en", _("Risk (English)")),
            ("project", PROJECT),
            ("likelihood", _("Likelihood (1–5)")),
            ("impact", _("Impact (1–5)")),
            ("score", _("Score")),
            ("owner", _("Owner")),
            ("mitigation", _("Mitigation")),
            ("status", _("Status")),
        ],
    ),
    "stakeholders": (
        _("Stakeholders"),
        _stakeholders,
        [
            ("name", _("Name")),
            ("kind", _("Kind")),
            ("influence", _("Influence (1–5)")),
            ("interest", _("Interest (1–5)")),
            ("mechanisms", _("Participation mechanisms")),
            ("note", _("Note")),
            ("is_published", pgettext_lazy("programme", "Published")),
        ],
    ),
    "commitments": (
        _("Commitments"),
        _commitments,
        [
            ("stakeholder", _("Stakeholder")),
            ("text_vi", _("Commitment (Vietnamese)")),
            ("text_en", _("Commitment (English)")),
            ("project", PROJECT),
            ("made_on", _("Made on")),
            ("due_on", _("Due on")),
            ("status", _("Status")),
        ],
    ),
    "targets": (
        _("Targets"),
        _targets,
        [
            ("goal", _("Goal")),
            ("kpi_code", _("Indicator code")),
            ("label_vi", _("Target (Vietnamese)")),
            ("label_en", _("Target (English)")),
            ("unit", _("Unit")),
            ("baseline_value", _("Baseline")),
            ("baseline_year", _("Baseline year")),
            ("target_value", _("Target value")),
            ("deadline", _("Deadline")),
            ("higher_is_better", _("Higher is better")),
        ],
    ),
    "milestones": (
        _("Milestones"),
        _milestones,
        [
            ("project", PROJECT),
            ("phase", _("Phase")),
            ("title_vi", TITLE_VI),
            ("title_en", TITLE_EN),
            ("due_on", _("Due on")),
            ("done_on", _("Done on")),
            ("weight", _("Weight")),
            ("progress", _("Progress (%)")),
        ],
    ),
    "completions": (
        _("Training completions"),
        _completions,
        [
            ("course", _("Course")),
            ("person", _("Person")),
            ("organisation", _("Organisation")),
            ("completed_on", _("Completed on")),
            ("hours", _("Hours")),
        ],
    ),
}


def table(programme: Programme, name: str) -> tuple[str, list[dict], Columns]:
    """(sheet label, rows, columns) of the table `name` (a key of TABLES) for this programme;
    NotFound for an unknown name."""
    try:
        label, rows, columns = TABLES[name]
    except KeyError:
        raise NotFound(gettext("No such table.")) from None
    return str(label), rows(programme), columns
