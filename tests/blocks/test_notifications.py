"""notify(): the inbox always, deliveries per preference, channels, retries and the delivery log."""

from __future__ import annotations

import pytest
from django.core import mail
from django_tasks_db.models import DBTaskResult

from dothi.core import services
from dothi.core.errors import InvalidInput
from dothi.core.models import Delivery, Notification, NotificationPreference
from dothi.core.notifications import Outcome, channels
from dothi.core.tasks import MAX_RETRIES
from dothi.identity import crypto

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _locmem_mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.NOTIFY_RETRY_BASE_SECONDS = 0  # retries become ready at once, so a batch worker sees them


def _notify(user, city, topic="reports.status"):
    return services.notify(recipient=user, city=city, topic=topic, title="Your report was resolved",
                           body="Thank you.", url="/reports/1/")


def test_default_is_inbox_only(citizen, city):
    notification = _notify(citizen, city)
    assert Notification.objects.get().pk == notification.pk
    assert notification.read_at is None
    assert not Delivery.objects.exists()
    assert not DBTaskResult.objects.exists()


def test_topic_preference_beats_star_and_queues_one_delivery_and_task_per_channel(citizen, city):
    services.set_notification_preferences(user=citizen, topic="*", channels=["sms"])
    services.set_notification_preferences(user=citizen, topic="reports.status", channels=["email", "zalo"])
    notification = _notify(citizen, city)
    assert sorted(notification.deliveries.values_list("channel", "status")) == [
        ("email", "queued"), ("zalo", "queued"),
    ]
    assert DBTaskResult.objects.count() == 2
    # Another topic falls back to the "*" preference.
    other = _notify(citizen, city, topic="alerts.warning")
    assert list(other.deliveries.values_list("channel", flat=True)) == ["sms"]


def test_email_delivered_through_django_mail(citizen, city, run_worker):
    citizen.email = "an@example.vn"
    citizen.save()
    services.set_notification_preferences(user=citizen, topic="*", channels=["email"])
    _notify(citizen, city)
    run_worker()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("sent", 1)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["an@example.vn"]
    assert mail.outbox[0].subject == "Your report was resolved"
    assert "/reports/1/" in mail.outbox[0].body


def test_email_skipped_without_address(citizen, city, run_worker):
    services.set_notification_preferences(user=citizen, topic="*", channels=["email"])
    _notify(citizen, city)
    run_worker()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.detail) == ("skipped", "no e-mail address")
    assert mail.outbox == []


def test_sms_posts_json_to_the_gateway_with_the_decrypted_phone(citizen, city, run_worker, sms_gateway):
    services.set_notification_preferences(user=citizen, topic="*", channels=["sms"])
    _notify(citizen, city)
    run_worker()
    delivery = Delivery.objects.get()
    assert delivery.status == "sent", delivery.detail
    assert len(sms_gateway.requests) == 1
    sent = sms_gateway.requests[0]
    assert sent["auth"] == "Bearer gateway-secret"
    assert sent["json"]["to"] == crypto.decrypt(citizen.phone_enc)
    assert sent["json"]["to"].startswith("+84")
    assert "Your report was resolved" in sent["json"]["text"]


def test_sms_failures_are_retried_then_succeed(citizen, city, run_worker, sms_gateway):
    sms_gateway.fail_next = 2
    services.set_notification_preferences(user=citizen, topic="*", channels=["sms"])
    _notify(citizen, city)
    run_worker()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("sent", 3)
    assert len(sms_gateway.requests) == 3


def test_sms_gives_up_after_max_retries(citizen, city, run_worker, sms_gateway):
    sms_gateway.fail_next = 100
    services.set_notification_preferences(user=citizen, topic="*", channels=["sms"])
    _notify(citizen, city)
    run_worker()
    delivery = Delivery.objects.get()
    assert delivery.status == "failed"
    assert delivery.attempts == MAX_RETRIES + 1
    assert "503" in delivery.detail
    assert len(sms_gateway.requests) == MAX_RETRIES + 1


def test_sms_unconfigured_is_skipped(citizen, city, run_worker, settings):
    settings.SMS_GATEWAY_URL = ""
    services.set_notification_preferences(user=citizen, topic="*", channels=["sms"])
    _notify(citizen, city)
    run_worker()
    assert Delivery.objects.get().status == "skipped"


@pytest.mark.parametrize("channel", ["zalo", "webpush"])
def test_placeholder_channels_report_not_configured(citizen, city, run_worker, channel):
    services.set_notification_preferences(user=citizen, topic="*", channels=[channel])
    _notify(citizen, city)
    run_worker()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.detail, delivery.attempts) == ("skipped", "not configured", 1)


def test_a_deployment_can_plug_in_a_channel(citizen, city, run_worker):
    sent = []

    class FakeZalo:
        name = "zalo"

        def deliver(self, notification, user):
            sent.append((notification.title, user.pk))
            return Outcome.sent("zalo id 42")

    original = channels._factories["zalo"]
    channels.register("zalo")(FakeZalo)
    try:
        services.set_notification_preferences(user=citizen, topic="*", channels=["zalo"])
        _notify(citizen, city)
        run_worker()
    finally:
        channels._factories["zalo"] = original
    assert sent == [("Your report was resolved", citizen.pk)]
    assert Delivery.objects.get().detail == "zalo id 42"


def test_preferences_always_keep_the_inbox(citizen):
    pref = services.set_notification_preferences(user=citizen, topic="alerts.warning",
                                                 channels=["sms", "sms"])
    assert pref.channels == ["inbox", "sms"]


@pytest.mark.parametrize(
    ("topic", "chosen"),
    [("*", ["fax"]), ("*", ["email", "carrier-pigeon"]), ("Bad Topic!", ["email"]), ("", ["email"]),
     ("*", "email"), ("*", [1])],
)
def test_bad_preferences_are_rejected_and_store_nothing(citizen, topic, chosen):
    with pytest.raises(InvalidInput):
        services.set_notification_preferences(user=citizen, topic=topic, channels=chosen)
    assert not NotificationPreference.objects.exists()


def test_bad_notification_stores_nothing(citizen, city):
    with pytest.raises(InvalidInput):
        services.notify(recipient=citizen, city=city, topic="*", title="x")
    with pytest.raises(InvalidInput):
        services.notify(recipient=citizen, city=city, topic="reports.status", title="  ")
    assert not Notification.objects.exists()


def test_mark_read_is_limited_to_the_owner(citizen, city, cast):
    mine = _notify(citizen, city)
    theirs = _notify(cast["visitor"], city)
    services.notification_mark_read(user=citizen, notification_id=mine.pk)
    from dothi.core.errors import NotFound

    with pytest.raises(NotFound):
        services.notification_mark_read(user=citizen, notification_id=theirs.pk)
    theirs.refresh_from_db()
    assert theirs.read_at is None
    mine.refresh_from_db()
    assert mine.read_at is not None


def test_mark_all_read_counts_only_own_unread(citizen, city, cast):
    for _ in range(3):
        _notify(citizen, city)
    _notify(cast["visitor"], city)
    assert services.notification_mark_all_read(user=citizen, city=city) == 3
    assert services.notification_mark_all_read(user=citizen, city=city) == 0
    assert Notification.objects.filter(read_at__isnull=True).count() == 1
