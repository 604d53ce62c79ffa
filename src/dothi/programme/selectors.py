"""Reads of the programme module, always scoped by city."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from django.db.models import Case, Count, F, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dothi.core.cities import policy
from dothi.core.errors import NotFound
from dothi.core.manifests import registry
from dothi.core.models import Agreement, City, Organisation, localised
from dothi.core.permissions import can
from dothi.core.text import fold_key
from dothi.programme.models import (
    AssessmentItem,
    BudgetLine,
    Challenge,
    Cooperation,
    Domain,
    Goal,
    GoalProject,
    Lesson,
    Milestone,
    Phase,
    Programme,
    Project,
    ProjectPartner,
    Risk,
    Stakeholder,
    SwotItem,
    Target,
    TeamMember,
    TrainingCourse,
)

# --- Who may update a project (written with services.py, issue 8 / Q1) -----------------------------
# The council (`programme.edit`: council members, city administrators, platform administrators) updates
# every project of its city; agency managers and staff (`programme.project.update`) only the projects
# their own agency is responsible for (a membership in the project's city with `organisation` = the
# project's agency). Services call this before any write to a project or one of its children.

AGENCY_ROLES = frozenset({"agency_manager", "agency_staff"})


def can_update_project(user, project) -> bool:
    """May `user` update `project` (its progress, milestones, phases, disbursement, lessons, risks)?"""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    city = project.city
    if can(user, "programme.edit", city):
        return True
    if not can(user, "programme.project.update", city):
        return False
    return user.memberships.filter(
        city=city, role__in=AGENCY_ROLES, organisation_id=project.agency_id
    ).exists()


# --- Other selectors (Q2) below ----------------------------------------------------------------------

# Everything below reads one city's rows: a programme's children are reached through the programme
# (itself city-owned) and filtered on `city` too, so a row whose parent was mis-assigned never leaks.

PUBLIC_PROJECT_FILTER = {"is_published": True}
TOP_RISKS = 5
LESSON_LIMIT = 100
# Stakeholders at or above this influence / interest (1–5) are "high" on the grid.
STAKEHOLDER_HIGH = 3
DEFAULT_VENDOR_SHARE_WARNING = 0.5
VENDOR_AGREEMENT_KINDS = ("service", "ppp")


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _label(choices, value) -> str:
    """The translated label of a choice value, as a plain string (JSON-serialisable)."""
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def _projects(programme: Programme, *, public: bool = False) -> QuerySet[Project]:
    qs = Project.objects.for_city(programme.city).filter(programme=programme)
    return qs.filter(**PUBLIC_PROJECT_FILTER) if public else qs


def programme_of(city: City, *, public: bool = False) -> Programme:
    """The city's programme: the newest approved one, else the newest that is not superseded (a draft in
    preparation), else the newest superseded one for staff. Public reads see published programmes only.
    NotFound when there is none."""
    qs = Programme.objects.for_city(city).order_by("-period_start", "-decision_date", "-pk")
    if public:
        qs = qs.filter(is_published=True)
    found = (
        qs.filter(status=Programme.Status.APPROVED).first()
        or qs.exclude(status=Programme.Status.SUPERSEDED).first()
        or (None if public else qs.first())
    )
    if found is None:
        raise NotFound(_("This city has no smart-city programme yet."))
    return found


# --- Overview ------------------------------------------------------------------------------------


def _budget_lines(programme: Programme, *, public: bool = False) -> QuerySet[BudgetLine]:
    qs = BudgetLine.objects.for_city(programme.city).filter(project__programme=programme)
    if public:
        qs = qs.filter(project__is_published=True)
    return qs


def _money(qs: QuerySet, *group: str) -> list[dict]:
    return list(
        qs.values(*group)
        .annotate(
            planned_vnd=Coalesce(Sum("planned_vnd"), 0), disbursed_vnd=Coalesce(Sum("disbursed_vnd"), 0)
        )
        .order_by(*group)
    )


def _rate(disbursed: int, planned: int) -> float | None:
    return round(disbursed / planned, 4) if planned else None


def budget_totals(programme: Programme, *, public: bool = False) -> dict:
    """Planned and disbursed VND of the programme's projects (published ones when `public`)."""
    totals = _budget_lines(programme, public=public).aggregate(
        planned_vnd=Coalesce(Sum("planned_vnd"), 0), disbursed_vnd=Coalesce(Sum("disbursed_vnd"), 0)
    )
    totals["rate"] = _rate(totals["disbursed_vnd"], totals["planned_vnd"])
    return totals


