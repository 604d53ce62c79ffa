"""The smart-city programme API under /api/v1/programme/.

- Public reads (no sign-in): the city's published programme (`GET /`, the plan document: vision, goals
  with targets and progress, published projects with phases, milestones, budget totals and partners,
  published stakeholders and cooperation), its goals, projects, one project (`/projects/{code}`) and the
  timeline. Staff of the city (`programme.view`) get the same routes with everything, published or not.
- Staff reads: the overview, budget table, vendor concentration, risk matrix, stakeholder map, lessons
  search, plan versions, and every record of the module under `/records/<resource>`.
- Writes: the council (`programme.edit`) edits the programme, moves it through its workflow
  (`/transition`), saves versions, and creates, changes and deletes records (`POST /records/<resource>`,
  `PATCH`/`DELETE /records/<resource>/{id}`); the managers and staff of a project's responsible agency
  update that project (status, dates, solution, alternatives), its milestones, phases, lessons, risks and
  the disbursement of its budget lines through the same routes — `services` decides per record.

A record's body is a JSON object of its fields (`GET /records/<resource>` shows them): references are
ids (`"project": 12`), dates `YYYY-MM-DD`, money whole đồng. A record whose parent is the programme gets
the city's current programme when `programme` is left out. Sessions and CSRF as in the other APIs
(`GET /api/v1/identity/csrf`, then `X-CSRFToken`). Errors are `{"code", "message", "field"}` in the
user's language; bad input stores nothing.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from ninja import Body, Field, Query, Router, Schema, Status
from ninja.security import django_auth

from dothi.core.cities import request_city
from dothi.core.errors import NotFound
from dothi.core.permissions import can, require
from dothi.programme import selectors, services
from dothi.programme.models import PlanVersion, Programme, Project

router = Router(tags=["programme"])
VIEW = "programme.view"


class Error(Schema):
    code: str
    message: str
    field: str | None = None


ERRORS: dict[int | str, Any] = {400: Error, 401: Error, 403: Error, 404: Error, 409: Error, 422: Error}


def _staff(request, city) -> bool:
    user = getattr(request, "auth", None) or request.user
    return bool(getattr(user, "is_authenticated", False)) and can(user, VIEW, city)


def _iso(value: datetime.date | None) -> str | None:
    return value.isoformat() if value else None


def _value(value: Any) -> Any:
    """A selector's value as JSON: rows become their id and label, dates ISO strings."""
    if isinstance(value, dict):
        return {str(k): _value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_value(v) for v in value]
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return {"id": value.pk, "label": str(value)}
    return value


# --- Public reads (staff see everything) ------------------------------------------------------------


@router.get(
    "/",
    response={200: dict[str, Any], **ERRORS},
    auth=None,
    summary="The city's programme as one document (the public sees what is published; staff, all)",
)
def get_programme(request):
    city = request_city(request)
    public = not _staff(request, city)
    return selectors.plan_document(selectors.programme_of(city, public=public), public=public)


@router.get(
    "/goals",
    response={200: list[dict[str, Any]], **ERRORS},
    auth=None,
    summary="The programme's goals with their targets (indicator codes, baseline, target) and progress",
)
def list_goals(request):
    return get_programme(request)["goals"]


@router.get(
    "/projects",
    response={200: list[dict[str, Any]], **ERRORS},
    auth=None,
    summary="The programme's projects with phases, milestones, budget totals, partners and progress",
)
def list_projects(request):
    return get_programme(request)["projects"]


