"""The shell of the one app: the citizen home, the staff area, the installable-app files and error pages."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import get_script_prefix, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from dothi.core import permissions, selectors
from dothi.core.manifests import registry
from dothi.web.nav import icon_url, links, try_reverse

# The five doors of the citizen app; later issues fill them through their manifests' navigation.
CITIZEN_TILES = [
    ("reports", gettext_lazy("Report a problem"),
     gettext_lazy("Report violations and problems on the spot."), "pin"),
    ("appointments", gettext_lazy("Appointments"),
     gettext_lazy("Book a time at a public-service office."), "calendar"),
    ("alerts", gettext_lazy("Warnings and news"),
     gettext_lazy("Weather, flood and security warnings."), "warning"),
    ("participation", gettext_lazy("Ideas"), gettext_lazy("Propose ideas and take part in surveys."), "bulb"),
]

# Bump when the shell's static files change, so installed apps drop their old cache.
SHELL_VERSION = "1"

# Files the service worker keeps so the app opens offline (all public).
SHELL_STATIC = [
    "js-lib-bootstrap5/css/bootstrap.min.css",
    "js-lib-bootstrap5/js/bootstrap.bundle.min.js",
    "django_htmx/htmx-2.min.js",
    "web/app.css",
    "web/app.js",
    "web/icons/icon-192.png",
    "web/icons/icon.svg",
]


def _city_picker(request) -> list[dict[str, str]]:
    prefix = get_script_prefix()
    return [{"name": c.name, "url": f"{prefix}c/{c.slug}/"} for c in selectors.active_cities()]


@require_safe
def home(request):
    city = getattr(request, "city", None)
    if city is None:
        return render(request, "web/city_picker.html", {"cities": _city_picker(request)})
    by_module: dict[str, list] = {}
    for link in links(request, "citizen"):
        by_module.setdefault(link.module, []).append(link)
    tiles = []
    for module, label, description, icon in CITIZEN_TILES:
        found = by_module.pop(module, [])
        if found and city.module_enabled(module):
            first = found[0]
            tiles.append({"label": first.label, "url": first.url, "icon_url": icon_url(first.icon or icon),
                          "description": first.description or description})
        elif city.module_enabled(module):
            tiles.append({"label": label, "url": "", "icon_url": icon_url(icon), "description": description})
    # Entries from modules beyond the five doors (web's own "home" excluded) become tiles too.
    extra = [link for module, found in by_module.items() if module not in ("web", "identity")
             for link in found]
    account_url = try_reverse("identity:account")
    # Modules speak to the home page through their manifests (the warnings active where the person
    # lives, …), so web imports none of them; notices are grouped under each module's heading.
    notice_groups: dict[str, list[dict]] = {}
    for notice in registry.home_notices(request, city):
        notice_groups.setdefault(notice.get("group") or "", []).append(notice)
    return render(
        request,
        "web/home.html",
        {"tiles": tiles, "extra": extra, "account_url": account_url, "account_icon": icon_url("user"),
         "notice_groups": list(notice_groups.items())},
    )


@require_safe
def staff_home(request):
    """The staff area: staff navigation from the manifests, for staff of the current city."""
    if not request.user.is_authenticated:
        login_url = try_reverse("identity:staff_signin") or settings.LOGIN_URL
        return redirect_to_login(request.get_full_path(), login_url)
    if not permissions.can(request.user, "core.staff_area.view", getattr(request, "city", None)):
        raise PermissionDenied(_("The staff area is for the city's staff."))
    return render(
        request,
        "web/staff_home.html",
        {
            "entries": links(request, "staff"),
            "admin_url": try_reverse("admin:index") if request.user.is_staff else None,
            "admin_icon": icon_url("gear"),
        },
    )


@require_safe
def offline(request):
    return render(request, "web/offline.html")


@require_safe
@cache_control(max_age=3600, public=True)
def webmanifest(request):
    """The web app manifest that makes the citizen app installable."""
    city = getattr(request, "city", None)
    name = f"dothi · {city.name}" if city else "dothi"
    start = reverse("web:home")
    data = {
        "name": name,
        "short_name": city.name if city else "dothi",
        "description": _("Your city in one app: reports, appointments, warnings and ideas."),
        "lang": request.LANGUAGE_CODE,
        "start_url": start,
        "scope": start,
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b3d73",
        "icons": [
            {"src": static("web/icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("web/icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {"src": static("web/icons/icon-512.png"), "sizes": "512x512", "type": "image/png",
             "purpose": "maskable"},
            {"src": static("web/icons/icon.svg"), "sizes": "any", "type": "image/svg+xml"},
        ],
    }
    return HttpResponse(
        json.dumps(data, ensure_ascii=False), content_type="application/manifest+json; charset=utf-8"
    )


@require_safe
def service_worker(request):
    response = render(
        request,
        "web/sw.js",
        {
            "version": SHELL_VERSION,
            "offline_url": reverse("web:offline"),
            "shell_urls": [static(path) for path in SHELL_STATIC],
            "static_prefix": settings.STATIC_URL,
        },
        content_type="application/javascript; charset=utf-8",
    )
    # Browsers check for a new worker on navigation; never let an old one stick.
    response["Cache-Control"] = "no-cache"
    return response


def _error(request, status: int, message: str):
    try:
        return render(request, "web/error.html", {"status": status, "message": message}, status=status)
    except Exception:  # an error page must not fail: fall back to plain text
        return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def bad_request(request, exception=None):
    return _error(request, 400, _("The request could not be understood."))


def forbidden(request, exception=None):
    return _error(request, 403, _("You do not have permission to see this page."))


def not_found(request, exception=None):
    return _error(
        request, 404, _("We could not find this page. Check the address or go back to the home page.")
    )


def server_error(request):
    return _error(request, 500, _("Something went wrong on our side. Please try again in a moment."))
