"""The scheduler: enqueues the jobs modules declare in `Manifest.schedules` when they are due.

It only enqueues; the django-tasks worker (`dothi db-worker`) runs the jobs. Several schedulers may
run at once (one per server, for availability): each due job is *claimed* by one conditional UPDATE
("set last_run_at = now where last_run_at is still older than now - interval"), so exactly one
scheduler wins. On PostgreSQL a concurrent UPDATE waits for the winner's row lock and then re-checks
the condition against the committed row, which no longer matches; on SQLite writes are serialised.
The claim and the enqueued task commit in one transaction: a crash between them loses neither.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, close_old_connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from dothi.core.manifests import registry
from dothi.core.models import ScheduleRun

logger = logging.getLogger(__name__)


def claim(name: str, interval: int, now: datetime | None = None) -> bool:
    """Atomically mark schedule `name` as run at `now` if it is due; True if this caller won it.

    Call inside a transaction together with the enqueue."""
    now = now or timezone.now()
    if not ScheduleRun.objects.filter(name=name).exists():
        try:
            with transaction.atomic():
                ScheduleRun.objects.create(name=name)
        except IntegrityError:
            pass  # another scheduler created it first; the UPDATE below decides who runs it
    due = Q(last_run_at__isnull=True) | Q(last_run_at__lte=now - timedelta(seconds=interval))
    won = ScheduleRun.objects.filter(due, name=name).update(last_run_at=now, runs=F("runs") + 1)
    return won == 1


def tick(now: datetime | None = None, schedules: dict[str, tuple[int, Any]] | None = None) -> list[str]:
    """Enqueue every due job once; returns the names of the jobs this scheduler enqueued."""
    now = now or timezone.now()
    schedules = registry.schedules() if schedules is None else schedules
    fired: list[str] = []
    for name, (interval, job) in sorted(schedules.items()):
        try:
            with transaction.atomic():
                if claim(name, interval, now):
                    job.enqueue()
                    fired.append(name)
        except Exception:
            # One broken job must not stop the others; it is retried at the next tick.
            logger.exception("Scheduling %s failed", name)
    if fired:
        logger.info("Enqueued %s", ", ".join(fired))
    return fired


class Scheduler:
    """The loop behind `dothi scheduler`: a tick every `interval` seconds until stopped."""

    def __init__(self, interval: float = 30.0) -> None:
        self.interval = interval
        self._stop = threading.Event()

    def stop(self, *_args: Any) -> None:
        # Finish the current tick (its transaction), then leave the loop instead of dying mid-claim.
        logger.info("Scheduler stopping")
        self._stop.set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

    def run(self, once: bool = False) -> None:
        logger.info("Scheduler: %d schedules, tick every %ss", len(registry.schedules()), self.interval)
        while not self._stop.is_set():
            close_old_connections()
            tick()
            if once:
                break
            self._stop.wait(self.interval)
        close_old_connections()
