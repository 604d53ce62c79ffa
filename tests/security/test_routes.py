"""The route walk: every URL pattern and every OpenAPI operation, requested as every member of the cast.

A route without a rule in tests/security/access.py fails `test_every_route_has_a_rule`. For each role,
`test_route_walk` asserts: no route answers 500; a role the rule does not admit is refused (4xx or a
redirect to a sign-in page); a role the rule admits is not told 401/403 on GET. Every HTML page is also
checked for inline code the content-security policy would block.
"""

from __future__ import annotations

import logging

import pytest

from tests.conftest import ROLES
from tests.security.access import RULES
from tests.security.harness import (
    HOW_TO_FIX,
    client_for,
    describe,
    inline_code,
    is_refused,
    rule_for,
    signed_in,
)
from tests.security.routes import api_route_to_spec_path, fill_api_path, openapi_operations, url_routes

pytestmark = pytest.mark.django_db

CAST = ["anonymous", *ROLES]
# Later methods may end the session or erase the account: run them last.
METHOD_ORDER = {"GET": 0, "POST": 1, "PUT": 2, "PATCH": 3, "DELETE": 4}


@pytest.fixture(autouse=True)
def _quiet_request_log():
    # Thousands of expected 4xx would each log a warning.
    logger = logging.getLogger("django.request")
    old = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(old)


def _targets(client):
    """(key, method, path, body) for every request of the walk, in METHOD_ORDER."""
    ops, _spec = openapi_operations(client)
    spec_paths = {op.path for op in ops}
    targets = []
    for route in url_routes():
        if route.is_api and api_route_to_spec_path(route) in spec_paths:
            continue  # walked below with the methods the spec declares
        key = route.name or route.pattern
        targets.append((key, "GET", route.path, None))
        targets.append((key, "POST", route.path, None))
    for op in ops:
        targets.append((op.key, op.method, fill_api_path(op), "{}"))
    return sorted(targets, key=lambda t: METHOD_ORDER[t[1]])


def test_every_route_has_a_rule(client):
    missing = []
    ops, _ = openapi_operations(client)
    spec_paths = {op.path for op in ops}
    for route in url_routes():
        key = route.name or route.pattern
        if route.is_api and api_route_to_spec_path(route) in spec_paths:
            continue
        if rule_for(key) is None:
            missing.append(f"{key} ({route.pattern}): " + HOW_TO_FIX.format(key=key))
    for op in ops:
        if rule_for(op.key, op.method) is None:
            missing.append(f"{op.key}: " + HOW_TO_FIX.format(key=op.key))
    assert not missing, "Routes without an access rule:\n" + "\n".join(missing)


def _request(client, method: str, path: str, body: str | None):
    if method == "GET":
        return client.get(path)
    if body is None:
        return client.generic(method, path, "", content_type="application/x-www-form-urlencoded")
    return client.generic(method, path, body, content_type="application/json")


@pytest.mark.parametrize("role", CAST)
def test_route_walk(role, cast):
    user = cast[role]
    failures: list[str] = []
    client = client_for(user)
    for key, method, path, body in _targets(client):
        rule = rule_for(key, method)
        if rule is None:
            continue  # reported by test_every_route_has_a_rule
        response = _request(client, method, path, body)
        if method != "GET" and response.status_code < 400 and not signed_in(client, user):
            client = client_for(user)  # it signed out: the next request starts afresh
        where = f"{method} {path} [{key}, rule {rule}] as {role}: {describe(response)}"
        if response.status_code >= 500:
            failures.append(f"server error: {where}")
            continue
        admitted = role in RULES[rule]
        if not admitted and not is_refused(response, key):
            failures.append(f"not refused: {where}")
        if admitted and method == "GET" and rule != "self" and response.status_code in (401, 403):
            failures.append(f"refused a role the rule admits: {where}")
        is_page = response.status_code == 200 and "html" in response.get("Content-Type", "")
        # Django's own admin templates are outside this check (see docs/security.md).
        if method == "GET" and is_page and not key.startswith("admin"):  # noqa: SIM102
            for problem in inline_code(response.content.decode("utf-8", "replace")):
                failures.append(f"CSP violation ({problem}): {where}")
    assert not failures, f"{len(failures)} problem(s) in the route walk:\n" + "\n".join(failures)