def overview(programme: Programme) -> dict:
    """The staff overview: counts, budget planned/disbursed by year and by source, each goal's progress,
    the top open risks, projects by status and by domain."""
    city = programme.city
    projects = _projects(programme)
    lines = _budget_lines(programme)
    by_source = _money(lines, "source")
    for row in by_source:
        row["label"] = _label(BudgetLine.Source, row["source"])
    risks = Risk.objects.for_city(city).filter(programme=programme)
    top_risks = sorted(
        risks.exclude(status=Risk.Status.CLOSED).select_related("project", "owner"),
        key=lambda r: (-r.score, -r.impact, r.pk),
    )[:TOP_RISKS]
    by_status = {row["status"]: row["n"] for row in projects.values("status").annotate(n=Count("pk"))}
    by_domain = {row["domain"]: row["n"] for row in projects.values("domain").annotate(n=Count("pk"))}
    return {
        "programme": programme,
        "counts": {
            "goals": Goal.objects.for_city(city).filter(programme=programme).count(),
            "targets": Target.objects.for_city(city).filter(goal__programme=programme).count(),
            "projects": sum(by_status.values()),
            "pilots": projects.filter(kind=Project.Kind.PILOT).count(),
            "open_risks": risks.exclude(status=Risk.Status.CLOSED).count(),
            "stakeholders": Stakeholder.objects.for_city(city).filter(programme=programme).count(),
            "partners": ProjectPartner.objects.for_city(city)
            .filter(project__programme=programme)
            .values("organisation")
            .distinct()
            .count(),
            "challenges": Challenge.objects.for_city(city).filter(programme=programme).count(),
            "lessons": Lesson.objects.for_city(city).filter(project__programme=programme).count(),
            "team": TeamMember.objects.for_city(city).filter(programme=programme).count(),
        },
        "budget": {
            **budget_totals(programme),
            "by_year": _money(lines, "year"),
            "by_source": by_source,
        },
        "goals": [
            {"id": g.pk, "code": g.code, "title": g.title, "progress": round(g.progress, 1)}
            for g in Goal.objects.for_city(city).filter(programme=programme)
        ],
        "top_risks": top_risks,
        "projects_by_status": [
            {"status": value, "label": str(label), "count": by_status[value]}
            for value, label in Project.Status.choices
            if by_status.get(value)
        ],
        "projects_by_domain": [
            {"domain": value, "label": str(label), "count": by_domain[value]}
            for value, label in Domain.choices
            if by_domain.get(value)
        ],
    }


# --- Timeline (Gantt) ----------------------------------------------------------------------------


def _period_bounds(programme: Programme) -> tuple[date, date]:
    """[1 January of the first year, 1 January after the last year): the span the Gantt view draws."""
    return date(programme.period_start, 1, 1), date(programme.period_end + 1, 1, 1)


def _fraction(day: date | None, start: date, end: date) -> float | None:
    if day is None:
        return None
    value = (day - start).days / (end - start).days
    return round(min(1.0, max(0.0, value)), 4)


def _bar(starts_on: date | None, ends_on: date | None, start: date, end: date) -> dict:
    """A bar's start and end as fractions (0–1) of the period, clamped to it; `ends_on` is inclusive."""
    left = _fraction(starts_on, start, end)
    right = _fraction(ends_on + timedelta(days=1), start, end) if ends_on else None
    return {
        "starts_on": _iso(starts_on),
        "ends_on": _iso(ends_on),
        "start": left,
        "end": right,
        "width": round(right - left, 4) if left is not None and right is not None else None,
        # Outside the period altogether: drawn nowhere (the list still names it).
        "outside": bool((starts_on and starts_on >= end) or (ends_on and ends_on < start)),
    }


