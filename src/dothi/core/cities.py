"""Reading the city (tenant) and its per-city policy."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from django.conf import settings

from dothi.core.memo import ProcessMemo
from dothi.core.models import City

# Defaults for per-city policy; a city overrides any key in City.settings[module][key].
DEFAULT_POLICY: dict[str, dict[str, Any]] = {
    "identity": {
        # What a passport holder (verification level 1) may do in this city.
        "visitor_allowed": ["core.feedback.give", "core.notifications.read_own", "alerts.subscribe"],
        "min_level_for_writes": 2,
    },
    "ratelimits": {
        # django-ratelimit rate strings, per citizen and per IP, for every citizen write.
        "citizen_write": "30/h",
        "ip_write": "120/h",
    },
}


def policy(city: City | None, module: str) -> dict[str, Any]:
    merged = deepcopy(DEFAULT_POLICY.get(module, {}))
    if city is not None:
        merged.update((city.settings or {}).get(module, {}))
    return merged


# Every request asks which city it is for. A deployment has a handful of cities that rarely change, so
# the active ones are kept in-process (signals in CoreConfig.ready clear the copy on a change).
_memo = ProcessMemo("cities")


def invalidate(**_kwargs) -> None:
    _memo.clear()


def watch(model) -> None:
    """Clear the copy when a row of `model` is saved or deleted in this process (CoreConfig.ready)."""
    _memo.clear_on_change(model)


def _active() -> list[City]:
    return _memo.get("active", lambda: list(City.objects.filter(is_active=True).order_by("slug")))


def default_city() -> City | None:
    """The city served at the root: the configured one, else the only active one."""
    cities = _active()
    if settings.DEFAULT_CITY:
        return next((c for c in cities if c.slug == settings.DEFAULT_CITY), None)
    return cities[0] if len(cities) == 1 else None


def city_by_slug(slug: str) -> City | None:
    return next((c for c in _active() if c.slug == slug), None)


def city_by_host(host: str) -> City | None:
    host = host.split(":")[0].lower()
    return next((c for c in _active() if host in [h.lower() for h in c.hosts]), None)


def request_city(request) -> City:
    """The city a request is for (set by CityMiddleware); NotFound (404) on a multi-city root."""
    from django.utils.translation import gettext as _

    from dothi.core.errors import NotFound

    city = getattr(request, "city", None)
    if city is None:
        raise NotFound(_("No city is served at this address."))
    return city


def page_city(request) -> City:
    """The same for pages: a plain 404 page."""
    from django.http import Http404

    city = getattr(request, "city", None)
    if city is None:
        raise Http404
    return city


def map_centre(city: City) -> dict[str, str]:
    """Where a city's maps open: the centre and bounding box of its communes, as the data attributes the
    map scripts read (Đà Nẵng's centre until boundaries exist)."""
    bbox = city.bbox
    if bbox is None:
        return {"lat": "16.05", "lon": "108.2", "bbox": ""}
    return {
        "lat": f"{(bbox[1] + bbox[3]) / 2:.6f}",
        "lon": f"{(bbox[0] + bbox[2]) / 2:.6f}",
        "bbox": ",".join(f"{v:.6f}" for v in bbox),
    }
