"""Enumerating every route: the URL resolver (recursively) and the OpenAPI spec.

Shared by the route-walk and hostile-input tests, so a route added anywhere is picked up by both.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

# Sample values for path parameters, by parameter name, then by converter. A sample that does not
# exist in the database is fine: the route must still answer without a server error.
SAMPLES_BY_NAME = {
    "app_label": "core",
    "object_id": "1",
    "content_type_id": "1",
    "slug": "danang",
    "city": "danang",
    "code": "sample",
    "token": "sample-token",
    "uidb64": "MQ",
    "url": "sample",
    "path": "sample",
}
SAMPLES_BY_CONVERTER = {
    "int": "1", "str": "sample", "slug": "sample", "path": "sample/x", "uuid": str(uuid.UUID(int=1)),
}


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name", or "" for unnamed patterns
    pattern: str  # the route as written, e.g. "admin/<app_label>/" or "api/v1/cities"
    path: str  # a concrete path with sample parameters
    is_api: bool  # served by the ninja API (also walked through the OpenAPI spec)


def _sample_for_regex(regex: str) -> str | None:
    """Fill a regex route's named groups with samples; None when the sample does not match."""
    pattern = regex.lstrip("^").rstrip("$").replace(r"\Z", "")

    def fill(match: re.Match) -> str:
        name, body = match.group(1), match.group(2)
        # Alternations like (?P<app_label>core|identity): take the first alternative.
        if "|" in body and not any(c in body for c in "[]*+?"):
            return body.split("|")[0]
        return SAMPLES_BY_NAME.get(name, "1")

    filled = re.sub(r"\(\?P<(\w+)>((?:[^()]|\([^()]*\))*)\)", fill, pattern)
    filled = filled.replace("\\", "")
    if any(c in filled for c in "()[]*+?^$|"):
        return None
    return filled


def _piece(pattern) -> tuple[str, str | None]:
    """(route text, concrete text) of one pattern level."""
    if isinstance(pattern, RoutePattern):
        text = str(pattern)

        def fill(match: re.Match) -> str:
            conv, name = match.group(1) or "str", match.group(2)
            return SAMPLES_BY_NAME.get(name, SAMPLES_BY_CONVERTER.get(conv, "sample"))

        return text, re.sub(r"<(?:(\w+):)?(\w+)>", fill, text)
    if isinstance(pattern, RegexPattern):
        return pattern.regex.pattern, _sample_for_regex(pattern.regex.pattern)
    return str(pattern), None


def url_routes() -> list[Route]:
    """Every URL pattern of the project, flattened, with namespaced names and sample paths."""
    routes: list[Route] = []

    def walk(patterns, prefix_text: str, prefix_path: str | None, namespace: str, in_api: bool) -> None:
        for p in patterns:
            text, concrete = _piece(p.pattern)
            path = None if prefix_path is None or concrete is None else prefix_path + concrete
            if isinstance(p, URLResolver):
                ns = namespace
                if p.namespace:
                    ns = f"{namespace}:{p.namespace}" if namespace else p.namespace
                walk(p.url_patterns, prefix_text + text, path, ns, in_api or text.startswith("api/v1/"))
            elif isinstance(p, URLPattern):
                name = f"{namespace}:{p.name}" if namespace and p.name else (p.name or "")
                routes.append(Route(name=name, pattern=prefix_text + text, path="/" + (path or ""),
                                    is_api=in_api or (prefix_text + text).startswith("api/v1/")))

    walk(get_resolver().url_patterns, "", "", "", False)
    return routes


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    path: str  # as in the spec: "/api/v1/things/{id}"
    spec: dict

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


def openapi_operations(client) -> tuple[list[Operation], dict]:
    spec = client.get("/api/v1/openapi.json").json()
    ops = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method.lower() in {"get", "post", "put", "patch", "delete"}:
                ops.append(Operation(method.upper(), path, op))
    return ops, spec


def fill_api_path(op: Operation, value: str | None = None) -> str:
    """The operation's path with its parameters filled (by schema type, or with `value`)."""
    params = {p["name"]: p for p in op.spec.get("parameters", []) if p.get("in") == "path"}

    def fill(match: re.Match) -> str:
        name = match.group(1)
        if value is not None:
            return value
        schema = params.get(name, {}).get("schema", {})
        if schema.get("type") == "integer":
            return "1"
        if schema.get("format") == "uuid":
            return str(uuid.UUID(int=1))
        return SAMPLES_BY_NAME.get(name, "sample")

    return re.sub(r"\{(\w+)(?::\w+)?\}", fill, op.path)


def api_route_to_spec_path(route: Route) -> str:
    """'api/v1/things/<int:id>' -> '/api/v1/things/{id}' (how the spec spells the same route)."""
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route.pattern)
