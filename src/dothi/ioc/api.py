"""Control-centre API under /api/v1/ioc/, for staff with `ioc.view` (reads) and the manifest's other
operations (writes): the panels the modules contribute and their current data, the alarms and what
operators do with them (acknowledge, assign, close), the incident log, shift handovers, and one ward's
summary.

Sessions and CSRF as in the identity API (ninja's `django_auth`, which enforces Django's CSRF check: a
client first calls GET /api/v1/identity/csrf and sends the token in `X-CSRFToken`). Errors are
`{"code", "message", "field"}` in the user's language; bad input stores nothing. Times are ISO 8601
with the city's offset.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.security import django_auth

from dothi.core.cities import request_city
from dothi.core.errors import InvalidInput
from dothi.core.permissions import require
from dothi.ioc import selectors, services
from dothi.ioc.models import Alarm, IncidentEntry, ShiftHandover

router = Router(tags=["ioc"])


class Error(Schema):
    code: str
    message: str
    field: str | None = None


ERRORS: dict[int | str, Any] = {400: Error, 401: Error, 403: Error, 404: Error, 409: Error, 422: Error}


def _iso(city, moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(ZoneInfo(city.time_zone or settings.TIME_ZONE)).isoformat()


def _viewer(request):
    city = request_city(request)
    require(request.auth, "ioc.view", city)
    return city


def _person(user) -> dict | None:
    if user is None:
        return None
    return {"id": user.pk, "name": user.display_name or user.get_username()}


class PersonOut(Schema):
    id: int
    name: str


class PageInfo(Schema):
    count: int
    page: int
    page_size: int
    num_pages: int


def _page_info(page) -> dict:
    return {
        "count": page.paginator.count,
        "page": page.number,
        "page_size": page.paginator.per_page,
        "num_pages": page.paginator.num_pages,
    }


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=100_000)


# --- Panels -----------------------------------------------------------------------------------------


class PanelOut(Schema):
    code: str
    title: str
    kind: str = Field(description="geojson, counts, series or list (see core.manifests.Panel)")
    refresh_seconds: int
    default_on: bool = Field(description="A map layer shown when the screen opens")
    order: int


class PanelDataOut(Schema):
    code: str
    title: str
    kind: str
    refresh_seconds: int
    ok: bool = Field(description="False when the module failed: `data` is then empty")
    data: dict[str, Any] = Field(description="The panel's shape by `kind` (see core.manifests.Panel)")


@router.get(
    "/panels",
    response={200: list[PanelOut], **ERRORS},
    auth=django_auth,
    summary="The panels the modules contribute that I may see, in order",
)
def list_panels(request):
    city = _viewer(request)
    return [
        PanelOut(
            code=p.code,
            title=str(p.title),
            kind=p.kind,
            refresh_seconds=p.refresh_seconds,
            default_on=p.default_on,
            order=p.order,
        )
        for p in selectors.panels_for(request.auth, city)
    ]


@router.get(
    "/panels/{code}",
    response={200: PanelDataOut, **ERRORS},
    auth=django_auth,
    summary="One panel's current data",
)
def get_panel(request, code: str):
    city = _viewer(request)
    return selectors.panel_data(request.auth, city, code)


# --- Alarms -----------------------------------------------------------------------------------------


class AlarmOut(Schema):
    id: int
    key: str = Field(description="The condition, e.g. sensing.silent:DN-AQ-004: one alarm not closed per key")
    module: str
    kind: str
    level: str = Field(description="info, warning or danger")
    title: str
    detail: str
    url: str
    lon: float | None
    lat: float | None
    commune: str | None
    status: str = Field(description="open, acknowledged, assigned or closed")
    raised_at: str
    seen_at: str
    cleared_at: str | None = Field(description="When the module stopped reporting the condition")
    acknowledged_by: PersonOut | None
    acknowledged_at: str | None
    assigned_to: PersonOut | None
    assigned_at: str | None
    closed_by: PersonOut | None
    closed_at: str | None
    closing_note: str


def _alarm_out(a: Alarm) -> AlarmOut:
    city = a.city
    return AlarmOut(
        id=a.pk,
        key=a.key,
        module=a.module,
        kind=a.kind,
        level=a.level,
        title=a.title,
        detail=a.detail,
        url=a.url,
        lon=a.lon,
        lat=a.lat,
        commune=a.commune_id,
        status=a.status,
        raised_at=_iso(city, a.raised_at) or "",
        seen_at=_iso(city, a.seen_at) or "",
        cleared_at=_iso(city, a.cleared_at),
        acknowledged_by=_person(a.acknowledged_by),
        acknowledged_at=_iso(city, a.acknowledged_at),
        assigned_to=_person(a.assigned_to),
        assigned_at=_iso(city, a.assigned_at),
        closed_by=_person(a.closed_by),
        closed_at=_iso(city, a.closed_at),
        closing_note=a.closing_note,
    )


class AlarmCounts(Schema):
    active: int
    open: int
    acknowledged: int
    assigned: int
    danger: int
    warning: int
    info: int
    cleared: int


class AlarmPage(PageInfo):
    counts: AlarmCounts
    results: list[AlarmOut]


class AlarmQuery(PageQuery):
    status: Literal["active", "closed", "all"] = Field("active", description="active: not closed")
    level: Literal["info", "warning", "danger"] | None = None


@router.get(
    "/alarms",
    response={200: AlarmPage, **ERRORS},
    auth=django_auth,
    summary="Alarms (not closed by default: worst and newest first), paginated",
)
def list_alarms(request, q: Query[AlarmQuery]):
    city = _viewer(request)
    page = selectors.alarms(city, status=q.status, level=q.level, page=q.page)
    rows = [] if q.page > page.paginator.num_pages else list(page.object_list)
    for a in rows:
        a.city = city
    return AlarmPage(
        **_page_info(page),
        counts=AlarmCounts(**selectors.alarm_counts(city)),
        results=[_alarm_out(a) for a in rows],
    )


def _alarm(request, alarm_id: int) -> Alarm:
    city = request_city(request)
    require(request.auth, "ioc.alarm.handle", city)
    return selectors.alarm(city, alarm_id)


def _fresh(alarm: Alarm) -> AlarmOut:
    found = Alarm.objects.select_related("city", "acknowledged_by", "assigned_to", "closed_by").get(
        pk=alarm.pk
    )
    return _alarm_out(found)


@router.post(
    "/alarms/{alarm_id}/acknowledge",
    response={200: AlarmOut, **ERRORS},
    auth=django_auth,
    summary="Acknowledge an alarm (operators, city administrators)",
)
def acknowledge(request, alarm_id: int):
    alarm = _alarm(request, alarm_id)
    services.alarm_acknowledge(actor=request.auth, alarm=alarm)
    return _fresh(alarm)


class AssignIn(Schema):
    assignee: int = Field(description="The user id of a staff member of the city")


@router.post(
    "/alarms/{alarm_id}/assign",
    response={200: AlarmOut, **ERRORS},
    auth=django_auth,
    summary="Assign an alarm to a staff member of the city (operators, city administrators)",
)
def assign(request, alarm_id: int, payload: AssignIn):
    alarm = _alarm(request, alarm_id)
    assignee = get_user_model().objects.filter(pk=payload.assignee).first()
    if assignee is None:
        raise InvalidInput(_("Choose a staff member of this city."), field="assignee")
    services.alarm_assign(actor=request.auth, alarm=alarm, assignee=assignee)
    return _fresh(alarm)


class CloseIn(Schema):
    note: str = Field(max_length=services.NOTE_MAX, description="What was done (required)")


@router.post(
    "/alarms/{alarm_id}/close",
    response={200: AlarmOut, **ERRORS},
    auth=django_auth,
    summary="Close an alarm with a note (operators, city administrators)",
)
def close(request, alarm_id: int, payload: CloseIn):
    alarm = _alarm(request, alarm_id)
    services.alarm_close(actor=request.auth, alarm=alarm, note=payload.note)
    return _fresh(alarm)


# --- The incident log -------------------------------------------------------------------------------


class EntryOut(Schema):
    id: int
    at: str
    author: PersonOut
    kind: str = Field(description="note, action, call, decision, or alarm (written by the alarm actions)")
    text: str
    alarm: int | None
    commune: str | None


def _entry_out(city, e: IncidentEntry) -> EntryOut:
    return EntryOut(
        id=e.pk,
        at=_iso(city, e.at) or "",
        author=_person(e.author),
        kind=e.kind,
        text=e.text,
        alarm=e.alarm_id,
        commune=e.commune_id,
    )


class EntryPage(PageInfo):
    results: list[EntryOut]


@router.get(
    "/log",
    response={200: EntryPage, **ERRORS},
    auth=django_auth,
    summary="The incident log, newest first (paginated)",
)
def get_log(request, q: Query[PageQuery]):
    city = _viewer(request)
    page = selectors.log(city, page=q.page)
    rows = list(page.object_list) if q.page <= page.paginator.num_pages else []
    return EntryPage(**_page_info(page), results=[_entry_out(city, e) for e in rows])


class EntryIn(Schema):
    kind: Literal["note", "action", "call", "decision"] = "note"
    text: str = Field(max_length=services.TEXT_MAX)
    alarm: int | None = Field(None, description="An alarm of the city the entry is about")
    commune: str | None = Field(None, max_length=5, description="A commune code")


@router.post(
    "/log",
    response={201: EntryOut, **ERRORS},
    auth=django_auth,
    summary="Add an entry to the incident log (operators, city administrators)",
)
def add_log(request, payload: EntryIn):
    city = request_city(request)
    require(request.auth, "ioc.log.write", city)
    alarm = selectors.alarm(city, payload.alarm) if payload.alarm is not None else None
    entry = services.log_add(
        actor=request.auth,
        city=city,
        kind=payload.kind,
        text=payload.text,
        alarm=alarm,
        commune=payload.commune or None,
    )
    return Status(201, _entry_out(city, entry))


# --- Shift handovers --------------------------------------------------------------------------------


class SnapshotAlarm(Schema):
    id: int
    key: str
    title: str
    level: str
    status: str


class HandoverOut(Schema):
    id: int
    at: str
    handed_by: PersonOut
    handed_to: PersonOut | None = Field(description="Empty: whoever takes the next shift")
    notes: str
    open_alarms: list[SnapshotAlarm] = Field(description="The alarms not closed at the handover")
    accepted_at: str | None


def _handover_out(city, h: ShiftHandover) -> HandoverOut:
    return HandoverOut(
        id=h.pk,
        at=_iso(city, h.at) or "",
        handed_by=_person(h.handed_by),
        handed_to=_person(h.handed_to),
        notes=h.notes,
        open_alarms=h.open_alarms or [],
        accepted_at=_iso(city, h.accepted_at),
    )


class HandoverPage(PageInfo):
    results: list[HandoverOut]


@router.get(
    "/handovers",
    response={200: HandoverPage, **ERRORS},
    auth=django_auth,
    summary="Shift handovers, newest first (paginated)",
)
def list_handovers(request, q: Query[PageQuery]):
    city = _viewer(request)
    page = selectors.handovers(city, page=q.page)
    rows = list(page.object_list) if q.page <= page.paginator.num_pages else []
    return HandoverPage(**_page_info(page), results=[_handover_out(city, h) for h in rows])


class HandoverIn(Schema):
    notes: str = Field(max_length=services.TEXT_MAX)
    handed_to: int | None = Field(None, description="The user id of the operator taking over; empty: anyone")


@router.post(
    "/handovers",
    response={201: HandoverOut, **ERRORS},
    auth=django_auth,
    summary="Hand the shift over, with notes and a snapshot of the open alarms (operators)",
)
def create_handover(request, payload: HandoverIn):
    city = request_city(request)
    require(request.auth, "ioc.handover", city)
    handed_to = None
    if payload.handed_to is not None:
        handed_to = get_user_model().objects.filter(pk=payload.handed_to).first()
        if handed_to is None:
            raise InvalidInput(_("Choose an operator of this city."), field="handed_to")
    h = services.handover_create(actor=request.auth, city=city, notes=payload.notes, handed_to=handed_to)
    return Status(201, _handover_out(city, h))


@router.post(
    "/handovers/{handover_id}/accept",
    response={200: HandoverOut, **ERRORS},
    auth=django_auth,
    summary="Accept a handover: the operator it names, or any other operator when it names none",
)
def accept_handover(request, handover_id: int):
    city = request_city(request)
    require(request.auth, "ioc.handover", city)
    h = selectors.handover(city, handover_id)
    services.handover_accept(actor=request.auth, handover=h)
    h = ShiftHandover.objects.select_related("handed_by", "handed_to").get(pk=h.pk)
    return _handover_out(city, h)


# --- Wards ------------------------------------------------------------------------------------------


class WardItem(Schema):
    label: str
    value: Any = None
    level: str | None = None
    url: str | None = None


class WardSection(Schema):
    module: str
    label: str
    items: list[WardItem]


class WardOut(Schema):
    code: str
    name: str
    kind: str
    population: int | None
    sections: list[WardSection]
    open_alarms: list[int] = Field(description="Ids of the alarms not closed in the ward (at most 10)")


@router.get(
    "/wards/{code}",
    response={200: WardOut, **ERRORS},
    auth=django_auth,
    summary="One ward (commune): every module's figures, its population and its open alarms",
)
def get_ward(request, code: str):
    city = _viewer(request)
    s = selectors.ward_summary(city, code)
    sections = [
        {
            "module": sec["module"],
            "label": sec["label"],
            "items": [
                {
                    "label": str(i.get("label", "")),
                    "value": i.get("value"),
                    "level": i.get("level"),
                    "url": i.get("url"),
                }
                for i in sec["items"]
            ],
        }
        for sec in s["sections"]
    ]
    return WardOut(
        code=s["code"],
        name=s["name"],
        kind=s["kind"],
        population=s["population"],
        sections=sections,
        open_alarms=[a.pk for a in s["alarms"]],
    )
