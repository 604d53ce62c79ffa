"""Rendering GeoReport v2 documents as XML or JSON from one neutral shape.

Every endpoint builds plain Python data (dicts, lists, strings, numbers, booleans, None) and names the
XML containers; this module writes it the way the spec does: bare JSON arrays, and in XML a container
element even for one item (`<service_requests><request>…`), lists of scalars as repeated child elements
(`<formats><format>…`), None as an empty element.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from django.http import HttpResponse

XML_TYPE = "text/xml; charset=utf-8"
JSON_TYPE = "application/json; charset=utf-8"

# Characters XML 1.0 cannot carry at all (even escaped): dropping them keeps every document well formed
# whatever text a citizen or an app typed.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")

# Child element names for list-valued fields, by the list's element name.
ITEM_NAMES = {
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
    "service_requests": "request",
    "services": "service",
    "errors": "error",
    "service_request_updates": "request_update",
}


def utc(value: dt.datetime | None) -> str | None:
    """W3C date-time in UTC with a Z, as the spec's date fields require."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _XML_ILLEGAL.sub("", str(value))


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            sub = ET.SubElement(element, key)
            _fill(sub, child)
    elif isinstance(value, list | tuple):
        item_name = ITEM_NAMES.get(element.tag, "item")
        for child in value:
            sub = ET.SubElement(element, item_name)
            _fill(sub, child)
    else:
        element.text = _text(value)


def to_xml(root: str, value: Any) -> bytes:
    element = ET.Element(root)
    _fill(element, value)
    # The spec asks for the XML declaration with the encoding.
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def to_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def document(fmt: str, root: str, value: Any, *, status: int = 200) -> HttpResponse:
    """A response in `fmt` ("xml" or "json"); `root` names the XML root element (the container)."""
    if fmt == "xml":
        response = HttpResponse(to_xml(root, value), content_type=XML_TYPE, status=status)
    else:
        response = HttpResponse(to_json(value), content_type=JSON_TYPE, status=status)
    # Public, key-guarded machine API: third-party web apps may read it from the browser.
    response["Access-Control-Allow-Origin"] = "*"
    return response


def errors(fmt: str, status: int, description: str) -> HttpResponse:
    """The spec's error body: [{"code": 400, "description": "…"}] / <errors><error>…</error></errors>."""
    return document(fmt, "errors", [{"code": status, "description": str(description)}], status=status)
