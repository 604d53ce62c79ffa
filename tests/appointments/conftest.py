"""Fixtures for the appointments module: an office of the cast's agency with two counters, two
services, slots for the coming days, and a helper to book.

`ax` bundles them: ax.office (agency = the cast's agency, Monday–Friday 07:30–17:00 with a lunch break
11:30–13:30, 15-minute slots), ax.counter1 (serves cccd and birth), ax.counter2 (serves cccd only),
ax.cccd (capacity 2 per slot), ax.birth (capacity 1), ax.city, ax.cast, and ax.day: the next working
day at least two days ahead (so every rule about cut-offs has room), with ax.slot(service, "09:00").
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from tests import factories


@pytest.fixture(autouse=True)
def _immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def next_open_day(city, start: dt.date) -> dt.date:
    from dothi.core.calendar import WorkingCalendar

    calendar = WorkingCalendar.for_city(city)
    day = start
    while not calendar.is_working_day(day) or day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


@pytest.fixture
def ax(city, cast, agency):
    from dothi.appointments import services
    from dothi.appointments.models import Slot

    admin = cast["city_admin"]
    office = services.office_create(
        actor=admin,
        city=city,
        code="hcc",
        name_vi="Trung tâm Phục vụ hành chính công",
        name_en="Public Administration Service Centre",
        lat=16.0611,
        lon=108.2234,
        agency=agency,
        address="24 Trần Phú, Hải Châu",
    )
    cccd = services.service_create(
        actor=admin,
        city=city,
        code="cccd",
        name_vi="Cấp đổi căn cước",
        name_en="Citizen ID card renewal",
        duration_minutes=15,
        documents_vi=["Căn cước cũ"],
        documents_en=["The old ID card"],
        cancel_cutoff_hours=2,
    )
    birth = services.service_create(
        actor=admin,
        city=city,
        code="birth",
        name_vi="Đăng ký khai sinh",
        name_en="Birth registration",
        duration_minutes=15,
    )
    counter1 = services.counter_create(actor=admin, office=office, number=1, services=[cccd, birth])
    counter2 = services.counter_create(actor=admin, office=office, number=2, services=[cccd])
    tz = ZoneInfo(city.time_zone)
    today = dt.datetime.now(tz).date()
    day = next_open_day(city, today + dt.timedelta(days=2))

    def slot(service, hhmm: str = "09:00", on: dt.date | None = None) -> Slot:
        start = dt.datetime.combine(on or day, dt.time.fromisoformat(hhmm), tz)
        return Slot.objects.get(office=office, service=service, start=start)

    return SimpleNamespace(
        city=city,
        cast=cast,
        agency=agency,
        admin=admin,
        office=office,
        cccd=cccd,
        birth=birth,
        counter1=counter1,
        counter2=counter2,
        day=day,
        tz=tz,
        slot=slot,
    )


@pytest.fixture
def book(ax):
    from dothi.appointments import services

    def _book(actor=None, slot=None, **kwargs):
        return services.booking_create(
            actor=actor or ax.cast["citizen"], city=ax.city, slot=slot or ax.slot(ax.cccd), **kwargs
        )

    return _book


@pytest.fixture
def citizens(city):
    def _make(n: int):
        return [factories.make_citizen(city) for _ in range(n)]

    return _make
