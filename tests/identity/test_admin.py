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
