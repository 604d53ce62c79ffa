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
