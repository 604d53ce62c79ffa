"""Background work of the KPI module (django-tasks)."""

from __future__ import annotations

from django_tasks import task


@task()
def compute_current() -> dict[str, int]:
    """Hourly: the current month, quarter and year of every city (and the previous ones during the
    first 7 days after they end), per ward too."""
    from dothi.kpis import services

    return services.compute_current()
