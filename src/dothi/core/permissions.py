"""Role checks. Every service calls `require(actor, operation, city)`; operations and the roles that
may perform them are declared in module manifests, so the matrix test sees every one of them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from dothi.core.cities import policy
from dothi.core.manifests import registry

if TYPE_CHECKING:
    from dothi.core.models import City

CITIZEN = "citizen"
VISITOR = "visitor"
PLATFORM_ADMIN = "platform_admin"


def roles_of(user, city: City | None) -> set[str]:
    """The roles a user holds in a city. Platform administrators hold every role everywhere."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    if user.is_superuser:
        return {PLATFORM_ADMIN}
    roles: set[str] = set()
    if getattr(user, "is_citizen", False) and user.verification_level > 0:
        # A passport holder is a visitor: a citizen only for what the city's policy lets visitors do.
        roles.add(VISITOR if user.kind == "visitor" else CITIZEN)
    if city is not None:
        cache = getattr(user, "_dothi_roles", None)
        if cache is None:
            cache = {}
            for city_id, role in user.memberships.values_list("city_id", "role"):
                cache.setdefault(city_id, set()).add(role)
            user._dothi_roles = cache
        roles |= cache.get(city.pk, set())
    return roles


def can(user, operation: str, city: City | None) -> bool:
    allowed = registry.permissions().get(operation)
    if allowed is None:
        # An operation nobody declared is a programming error, not a silent "allow".
        raise KeyError(f"Undeclared operation {operation!r}: add it to a module manifest.")
    held = roles_of(user, city)
    if VISITOR in held and CITIZEN in allowed and operation in policy(city, "identity")["visitor_allowed"]:
        return True
    return PLATFORM_ADMIN in held or bool(held & allowed)


def require(user, operation: str, city: City | None) -> None:
    if not can(user, operation, city):
        raise PermissionDenied(_("You do not have permission to do this."))
