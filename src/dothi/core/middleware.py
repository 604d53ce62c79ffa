"""Request plumbing: which city a request is for, and security headers."""

from __future__ import annotations

import re

from django.http import Http404
from django.urls import get_script_prefix, set_script_prefix

from dothi.core import cities

_PREFIX = re.compile(r"^/c/(?P<slug>[a-z0-9-]{1,40})(?P<rest>/.*)?$")


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
