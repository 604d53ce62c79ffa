from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from dothi.core import geo
from dothi.core.management.commands._ui import progress_bar


class Command(BaseCommand):
    help = (
        "Load (or update) Vietnam's 34 provinces and 3,321 communes from the vietnam-provinces package, "
        "with centre points and areas from vietnamadminunits. Safe to re-run."
    )

    def handle(self, *args, **options):
        started = time.perf_counter()
        with progress_bar("Communes") as progress:
            provinces, communes = geo.load_admin_units(progress=progress)
        elapsed = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(f"Loaded {provinces} provinces and {communes} communes in {elapsed:.1f} s.")
        )
