"""The booking as an iCalendar (RFC 5545) file, for the person's own calendar."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone, translation
from django.utils.translation import gettext as _
from icalendar import Alarm, Calendar, Event, vText

from dothi.appointments.models import Booking


def booking_ics(booking: Booking, *, url: str = "", language: str | None = None) -> bytes:
    """One VEVENT at the booking's slot, at the office's address and point, with the booking code, the
    documents to bring and a reminder an hour before. Same UID for the same booking, so importing a
    rescheduled booking's file again moves the event instead of adding one."""
    from dothi.appointments.services import format_code

    city = booking.city
    with translation.override(language or translation.get_language() or city.default_language):
        cal = Calendar()
        cal.add("prodid", "-//dothi//appointments//EN")
        cal.add("version", "2.0")
        cal.add("calscale", "GREGORIAN")
        cal.add("method", "PUBLISH")
        event = Event()
        event.add("uid", f"booking-{booking.code}@{city.slug}.dothi")
        event.add("dtstamp", timezone.now())
        event.add("sequence", booking.reschedule_count)
        start = booking.slot.start if booking.slot else booking.arrived_at or booking.created_at
        end = (
            booking.slot.end if booking.slot else start + timedelta(minutes=booking.service.duration_minutes)
        )
        event.add("dtstart", start)
        event.add("dtend", end)
        event.add("summary", f"{booking.service.name} — {booking.office.name}")
        lines = [_("Booking code: %(code)s") % {"code": format_code(booking.code)}]
        documents = booking.service.documents
        if documents:
            lines.append(_("Bring:"))
            lines += [f"- {d}" for d in documents]
        if url:
            lines.append(url)
        event.add("description", "\n".join(lines))
        event["location"] = vText(", ".join(p for p in (booking.office.name, booking.office.address) if p))
        event.add("geo", (booking.office.lat, booking.office.lon))
        if url:
            event.add("url", url)
        event.add("status", "CANCELLED" if booking.status == "cancelled" else "CONFIRMED")
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", booking.service.name)
        alarm.add("trigger", timedelta(hours=-1))
        event.add_component(alarm)
        cal.add_component(event)
        return cal.to_ical()


def ics_filename(booking: Booking) -> str:
    return f"appointment-{booking.code}.ics"
