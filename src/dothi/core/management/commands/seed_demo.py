from __future__ import annotations

import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from dothi.core import demo
from dothi.core.management.commands._ui import accounts_table


class Command(BaseCommand):
    help = (
        "Seed the demo city (Đà Nẵng): communes and their approximate cells, agencies, staff for every "
        "role, a few hundred citizens and every module's demo data. Refuses a non-empty database unless "
        "--reset."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset", action="store_true", help="delete ALL data in the database first (never in a city)",
        )

    def handle(self, *args, reset: bool, **options):
        started = time.perf_counter()
        if not demo.database_is_empty():
            if not reset:
                raise CommandError(
                    "The database already holds data; the demo is seeded only into an empty database. "
                    "Use --reset to delete everything and seed again."
                )
            self.stdout.write("Deleting all data (--reset)…")
            call_command("flush", interactive=False, verbosity=0)
        demo.seed_demo(report=self.stdout.write)
        elapsed = time.perf_counter() - started
        self.stdout.write(self.style.SUCCESS(f"Seeded the demo city in {elapsed:.1f} s."))
        table = accounts_table(demo.demo_accounts(), self.stdout._out)
        if table:
            self.stdout.write(table)