def _project_out(detail: dict, *, public: bool) -> dict[str, Any]:
    project: Project = detail["project"]
    out = {
        "id": project.pk,
        "code": project.code,
        "title": project.title,
        "title_vi": project.title_vi,
        "title_en": project.title_en,
        "kind": project.kind,
        "domain": project.domain,
        "solution_vi": project.solution_vi,
        "solution_en": project.solution_en,
        "agency": {"id": project.agency_id, "code": project.agency.code, "name": project.agency.name},
        "investment_model": project.investment_model,
        "status": project.status,
        "starts_on": _iso(project.starts_on),
        "ends_on": _iso(project.ends_on),
        "progress": round(project.progress, 1),
        "is_published": project.is_published,
        "programme": detail["programme"].code,
        "scaled_from": detail["scaled_from"].code if detail["scaled_from"] else None,
        "scale_ups": [p.code for p in detail["scale_ups"]],
        "goals": [
            {"code": g["goal"].code, "title": g["goal"].title, "weight": g["weight"]} for g in detail["goals"]
        ],
        "phases": [
            {
                "id": p.pk,
                "name": p.name,
                "kind": p.kind,
                "starts_on": _iso(p.starts_on),
                "ends_on": _iso(p.ends_on),
            }
            for p in detail["phases"]
        ],
        "milestones": [
            {
                "id": m.pk,
                "title": m.title,
                "phase": m.phase_id,
                "due_on": _iso(m.due_on),
                "done_on": _iso(m.done_on),
                "weight": m.weight,
                "progress": m.progress,
            }
            for m in detail["milestones"]
        ],
        "partners": [
            {
                "organisation": p.organisation.name,
                "role": p.role,
                "services": p.services,
                "value_vnd": p.value_vnd,
                "agreement": p.agreement.title if p.agreement else None,
            }
            for p in detail["partners"]
        ],
        "budget": _value({k: v for k, v in detail["budget"].items() if k != "lines"}),
        "lessons": [
            {
                "id": lesson.pk,
                "title": lesson.title,
                "worked": lesson.worked,
                "did_not_work": lesson.did_not_work,
                "good_practice": lesson.good_practice,
                "tags": lesson.tags,
                "is_shared": lesson.is_shared,
            }
            for lesson in detail["lessons"]
        ],
    }
    if not public:
        out["alternatives"] = detail.get("alternatives", [])
        out["budget"]["lines"] = [_row(line) for line in detail["budget"].get("lines", [])]
        out["risks"] = [_row(risk) for risk in detail.get("risks", [])]
        out["challenges"] = [
            {"id": c.pk, "code": c.code, "title": c.title} for c in detail.get("challenges", [])
        ]
    return out


@router.get(
    "/projects/{code}",
    response={200: dict[str, Any], **ERRORS},
    auth=None,
    summary="One project by code (published ones for the public; staff also see budget lines and risks)",
)
def get_project(request, code: str):
    city = request_city(request)
    public = not _staff(request, city)
    return _project_out(selectors.project_detail(city, code[:60], public=public), public=public)


@router.get(
    "/timeline",
    response={200: dict[str, Any], **ERRORS},
    auth=None,
    summary="Projects and phases as bars (fractions of the period) and milestones as points, for a Gantt",
)
def get_timeline(request):
    city = request_city(request)
    public = not _staff(request, city)
    return selectors.timeline(selectors.programme_of(city, public=public), public=public)


# --- Staff reads ------------------------------------------------------------------------------------


def _current(request) -> Programme:
    city = request_city(request)
    require(request.auth, VIEW, city)
    return selectors.programme_of(city)


@router.get(
    "/overview",
    response={200: dict[str, Any], **ERRORS},
    auth=django_auth,
    summary="Counts, budget by year and source, goals' progress, top risks, projects by status (staff)",
)
def get_overview(request):
    data = selectors.overview(_current(request))
    data["programme"] = _row(data["programme"])
    data["top_risks"] = [_row(risk) | {"score": risk.score} for risk in data["top_risks"]]
    return _value(data)


@router.get(
    "/budget",
    response={200: dict[str, Any], **ERRORS},
    auth=django_auth,
    summary="The budget table: planned and disbursed per year, funding source and kind (staff)",
)
def get_budget(request):
    return _value(selectors.budget_table(_current(request)))


@router.get(
    "/vendors",
    response={200: dict[str, Any], **ERRORS},
    auth=django_auth,
    summary="Vendor concentration per domain: shares, Herfindahl index, warning (staff)",
)
def get_vendors(request):
    return _value(selectors.vendor_concentration(_current(request)))


@router.get(
    "/risk-matrix",
    response={200: dict[str, Any], **ERRORS},
    auth=django_auth,
    summary="Open risks counted on the 5×5 likelihood × impact matrix (staff)",
)
def get_risk_matrix(request):
    return _value(selectors.risk_matrix(_current(request)))


@router.get(
    "/stakeholder-map",
    response={200: dict[str, Any], **ERRORS},
    auth=django_auth,
    summary="Stakeholders on the influence × interest grid (staff)",
)
def get_stakeholder_map(request):
    return _value(selectors.stakeholder_map(_current(request)))


class LessonQuery(Schema):
    q: str = Field("", max_length=200, description="Words to find, with or without accents")


