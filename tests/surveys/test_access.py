"""The route walk (tests/security/test_routes.py) restricted to the surveys' routes, so this module's
access rules are checked quickly on their own: every rule admits exactly its roles, nothing answers 500,
no page carries inline code."""

from __future__ import annotations

import pytest

from tests.conftest import ROLES
from tests.security.access import RULES
from tests.security.harness import client_for, describe, inline_code, is_refused, rule_for, signed_in
from tests.security.test_routes import _request, _targets

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ["anonymous", *ROLES])
def test_surveys_route_walk(role, cast, survey):
    user = cast[role]
    client = client_for(user)
    failures = []
    targets = [t for t in _targets(client) if "surveys" in t[0] or "/surveys/" in t[2]]
    assert len(targets) > 20
    for key, method, path, body in targets:
        rule = rule_for(key, method)
        assert rule is not None, key
        response = _request(client, method, path, body)
        if method != "GET" and response.status_code < 400 and not signed_in(client, user):
            client = client_for(user)
        where = f"{method} {path} [{key}, rule {rule}] as {role}: {describe(response)}"
        admitted = role in RULES[rule]
        if response.status_code >= 500:
            failures.append(f"server error: {where}")
        elif not admitted and not is_refused(response, key):
            failures.append(f"not refused: {where}")
        elif admitted and method == "GET" and response.status_code in (401, 403):
            failures.append(f"refused a role the rule admits: {where}")
        if method == "GET" and response.status_code == 200 and "html" in response.get("Content-Type", ""):
            failures += [f"CSP ({p}): {where}" for p in inline_code(response.content.decode())]
    assert not failures, "\n".join(failures)
