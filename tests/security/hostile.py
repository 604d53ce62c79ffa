"""The shared hostile-input corpus: sent to every form and every API parameter by test_hostile.py.

Later modules reuse it (import STRINGS / VALUES / RAW_BODIES) instead of inventing their own.
"""

from __future__ import annotations

# Text values (form fields, query parameters, JSON strings).
STRINGS: dict[str, str] = {
    "sql_quote": "' OR '1'='1' --",
    "sql_stacked": "1; DROP TABLE core_city; --",
    "xss_script": "<script>alert(1)</script>",
    "xss_attr": '"><img src=x onerror=alert(1)>',
    "js_url": "javascript:alert(document.cookie)",
    "very_long": "A" * 100_000,
    "nul_byte": "abc\x00def",
    "rtl_zero_width": "\u202egnp.exe\u200b\u200d\u2060\ufeff",
    "path_traversal": "../../../../etc/passwd",
    "encoded_traversal": "..%2f..%2f..%2fetc%2fpasswd",
    "format_string": "%s%s%s%n{0}{__class__}${7*7}{{7*7}}",
    "crlf": "a\r\nSet-Cookie: hacked=1",
    "negative": "-1",
    "huge_number": "9" * 40,
    "not_a_number": "NaN",
    "overflow_float": "1e309",
    "emoji_flood": "💥" * 2_000,
    "empty": "",
    "whitespace": " \t\n ",
    "unicode_digits": "٠١٢٣٤٥٦٧٨٩٠١",  # Arabic-Indic digits pass str.isdigit()
}

# Values for JSON bodies that are not strings: wrong types, extremes, nesting.
VALUES: dict[str, object] = {
    "lone_surrogate": "\ud800",  # valid JSON escape, invalid UTF-8: databases reject it
    "negative_int": -1,
    "huge_int": 2**70,
    "max_float": 1.7976931348623157e308,
    "zero": 0,
    "null": None,
    "true": True,
    "empty_list": [],
    "empty_object": {},
    "list_of_strings": ["a", "b"],
    "object": {"$where": "1", "__proto__": {"admin": True}},
    "nested_20": __import__("functools").reduce(lambda acc, _: [acc], range(20), "x"),
}

# Whole bodies that are not valid requests at all (sent raw to JSON endpoints).
RAW_BODIES: dict[str, tuple[bytes, str]] = {
    "json_bomb_deep": (b"[" * 100_000 + b"]" * 100_000, "application/json"),
    "json_deep_object": (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "application/json"),
    "truncated_json": (b'{"a": ', "application/json"),
    "invalid_utf8": (b'{"a": "\xff\xfe\xfd"}', "application/json"),
    "json_array": (b"[1, 2, 3]", "application/json"),
    "json_string": (b'"just a string"', "application/json"),
    "huge_body": (b'{"a": "' + b"B" * 2_000_000 + b'"}', "application/json"),
    "wrong_content_type": (b"a=1&b=2", "application/x-www-form-urlencoded"),
    "xml": (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
            "application/xml"),
}

# Raw form bodies (invalid percent-encoded UTF-8 and friends) for HTML forms.
RAW_FORM_BODIES: dict[str, bytes] = {
    "invalid_utf8_percent": b"%FF%FE%FD=%C0%AF&x=%ED%A0%80",
    "raw_invalid_utf8": b"a=\xff\xfe\xfd",
    "many_fields": b"&".join(b"f%d=1" % i for i in range(2_000)),
}