@router.get(
    "/lessons",
    response={200: list[dict[str, Any]], **ERRORS},
    auth=django_auth,
    summary="Search lessons learned: the city's and other cities' shared ones (staff)",
)
def search_lessons(request, q: Query[LessonQuery]):
    city = request_city(request)
    require(request.auth, VIEW, city)
    return [
        _row(item["lesson"])
        | {"project": item["project"].code, "city": item["city"], "is_own": item["is_own"]}
        for item in selectors.lessons_search(city, q.q)
    ]


class VersionOut(Schema):
    number: int
    status: str
    note: str
    created_at: str
    created_by: str | None


def _version_out(v: PlanVersion) -> VersionOut:
    return VersionOut(
        number=v.number,
        status=v.status,
        note=v.note,
        created_at=v.created_at.isoformat(),
        created_by=(v.created_by.display_name or v.created_by.username) if v.created_by else None,
    )


@router.get(
    "/versions",
    response={200: list[VersionOut], **ERRORS},
    auth=django_auth,
    summary="The plan's saved versions, newest first (staff)",
)
def list_versions(request):
    programme = _current(request)
    return [_version_out(v) for v in programme.versions.select_related("created_by")]


@router.get(
    "/versions/{number}",
    response={200: dict[str, Any], **ERRORS},
    auth=django_auth,
    summary="One saved version: the immutable snapshot of the plan (staff)",
)
def get_version(request, number: int):
    version = _current(request).versions.filter(number=number).first()
    if version is None:
        raise NotFound(NOT_FOUND)
    return _version_out(version).dict() | {"snapshot": version.snapshot}


# --- Council: the programme, its workflow and versions ----------------------------------------------


@router.patch(
    "/",
    response={200: dict[str, Any], **ERRORS},
    auth=django_auth,
    summary="Change the programme's texts, period, decision or publication (the council)",
)
def patch_programme(request, payload: Body[dict[str, Any]]):
    programme = _current(request)
    return _row(services.update(actor=request.auth, obj=programme, **payload))


class TransitionIn(Schema):
    status: str = Field(max_length=20, description="consultation, submitted, approved, superseded or draft")
    decision_number: str = Field("", max_length=100, description="Needed to approve")
    decision_date: datetime.date | None = Field(None, description="Needed to approve")
    decision_authority: str = Field("", max_length=200)


@router.post(
    "/transition",
    response={200: dict[str, Any], **ERRORS},
    auth=django_auth,
    summary="Move the plan through draft → consultation → submitted → approved (the council)",
)
def transition(request, payload: TransitionIn):
    programme = _current(request)
    return _row(services.programme_transition(actor=request.auth, programme=programme, **payload.dict()))


class NoteIn(Schema):
    note: str = Field("", max_length=300)


@router.post(
    "/versions",
    response={201: VersionOut, **ERRORS},
    auth=django_auth,
    summary="Save a version of the plan (an immutable snapshot) (the council)",
)
def save_version(request, payload: NoteIn):
    version = services.plan_version_save(actor=request.auth, programme=_current(request), note=payload.note)
    return Status(201, _version_out(version))


# --- Records: every model of the module -------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    path: str  # the URL segment
    key: str  # the services' model key
    label: str  # for the summaries
    to_programme: str  # the lookup from the row to its programme
    extra: tuple[str, ...] = ()  # read-only fields shown too


RESOURCES = [
    Resource("team", "team_member", "steering-team member", "programme"),
    Resource("swot", "swot_item", "SWOT item", "programme"),
    Resource("assessment", "assessment_item", "current-state assessment item", "programme"),
    Resource("goals", "goal", "goal", "programme", ("progress",)),
    Resource("targets", "target", "target of a goal", "goal__programme"),
    Resource("projects", "project", "project", "programme", ("progress",)),
    Resource("contributions", "goal_project", "project's contribution to a goal", "goal__programme"),
    Resource("budget", "budget_line", "budget line of a project", "project__programme"),
    Resource("phases", "phase", "phase of a project", "project__programme"),
    Resource("milestones", "milestone", "milestone of a project", "project__programme"),
    Resource("partners", "project_partner", "partner of a project", "project__programme"),
    Resource("risks", "risk", "risk", "programme"),
    Resource("stakeholders", "stakeholder", "stakeholder", "programme"),
    Resource("commitments", "commitment", "stakeholder's commitment", "stakeholder__programme"),
    Resource("challenges", "challenge", "innovation challenge", "programme"),
    Resource("courses", "training_course", "training course", "programme"),
    Resource("completions", "training_completion", "course completion", "course__programme"),
    Resource("cooperation", "cooperation", "international cooperation", "programme"),
    Resource("lessons", "lesson", "lesson learned", "project__programme", ("created_at",)),
]
NOT_FOUND = _("No such record.")
COUNCIL_ONLY = {
    "team",
    "swot",
    "assessment",
    "goals",
    "targets",
    "contributions",
    "partners",
    "stakeholders",
    "commitments",
    "challenges",
    "courses",
    "completions",
    "cooperation",
}


