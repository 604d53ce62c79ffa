"""Reading the city (tenant) and its per-city policy."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from django.conf import settings

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


def default_city() -> City | None:
    """The city served at the root: the configured one, else the only active one."""
    if settings.DEFAULT_CITY:
        return City.objects.filter(slug=settings.DEFAULT_CITY, is_active=True).first()
    cities = list(City.objects.filter(is_active=True)[:2])
    return cities[0] if len(cities) == 1 else None


def city_by_slug(slug: str) -> City | None:
    return City.objects.filter(slug=slug, is_active=True).first()


def city_by_host(host: str) -> City | None:
    host = host.split(":")[0].lower()
    for city in City.objects.filter(is_active=True).exclude(hosts=[]):
        if host in [h.lower() for h in city.hosts]:
            return city
    return None
