"""Warnings API under /api/v1/alerts/: the active warnings and news (public, paginated, by category or
commune), one warning, the citizen's subscription (areas, categories, lowest severity) and "are you
safe?" answer, and for staff the manual workflow: draft, approve (publish), reject, update (a new CAP
Update message) and cancel.

Sessions and CSRF as in the identity API: writes and personal reads use ninja's `django_auth` (which
enforces Django's CSRF check), so a client first calls GET /api/v1/identity/csrf and sends the token in
`X-CSRFToken`. Errors are `{"code", "message", "field"}` in the user's language; bad input stores
nothing. Times are ISO 8601 with the city's offset (2026-12-04T16:30:00+07:00); a time sent without an
offset is read in the city's time zone. Standard clients use CAP 1.2 at /alerts/<uid>.cap.xml and the
Atom feed at /alerts/feed.atom instead. Attachments are added on the staff pages (multipart), not here.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.paginator import Paginator
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.security import django_auth

from dothi.alerts import selectors, services
from dothi.alerts.models import CapMessage, PublicWarning
from dothi.core.cities import request_city
from dothi.core.permissions import can, require
from dothi.core.ratelimit import limit_citizen_write

router = Router(tags=["alerts"])
PAGE_SIZE = 20

UrgencyCode = Literal["Immediate", "Expected", "Future", "Past", "Unknown"]
SeverityCode = Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"]
CertaintyCode = Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"]


class Error(Schema):
    code: str
    message: str
    field: str | None = None


ERRORS: dict[int | str, Any] = {
    400: Error, 401: Error, 403: Error, 404: Error, 409: Error, 422: Error, 429: Error,
}


def _iso(city, moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(ZoneInfo(city.time_zone or settings.TIME_ZONE)).isoformat()


def _aware(city, moment: datetime | None) -> datetime | None:
    """A time sent without an offset means the city's wall-clock time."""
    if moment is None or timezone.is_aware(moment):
        return moment
    return timezone.make_aware(moment, ZoneInfo(city.time_zone or settings.TIME_ZONE))


