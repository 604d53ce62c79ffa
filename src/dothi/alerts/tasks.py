"""Background work of the alerts module (django-tasks). Arguments are ids; every task re-reads the
database."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_tasks import task

# A failed fan-out (the database restarting, a deadlock) is tried again after 30 s, 60 s, 120 s… at most
# this many times; after that it stays `failed` on the delivery log until staff enqueue it again.
FANOUT_RETRIES = 6
FANOUT_RETRY_BASE_SECONDS = 30


@task()
def fanout(fanout_id: int, attempt: int = 0):
    """Deliver one published CAP message to the subscribers of its area (alerts.delivery)."""
    from dothi.alerts import delivery

    try:
        result = delivery.fanout_run(fanout_id)
    except Exception:
        # fanout_run rolled its work back and marked the run failed; a warning nobody received is the
        # one thing this module must not leave alone, so the retry is queued before the error surfaces.
        if attempt < FANOUT_RETRIES:
            delay = timedelta(seconds=FANOUT_RETRY_BASE_SECONDS * 2**attempt)
            fanout.using(run_after=timezone.now() + delay).enqueue(fanout_id, attempt + 1)
        raise
    return getattr(result, "status", None)


@task()
def expire() -> int:
    """Scheduled: end the published warnings past their expiry time."""
    from dothi.alerts import services

    return services.expire_warnings()
