"""`dothi sensing-partition`: partition the raw observation table by month (PostgreSQL)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from dothi.sensing import partitions


class Command(BaseCommand):
    help = (
        "Convert the raw observation table into monthly partitions (PostgreSQL; once, holding an exclusive "
        "lock while the rows are copied), or, when it already is, create the coming months' partitions. "
        "Retention then drops whole months."
    )

    def add_arguments(self, parser):
        parser.add_argument("--months-ahead", type=int, default=partitions.MONTHS_AHEAD)

    def handle(self, *args, months_ahead: int, **options):
        if not partitions.available():
            raise CommandError("Partitioning needs PostgreSQL (DOTHI_DATABASE_URL=postgresql://…).")
        done = partitions.partition(months_ahead=max(months_ahead, 0))
        self.stdout.write(
            self.style.SUCCESS(
                f"{done['partitions']} partitions created, {done['rows']} observations moved; "
                f"months: {', '.join(m.strftime('%Y-%m') for m in partitions.months())}."
            )
        )
