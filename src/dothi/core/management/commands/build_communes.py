from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from dothi.core import geo
from dothi.core.models import City, Commune


class Command(BaseCommand):
    help = (
        "Build approximate commune cells for a city from the commune centre points (Voronoi cells clipped "
        "to discs). Official boundaries already imported are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("city", help="slug of the city")

    def handle(self, *args, city, **options):
        target = City.objects.filter(slug=city).first()
        if target is None:
            raise CommandError(f"No city with the slug {city!r}.")
        if not Commune.objects.filter(province_id=target.province_code).exists():
            raise CommandError(
                "No communes loaded for this city's province: run `dothi load-admin-units` first."
            )
        count = geo.city_build_approximate_boundaries(target)
        self.stdout.write(self.style.SUCCESS(f"Built {count} approximate commune cells for {target.slug}."))
