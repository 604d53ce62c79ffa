"""Request plumbing: which city a request is for, and security headers."""

from __future__ import annotations

import re

from django.conf import settings
from django.http import Http404
from django.middleware.locale import LocaleMiddleware
from django.urls import get_script_prefix, set_script_prefix
from django.utils import translation

from dothi.core import cities

_PREFIX = re.compile(r"^/c/(?P<slug>[a-z0-9-]{1,40})(?P<rest>/.*)?$")


def _chosen_language(request) -> str | None:
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if chosen and chosen in dict(settings.LANGUAGES) and translation.check_for_language(chosen):
        return chosen
    return None


class CityMiddleware:
    """Sets `request.city`.

    `/c/<slug>/...` selects a city by path: the prefix is moved into the script prefix, so every
    URL pattern and every `reverse()` works unchanged beneath it. Otherwise the host name decides,
    then the deployment's only (or configured default) city. Standard surfaces at the root pick
    their city by the standard's own means and fall back to `request.city`.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        match = _PREFIX.match(request.path_info)
        old_prefix = get_script_prefix()
        if match:
            city = cities.city_by_slug(match["slug"])
            if city is None:
                # Raised before the locale middleware runs: speak the person's chosen language anyway.
                translation.activate(_chosen_language(request) or settings.LANGUAGE_CODE)
                raise Http404("Unknown city")
            request.city = city
            request.city_prefix = f"/c/{city.slug}"
            request.path_info = match["rest"] or "/"
            set_script_prefix(f"{old_prefix.rstrip('/')}/c/{city.slug}/")
        else:
            request.city = cities.city_by_host(request.get_host()) or cities.default_city()
            request.city_prefix = ""
        try:
            return self.get_response(request)
        finally:
            set_script_prefix(old_prefix)


class SecurityHeadersMiddleware:
    """Headers Django does not set itself."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), payment=(), usb=(), geolocation=(self)"
        )
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        if request.user.is_authenticated if hasattr(request, "user") else False:
            response.setdefault("Cache-Control", "private, no-store")
        return response


class CityLocaleMiddleware(LocaleMiddleware):
    """Pages speak the person's chosen language (cookie), else the city's default language — not the
    browser's: a city's app is Vietnamese unless someone picks English. Machine clients of the APIs
    ask with Accept-Language and get their errors in that language."""

    MACHINE_PREFIXES = ("/api/", "/open311/", "/ngsi-ld/", "/alerts/")

    def process_request(self, request):
        chosen = _chosen_language(request)
        if chosen:
            language = chosen
        elif request.path_info.startswith(self.MACHINE_PREFIXES):
            language = translation.get_language_from_request(request)
        else:
            city = getattr(request, "city", None)
            language = city.default_language if city is not None else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
