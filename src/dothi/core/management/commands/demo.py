from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand
from django.db import connections

from dothi.core import demo, geo
from dothi.core.management.commands import _processes
from dothi.core.management.commands._ui import accounts_table
from dothi.core.models import Commune

COMMUNE_COUNT = 3321


class Command(BaseCommand):
    help = (
        "Run the demo: migrate, load the administrative units and seed the demo city if the database is "
        "empty, then serve on HOST:PORT with the task worker and the scheduler."
    )
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--data-dir", default=None, help="database and uploads directory (default: var/)")
        parser.add_argument("--reset", action="store_true", help="delete the demo database first")
        parser.add_argument(
            "--no-background", action="store_true", help="do not start the worker and scheduler"
        )

    def handle(self, *args, host, port, data_dir, reset, no_background, **options):
        started = time.perf_counter()
        if data_dir and Path(data_dir).resolve() != Path(settings.DATA_DIR):
            # Settings read DOTHI_DATA_DIR once, at import: start again with it set. (`dothi demo` sets
            # it before Django starts, so this only happens under `python -m django demo`.)
            env = dict(os.environ, DOTHI_DATA_DIR=str(Path(data_dir).resolve()))
            argv = [sys.executable, "-m", "django", "demo", "--host", host, "--port", str(port)]
            argv += ["--reset"] * reset + ["--no-background"] * no_background
            os.execve(sys.executable, argv, env)  # noqa: S606
        if reset:
            self._reset()
        call_command("migrate", interactive=False, verbosity=0)
        if Commune.objects.count() < COMMUNE_COUNT:
            self.stdout.write("Loading the administrative units…")
            geo.load_admin_units()
        if demo.database_is_empty():
            demo.seed_demo(report=self.stdout.write)
        else:
            self.stdout.write("The database already holds data: not seeding (use --reset to start afresh).")
        table = accounts_table(demo.demo_accounts(), self.stdout._out)
        if table:
            self.stdout.write(table)
        self.stdout.write(f"One-time codes for citizens are written to {settings.DATA_DIR / 'outbox.log'}")
        self.stdout.write(f"Data directory: {settings.DATA_DIR}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Ready in {time.perf_counter() - started:.1f} s: http://{host}:{port}/  (Ctrl-C to stop)"
            )
        )
        # The demo city's sensors keep reporting while the demo runs (else they would go offline).
        extra = []
        if "simulate_sensors" in get_commands():
            extra.append(["simulate_sensors", "--city", demo.CITY["slug"], "--direct"])
        _processes.serve(
            host=host, port=port, workers=1, background=not no_background, extra=extra,
            write=self.stdout.write,
        )

    def _reset(self) -> None:
        db = settings.DATABASES["default"]
        if db["ENGINE"] == "django.db.backends.sqlite3":
            connections.close_all()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db['NAME']}{suffix}").unlink(missing_ok=True)
            self.stdout.write(f"Deleted the demo database {db['NAME']}.")
        else:
            call_command("migrate", interactive=False, verbosity=0)
            call_command("flush", interactive=False, verbosity=0)
            self.stdout.write("Deleted all data in the database (--reset).")
