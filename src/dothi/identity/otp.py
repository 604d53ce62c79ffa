"""One-time codes sent to a phone: issuing, sending through a pluggable sender, and checking.

Codes are 6 digits from `secrets`, stored only as an HMAC under SECRET_KEY (a leaked table does not
reveal them, and a million guesses offline are useless without the key), expire after
OTP_TTL_SECONDS and work once. OTP_MAX_ATTEMPTS wrong codes kill the challenge and lock the phone
out for OTP_LOCKOUT_SECONDS. At most OTP_SENDS_PER_HOUR codes go to one phone per hour, and
OTP_STARTS_PER_IP_PER_HOUR sign-up/sign-in attempts are accepted from one IP address per hour.

Senders are strategies (dothi.core.registry): "console" for the demo and tests, "sms" for an HTTP
SMS gateway; `settings.OTP_SENDER` names one, or gives a dotted class path.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Protocol

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from dothi.core.errors import DomainError, InvalidInput, NotFound, RateLimited
from dothi.core.registry import StrategyRegistry
from dothi.identity import crypto
from dothi.identity.models import OtpChallenge

logger = logging.getLogger("dothi.identity.otp")

CODE_DIGITS = 6


class DeliveryFailed(DomainError):
    status = 503
    code = "otp_delivery_failed"


class OtpSender(Protocol):
    def send(self, *, phone: str, code: str, purpose: str) -> None:
        """Deliver `code` to `phone` (E.164) or raise DeliveryFailed."""


senders: StrategyRegistry[OtpSender] = StrategyRegistry("OTP sender")


def message_text(code: str) -> str:
    minutes = max(1, settings.OTP_TTL_SECONDS // 60)
    return _("Your dothi code is %(code)s. It expires in %(minutes)d minutes. Never share it.") % {
        "code": code,
        "minutes": minutes,
    }


@senders.register("console")
class ConsoleSender:
    """Logs the code and appends "<iso-time> <phone> <code>" to DATA_DIR/outbox.log, where the demo
    user (and the browser tests) read it. For demonstration only: it writes codes in clear."""

    def send(self, *, phone: str, code: str, purpose: str) -> None:
        logger.info("OTP for %s (%s): %s", phone, purpose, code)
        outbox = settings.DATA_DIR / "outbox.log"
        outbox.parent.mkdir(parents=True, exist_ok=True)
        with outbox.open("a", encoding="utf-8") as fh:
            fh.write(f"{timezone.now().isoformat()} {phone} {code}\n")


@senders.register("sms")
class SmsGatewaySender:
    """Posts {"to", "text", "code"} as JSON to SMS_GATEWAY_URL with a bearer token. Any gateway
    (a carrier's brand-name SMS API, a small relay) can be put behind this one contract."""

    timeout = 10

    def send(self, *, phone: str, code: str, purpose: str) -> None:
        url = settings.SMS_GATEWAY_URL
        if not url.startswith(("https://", "http://")):
            raise DeliveryFailed(
                _("Text messages are not configured on this platform. Please contact the city.")
            )
        body = json.dumps(
            {"to": phone, "text": message_text(code), "code": code, "purpose": purpose}
        ).encode()
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {settings.SMS_GATEWAY_TOKEN}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                if not 200 <= response.status < 300:
                    raise urllib.error.HTTPError(
                        url, response.status, "gateway refused", response.headers, None
                    )
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            logger.warning("SMS gateway failed for a code (%s): %s", purpose, exc)
            raise DeliveryFailed(
                _("We could not send the code by text message. Please try again in a few minutes.")
            )


def _hash_code(token: str, code: str) -> str:
    # The token salts the HMAC so equal codes in two challenges never share a hash.
    return hmac.new(settings.SECRET_KEY.encode(), f"{token}:{code}".encode(), hashlib.sha256).hexdigest()


def _new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def phone_locked_until(phone_hash: str):
    """When the phone's lock-out ends, or None when it is not locked out."""
    since = timezone.now() - timedelta(seconds=settings.OTP_LOCKOUT_SECONDS)
    last = (
        OtpChallenge.objects.filter(phone_hash=phone_hash, locked_at__gte=since)
        .order_by("-locked_at")
        .values_list("locked_at", flat=True)
        .first()
    )
    return last + timedelta(seconds=settings.OTP_LOCKOUT_SECONDS) if last else None


def _raise_locked(until) -> None:
    minutes = max(1, int((until - timezone.now()).total_seconds() // 60) + 1)
    raise RateLimited(
        _("Too many wrong codes for this phone. Try again in %(minutes)d minutes.") % {"minutes": minutes},
        code="otp_locked",
    )


def count_ip_start(ip: str | None) -> None:
    """Count one sign-up/sign-in start from `ip` (shared cache, fixed hourly window); refuse past the limit.

    Counted before anything is looked up, so the limit also slows down guessing who has an account.
    """
    if not ip:
        return
    limit = settings.OTP_STARTS_PER_IP_PER_HOUR
    key = f"identity:otp-ip:{ip}:{int(timezone.now().timestamp()) // 3600}"
    cache.add(key, 0, timeout=3600)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=3600)
        count = 1
    if count > limit:
        raise RateLimited(
            _("Too many attempts from your network. Please wait an hour and try again."), code="otp_ip_limit"
        )


def issue(*, phone: str, purpose: str, payload: dict | None = None, ip: str | None = None) -> OtpChallenge:
    """Create a challenge for `phone` (E.164) and send its code. Refuses while the phone is locked
    out or has had OTP_SENDS_PER_HOUR codes in the last hour."""
    phone_hash = crypto.lookup_hash("phone", phone)
    until = phone_locked_until(phone_hash)
    if until:
        _raise_locked(until)
    hour_ago = timezone.now() - timedelta(hours=1)
    if OtpChallenge.objects.filter(phone_hash=phone_hash, created_at__gte=hour_ago).count() >= (
        settings.OTP_SENDS_PER_HOUR
    ):
        raise RateLimited(
            _("Too many codes were sent to this phone in the last hour. Please try again later."),
            code="otp_send_limit",
        )
    code = _new_code()
    now = timezone.now()
    with transaction.atomic():
        challenge = OtpChallenge(
            phone_hash=phone_hash,
            purpose=purpose,
            payload=payload or {},
            created_at=now,
            expires_at=now + timedelta(seconds=settings.OTP_TTL_SECONDS),
            ip=ip,
        )
        challenge.code_hash = _hash_code(challenge.token, code)
        challenge.save()
        # Sending inside the transaction: if delivery fails, no challenge is left behind.
        senders.get(settings.OTP_SENDER).send(phone=phone, code=code, purpose=purpose)
    return challenge


def check(*, token: str, code: str, purpose: str) -> OtpChallenge:
    """Consume the challenge if `code` is right; otherwise count the failure and raise.

    The failure count must survive the error, so it is committed in its own transaction before the
    exception leaves; callers must not wrap this in a transaction they roll back.
    """
    code = (code or "").strip().replace(" ", "")
    error: DomainError | None = None
    with transaction.atomic():
        challenge = (
            OtpChallenge.objects.select_for_update().filter(token=token or "", purpose=purpose).first()
        )
        if challenge is None:
            raise NotFound(_("This code request is unknown. Ask for a new code."), code="otp_unknown")
        now = timezone.now()
        until = phone_locked_until(challenge.phone_hash)
        if until:
            _raise_locked(until)
        if challenge.used_at is not None:
            raise InvalidInput(
                _("This code has already been used. Ask for a new one."), code="otp_used", field="code"
            )
        if now >= challenge.expires_at:
            raise InvalidInput(
                _("This code has expired. Ask for a new one."), code="otp_expired", field="code"
            )
        if not (len(code) == CODE_DIGITS and code.isdigit()):
            raise InvalidInput(_("Enter the 6-digit code we sent you."), code="otp_format", field="code")
        if hmac.compare_digest(challenge.code_hash, _hash_code(challenge.token, code)):
            challenge.used_at = now
            challenge.save(update_fields=["used_at"])
            return challenge
        challenge.attempts += 1
        left = settings.OTP_MAX_ATTEMPTS - challenge.attempts
        if left <= 0:
            challenge.locked_at = now
            minutes = max(1, settings.OTP_LOCKOUT_SECONDS // 60)
            error = RateLimited(
                _("Too many wrong codes. This phone is locked out for %(minutes)d minutes.")
                % {"minutes": minutes},
                code="otp_locked",
            )
        else:
            error = InvalidInput(
                ngettext(
                    "The code is wrong. You have %(left)d try left.",
                    "The code is wrong. You have %(left)d tries left.",
                    left,
                )
                % {"left": left},
                code="otp_wrong",
                field="code",
                attempts_left=left,
            )
        challenge.save(update_fields=["attempts", "locked_at"])
    raise error
