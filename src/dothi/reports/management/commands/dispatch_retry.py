"""`dothi dispatch-retry [--city SLUG]`: send the failed dispatch tickets again (e-mail and Open311)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from dothi.core.models import City
from dothi.reports import dispatch
from dothi.reports.models import ExternalTicket


class Command(BaseCommand):
    help = "Send the reports whose dispatch to their agency failed again, from the first attempt."

    def add_arguments(self, parser):
        parser.add_argument("--city", default="", help="Only this city (slug); all cities by default.")

    def handle(self, *args, city: str, **options):
        tickets = ExternalTicket.objects.filter(state=ExternalTicket.State.FAILED).select_related("city")
        if city:
            target = City.objects.filter(slug=city).first()
            if target is None:
                raise CommandError(f"Unknown city: {city}")
            tickets = tickets.filter(city=target)
        # Run from the command line by whoever administers the server: no actor to check.
        count = dispatch.dispatch_retry(actor=None, tickets=list(tickets))
        self.stdout.write(f"{count} ticket(s) queued to be sent again.")
