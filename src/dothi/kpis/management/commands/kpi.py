"""`dothi kpi sync`: load the shared indicator catalogue (U4SSC + one per calculator).
`dothi kpi compute --city SLUG --period 2026-Q3 [--wards] [--codes a,b]`: compute the automatic
indicators of a city for a period (a year "2026", a quarter "2026-Q3" or a month "2026-07")."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from dothi.core.errors import DomainError
from dothi.core.management.commands._ui import progress_bar
from dothi.core.models import City


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.2f}".rstrip("0").rstrip(".") if abs(value) < 1e6 else f"{value:,.0f}"


class Command(BaseCommand):
    help = "Indicators: `kpi sync` loads the catalogue; `kpi compute --city SLUG --period 2026-Q3` computes."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("sync", help="create or update the shared indicator catalogue")
        compute = sub.add_parser("compute", help="compute the automatic indicators for a period")
        compute.add_argument("--city", required=True, help="slug of the city")
        compute.add_argument("--period", required=True, help="2026, 2026-Q3 or 2026-07")
        compute.add_argument("--wards", action="store_true", help="also per ward where meaningful")
        compute.add_argument("--codes", default="", help="only these indicator codes, comma-separated")

    def handle(self, *args, action=None, **options):
        if action == "sync":
            return self._sync()
        return self._compute(**options)

    def _sync(self):
        from dothi.kpis import catalogue

        r = catalogue.sync()
        self.stdout.write(
            f"Catalogue: {r.u4ssc} U4SSC and {r.platform} platform indicators "
            f"({r.created} created, {r.updated} updated, {r.deactivated} deactivated)."
        )
        self.stdout.write(self.style.SUCCESS("Catalogue synchronised."))

    def _compute(self, *, city, period, wards=False, codes="", **options):
        from dothi.kpis import periods, services

        target = City.objects.filter(slug=city).first()
        if target is None:
            raise CommandError(f"No city with the slug {city!r}.")
        try:
            grain, p = periods.parse(period)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        wanted = [c.strip() for c in codes.split(",") if c.strip()] or None
        with progress_bar(f"{target.slug} · {periods.code(grain, p.start)}", self.stdout) as bar:
            try:
                result = services.compute(
                    actor=None, city=target, grain=grain, start=p.start, wards=wards, codes=wanted,
                    progress=(lambda ind, done, total: bar(done, total)) if bar else None,
                )
            except DomainError as exc:
                raise CommandError(exc.message) from exc
        self._table(result)
        self.stdout.write(
            self.style.SUCCESS(
                f"{result.computed} computed, {result.missing} missing, {result.failed} failed "
                f"in {result.seconds:.2f} s."
            )
        )

    def _table(self, result) -> None:
        header = ("indicator", "value", "note")
        rows = [(code, _fmt(value), note) for code, _commune, value, note in result.rows]
        stream = self.stdout._out if hasattr(self.stdout, "_out") else sys.stdout
        if getattr(stream, "isatty", lambda: False)():
            from rich.console import Console
            from rich.table import Table

            table = Table(*header, title="Indicators")
            for row in rows:
                table.add_row(*row)
            Console(file=stream).print(table)
            return
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(2)]
        for row in [header, *rows]:
            self.stdout.write(f"{row[0].ljust(widths[0])}  {row[1].rjust(widths[1])}  {row[2]}".rstrip())
