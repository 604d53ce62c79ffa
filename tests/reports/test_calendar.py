"""Working days per city (dothi.core.calendar): Vietnamese holidays, lunar Tết, the city's own days
off and make-up Saturdays, office hours and time zones; and the report deadlines built on them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from dothi.core import calendar
from dothi.core.calendar import WorkingCalendar

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def _city(**cal):
    return SimpleNamespace(settings={"calendar": cal} if cal else {}, time_zone="Asia/Ho_Chi_Minh")


def at(y, m, d, hh=10, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=VN)


def test_tet_2027_is_not_working():
    cal = WorkingCalendar()
    # Tết Đinh Mùi: 29th of the last lunar month (Thu 4 Feb 2027) to the 5th day (Wed 10 Feb).
    for day in range(4, 11):
        assert not cal.is_working_day(date(2027, 2, day)), day
    assert cal.is_working_day(date(2027, 2, 3))
    assert cal.is_working_day(date(2027, 2, 11))


def test_deadline_across_tet_2027():
    city = _city()
    # Wednesday before Tết, 10:00, three working days: Thu 11, Fri 12, Mon 15 February.
    assert calendar.add_working_days(city, at(2027, 2, 3), 3) == at(2027, 2, 15)
    assert calendar.working_days_between(city, at(2027, 2, 3), at(2027, 2, 15)) == 3
    assert calendar.working_days_between(city, at(2027, 2, 15), at(2027, 2, 3)) == -3


def test_city_extra_holiday_and_make_up_saturday():
    assert calendar.add_working_days(_city(extra_holidays=["2027-02-11"]), at(2027, 2, 3), 3) == at(
        2027, 2, 16
    )
    # Thursday 18 Feb + 2 working days: Friday 19 and the make-up Saturday 20.
    plain, make_up = _city(), _city(extra_working_days=["2027-02-20"])
    assert calendar.add_working_days(plain, at(2027, 2, 18), 2) == at(2027, 2, 22)
    assert calendar.add_working_days(make_up, at(2027, 2, 18), 2) == at(2027, 2, 20)
    assert calendar.is_working_day(make_up, date(2027, 2, 20))
    assert not calendar.is_working_day(plain, date(2027, 2, 20))


def test_official_make_up_saturday_from_the_holidays_package():
    # 22 August 2026 (a Saturday) is worked in exchange for Monday 31 August off.
    cal = WorkingCalendar()
    assert cal.is_working_day(date(2026, 8, 22))
    assert not cal.is_working_day(date(2026, 8, 31))


def test_after_office_hours_counts_from_next_working_morning():
    city = _city()
    # Friday 20 Nov 2026, 18:00 -> count starts Monday 23 at 07:30; Tuesday 24 (Vietnam Cultural
    # Day) is a holiday: Wed 25, Thu 26, Fri 27 -> due Friday 27 at 07:30.
    assert calendar.add_working_days(city, at(2026, 11, 20, 18), 3) == at(2026, 11, 27, 7, 30)
    # Before opening on a working day: from that day's opening.
    assert calendar.add_working_days(city, at(2026, 11, 23, 6), 1) == at(2026, 11, 25, 7, 30)
    # On a Sunday: from Monday's opening.
    assert calendar.add_working_days(city, at(2026, 11, 22, 11), 0) == at(2026, 11, 23, 7, 30)


def test_office_hours_and_weekend_are_city_settings():
    city = _city(office_hours=["08:00", "12:00"], weekend=[6])
    # 13:00 is after this city's hours; Saturday is a working day here.
    assert calendar.add_working_days(city, at(2026, 11, 19, 13), 1) == at(2026, 11, 21, 8)


def test_bad_calendar_settings_do_not_break_deadlines():
    city = _city(extra_holidays=["not-a-date", "2027-13-45"], office_hours=["soon", "later"])
    assert calendar.add_working_days(city, at(2027, 2, 18), 1) == at(2027, 2, 19)


def test_time_zone_is_the_citys():
    city = SimpleNamespace(settings={}, time_zone="Asia/Ho_Chi_Minh")
    utc_evening = datetime(2026, 11, 19, 11, 0, tzinfo=ZoneInfo("UTC"))  # 18:00 in Vietnam: after hours
    due = calendar.add_working_days(city, utc_evening, 1)
    assert due == at(2026, 11, 23, 7, 30)
    with pytest.raises(ValueError):
        calendar.add_working_days(city, datetime(2026, 11, 19, 10), 1)  # naive


def test_many_days_is_consistent_with_counting():
    city = _city()
    start = at(2026, 1, 5)
    for n in (0, 1, 7, 30, 120):
        due = calendar.add_working_days(city, start, n)
        assert calendar.working_days_between(city, start, due) == n
        assert due - start >= timedelta(days=n)


@pytest.mark.django_db
def test_report_deadline_uses_category_days(rx, submit):
    from dothi.reports import deadlines

    start = at(2027, 2, 3)
    assert deadlines.due_at_for(city=rx.city, category=rx.pothole, start=start) == at(2027, 2, 15)
    assert deadlines.due_at_for(city=rx.city, category=rx.security, start=start) == at(2027, 2, 11)
    report = submit()
    expected = calendar.add_working_days(rx.city, report.submitted_at, 3)
    assert report.due_at == expected
