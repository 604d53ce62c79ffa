"""Reports API under /api/v1/reports/: categories with their questions, the routing preview, nearby
open reports, submitting (multipart, photos optional), the public view of a report, following and
rating.

Sessions and CSRF as in the identity API: writes use ninja's `django_auth` (which enforces Django's
CSRF check), so a client first calls GET /api/v1/identity/csrf and sends the token in `X-CSRFToken`.
A retried submission with the same `Idempotency-Key` header returns the report created the first time.
Standard clients use Open311 at /open311/v2/ instead.
"""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.security import django_auth

from dothi.core.cities import request_city
from dothi.core.errors import InvalidInput
from dothi.core.ratelimit import limit_citizen_write
from dothi.core.services import feedback_give
from dothi.reports import selectors, services
from dothi.reports.models import CategoryAttribute, Report, ReportEvent
from dothi.reports.models import Status as ReportStatus

router = Router(tags=["reports"])
FEEDBACK_SUBJECT = "reports.report"


class Error(Schema):
    code: str
    message: str
    field: str | None = None


ERRORS: dict[int | str, Any] = {
    400: Error,
    401: Error,
    403: Error,
    404: Error,
    409: Error,
    422: Error,
    429: Error,
}




# --- Categories ----------------------------------------------------------------------------------


class ChoiceOut(Schema):
    key: str
    name: str


class AttributeOut(Schema):
    code: str
    label: str
    datatype: str
    required: bool
    values: list[ChoiceOut]


class CategoryOut(Schema):
    code: str
    name: str
    description: str
    group: str
    confidential: bool
    deadline_working_days: int
    attributes: list[AttributeOut]


def _choice(value: dict, english: bool) -> ChoiceOut:
    name = (value.get("name_en") if english else "") or value.get("name_vi") or value.get("key", "")
    return ChoiceOut(key=str(value.get("key", "")), name=str(name))


def _attribute_out(a: CategoryAttribute, english: bool) -> AttributeOut:
    return AttributeOut(
        code=a.code,
        label=a.label,
        datatype=a.datatype,
        required=a.required,
        values=[_choice(v, english) for v in a.values or [] if isinstance(v, dict)],
    )


@router.get(
    "/categories", response=list[CategoryOut], auth=None, summary="Report categories and their questions"
)
def list_categories(request):
    english = (request.LANGUAGE_CODE or "vi").startswith("en")
    return [
        CategoryOut(
            code=c.code,
            name=c.name,
            description=c.description,
            group=c.group,
            confidential=c.confidential,
            deadline_working_days=c.deadline_working_days,
            attributes=[_attribute_out(a, english) for a in c.attributes.all()],
        )
        for c in selectors.categories(city=request_city(request))
    ]


# --- Before submitting --------------------------------------------------------------------------


class PointQuery(Schema):
    category: str = Field(max_length=60)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class AgencyOut(Schema):
    code: str
    name: str


@router.get(
    "/routing-preview",
    response={200: AgencyOut, **ERRORS},
    auth=None,
    summary="The agency a report of this category at this point would be sent to",
)
def routing_preview(request, q: Query[PointQuery]):
    agency = selectors.routing_preview(
        city=request_city(request), category_code=q.category, lat=q.lat, lon=q.lon
    )
    return AgencyOut(code=agency.code, name=agency.name)


class NearbyOut(Schema):
    reference: str
    status: str
    description: str
    distance_m: int
    lat: float
    lon: float
    submitted_at: str


@router.get(
    "/nearby",
    response={200: list[NearbyOut], **ERRORS},
    auth=None,
    summary="Open public reports of the same category within 250 m (to follow instead of filing)",
)
def nearby(request, q: Query[PointQuery]):
    city = request_city(request)
    selectors.category_by_code(city=city, code=q.category)
    return [
        NearbyOut(
            reference=r.reference,
            status=r.status,
            description=r.public_description or r.description,
            distance_m=r.distance_m,
            lat=r.lat,
            lon=r.lon,
            submitted_at=r.submitted_at.isoformat(),
        )
        for r in selectors.nearby_open_reports(city=city, category=q.category, lat=q.lat, lon=q.lon)
        if r.is_public
    ]


# --- Submitting and the public view ---------------------------------------------------------------


class ReportIn(Schema):
    category: str = Field(max_length=60)
    description: str = Field(max_length=5000)
    lat: float
    lon: float
    address: str = Field("", max_length=300)
    attributes: str = Field(
        "", max_length=20_000, description='The answers as a JSON object, e.g. {"depth": "deep"}'
    )


class EventOut(Schema):
    at: str
    kind: str
    status: str
    text: str


