"""Background work of the control centre (django-tasks)."""

from __future__ import annotations

from django_tasks import task


@task()
def sweep_all() -> dict[str, int]:
    """Every minute: turn every module's alarm conditions into alarms, for every active city."""
    from dothi.core.models import City
    from dothi.ioc import services

    raised = 0
    for city in City.objects.filter(is_active=True):
        raised += services.sweep(city).raised
    return {"raised": raised}
