"""A small validator for the subset of JSON Schema the community Open311 schemas use (type, enum,
required, properties, items, anyOf, $ref to a sibling file, maxLength, format date-time and uri).

jsonschema is not a dependency of the project; this checks the same constraints the schemas state.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).parent
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
TYPES = {
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


@cache
def schema(name: str) -> dict:
    return json.loads((HERE / name).read_text())


def errors(instance, spec: dict | str, path: str = "$") -> list[str]:
    """Every violation of `spec` (a schema, or a schema file name) by `instance`."""
    if isinstance(spec, str):
        spec = schema(spec)
    if "$ref" in spec:
        spec = {**schema(spec["$ref"]), **{k: v for k, v in spec.items() if k != "$ref"}}
    found: list[str] = []
    if "anyOf" in spec:
        if all(errors(instance, branch, path) for branch in spec["anyOf"]):
            found.append(f"{path}: matches none of anyOf")
        return found
    kind = spec.get("type") or ("object" if "properties" in spec or "required" in spec else None)
    if kind and not TYPES[kind](instance):
        return [f"{path}: expected {kind}, got {type(instance).__name__} {instance!r:.60}"]
    if "enum" in spec and instance not in spec["enum"]:
        found.append(f"{path}: {instance!r} not in {spec['enum']}")
    if isinstance(instance, str):
        if "maxLength" in spec and len(instance) > spec["maxLength"]:
            found.append(f"{path}: longer than {spec['maxLength']}")
        if spec.get("format") == "date-time" and not DATE_TIME.match(instance):
            found.append(f"{path}: not a date-time with a time zone: {instance!r}")
        if spec.get("format") == "uri" and not (urlsplit(instance).scheme and urlsplit(instance).netloc):
            found.append(f"{path}: not an absolute URI: {instance!r}")
    if isinstance(instance, dict):
        for name in spec.get("required", []):
            if name not in instance:
                found.append(f"{path}: missing required {name!r}")
        for name, sub in spec.get("properties", {}).items():
            if name in instance:
                found += errors(instance[name], sub, f"{path}.{name}")
    if isinstance(instance, list) and "items" in spec:
        for i, item in enumerate(instance):
            found += errors(item, spec["items"], f"{path}[{i}]")
    return found
