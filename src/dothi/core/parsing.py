"""The API's JSON parser: refuses text no database can store (lone surrogates, NUL), at the edge,
with a clear 422, instead of letting it reach a query and fail there."""

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
