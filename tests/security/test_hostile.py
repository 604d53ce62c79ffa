"""The hostile-input corpus against every form and every API operation.

Forms are found by reading the HTML of every page (as an anonymous visitor, a citizen and a city
administrator) and each field is sent every hostile string, the others keeping their values. API
operations come from the OpenAPI spec: each body property and query parameter gets every hostile
value, and each JSON endpoint gets every malformed body. Every answer must be below 500; when it is a
4xx, no table gained or lost a row. Django's admin forms are left to Django's own validation.
"""

from __future__ import annotations

import json
import logging
from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit

import pytest
from django.apps import apps
from django.core.cache import cache
from django.db import connection

from tests.security.harness import client_for, describe
from tests.security.hostile import RAW_BODIES, RAW_FORM_BODIES, STRINGS, VALUES
from tests.security.routes import fill_api_path, openapi_operations, url_routes

pytestmark = pytest.mark.django_db

# Rows these tables gain on a refused request are the point of them, not stored input.
NOT_INPUT = {"core.auditevent", "sessions.session"}


@pytest.fixture(scope="module", autouse=True)
def _vacuumed(django_db_setup, django_db_blocker):
    """On PostgreSQL, vacuum first: the demo seeders of earlier tests leave millions of dead rows behind
    their rolled-back transactions (a year of sensor rollups each time), and every check below counts
    every table, which then scans them all (the run took ten minutes longer for it)."""
    if connection.vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute("VACUUM")
    yield


@pytest.fixture(autouse=True)
def _quiet_request_log():
    logger = logging.getLogger("django.request")
    old = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(old)


def _count_sql() -> tuple[list[str], str]:
    tables = []
    for model in apps.get_models():
        if model._meta.label_lower in NOT_INPUT or not model._meta.managed or model._meta.proxy:
            continue
        tables.append(model._meta.db_table)
    tables = sorted(set(tables))
    qn = connection.ops.quote_name
    return tables, "SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {qn(t)})" for t in tables)


class RowCounter:
    def __init__(self) -> None:
        self.tables, self.sql = _count_sql()
        self.before = self.counts()

    def counts(self) -> tuple[int, ...]:
        with connection.cursor() as cursor:
            cursor.execute(self.sql)
            return tuple(cursor.fetchone())

    def check(self, response, where: str, failures: list[str]) -> None:
        status = response.status_code
        if status >= 500:
            failures.append(f"server error: {where}: {describe(response)}")
            self.before = self.counts()
            return
        if 400 <= status < 500:
            after = self.counts()
            changed = [f"{t} {a}->{b}" for t, a, b in zip(self.tables, self.before, after, strict=True)
                       if a != b]
            if changed:
                failures.append(f"{status} but rows changed ({', '.join(changed)}): {where}")
            self.before = after
        else:
            self.before = self.counts()  # an accepted request may store rows


class FormFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._current: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "get").lower() == "post":
            self._current = {"action": a.get("action") or "", "fields": {}}
            self.forms.append(self._current)
        elif self._current is not None and tag in ("input", "select", "textarea", "button") and a.get("name"):
            unchecked = (tag == "input" and (a.get("type") or "").lower() in ("checkbox", "radio")
                         and "checked" not in a)
            self._current["fields"].setdefault(a["name"], "" if unchecked else (a.get("value") or ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def _forms(cast) -> list[tuple[str, str, dict]]:
    """(role, action path, fields) of every POST form on every page, deduplicated."""
    seen, found = set(), []
    for role in ("anonymous", "citizen", "city_admin"):
        client = client_for(cast[role])
        for route in url_routes():
            if route.is_api or route.name.startswith("admin") or route.pattern.startswith("admin"):
                continue
            response = client.get(route.path)
            if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                continue
            finder = FormFinder()
            finder.feed(response.content.decode("utf-8", "replace"))
            for form in finder.forms:
                action = urlsplit(form["action"]).path or route.path
                fields = {k: v for k, v in form["fields"].items() if k != "csrfmiddlewaretoken"}
                key = (action, tuple(sorted(fields)))  # the first role that sees a form sends it
                if key not in seen:
                    seen.add(key)
                    found.append((role, action, fields))
    return found


def test_forms_are_found(cast):
    actions = {action for _, action, _ in _forms(cast)}
    assert "/i18n/setlang/" in actions  # the language switcher on every page


def test_hostile_input_to_every_form(cast):
    failures: list[str] = []
    counter = RowCounter()
    for role, action, fields in _forms(cast):
        user = cast[role]
        client = client_for(user)
        bodies = [(f"{field}={name}", urlencode({**fields, field: value}).encode())
                  for field in (fields or {"q": ""}) for name, value in STRINGS.items()]
        bodies += [(f"raw {name}", body) for name, body in RAW_FORM_BODIES.items()]
        for label, body in bodies:
            cache.clear()  # rate limits would otherwise hide the code behind them
            response = client.post(action, body, content_type="application/x-www-form-urlencoded")
            counter.check(response, f"POST {action} {label} as {role}", failures)
            if response.status_code < 400:
                client = client_for(user)  # an accepted form may have signed out or changed the session
    assert not failures, f"{len(failures)} problem(s):\n" + "\n".join(failures[:100])


def _resolve(schema: dict, spec: dict) -> dict:
    while "$ref" in schema:
        name = schema["$ref"].split("/")[-1]
        schema = spec["components"]["schemas"][name]
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return _resolve(schema["allOf"][0], spec)
    return schema


def _sample(schema: dict, spec: dict):
    schema = _resolve(schema, spec)
    if "default" in schema:
        return schema["default"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return _sample(schema[key][0], spec)
    kind = schema.get("type")
    if kind == "object":
        return {name: _sample(prop, spec) for name, prop in schema.get("properties", {}).items()}
    if kind == "array":
        return []
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return False
    return "sample"


METHOD_ORDER = {"GET": 0, "POST": 1, "PUT": 2, "PATCH": 3, "DELETE": 4}


@pytest.mark.parametrize("role", ["anonymous", "citizen", "platform_admin"])
def test_hostile_input_to_every_api_operation(cast, role):
    user = cast[role]
    failures: list[str] = []
    ops, spec = openapi_operations(client_for(None))
    counter = RowCounter()
    field_values = {**STRINGS, **VALUES}

    client = client_for(user)

    def send(op, path, body=None, content_type="application/json", label=""):
        nonlocal client
        cache.clear()  # rate limits would otherwise hide the code behind them
        if body is None:
            response = client.generic(op.method, path)
        else:
            response = client.generic(op.method, path, body, content_type=content_type)
        counter.check(response, f"{op.method} {path} {label} as {role}", failures)
        if op.method != "GET" and response.status_code < 400:
            client = client_for(user)  # it may have signed out

    for op in sorted(ops, key=lambda o: METHOD_ORDER.get(o.method, 9)):
        if user is None and op.spec.get("security"):
            continue  # refused before any input is read; the route walk checks that
        if user is not None and not op.spec.get("security"):
            continue  # public operations are fuzzed as the anonymous visitor
        path = fill_api_path(op)
        params = op.spec.get("parameters", [])
        for param in params:
            if param.get("in") == "query":
                for name, value in STRINGS.items():
                    query = urlencode({param["name"]: value})
                    send(op, f"{path}?{query}", label=f"query {param['name']}={name}")
            if param.get("in") == "path":
                for name in ("sql_quote", "path_traversal", "huge_number", "negative", "unicode_digits"):
                    send(op, fill_api_path(op, value=STRINGS[name].replace("/", "%2F")), label=f"path {name}")
        content = op.spec.get("requestBody", {}).get("content", {})
        if "application/json" not in content:
            continue
        schema = content["application/json"]["schema"]
        base = _sample(schema, spec)
        if isinstance(base, dict):
            for prop in base:
                for name, value in field_values.items():
                    body = json.dumps({**base, prop: value})
                    send(op, path, body, label=f"body {prop}={name}")
        for name, (raw, content_type) in RAW_BODIES.items():
            send(op, path, raw, content_type, label=f"raw {name}")
    assert not failures, f"{len(failures)} problem(s):\n" + "\n".join(failures[:100])
