"""The warnings JSON API under /api/v1/alerts/ over HTTP (sessions with CSRF): public reads, the
citizen's subscription and safety answer, the staff workflow, errors, and the role matrix."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone, translation
from django.utils.translation import gettext

from dothi.alerts.models import CapMessage, PublicWarning, SafetyReply, Subscription
from tests import factories
from tests.alerts.conftest import square

pytestmark = pytest.mark.django_db
BASE = "/c/danang/api/v1/alerts/"
DRAFTERS = {"agency_staff", "agency_manager", "operator", "city_admin", "platform_admin"}
APPROVERS = {"agency_manager", "operator", "city_admin", "platform_admin"}
CITIZENS = {"citizen", "visitor"}


def api_client(user=None, language: str = "en") -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE=language)
    if user is not None:
        client.force_login(user)
    token = client.get("/c/danang/api/v1/identity/csrf").json()["csrf_token"]
    return client, token


def send(client, token, method: str, path: str, data=None):
    return client.generic(method, BASE + path, json.dumps(data or {}), content_type="application/json",
                          HTTP_X_CSRFTOKEN=token)


def draft_body(ax, **overrides) -> dict:
    now = timezone.now()
    body = {
        "category": "storm",
        "urgency": "Expected",
        "severity": "Moderate",
        "certainty": "Likely",
        "headline_vi": "Bão số 5",
        "headline_en": "Typhoon no. 5",
        "instruction_vi": "Ở trong nhà.",
        "instruction_en": "Stay indoors.",
        "commune_codes": [ax.commune_b.code],
        "area_desc_en": "Ward B",
        "effective_at": (now - timedelta(minutes=1)).isoformat(),
        "expires_at": (now + timedelta(hours=12)).isoformat(),
    }
    body.update(overrides)
    return body


def test_public_list_filters_and_detail(ax, draft_warning, publish_warning):
    flood = publish_warning()  # commune A
    storm = publish_warning(category="storm", severity="Moderate", commune_codes=[ax.commune_b.code],
                            headline_en="Storm")
    draft = draft_warning(headline_en="Not yet")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    page = client.get(BASE + "warnings").json()
    assert page["count"] == 2 and page["num_pages"] == 1
    assert [w["uid"] for w in page["results"]] == [str(flood.uid), str(storm.uid)]  # worst first
    first = page["results"][0]
    assert first["headline"] == "Flood warning" and first["category"]["code"] == "flood"
    assert first["effective_at"].endswith("+07:00") and first["cap_url"].endswith(".cap.xml")
    assert first["commune_codes"] == [ax.commune_a.code] and first["version"] == 1
    assert [w["uid"] for w in client.get(BASE + "warnings", {"category": "storm"}).json()["results"]] == [
        str(storm.uid)
    ]
    by_commune = client.get(BASE + "warnings", {"commune": ax.commune_a.code}).json()["results"]
    assert [w["uid"] for w in by_commune] == [str(flood.uid)]
    assert client.get(BASE + "warnings", {"page": 2}).json()["results"] == []
    assert client.get(BASE + "warnings", {"page": 0}).status_code == 422
    assert client.get(BASE + f"warnings/{storm.uid}").json()["headline"] == "Storm"
    # A draft is nobody's business but the staff's.
    assert client.get(BASE + f"warnings/{draft.uid}").status_code == 404
    staff, _ = api_client(ax.cast["agency_staff"])
    seen = staff.get(BASE + f"warnings/{draft.uid}").json()
    assert seen["status"] == "draft" and seen["cap_url"] == ""
    assert client.get(BASE + "warnings/not-a-uuid").status_code == 422


def test_subscription_get_and_put(ax):
    citizen = ax.cast["citizen"]
    client, token = api_client(citizen)
    assert client.get(BASE + "subscription").json()["subscribed"] is False
    saved = send(client, token, "PUT", "subscription", {
        "home_commune": ax.commune_a.code, "extra_communes": [ax.commune_b.code], "categories": ["flood"],
        "min_severity": "Moderate",
    })
    assert saved.status_code == 200, saved.content
    body = client.get(BASE + "subscription").json()
    assert body["subscribed"] and body["home_commune"] == ax.commune_a.code
    assert body["extra_communes"] == [ax.commune_b.code] and body["categories"] == ["flood"]
    assert body["min_severity"] == "Moderate"
    bad = send(client, token, "PUT", "subscription", {"home_commune": "00000"})
    assert bad.status_code == 422 and bad.json()["field"] == "home_commune"
    unknown = send(client, token, "PUT", "subscription", {"categories": ["nope"]})
    assert unknown.status_code == 422 and unknown.json()["field"] == "categories"
    assert send(client, token, "PUT", "subscription", {"min_severity": "Awful"}).status_code == 422
    assert Subscription.objects.get(user=citizen).min_severity == "Moderate"
    # Without CSRF, or as staff, or signed out: refused.
    assert client.put(BASE + "subscription", "{}", content_type="application/json").status_code == 403
    operator, op_token = api_client(ax.cast["operator"])
    assert operator.get(BASE + "subscription").status_code == 403
    assert send(operator, op_token, "PUT", "subscription", {}).status_code == 403
    anonymous, anon_token = api_client()
    assert anonymous.get(BASE + "subscription").status_code == 401
    assert Subscription.objects.count() == 1


def test_safety_answer(ax, publish_warning):
    flood = publish_warning()  # asks "are you safe?"
    storm = publish_warning(category="storm", severity="Moderate")  # does not
    client, token = api_client(ax.cast["citizen"])
    lat, lon = ax.point_a
    answer = send(client, token, "POST", f"warnings/{flood.uid}/safety",
                  {"status": "need_help", "note": "Kẹt trên mái nhà", "lat": lat, "lon": lon})
    assert answer.status_code == 200, answer.content
    assert answer.json()["commune"] == ax.commune_a.code and answer.json()["status"] == "need_help"
    assert send(client, token, "POST", f"warnings/{flood.uid}/safety", {"status": "fine"}).status_code == 422
    assert send(client, token, "POST", f"warnings/{storm.uid}/safety", {"status": "safe"}).status_code == 409
    outside = send(client, token, "POST", f"warnings/{flood.uid}/safety", {"status": "safe", "lat": 21.03,
                                                                          "lon": 105.85})
    assert outside.status_code == 422
    operator, op_token = api_client(ax.cast["operator"])
    refused = send(operator, op_token, "POST", f"warnings/{flood.uid}/safety", {"status": "safe"})
    assert refused.status_code == 403
    assert SafetyReply.objects.get().status == "need_help"


def test_draft_approve_update_cancel_over_http(ax):
    staff, staff_token = api_client(ax.cast["agency_staff"])
    created = send(staff, staff_token, "POST", "warnings", draft_body(ax))
    assert created.status_code == 201, created.content
    uid = created.json()["uid"]
    assert created.json()["status"] == "draft" and created.json()["version"] == 0
    assert send(staff, staff_token, "POST", f"warnings/{uid}/approve").status_code == 403
    manager, token = api_client(ax.cast["agency_manager"])
    approved = send(manager, token, "POST", f"warnings/{uid}/approve")
    assert approved.status_code == 200, approved.content
    body = approved.json()
    assert body["warning"]["status"] == "published" and body["message"]["msg_type"] == "Alert"
    assert body["message"]["url"].endswith("/v1.cap.xml") and body["message"]["sent_at"].endswith("+07:00")
    assert send(manager, token, "POST", f"warnings/{uid}/approve").status_code == 409

    nothing = send(manager, token, "POST", f"warnings/{uid}/update", {})
    assert nothing.status_code == 422
    updated = send(manager, token, "POST", f"warnings/{uid}/update", {"severity": "Severe",
                                                                     "headline_en": "Typhoon no. 5 nears"})
    assert updated.status_code == 200, updated.content
    assert updated.json()["message"]["msg_type"] == "Update" and updated.json()["message"]["version"] == 2
    warning = PublicWarning.objects.get(uid=uid)
    assert warning.severity == "Severe" and warning.headline_vi == "Bão số 5"  # unsent fields unchanged

    assert send(manager, token, "POST", f"warnings/{uid}/cancel", {"reason": ""}).status_code == 422
    cancelled = send(manager, token, "POST", f"warnings/{uid}/cancel", {"reason": "Bão đã tan"})
    assert cancelled.status_code == 200
    assert cancelled.json()["warning"]["status"] == "cancelled"
    assert cancelled.json()["message"]["version"] == 3
    assert list(CapMessage.objects.filter(warning=warning).values_list("msg_type", flat=True)) == [
        "Alert", "Update", "Cancel"
    ]
    public = Client().get(BASE + f"warnings/{uid}").json()
    assert public["status"] == "cancelled" and public["reason"] == "Bão đã tan"


def test_reject_over_http(ax, draft_warning):
    draft = draft_warning()
    operator, token = api_client(ax.cast["operator"])
    assert send(operator, token, "POST", f"warnings/{draft.uid}/reject", {"reason": ""}).status_code == 422
    rejected = send(operator, token, "POST", f"warnings/{draft.uid}/reject", {"reason": "Trùng lặp"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert send(operator, token, "POST", f"warnings/{draft.uid}/approve").status_code == 409


@pytest.mark.parametrize("language", ["vi", "en"])
def test_bad_drafts_store_nothing_and_speak_the_users_language(ax, language):
    client, token = api_client(ax.cast["agency_staff"], language)
    now = timezone.now()
    with translation.override(language):
        cases = [
            (draft_body(ax, effective_at=(now + timedelta(hours=2)).isoformat(),
                        expires_at=(now + timedelta(hours=1)).isoformat()),
             "expires_at", gettext("The expiry time must be after the time the warning takes effect.")),
            (draft_body(ax, category="nope"), "category", gettext("Unknown warning category.")),
            (draft_body(ax, commune_codes=[], polygon=square(21.03, 105.85)), "polygon",
             gettext("The area is outside %(city)s.") % {"city": ax.city.name}),
        ]
    for body, field, message in cases:
        response = send(client, token, "POST", "warnings", body)
        assert response.status_code == 422, (field, response.content)
        assert response.json()["field"] == field and response.json()["message"] == message
    assert PublicWarning.objects.count() == 0


def test_role_matrix(ax, other_city, draft_warning):
    drafts = {}
    for role, user in ax.cast.items():
        client, token = api_client(user)
        response = send(client, token, "POST", "warnings", draft_body(ax, headline_en=f"by {role}"))
        if user is None:
            assert response.status_code == 401, role
        elif role in DRAFTERS:
            assert response.status_code == 201, (role, response.content)
            drafts[role] = response.json()["uid"]
        else:
            assert response.status_code == 403, role
        subscription = client.get(BASE + "subscription")
        expected = 401 if user is None else 200 if role in CITIZENS | {"platform_admin"} else 403
        assert subscription.status_code == expected, role
    assert PublicWarning.objects.count() == len(DRAFTERS)
    target = drafts["agency_staff"]
    for role, user in ax.cast.items():
        if role in APPROVERS:
            continue
        client, token = api_client(user)
        for action in ("approve", "reject", "cancel"):
            response = send(client, token, "POST", f"warnings/{target}/{action}", {"reason": "x"})
            assert response.status_code in ((401,) if user is None else (403, 404)), (role, action)
    outsider, token = api_client(factories.make_staff(other_city, "operator"))
    assert send(outsider, token, "POST", "warnings", draft_body(ax)).status_code == 403
    assert send(outsider, token, "POST", f"warnings/{target}/approve").status_code in (403, 404)
    assert PublicWarning.objects.get(uid=target).status == "draft"
