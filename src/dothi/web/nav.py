"""Navigation from the module manifests, resolved for one request.

Modules declare `NavEntry`s in their manifests; a module still being built may name a URL that does not
exist yet, so entries whose URL does not reverse are left out instead of breaking every page.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse

from dothi.core.manifests import NavEntry, registry
from dothi.core.permissions import PLATFORM_ADMIN, roles_of

# Icons the shell ships (static/web/icons/nav/<name>.svg); a NavEntry names one of them. Drawn as SVG
# files rather than emoji, which many devices lack fonts for.
ICONS = {"pin", "calendar", "warning", "bulb", "user", "bell", "gear", "default"}


def icon_url(name: str) -> str:
    return static(f"web/icons/nav/{name if name in ICONS else 'default'}.svg")


@dataclass(frozen=True)
class Link:
    module: str
    label: str
    url: str
    icon: str = ""
    description: str = ""

    @property
    def icon_url(self) -> str:
        return icon_url(self.icon)


def try_reverse(url_name: str) -> str | None:
    try:
        return reverse(url_name)
    except NoReverseMatch:
        return None


def _visible(entry: NavEntry, held: set[str]) -> bool:
    return not entry.roles or PLATFORM_ADMIN in held or bool(held & set(entry.roles))


def links(request, area: str) -> list[Link]:
    """The entries of `area` ("citizen" or "staff") this request's user may see, in manifest order."""
    user = getattr(request, "user", None)
    held = roles_of(user, getattr(request, "city", None))
    owner = {id(entry): m.name for m in registry.all() for entry in m.navigation}
    result = []
    for entry in registry.navigation(area):
        if not _visible(entry, held):
            continue
        url = try_reverse(entry.url_name)
        if url is None:
            continue
        result.append(
            Link(
                module=owner.get(id(entry), ""),
                label=str(entry.label),
                url=url,
                icon=entry.icon,
                description=str(entry.description),
            )
        )
    return result
