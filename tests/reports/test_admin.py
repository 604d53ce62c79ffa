"""The reports admin: city administrators see their city's rows only, and an Open311 key issued in
the admin is shown once and stored only as a hash."""

import re

import pytest
from django.urls import reverse

from dothi.reports import services
from dothi.reports.models import Category, Open311Key
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_for(client):
    def login(user):
        client.force_login(user)
        client.cookies["dothi_language"] = "en"
        return client

    return login


def test_changelists_render(rx, submit, admin_client_for):
    submit()
    client = admin_client_for(rx.cast["city_admin"])
    for model in ("category", "routingrule", "dispatch", "responsetemplate", "open311key", "report"):
        response = client.get(reverse(f"admin:reports_{model}_changelist"))
        assert response.status_code == 200, model
    category = Category.objects.get(code="pothole")
    assert client.get(reverse("admin:reports_category_change", args=[category.pk])).status_code == 200


def test_city_admin_sees_only_their_city(rx, admin_client_for, other_city):
    Category.objects.create(city=other_city, code="hcm-only", name_vi="Chỉ HCM")
    client = admin_client_for(rx.cast["city_admin"])
    body = client.get(reverse("admin:reports_category_changelist")).content.decode()
    assert "pothole" in body and "hcm-only" not in body


def test_issue_key_in_admin_shows_plaintext_once(rx, admin_client_for):
    client = admin_client_for(rx.cast["city_admin"])
    response = client.post(
        reverse("admin:reports_open311key_add"),
        {
            "city": rx.city.pk,
            "name": "FixMyStreet bridge",
            "contact": "dev@example.org",
            "rate": "100/h",
            "is_active": "on",
        },
        follow=True,
    )
    assert response.status_code == 200
    shown = re.search(r"d311_[A-Za-z0-9_-]{32}", response.content.decode())
    assert shown
    key = Open311Key.objects.get(name="FixMyStreet bridge")
    assert key.rate == "100/h" and key.prefix == shown.group(0)[:8]
    assert services.open311_key_lookup(city=rx.city, plaintext=shown.group(0)) == key
    page = client.get(reverse("admin:reports_open311key_change", args=[key.pk])).content.decode()
    assert shown.group(0) not in page


def test_agency_staff_cannot_use_reports_admin(rx, admin_client_for):
    staff = factories.make_staff(rx.city, "agency_staff", organisation=rx.agency)
    staff.is_staff = True
    staff.save()
    client = admin_client_for(staff)
    response = client.get(reverse("admin:reports_category_changelist"))
    assert response.status_code in (302, 403)
