"""What a person may do in a city given how well we know who they are.

Visitors (passport holders, verification level PHONE) may do only what the city allows in its
identity policy (`City.settings["identity"]["visitor_allowed"]`, a list of operation codes).
"""

from __future__ import annotations

from dothi.core import cities
from dothi.core.models import City
from dothi.identity.models import User


def visitor_may(user, operation: str, city: City | None) -> bool:
    """True when `user` may perform `operation` in `city` as far as identity is concerned.

    Citizens with a confirmed ID and staff are not restricted here (roles still apply); visitors
    only for operations the city lists; unverified, inactive or anonymous users never.
    """
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.kind == User.Kind.STAFF:
        return True
    if user.kind == User.Kind.VISITOR:
        if user.verification_level < User.Level.PHONE:
            return False
        return operation in cities.policy(city, "identity").get("visitor_allowed", [])
    return user.verification_level >= User.Level.CITIZEN_ID
