"""`dothi scheduler [--once] [--interval S]`: enqueue the modules' scheduled jobs when they are due."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from dothi.core.manifests import registry
from dothi.core.scheduler import Scheduler


class Command(BaseCommand):
    help = "Enqueue scheduled jobs declared in module manifests when due (the db-worker runs them)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true", help="Run one tick and exit.")
        parser.add_argument(
            "--interval", type=float, default=30.0, help="Seconds between ticks (default: %(default)s)."
        )

    def handle(self, *, once: bool, interval: float, **options) -> None:
        if interval <= 0:
            raise CommandError("--interval must be positive.")
        if options["verbosity"] > 1:
            for name, (every, job) in sorted(registry.schedules().items()):
                self.stdout.write(f"{name}: every {every}s -> {job.module_path}")
        scheduler = Scheduler(interval=interval)
        scheduler.install_signal_handlers()
        scheduler.run(once=once)
