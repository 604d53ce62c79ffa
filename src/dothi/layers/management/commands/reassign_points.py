from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from dothi.core import audit, geo
from dothi.core.management.commands._ui import progress_bar
from dothi.core.models import AuditEvent, City


class Command(BaseCommand):
    help = (
        "Re-locate every located point of every module (reports, sensors, offices, replies, layer features) "
        "in the city's current commune boundaries and write the commune of those whose commune changed. "
        "Importing a `communes` layer does this by itself; run it after changing boundaries another way."
    )

    def add_arguments(self, parser):
        parser.add_argument("--city", required=True, help="slug of the city")

    def handle(self, *args, city, **options):
        target = City.objects.filter(slug=city).first()
        if target is None:
            raise CommandError(f"No city with the slug {city!r}.")
        started = time.monotonic()
        with progress_bar("Point sets", stream=self.stdout) as progress:
            result = geo.reassign_points(target, progress=progress)
        audit.record(
            actor=None,
            action=AuditEvent.Action.UPDATE,
            object_type="core.communearea",
            city=target,
            summary=f"Re-assigned {sum(result.values())} located points",
            details=result,
        )
        detail = ", ".join(f"{code} {n}" for code, n in sorted(result.items())) or "no point sets"
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-assigned {sum(result.values())} points in {target.slug} ({detail}) in "
                f"{time.monotonic() - started:.1f} s."
            )
        )
