"""Open311 GeoReport v2 at /open311/v2/: plain Django views translating the standard to the reports
module's selectors and services.

Each endpoint answers in `.xml` or `.json` (the suffix), errors in the spec's own body with 400 (bad
input), 403 (API key), 404 (unknown), plus 429 (a key over its rate). The city is the jurisdiction:
`jurisdiction_id` is its slug, optional where the request already names one city (only one city served,
its host name, or the /c/<slug>/ prefix).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from dothi.core import cities
from dothi.core.errors import DomainError, NotFound, RateLimited
from dothi.core.models import City
from dothi.reports import selectors, services
from dothi.reports.models import (
    Category,
    CategoryAttribute,
    Channel,
    Open311Key,
    Report,
    ReportEvent,
    ReportPhoto,
)
from dothi.reports.open311 import params, render, serialisers

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this adapter's documents last changed shape (discovery's "changeset").
CHANGESET = "2026-05-01T00:00:00Z"
FORMATS = ["text/xml", "application/json"]
# Timeline events that are service request updates (status changes and the agency's public answers).
UPDATE_KINDS = (ReportEvent.Kind.STATUS, ReportEvent.Kind.RESPONSE)
DESCRIPTION_MAX = 5000


class Open311Error(Exception):
    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status = status
        self.description = str(description)


def _status_for(exc: DomainError) -> int:
    # The spec knows 400, 403 and 404; a key over its rate gets 429 with the same body.
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, RateLimited):
        return 429
    return 400


def endpoint(*methods: str) -> Callable:
    """Wrap a view(request, fmt, city-resolving params...) so every failure becomes the spec's error body."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, fmt: str, **kwargs: Any) -> HttpResponse:
            allowed = {*methods, "HEAD"} if "GET" in methods else set(methods)
            if request.method not in allowed:
                response = render.errors(fmt, 405, _("Method not allowed."))
                response["Allow"] = ", ".join(sorted(allowed))
                return response
            try:
                return view(request, fmt, **kwargs)
            except Open311Error as exc:
                return render.errors(fmt, exc.status, exc.description)
            except params.BadParameter as exc:
                return render.errors(fmt, 400, exc.message)
            except DomainError as exc:
                return render.errors(fmt, _status_for(exc), exc.message)
            except PermissionDenied as exc:
                return render.errors(fmt, 403, str(exc) or _("Not allowed."))
            except (SuspiciousOperation, MultiPartParserError):
                # A body too large, too many fields or a broken multipart: still the spec's 400.
                return render.errors(fmt, 400, _("The request body could not be read."))

        return wrapped

    return decorator


# --- Jurisdiction and key ------------------------------------------------------------------------


def _jurisdiction(request: HttpRequest, data=None, *, required: bool = True) -> City | None:
    slug = params.text(data if data is not None else request.GET, "jurisdiction_id", max_length=100)
    if not slug and data is not None:
        slug = params.text(request.GET, "jurisdiction_id", max_length=100)
    if slug:
        city = cities.city_by_slug(slug)
        if city is None:
            raise Open311Error(404, _("Unknown jurisdiction_id."))
        return city
    city = getattr(request, "city", None)
    if city is None and required:
        raise Open311Error(400, _("jurisdiction_id is required: this server serves several cities."))
    return city


def _api_key(request: HttpRequest, city: City) -> Open311Key:
    plaintext = params.text(request.POST, "api_key", max_length=200) or params.text(
        request.GET, "api_key", max_length=200
    )
    if not plaintext:
        raise Open311Error(403, _("An api_key is required to submit a service request."))
    key = services.open311_key_lookup(city=city, plaintext=plaintext)
    if key is None:
        # Unknown, revoked, or another city's key: one answer, so keys cannot be probed per city.
        raise Open311Error(403, _("Invalid api_key."))
    return key


# --- Discovery and services ----------------------------------------------------------------------


@endpoint("GET")
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    city = _jurisdiction(request, required=False)
    policy = (city.settings or {}).get("reports", {}) if city else {}
    base = request.build_absolute_uri(request.path.rsplit("/", 1)[0] + "/")
    body = {
        "changeset": CHANGESET,
        "contact": str(policy.get("open311_contact") or (city.name if city else "")),
        "key_service": str(
            policy.get("open311_key_service")
            or _("API keys for submitting service requests are issued by the city administration.")
        ),
        "endpoints": [{
            "specification": SPECIFICATION,
            "url": base,
            "changeset": CHANGESET,
            "type": "production",
            "formats": FORMATS,
        }],
    }
    return render.document(fmt, "discovery", body)


@endpoint("GET")
def service_list(request: HttpRequest, fmt: str) -> HttpResponse:
    city = _jurisdiction(request)
    asks = CategoryAttribute.objects.filter(category=OuterRef("pk"))
    categories = Category.objects.for_city(city).filter(is_active=True).annotate(asks=Exists(asks))
    body = [serialisers.service(c, has_attributes=c.asks) for c in categories]
    return render.document(fmt, "services", body)


