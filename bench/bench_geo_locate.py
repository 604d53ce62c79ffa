"""Point-to-commune lookups per second for Đà Nẵng's 94 approximate commune cells.

Runs on a throw-away SQLite database: `python bench/bench_geo_locate.py`.
"""

from __future__ import annotations

import os
import random
import tempfile
import time

os.environ["DOTHI_DATA_DIR"] = tempfile.mkdtemp(prefix="dothi-bench-")
os.environ.pop("DOTHI_DATABASE_URL", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dothi.settings")

import django  # noqa: E402

django.setup()

import _report  # noqa: E402
import shapely  # noqa: E402
from django.core.management import call_command  # noqa: E402

from dothi.core import geo  # noqa: E402
from dothi.core.errors import OutsideCity  # noqa: E402
from dothi.core.models import City  # noqa: E402

N = 10_000


def main() -> None:
    call_command("migrate", verbosity=0)
    geo.load_admin_units()
    city = City.objects.create(
        slug="danang", name_vi="Thành phố Đà Nẵng", name_en="Da Nang", province_code="48"
    )
    geo.city_build_approximate_boundaries(city)
    outline = geo.city_outline(city)
    rng = random.Random(48)
    # The mainland (Hoàng Sa, 400 km offshore, would make a bounding box mostly sea).
    min_lon, min_lat, max_lon, max_lat = 107.7, 14.9, 108.8, 16.3
    inside: list[tuple[float, float]] = []
    while len(inside) < N:
        point = (rng.uniform(min_lon, max_lon), rng.uniform(min_lat, max_lat))
        if outline.contains(shapely.Point(point)):
            inside.append(point)
    mixed = [(rng.uniform(min_lon, max_lon), rng.uniform(min_lat, max_lat)) for _ in range(N)]
    geo.locate(city, *inside[0])  # build the index once; the measurement is of warm lookups

    started = time.perf_counter()
    for lon, lat in inside:
        geo.locate(city, lon, lat)
    inside_rate = N / (time.perf_counter() - started)

    started = time.perf_counter()
    outside = 0
    for lon, lat in mixed:
        try:
            geo.locate(city, lon, lat)
        except OutsideCity:
            outside += 1
    mixed_rate = N / (time.perf_counter() - started)

    started = time.perf_counter()
    geo.locate_many(city, inside)
    many_rate = N / (time.perf_counter() - started)

    geo.invalidate()
    started = time.perf_counter()
    geo.locate(city, *inside[0])
    cold_ms = (time.perf_counter() - started) * 1000

    # Baseline, measured in the same run: testing every cell in turn, without the STRtree.
    cells = [(a.commune_id, shapely.geometry.shape(a.geometry)) for a in city.communearea_set.all()]
    started = time.perf_counter()
    for lon, lat in inside[:2000]:
        point = shapely.Point(lon, lat)
        next((code for code, shape in cells if shape.contains(point)), None)
    naive_rate = 2000 / (time.perf_counter() - started)

    _report.write("geo_locate", "Point-to-commune lookup (Đà Nẵng, 94 approximate cells)", [
        "| case | figure |",
        "|---|---|",
        f"| `locate()`, {N:,} random points inside the city | {inside_rate:,.0f} lookups/s |",
        f"| `locate()`, {N:,} random points in the mainland box ({outside:,} outside) "
        f"| {mixed_rate:,.0f} lookups/s |",
        f"| `locate_many()`, {N:,} points at once | {many_rate:,.0f} points/s |",
        f"| first lookup after a boundary change (index rebuilt) | {cold_ms:.1f} ms |",
        f"| baseline: every cell tested in turn, no index (2,000 points) | {naive_rate:,.0f} lookups/s |",
        f"| ratio `locate()` / baseline | {inside_rate / naive_rate:.1f}× |",
        "",
    ])


if __name__ == "__main__":
    main()
