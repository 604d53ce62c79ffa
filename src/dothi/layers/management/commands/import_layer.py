from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from dothi.core.errors import DomainError
from dothi.core.management.commands._ui import progress_bar
from dothi.core.models import City
from dothi.layers import services
from dothi.layers.models import Layer

MAX_BYTES = 2 * 1024 * 1024 * 1024  # 2 GB: the command line trusts the server's own files further


class Command(BaseCommand):
    help = (
        "Import a file of features into a layer, all or nothing: GeoJSON, CSV with coordinates (lon/lat, "
        "x/y, longitude/latitude, kinh_do/vi_do, or --lon-column/--lat-column) or a zipped Shapefile. "
        "Coordinates in WGS84 or VN-2000 (the GeoJSON crs, the .prj, or --srid, e.g. 9210 or 5899) are "
        "reprojected to WGS84. A bad file is rejected with the line or feature and the reason (exit 1) "
        "and leaves the layer as it was. An import into a layer with the role `communes` replaces the "
        "approximate commune cells and re-assigns every located point."
    )

    def add_arguments(self, parser):
        parser.add_argument("--city", required=True, help="slug of the city")
        parser.add_argument("--layer", required=True, help="code of the layer")
        parser.add_argument("file", help="GeoJSON, CSV or zipped Shapefile")
        parser.add_argument(
            "--format",
            choices=["geojson", "csv", "shapefile"],
            default=None,
            help="default: from the file name or its content",
        )
        parser.add_argument(
            "--srid",
            type=int,
            default=None,
            help="EPSG code of the coordinates (default: from the file, else 4326)",
        )
        parser.add_argument(
            "--mode",
            choices=["replace", "upsert"],
            default="replace",
            help="replace every feature (default) or add and update by feature id",
        )
        parser.add_argument("--lon-column", default=None, help="CSV: the longitude (or x) column")
        parser.add_argument("--lat-column", default=None, help="CSV: the latitude (or y) column")

    def handle(self, *args, city, layer, file, format, srid, mode, lon_column, lat_column, **options):  # noqa: A002
        target = City.objects.filter(slug=city).first()
        if target is None:
            raise CommandError(f"No city with the slug {city!r}.")
        found = Layer.objects.for_city(target).filter(code=layer).first()
        if found is None:
            raise CommandError(f"{target.slug} has no layer with the code {layer!r}.")
        path = Path(file)
        try:
            if path.stat().st_size > MAX_BYTES:
                raise CommandError(f"{file} is larger than {MAX_BYTES // 1024**3} GB.")
            data = path.read_bytes()
        except FileNotFoundError:
            raise CommandError(f"No such file: {file}")
        except IsADirectoryError:
            raise CommandError(f"{file} is a directory.")
        try:
            with progress_bar(f"Layer {found.code}", stream=self.stdout) as progress:
                row = services.layer_import(
                    actor=None,
                    layer=found,
                    data=data,
                    filename=path.name,
                    format=format,
                    srid=srid,
                    mode=mode,
                    lon_column=lon_column,
                    lat_column=lat_column,
                    progress=progress,
                )
        except DomainError as exc:
            where = exc.extra.get("where")
            raise CommandError(
                f"Rejected {path.name} ({where}): {exc.message}"
                if where
                else f"Rejected {path.name}: {exc.message}"
            )
        found.refresh_from_db()
        summary = (
            f"Imported {path.name} into {target.slug}/{found.code} "
            f"({row.format}, EPSG:{row.srid}, {row.mode}): {row.added} added, {row.updated} updated, "
            f"{row.removed} removed; {found.feature_count} features."
        )
        if row.reassigned:
            summary += (
                " Re-assigned: " + ", ".join(f"{k} {v}" for k, v in sorted(row.reassigned.items())) + "."
            )
        self.stdout.write(self.style.SUCCESS(summary))