def timeline(programme: Programme, *, public: bool = False, today: date | None = None) -> dict:
    """Projects and their phases as bars with `start`/`end` as fractions (0–1) of the programme's
    period (1 January of the first year to 31 December of the last, end dates inclusive), milestones as
    points (`at`), the year ticks and today's position. A project without dates has `start` None."""
    start, end = _period_bounds(programme)
    today = today or timezone.localdate()
    projects = list(
        _projects(programme, public=public)
        .select_related("agency")
        .prefetch_related("phases", "milestones")
        .order_by(F("starts_on").asc(nulls_last=True), "code")
    )
    rows = []
    for project in projects:
        rows.append(
            {
                "id": project.pk,
                "code": project.code,
                "title": project.title,
                "kind": project.kind,
                "status": project.status,
                "status_label": project.get_status_display(),
                "domain": project.domain,
                "agency": project.agency.name,
                "progress": round(project.progress, 1),
                "scaled_from_id": project.scaled_from_id,
                **_bar(project.starts_on, project.ends_on, start, end),
                "phases": [
                    {
                        "id": phase.pk,
                        "name": phase.name,
                        "kind": phase.kind,
                        "kind_label": phase.get_kind_display(),
                        **_bar(phase.starts_on, phase.ends_on, start, end),
                    }
                    for phase in project.phases.all()
                ],
                "milestones": [
                    {
                        "id": m.pk,
                        "title": m.title,
                        "due_on": _iso(m.due_on),
                        "done_on": _iso(m.done_on),
                        "done": m.done_on is not None,
                        "progress": m.progress,
                        "at": _fraction(m.due_on, start, end),
                        "overdue": m.done_on is None and m.due_on < today,
                    }
                    for m in project.milestones.all()
                ],
            }
        )
    years = [
        {
            "year": year,
            "start": _fraction(date(year, 1, 1), start, end),
            "end": _fraction(date(year + 1, 1, 1), start, end),
        }
        for year in range(programme.period_start, programme.period_end + 1)
    ]
    return {
        "starts_on": start.isoformat(),
        "ends_on": (end - timedelta(days=1)).isoformat(),
        "years": years,
        "today": _fraction(today, start, end) if start <= today < end else None,
        "rows": rows,
    }


# --- A project's page ----------------------------------------------------------------------------


def project_detail(city: City, code: str, *, public: bool = False) -> dict:
    """A project by code, in the city's current programme first (codes are unique per programme), with
    everything its page shows. Public: only a published project of a published programme, and only its
    phases, milestones, budget totals, partners, goals and shared lessons; staff also get the budget
    lines, risks, every lesson, the challenges and the alternatives. NotFound otherwise."""
    qs = Project.objects.for_city(city).filter(code=code).select_related("programme", "agency", "scaled_from")
    if public:
        qs = qs.filter(is_published=True, programme__is_published=True)
    try:
        current = programme_of(city, public=public)
    except NotFound:
        current = None
    project = (qs.filter(programme=current).first() if current else None) or qs.order_by(
        "-programme__period_start", "-pk"
    ).first()
    if project is None:
        raise NotFound(_("No such project."))
    lines = BudgetLine.objects.for_city(city).filter(project=project)
    totals = lines.aggregate(
        planned_vnd=Coalesce(Sum("planned_vnd"), 0), disbursed_vnd=Coalesce(Sum("disbursed_vnd"), 0)
    )
    totals["rate"] = _rate(totals["disbursed_vnd"], totals["planned_vnd"])
    scale_ups = Project.objects.for_city(city).filter(scaled_from=project)
    lessons = Lesson.objects.for_city(city).filter(project=project)
    contributions = GoalProject.objects.filter(project=project, goal__city=city).select_related("goal")
    if public:
        scale_ups = scale_ups.filter(is_published=True)
        lessons = lessons.filter(is_shared=True)
        contributions = contributions.filter(goal__is_published=True)
    scaled_from = project.scaled_from
    if public and scaled_from is not None and not scaled_from.is_published:
        scaled_from = None
    detail = {
        "project": project,
        "programme": project.programme,
        "scaled_from": scaled_from,
        "scale_ups": list(scale_ups),
        "goals": [{"goal": c.goal, "weight": c.weight} for c in contributions],
        "phases": list(Phase.objects.for_city(city).filter(project=project)),
        "milestones": list(Milestone.objects.for_city(city).filter(project=project).select_related("phase")),
        "partners": list(
            ProjectPartner.objects.for_city(city)
            .filter(project=project)
            .select_related("organisation", "agreement")
            .order_by("role", "organisation__name_vi")
        ),
        "budget": {**totals, "by_year": _money(lines, "year")},
        "lessons": list(lessons),
    }
    if not public:
        detail["budget"]["lines"] = list(lines.order_by("year", "source", "kind"))
        detail["risks"] = list(Risk.objects.for_city(city).filter(project=project).select_related("owner"))
        detail["challenges"] = list(project.challenges.filter(city=city))
        detail["alternatives"] = project.alternatives or []
    return detail


