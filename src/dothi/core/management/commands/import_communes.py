from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from dothi.core import geo
from dothi.core.errors import DomainError
from dothi.core.management.commands._ui import progress_bar
from dothi.core.models import City


class Command(BaseCommand):
    help = (
        "Import official commune boundaries for a city from a GeoJSON FeatureCollection. Each feature names "
        "its commune by code (property --code-property, default ma_xa). VN-2000 coordinates are reprojected "
        "to WGS84 with --srid (e.g. 3405/3406 UTM, 5899 TM-3 107°45' for Đà Nẵng, 9205–9218)."
    )

    def add_arguments(self, parser):
        parser.add_argument("city", help="slug of the city")
        parser.add_argument("file", help="GeoJSON file")
        parser.add_argument(
            "--code-property", default="ma_xa", help="feature property holding the commune code"
        )
        parser.add_argument(
            "--srid",
            type=int,
            default=None,
            help="EPSG code of the coordinates (default: the file's crs member, else 4326)",
        )
        parser.add_argument("--source", default="", help="where the boundaries come from (kept with them)")

    def handle(self, *args, city, file, code_property, srid, source, **options):
        target = City.objects.filter(slug=city).first()
        if target is None:
            raise CommandError(f"No city with the slug {city!r}.")
        path = Path(file)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CommandError(f"No such file: {file}")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CommandError(f"{file} is not valid JSON: {exc}")
        try:
            with progress_bar("Communes") as progress:
                count = geo.communes_import(
                    city=target,
                    data=data,
                    code_property=code_property,
                    srid=srid,
                    source=source or f"official: {path.name}",
                    progress=progress,
                )
        except DomainError as exc:
            raise CommandError(exc.message)
        self.stdout.write(
            self.style.SUCCESS(f"Imported {count} official commune boundaries for {target.slug}.")
        )
