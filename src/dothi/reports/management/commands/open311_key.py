"""`dothi open311-key --city SLUG --name NAME`: issue an Open311 API key; the key is the last line."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from dothi.core.errors import DomainError
from dothi.core.models import City
from dothi.reports import services


class Command(BaseCommand):
    help = "Issue an Open311 API key to a third-party app (printed once, as the last line)."

    def add_arguments(self, parser):
        parser.add_argument("--city", required=True, help="The city's slug.")
        parser.add_argument("--name", required=True, help="The application's name.")
        parser.add_argument("--contact", default="", help="Who to contact about the application.")

    def handle(self, *args, city: str, name: str, contact: str, **options):
        target = City.objects.filter(slug=city).first()
        if target is None:
            raise CommandError(f"Unknown city: {city}")
        try:
            # Run from the command line by whoever administers the server: no actor to check.
            key, plaintext = services.open311_key_issue(actor=None, city=target, name=name, contact=contact)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stderr.write(f"Issued key {key.prefix}… for {key.name} in {target.slug}; it is not shown again.")
        self.stdout.write(plaintext)
