"""The inbox over the API and on the web page: a person sees and changes only their own."""

from __future__ import annotations

import pytest

from dothi.core import services
from dothi.core.models import Notification, NotificationPreference

pytestmark = pytest.mark.django_db


def _notify(user, city, title="Hello", url=""):
    return services.notify(recipient=user, city=city, topic="reports.status", title=title, url=url)


@pytest.fixture
def signed_in(client, citizen):
    client.force_login(citizen)
    return client


def test_anonymous_gets_401(client, city):
    assert client.get("/api/v1/notifications").status_code == 401
    assert client.post("/api/v1/notifications/read-all").status_code == 401
    assert client.get("/api/v1/notifications/preferences").status_code == 401


def test_list_is_own_paginated_with_unread_count(signed_in, citizen, city, cast):
    for n in range(25):
        _notify(citizen, city, title=f"n{n}")
    _notify(cast["visitor"], city, title="not yours")
    first = signed_in.get("/api/v1/notifications?page_size=10").json()
    assert (first["count"], first["unread"], len(first["items"])) == (25, 25, 10)
    assert first["items"][0]["title"] == "n24"  # newest first
    last = signed_in.get("/api/v1/notifications?page=3&page_size=10").json()
    assert len(last["items"]) == 5
    assert all(item["title"] != "not yours" for item in first["items"] + last["items"])


def test_bad_paging_is_422(signed_in):
    assert signed_in.get("/api/v1/notifications?page=0").status_code == 422
    assert signed_in.get("/api/v1/notifications?page_size=1000").status_code == 422


def test_read_one_and_cannot_read_another_persons(signed_in, citizen, city, cast):
    mine = _notify(citizen, city)
    theirs = _notify(cast["visitor"], city)
    response = signed_in.post(f"/api/v1/notifications/{mine.pk}/read")
    assert response.status_code == 200 and response.json()["read"] is True
    response = signed_in.post(f"/api/v1/notifications/{theirs.pk}/read")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_read_all(signed_in, citizen, city):
    _notify(citizen, city)
    _notify(citizen, city)
    assert signed_in.post("/api/v1/notifications/read-all").json() == {"marked": 2}
    assert signed_in.get("/api/v1/notifications").json()["unread"] == 0


def test_preferences_round_trip_and_validation(signed_in, citizen):
    got = signed_in.get("/api/v1/notifications/preferences").json()
    assert {"inbox", "email", "sms", "zalo", "webpush"} <= set(got["available"])
    assert got["preferences"] == {}
    response = signed_in.put("/api/v1/notifications/preferences", {"topic": "alerts.warning",
                             "channels": ["sms"]}, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["preferences"] == {"alerts.warning": ["inbox", "sms"]}
    bad = signed_in.put("/api/v1/notifications/preferences", {"topic": "*", "channels": ["fax"]},
                        content_type="application/json")
    assert bad.status_code == 422
    assert bad.json()["field"] == "channels"
    assert NotificationPreference.objects.count() == 1


def test_web_inbox_requires_sign_in(client, city):
    response = client.get("/notifications/")
    assert response.status_code == 302
    assert "/account/" in response["Location"] or "signin" in response["Location"]


def test_web_inbox_lists_and_marks_read(signed_in, citizen, city, cast):
    mine = _notify(citizen, city, title="Water cut tomorrow", url="/alerts/7/")
    _notify(cast["visitor"], city, title="Someone else's")
    page = signed_in.get("/notifications/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Water cut tomorrow" in html
    assert "Someone else" not in html
    assert "<script>" not in html and "style=" not in html
    response = signed_in.post(f"/notifications/{mine.pk}/read/")
    assert response.status_code == 302 and response["Location"] == "/alerts/7/"
    mine.refresh_from_db()
    assert mine.read_at is not None


def test_web_inbox_never_redirects_off_site(signed_in, citizen, city):
    evil = _notify(citizen, city, url="https://evil.example/")
    response = signed_in.post(f"/notifications/{evil.pk}/read/")
    assert response["Location"] == "/notifications/"


def test_web_cannot_mark_another_persons(signed_in, city, cast):
    theirs = _notify(cast["visitor"], city)
    assert signed_in.post(f"/notifications/{theirs.pk}/read/").status_code == 404
    assert signed_in.get(f"/notifications/{theirs.pk}/read/").status_code == 405
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_web_preferences_form(signed_in, citizen):
    response = signed_in.post("/notifications/preferences/", {"channels": ["email", "sms"]})
    assert response.status_code == 302
    assert NotificationPreference.objects.get(user=citizen, topic="*").channels == ["inbox", "email", "sms"]
    signed_in.post("/notifications/preferences/", {"channels": ["bogus"]})
    assert NotificationPreference.objects.get(user=citizen, topic="*").channels == ["inbox", "email", "sms"]
