"""Reading sensor registries (CSV or GeoJSON) and historical observations (CSV) from files, for the
import commands; what they read goes through the services like any other write."""

from __future__ import annotations

import contextlib
import csv
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from dothi.core.errors import InvalidInput

BOOL_TRUE = {"1", "true", "yes", "y", "có", "x"}
BOOL_FALSE = {"0", "false", "no", "n", "không", ""}


def _bool(value: Any) -> Any:
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in BOOL_TRUE:
            return True
        if lowered in BOOL_FALSE:
            return False
    return value


def _sensor_row(props: dict[str, Any]) -> dict[str, Any]:
    row = {str(k).strip(): (v.strip() if isinstance(v, str) else v) for k, v in props.items() if k}
    if "is_public" in row:
        row["is_public"] = _bool(row["is_public"])
    if isinstance(row.get("quantities"), str):
        row["quantities"] = [c for c in row["quantities"].replace(";", " ").replace(",", " ").split() if c]
    return row


def sensor_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a sensor registry: a CSV with a header (code, name, kind, lat, lon, quantities separated by
    spaces or semicolons, owner = an organisation's code, agreement = an agreement's id, is_public,
    expected_interval_seconds, view_description, stream_url, description), or a GeoJSON
    FeatureCollection of points with the same properties."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InvalidInput(_("No such file."), field="file")
    except UnicodeDecodeError:
        raise InvalidInput(_("The file is not UTF-8 text."), field="file")
    if path.suffix.lower() in {".geojson", ".json"} or text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput(_("The file is not valid JSON: %(error)s") % {"error": exc}, field="file")
        features = data.get("features") if isinstance(data, dict) else None
        if not isinstance(features, list):
            raise InvalidInput(_("A GeoJSON FeatureCollection is expected."), field="file")
        rows = []
        for feature in features:
            props = dict((feature or {}).get("properties") or {})
            geometry = (feature or {}).get("geometry") or {}
            coords = geometry.get("coordinates") if geometry.get("type") == "Point" else None
            if isinstance(coords, list) and len(coords) >= 2:
                props["lon"], props["lat"] = coords[0], coords[1]
            rows.append(_sensor_row(props))
        return rows
    return [_sensor_row(r) for r in csv.DictReader(text.splitlines())]


def count_lines(path: Path) -> int:
    with path.open("rb") as f:
        return max(sum(buf.count(b"\n") for buf in iter(lambda: f.read(1 << 20), b"")) - 1, 0)


def observation_rows(path: Path, *, time_zone: str | None = None) -> Iterator[dict[str, Any]]:
    """Observations of a CSV with a header sensor,quantity,time,value (ISO 8601 times; times without a
    zone are taken in `time_zone` when given, and rejected otherwise). Values that are not numbers
    are passed on as text, so ingestion rejects them with their row number."""
    zone = ZoneInfo(time_zone) if time_zone else None
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        missing = {"sensor", "quantity", "time", "value"} - set(reader.fieldnames or [])
        if missing:
            raise InvalidInput(
                _("The CSV lacks the columns: %(columns)s.") % {"columns": ", ".join(sorted(missing))},
                field="file",
            )
        for row in reader:
            value: Any = row.get("value")
            with contextlib.suppress(TypeError, ValueError):
                value = float(value)
            time: Any = (row.get("time") or "").strip()
            if zone is not None:
                try:
                    parsed = datetime.fromisoformat(time)
                except ValueError:
                    parsed = None
                if parsed is not None and parsed.tzinfo is None:
                    time = parsed.replace(tzinfo=zone)
            yield {
                "sensor": (row.get("sensor") or "").strip(),
                "quantity": (row.get("quantity") or "").strip(),
                "time": time,
                "value": value,
            }