@endpoint("GET")
def service_definition(request: HttpRequest, fmt: str, code: str) -> HttpResponse:
    city = _jurisdiction(request)
    try:
        category = selectors.category_by_code(city=city, code=code)
    except DomainError:
        raise Open311Error(404, _("Unknown service_code."))
    attributes = sorted(category.attributes.all(), key=lambda a: (a.order, a.code))
    return render.document(fmt, "service_definition", serialisers.service_definition(category, attributes))


# --- Service requests ----------------------------------------------------------------------------

# The columns a list page needs: a narrow row read keeps a page of 1M-row tables cheap.
LIST_FIELDS = (
    "id", "reference", "status", "submitted_at", "updated_at", "due_at", "address", "lat", "lon",
    "description", "public_description", "commune__code", "commune__name",
    "category__id", "category__code", "category__name_vi", "category__name_en",
    "agency__id", "agency__name_vi", "agency__name_en",
)


def _first_photos(request: HttpRequest, reports: list[Report]) -> dict[int, str]:
    """The absolute URL of each report's first public photo, in one query for the page."""
    references = {r.pk: r.reference for r in reports}
    urls: dict[int, str] = {}
    photos = (
        ReportPhoto.objects.filter(report_id__in=list(references), kind=ReportPhoto.Kind.REPORT, hidden=False)
        .order_by("report_id", "created_at", "id")
        .values_list("report_id", "token")
    )
    for report_id, token in photos:
        if report_id not in urls:
            urls[report_id] = serialisers.photo_url(request, references[report_id], token)
    return urls


def _latest_responses(report_ids: list[int]) -> dict[int, str]:
    """Each report's latest public answer (status_notes): a response, or the text of a status change
    (a resolution's response, a rejection's reason), in one query for the page."""
    notes: dict[int, str] = {}
    events = (
        ReportEvent.objects.filter(report_id__in=report_ids, public=True, kind__in=UPDATE_KINDS)
        .exclude(text="")
        .order_by("report_id", "-at", "-id")
        .only("id", "report_id", "text")
    )
    for event in events:
        notes.setdefault(event.report_id, event.text[: serialisers.DESCRIPTION_MAX])
    return notes


def _render_requests(request: HttpRequest, fmt: str, reports: list[Report], *, extensions: bool
                     ) -> HttpResponse:
    ids = [r.pk for r in reports]
    photos = _first_photos(request, reports) if ids else {}
    notes = _latest_responses(ids) if ids else {}
    body = [
        serialisers.request(r, media_url=photos.get(r.pk), status_notes=notes.get(r.pk),
                            extensions=extensions)
        for r in reports
    ]
    return render.document(fmt, "service_requests", body)


def _list_requests(request: HttpRequest, fmt: str) -> HttpResponse:
    city = _jurisdiction(request)
    q = request.GET
    extensions = params.flag(q, "extensions")
    qs = selectors.public_reports(city=city)
    fields = LIST_FIELDS
    ids = params.id_list(q, "service_request_id")
    if ids:
        # The spec: a list of ids overrides every other filter.
        reports = list(qs.filter(reference__in=ids).only(*fields).order_by("-updated_at", "-id"))
        return _render_requests(request, fmt, reports, extensions=extensions)

    codes = [c.strip() for c in params.text(q, "service_code", max_length=1000).split(",") if c.strip()]
    if codes:
        # Resolve the codes first: with literal category ids the planner sees how rare a category is
        # and picks the (city, category, status) index instead of scanning every report by date.
        chosen = Category.objects.for_city(city).filter(code__in=codes)
        qs = qs.filter(category_id__in=list(chosen.values_list("id", flat=True)))
    statuses = {s.strip().lower() for s in params.text(q, "status", max_length=20).split(",") if s.strip()}
    if statuses - {"open", "closed"}:
        raise params.BadParameter(_("status must be open or closed."))
    if len(statuses) == 1:
        qs = qs.filter(status__in=selectors._statuses(statuses.pop()))
    for name, lookup in (("start_date", "submitted_at__gte"), ("end_date", "submitted_at__lte"),
                         ("updated_after", "updated_at__gte"), ("updated_before", "updated_at__lte")):
        value = params.datetime(q, name)
        if value is not None:
            qs = qs.filter(**{lookup: value})
    page = params.positive_int(q, "page", default=1, maximum=params.PAGE_MAX)
    size = params.positive_int(q, "page_size", default=params.PAGE_SIZE_DEFAULT, maximum=params.PAGE_SIZE_MAX)
    start = (page - 1) * size
    # Newest change first with the id as tie-breaker: stable pages, an index range scan with a LIMIT,
    # and no COUNT(*).
    reports = list(qs.only(*fields).order_by("-updated_at", "-id")[start:start + size])
    return _render_requests(request, fmt, reports, extensions=extensions)


