"""`dothi rebuild-facts [--city SLUG] [--key KEY] [--since YYYY-MM-DD]`: derive the daily fact rollups
(core.facts) again from the modules' raw rows."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from dothi.core import facts
from dothi.core.management.commands._ui import progress_bar
from dothi.core.manifests import registry
from dothi.core.models import City


class Command(BaseCommand):
    help = (
        "Rebuild the daily fact rollups the KPIs read (reports' resolution times, appointments' waits…) "
        "from the raw rows: every city and fact source, or the ones named, from --since (default: all days)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--city", help="slug of the city (default: every active city)")
        parser.add_argument(
            "--key", action="append", help="fact key, e.g. reports.resolution_hours (repeatable)"
        )
        parser.add_argument("--since", help="first local day to rebuild, YYYY-MM-DD (default: all)")

    def handle(self, *args, city=None, key=None, since=None, **options):
        known = [s.key for s in registry.fact_sources()]
        keys = key or known
        unknown = sorted(set(keys) - set(known))
        if unknown:
            raise CommandError(f"Unknown fact key(s): {', '.join(unknown)}. Known: {', '.join(known)}.")
        try:
            first = date.fromisoformat(since) if since else None
        except ValueError as exc:
            raise CommandError(f"--since must be a date (YYYY-MM-DD), not {since!r}.") from exc
        cities = City.objects.filter(is_active=True)
        if city:
            cities = City.objects.filter(slug=city)
            if not cities.exists():
                raise CommandError(f"No city with the slug {city!r}.")
        for target in cities.order_by("slug"):
            start, end = facts.default_range(target, first)
            for fact_key in keys:
                with progress_bar(f"{target.slug} · {fact_key}", self.stdout) as bar:
                    n = facts.rebuild(city=target, key=fact_key, start=start, end=end, progress=bar)
                self.stdout.write(f"{target.slug} {fact_key}: {n} facts from {start} to {end}.")
        self.stdout.write(self.style.SUCCESS("Facts rebuilt."))
