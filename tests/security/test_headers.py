"""Security headers and the content-security policy on pages, the API, the admin and error pages."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

PATHS = ["/", "/offline/", "/api/v1/cities", "/api/v1/openapi.json", "/admin/login/", "/no-such-page/",
         "/sw.js"]


def _csp(response) -> dict[str, list[str]]:
    policy = {}
    for part in response["Content-Security-Policy"].split(";"):
        words = part.split()
        if words:
            policy[words[0]] = words[1:]
    return policy


@pytest.mark.parametrize("path", PATHS)
def test_security_headers(client, city, path):
    response = client.get(path)
    assert response.status_code < 500
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    csp = _csp(response)
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    header = response["Content-Security-Policy"]
    assert "unsafe-inline" not in header and "unsafe-eval" not in header


def test_signed_in_pages_are_not_cached(client, city, citizen):
    client.force_login(citizen)
    assert "no-store" in client.get("/")["Cache-Control"]


def test_inline_code_finder_catches_what_csp_blocks():
    from tests.security.harness import inline_code

    allowed = '<script src="/static/a.js"></script><script type="application/json">{}</script>'
    assert inline_code(allowed) == []
    assert inline_code("<script>alert(1)</script>")
    assert inline_code('<div style="color:red"></div>')
    assert inline_code("<style>p{}</style>")
    assert inline_code('<a href="javascript:alert(1)" onclick="x()">x</a>')
