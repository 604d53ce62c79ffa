"""Background work of the shared kernel (django-tasks; the database backend's `db_worker` runs it).

Task arguments are JSON (ids, not objects), and every task re-reads the database, because the row
may have changed between enqueueing and running.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from dothi.core.models import City, Delivery, Notification
from dothi.core.notifications import channels

logger = logging.getLogger(__name__)

# A failed delivery is retried up to this many times (so tried at most MAX_RETRIES + 1 times).
MAX_RETRIES = 3


def _retry_delay(attempts: int) -> timedelta:
    """Exponential back-off: base, 2×base, 4×base… (base from settings, 60 s by default)."""
    base = settings.NOTIFY_RETRY_BASE_SECONDS
    return timedelta(seconds=base * (2 ** max(attempts - 1, 0)))


@task()
def deliver(delivery_id: int) -> str:
    """Deliver one notification through one channel and record the outcome in the delivery log."""
    return _deliver_one(delivery_id)


# Fan-outs (a warning to 200,000 people) queue one task per chunk of deliveries rather than one per
# delivery: 400 task rows instead of 200,000 in the publishing transaction.
@task()
def deliver_many(delivery_ids: list[int]) -> dict[str, int]:
    """Deliver a chunk of deliveries, each exactly as `deliver` does (its own transaction, its own
    retries), and return how many ended in each status."""
    outcomes: dict[str, int] = {}
    for delivery_id in delivery_ids:
        try:
            status = _deliver_one(int(delivery_id))
        except Exception:  # noqa: BLE001 - one broken row must not strand the rest of the chunk
            logger.exception("Delivery %s could not be processed; retried on its own", delivery_id)
            deliver.using(run_after=timezone.now() + _retry_delay(1)).enqueue(int(delivery_id))
            status = "retried"
        outcomes[status] = outcomes.get(status, 0) + 1
    return outcomes


def _deliver_one(delivery_id: int) -> str:
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update()
            .select_related("notification", "notification__recipient")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != Delivery.Status.QUEUED:
            # Deleted with its notification, or already delivered by an earlier run of this task.
            return "gone" if delivery is None else delivery.status
        delivery.attempts += 1
        notification = delivery.notification
        try:
            outcome = channels.get(delivery.channel).deliver(notification, notification.recipient)
        except Exception as exc:  # noqa: BLE001 - any failure of a channel is logged and retried
            logger.warning("Delivery %s via %s failed: %s", delivery.pk, delivery.channel, exc)
            delivery.detail = f"{type(exc).__name__}: {exc}"[:300]
            if delivery.attempts > MAX_RETRIES:
                delivery.status = Delivery.Status.FAILED
            else:
                # Stay queued; the retry is a new task run after the back-off, so the worker is not
                # blocked meanwhile. Enqueued in this transaction: both commit or neither does.
                deliver.using(run_after=timezone.now() + _retry_delay(delivery.attempts)).enqueue(delivery.pk)
        else:
            delivery.status = outcome.status
            delivery.detail = outcome.detail[:300]
        delivery.save(update_fields=["status", "attempts", "detail", "updated_at"])
        return delivery.status


# Per-city policy: read notifications older than this many days are deleted ("notifications" section
# of City.settings, key "keep_read_days").
DEFAULT_KEEP_READ_DAYS = 90


@task()
def purge_read_notifications() -> int:
    """Housekeeping: delete read notifications older than each city's retention (unread ones stay)."""
    from dothi.core.cities import policy

    now = timezone.now()
    deleted = 0
    for city in City.objects.all():
        days = int(policy(city, "notifications").get("keep_read_days", DEFAULT_KEEP_READ_DAYS))
        _, per_model = Notification.objects.filter(
            city=city, read_at__isnull=False, read_at__lt=now - timedelta(days=days)
        ).delete()
        deleted += per_model.get(Notification._meta.label, 0)
    return deleted
