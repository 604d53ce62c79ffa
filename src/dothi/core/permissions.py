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


def _own_roles(user) -> set[str]:
    """The roles a user holds by what the account is, in every city: platform administrator, citizen
    or visitor. Empty for anonymous and inactive users."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    if user.is_superuser:
        return {PLATFORM_ADMIN}
    if getattr(user, "is_citizen", False) and user.verification_level > 0:
        # A passport holder is a visitor: a citizen only for what the city's policy lets visitors do.
        return {VISITOR if user.kind == "visitor" else CITIZEN}
    return set()


def _member_roles(user, city: City) -> set[str]:
    """The staff roles a user holds in `city` (memberships, read once per user object)."""
    cache = getattr(user, "_dothi_roles", None)
    if cache is None:
        cache = {}
        for city_id, role in user.memberships.values_list("city_id", "role"):
            cache.setdefault(city_id, set()).add(role)
        user._dothi_roles = cache
    return cache.get(city.pk, set())


def roles_of(user, city: City | None) -> set[str]:
    """The roles a user holds in a city. Platform administrators hold every role everywhere."""
    roles = _own_roles(user)
    if roles and PLATFORM_ADMIN in roles:
        return roles
    if city is not None and user is not None and getattr(user, "is_authenticated", False) and user.is_active:
        roles |= _member_roles(user, city)
    return roles


def _grants(held: set[str], allowed: frozenset[str], operation: str, city: City | None) -> bool:
    if VISITOR in held and CITIZEN in allowed and operation in policy(city, "identity")["visitor_allowed"]:
        return True
    return PLATFORM_ADMIN in held or bool(held & allowed)


def can(user, operation: str, city: City | None) -> bool:
    allowed = registry.permissions().get(operation)
    if allowed is None:
        # An operation nobody declared is a programming error, not a silent "allow".
        raise KeyError(f"Undeclared operation {operation!r}: add it to a module manifest.")
    # What the account is often settles it (a citizen filing a report): no need to read memberships.
    return _grants(_own_roles(user), allowed, operation, city) or _grants(
        roles_of(user, city), allowed, operation, city
    )


def require(user, operation: str, city: City | None) -> None:
    if not can(user, operation, city):
        raise PermissionDenied(_("You do not have permission to do this."))
