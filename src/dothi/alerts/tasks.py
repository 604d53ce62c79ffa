"""Background work of the alerts module (django-tasks). Arguments are ids; every task re-reads the
database."""

from __future__ import annotations

from django_tasks import task


@task()
def fanout(fanout_id: int):
    """Deliver one published CAP message to the subscribers of its area (alerts.delivery)."""
    from dothi.alerts import delivery

    result = delivery.fanout_run(fanout_id)
    return getattr(result, "status", None)


@task()
def expire() -> int:
    """Scheduled: end the published warnings past their expiry time."""
    from dothi.alerts import services

    return services.expire_warnings()
