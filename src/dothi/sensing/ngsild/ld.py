"""JSON-LD plumbing of the NGSI-LD API (ETSI GS CIM 009, 6.3.4-6.3.7): reading request bodies by their
media type, and answering in the media type the client accepts, with the @context in the body
(`application/ld+json`) or in a `Link` header (`application/json`; `application/geo+json` for entities).

No @context is ever fetched: attribute names are read by their short names, as the Smart Data Models
context defines them (`pm25`, `LAeq`…), and an attribute sent with its expanded URI
(`https://smartdatamodels.org/dataModel.Environment/pm25`) is read by its last segment.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from dothi.sensing.ngsild.errors import NgsiError, bad_request, invalid_request

CORE_CONTEXT = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"
# The Smart Data Models' own context: the short names of every attribute the five types use.
SDM_CONTEXT = "https://smartdatamodels.org/context.jsonld"
DEFAULT_CONTEXT: list[str] = [SDM_CONTEXT, CORE_CONTEXT]
LINK_REL = "http://www.w3.org/ns/json-ld#context"

JSON = "application/json"
JSON_LD = "application/ld+json"
GEO_JSON = "application/geo+json"

BODY_MAX = 16 * 1024 * 1024
_LINK_RE = re.compile(r'<([^>]*)>\s*;(.*)')


def link_context(request: HttpRequest) -> str | None:
    """The context a GET (or an application/json body) names in its Link header, if any."""
    header = request.headers.get("Link", "")
    for part in header.split(","):
        match = _LINK_RE.search(part.strip())
        if match and LINK_REL in match.group(2):
            url = match.group(1).strip()
            if not url.startswith(("http://", "https://", "urn:")) or len(url) > 500:
                raise bad_request(_("The Link header does not name a valid JSON-LD context."))
            return url
    return None


def _media_type(request: HttpRequest) -> str:
    return request.headers.get("Content-Type", "").split(";")[0].strip().lower()


def read_body(request: HttpRequest) -> tuple[Any, Any]:
    """The request's JSON document and its @context (from the body for application/ld+json, from the
    Link header for application/json). Raises 415 for other media types, InvalidRequest for bad JSON,
    BadRequestData for a misplaced or missing @context."""
    media = _media_type(request)
    if media not in (JSON, JSON_LD):
        raise NgsiError(None, _("Send application/json or application/ld+json."), status=415)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    # Not request.body: DATA_UPLOAD_MAX_MEMORY_SIZE is sized for forms, not for batches of entities.
    body = request.read(BODY_MAX + 1) if length <= BODY_MAX else b""
    if length > BODY_MAX or len(body) > BODY_MAX:
        raise NgsiError(None, _("The request body is too large."), status=413)
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise invalid_request(_("The request body is not valid JSON."))
    _check_text(document)
    items = document if isinstance(document, list) else [document]
    contexts = [item.get("@context") for item in items if isinstance(item, dict)]
    if media == JSON:
        if any(c is not None for c in contexts):
            raise bad_request(
                _("An application/json body must not hold an @context: send it in a Link header, or send "
                  "application/ld+json.")
            )
        return document, link_context(request)
    if isinstance(document, dict | list) and items and any(c is None for c in contexts):
        raise bad_request(_("An application/ld+json body must hold an @context."))
    return document, contexts[0] if contexts else None


def _check_text(value: Any) -> None:
    # Text no database can store (NUL, lone surrogates) is refused here, before any query sees it.
    if isinstance(value, str):
        if "\x00" in value:
            raise bad_request(_("Text must not contain NUL characters."))
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise bad_request(_("Text contains characters that are not valid Unicode."))
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)
    elif isinstance(value, list):
        for item in value:
            _check_text(item)


def short_name(name: str) -> str:
    """`pm25`, or the last segment of an expanded attribute URI."""
    if name.startswith(("http://", "https://")):
        return re.split(r"[/#]", name.rstrip("/#"))[-1]
    if name.startswith("ngsi-ld:"):
        return name.split(":", 1)[1]
    return name


def accepted(request: HttpRequest, *, geo: bool = False) -> str:
    """The media type to answer in: application/json unless the client prefers application/ld+json (or
    application/geo+json where offered). 406 when the client accepts none of them."""
    header = request.headers.get("Accept", "").strip()
    if not header:
        return JSON
    offered = [JSON, JSON_LD] + ([GEO_JSON] if geo else [])
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        quality = 1.0
        for param in pieces[1:]:
            if param.startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        if media in offered:
            choices.append((quality, -index, media))
        elif media in ("*/*", "application/*"):
            choices.append((quality - 0.001, -index, JSON))
    if not choices:
        raise NgsiError(None, _("This API answers application/json or application/ld+json."), status=406)
    return max(choices)[2]


def feature(entity: dict[str, Any]) -> dict[str, Any]:
    """An entity as a GeoJSON Feature (ETSI GS CIM 009, 4.5.16): its location is the geometry, every
    member but the id a property."""
    location = entity.get("location")
    geometry = location.get("value") if isinstance(location, dict) and "value" in location else location
    properties = {k: v for k, v in entity.items() if k != "id"}
    return {"id": entity["id"], "type": "Feature", "geometry": geometry, "properties": properties}


def geojson(data: Any) -> dict[str, Any]:
    if isinstance(data, list):
        return {"type": "FeatureCollection", "features": [feature(entity) for entity in data]}
    return feature(data)


def render(data: Any, *, media: str, context: Any = None, status: int = 200,
           headers: dict[str, str] | None = None) -> HttpResponse:
    """A document (an entity, a list of them, a type list) in `media`, with its @context."""
    context = context or DEFAULT_CONTEXT
    if media == GEO_JSON:
        data = geojson(data)
    elif media == JSON_LD:
        if isinstance(data, list):
            data = [{**item, "@context": context} for item in data]
        elif isinstance(data, dict):
            data = {**data, "@context": context}
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    response = HttpResponse(body, status=status, content_type=media)
    if media != JSON_LD:
        # One Link header names one context: the client's own, else the Smart Data Models' (which
        # includes the core context's terms the answer uses).
        if isinstance(context, str):
            url = context
        elif isinstance(context, list):
            url = next((c for c in context if isinstance(c, str) and c != CORE_CONTEXT), CORE_CONTEXT)
        else:
            url = SDM_CONTEXT
        response["Link"] = f'<{url}>; rel="{LINK_REL}"; type="{JSON_LD}"'
    for name, value in (headers or {}).items():
        response[name] = value
    return response