# --- Tables --------------------------------------------------------------------------------------


def budget_table(programme: Programme, *, public: bool = False) -> dict:
    """The programme's budget as rows year × source × kind (planned and disbursed VND, disbursement
    rate), with totals per year and overall."""
    lines = _budget_lines(programme, public=public)
    rows = _money(lines, "year", "source", "kind")
    for row in rows:
        row["source_label"] = _label(BudgetLine.Source, row["source"])
        row["kind_label"] = _label(BudgetLine.Kind, row["kind"])
        row["rate"] = _rate(row["disbursed_vnd"], row["planned_vnd"])
    by_year = _money(lines, "year")
    for row in by_year:
        row["rate"] = _rate(row["disbursed_vnd"], row["planned_vnd"])
    return {"rows": rows, "by_year": by_year, "total": budget_totals(programme, public=public)}


# --- Vendor concentration ------------------------------------------------------------------------


def vendor_share_warning(city: City) -> float:
    """The share above which one vendor's hold on a domain is flagged: the city's policy
    `programme.vendor_share_warning` (default 0.5)."""
    try:
        return float(policy(city, "programme").get("vendor_share_warning", DEFAULT_VENDOR_SHARE_WARNING))
    except (TypeError, ValueError):
        return DEFAULT_VENDOR_SHARE_WARNING


def herfindahl(values: list[float]) -> float | None:
    """HHI = Σ sᵢ² with each share sᵢ in percent: 10,000 when one holder has everything; None when the
    total is zero."""
    total = sum(values)
    if total <= 0:
        return None
    return round(sum((100.0 * v / total) ** 2 for v in values), 2)


def vendor_concentration(programme: Programme, *, threshold: float | None = None) -> dict:
    """Per domain of the programme's projects: each vendor's value (`ProjectPartner.value_vnd` of role
    vendor, plus its `core.Agreement`s of kind service or PPP that no partner row links to), its share,
    the Herfindahl index (0–10,000) and a `warning` when the largest share exceeds `threshold` (default:
    the city's `programme.vendor_share_warning`, 0.5). An agreement not linked to a partner row has no
    project, hence no domain: its value is split evenly over the domains in which its organisation is a
    vendor of this programme (an organisation that is nobody's vendor here is left out). Each vendor
    also carries the number of sensors it owns in the city when the sensing module publishes
    `sensing.sensors_by_owner` (`sensors` None otherwise)."""
    city = programme.city
    if threshold is None:
        threshold = vendor_share_warning(city)
    partners = (
        ProjectPartner.objects.for_city(city)
        .filter(project__programme=programme, role=ProjectPartner.Role.VENDOR)
        .select_related("organisation", "project")
    )
    values: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    projects: dict[tuple[str, int], set[str]] = defaultdict(set)
    organisations: dict[int, Organisation] = {}
    for partner in partners:
        domain = partner.project.domain
        values[domain][partner.organisation_id] += partner.value_vnd
        projects[(domain, partner.organisation_id)].add(partner.project.code)
        organisations[partner.organisation_id] = partner.organisation
    linked = (
        ProjectPartner.objects.for_city(city)
        .filter(agreement__isnull=False)
        .values_list("agreement_id", flat=True)
    )
    agreements = (
        Agreement.objects.for_city(city)
        .filter(kind__in=VENDOR_AGREEMENT_KINDS, value_vnd__gt=0, organisation_id__in=list(organisations))
        .exclude(pk__in=linked)
    )
    for agreement in agreements:
        domains = [d for d, held in values.items() if agreement.organisation_id in held]
        for domain in domains:
            values[domain][agreement.organisation_id] += agreement.value_vnd / len(domains)
    sensors_by_owner = registry.provided("sensing.sensors_by_owner")
    sensors = sensors_by_owner(city) if sensors_by_owner else None
    domains = []
    for value, label in Domain.choices:
        held = values.get(value)
        if not held:
            continue
        total = sum(held.values())
        vendors = sorted(
            (
                {
                    "organisation_id": org_id,
                    "name": organisations[org_id].name,
                    "value_vnd": round(amount),
                    "share": round(amount / total, 4) if total else None,
                    "share_pct": round(100 * amount / total, 2) if total else None,
                    "projects": sorted(projects[(value, org_id)]),
                    "sensors": (sensors or {}).get(org_id, 0) if sensors is not None else None,
                }
                for org_id, amount in held.items()
            ),
            key=lambda v: (-v["value_vnd"], v["name"]),
        )
        top = vendors[0]["share"] if total else None
        domains.append(
            {
                "domain": value,
                "label": str(label),
                "total_vnd": round(total),
                "vendors": vendors,
                "hhi": herfindahl(list(held.values())),
                "top_share": top,
                "warning": top is not None and top > threshold,
            }
        )
    return {
        "threshold": threshold,
        "domains": domains,
        "warnings": sum(1 for d in domains if d["warning"]),
        "sensors_known": sensors is not None,
    }


