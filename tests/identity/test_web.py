"""The identity pages over HTTP: sign-up and sign-in reading the code from the outbox file, staff
sign-in with TOTP, the account page, export and deletion."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from dothi.core.models import AuditEvent
from dothi.identity.models import OtpChallenge, User
from tests import factories

pytestmark = pytest.mark.django_db

ID = "048090123456"
PHONE = "+84912345678"
SIGNUP = {
    "id_kind": "cccd",
    "id_number": ID,
    "birth_year": "1990",
    "phone": "0912345678",
    "display_name": "Trần Thị Bình",
    "consent": "on",
}


def totp_now(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def test_pages_render_with_stable_ids(client, city):
    page = client.get(reverse("identity:signup")).content.decode()
    for element_id in ["id_id_number", "id_birth_year", "id_phone", "id_display_name", "id_consent"]:
        assert f'id="{element_id}"' in page
    assert reverse("identity:privacy") in page
    assert "<script>" not in page and "style=" not in page
    assert 'id="id_id_number"' in client.get(reverse("identity:signin")).content.decode()
    client.cookies["dothi_language"] = "en"
    privacy = client.get(reverse("identity:privacy")).content.decode()
    assert "13/2023" in privacy and "Your rights" in privacy


def test_signup_and_signin_over_http(client, city, outbox):
    response = client.post(reverse("identity:signup"), SIGNUP)
    assert response.status_code == 302 and response["Location"] == reverse("identity:signup_confirm")
    page = client.get(reverse("identity:signup_confirm")).content.decode()
    assert 'id="id_code"' in page and "678" in page and PHONE not in page
    response = client.post(reverse("identity:signup_confirm"), {"code": outbox.last_code(PHONE)})
    assert response.status_code == 302 and response["Location"] == reverse("identity:account")
    account = client.get(reverse("identity:account")).content.decode()
    assert "Trần Thị Bình" in account and ID in account
    client.post(reverse("identity:signout"))
    assert client.get(reverse("identity:account")).status_code == 302
    # Sign in again with the phone number.
    response = client.post(reverse("identity:signin"), {"id_number": "0912 345 678"})
    assert response.status_code == 302 and response["Location"] == reverse("identity:signin_confirm")
    response = client.post(reverse("identity:signin_confirm"), {"code": outbox.last_code(PHONE)})
    assert response.status_code == 302
    assert client.get(reverse("identity:account")).status_code == 200
    assert AuditEvent.objects.filter(action="sign_out").count() == 1


def test_signup_errors_next_to_fields_in_both_languages(client, city, outbox):
    bad = {**SIGNUP, "id_number": "048290123456"}
    client.cookies["dothi_language"] = "en"
    response = client.post(reverse("identity:signup"), bad)
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="id_id_number_error"' in page and "does not match the birth year 1990" in page
    client.cookies["dothi_language"] = "vi"
    response = client.post(reverse("identity:signup"), bad)
    assert "không khớp với năm sinh 1990" in response.content.decode()
    client.cookies["dothi_language"] = "en"
    response = client.post(reverse("identity:signup"), {**SIGNUP, "consent": ""})
    assert response.status_code == 422 and 'id="id_consent_error"' in response.content.decode()
    assert not OtpChallenge.objects.exists() and not User.objects.exists() and outbox.lines() == []


def test_wrong_code_page_then_success(client, city, outbox):
    client.post(reverse("identity:signup"), SIGNUP)
    code = outbox.last_code(PHONE)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    client.cookies["dothi_language"] = "en"
    response = client.post(reverse("identity:signup_confirm"), {"code": wrong})
    assert response.status_code == 422 and "4 tries left" in response.content.decode()
    assert not User.objects.exists()
    assert client.post(reverse("identity:signup_confirm"), {"code": code}).status_code == 302
    assert User.objects.count() == 1


def test_account_export_and_delete(client, city, outbox):
    client.post(reverse("identity:signup"), SIGNUP)
    client.post(reverse("identity:signup_confirm"), {"code": outbox.last_code(PHONE)})
    response = client.get(reverse("identity:account_export"))
    assert response["Content-Disposition"].startswith("attachment")
    data = json.loads(response.content)
    assert data["account"]["id_number"] == ID
    assert client.post(reverse("identity:account_delete"), {}).status_code == 422
    response = client.post(reverse("identity:account_delete"), {"confirm": "on"})
    assert response.status_code == 302
    user = User.objects.get()
    assert user.erased_at and not user.id_number_enc
    assert client.get(reverse("identity:account")).status_code == 302


def test_staff_signin_without_and_with_totp(client, city):
    staff = factories.make_staff(city, "operator", password="correct horse battery")
    url = reverse("identity:staff_signin")
    client.cookies["dothi_language"] = "en"
    response = client.post(
        url, {"username": staff.username, "password": "wrong password!"}
    )
    assert response.status_code == 422 and "Wrong username or password" in response.content.decode()
    assert AuditEvent.objects.filter(action="sign_in_failed").exists()
    response = client.post(url, {"username": staff.username, "password": "correct horse battery"})
    assert response.status_code == 302
    # Enrol TOTP: the page shows the otpauth URI and a server-drawn QR image.
    page = client.get(reverse("identity:totp_enrol")).content.decode()
    device = TOTPDevice.objects.get(user=staff, confirmed=False)
    assert "otpauth://totp/" in page and 'src="data:image/svg+xml;base64,' in page
    response = client.post(reverse("identity:totp_enrol"), {"token": totp_now(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    client.post(reverse("identity:signout"))
    # Now the password alone is not enough.
    response = client.post(url, {"username": staff.username, "password": "correct horse battery"})
    assert response.status_code == 302 and response["Location"] == reverse("identity:staff_totp")
    assert "_auth_user_id" not in client.session
    client.cookies["dothi_language"] = "en"
    response = client.post(reverse("identity:staff_totp"), {"token": "000000"})
    assert response.status_code == 422 and "authenticator code is wrong" in response.content.decode()
    assert "_auth_user_id" not in client.session
    device.refresh_from_db()
    # django-otp refuses a token older than the last used one, so wait for a fresh step if needed.
    device.last_t = -1
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    response = client.post(reverse("identity:staff_totp"), {"token": totp_now(device)})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(staff.pk)
    assert AuditEvent.objects.filter(actor=staff, action="sign_in", summary__contains="TOTP").exists()


def test_citizen_cannot_use_staff_signin(client, city):
    citizen = factories.make_citizen(city)
    citizen.set_password("a password that works")
    citizen.save()
    response = client.post(
        reverse("identity:staff_signin"), {"username": citizen.username, "password": "a password that works"}
    )
    assert response.status_code == 422 and "_auth_user_id" not in client.session


def test_signout_requires_post(client, city):
    assert client.get(reverse("identity:signout")).status_code == 405