class PhotoOut(Schema):
    kind: str
    content_type: str
    url: str


class ReportOut(Schema):
    reference: str
    url: str
    category: str
    category_name: str
    status: str
    status_label: str
    commune: str
    commune_name: str
    agency: str
    description: str
    lat: float
    lon: float
    submitted_at: str
    due_at: str | None
    confidential: bool
    photos: list[PhotoOut]
    timeline: list[EventOut]


def _utc(moment) -> str:
    return moment.astimezone(UTC).isoformat()


def _report_out(report: Report, *, new_without_photos: bool = False) -> ReportOut:
    # The public shape: never the reporter, their contact, internal notes or moderated-away photos.
    # A report just created without photos has one event, its submission: no need to read it back.
    labels = dict(ReportStatus.choices)
    if new_without_photos:
        photos = []
        timeline = [EventOut(at=_utc(report.submitted_at), kind=ReportEvent.Kind.SUBMITTED,
                             status=report.status, text="")]
    else:
        photos = [
            PhotoOut(
                kind=p.kind,
                content_type=p.content_type,
                url=reverse("reports:photo", args=[report.reference, p.token]),
            )
            for p in selectors.public_photos(report)
        ]
        timeline = [
            EventOut(at=_utc(e.at), kind=e.kind, status=e.to_status, text=e.text)
            for e in selectors.public_timeline(report)
        ]
    return ReportOut(
        reference=report.reference,
        url=reverse("reports:detail", args=[report.reference]),
        category=report.category.code,
        category_name=report.category.name,
        status=report.status,
        status_label=str(labels.get(report.status, report.status)),
        commune=report.commune_id,
        commune_name=report.commune.name,
        agency=report.agency.name,
        description=report.public_description or report.description,
        lat=report.lat,
        lon=report.lon,
        submitted_at=_utc(report.submitted_at),
        due_at=_utc(report.due_at) if report.due_at else None,
        confidential=report.confidential,
        photos=photos,
        timeline=timeline,
    )


def _answers(text: str) -> dict:
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidInput(_("The answers must be a JSON object."), field="attributes")
    if not isinstance(value, dict):
        raise InvalidInput(_("The answers must be a JSON object."), field="attributes")
    return value


@router.post(
    "/",
    response={201: ReportOut, **ERRORS},
    auth=django_auth,
    summary="Submit a report (multipart form; photos optional; Idempotency-Key header)",
)
def submit(request, payload: Form[ReportIn], photos: File[list[UploadedFile]] = None):
    report = services.report_submit(
        city=request_city(request),
        category_code=payload.category,
        description=payload.description,
        lat=payload.lat,
        lon=payload.lon,
        actor=request.auth,
        attributes=_answers(payload.attributes),
        photos=photos or (),
        address=payload.address,
        idempotency_key=request.headers.get("Idempotency-Key", "")[:100],
        request=request,
    )
    fresh = getattr(report, "created_now", False) and not photos
    return Status(201, _report_out(report, new_without_photos=fresh))


def _report(request, reference: str) -> Report:
    return selectors.report_for_viewer(city=request_city(request), reference=reference, viewer=request.user)


@router.get("/{reference}", response={200: ReportOut, **ERRORS}, auth=None, summary="A report's public view")
def get_report(request, reference: str):
    return _report_out(_report(request, reference))


class FollowOut(Schema):
    reference: str
    following: bool


@router.post(
    "/{reference}/follow",
    response={200: FollowOut, **ERRORS},
    auth=django_auth,
    summary="Follow a report to be told of its progress",
)
def follow(request, reference: str):
    limit_citizen_write(request, "reports.follow")
    report = _report(request, reference)
    services.report_follow(actor=request.auth, report=report)
    return FollowOut(reference=report.reference, following=True)


class RatingIn(Schema):
    rating: int
    comment: str = Field("", max_length=2000)


class RatingOut(Schema):
    reference: str
    rating: int
    comment: str


@router.post(
    "/{reference}/rating",
    response={201: RatingOut, **ERRORS},
    auth=django_auth,
    summary="Rate the handling of my resolved report (1–5)",
)
def rate(request, reference: str, payload: RatingIn):
    limit_citizen_write(request, "core.feedback.give")
    report = _report(request, reference)
    services.validate_rating(author=request.auth, city=report.city, subject_id=report.reference)
    feedback = feedback_give(
        author=request.auth,
        city=report.city,
        subject_type=FEEDBACK_SUBJECT,
        subject_id=report.reference,
        rating=payload.rating,
        comment=payload.comment,
    )
    return Status(
        201, RatingOut(reference=report.reference, rating=feedback.rating, comment=feedback.comment)
    )
