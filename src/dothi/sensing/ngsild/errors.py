"""NGSI-LD errors: RFC 7807 ProblemDetails with the ETSI error types (ETSI GS CIM 009, 5.5.2).

Every failure of the adapter is an `NgsiError`; the views turn it into a response, and a batch
operation puts its ProblemDetails into the 207 answer beside the entity it is about. The body is sent
as `application/json`, as the NGSI-LD API does for errors. HTTP-level problems the ETSI table has no type
for (no or a bad ingestion key, a method the resource does not have, a media type we do not speak)
use RFC 7807's `about:blank`, whose meaning is the status code itself.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _

ETSI = "https://uri.etsi.org/ngsi-ld/errors/"

# Type -> (HTTP status, title).
TYPES: dict[str, tuple[int, Any]] = {
    "InvalidRequest": (400, _("The request is not valid.")),
    "BadRequestData": (400, _("The request includes input data which does not meet the requirements.")),
    "AlreadyExists": (409, _("The entity already exists.")),
    "OperationNotSupported": (422, _("The operation is not supported.")),
    "ResourceNotFound": (404, _("The entity was not found.")),
    "NonexistentTenant": (404, _("The tenant does not exist.")),
    "TooManyResults": (403, _("The query would return too many results.")),
    "InternalError": (500, _("An internal error occurred.")),
}
# about:blank problems: their title is the status's own phrase (RFC 7807, 4.2).
HTTP_TITLES: dict[int, Any] = {
    401: _("Unauthorized"),
    403: _("Forbidden"),
    405: _("Method Not Allowed"),
    406: _("Not Acceptable"),
    413: _("Content Too Large"),
    415: _("Unsupported Media Type"),
}

PROBLEM_CONTENT_TYPE = "application/json"


class NgsiError(Exception):
    """An NGSI-LD error: `kind` is an ETSI error type name, or None with `status` for about:blank."""

    def __init__(self, kind: str | None, detail: Any = "", *, status: int | None = None):
        super().__init__(str(detail))
        if kind is not None and kind not in TYPES:
            raise ValueError(f"Unknown NGSI-LD error type {kind!r}")
        self.kind = kind
        self.detail = str(detail)
        self.status = TYPES[kind][0] if kind else (status or 400)

    @property
    def type_uri(self) -> str:
        return ETSI + self.kind if self.kind else "about:blank"

    @property
    def title(self) -> str:
        if self.kind:
            return str(TYPES[self.kind][1])
        return str(HTTP_TITLES.get(self.status, ""))

    def problem(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type_uri, "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        return body


def bad_request(detail: Any) -> NgsiError:
    return NgsiError("BadRequestData", detail)


def invalid_request(detail: Any) -> NgsiError:
    return NgsiError("InvalidRequest", detail)


def not_found(detail: Any) -> NgsiError:
    return NgsiError("ResourceNotFound", detail)


def response(error: NgsiError) -> HttpResponse:
    body = json.dumps(error.problem(), ensure_ascii=False).encode("utf-8")
    return HttpResponse(body, status=error.status, content_type=PROBLEM_CONTENT_TYPE)
