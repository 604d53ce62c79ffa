"""Reporting periods: parsing, labels in both languages, containing and previous periods."""

from datetime import date

import pytest
from django.utils import translation

from dothi.core.errors import InvalidInput
from dothi.kpis import periods
from dothi.kpis.models import Grain


@pytest.mark.parametrize(
    ("text", "grain", "start", "end"),
    [
        ("2026", Grain.YEAR, date(2026, 1, 1), date(2027, 1, 1)),
        ("2026-Q1", Grain.QUARTER, date(2026, 1, 1), date(2026, 4, 1)),
        ("2026-Q3", Grain.QUARTER, date(2026, 7, 1), date(2026, 10, 1)),
        ("2026q4", Grain.QUARTER, date(2026, 10, 1), date(2027, 1, 1)),
        (" 2026-07 ", Grain.MONTH, date(2026, 7, 1), date(2026, 8, 1)),
        ("2026-12", Grain.MONTH, date(2026, 12, 1), date(2027, 1, 1)),
        ("2024-2", Grain.MONTH, date(2024, 2, 1), date(2024, 3, 1)),
    ],
)
def test_parse(text, grain, start, end):
    g, p = periods.parse(text)
    assert g == grain
    assert (p.start, p.end) == (start, end)


@pytest.mark.parametrize("text", ["2026-Q5", "2026-Q0", "26-07", "2026-13", "2026-00", "", "Q3 2026", "1800",
                                  "2026-07-01", "abc"])
def test_parse_refuses_bad_strings_with_a_clear_message(text):
    with translation.override("en"), pytest.raises(InvalidInput) as exc:
        periods.parse(text)
    assert exc.value.field == "period"
    assert exc.value.code == "invalid_period"
    assert exc.value.message


def test_quarter_five_says_quarters_are_one_to_four():
    with translation.override("en"), pytest.raises(InvalidInput) as exc:
        periods.parse("2026-Q5")
    assert "Q1 to Q4" in exc.value.message


def test_labels_in_both_languages():
    q3, july, year = date(2026, 7, 1), date(2026, 7, 1), date(2026, 1, 1)
    with translation.override("vi"):
        assert periods.label(Grain.QUARTER, q3) == "Quý 3/2026"
        assert periods.label(Grain.MONTH, july) == "Tháng 7/2026"
        assert periods.label(Grain.YEAR, year) == "Năm 2026"
    with translation.override("en"):
        assert periods.label(Grain.QUARTER, q3) == "Q3 2026"
        assert periods.label(Grain.MONTH, july) == "July 2026"
        assert periods.label(Grain.YEAR, year) == "2026"


def test_code_round_trips():
    for text in ["2026", "2026-Q2", "2026-09"]:
        grain, p = periods.parse(text)
        assert periods.code(grain, p.start) == text


def test_containing_and_previous():
    day = date(2026, 8, 15)
    assert periods.containing(Grain.MONTH, day).start == date(2026, 8, 1)
    assert periods.containing(Grain.QUARTER, day) == periods.parse("2026-Q3")[1]
    assert periods.containing(Grain.YEAR, day).end == date(2027, 1, 1)
    assert [p.start for p in periods.previous(Grain.MONTH, date(2026, 2, 1), 3)] == [
        date(2025, 11, 1), date(2025, 12, 1), date(2026, 1, 1)
    ]
    assert periods.previous(Grain.QUARTER, date(2026, 1, 1), 1)[0].start == date(2025, 10, 1)
    assert periods.shift(Grain.YEAR, date(2026, 5, 3), 1).start == date(2027, 1, 1)


def test_period_refuses_a_start_that_is_not_the_first_day():
    with pytest.raises(InvalidInput):
        periods.period(Grain.QUARTER, date(2026, 8, 1))
    with pytest.raises(InvalidInput):
        periods.period("week", date(2026, 8, 1))
