"""`dothi ingest-key --city SLUG --name NAME`: issue an ingestion key for a data source; the key is the
last line of the output."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from dothi.core.errors import DomainError
from dothi.core.models import City, Organisation
from dothi.sensing import keys


class Command(BaseCommand):
    help = "Issue an ingestion key for a city's data source (printed once, as the last line)."

    def add_arguments(self, parser):
        parser.add_argument("--city", required=True, help="The city's slug.")
        parser.add_argument("--name", required=True, help="The data source's name (created if new).")
        parser.add_argument("--organisation", default="", help="Code of the organisation running the source.")

    def handle(self, *args, city: str, name: str, organisation: str, **options):
        target = City.objects.filter(slug=city).first()
        if target is None:
            raise CommandError(f"Unknown city: {city}")
        org = None
        if organisation:
            org = Organisation.objects.filter(city=target, code=organisation).first()
            if org is None:
                raise CommandError(f"Unknown organisation in {city}: {organisation}")
        try:
            # Run from the command line by whoever administers the server: no actor to check.
            key, plaintext = keys.ingest_key_issue(actor=None, city=target, name=name, organisation=org)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stderr.write(
            f"Issued key {key.prefix}… for source {key.source.name} in {target.slug}; it is not shown again."
        )
        self.stdout.write(plaintext)