# --- Risk matrix and stakeholder map -------------------------------------------------------------


def risk_level(score: int) -> str:
    """The colour of a likelihood × impact score (1–25)."""
    if score >= 15:
        return "danger"
    if score >= 8:
        return "warning"
    return "normal"


def risk_matrix(programme: Programme, *, include_closed: bool = False) -> dict:
    """Counts of the programme's risks (open and being mitigated; closed too when asked) on a 5×5 grid:
    `rows` from likelihood 5 down to 1, each with `cells` for impact 1 to 5."""
    qs = Risk.objects.for_city(programme.city).filter(programme=programme)
    if not include_closed:
        qs = qs.exclude(status=Risk.Status.CLOSED)
    counts = {
        (row["likelihood"], row["impact"]): row["n"]
        for row in qs.values("likelihood", "impact").annotate(n=Count("pk"))
    }
    rows = [
        {
            "likelihood": likelihood,
            "cells": [
                {
                    "likelihood": likelihood,
                    "impact": impact,
                    "score": likelihood * impact,
                    "level": risk_level(likelihood * impact),
                    "count": counts.get((likelihood, impact), 0),
                }
                for impact in range(1, 6)
            ],
        }
        for likelihood in range(5, 0, -1)
    ]
    return {"rows": rows, "total": sum(counts.values())}


QUADRANTS = (
    # key, high influence?, high interest?, label, advice
    ("manage_closely", True, True, _("Manage closely"), _("Involve in decisions and steering.")),
    ("keep_satisfied", True, False, _("Keep satisfied"), _("Consult on what concerns them.")),
    ("keep_informed", False, True, _("Keep informed"), _("Inform regularly and invite to forums.")),
    ("monitor", False, False, _("Monitor"), _("Share general information.")),
)


def stakeholder_map(programme: Programme, *, public: bool = False) -> dict:
    """Stakeholders in the four influence × interest quadrants (high is 3 or more on the 1–5 scales),
    and a 5×5 `grid` (influence 5 down to 1, interest 1 to 5) of the stakeholders in each cell."""
    qs = (
        Stakeholder.objects.for_city(programme.city)
        .filter(programme=programme)
        .select_related("organisation")
    )
    if public:
        qs = qs.filter(is_published=True)
    stakeholders = list(qs)
    quadrants = []
    for key, influence_high, interest_high, label, advice in QUADRANTS:
        members = [
            s
            for s in stakeholders
            if (s.influence >= STAKEHOLDER_HIGH) == influence_high
            and (s.interest >= STAKEHOLDER_HIGH) == interest_high
        ]
        quadrants.append({"key": key, "label": str(label), "advice": str(advice), "stakeholders": members})
    grid = [
        {
            "influence": influence,
            "cells": [
                {
                    "influence": influence,
                    "interest": interest,
                    "stakeholders": [
                        s for s in stakeholders if s.influence == influence and s.interest == interest
                    ],
                }
                for interest in range(1, 6)
            ],
        }
        for influence in range(5, 0, -1)
    ]
    return {"quadrants": quadrants, "grid": grid, "total": len(stakeholders)}


# --- Lessons learned -----------------------------------------------------------------------------


def lesson_key(lesson: Lesson) -> str:
    """The accent-free search text of a lesson (what `services.lesson_save` stores in `search_key`)."""
    return fold_key(
        " ".join(
            [
                lesson.title,
                lesson.worked,
                lesson.did_not_work,
                lesson.good_practice,
                *map(str, lesson.tags or []),
            ]
        )
    )


