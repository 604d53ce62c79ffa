"""The user admin never lists identifiers; viewing them is a separate, audited action."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dothi.core.models import AuditEvent
from dothi.identity import crypto
from tests import factories

pytestmark = pytest.mark.django_db


def test_user_admin_hides_identifiers_and_audits_the_personal_view(client, city):
    citizen = factories.make_citizen(city, id_number="048090555555", phone="+84905555555")
    admin = factories.make_staff(city, "city_admin")
    client.force_login(admin)
    listing = client.get(reverse("admin:identity_user_changelist")).content.decode()
    assert citizen.username in listing
    change = client.get(reverse("admin:identity_user_change", args=[citizen.pk])).content.decode()
    for page in (listing, change):
        assert "048090555555" not in page and "905555555" not in page
        assert citizen.id_number_enc not in page and crypto.lookup_hash("cccd", "048090555555") not in page
    assert reverse("admin:identity_user_personal", args=[citizen.pk]) in change
    assert not AuditEvent.objects.filter(action="read_personal").exists()
    personal = client.get(reverse("admin:identity_user_personal", args=[citizen.pk])).content.decode()
    assert "048090555555" in personal and "+84905555555" in personal
    event = AuditEvent.objects.get(action="read_personal")
    assert event.actor == admin and event.object_id == str(citizen.pk)


def test_other_city_admin_cannot_reach_the_citizen(client, city, other_city):
    citizen = factories.make_citizen(city)
    client.force_login(factories.make_staff(other_city, "city_admin"))
    assert client.get(reverse("admin:identity_user_personal", args=[citizen.pk])).status_code == 404
    assert not AuditEvent.objects.filter(action="read_personal").exists()


def test_consent_admin_is_read_only(client, city):
    client.force_login(factories.make_platform_admin())
    assert client.get(reverse("admin:identity_consent_add")).status_code == 403
    assert client.get(reverse("admin:identity_membership_changelist")).status_code == 200


def test_city_admin_cannot_grant_platform_powers(client, city):
    admin = factories.make_staff(city, "city_admin")
    client.force_login(admin)
    url = reverse("admin:identity_user_change", args=[admin.pk])
    form = {
        "username": admin.username, "display_name": "Renamed", "email": "", "birth_year": "", "sex": "",
        "nationality": "", "home_city": str(city.pk), "language": "vi", "is_active": "on",
        "is_superuser": "on", "is_staff": "on", "verification_level": "3", "kind": "citizen",
        "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000",
    }
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    admin.refresh_from_db()
    assert admin.display_name == "Renamed"  # the edit itself went through
    assert not admin.is_superuser and admin.kind == "staff" and admin.verification_level == 0
