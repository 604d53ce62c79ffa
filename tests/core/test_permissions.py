"""The role × operation matrix. The expected table is written out here, independently of the manifests,
so a manifest change that widens or narrows access fails until this table is changed on purpose."""

import pytest
from django.core.exceptions import PermissionDenied

from dothi.core import permissions
from dothi.core.manifests import registry
from tests import factories

pytestmark = pytest.mark.django_db

VISITOR_DEFAULT = {"core.feedback.give", "core.notifications.read_own"}
STAFF = {"agency_staff", "agency_manager", "operator", "council_member", "city_admin"}
EXPECTED = {
    "core.audit.view": {"city_admin"},
    "core.city.configure": {"city_admin"},
    "core.organisation.manage": {"city_admin"},
    "core.agreement.manage": {"city_admin"},
    "core.feedback.give": {"citizen"},
    "core.feedback.view": STAFF,
    "core.notifications.read_own": {"citizen", *STAFF},
    "core.staff_area.view": STAFF,
    "identity.staff.manage": {"city_admin"},
    "identity.citizen.view_personal": {"city_admin"},
}


def test_every_declared_operation_is_in_the_matrix():
    declared = {op for op in registry.permissions() if op.split(".")[0] in {"core", "identity"}}
    assert declared == set(EXPECTED), "Add new operations to EXPECTED with the roles you mean to allow."


@pytest.mark.parametrize("operation", sorted(EXPECTED))
def test_matrix(operation, cast, city):
    for role, user in cast.items():
        allowed = role == "platform_admin" or role in EXPECTED[operation] or (
            role == "visitor" and operation in VISITOR_DEFAULT and "citizen" in EXPECTED[operation]
        )
        assert permissions.can(user, operation, city) is allowed, (role, operation)
        if not allowed:
            with pytest.raises(PermissionDenied):
                permissions.require(user, operation, city)


def test_visitor_rights_are_city_policy(cast, city, other_city):
    visitor = cast["visitor"]
    assert permissions.can(visitor, "core.feedback.give", city)
    city.settings = {"identity": {"visitor_allowed": []}}
    city.save()
    assert not permissions.can(visitor, "core.feedback.give", city)
    assert permissions.can(visitor, "core.feedback.give", other_city)


def test_roles_do_not_cross_cities(cast, city, other_city):
    for role in STAFF:
        assert permissions.roles_of(cast[role], other_city) == set()
        assert role in permissions.roles_of(cast[role], city)


def test_unverified_citizen_holds_no_role(city):
    person = factories.make_citizen(city)
    person.verification_level = 0
    person.save()
    assert permissions.roles_of(person, city) == set()


def test_inactive_user_holds_no_role(cast, city):
    cast["city_admin"].is_active = False
    assert not permissions.can(cast["city_admin"], "core.audit.view", city)


def test_undeclared_operation_is_an_error(cast, city):
    with pytest.raises(KeyError):
        permissions.can(cast["city_admin"], "nobody.declared.this", city)
