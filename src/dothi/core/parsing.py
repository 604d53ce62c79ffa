"""Text no database can store (lone surrogates, NUL) is refused at the edge with a clear 422, instead of
reaching a query and failing there: the API's JSON parser, and `clean_text` for services."""

from __future__ import annotations

import json
from typing import Any

from django.utils.translation import gettext as _
from ninja.parser import Parser

from dothi.core.errors import InvalidInput


def _check_text(value: Any) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidInput(_("Text must not contain NUL characters."), code="invalid_text")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput(_("Text contains characters that are not valid Unicode."), code="invalid_text")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)
    elif isinstance(value, list):
        for item in value:
            _check_text(item)


def clean_text(
    value: Any, *, field: str, max_len: int, required: bool = False, message: str | None = None
) -> str:
    """A service's text input, trimmed: text (None is empty), storable, at most `max_len` characters, and
    not empty when `required` (`message` then says what is missing). Else InvalidInput on `field`."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(_("This must be text."), field=field)
    try:
        _check_text(value)
    except InvalidInput as exc:
        exc.field = field
        raise
    stripped = value.strip()
    if required and not stripped:
        raise InvalidInput(message or _("This field is required."), field=field, code="required")
    if len(stripped) > max_len:
        raise InvalidInput(
            _("The text must be at most %(max)d characters.") % {"max": max_len}, field=field, code="too_long"
        )
    return stripped


class StrictParser(Parser):
    def parse_body(self, request):
        try:
            data = json.loads(request.body)
        except (ValueError, RecursionError):
            raise InvalidInput(_("The request body is not valid JSON."), code="invalid_json")
        _check_text(data)
        return data

    def parse_querydict(self, data, list_fields, request):
        result = super().parse_querydict(data, list_fields, request)
        _check_text(result)
        return result
