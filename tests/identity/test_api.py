"""The identity API: flows, errors as 4xx JSON in the user's language, CSRF on session endpoints."""

from __future__ import annotations

import pytest
from django.test import Client

from dothi.identity.models import OtpChallenge, User

pytestmark = pytest.mark.django_db

BASE = "/api/v1/identity"
ID = "048090123456"
PHONE = "+84912345678"
SIGNUP = {
    "id_kind": "cccd",
    "id_number": ID,
    "birth_year": 1990,
    "phone": "0912345678",
    "display_name": "Lê Văn Cường",
    "consent": True,
}


def post(client, path, body, **headers):
    return client.post(f"{BASE}{path}", body, content_type="application/json", **headers)


def test_signup_signin_me_export_delete(client, city, outbox):
    response = post(client, "/signup/start", SIGNUP)
    assert response.status_code == 200, response.content
    challenge = response.json()["challenge"]
    assert response.json()["sent_to"].endswith("678")
    response = post(client, "/signup/confirm", {"challenge": challenge, "code": outbox.last_code(PHONE)})
    assert response.status_code == 200 and response.json()["verification_level"] == 2
    me = client.get(f"{BASE}/me").json()
    assert me["display_name"] == "Lê Văn Cường" and me["home_city"] == "danang"
    assert client.get(f"{BASE}/me/export").json()["account"]["id_number"] == ID
    assert post(client, "/signout", {}).status_code == 204
    assert client.get(f"{BASE}/me").status_code == 401
    response = post(client, "/signin/start", {"id_number": ID})
    assert response.status_code == 200
    response = post(
        client,
        "/signin/confirm",
        {"challenge": response.json()["challenge"], "code": outbox.last_code(PHONE)},
    )
    assert response.status_code == 200
    assert client.delete(f"{BASE}/me").status_code == 204
    assert User.objects.get().erased_at is not None
    assert client.get(f"{BASE}/me").status_code == 401


def test_errors_are_4xx_json_in_the_users_language(client, city, outbox):
    bad = {**SIGNUP, "id_number": "003090123456"}
    en = post(client, "/signup/start", bad, HTTP_ACCEPT_LANGUAGE="en")
    assert en.status_code == 422
    assert en.json() == {
        "code": "cccd_province",
        "field": "id_number",
        "message": "The first three digits (003) are not a known province code.",
    }
    vi = post(client, "/signup/start", bad, HTTP_ACCEPT_LANGUAGE="vi")
    assert vi.status_code == 422 and vi.json()["message"].startswith("Ba chữ số đầu")
    assert post(client, "/signup/start", {"id_number": ID}).status_code == 422  # schema error
    assert post(client, "/signin/start", {"id_number": ID}).status_code == 404
    response = post(client, "/signup/confirm", {"challenge": "nope", "code": "123456"})
    assert response.status_code == 404 and response.json()["code"] == "otp_unknown"
    assert not OtpChallenge.objects.exists() and not User.objects.exists()


def test_conflict_and_rate_limit_statuses(client, city, outbox, settings):
    challenge = post(client, "/signup/start", SIGNUP).json()["challenge"]
    post(client, "/signup/confirm", {"challenge": challenge, "code": outbox.last_code(PHONE)})
    response = post(client, "/signup/start", {**SIGNUP, "phone": "0987654321"})
    assert response.status_code == 409 and response.json()["code"] == "id_taken"
    settings.OTP_SENDS_PER_HOUR = 1
    response = post(client, "/signin/start", {"phone": "0912345678"})
    assert response.status_code == 429 and response.json()["code"] == "otp_send_limit"


def test_session_endpoints_enforce_csrf(city, outbox):
    client = Client(enforce_csrf_checks=True)
    challenge = post(client, "/signup/start", SIGNUP).json()["challenge"]
    code = outbox.last_code(PHONE)
    refused = post(client, "/signup/confirm", {"challenge": challenge, "code": code})
    assert refused.status_code == 403
    token = client.get(f"{BASE}/csrf").json()["csrf_token"]
    response = post(client, "/signup/confirm", {"challenge": challenge, "code": code}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    assert client.delete(f"{BASE}/me").status_code == 403
    assert User.objects.get().erased_at is None
    token = client.get(f"{BASE}/csrf").json()["csrf_token"]
    assert client.delete(f"{BASE}/me", HTTP_X_CSRFTOKEN=token).status_code == 204


def test_openapi_lists_identity_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in [
        "signup/start",
        "signup/confirm",
        "signin/start",
        "signin/confirm",
        "me",
        "me/export",
        "signout",
    ]:
        assert f"{BASE}/{path}" in paths
