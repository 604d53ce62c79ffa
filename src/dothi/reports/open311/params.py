"""Reading GeoReport v2 query and form parameters; bad values raise `BadParameter` (a 400)."""

from __future__ import annotations

import datetime as dt
import re

from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

PAGE_SIZE_DEFAULT = 50
PAGE_SIZE_MAX = 200
# Beyond this an OFFSET scan is no longer a reasonable page; clients narrow with dates instead.
PAGE_MAX = 10_000
IDS_MAX = 100
ATTRIBUTE = re.compile(r"^attribute\[(?P<code>[^\[\]]{1,60})\](?P<multi>\[\])?$")


class BadParameter(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = str(message)


def text(params, name: str, *, max_length: int = 200) -> str:
    value = params.get(name, "")
    if not isinstance(value, str):
        return ""
    value = value.strip()
    if len(value) > max_length or "\x00" in value:
        raise BadParameter(_("The parameter %(name)s is not valid.") % {"name": name})
    return value


def datetime(params, name: str) -> dt.datetime | None:
    """A W3C date-time (a bare date means its midnight UTC); naive times are taken as UTC."""
    raw = text(params, name, max_length=40)
    if not raw:
        return None
    try:
        value = parse_datetime(raw.replace(" ", "+"))  # a "+" in a query string arrives as a space
        if value is None:
            day = parse_date(raw)
            value = dt.datetime(day.year, day.month, day.day) if day else None
    except (ValueError, OverflowError):
        value = None
    if value is None:
        raise BadParameter(
            _("%(name)s must be a date and time such as 2026-05-01T00:00:00Z.") % {"name": name}
        )
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def positive_int(params, name: str, *, default: int, maximum: int) -> int:
    raw = text(params, name, max_length=10)
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= maximum:
        raise BadParameter(
            _("%(name)s must be a whole number from 1 to %(max)s.") % {"name": name, "max": maximum}
        )
    return int(raw)


def flag(params, name: str) -> bool:
    return text(params, name, max_length=10).lower() in ("true", "1", "yes")


def id_list(params, name: str) -> list[str]:
    raw = text(params, name, max_length=IDS_MAX * 30)
    ids = [part.strip() for part in raw.split(",") if part.strip()]
    if len(ids) > IDS_MAX:
        raise BadParameter(_("Ask for at most %(max)s service requests at a time.") % {"max": IDS_MAX})
    return ids


def float_value(params, name: str) -> float | None:
    raw = text(params, name, max_length=40)
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = None
    # NaN and infinities parse as floats but are no place on Earth.
    if value is None or value != value or value in (float("inf"), float("-inf")):
        raise BadParameter(_("%(name)s must be a number.") % {"name": name})
    return value


def attributes(data) -> dict[str, str | list[str]]:
    """attribute[CODE]=v and attribute[CODE][]=v1&attribute[CODE][]=v2 as {"CODE": "v", "CODE2": [..]}."""
    answers: dict[str, str | list[str]] = {}
    for key in data:
        match = ATTRIBUTE.match(key)
        if not match:
            continue
        values = [v for v in data.getlist(key) if isinstance(v, str)]
        if match["multi"]:
            existing = answers.get(match["code"])
            merged = (existing if isinstance(existing, list) else [existing] if existing else []) + values
            answers[match["code"]] = merged
        elif values:
            # A repeated attribute[CODE] is a multi-value answer too: keep every value.
            answers[match["code"]] = values[0] if len(values) == 1 else values
    return answers
