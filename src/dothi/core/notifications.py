"""Notification channels: how a notification leaves the platform besides the in-app inbox.

A channel is a small strategy object chosen by name through `channels` (a StrategyRegistry), the
same pattern as OTP senders and identity verifiers. `deliver()` returns an `Outcome`:

- `Outcome.sent(detail)`: the message left the platform;
- `Outcome.skipped(reason)`: delivery is impossible for a lasting reason (no e-mail address, channel
  not configured); retrying would not help, so the delivery log records why and stops;
- raising `ChannelError` (or any exception): a transient failure; the delivery task retries it.

Plugging in a channel (e.g. a real Zalo OA or web-push sender) needs no change to core code:

    from dothi.core.notifications import Outcome, channels

    @channels.register("zalo")
    class MyZaloChannel:
        name = "zalo"
        def deliver(self, notification, user) -> Outcome:
            ...  # call the provider; raise ChannelError on a transient failure
            return Outcome.sent("zalo message id 123")

Register it in the `ready()` of a deployment app listed in DOTHI_EXTRA_APPS; a later registration
under the same name replaces the built-in placeholder.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.core.mail import send_mail

from dothi.core.registry import StrategyRegistry

if TYPE_CHECKING:
    from dothi.core.models import Notification

# The in-app inbox always receives every notification; the others are opt-in per person and topic.
INBOX = "inbox"
DEFAULT_CHANNELS = [INBOX]


class ChannelError(Exception):
    """A transient delivery failure (gateway down, timeout): the delivery is retried."""


@dataclass(frozen=True)
class Outcome:
    status: str  # "sent" | "skipped"
    detail: str = ""

    @classmethod
    def sent(cls, detail: str = "") -> Outcome:
        return cls("sent", detail)

    @classmethod
    def skipped(cls, detail: str) -> Outcome:
        return cls("skipped", detail)


class Channel(Protocol):
    name: str

    def deliver(self, notification: Notification, user) -> Outcome: ...


channels: StrategyRegistry[Channel] = StrategyRegistry("notification channel")


def _text(notification: Notification) -> str:
    parts = [notification.title, notification.body]
    if notification.url:
        parts.append(notification.url)
    return "\n\n".join(p for p in parts if p)


@channels.register("inbox")
class InboxChannel:
    """The in-app inbox: the Notification row itself is the delivery."""

    name = "inbox"

    def deliver(self, notification: Notification, user) -> Outcome:
        return Outcome.sent("in-app inbox")


@channels.register("email")
class EmailChannel:
    """E-mail through Django's configured backend (SMTP in production, locmem in tests)."""

    name = "email"

    def deliver(self, notification: Notification, user) -> Outcome:
        if not user.email:
            return Outcome.skipped("no e-mail address")
        try:
            send_mail(
                subject=notification.title,
                message=_text(notification),
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=[user.email],
            )
        except OSError as exc:  # SMTP errors are OSErrors: the server may come back
            raise ChannelError(f"e-mail failed: {exc}") from exc
        return Outcome.sent("e-mail accepted")


def send_sms(phone: str, text: str, *, timeout: float = 10.0) -> str:
    """POST one SMS to the deployment's gateway (settings.SMS_GATEWAY_URL) as JSON
    `{"to": phone, "text": text}`, with `Authorization: Bearer <SMS_GATEWAY_TOKEN>` when a token is set.
    The same gateway contract serves one-time codes. Returns the gateway's reply (truncated);
    raises ChannelError on a network error or a non-2xx reply."""
    url = settings.SMS_GATEWAY_URL
    if not url:
        raise LookupError("SMS gateway not configured")
    if not url.startswith(("http://", "https://")):
        # urllib would also open file:// URLs; a gateway is always HTTP(S).
        raise LookupError("SMS gateway URL must be http(s)")
    headers = {"Content-Type": "application/json"}
    if settings.SMS_GATEWAY_TOKEN:
        headers["Authorization"] = f"Bearer {settings.SMS_GATEWAY_TOKEN}"
    body = json.dumps({"to": phone, "text": text}).encode()
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked
            return response.read(200).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        raise ChannelError(f"SMS gateway replied {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise ChannelError(f"SMS gateway unreachable: {exc}") from exc


@channels.register("sms")
class SmsChannel:
    name = "sms"

    def deliver(self, notification: Notification, user) -> Outcome:
        if not settings.SMS_GATEWAY_URL:
            return Outcome.skipped("not configured")
        if not user.phone_enc:
            return Outcome.skipped("no phone number")
        # Imported here, not at module level: core imports no other module at import time, and the
        # phone is decrypted only at the moment of sending, never kept in memory longer.
        from dothi.identity.crypto import decrypt

        reply = send_sms(decrypt(user.phone_enc), _text(notification)[:480])
        return Outcome.sent(f"gateway: {reply}"[:300])


class _NotConfigured:
    """Placeholder for a channel that needs a provider account (see the module docstring)."""

    name = ""

    def deliver(self, notification: Notification, user) -> Outcome:
        return Outcome.skipped("not configured")


@channels.register("zalo")
class ZaloChannel(_NotConfigured):
    """Zalo Official Account messages: a deployment registers a real sender under "zalo"."""

    name = "zalo"


@channels.register("webpush")
class WebPushChannel(_NotConfigured):
    """Web push (VAPID): a deployment registers a real sender under "webpush"."""

    name = "webpush"