def _url(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


# --- Output -----------------------------------------------------------------------------------------


class CategoryOut(Schema):
    code: str
    name: str
    cap_category: str
    is_news: bool


class AttachmentOut(Schema):
    description: str
    mime_type: str
    size: int
    sha256: str
    url: str


class WarningOut(Schema):
    uid: str
    status: str = Field(description="draft, published, ended, cancelled or rejected")
    source: str = Field(description="manual, or rule (raised automatically from sensor data)")
    category: CategoryOut
    urgency: str
    severity: str
    certainty: str
    headline: str = Field(description="In the request's language (Vietnamese when there is no English)")
    headline_vi: str
    headline_en: str
    description_vi: str
    description_en: str
    instruction_vi: str
    instruction_en: str
    area_desc_vi: str
    area_desc_en: str
    commune_codes: list[str] = Field(description="Every commune the area touches")
    polygon: dict | None = Field(None, description="GeoJSON Polygon or MultiPolygon (WGS84), if drawn")
    onset_at: str | None
    effective_at: str
    expires_at: str | None
    asks_safety: bool = Field(description="Whether people in the area are asked “are you safe?”")
    version: int = Field(description="The newest published version (0 for a draft)")
    published_at: str | None
    ended_at: str | None
    reason: str = Field(description="Why it was rejected or cancelled")
    url: str
    cap_url: str = Field(description="The newest CAP 1.2 message (empty for a draft)")
    attachments: list[AttachmentOut]


def _warning_out(w: PublicWarning) -> WarningOut:
    city = w.city
    public = w.status not in (PublicWarning.Status.DRAFT, PublicWarning.Status.REJECTED)
    return WarningOut(
        uid=str(w.uid),
        status=w.status,
        source=w.source,
        category=CategoryOut(
            code=w.category.code, name=w.category.name, cap_category=w.category.cap_category,
            is_news=w.category.is_news,
        ),
        urgency=w.urgency,
        severity=w.severity,
        certainty=w.certainty,
        headline=w.headline,
        headline_vi=w.headline_vi,
        headline_en=w.headline_en,
        description_vi=w.description_vi,
        description_en=w.description_en,
        instruction_vi=w.instruction_vi,
        instruction_en=w.instruction_en,
        area_desc_vi=w.area_desc_vi,
        area_desc_en=w.area_desc_en,
        commune_codes=list(w.commune_codes or []),
        polygon=w.polygon,
        onset_at=_iso(city, w.onset_at),
        effective_at=_iso(city, w.effective_at),
        expires_at=_iso(city, w.expires_at),
        asks_safety=w.asks_safety,
        version=w.version,
        published_at=_iso(city, w.published_at),
        ended_at=_iso(city, w.ended_at),
        reason=w.reason,
        url=_url("alerts:detail", w.uid) if public else _url("alerts:staff_detail", w.uid),
        cap_url=_url("alerts:cap", w.uid) if public and w.version else "",
        attachments=[
            AttachmentOut(
                description=a.description, mime_type=a.mime_type, size=a.size, sha256=a.sha256,
                url=_url("alerts:attachment", w.uid, a.pk) if public else "",
            )
            for a in w.attachments.all()
        ],
    )


class WarningPage(Schema):
    count: int
    page: int
    page_size: int
    num_pages: int
    results: list[WarningOut]


class MessageOut(Schema):
    version: int
    msg_type: str = Field(description="Alert, Update or Cancel")
    identifier: str
    sent_at: str
    url: str = Field(description="The message as CAP 1.2 XML")


class PublishedOut(Schema):
    warning: WarningOut
    message: MessageOut


def _published(warning: PublicWarning, message: CapMessage) -> PublishedOut:
    warning.refresh_from_db()
    return PublishedOut(
        warning=_warning_out(warning),
        message=MessageOut(
            version=message.version,
            msg_type=message.msg_type,
            identifier=message.identifier,
            sent_at=_iso(warning.city, message.sent_at) or "",
            url=_url("alerts:cap_version", warning.uid, message.version),
        ),
    )


# --- Public reads -----------------------------------------------------------------------------------


class WarningQuery(Schema):
    category: str | None = Field(None, max_length=40, description="A category code")
    commune: str | None = Field(None, max_length=5, description="A commune code: warnings whose area has it")
    page: int = Field(1, ge=1, le=100_000)


@router.get(
    "/warnings",
    response={200: WarningPage, **ERRORS},
    auth=None,
    summary="Active warnings and news, worst severity first (paginated)",
)
def list_warnings(request, q: Query[WarningQuery]):
    city = request_city(request)
    qs = selectors.active_warnings(city, commune_code=q.commune or None, category=q.category or None)
    paginator = Paginator(qs.prefetch_related("attachments"), PAGE_SIZE)
    # Past the last page: an empty page (a client paging on stops there), not the last one again.
    rows = paginator.page(q.page).object_list if q.page <= paginator.num_pages else []
    return WarningPage(
        count=paginator.count,
        page=q.page,
        page_size=PAGE_SIZE,
        num_pages=paginator.num_pages,
        results=[_warning_out(w) for w in rows],
    )


def _visible(request, uid: uuid.UUID) -> PublicWarning:
    """A published (or ended, cancelled) warning; staff who draft also see drafts and rejected ones."""
    city = request_city(request)
    return selectors.warning_by_uid(city, uid, public=not can(request.user, "alerts.draft", city))


@router.get(
    "/warnings/{uid}",
    response={200: WarningOut, **ERRORS},
    auth=None,
    summary="One warning (drafts only for staff who draft)",
)
def get_warning(request, uid: uuid.UUID):
    return _warning_out(_visible(request, uid))


# --- The citizen's subscription and "are you safe?" answer ------------------------------------------


class SubscriptionOut(Schema):
    subscribed: bool = Field(description="False until the person first saves their choice")
    home_commune: str | None
    work_commune: str | None
    extra_communes: list[str]
    categories: list[str] = Field(description="Category codes; empty means every category")
    min_severity: str
    is_active: bool


class SubscriptionIn(Schema):
    home_commune: str | None = Field(None, max_length=5, description="Commune code")
    work_commune: str | None = Field(None, max_length=5, description="Commune code")
    extra_communes: list[str] = Field(default_factory=list, max_length=50, description="Commune codes")
    categories: list[str] = Field(
        default_factory=list, max_length=50, description="Category codes; empty means every category"
    )
    min_severity: SeverityCode = "Unknown"


def _subscription_out(sub) -> SubscriptionOut:
    if sub is None:
        return SubscriptionOut(
            subscribed=False, home_commune=None, work_commune=None, extra_communes=[], categories=[],
            min_severity="Unknown", is_active=False,
        )
    return SubscriptionOut(
        subscribed=True,
        home_commune=sub.home_commune_id,
        work_commune=sub.work_commune_id,
        extra_communes=list(sub.extra_communes or []),
        categories=sub.category_codes(),
        min_severity=sub.min_severity,
        is_active=sub.is_active,
    )


@router.get(
    "/subscription",
    response={200: SubscriptionOut, **ERRORS},
    auth=django_auth,
    summary="My areas and categories for warnings (citizens)",
)
def get_subscription(request):
    city = request_city(request)
    require(request.auth, "alerts.subscribe", city)
    return _subscription_out(selectors.subscription_of(request.auth, city))


@router.put(
    "/subscription",
    response={200: SubscriptionOut, **ERRORS},
    auth=django_auth,
    summary="Choose my areas (home, work, other communes), categories and lowest severity (citizens)",
)
def put_subscription(request, payload: SubscriptionIn):
    limit_citizen_write(request, "alerts.subscribe")
    sub = services.subscription_set(
        actor=request.auth,
        city=request_city(request),
        home_commune=payload.home_commune or None,
        work_commune=payload.work_commune or None,
        extra_communes=tuple(payload.extra_communes),
        categories=tuple(payload.categories),
        min_severity=payload.min_severity,
    )
    return _subscription_out(sub)


class SafetyIn(Schema):
    status: Literal["safe", "need_help"]
    note: str = Field("", max_length=500)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)


