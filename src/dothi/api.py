"""The platform's own JSON API (OpenAPI 3) under /api/v1/; each module contributes a router."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from dothi.core.errors import DomainError
from dothi.core.parsing import StrictParser

api = NinjaAPI(
    title="dothi API",
    version="1",
    description="The dothi smart-city platform's own API. Standards live elsewhere: Open311 at /open311/v2/, "
    "NGSI-LD at /ngsi-ld/v1/, CAP at /alerts/, CKAN at /api/3/action/.",
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
    parser=StrictParser(),
)


@api.exception_handler(DomainError)
def _domain_error(request, exc: DomainError):
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    # Ninja wraps a parser's refusal in HttpError(400); show the parser's own (translated) reason.
    if isinstance(exc.__cause__, DomainError):
        return _domain_error(request, exc.__cause__)
    message = _("The request could not be read.") if exc.status_code == 400 else str(exc)
    return api.create_response(request, {"code": "bad_request", "message": message}, status=exc.status_code)


@api.exception_handler(PermissionDenied)
def _denied(request, exc):
    message = str(exc) or _("You do not have permission to do this.")
    return api.create_response(request, {"code": "forbidden", "message": message}, status=403)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    body = {"code": "unauthenticated", "message": _("Please sign in.")}
    return api.create_response(request, body, status=401)


@api.exception_handler(Http404)
def _not_found(request, exc):
    return api.create_response(request, {"code": "not_found", "message": _("Not found.")}, status=404)


@api.exception_handler(ValidationError)
def _django_invalid(request, exc: ValidationError):
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    return api.create_response(
        request, {"code": "invalid", "message": _("Please correct the errors."), "errors": errors}, status=422
    )


@api.exception_handler(NinjaValidationError)
def _invalid(request, exc: NinjaValidationError):
    return api.create_response(
        request,
        {"code": "invalid", "message": _("The request is not valid."), "errors": exc.errors},
        status=422,
    )


def _mount() -> None:
    from dothi.alerts.api import router as alerts_router
    from dothi.appointments.api import router as appointments_router
    from dothi.core.api import router as core_router
    from dothi.identity.api import router as identity_router
    from dothi.ioc.api import router as ioc_router
    from dothi.kpis.api import router as kpis_router
    from dothi.layers.api import router as layers_router
    from dothi.programme.api import router as programme_router
    from dothi.reports.api import router as reports_router
    from dothi.sensing.api import router as sensing_router
    from dothi.surveys.api import router as surveys_router

    api.add_router("/", core_router)
    api.add_router("/identity/", identity_router)
    api.add_router("/reports/", reports_router)
    api.add_router("/appointments/", appointments_router)
    api.add_router("/sensing/", sensing_router)
    api.add_router("/alerts/", alerts_router)
    api.add_router("/layers/", layers_router)
    api.add_router("/ioc/", ioc_router)
    api.add_router("/programme/", programme_router)
    api.add_router("/kpis/", kpis_router)
    api.add_router("/surveys/", surveys_router)


_mount()
