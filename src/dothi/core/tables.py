"""Tables as CSV or XLSX, for every module's exports.

A table is rows (dicts) and columns ((key, label) pairs). CSV is UTF-8 with a byte-order mark by default,
so spreadsheet programs read Vietnamese; XLSX (openpyxl) keeps numbers and dates typed. Cells that a
spreadsheet would read as a formula (starting with =, +, - or @) are written as text, so an exported name
cannot run anything.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from django.utils.translation import gettext

Columns = Sequence[tuple[str, Any]]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SHEET_FORBIDDEN = "[]:*?/\\"


def _cell(value: Any) -> Any:
    """A cell value a spreadsheet understands: numbers, dates and booleans as they are, lazy strings
    resolved, lists and dicts as JSON, None empty."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float | date | datetime):
        return value
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _text(value: Any) -> str:
    value = _cell(value)
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return str(value)


def table_csv(rows: Iterable[dict], columns: Columns, *, bom: bool = True) -> str:
    """The rows as CSV text with a header line of the columns' labels (UTF-8 with a byte-order mark by
    default, so spreadsheet programs read Vietnamese correctly)."""
    out = io.StringIO()
    if bom:
        out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([str(label) for _key, label in columns])
    for row in rows:
        writer.writerow([_text(row.get(key)) for key, _label in columns])
    return out.getvalue()


def _sheet_title(sheet: str) -> str:
    title = "".join("_" if ch in SHEET_FORBIDDEN else ch for ch in str(sheet)).strip("'")[:31]
    return title or "Sheet"


def table_xlsx(rows: Iterable[dict], columns: Columns, sheet: str) -> bytes:
    """The rows as an XLSX workbook of one sheet named `sheet` (at most 31 characters): a bold, frozen
    header of the columns' labels, then one row per dict; dates and numbers stay typed."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    ws = workbook.active
    ws.title = _sheet_title(sheet)
    ws.append([str(label) for _key, label in columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for r, row in enumerate(rows, start=2):
        for c, (key, _label) in enumerate(columns, start=1):
            value = _cell(row.get(key))
            cell = ws.cell(row=r, column=c)
            cell.value = value
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # text, never a formula
    for c, (_key, label) in enumerate(columns, start=1):
        ws.column_dimensions[ws.cell(row=1, column=c).column_letter].width = min(
            60, max(10, len(str(label)) + 2)
        )
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