class SafetyOut(Schema):
    warning: str
    status: str
    note: str
    lat: float | None
    lon: float | None
    commune: str | None
    updated_at: str


@router.post(
    "/warnings/{uid}/safety",
    response={200: SafetyOut, **ERRORS},
    auth=django_auth,
    summary="Answer a warning's “are you safe?”: safe or need_help, a note, a location (citizens)",
)
def safety(request, uid: uuid.UUID, payload: SafetyIn):
    limit_citizen_write(request, "alerts.safety")
    warning = selectors.warning_by_uid(request_city(request), uid)
    reply = services.safety_reply(
        actor=request.auth, warning=warning, status=payload.status, note=payload.note, lat=payload.lat,
        lon=payload.lon,
    )
    return SafetyOut(
        warning=str(warning.uid),
        status=reply.status,
        note=reply.note,
        lat=reply.lat,
        lon=reply.lon,
        commune=reply.commune_id,
        updated_at=_iso(warning.city, reply.updated_at) or "",
    )


# --- Staff: the manual workflow ---------------------------------------------------------------------


class WarningFields(Schema):
    """The fields of a manual warning; on an update, only those sent change."""

    category: str = Field(max_length=40, description="A category code of the city")
    urgency: UrgencyCode = "Expected"
    severity: SeverityCode = "Moderate"
    certainty: CertaintyCode = "Likely"
    headline_vi: str = Field(max_length=160)
    headline_en: str = Field("", max_length=160)
    description_vi: str = Field("", max_length=5000)
    description_en: str = Field("", max_length=5000)
    instruction_vi: str = Field("", max_length=3000)
    instruction_en: str = Field("", max_length=3000)
    commune_codes: list[str] = Field(default_factory=list, max_length=500, description="Commune codes")
    polygon: dict | None = Field(None, description="GeoJSON Polygon or MultiPolygon (WGS84) inside the city")
    area_desc_vi: str = Field("", max_length=300)
    area_desc_en: str = Field("", max_length=300)
    onset_at: datetime | None = None
    effective_at: datetime | None = Field(None, description="Empty: when it is approved")
    expires_at: datetime | None = None
    asks_safety: bool | None = Field(None, description="Empty: as the category says")


