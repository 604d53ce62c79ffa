"""The audit trail in the admin: city administrators see only their city; nobody edits or deletes it."""

from __future__ import annotations

import pytest

from dothi.core import audit
from dothi.core.models import AuditEvent, City
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail(city, other_city, cast):
    mine = audit.record(actor=cast["agency_staff"], action="update", object_type="reports.report",
                        object_id="A-111", city=city, summary="in-city-A")
    theirs = audit.record(actor=None, action="update", object_type="reports.report",
                          object_id="B-222", city=other_city, summary="in-city-B")
    return mine, theirs


def test_city_admin_sees_only_their_city(client, cast, trail):
    client.force_login(cast["city_admin"])
    page = client.get("/admin/core/auditevent/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "A-111" in body
    assert "B-222" not in body
    # Nor can they open the other city's record directly.
    assert client.get(f"/admin/core/auditevent/{trail[1].pk}/change/").status_code in (302, 403, 404)
    assert client.get(f"/admin/core/auditevent/{trail[0].pk}/change/").status_code == 200


def test_city_admin_search_and_filters(client, cast, trail):
    client.force_login(cast["city_admin"])
    assert "A-111" in client.get("/admin/core/auditevent/?q=A-111").content.decode()
    assert "A-111" not in client.get("/admin/core/auditevent/?q=B-222").content.decode()
    assert "A-111" in client.get("/admin/core/auditevent/?action__exact=update").content.decode()


def test_platform_admin_sees_every_city(client, cast, trail):
    client.force_login(cast["platform_admin"])
    body = client.get("/admin/core/auditevent/").content.decode()
    assert "A-111" in body and "B-222" in body


def test_staff_without_admin_role_cannot_browse(client, cast, trail):
    client.force_login(cast["agency_manager"])
    response = client.get("/admin/core/auditevent/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize("role", ["city_admin", "platform_admin"])
def test_nobody_changes_or_deletes_in_the_admin(client, cast, trail, role):
    client.force_login(cast[role])
    record = trail[0]
    assert client.get("/admin/core/auditevent/add/").status_code == 403
    base = "/admin/core/auditevent"
    assert client.post(f"{base}/add/", {"action": "create", "object_type": "x"}).status_code == 403
    assert client.post(f"{base}/{record.pk}/change/", {"summary": "forged"}).status_code == 403
    assert client.post(f"/admin/core/auditevent/{record.pk}/delete/", {"post": "yes"}).status_code == 403
    # No bulk "delete selected" action either.
    client.post("/admin/core/auditevent/", {"action": "delete_selected", "_selected_action": [record.pk],
                                            "post": "yes"})
    record.refresh_from_db()
    assert record.summary == "in-city-A"
    assert AuditEvent.objects.filter(pk=record.pk).exists()


def test_nobody_changes_or_deletes_through_the_orm(trail):
    record = trail[0]
    record.summary = "forged"
    with pytest.raises(PermissionError):
        record.save()
    with pytest.raises(PermissionError):
        record.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=record.pk).update(summary="forged")
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=record.pk).delete()
    record.refresh_from_db()
    assert record.summary == "in-city-A"


def test_city_admin_edits_only_their_city_policy(client, cast, city, other_city):
    client.force_login(cast["city_admin"])
    body = client.get("/admin/core/city/").content.decode()
    assert f"/admin/core/city/{city.pk}/change/" in body
    assert f"/admin/core/city/{other_city.pk}/change/" not in body
    assert client.get(f"/admin/core/city/{other_city.pk}/change/").status_code in (302, 403, 404)
    response = client.post(
        f"/admin/core/city/{city.pk}/change/",
        {"enabled_modules": '["reports"]', "settings": '{"ratelimits": {"citizen_write": "5/h"}}',
         # Fields a city administrator may not change are ignored (read-only in the form):
         "slug": "hijacked", "name_vi": "Hijacked", "is_active": ""},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    city.refresh_from_db()
    assert city.enabled_modules == ["reports"]
    assert city.settings["ratelimits"]["citizen_write"] == "5/h"
    assert city.slug == "danang" and city.is_active
    # The change is in the audit trail.
    assert AuditEvent.objects.filter(object_type="core.city", object_id=str(city.pk),
                                     action="update").exists()
    # Adding or deleting cities is for nobody but platform administrators (deleting: nobody).
    assert client.get("/admin/core/city/add/").status_code == 403
    assert client.post(f"/admin/core/city/{city.pk}/delete/", {"post": "yes"}).status_code == 403
    assert City.objects.filter(pk=city.pk).exists()


def test_platform_admin_edits_cities(client, cast, city):
    client.force_login(cast["platform_admin"])
    assert client.get("/admin/core/city/add/").status_code == 200
    page = client.get(f"/admin/core/city/{city.pk}/change/").content.decode()
    assert 'name="slug"' in page and 'name="name_vi"' in page


def test_city_admin_of_another_city_only(client, city, other_city):
    admin_b = factories.make_staff(other_city, "city_admin")
    audit.record(actor=None, action="create", object_type="x", object_id="ONLY-A", city=city)
    client.force_login(admin_b)
    assert "ONLY-A" not in client.get("/admin/core/auditevent/").content.decode()