def _contact(data) -> dict[str, str] | None:
    first = params.text(data, "first_name", max_length=100)
    last = params.text(data, "last_name", max_length=100)
    contact = {
        "name": " ".join(part for part in (first, last) if part),
        "email": params.text(data, "email", max_length=254),
        "phone": params.text(data, "phone", max_length=30),
    }
    return contact if any(contact.values()) else None


def _description(data) -> str:
    description = data.get("description", "")
    description = description.strip() if isinstance(description, str) else ""
    media_url = params.text(data, "media_url", max_length=500)
    # A client's own photo link is kept for the agency as text (never fetched, never rendered as a link).
    if media_url.startswith(("https://", "http://")):
        description = f"{description}\n\n{_('Photo')}: {media_url}".strip()
    return description


def _submit(request: HttpRequest, fmt: str) -> HttpResponse:
    data = request.POST
    city = _jurisdiction(request, data)
    key = _api_key(request, city)

    code = params.text(data, "service_code", max_length=60)
    if not code:
        raise params.BadParameter(_("service_code is required."))
    lat, lon = params.float_value(data, "lat"), params.float_value(data, "long")
    if lat is None or lon is None:
        # address_string / address_id alone cannot be placed: the city routes by the point.
        raise params.BadParameter(_("lat and long are required: this server needs the location as a point."))
    idempotency = request.headers.get("Idempotency-Key", "").strip()
    if len(idempotency) > 100:
        raise params.BadParameter(_("The Idempotency-Key header is too long."))

    report = services.report_submit(
        city=city,
        category_code=code,
        description=_description(data),
        lat=lat,
        lon=lon,
        actor=None,
        channel=Channel.OPEN311,
        attributes=params.attributes(data),
        photos=tuple(request.FILES.getlist("media")),
        address=params.text(data, "address_string", max_length=300),
        contact=_contact(data),
        open311_key=key,
        idempotency_key=idempotency,
        request=request,
    )
    notice = _("Sent to %(agency)s.") % {"agency": report.agency.name}
    if report.due_at:
        notice += " " + _("Expected by %(date)s.") % {"date": date_format(timezone.localtime(report.due_at),
                                                                           "SHORT_DATE_FORMAT")}
    body = [{"service_request_id": report.reference, "service_notice": notice, "account_id": None}]
    return render.document(fmt, "service_requests", body)


@csrf_exempt  # an API key, not a browser session, authorises the POST
@endpoint("GET", "POST")
def service_requests(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _submit(request, fmt)
    return _list_requests(request, fmt)


@endpoint("GET")
def service_request(request: HttpRequest, fmt: str, request_id: str) -> HttpResponse:
    city = _jurisdiction(request)
    extensions = params.flag(request.GET, "extensions")
    # Only public reports: a confidential or hidden one answers exactly like one that does not exist.
    report = selectors.public_reports(city=city).filter(reference=request_id[:24]).first()
    if report is None:
        raise Open311Error(404, _("Unknown service_request_id."))
    return _render_requests(request, fmt, [report], extensions=extensions)


@endpoint("GET")
def token(request: HttpRequest, fmt: str, token: str) -> HttpResponse:
    _jurisdiction(request)
    # Requests are created synchronously: a POST answers the service_request_id at once and no
    # token is ever issued, so every token is unknown.
    raise Open311Error(
        404, _("Unknown token: this server creates service requests at once and issues no tokens.")
    )


@endpoint("GET")
def request_updates(request: HttpRequest, fmt: str) -> HttpResponse:
    """FixMyStreet's GET Service Request Updates: the public status changes and answers of public reports."""
    city = _jurisdiction(request)
    q = request.GET
    events = ReportEvent.objects.filter(
        report__in=selectors.public_reports(city=city).order_by().values("pk"),
        public=True,
        kind__in=UPDATE_KINDS,
    )
    for name, lookup in (("start_date", "at__gte"), ("end_date", "at__lte")):
        value = params.datetime(q, name)
        if value is not None:
            events = events.filter(**{lookup: value})
    page = params.positive_int(q, "page", default=1, maximum=params.PAGE_MAX)
    size = params.positive_int(q, "page_size", default=params.PAGE_SIZE_DEFAULT, maximum=params.PAGE_SIZE_MAX)
    start = (page - 1) * size
    rows = list(
        events.select_related("report")
        .only("id", "at", "kind", "to_status", "text", "report__id", "report__reference", "report__status")
        .order_by("-at", "-id")[start:start + size]
    )
    body = [serialisers.update(e, e.report, media_url=None) for e in rows]
    return render.document(fmt, "service_request_updates", body)