class WarningDraftIn(WarningFields):
    pass


class WarningUpdateIn(WarningFields):
    category: str | None = Field(None, max_length=40, description="A category code of the city")
    urgency: UrgencyCode | None = None
    severity: SeverityCode | None = None
    certainty: CertaintyCode | None = None
    headline_vi: str | None = Field(None, max_length=160)


def _fields(city, payload: WarningFields, *, only_sent: bool) -> dict[str, Any]:
    fields = payload.model_dump(exclude_unset=only_sent)
    if only_sent:
        # null for a required field means "unchanged", not "empty".
        for name in ("category", "urgency", "severity", "certainty", "headline_vi"):
            if fields.get(name, "") is None:
                fields.pop(name)
    for name in ("onset_at", "effective_at", "expires_at"):
        if name in fields:
            fields[name] = _aware(city, fields[name])
    if "commune_codes" in fields:
        fields["commune_codes"] = list(fields["commune_codes"] or [])
    return fields


def _staff_warning(request, uid: uuid.UUID) -> PublicWarning:
    return selectors.warning_by_uid(
        request_city(request), uid, public=not can(request.auth, "alerts.draft", request_city(request))
    )


@router.post(
    "/warnings",
    response={201: WarningOut, **ERRORS},
    auth=django_auth,
    summary="Draft a manual warning or news item (staff who draft); published once approved",
)
def draft(request, payload: WarningDraftIn):
    city = request_city(request)
    warning = services.warning_draft(actor=request.auth, city=city, **_fields(city, payload, only_sent=False))
    return Status(201, _warning_out(warning))


@router.post(
    "/warnings/{uid}/approve",
    response={200: PublishedOut, **ERRORS},
    auth=django_auth,
    summary="Approve a draft and publish it as a CAP Alert (approvers; not the draft's author)",
)
def approve(request, uid: uuid.UUID):
    warning = _staff_warning(request, uid)
    message = services.warning_approve(actor=request.auth, warning=warning)
    return _published(warning, message)


class ReasonIn(Schema):
    reason: str = Field(min_length=1, max_length=300)


@router.post(
    "/warnings/{uid}/reject",
    response={200: WarningOut, **ERRORS},
    auth=django_auth,
    summary="Reject a draft, with a reason for its author (approvers)",
)
def reject(request, uid: uuid.UUID, payload: ReasonIn):
    warning = _staff_warning(request, uid)
    services.warning_reject(actor=request.auth, warning=warning, reason=payload.reason)
    warning.refresh_from_db()
    return _warning_out(warning)


@router.post(
    "/warnings/{uid}/update",
    response={200: PublishedOut, **ERRORS},
    auth=django_auth,
    summary="Change a published warning: publishes a CAP Update referencing the earlier messages (approvers)",
)
def update(request, uid: uuid.UUID, payload: WarningUpdateIn):
    warning = _staff_warning(request, uid)
    fields = _fields(warning.city, payload, only_sent=True)
    message = services.warning_update(actor=request.auth, warning=warning, **fields)
    return _published(warning, message)


@router.post(
    "/warnings/{uid}/cancel",
    response={200: PublishedOut, **ERRORS},
    auth=django_auth,
    summary="Cancel a published warning, with a reason: publishes a CAP Cancel (approvers)",
)
def cancel(request, uid: uuid.UUID, payload: ReasonIn):
    warning = _staff_warning(request, uid)
    message = services.warning_cancel(actor=request.auth, warning=warning, reason=payload.reason)
    return _published(warning, message)
