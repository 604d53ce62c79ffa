"""The NGSI-LD API subset at /ngsi-ld/v1/ (ETSI GS CIM 009): plain Django views translating the standard
to the sensing module's registry, ingestion service and reads.

- `POST /entities` registers a sensor (an ingestion key); `GET /entities` queries them (`type`, `id`,
  `idPattern`, `attrs`, `q`, geo-queries, `local`, `limit`, `offset`, `count`, `options=keyValues`,
  `pick`/`omit`), also as GeoJSON;
- `GET` / `PATCH` (merge) / `DELETE /entities/{id}`, `POST` / `PATCH /entities/{id}/attrs`;
- `POST /entityOperations/create|upsert|update|delete`: 201/204 when every entity succeeded, else 207
  with `{"success": [ids], "errors": [{"entityId", "error": ProblemDetails}]}`;
- `GET /types` (`details=true`), `GET /types/{type}`;
- `GET /temporal/entities` and `/temporal/entities/{id}` (`timerel`, `timeAt`, `endTimeAt`, `lastN`,
  `attrs`, `options=temporalValues`).

The city is the tenant: the `NGSILD-Tenant` header names it by its slug (an unknown one is 404
NonexistentTenant), else the city the request is for (its host, /c/<slug>/, or the only one). Every path
is served with and without a trailing slash. (With several cities served and none named, a request with
an ingestion key is for the key's city.) Writing needs an ingestion key (`Authorization: Bearer`);
reading public sensors needs none.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from dothi.core import cities
from dothi.core.errors import DomainError, NotFound
from dothi.core.models import City
from dothi.sensing import catalogue, keys
from dothi.sensing.ngsild import entities, geo, ld, mapping, query, store
from dothi.sensing.ngsild.errors import NgsiError, bad_request, not_found
from dothi.sensing.ngsild.errors import response as error_response
from dothi.sensing.ngsild.read import Reader

TENANT_HEADER = "NGSILD-Tenant"
COUNT_HEADER = "NGSILD-Results-Count"
BATCH_MAX = 1000
BATCH_OPERATIONS = ("create", "upsert", "update", "delete")
TEMPORAL_LIMIT_MAX = 100
INSTANCES_MAX = 1000
# Candidates a q query is evaluated over (in memory, against the latest values).
Q_CANDIDATES_MAX = 50_000
TIMERELS = ("before", "after", "between")
# Parameters of the standard this subset does not implement: refused rather than ignored.
UNSUPPORTED_PARAMETERS = (
    "geoQ", "csf", "scopeQ", "join", "joinLevel", "containedBy", "entityMap", "aggrMethods",
    "aggrPeriodDuration",
)


def endpoint(*methods: str) -> Callable:
    """Wrap a view so every failure is an NGSI-LD ProblemDetails, and the tenant header is echoed."""

    def decorator(view: Callable) -> Callable:
        @csrf_exempt  # a key, not a browser session, authorises the writes
        @functools.wraps(view)
        def wrapped(request: HttpRequest, **kwargs: Any) -> HttpResponse:
            allowed = {*methods, "HEAD"} if "GET" in methods else set(methods)
            try:
                if request.method not in allowed:
                    methods_list = ", ".join(sorted(allowed))
                    raise NgsiError(None, _("Allowed: %(methods)s.") % {"methods": methods_list}, status=405)
                response = view(request, **kwargs)
            except NgsiError as exc:
                response = error_response(exc)
            except keys.IngestUnauthorized as exc:
                response = error_response(NgsiError(None, exc.message, status=401))
                response["WWW-Authenticate"] = 'Bearer realm="dothi ingestion"'
            except NotFound as exc:
                response = error_response(not_found(exc.message))
            except DomainError as exc:
                response = error_response(bad_request(exc.message))
            except PermissionDenied as exc:
                response = error_response(NgsiError(None, str(exc) or _("Not allowed."), status=403))
            except RequestDataTooBig:
                response = error_response(NgsiError(None, _("The request body is too large."), status=413))
            except SuspiciousOperation:
                response = error_response(bad_request(_("The request could not be read.")))
            if response.status_code == 405:
                response["Allow"] = ", ".join(sorted(allowed))
            tenant = request.headers.get(TENANT_HEADER)
            if tenant and len(tenant) <= 100 and response.status_code < 400:
                response[TENANT_HEADER] = tenant
            response.setdefault("Vary", "Accept, Link, NGSILD-Tenant")
            # Public data for any web page (writes need a key, never a cookie).
            response["Access-Control-Allow-Origin"] = "*"
            response["Access-Control-Expose-Headers"] = "Link, Location, NGSILD-Results-Count, NGSILD-Tenant"
            return response

        return wrapped

    return decorator


# --- Request context -------------------------------------------------------------------------------


def tenant(request: HttpRequest) -> City:
    name = (request.headers.get(TENANT_HEADER) or "").strip()
    if name:
        city = cities.city_by_slug(name) if re.fullmatch(r"[a-z0-9-]{1,40}", name) else None
        if city is None:
            raise NgsiError("NonexistentTenant", _("There is no tenant %(tenant)s: the tenant is a city's "
                                                   "short name.") % {"tenant": name[:100]})
        return city
    city = getattr(request, "city", None)
    if city is None:
        # Several cities served and none named: an ingestion key names its own.
        plaintext = keys.bearer(request)
        found = keys.lookup(plaintext) if plaintext else None
        if found is not None:
            return found.city
        raise bad_request(_("This server serves several cities: name one in the NGSILD-Tenant header."))
    return city


def _credentials(request: HttpRequest, city: City, *, required: bool) -> keys.Credentials | None:
    if not required and keys.bearer(request) is None:
        return None
    return keys.authenticate(request, city=city)


def _reader(request: HttpRequest, city: City) -> Reader:
    user = getattr(request, "user", None)
    viewer = user if user is not None and user.is_authenticated else None
    # A key, when one is sent, shows its source's own private sensors; a bad key is refused.
    return Reader(city=city, viewer=viewer, credentials=_credentials(request, city, required=False))


def _entity_id(raw: str) -> mapping.EntityId | None:
    return mapping.parse_entity_id(raw, strict=False)


# --- Entities ----------------------------------------------------------------------------------------


@endpoint("GET", "POST")
def entities_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _create(request)
    return _query(request, temporal=False)


def _parse_entity(document: Any, city: City) -> entities.EntityInput:
    codes = frozenset(catalogue.for_city(city).quantities)
    return entities.parse(document, city_slug=city.slug, quantity_codes=codes)


def _create(request: HttpRequest) -> HttpResponse:
    city = tenant(request)
    credentials = _credentials(request, city, required=True)
    document, _context = ld.read_body(request)
    entity = _parse_entity(document, city)
    store.write(city, credentials, entity, "create")
    response = HttpResponse(status=201)
    response["Location"] = request.build_absolute_uri(_entity_path(request, str(entity.id)))
    return response


def _entity_path(request: HttpRequest, entity_id: str) -> str:
    base = request.path.split("/entities")[0]
    return f"{base}/entities/{entity_id}"


class _Selection:
    """The entity selection and paging parameters shared by GET /entities and /temporal/entities."""

    def __init__(self, request: HttpRequest, *, temporal: bool):
        params = request.GET
        unsupported = [name for name in UNSUPPORTED_PARAMETERS if name in params]
        if unsupported:
            raise NgsiError("OperationNotSupported", _("This server does not support %(names)s.")
                            % {"names": ", ".join(unsupported)})
        self.types = [mapping.short_type(t) for t in query.names(params, "type")]
        unknown = [t for t in self.types if t not in mapping.TYPES]
        # An unknown type has no entities here (not an error, as for any broker).
        self.types = [t for t in self.types if t in mapping.TYPES]
        self.no_type_matches = bool(unknown) and not self.types
        self.ids = query.names(params, "id")
        for raw in self.ids:
            mapping.parse_entity_id(raw, strict=False)  # not a URI: BadRequestData
        pattern = query.text(params, "idPattern", max_length=200)
        try:
            self.id_pattern = re.compile(pattern) if pattern else None
        except re.error:
            raise bad_request(_("idPattern is not a valid regular expression."))
        self.attrs = {ld.short_name(a) for a in query.names(params, "attrs")} or None
        self.q = query.parse_q(query.text(params, "q", max_length=query.Q_MAX_LENGTH))
        self.geo = geo.parse(params)
        # Every entity here is local: local=true is the standard's way to ask for all of them.
        self.local = query.flag(params, "local")
        if not (self.types or unknown or self.ids or self.id_pattern or self.attrs or self.q or self.geo
                or self.local):
            raise bad_request(_("Say which entities: give type, id, idPattern, attrs, q, a geo-query or "
                                "local=true."))
        self.count = query.flag(params, "count")
        maximum = TEMPORAL_LIMIT_MAX if temporal else query.LIMIT_MAX
        self.limit = query.integer(params, "limit", default=query.LIMIT_DEFAULT, minimum=0, maximum=maximum)
        if self.limit == 0 and not self.count:
            raise bad_request(_("limit=0 is only allowed with count=true."))
        self.offset = query.integer(params, "offset", default=0, minimum=0, maximum=query.OFFSET_MAX)
        self.options = query.options(params)

    def select(self, reader: Reader, city: City) -> tuple[list[tuple[int, entities.SensorView]], int]:
        """One page of (sensor id, view), and how many match in all."""
        if self.no_type_matches:
            return [], 0
        qs = reader.sensors(types=self.types or None)
        if self.ids:
            wanted = Q(pk__in=[])
            for p in map(_entity_id, self.ids):
                if p is not None and p.city == city.slug:
                    wanted |= Q(code=p.code, kind=mapping.TYPE_TO_KIND[p.type])
            qs = qs.filter(wanted)
        if self.id_pattern is None and self.q is None and self.attrs is None and self.geo is None:
            total = qs.count() if self.count else 0
            return reader.views(qs[self.offset:self.offset + self.limit]) if self.limit else [], total
        matched = []
        for pk, view in reader.views(qs[:Q_CANDIDATES_MAX]):
            if self.id_pattern is not None and not self.id_pattern.search(view.entity_id(city.slug)):
                continue
            if self.attrs is not None and not entities.has_attributes(view, self.attrs):
                continue
            if self.q is not None and not query.matches(self.q, _lookup(view)):
                continue
            if self.geo is not None and not self.geo(view.lon, view.lat):
                continue
            matched.append((pk, view))
        return matched[self.offset:self.offset + self.limit], len(matched)


def _lookup(view: entities.SensorView) -> Callable[[str], Any]:
    values = {entities.attribute_name(code): tv for code, tv in view.values.items()}
    extras = entities.extras(view)

    def lookup(name: str) -> Any:
        attribute, _sep, sub = name.partition(".")
        if attribute in values:
            time, value = values[attribute]
            if sub == "observedAt":
                return time
            return None if sub else value
        if sub:
            return None
        if attribute == "name":
            return view.name
        raw = extras.get(attribute)
        if isinstance(raw, dict):
            raw = raw.get("value")
        return raw if isinstance(raw, str | int | float | bool) else None

    return lookup


def _query(request: HttpRequest, *, temporal: bool) -> HttpResponse:
    city = tenant(request)
    media = ld.accepted(request, geo=not temporal)
    context = ld.link_context(request)
    selection = _Selection(request, temporal=temporal)
    reader = _reader(request, city)
    page, total = selection.select(reader, city)
    headers = {COUNT_HEADER: str(total)} if selection.count else {}
    if temporal:
        body, truncated = _temporal_body(request, reader, city, page, attrs=selection.attrs,
                                         options=selection.options)
        body = [_projection(request.GET)(entity) for entity in body]
        # More instances than one answer carries: 206 Partial Content; ask again from a later timeAt, or
        # with lastN.
        status = 206 if truncated else 200
        return ld.render(body, media=media, context=context, headers=headers, status=status)
    key_values = "keyValues" in selection.options or "simplified" in selection.options
    project = _projection(request.GET)
    body = [project(entities.render(view, city.slug, attrs=selection.attrs, key_values=key_values))
            for _pk, view in page]
    return ld.render(body, media=media, context=context, headers=headers)


@endpoint("GET", "DELETE", "PATCH")
def entity_view(request: HttpRequest, entity_id: str) -> HttpResponse:
    city = tenant(request)
    if request.method == "PATCH":
        return _merge(request, city, entity_id)
    if request.method == "DELETE":
        credentials = _credentials(request, city, required=True)
        parsed = mapping.parse_entity_id(entity_id, strict=False)
        if parsed is None:
            raise not_found(_("There is no entity %(id)s.") % {"id": entity_id[:256]})
        store.delete(city, credentials, parsed)
        return HttpResponse(status=204)
    media = ld.accepted(request, geo=True)
    context = ld.link_context(request)
    options = query.options(request.GET)
    attrs = {ld.short_name(a) for a in query.names(request.GET, "attrs")} or None
    found = _one(request, city, entity_id)
    key_values = "keyValues" in options or "simplified" in options
    project = _projection(request.GET)
    entity = project(entities.render(found[1], city.slug, attrs=attrs, key_values=key_values))
    return ld.render(entity, media=media, context=context)


@endpoint("POST", "PATCH")
def attrs_view(request: HttpRequest, entity_id: str) -> HttpResponse:
    """Append (POST) or update (PATCH) attributes of an entity: its new values become observations, as in
    `entityOperations/update`; 204, all or nothing."""
    return _merge(request, tenant(request), entity_id)


def _merge(request: HttpRequest, city: City, entity_id: str) -> HttpResponse:
    credentials = _credentials(request, city, required=True)
    document, _context = ld.read_body(request)
    parsed = mapping.parse_entity_id(entity_id, strict=False)
    if parsed is None or parsed.city != city.slug:
        raise not_found(_("There is no entity %(id)s.") % {"id": entity_id[:256]})
    if not isinstance(document, dict):
        raise bad_request(_("An entity must be a JSON object."))
    if document.get("id", entity_id) != entity_id or mapping.short_type(
            str(document.get("type", parsed.type))) != parsed.type:
        raise bad_request(_("The body's id and type must be the entity's."))
    entity = _parse_entity({**document, "id": entity_id, "type": parsed.type}, city)
    store.write(city, credentials, entity, "update", replace=False)
    return HttpResponse(status=204)


def _projection(params) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """`pick` (only these members, id and type included only if named) and `omit` (all but these)."""
    pick = set(query.names(params, "pick"))
    omit = set(query.names(params, "omit"))
    if pick and omit:
        raise bad_request(_("Give pick or omit, not both."))

    def project(entity: dict[str, Any]) -> dict[str, Any]:
        if pick:
            return {k: v for k, v in entity.items() if k in pick}
        if omit:
            return {k: v for k, v in entity.items() if k not in omit}
        return entity

    return project


def _one(request: HttpRequest, city: City, entity_id: str) -> tuple[int, entities.SensorView]:
    parsed = _entity_id(entity_id)
    found = _reader(request, city).one(parsed) if parsed is not None else None
    if found is None:
        raise not_found(_("There is no entity %(id)s.") % {"id": entity_id[:256]})
    return found


# --- Batch operations --------------------------------------------------------------------------------


@endpoint("POST")
def batch_view(request: HttpRequest, operation: str) -> HttpResponse:
    if operation not in BATCH_OPERATIONS:
        raise not_found(_("There is no batch operation %(name)s: create, upsert, update or delete.")
                        % {"name": operation[:40]})
    city = tenant(request)
    credentials = _credentials(request, city, required=True)
    document, _context = ld.read_body(request)
    if not isinstance(document, list):
        raise bad_request(_("A batch operation takes a JSON array."))
    if not document:
        raise bad_request(_("The batch is empty."))
    if len(document) > BATCH_MAX:
        raise NgsiError(None, _("At most %(n)s entities in one batch.") % {"n": BATCH_MAX}, status=413)
    options = query.options(request.GET)
    if operation == "upsert" and (options - {"replace", "update"} or options >= {"replace", "update"}):
        raise bad_request(_("options must be replace or update."))
    success: list[str] = []
    errors: list[dict[str, Any]] = []
    created: list[str] = []

    def failed(entity_id: str, exc: NgsiError) -> None:
        errors.append({"entityId": entity_id, "error": exc.problem()})

    if operation == "delete":
        for item in document:
            entity_id = _batch_id(item, operation)
            try:
                parsed = mapping.parse_entity_id(item, strict=False)
                if parsed is None:
                    raise not_found(_("There is no entity %(id)s.") % {"id": item[:256]})
                with transaction.atomic():
                    store.delete(city, credentials, parsed)
            except NgsiError as exc:
                failed(entity_id, exc)
            else:
                success.append(entity_id)
    else:
        # Parse every entity first; answer in the batch's order.
        answers: list[tuple[str, NgsiError | None]] = []
        parsed_entities: list[entities.EntityInput] = []
        positions: list[int] = []
        for item in document:
            try:
                parsed_entities.append(_parse_entity(item, city))
                positions.append(len(answers))
                answers.append((_batch_id(item, operation), None))
            except NgsiError as exc:
                answers.append((_batch_id(item, operation), exc))
        outcomes = store.write_many(city, credentials, parsed_entities, operation,
                                    replace=operation != "update" and "update" not in options)
        made: set[int] = set()
        for position, outcome in zip(positions, outcomes, strict=True):
            if isinstance(outcome, NgsiError):
                answers[position] = (answers[position][0], outcome)
            elif outcome.created:
                made.add(position)
        for position, (entity_id, error) in enumerate(answers):
            if error is not None:
                failed(entity_id, error)
            else:
                success.append(entity_id)
                if position in made:
                    created.append(entity_id)
    if errors:
        return ld.render({"success": success, "errors": errors}, media=ld.JSON, status=207)
    if operation == "create" or (operation == "upsert" and created):
        return ld.render(created, media=ld.JSON, status=201)
    return HttpResponse(status=204)


def _batch_id(item: Any, operation: str) -> str:
    raw = item if operation == "delete" else item.get("id") if isinstance(item, dict) else None
    return raw[:256] if isinstance(raw, str) else ""


# --- Types -------------------------------------------------------------------------------------------


@endpoint("GET")
def types_view(request: HttpRequest) -> HttpResponse:
    city = tenant(request)
    media = ld.accepted(request)
    context = ld.link_context(request)
    counts = _reader(request, city).type_counts()
    present = [t for t in mapping.TYPES if t in counts]
    if query.flag(request.GET, "details"):
        body: Any = [{"id": t, "type": "EntityType", "typeName": t, "attributeNames": _attribute_names(t)}
                     for t in present]
    else:
        body = {"id": f"urn:ngsi-ld:EntityTypeList:{city.slug}", "type": "EntityTypeList",
                "typeList": present}
    return ld.render(body, media=media, context=context)


def _attribute_names(type_: str) -> list[str]:
    return ["location", "name", "dateObserved", *mapping.TYPES[type_]]


@endpoint("GET")
def type_view(request: HttpRequest, type_name: str) -> HttpResponse:
    city = tenant(request)
    media = ld.accepted(request)
    context = ld.link_context(request)
    name = mapping.short_type(type_name)
    count = _reader(request, city).type_counts().get(name, 0) if name in mapping.TYPES else 0
    if not count:
        raise not_found(_("There are no entities of the type %(type)s.") % {"type": type_name[:100]})
    attributes = []
    for attribute in _attribute_names(name):
        kind = "GeoProperty" if attribute == "location" else "Property"
        attributes.append({"id": attribute, "type": "Attribute", "attributeName": attribute,
                           "attributeTypes": [kind]})
    body = {"id": name, "type": "EntityTypeInformation", "typeName": name, "entityCount": count,
            "attributeDetails": attributes}
    return ld.render(body, media=media, context=context)


# --- Temporal ----------------------------------------------------------------------------------------


@endpoint("GET")
def temporal_entities_view(request: HttpRequest) -> HttpResponse:
    return _query(request, temporal=True)


@endpoint("GET")
def temporal_entity_view(request: HttpRequest, entity_id: str) -> HttpResponse:
    city = tenant(request)
    media = ld.accepted(request)
    context = ld.link_context(request)
    attrs = {ld.short_name(a) for a in query.names(request.GET, "attrs")} or None
    reader = _reader(request, city)
    found = _one(request, city, entity_id)
    body, truncated = _temporal_body(request, reader, city, [found], attrs=attrs,
                                     options=query.options(request.GET))
    entity = _projection(request.GET)(body[0])
    return ld.render(entity, media=media, context=context, status=206 if truncated else 200)


def _window(params) -> tuple[Any, Any]:
    timerel = query.text(params, "timerel", max_length=10)
    time_at = query.text(params, "timeAt", max_length=40)
    end_time_at = query.text(params, "endTimeAt", max_length=40)
    timeproperty = query.text(params, "timeproperty", max_length=20) or "observedAt"
    if timeproperty != "observedAt":
        raise NgsiError("OperationNotSupported", _("Only timeproperty=observedAt is supported."))
    if not timerel:
        if time_at or end_time_at:
            raise bad_request(_("timeAt and endTimeAt need a timerel (before, after or between)."))
        return None, None
    if timerel not in TIMERELS:
        raise bad_request(_("timerel must be before, after or between."))
    if not time_at:
        raise bad_request(_("timerel needs timeAt."))
    start = query.datetime_value(time_at, "timeAt")
    if timerel == "before":
        return None, start
    if timerel == "after":
        return start, None
    if not end_time_at:
        raise bad_request(_("timerel=between needs endTimeAt."))
    end = query.datetime_value(end_time_at, "endTimeAt")
    if end <= start:
        raise bad_request(_("endTimeAt must be after timeAt."))
    return start, end


def _temporal_body(request: HttpRequest, reader: Reader, city: City, page, *, attrs: set[str] | None,
                   options: set[str]) -> tuple[list[dict[str, Any]], bool]:
    """The entities of `page` in the temporal representation, and whether an attribute had more instances
    than one answer carries."""
    start, end = _window(request.GET)
    raw_last_n = query.text(request.GET, "lastN", max_length=10)
    last_n = query.integer(request.GET, "lastN", default=0, minimum=1, maximum=INSTANCES_MAX) if raw_last_n \
        else None
    temporal_values = bool(options & {"temporalValues", "simplified", "keyValues"})
    body = []
    truncated = False
    for pk, view in page:
        series = {}
        for code, quantity_ids in sorted(reader.quantities_of(pk).items()):
            if attrs is not None and entities.attribute_name(code) not in attrs:
                continue
            points, cut = reader.series(pk, quantity_ids, start=start, end=end, last_n=last_n,
                                        limit=INSTANCES_MAX)
            truncated = truncated or cut
            if points:
                series[code] = points
        body.append(entities.render_temporal(view, city.slug, series, temporal_values=temporal_values))
    return body, truncated
