"""The reports module's role × operation matrix, written out independently of the manifest: a change
that widens or narrows access fails here until the table is changed on purpose. (Agency scoping —
staff act only on their agency's reports — is tested in test_transitions.py.)"""

import pytest
from django.core.exceptions import PermissionDenied

from dothi.core import permissions
from dothi.core.manifests import registry

pytestmark = pytest.mark.django_db

HANDLING = {"agency_staff", "agency_manager", "operator", "city_admin"}
EXPECTED = {
    "reports.submit": {"citizen"},
    "reports.follow": {"citizen", *HANDLING},
    "reports.file_on_behalf": {"agency_staff", "agency_manager", "operator"},
    "reports.handle": HANDLING,
    "reports.assign": {"agency_manager", "operator", "city_admin"},
    "reports.reroute": {"agency_manager", "operator", "city_admin"},
    "reports.moderate": {"operator", "city_admin"},
    "reports.view_contact": {"agency_staff", "agency_manager", "city_admin"},
    "reports.stats": {"agency_manager", "operator", "council_member", "city_admin"},
    "reports.configure": {"city_admin"},
    "reports.open311_keys": {"city_admin"},
}


def test_every_declared_operation_is_in_the_matrix():
    declared = {op for op in registry.permissions() if op.startswith("reports.")}
    assert declared == set(EXPECTED)


@pytest.mark.parametrize("operation", sorted(EXPECTED))
def test_matrix(operation, cast, city):
    for role, user in cast.items():
        # Visitors act as citizens only for what the city's policy lists (nothing of reports by default).
        allowed = role == "platform_admin" or role in EXPECTED[operation]
        assert permissions.can(user, operation, city) is allowed, (role, operation)
        if not allowed:
            with pytest.raises(PermissionDenied):
                permissions.require(user, operation, city)


def test_rating_reports_is_declared():
    assert "reports.report" in registry.feedback_subjects()
    assert registry.feedback_validator("reports.report") is not None