def _field_value(obj: models.Model, f: models.Field) -> Any:
    if f.many_to_many:
        return [o.pk for o in getattr(obj, f.name).all()] if obj.pk else []
    if f.is_relation:
        return getattr(obj, f.attname)
    value = getattr(obj, f.name)
    if isinstance(f, models.FileField):
        return value.url if value else ""
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _row(obj: models.Model) -> dict[str, Any]:
    """A record as JSON: its id, its parent's id and its fields (references as ids)."""
    key = _KEYS[type(obj)]
    spec = services.SPECS[key]
    names = [*([spec.parent] if spec.parent else []), *spec.fields]
    names += (
        [r.extra for r in RESOURCES if r.key == key][0]
        if key != "programme"
        else ["status", "version", "created_at", "updated_at"]
    )
    out: dict[str, Any] = {"id": obj.pk}
    for name in names:
        out[name] = _field_value(obj, obj._meta.get_field(name))
    if key == "programme":
        out["code"] = obj.code
    return out


def _rows(resource: Resource, programme: Programme) -> QuerySet:
    model = services.SPECS[resource.key].model
    return model._default_manager.filter(**{resource.to_programme: programme}).order_by("pk")


def _record(request, resource: Resource, record_id: int) -> models.Model:
    city = request_city(request)
    obj = _rows(resource, selectors.programme_of(city)).filter(pk=record_id).first()
    if obj is None:
        raise NotFound(NOT_FOUND)
    return obj


def _register(resource: Resource) -> None:
    path = f"/records/{resource.path}"
    label = resource.label
    writers = "the council" if resource.path in COUNCIL_ONLY else "the council, or the project's agency"

    @router.get(
        path,
        response={200: list[dict[str, Any]], **ERRORS},
        auth=django_auth,
        operation_id=f"programme_{resource.key}_list",
        summary=f"Every {label} of the programme (staff)",
    )
    def list_records(request):
        programme = _current(request)
        return [_row(obj) for obj in _rows(resource, programme)]

    @router.post(
        path,
        response={201: dict[str, Any], **ERRORS},
        auth=django_auth,
        operation_id=f"programme_{resource.key}_create",
        summary=f"Add a {label} ({writers})",
    )
    def create_record(request, payload: Body[dict[str, Any]]):
        city = request_city(request)
        fields = dict(payload)
        spec = services.SPECS[resource.key]
        if spec.parent == "programme" and fields.get("programme") in (None, ""):
            fields["programme"] = selectors.programme_of(city)
        obj = services.create(actor=request.auth, model=resource.key, city=city, **fields)
        return Status(201, _row(obj))

    @router.patch(
        f"{path}/{{record_id}}",
        response={200: dict[str, Any], **ERRORS},
        auth=django_auth,
        operation_id=f"programme_{resource.key}_update",
        summary=f"Change a {label}; only the fields sent change ({writers})",
    )
    def update_record(request, record_id: int, payload: Body[dict[str, Any]]):
        obj = _record(request, resource, record_id)
        return _row(services.update(actor=request.auth, obj=obj, **payload))

    @router.delete(
        f"{path}/{{record_id}}",
        response={204: None, **ERRORS},
        auth=django_auth,
        operation_id=f"programme_{resource.key}_delete",
        summary=f"Delete a {label} ({writers})",
    )
    def delete_record(request, record_id: int):
        obj = _record(request, resource, record_id)
        services.delete(actor=request.auth, obj=obj)
        return Status(204, None)


_KEYS: dict[type[models.Model], str] = {spec.model: key for key, spec in services.SPECS.items()}
for _resource in RESOURCES:
    _register(_resource)
