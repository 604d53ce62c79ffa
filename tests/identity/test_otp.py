"""One-time codes: hashed storage, expiry, single use, lock-out, send and per-IP limits, senders."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.utils import timezone, translation

from dothi.core.errors import InvalidInput, RateLimited
from dothi.identity import crypto, otp
from dothi.identity.models import OtpChallenge

pytestmark = pytest.mark.django_db
PHONE = "+84912345678"


def issue(**kw):
    return otp.issue(phone=kw.pop("phone", PHONE), purpose=OtpChallenge.Purpose.SIGN_IN, **kw)


def check(challenge, code):
    return otp.check(token=challenge.token, code=code, purpose=OtpChallenge.Purpose.SIGN_IN)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_code_is_six_digits_and_stored_only_hashed(outbox):
    challenge = issue(ip="10.0.0.1")
    code = outbox.last_code(PHONE)
    assert len(code) == 6 and code.isdigit()
    row = OtpChallenge.objects.filter(pk=challenge.pk).values().get()
    assert code not in json.dumps(row, default=str)
    assert row["phone_hash"] == crypto.lookup_hash("phone", PHONE)
    assert PHONE not in json.dumps(row, default=str)


def test_outbox_line_format(outbox):
    issue()
    when, phone, code = outbox.lines()[-1]
    assert phone == PHONE and len(code) == 6
    assert timezone.datetime.fromisoformat(when).tzinfo is not None


def test_right_code_works_once(outbox):
    challenge = issue()
    code = outbox.last_code(PHONE)
    assert check(challenge, code).used_at is not None
    with pytest.raises(InvalidInput) as caught:
        check(challenge, code)
    assert caught.value.code == "otp_used"


def test_code_expires(outbox, settings):
    challenge = issue()
    code = outbox.last_code(PHONE)
    OtpChallenge.objects.filter(pk=challenge.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(InvalidInput) as caught:
        check(challenge, code)
    assert caught.value.code == "otp_expired"
    assert OtpChallenge.objects.get(pk=challenge.pk).used_at is None


def test_ttl_comes_from_settings(settings):
    settings.OTP_TTL_SECONDS = 60
    challenge = issue()
    assert timedelta(seconds=59) < challenge.expires_at - challenge.created_at <= timedelta(seconds=60)


def test_wrong_codes_count_then_lock_the_phone_out(outbox, settings):
    settings.OTP_MAX_ATTEMPTS = 3
    challenge = issue()
    code = outbox.last_code(PHONE)
    with translation.override("en"):
        for left in (2, 1):
            with pytest.raises(InvalidInput) as caught:
                check(challenge, wrong(code))
            assert caught.value.code == "otp_wrong"
            assert caught.value.extra["attempts_left"] == left
        with pytest.raises(RateLimited) as caught:
            check(challenge, wrong(code))
        assert caught.value.code == "otp_locked"
    row = OtpChallenge.objects.get(pk=challenge.pk)
    assert row.attempts == 3 and row.locked_at is not None
    # The challenge is dead even for the right code ...
    with pytest.raises(RateLimited):
        check(challenge, code)
    # ... and no new code goes to that phone during the lock-out.
    with pytest.raises(RateLimited) as caught:
        issue()
    assert caught.value.code == "otp_locked"
    # Another phone is not affected.
    issue(phone="+84987654321")
    # After the lock-out a new code can be sent.
    OtpChallenge.objects.filter(pk=challenge.pk).update(
        locked_at=timezone.now() - timedelta(seconds=settings.OTP_LOCKOUT_SECONDS + 1)
    )
    fresh = issue()
    check(fresh, outbox.last_code(PHONE))


def test_send_limit_per_phone_per_hour(settings):
    settings.OTP_SENDS_PER_HOUR = 3
    for _ in range(3):
        issue()
    with pytest.raises(RateLimited) as caught:
        issue()
    assert caught.value.code == "otp_send_limit"
    assert OtpChallenge.objects.count() == 3
    # Codes older than an hour no longer count.
    OtpChallenge.objects.update(created_at=timezone.now() - timedelta(hours=1, seconds=1))
    issue()


def test_limit_per_ip(settings):
    settings.OTP_STARTS_PER_IP_PER_HOUR = 2
    otp.count_ip_start("192.0.2.7")
    otp.count_ip_start("192.0.2.7")
    with pytest.raises(RateLimited) as caught:
        otp.count_ip_start("192.0.2.7")
    assert caught.value.code == "otp_ip_limit"
    otp.count_ip_start("192.0.2.8")


def test_malformed_code_is_refused_without_counting(outbox):
    challenge = issue()
    with pytest.raises(InvalidInput) as caught:
        check(challenge, "12ab56")
    assert caught.value.code == "otp_format"
    assert OtpChallenge.objects.get(pk=challenge.pk).attempts == 0


class _Gateway(BaseHTTPRequestHandler):
    received: list = []
    status = 200

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.headers["Authorization"], json.loads(body)))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway():
    _Gateway.received = []
    _Gateway.status = 200
    server = HTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, _Gateway
    server.shutdown()
    server.server_close()


def test_sms_sender_posts_json_with_bearer_token(settings, gateway):
    server, handler = gateway
    settings.OTP_SENDER = "sms"
    settings.SMS_GATEWAY_URL = f"http://127.0.0.1:{server.server_port}/send"
    settings.SMS_GATEWAY_TOKEN = "secret-token"
    challenge = issue()
    auth, body = handler.received[-1]
    assert auth == "Bearer secret-token"
    assert body["to"] == PHONE and body["code"] in body["text"]
    check(challenge, body["code"])


def test_sms_failure_is_a_clear_error_and_leaves_nothing(settings, gateway):
    server, handler = gateway
    handler.status = 500
    settings.OTP_SENDER = "sms"
    settings.SMS_GATEWAY_URL = f"http://127.0.0.1:{server.server_port}/send"
    with translation.override("en"), pytest.raises(otp.DeliveryFailed) as caught:
        issue()
    assert "could not send the code" in caught.value.message
    assert not OtpChallenge.objects.exists()


def test_sms_unreachable_or_unconfigured(settings):
    settings.OTP_SENDER = "sms"
    settings.SMS_GATEWAY_URL = "http://127.0.0.1:9/unreachable"
    with pytest.raises(otp.DeliveryFailed):
        issue()
    settings.SMS_GATEWAY_URL = ""
    with pytest.raises(otp.DeliveryFailed):
        issue()
    assert not OtpChallenge.objects.exists()


def test_sender_from_dotted_path(settings):
    settings.OTP_SENDER = "tests.identity.plugins.MemorySender"
    from tests.identity.plugins import MemorySender

    MemorySender.sent.clear()
    issue()
    assert MemorySender.sent[-1][0] == PHONE
