"""Background work of the sensing module (django-tasks), scheduled by the manifest."""

from __future__ import annotations

from django_tasks import task


@task()
def mark_offline() -> dict[str, int]:
    """Every minute: sensors silent for longer than their expected interval become offline."""
    from dothi.sensing import services

    return services.sensors_mark_offline()


@task()
def purge_raw() -> int:
    """Daily: delete raw observations older than each city's retention; rollups are kept."""
    from dothi.sensing import services

    return services.observations_purge()


@task()
def partitions_ahead() -> list[str]:
    """Daily: on a partitioned raw table (PostgreSQL), create the coming months' partitions."""
    from dothi.sensing import partitions

    return partitions.ensure_ahead()
