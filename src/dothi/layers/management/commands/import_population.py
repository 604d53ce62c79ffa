from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from dothi.core.errors import DomainError
from dothi.core.models import City
from dothi.layers import services


class Command(BaseCommand):
    help = (
        "Import population per commune from CSV (columns ma_xa, nam, dan_so and optionally so_ho; or "
        "commune_code, year, population, households), all or nothing. --year stands for a missing year "
        "column. A (commune, year) already stored is updated."
    )

    def add_arguments(self, parser):
        parser.add_argument("--city", required=True, help="slug of the city")
        parser.add_argument("file", help="CSV file (UTF-8)")
        parser.add_argument(
            "--year", type=int, default=None, help="the year when the file has no year column"
        )
        parser.add_argument("--source", default="", help="where the figures come from (kept with them)")

    def handle(self, *args, city, file, year, source, **options):
        target = City.objects.filter(slug=city).first()
        if target is None:
            raise CommandError(f"No city with the slug {city!r}.")
        path = Path(file)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise CommandError(f"No such file: {file}")
        except IsADirectoryError:
            raise CommandError(f"{file} is a directory.")
        try:
            count = services.population_import(
                actor=None, city=target, data=data, filename=path.name, year=year, source=source or path.name
            )
        except DomainError as exc:
            raise CommandError(f"Rejected {path.name}: {exc.message}")
        self.stdout.write(
            self.style.SUCCESS(f"Imported the population of {count} communes for {target.slug}.")
        )
