"""Reporting periods: months, quarters and years, in the city's local dates.

- `parse("2026-Q3" | "2026-07" | "2026") -> (Grain, Period)` (raises InvalidInput on anything else);
- `period(grain, start) -> Period` and `code(grain, start) -> "2026-Q3"`;
- `label(grain, start)`: "Quý 3/2026" / "Q3 2026", "Tháng 7/2026" / "July 2026", "Năm 2026" / "2026";
- `containing(grain, day) -> Period`: the period that holds a day;
- `shift(grain, start, k) -> Period`: the period k steps after (negative: before) the one starting at start;
- `previous(grain, start, n) -> list[Period]`: the n periods before it, oldest first.

A Period is half-open [start, end); `start` is always the first day of the month, quarter or year.
"""

from __future__ import annotations

import re
from datetime import date

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from dothi.core.errors import InvalidInput
from dothi.core.manifests import Period
from dothi.kpis.models import Grain

__all__ = ["Grain", "Period", "code", "containing", "label", "parse", "period", "previous", "shift"]

_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-?[Qq]([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER_ANY = re.compile(r"^(\d{4})-?[Qq](\d+)$")
YEAR_MIN, YEAR_MAX = 1990, 2100
MONTH_NAMES_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                  "October", "November", "December")
MONTHS = {Grain.MONTH: 1, Grain.QUARTER: 3, Grain.YEAR: 12}


def _g(grain: Grain | str) -> Grain:
    try:
        return Grain(grain)
    except ValueError:
        raise InvalidInput(
            _("Unknown period kind %(grain)r: use month, quarter or year.") % {"grain": grain},
            field="grain", code="invalid_grain",
        ) from None


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def _check_year(year: int, field: str) -> None:
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise InvalidInput(
            _("The year must be between %(min)d and %(max)d.") % {"min": YEAR_MIN, "max": YEAR_MAX},
            field=field, code="invalid_period",
        )


def start_of(grain: Grain | str, day: date) -> date:
    grain = _g(grain)
    if grain == Grain.YEAR:
        return date(day.year, 1, 1)
    if grain == Grain.QUARTER:
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return date(day.year, day.month, 1)


def period(grain: Grain | str, start: date) -> Period:
    """The period of `grain` starting at `start` (which must be the first day of one)."""
    grain = _g(grain)
    if start_of(grain, start) != start:
        raise InvalidInput(
            _("%(day)s is not the first day of a %(grain)s.")
            % {"day": start.isoformat(), "grain": str(grain.label).lower()},
            field="period", code="invalid_period",
        )
    return Period(start, _add_months(start, MONTHS[grain]))


def containing(grain: Grain | str, day: date) -> Period:
    """The period of `grain` that holds `day`."""
    return period(grain, start_of(grain, day))


def shift(grain: Grain | str, start: date, k: int) -> Period:
    """The period `k` steps after (k < 0: before) the period of `grain` that holds `start`."""
    grain = _g(grain)
    return period(grain, _add_months(start_of(grain, start), k * MONTHS[grain]))


def previous(grain: Grain | str, start: date, n: int = 1) -> list[Period]:
    """The `n` periods before the one that holds `start`, oldest first."""
    return [shift(grain, start, -k) for k in range(n, 0, -1)]


def parse(text: str, *, field: str = "period") -> tuple[Grain, Period]:
    """"2026-Q3" (also "2026Q3", "2026-q3"), "2026-07" (also "2026-7") or "2026"."""
    raw = (text or "").strip()
    if m := _YEAR.match(raw):
        year = int(m.group(1))
        _check_year(year, field)
        return Grain.YEAR, period(Grain.YEAR, date(year, 1, 1))
    if m := _QUARTER.match(raw):
        year, quarter = int(m.group(1)), int(m.group(2))
        _check_year(year, field)
        return Grain.QUARTER, period(Grain.QUARTER, date(year, 3 * quarter - 2, 1))
    if m := _QUARTER_ANY.match(raw):
        raise InvalidInput(
            _("There is no quarter %(q)s: quarters are Q1 to Q4.") % {"q": m.group(2)},
            field=field, code="invalid_period",
        )
    if m := _MONTH.match(raw):
        year, month = int(m.group(1)), int(m.group(2))
        _check_year(year, field)
        if not 1 <= month <= 12:
            raise InvalidInput(
                _("There is no month %(m)d: months are 01 to 12.") % {"m": month},
                field=field, code="invalid_period",
            )
        return Grain.MONTH, period(Grain.MONTH, date(year, month, 1))
    raise InvalidInput(
        _("%(text)r is not a period: write a year (2026), a quarter (2026-Q3) or a month (2026-07).")
        % {"text": raw[:40]},
        field=field, code="invalid_period",
    )


def code(grain: Grain | str, start: date) -> str:
    """The period's code as `parse` reads it: "2026", "2026-Q3", "2026-07"."""
    grain = _g(grain)
    if grain == Grain.YEAR:
        return f"{start.year}"
    if grain == Grain.QUARTER:
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return f"{start.year}-{start.month:02d}"


def label(grain: Grain | str, start: date) -> str:
    """The period in words, in the active language: "Quý 3/2026" / "Q3 2026", "Tháng 7/2026" /
    "July 2026", "Năm 2026" / "2026". (A date format per language, like Django's format files, not a
    sentence to translate.)"""
    grain = _g(grain)
    english = (get_language() or "vi").startswith("en")
    if grain == Grain.YEAR:
        return f"{start.year}" if english else f"Năm {start.year}"
    if grain == Grain.QUARTER:
        quarter = (start.month - 1) // 3 + 1
        return f"Q{quarter} {start.year}" if english else f"Quý {quarter}/{start.year}"
    if english:
        return f"{MONTH_NAMES_EN[start.month - 1]} {start.year}"
    return f"Tháng {start.month}/{start.year}"