def lessons_search(
    city: City, q: str = "", *, include_shared: bool = True, public: bool = False, limit: int = LESSON_LIMIT
) -> list[dict]:
    """Lessons matching every word of `q`, accent-insensitively ("ngap" finds "ngập"): the city's own
    (only its shared ones when `public`) and, with `include_shared`, the shared lessons of other cities.
    Each item: `lesson`, `project`, `city` (its name), `is_own`. Own lessons first, newest first."""
    own = Q(city=city)
    if public:
        own &= Q(is_shared=True)
    scope = own | (Q(is_shared=True) & ~Q(city=city)) if include_shared else own
    qs = Lesson.objects.filter(scope).select_related("city", "project")
    words = fold_key(q or "").split()
    if words:
        indexed = Q(search_key__gt="")
        for word in words:
            indexed &= Q(search_key__contains=word)
        # Rows written without the service (no key yet) are matched on the fly.
        missing = [
            lesson.pk for lesson in qs.filter(search_key="") if all(w in lesson_key(lesson) for w in words)
        ]
        qs = qs.filter(indexed | Q(pk__in=missing))
    qs = qs.annotate(foreign=Case(When(city=city, then=Value(0)), default=Value(1))).order_by(
        "foreign", "-created_at", "-pk"
    )
    found = list(qs[:limit] if limit else qs)
    return [
        {
            "lesson": lesson,
            "project": lesson.project,
            "city": lesson.city.name,
            "is_own": lesson.city_id == city.pk,
        }
        for lesson in found
    ]


# --- The whole plan as one document --------------------------------------------------------------


def _texts(obj, *names: str) -> dict:
    return {f"{n}_{lang}": getattr(obj, f"{n}_{lang}") for n in names for lang in ("vi", "en")}


def _project_doc(project: Project, *, public: bool) -> dict:
    city = project.city
    lines = BudgetLine.objects.for_city(city).filter(project=project).order_by("year", "source", "kind")
    totals = lines.aggregate(
        planned_vnd=Coalesce(Sum("planned_vnd"), 0), disbursed_vnd=Coalesce(Sum("disbursed_vnd"), 0)
    )
    doc = {
        "code": project.code,
        **_texts(project, "title", "solution"),
        "title": project.title,
        "kind": project.kind,
        "kind_label": project.get_kind_display(),
        "domain": project.domain,
        "domain_label": project.get_domain_display(),
        "agency": project.agency.name,
        "investment_model": project.investment_model,
        "investment_model_label": project.get_investment_model_display(),
        "status": project.status,
        "status_label": project.get_status_display(),
        "starts_on": _iso(project.starts_on),
        "ends_on": _iso(project.ends_on),
        "scaled_from": project.scaled_from.code
        if project.scaled_from and (not public or project.scaled_from.is_published)
        else None,
        "progress": round(project.progress, 1),
        "is_published": project.is_published,
        "goals": [c.goal.code for c in project.contributions.all() if not public or c.goal.is_published],
        "budget": {**totals, "rate": _rate(totals["disbursed_vnd"], totals["planned_vnd"])},
        "phases": [
            {
                **_texts(p, "name"),
                "name": p.name,
                "kind": p.kind,
                "kind_label": p.get_kind_display(),
                "starts_on": _iso(p.starts_on),
                "ends_on": _iso(p.ends_on),
            }
            for p in Phase.objects.for_city(city).filter(project=project)
        ],
        "milestones": [
            {
                **_texts(m, "title"),
                "title": m.title,
                "due_on": _iso(m.due_on),
                "done_on": _iso(m.done_on),
                "weight": m.weight,
                "progress": m.progress,
            }
            for m in Milestone.objects.for_city(city).filter(project=project)
        ],
        "partners": [
            {
                "organisation": p.organisation.name,
                "role": p.role,
                "role_label": p.get_role_display(),
                "services": p.services,
                "value_vnd": p.value_vnd,
                "agreement": p.agreement.title if p.agreement else None,
            }
            for p in ProjectPartner.objects.for_city(city)
            .filter(project=project)
            .select_related("organisation", "agreement")
            .order_by("role", "pk")
        ],
    }
    if not public:
        doc["alternatives"] = project.alternatives or []
        doc["budget"]["lines"] = [
            {
                "year": line.year,
                "source": line.source,
                "source_label": line.get_source_display(),
                "kind": line.kind,
                "kind_label": line.get_kind_display(),
                "planned_vnd": line.planned_vnd,
                "disbursed_vnd": line.disbursed_vnd,
            }
            for line in lines
        ]
    return doc


