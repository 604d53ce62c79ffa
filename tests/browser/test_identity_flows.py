"""What a person does: sign up with a citizen ID, sign in with a one-time code, switch language."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from dothi.identity import crypto
from dothi.identity.models import User
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _outbox_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.OTP_SENDER = "console"


def last_code(phone: str) -> str:
    lines = (settings.DATA_DIR / "outbox.log").read_text(encoding="utf-8").splitlines()
    codes = [line.split()[2] for line in lines if line.split()[1] == phone]
    assert codes, f"no code sent to {phone}"
    return codes[-1]


def test_sign_up_with_citizen_id(page, city):
    page.goto("/account/signup/")
    assert page.locator("html").get_attribute("lang") == "vi"
    page.fill("#id_id_number", "048095001234")
    page.fill("#id_birth_year", "1995")
    page.fill("#id_phone", "0905123456")
    page.fill("#id_display_name", "Nguyễn Văn An")
    page.check("#id_consent")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(re.compile(r"/account/signup/confirm/"))
    page.fill("#id_code", last_code("+84905123456"))
    page.locator("main form button[type=submit]").last.click()
    page.wait_for_load_state()

    user = User.objects.get(id_number_hash=crypto.lookup_hash("cccd", "048095001234"))
    assert user.display_name == "Nguyễn Văn An"
    assert user.verification_level == User.Level.CITIZEN_ID
    assert user.consents.count() == 1
    page.goto("/account/")
    assert "Nguyễn Văn An" in page.content()
    assert page.js_errors == []


def test_sign_up_refuses_inconsistent_id(page, city):
    page.goto("/account/signup/")
    page.fill("#id_id_number", "048095001234")
    page.fill("#id_birth_year", "2005")  # digits say 1995
    page.fill("#id_phone", "0905123456")
    page.fill("#id_display_name", "Trần Thị Bình")
    page.check("#id_consent")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()
    assert "/confirm/" not in page.url
    assert page.locator(".invalid-feedback, .alert-danger").count() >= 1
    assert User.objects.filter(kind="citizen").count() == 0


def test_sign_in_with_one_time_code(page, city):
    person = factories.make_citizen(city, id_number="048190000777", phone="+84912000777", birth_year=1990)
    page.goto("/account/signin/")
    page.fill("#id_id_number", "048190000777")
    page.locator("main form button[type=submit]").last.click()
    page.wait_for_url(re.compile(r"/account/signin/confirm/"))
    page.fill("#id_code", last_code("+84912000777"))
    page.locator("main form button[type=submit]").last.click()
    page.wait_for_load_state()
    page.goto("/account/")
    assert person.display_name in page.content()
    assert page.js_errors == []


def test_language_switch_persists(page, city):
    page.goto("/account/signin/")
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.locator("h1").inner_text() == "Đăng nhập"
    with page.expect_navigation():
        page.select_option("#language-select", "en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.url.endswith("/account/signin/")
    assert page.locator("h1").inner_text() == "Sign in"
    page.goto("/")  # the choice is kept for the next page
    assert page.locator("html").get_attribute("lang") == "en"
    with page.expect_navigation():
        page.select_option("#language-select", "vi")
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.js_errors == []
