"""Background work of the appointments module (django-tasks), fired by the scheduler."""

from __future__ import annotations

from django_tasks import task


@task()
def generate_slots() -> dict[str, int]:
    """Create the coming days' slots of every city (idempotent)."""
    from dothi.appointments import services

    return services.slots_generate_all()


@task()
def send_reminders() -> int:
    """Remind people of tomorrow's appointments, once each."""
    from dothi.appointments import services

    return services.bookings_send_reminders()