def plan_document(programme: Programme, *, public: bool = False) -> dict:
    """The whole master plan as one JSON-serialisable dict (codes, both languages' texts and the labels
    in the active language; dates as ISO strings): what the print view renders and what a PlanVersion
    snapshots. `public`: only what the city published (the programme must be published, else NotFound):
    its texts, published goals with their targets, published projects with phases, milestones, budget
    totals and partners, published stakeholders and cooperation; the team, SWOT, assessment, risks,
    commitments, challenges, training and lessons are for staff."""
    if public and not programme.is_published:
        raise NotFound(_("This programme is not published."))
    city = programme.city
    goals = Goal.objects.for_city(city).filter(programme=programme).prefetch_related("targets")
    stakeholders = (
        Stakeholder.objects.for_city(city).filter(programme=programme).prefetch_related("commitments")
    )
    cooperation = Cooperation.objects.for_city(city).filter(programme=programme)
    if public:
        goals = goals.filter(is_published=True)
        stakeholders = stakeholders.filter(is_published=True)
        cooperation = cooperation.filter(is_published=True)
    projects = (
        _projects(programme, public=public)
        .select_related("agency", "scaled_from", "city")
        .prefetch_related("contributions__goal")
        .order_by(F("starts_on").asc(nulls_last=True), "code")
    )
    doc: dict[str, Any] = {
        "public": public,
        "generated_at": timezone.now().isoformat(),
        "city": {"slug": city.slug, "name": city.name},
        "programme": {
            "code": programme.code,
            **_texts(programme, "title", "vision", "principles", "scope"),
            "title": programme.title,
            "period_start": programme.period_start,
            "period_end": programme.period_end,
            "status": programme.status,
            "status_label": programme.get_status_display(),
            "decision_number": programme.decision_number,
            "decision_date": _iso(programme.decision_date),
            "decision_authority": programme.decision_authority,
            "version": programme.version,
            "is_published": programme.is_published,
        },
        "goals": [
            {
                "code": g.code,
                **_texts(g, "title", "description"),
                "title": g.title,
                "progress": round(g.progress, 1),
                "is_published": g.is_published,
                "targets": [_target_doc(t) for t in g.targets.all()],
            }
            for g in goals
        ],
        "projects": [_project_doc(p, public=public) for p in projects],
        "budget": budget_table(programme, public=public),
        "stakeholders": [
            {
                "name": s.name,
                "kind": s.kind,
                "kind_label": s.get_kind_display(),
                "influence": s.influence,
                "interest": s.interest,
                "mechanisms": [_label(Stakeholder.Mechanism, m) for m in s.mechanisms or []],
                **(
                    {}
                    if public
                    else {
                        "note": s.note,
                        "commitments": [
                            {
                                **_texts(c, "text"),
                                "status": c.status,
                                "status_label": c.get_status_display(),
                                "made_on": _iso(c.made_on),
                                "due_on": _iso(c.due_on),
                            }
                            for c in s.commitments.all()
                        ],
                    }
                ),
            }
            for s in stakeholders
        ],
        "cooperation": [
            {
                "kind": c.kind,
                "kind_label": c.get_kind_display(),
                "partner": c.partner,
                **_texts(c, "title"),
                "since": _iso(c.since),
                "until": _iso(c.until),
                "description": c.description,
            }
            for c in cooperation
        ],
    }
    if public:
        return doc
    doc["team"] = [
        {
            "name": m.name,
            "position": m.position,
            "organisation": m.organisation.name if m.organisation else "",
            "role": m.role,
            "role_label": m.get_role_display(),
            "responsibility": m.responsibility,
        }
        for m in TeamMember.objects.for_city(city).filter(programme=programme).select_related("organisation")
    ]
    doc["swot"] = {
        quadrant: [
            _texts(item, "text")
            for item in SwotItem.objects.for_city(city).filter(programme=programme, quadrant=quadrant)
        ]
        for quadrant in SwotItem.Quadrant.values
    }
    doc["assessment"] = [
        {
            "area": a.area,
            "area_label": a.get_area_display(),
            **_texts(a, "question"),
            "score": a.score,
            "evidence": a.evidence,
            "evidence_file": a.evidence_file.name or None,
        }
        for a in AssessmentItem.objects.for_city(city).filter(programme=programme)
    ]
    doc["risks"] = [
        {
            **_texts(r, "title"),
            "project": r.project.code if r.project else None,
            "likelihood": r.likelihood,
            "impact": r.impact,
            "score": r.score,
            "owner": r.owner.name if r.owner else "",
            "mitigation": r.mitigation,
            "status": r.status,
            "status_label": r.get_status_display(),
        }
        for r in Risk.objects.for_city(city).filter(programme=programme).select_related("project", "owner")
    ]
    doc["challenges"] = [
        {
            "code": c.code,
            **_texts(c, "title", "description"),
            "status": c.status,
            "status_label": c.get_status_display(),
            "opens_on": _iso(c.opens_on),
            "closes_on": _iso(c.closes_on),
            "projects": sorted(p.code for p in c.projects.all()),
        }
        for c in Challenge.objects.for_city(city).filter(programme=programme).prefetch_related("projects")
    ]
    doc["training"] = [
        {
            **_texts(c, "title"),
            "provider": c.provider.name if c.provider else "",
            "topic": c.topic,
            "starts_on": _iso(c.starts_on),
            "ends_on": _iso(c.ends_on),
            "hours": c.hours,
            "completions": c.n_completions,
        }
        for c in TrainingCourse.objects.for_city(city)
        .filter(programme=programme)
        .select_related("provider")
        .annotate(n_completions=Count("completions"))
    ]
    doc["lessons"] = [
        {
            "title": lesson.title,
            "project": lesson.project.code,
            "worked": lesson.worked,
            "did_not_work": lesson.did_not_work,
            "good_practice": lesson.good_practice,
            "tags": list(lesson.tags or []),
            "is_shared": lesson.is_shared,
        }
        for lesson in Lesson.objects.for_city(city)
        .filter(project__programme=programme)
        .select_related("project")
    ]
    return doc


