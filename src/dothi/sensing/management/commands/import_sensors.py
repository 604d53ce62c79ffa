"""`dothi import-sensors --city SLUG FILE`: register or update sensors from a CSV or GeoJSON file."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from dothi.core.errors import DomainError
from dothi.core.management.commands._ui import progress_bar
from dothi.core.models import City
from dothi.sensing import importers, services


class Command(BaseCommand):
    help = (
        "Register or update sensors from a CSV (header: code,name,kind,lat,lon,quantities,owner,agreement,"
        "is_public,expected_interval_seconds,view_description,stream_url,description) or a GeoJSON "
        "FeatureCollection of points with the same properties. Bad rows are listed and skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--city", required=True, help="The city's slug.")
        parser.add_argument("file", help="CSV or GeoJSON file")

    def handle(self, *args, city: str, file: str, **options):
        target = City.objects.filter(slug=city).first()
        if target is None:
            raise CommandError(f"Unknown city: {city}")
        try:
            rows = importers.sensor_rows(Path(file))
        except DomainError as exc:
            raise CommandError(f"{file}: {exc.message}") from exc
        with progress_bar("Sensors") as progress:
            result = services.sensors_import(
                actor=None, city=target, rows=rows, progress=progress, total=len(rows)
            )
        for number, message in result.errors:
            self.stderr.write(f"row {number}: {message}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{result.created} sensors registered, {result.updated} updated, "
                f"{len(result.errors)} rows rejected."
            )
        )
        if result.errors and not (result.created or result.updated):
            raise CommandError("No sensor was imported.")
