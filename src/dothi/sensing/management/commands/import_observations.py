"""`dothi import-observations --city SLUG FILE`: load historical observations from a CSV
(sensor,quantity,time,value) through the ingestion service."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.management.base import BaseCommand, CommandError

from dothi.core.errors import DomainError
from dothi.core.management.commands._ui import progress_bar
from dothi.core.models import City
from dothi.sensing import importers, services


class Command(BaseCommand):
    help = (
        "Load historical observations from a CSV with the header sensor,quantity,time,value through the "
        "ingestion service: re-running it changes nothing, rollups follow, bad rows are listed with their "
        "reason and never stored."
    )

    def add_arguments(self, parser):
        parser.add_argument("--city", required=True, help="The city's slug.")
        parser.add_argument("file", help="CSV file")
        parser.add_argument("--source", default="import", help="Data source name the rows are counted under.")
        parser.add_argument(
            "--time-zone", default="", help="Zone of times written without one (e.g. the city's)."
        )
        parser.add_argument("--chunk", type=int, default=10_000, help="Rows per transaction.")

    def handle(self, *args, city: str, file: str, source: str, time_zone: str, chunk: int, **options):
        target = City.objects.filter(slug=city).first()
        if target is None:
            raise CommandError(f"Unknown city: {city}")
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {file}")
        if time_zone:
            try:
                ZoneInfo(time_zone)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise CommandError(f"Unknown time zone: {time_zone}") from exc
        total = importers.count_lines(path)
        try:
            with progress_bar("Observations") as progress:
                result = services.observations_import(
                    city=target,
                    rows=importers.observation_rows(path, time_zone=time_zone or None),
                    source_name=source,
                    chunk=max(chunk, 1),
                    progress=progress,
                    total=total,
                )
        except DomainError as exc:
            raise CommandError(f"{file}: {exc.message}") from exc
        for r in result.rejected[:100]:
            # Row numbers count data rows from 1; the file's line is one more (the header).
            self.stderr.write(f"line {r.index + 1}: {r.code}: {r.reason}")
        if result.rejected_count > 100:
            self.stderr.write(f"… and {result.rejected_count - 100} more rejected rows.")
        self.stdout.write(
            self.style.SUCCESS(
                f"{result.accepted} observations stored, {result.duplicates} already there, "
                f"{result.rejected_count} rejected."
            )
        )
