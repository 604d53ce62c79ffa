"""Helpers shared by the security tests: rule lookup, refusal checks, the HTML inline-code check."""

from __future__ import annotations

import fnmatch
from html.parser import HTMLParser
from urllib.parse import urlsplit

from django.conf import settings
from django.test import Client
from django.urls import NoReverseMatch, reverse

from tests.security.access import ACCESS, RULES

REFUSED = {400, 401, 403, 404, 405, 409, 413, 422, 429}
REDIRECTS = {301, 302, 303, 307, 308}
JS_TYPES = {"", "text/javascript", "application/javascript", "module", "text/ecmascript"}

HOW_TO_FIX = (
    "Add a rule to tests/security/access.py, e.g. {key!r}: \"public\" | \"authenticated\" | \"citizen\" | "
    "\"citizen_only\" | \"staff\" | \"city_admin\" | \"platform_admin\" | \"admin_site\" | \"self\" | "
    "\"nobody\" "
    "(see the module docstring for what each means)."
)


def rule_for(key: str, method: str = "GET") -> str | None:
    value = ACCESS.get(key)
    if value is None:
        matches = [pattern for pattern in ACCESS if any(c in pattern for c in "*?[") and
                   fnmatch.fnmatchcase(key, pattern)]
        if not matches:
            return None
        value = ACCESS[max(matches, key=len)]
    if isinstance(value, dict):
        value = value.get(method, value.get("*"))
    if value is not None and value not in RULES:
        raise ValueError(f"Unknown rule {value!r} for {key!r} in tests/security/access.py")
    return value


def signin_paths() -> set[str]:
    paths = set()
    for name in ("identity:signin", "identity:staff_signin", "admin:login", settings.LOGIN_URL):
        try:
            paths.add(reverse(name))
        except NoReverseMatch:
            if name.startswith("/"):
                paths.add(name)
    return paths


def is_signin_redirect(response) -> bool:
    if response.status_code not in REDIRECTS:
        return False
    return urlsplit(response.get("Location", "")).path in signin_paths()


def is_refused(response, key: str = "") -> bool:
    if response.status_code in REFUSED or is_signin_redirect(response):
        return True
    # The admin redirects to its index for an object that does not exist (see access.py).
    return (key.startswith("admin") and response.status_code in REDIRECTS
            and urlsplit(response.get("Location", "")).path == reverse("admin:index"))


def describe(response) -> str:
    text = f"{response.status_code}"
    if response.status_code in REDIRECTS:
        text += f" -> {response.get('Location')}"
    exc = getattr(response, "exc_info", None)
    if exc:
        text += f" {exc[0].__name__}: {str(exc[1])[:300]}"
    return text


def client_for(user) -> Client:
    # raise_request_exception=False: a crash is a 500 to report with the others, not an abort.
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


def signed_in(client, user) -> bool:
    """Whether the client's session still belongs to `user` (anonymous: always true)."""
    if user is None:
        return True
    return client.session.get("_auth_user_id") == str(user.pk)


class InlineCodeFinder(HTMLParser):
    """Finds what a strict CSP (script-src 'self'; style-src 'self') would block."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = {name.lower(): value for name, value in attrs}
        if tag == "script" and not names.get("src") and (names.get("type") or "").lower() in JS_TYPES:
            self.problems.append("<script> without src (inline script)")
        if tag == "style":
            self.problems.append("<style> block")
        if "style" in names:
            self.problems.append(f"style= attribute on <{tag}>")
        for name, value in names.items():
            if name.startswith("on"):
                self.problems.append(f"inline event handler {name}= on <{tag}>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL in {name}= on <{tag}>")


def inline_code(html: str) -> list[str]:
    finder = InlineCodeFinder()
    finder.feed(html)
    return sorted(set(finder.problems))
