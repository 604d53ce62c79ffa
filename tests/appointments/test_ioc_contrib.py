"""What appointments contribute to the control centre through their manifest: the
`appointments.today` counts (booked, served, waiting now) and the ward summary (bookings this month
at the commune's offices). Bookings are made by hand here: the figures, not the booking rules, are
under test."""

from __future__ import annotations

import datetime as dt
from itertools import count

import pytest

from dothi.appointments import selectors
from dothi.appointments.models import Booking, Office
from dothi.core.manifests import registry

pytestmark = pytest.mark.django_db
_codes = count(1)


def book(ax, day, status="booked", office=None):
    return Booking.objects.create(
        city=ax.city,
        code=f"B{next(_codes):05d}",
        service=ax.cccd,
        office=office or ax.office,
        day=day,
        status=status,
        walk_in=True,
        channel="counter",
    )


def panel():
    return next(p for p in registry.panels() if p.code == "appointments.today")


def test_todays_counts(ax, other_city):
    today = selectors.local_today(ax.city)
    for status in ("booked", "checked_in", "checked_in", "called", "served", "served", "served", "cancelled"):
        book(ax, today, status)
    book(ax, today + dt.timedelta(days=1))
    book(ax, today - dt.timedelta(days=1), "served")
    assert panel().kind == "counts"
    items = panel().data(ax.city)["items"]
    assert [i["value"] for i in items] == [7, 3, 2]  # booked (not cancelled), served, waiting now
    assert all({"label", "value"} <= set(i) for i in items)
    assert [i["value"] for i in panel().data(other_city)["items"]] == [0, 0, 0]


def test_the_ward_summary_counts_this_months_bookings_at_the_communes_offices(ax, admin_units):
    from dothi.core.models import Commune

    commune, elsewhere = Commune.objects.filter(province__code="48").order_by("code")[:2]
    Office.objects.filter(pk=ax.office.pk).update(commune=commune)
    other = Office.objects.create(
        city=ax.city, code="other", name_vi="Khác", lat=16.0, lon=108.2, commune=elsewhere
    )
    today = selectors.local_today(ax.city)
    first = today.replace(day=1)
    book(ax, first)
    book(ax, today, "served")
    book(ax, today, "cancelled")
    book(ax, first - dt.timedelta(days=1))  # last month
    book(ax, (first + dt.timedelta(days=32)).replace(day=1))  # next month
    book(ax, today, office=other)
    summary = registry.get("appointments").ward_summary(ax.city, commune)
    assert [i["value"] for i in summary] == [2]
    assert registry.get("appointments").ward_summary(ax.city, elsewhere.code)[0]["value"] == 1