# --- Published for the KPI module (`programme.targets`) ----------------------------------------------


def _target_doc(t: Target) -> dict:
    return {
        "id": t.pk,
        "kpi_code": t.kpi_code,
        **_texts(t, "label"),
        "label": localised(t.label_vi, t.label_en),
        "unit": t.unit,
        "baseline_value": t.baseline_value,
        "baseline_year": t.baseline_year,
        "target_value": t.target_value,
        "deadline": _iso(t.deadline),
        "higher_is_better": t.higher_is_better,
    }


def targets(city: City) -> list[dict]:
    """Every target of the city's programmes that are not superseded, each with its goal and programme
    (JSON-serialisable): published to the KPI module as `programme.targets`, which measures them."""
    qs = (
        Target.objects.for_city(city)
        .filter(goal__city=city)
        .exclude(goal__programme__status=Programme.Status.SUPERSEDED)
        .select_related("goal", "goal__programme")
        .order_by("goal__programme__period_start", "goal__order", "goal__code", "deadline", "pk")
    )
    return [
        {
            **_target_doc(t),
            "goal": {
                "id": t.goal_id,
                "code": t.goal.code,
                "title": t.goal.title,
                "progress": t.goal.progress,
            },
            "programme": {"id": t.goal.programme_id, "code": t.goal.programme.code},
            "is_published": t.goal.is_published and t.goal.programme.is_published,
        }
        for t in qs
    ]


def project_costs(city: City) -> list[dict]:
    """Every project of the city's programmes that are not superseded, with its cost per year in VND
    (`{"code", "title_vi", "title_en", "costs": {year: VND}}`): a year's cost is what was disbursed in it
    when any disbursement is recorded for that year, else what is planned. Published to the KPI module
    as `programme.project_costs` (return on investment). A code found in two programmes appears once,
    with the newer programme's project. Two queries."""
    projects = (
        Project.objects.for_city(city)
        .exclude(programme__status=Programme.Status.SUPERSEDED)
        .order_by("-programme__period_start", "-programme_id", "starts_on", "code")
    )
    chosen: dict[str, Project] = {}
    for p in projects:
        chosen.setdefault(p.code, p)
    costs: dict[int, dict[int, int]] = {p.pk: {} for p in chosen.values()}
    lines = (
        BudgetLine.objects.for_city(city)
        .filter(project_id__in=list(costs))
        .values("project_id", "year")
        .annotate(planned=Coalesce(Sum("planned_vnd"), 0), disbursed=Coalesce(Sum("disbursed_vnd"), 0))
        .order_by("project_id", "year")
    )
    for line in lines:
        amount = line["disbursed"] if line["disbursed"] > 0 else line["planned"]
        if amount:
            costs[line["project_id"]][int(line["year"])] = int(amount)
    ordered = sorted(chosen.values(), key=lambda p: (p.starts_on or date.max, p.code))
    return [
        {"code": p.code, "title_vi": p.title_vi, "title_en": p.title_en, "costs": costs[p.pk]}
        for p in ordered
    ]
