"""Background work of the reports module (django-tasks)."""

from __future__ import annotations

from django_tasks import task


@task()
def escalate_overdue() -> dict[str, int]:
    """Escalate overdue reports and close reports resolved more than the confirmation window ago."""
    from dothi.reports import services

    return {
        "escalated": services.reports_escalate_overdue(),
        "closed": services.reports_autoclose_resolved(),
    }


@task()
def dispatch_send(ticket_id: int) -> str:
    """Send one report to its agency by e-mail or to the agency's Open311 system (reports.dispatch)."""
    from dothi.reports import dispatch

    return dispatch.send(ticket_id)


@task()
def dispatch_sweep() -> dict[str, int]:
    """Every minute: retry due tickets, ask about tokens, withdraw tickets of re-routed reports."""
    from dothi.reports import dispatch

    return dispatch.sweep()


@task()
def dispatch_pull() -> dict[str, int]:
    """Pull status updates from every agency that works in its own Open311 system."""
    from dothi.reports import dispatch
    from dothi.reports.models import Dispatch

    totals: dict[str, int] = {}
    for agency_dispatch in Dispatch.objects.filter(method=Dispatch.Method.OPEN311).exclude(endpoint=""):
        try:
            counts = dispatch.pull(agency_dispatch)
        except Exception:  # noqa: BLE001 - one agency's failure must not stop the others
            import logging

            logging.getLogger(__name__).exception("Pulling from %s failed", agency_dispatch.endpoint)
            counts = {"errors": 1}
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
    return totals
