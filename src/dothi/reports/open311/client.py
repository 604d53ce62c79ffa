"""A GeoReport v2 client: dothi posting reports to an agency's own system and reading their status back.

The mirror image of the server in this package, kept as small as the standard: `POST requests.json`
(form-encoded), `GET tokens/{token}.json` and `GET requests.json?service_request_id=a,b,c`. Only the
standard library (urllib), with a timeout on every call and a cap on what is read. Every failure is an
`Open311ClientError`: `permanent` when retrying cannot help without someone changing the configuration
(their server refused the key or the request: 400, 401, 403, 404, 405, 410, 422), transient otherwise
(network errors, timeouts, 5xx, 408, 429, an answer that is not the JSON the standard describes).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.conf import settings

# Enough for a page of 100 requests with long notes; a bigger answer is not what we asked for.
MAX_ANSWER_BYTES = 2 * 1024 * 1024
PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 405, 410, 422})
USER_AGENT = "dothi-open311-client/1"


class Open311ClientError(Exception):
    def __init__(self, message: str, *, permanent: bool = False, status: int | None = None):
        super().__init__(message)
        self.message = message[:1000]
        self.permanent = permanent
        self.status = status


@dataclass(frozen=True)
class Posted:
    """Their answer to a POST: the service request id at once, or a token to ask about later."""

    service_request_id: str = ""
    token: str = ""
    notice: str = ""


def _timeout() -> float:
    return float(getattr(settings, "DISPATCH_TIMEOUT_SECONDS", 10))


def _url(endpoint: str, path: str, query: dict[str, str] | None = None) -> str:
    if not endpoint.startswith(("http://", "https://")):
        # urllib would also open file:// and ftp:// URLs; an Open311 endpoint is always HTTP(S).
        raise Open311ClientError("The endpoint must be an http(s) URL.", permanent=True)
    url = f"{endpoint.rstrip('/')}/{path}"
    if query:
        url += "?" + urllib.parse.urlencode(query)
    return url


def _error_description(body: bytes) -> str:
    """The spec's error body ([{"code", "description"}]) when there is one, else the start of the body."""
    try:
        data = json.loads(body.decode("utf-8"))
        if isinstance(data, list) and data and isinstance(data[0], dict):
            return str(data[0].get("description") or data[0].get("code") or "")[:300]
    except (ValueError, UnicodeDecodeError):
        pass
    return body[:200].decode("utf-8", "replace").strip()


def _call(request: urllib.request.Request) -> Any:
    try:
        with urllib.request.urlopen(request, timeout=_timeout()) as response:  # noqa: S310 - scheme checked
            body = response.read(MAX_ANSWER_BYTES + 1)
    except urllib.error.HTTPError as exc:
        detail = _error_description(exc.read(4096) if exc.fp else b"")
        permanent = exc.code in PERMANENT_STATUSES
        raise Open311ClientError(
            f"HTTP {exc.code}" + (f": {detail}" if detail else ""), permanent=permanent, status=exc.code
        ) from exc
    except TimeoutError as exc:  # socket.timeout is TimeoutError
        raise Open311ClientError(f"timed out after {_timeout():g} s") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Open311ClientError(f"unreachable: {reason}") from exc
    if len(body) > MAX_ANSWER_BYTES:
        raise Open311ClientError("the answer is too large")
    try:
        return json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise Open311ClientError(f"the answer is not JSON: {body[:80]!r}") from exc


def _items(data: Any) -> list[dict[str, Any]]:
    """A JSON array of objects, as every GeoReport v2 list is; anything else is a broken answer."""
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise Open311ClientError("the answer is not a list of service requests")
    return data


def post_request(
    endpoint: str, fields: list[tuple[str, str]], *, idempotency_key: str = ""
) -> Posted:
    """POST one service request (form-encoded). `fields` keeps repeated keys (`attribute[x][]`)."""
    body = urllib.parse.urlencode(fields).encode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
    }
    if idempotency_key:
        # Honoured by servers that support it (dothi's own does): a retried POST is one request.
        headers["Idempotency-Key"] = idempotency_key
    request = urllib.request.Request(  # noqa: S310 - scheme checked in _url
        _url(endpoint, "requests.json"), data=body, headers=headers, method="POST"
    )
    items = _items(_call(request))
    if not items:
        raise Open311ClientError("the answer names no service request")
    first = items[0]
    request_id = str(first.get("service_request_id") or "").strip()[:100]
    token = str(first.get("token") or "").strip()[:100]
    if not request_id and not token:
        raise Open311ClientError("the answer has neither a service_request_id nor a token")
    return Posted(service_request_id=request_id, token=token, notice=str(first.get("service_notice") or ""))


def _get(endpoint: str, path: str, query: dict[str, str]) -> list[dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 - scheme checked in _url
        _url(endpoint, path, query), headers={"Accept": "application/json", "User-Agent": USER_AGENT}
    )
    return _items(_call(request))


def resolve_token(endpoint: str, token: str, *, jurisdiction: str = "") -> str:
    """The service request id behind a token, or "" while their system has not created it yet."""
    query = {"jurisdiction_id": jurisdiction} if jurisdiction else {}
    safe = urllib.parse.quote(token, safe="")
    try:
        items = _get(endpoint, f"tokens/{safe}.json", query)
    except Open311ClientError as exc:
        if exc.status == 404:
            # Some servers answer 404 until the request exists: not yet, rather than never.
            return ""
        raise
    for item in items:
        request_id = str(item.get("service_request_id") or "").strip()
        if request_id:
            return request_id[:100]
    return ""


def get_requests(endpoint: str, ids: list[str], *, jurisdiction: str = "") -> list[dict[str, Any]]:
    """The service requests with these ids (the spec's comma-separated `service_request_id`)."""
    query = {"service_request_id": ",".join(ids), "extensions": "true"}
    if jurisdiction:
        query["jurisdiction_id"] = jurisdiction
    return _get(endpoint, "requests.json", query)
