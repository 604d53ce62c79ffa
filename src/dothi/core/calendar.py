"""Working days per city: deadlines for reports, opening days for appointments.

A day is a working day unless it is a weekend day (Saturday and Sunday by default) or a Vietnamese
public holiday from the `holidays` package (lunar Tết and Hùng Kings' day included, with the official
substitute days off), and the city's own calendar may add holidays or make-up working days:

    City.settings["calendar"] = {
        "extra_holidays": ["2027-02-11"],        # e.g. a day off the city grants around Tết
        "extra_working_days": ["2027-02-20"],    # a make-up Saturday
        "office_hours": ["07:30", "17:00"],       # local time; default 07:30-17:00
        "weekend": [5, 6],                        # Monday=0 … Sunday=6
    }

Make-up Saturdays the government announces (the `holidays` package lists some as
`weekend_workdays`) are working days too. All times are in the city's time zone.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays as holidays_lib

DEFAULT_OFFICE_HOURS = ("07:30", "17:00")
DEFAULT_WEEKEND = (5, 6)


@lru_cache(maxsize=64)
def _national(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """Vietnam's public holidays and official make-up working days in `year`."""
    calendar = holidays_lib.country_holidays("VN", years=year)
    workdays = frozenset(d for d in getattr(calendar, "weekend_workdays", ()) if d.year == year)
    return frozenset(calendar.keys()), workdays


def _parse_dates(values: Any) -> frozenset[date]:
    out = set()
    for value in values or ():
        try:
            out.add(value if isinstance(value, date) else date.fromisoformat(str(value)))
        except ValueError:
            continue  # a typo in the city's settings must not break every deadline
    return frozenset(out)


def _parse_time(value: str, fallback: str) -> time:
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        return time.fromisoformat(fallback)


class WorkingCalendar:
    """The working-day calendar of one city (or of Vietnam with no city settings)."""

    def __init__(self, settings: dict[str, Any] | None = None, tz: str = "Asia/Ho_Chi_Minh") -> None:
        settings = settings or {}
        self.tz = ZoneInfo(tz)
        self.extra_holidays = _parse_dates(settings.get("extra_holidays"))
        self.extra_working_days = _parse_dates(settings.get("extra_working_days"))
        hours = settings.get("office_hours") or DEFAULT_OFFICE_HOURS
        self.office_start = _parse_time(hours[0], DEFAULT_OFFICE_HOURS[0])
        self.office_end = _parse_time(hours[1] if len(hours) > 1 else "", DEFAULT_OFFICE_HOURS[1])
        weekend = settings.get("weekend")
        self.weekend = (
            frozenset(int(d) for d in weekend) if weekend is not None else frozenset(DEFAULT_WEEKEND)
        )

    @classmethod
    def for_city(cls, city) -> WorkingCalendar:
        return cls((city.settings or {}).get("calendar"), city.time_zone or "Asia/Ho_Chi_Minh")

    def is_holiday(self, day: date) -> bool:
        return day in self.extra_holidays or day in _national(day.year)[0]

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_working_days:
            return True  # a make-up day wins over the weekend
        if self.is_holiday(day):
            return False
        if day in _national(day.year)[1]:
            return True
        return day.weekday() not in self.weekend

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        day += timedelta(days=1)
        for _ in range(366):
            if self.is_working_day(day):
                return day
            day += timedelta(days=1)
        raise ValueError("No working day within a year: check the city's calendar settings.")

    def local(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise ValueError("Use an aware datetime.")
        return moment.astimezone(self.tz)

    def start_of_count(self, moment: datetime) -> datetime:
        """Where a count of working days begins: the moment itself during office hours of a working
        day, the office opening when before it, else the next working day's opening."""
        local = self.local(moment)
        day = local.date()
        if self.is_working_day(day):
            if local.time() < self.office_start:
                return datetime.combine(day, self.office_start, self.tz)
            if local.time() < self.office_end:
                return local
        return datetime.combine(self.next_working_day(day), self.office_start, self.tz)

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """`n` working days after `start`, at the same office time (in the city's time zone).

        Submitted on Monday 10:00 with n=3 -> Thursday 10:00; submitted on Friday at 18:00 (after
        hours) -> counting starts on Monday 07:30, due Thursday 07:30."""
        if n < 0:
            raise ValueError("n must not be negative.")
        begin = self.start_of_count(start)
        day = begin.date()
        for _ in range(n):
            day = self.next_working_day(day)
        # Combine wall-clock time with the new day, then resolve in the zone (DST-safe).
        return datetime.combine(day, begin.time().replace(tzinfo=None), self.tz)

    def working_days_between(self, start: datetime | date, end: datetime | date) -> int:
        """How many working days lie in (start, end], by local date: a report resolved the working day
        after it came in took 1; the same day, 0. Negative when `end` is before `start`."""
        a = self.local(start).date() if isinstance(start, datetime) else start
        b = self.local(end).date() if isinstance(end, datetime) else end
        if b < a:
            return -self.working_days_between(b, a)
        count = 0
        day = a
        while day < b:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count


def calendar_for(city) -> WorkingCalendar:
    return WorkingCalendar.for_city(city)


def is_working_day(city, day: date) -> bool:
    return WorkingCalendar.for_city(city).is_working_day(day)


def add_working_days(city, start: datetime, n: int) -> datetime:
    """`n` working days after `start` in `city` (see WorkingCalendar.add_working_days)."""
    return WorkingCalendar.for_city(city).add_working_days(start, n)


def working_days_between(city, start: datetime | date, end: datetime | date) -> int:
    return WorkingCalendar.for_city(city).working_days_between(start, end)
