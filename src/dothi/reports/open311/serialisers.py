"""The module's vocabulary translated into GeoReport v2 documents (neutral Python data; see render.py).

Ids and codes are strings, timestamps UTC, rich statuses folded into open/closed; nothing here reads a
reporter's identity or contact details, so nothing a client can fetch carries them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from dothi.reports.models import (
    OPEN_STATUSES,
    Category,
    CategoryAttribute,
    Report,
    ReportEvent,
    Status,
)
from dothi.reports.open311.render import utc

# The spec's description field is at most 4,000 characters (the community schema enforces it).
DESCRIPTION_MAX = 4000

# FixMyStreet's extended states for service request updates (its Open311 extension), lower case as it
# sends and reads them; a FixMyStreet-style client maps these without configuration.
FMS_STATES = {
    Status.RECEIVED: "open",
    Status.ASSIGNED: "action_scheduled",
    Status.IN_PROGRESS: "in_progress",
    Status.NEEDS_INFO: "investigating",
    Status.RESOLVED: "fixed",
    Status.CLOSED: "closed",
    Status.REJECTED: "no_further_action",
    Status.DUPLICATE: "duplicate",
    Status.REOPENED: "open",
}


def open_or_closed(status: str) -> str:
    return "open" if status in OPEN_STATUSES else "closed"


def detailed(status: str) -> str:
    """The rich status as FixMyStreet spells extended states in documents (IN_PROGRESS)."""
    return status.upper()


def service(category: Category, *, has_attributes: bool) -> dict[str, Any]:
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": category.description,
        "metadata": has_attributes,
        "type": "realtime",  # a POST creates the request at once and answers its id
        "keywords": category.keywords,
        "group": category.group,
    }


def _value_name(value: dict) -> str:
    english = (get_language() or "vi").startswith("en")
    name = value.get("name_en") if english else value.get("name_vi")
    for candidate in (name, value.get("name_vi"), value.get("name_en"), value.get("name"), value.get("key")):
        if candidate:
            return str(candidate)
    return ""


DATATYPE_DESCRIPTIONS = {
    CategoryAttribute.Datatype.NUMBER: lambda: _("A number, e.g. 12 or 3.5"),
    CategoryAttribute.Datatype.DATETIME: lambda: _("A date and time, e.g. 2026-05-01T08:30:00+07:00"),
    CategoryAttribute.Datatype.SINGLE: lambda: _("One of the keys listed in values"),
    CategoryAttribute.Datatype.MULTI: lambda: _("One or more of the keys listed in values"),
}


def attribute(attr: CategoryAttribute, position: int) -> dict[str, Any]:
    describe = DATATYPE_DESCRIPTIONS.get(attr.datatype)
    body: dict[str, Any] = {
        "variable": True,  # every question asks for input; none is display-only
        "code": attr.code,
        "datatype": attr.datatype,
        "required": attr.required,
        "datatype_description": describe() if describe else None,
        "order": position,
        "description": attr.label,
    }
    if attr.datatype in (CategoryAttribute.Datatype.SINGLE, CategoryAttribute.Datatype.MULTI):
        choices = [v for v in (attr.values or []) if isinstance(v, dict)]
        body["values"] = [{"key": str(v.get("key", "")), "name": _value_name(v)} for v in choices]
    return body


def service_definition(category: Category, attributes: Iterable[CategoryAttribute]) -> dict[str, Any]:
    return {
        "service_code": category.code,
        "attributes": [attribute(a, i) for i, a in enumerate(attributes, start=1)],
    }


def public_text(report: Report) -> str:
    """What the public may read of the description: the moderator's redaction when there is one."""
    text = report.public_description or report.description
    return text[:DESCRIPTION_MAX]


def request(
    report: Report,
    *,
    media_url: str | None,
    status_notes: str | None,
    extensions: bool = False,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "service_request_id": report.reference,
        "status": open_or_closed(report.status),
        "status_notes": status_notes,
        "service_name": report.category.name,
        "service_code": report.category.code,
        "description": public_text(report),
        "agency_responsible": report.agency.name,
        "service_notice": None,
        "requested_datetime": utc(report.submitted_at),
        "updated_datetime": utc(report.updated_at),
        "expected_datetime": utc(report.due_at),
        "address": report.address or None,
        "address_id": None,
        "zipcode": None,
        "lat": report.lat,
        "long": report.lon,
        "media_url": media_url,
    }
    if extensions:
        body["detailed_status"] = detailed(report.status)
        body["extended_attributes"] = {"commune": report.commune.name if report.commune_id else None}
    return body


def update(event: ReportEvent, report: Report, *, media_url: str | None) -> dict[str, Any]:
    status = event.to_status or report.status
    return {
        "update_id": str(event.pk),
        "service_request_id": report.reference,
        "status": FMS_STATES.get(status, open_or_closed(status)),
        "external_status_code": detailed(status),
        "updated_datetime": utc(event.at),
        "description": (event.text or "")[:DESCRIPTION_MAX],
        "media_url": media_url,
    }


def photo_url(request, reference: str, token: str) -> str:
    """The absolute URL of a report photo, served by the reports module's own view (which checks
    moderation), never the storage path."""
    return request.build_absolute_uri(reverse("reports:photo", args=[reference, token]))
