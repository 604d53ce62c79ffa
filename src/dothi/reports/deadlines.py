"""Report deadlines: working days per category from the city's calendar, paused while the agency
waits for information from the reporter."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from dothi.core.calendar import add_working_days
from dothi.reports.models import OPEN_STATUSES, Category, Report


def due_at_for(*, city, category: Category, start: datetime) -> datetime:
    """When a report of `category` received at `start` must be resolved."""
    return add_working_days(city, start, int(category.deadline_working_days))


def pause(report: Report, now: datetime) -> None:
    """Stop the clock (needs information). The caller saves the report."""
    if report.paused_at is None:
        report.paused_at = now


def resume(report: Report, now: datetime) -> None:
    """Restart the clock: the due date moves later by the time spent waiting."""
    if report.paused_at is not None:
        if report.due_at is not None:
            report.due_at += max(now - report.paused_at, timedelta(0))
        report.paused_at = None


def is_overdue(report: Report, now: datetime | None = None) -> bool:
    """Open, not paused and past its due date."""
    now = now or timezone.now()
    return (
        report.status in OPEN_STATUSES
        and report.paused_at is None
        and report.due_at is not None
        and report.due_at < now
    )
