"""Validation and normalisation of personal identifiers: the citizen ID (CCCD), passport numbers,
Vietnamese mobile numbers and birth years.

A CCCD is `PPP G YY RRRRRR`: a three-digit province prefix (the place of birth registration), one
digit encoding century and sex, the last two digits of the birth year, and six random digits. Every
failure raises `InvalidInput` with its own `code` and a message in the active language, so forms and
the API can put it next to the right field.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.utils import timezone
from django.utils.translation import gettext as _

from dothi.core.errors import InvalidInput

DATA_FILE = Path(__file__).resolve().parent / "data" / "cccd_province_codes.csv"
MAX_AGE_YEARS = 120

_SEPARATORS = re.compile(r"[\s.\-()]")
_VN_MOBILE = re.compile(r"[35789]\d{8}")  # after the 2018 renumbering every mobile is 0[35789]xxxxxxxx
_PASSPORT = re.compile(r"[A-Z0-9]{6,12}")


@dataclass(frozen=True)
class Province:
    prefix: str
    name: str  # the province at the time of issue (before the 2025 merger)
    new_code: str  # the 2025 province code(s) it belongs to now
    new_name: str


@dataclass(frozen=True)
class CccdInfo:
    number: str
    province: Province
    sex: str  # "M" or "F"
    birth_year: int


@cache
def provinces() -> dict[str, Province]:
    """The CCCD province prefixes, read once from the packaged CSV."""
    with DATA_FILE.open(encoding="utf-8", newline="") as fh:
        return {
            row["cccd_prefix"]: Province(
                prefix=row["cccd_prefix"],
                name=row["old_province_2024"],
                new_code=row["new_province_codes_2025"],
                new_name=row["new_province_names_2025"],
            )
            for row in csv.DictReader(fh)
        }


def century_of(digit: int) -> int:
    """First year of the century encoded by the 4th digit: 0/1 -> 1900, 2/3 -> 2000, ... 8/9 -> 2300."""
    return 1900 + 100 * (digit // 2)


def century_digits(year: int) -> tuple[int, int]:
    """The (male, female) 4th digits for a birth year."""
    base = 2 * ((year - 1900) // 100)
    return base, base + 1


def validate_birth_year(value: int | str | None) -> int:
    """A four-digit year, not in the future and not absurdly far in the past."""
    try:
        year = int(str(value).strip())
    except (TypeError, ValueError):
        raise InvalidInput(
            _("Enter your birth year as four digits, e.g. 1990."),
            code="birth_year_invalid",
            field="birth_year",
        )
    this_year = timezone.localdate().year
    if year > this_year:
        raise InvalidInput(
            _("The birth year cannot be in the future."), code="birth_year_future", field="birth_year"
        )
    if year < this_year - MAX_AGE_YEARS or year < 1900:
        raise InvalidInput(
            _("The birth year %(year)d is not plausible: it is more than %(max)d years ago.")
            % {"year": year, "max": MAX_AGE_YEARS},
            code="birth_year_implausible",
            field="birth_year",
        )
    return year


def normalise_cccd(value: str | None) -> str:
    return _SEPARATORS.sub("", value or "")


def validate_cccd(value: str | None, birth_year: int | str | None) -> CccdInfo:
    """Check a citizen ID against its structure and the birth year the person gave."""
    number = normalise_cccd(value)
    if not number:
        raise InvalidInput(_("Enter your citizen ID number."), code="cccd_required", field="id_number")
    if not number.isascii() or not number.isdigit():
        raise InvalidInput(
            _("The citizen ID may contain only digits."), code="cccd_not_digits", field="id_number"
        )
    if len(number) != 12:
        raise InvalidInput(
            _("The citizen ID has 12 digits; you entered %(count)d.") % {"count": len(number)},
            code="cccd_length",
            field="id_number",
        )
    province = provinces().get(number[:3])
    if province is None:
        raise InvalidInput(
            _("The first three digits (%(prefix)s) are not a known province code.") % {"prefix": number[:3]},
            code="cccd_province",
            field="id_number",
        )
    year = validate_birth_year(birth_year)
    digit = int(number[3])
    start = century_of(digit)
    if not start <= year < start + 100:
        raise InvalidInput(
            _(
                "The 4th digit (%(digit)d) means a birth year between %(start)d and %(end)d, "
                "which does not match the birth year %(year)d."
            )
            % {"digit": digit, "start": start, "end": start + 99, "year": year},
            code="cccd_century",
            field="id_number",
        )
    if number[4:6] != f"{year % 100:02d}":
        raise InvalidInput(
            _("Digits 5 and 6 (%(digits)s) must be the last two digits of the birth year %(year)d.")
            % {"digits": number[4:6], "year": year},
            code="cccd_birth_year",
            field="id_number",
        )
    return CccdInfo(number=number, province=province, sex="F" if digit % 2 else "M", birth_year=year)


def normalise_passport(value: str | None) -> str:
    """Passport numbers: 6 to 12 letters and digits, compared in upper case."""
    number = _SEPARATORS.sub("", value or "").upper()
    if not number:
        raise InvalidInput(_("Enter your passport number."), code="passport_required", field="id_number")
    if not number.isascii() or not _PASSPORT.fullmatch(number):
        raise InvalidInput(
            _("A passport number has 6 to 12 letters (A–Z) and digits."),
            code="passport_format",
            field="id_number",
        )
    return number


def normalise_phone(value: str | None) -> str:
    """A Vietnamese mobile number in E.164 (+84xxxxxxxxx), from the 0xxxxxxxxx or +84 forms."""
    raw = _SEPARATORS.sub("", value or "")
    if not raw:
        raise InvalidInput(_("Enter your mobile phone number."), code="phone_required", field="phone")
    if raw.startswith("+84"):
        national = raw[3:]
    elif raw.startswith("0084"):
        national = raw[4:]
    elif raw.startswith("0"):
        national = raw[1:]
    else:
        national = ""
    if not national.isascii() or not _VN_MOBILE.fullmatch(national):
        raise InvalidInput(
            _("Enter a Vietnamese mobile number, e.g. 0912 345 678 or +84 912 345 678."),
            code="phone_invalid",
            field="phone",
        )
    return f"+84{national}"


def mask_phone(phone_e164: str) -> str:
    """Enough of a phone number to recognise it ("+84 ••• ••• 678"), never the whole number."""
    return f"+84 ••• ••• {phone_e164[-3:]}" if phone_e164 else ""


def looks_like_phone(value: str) -> bool:
    raw = _SEPARATORS.sub("", value or "")
    return raw.startswith(("+", "0084")) or (raw.startswith("0") and len(raw) in (10, 11) and raw.isdigit())
