"""The programme's exports: CSV and XLSX read back, formulas kept as text, the print-ready plan."""

from __future__ import annotations

import csv
import datetime
import io
import re

import pytest
from openpyxl import load_workbook

from dothi.core.errors import NotFound
from dothi.programme import exports
from dothi.programme.models import BudgetLine, Project, Risk

COLUMNS = [("name", "Tên"), ("value", "Giá trị (VND)"), ("day", "Ngày"), ("ok", "Đạt")]
ROWS = [
    {"name": "Sở Xây dựng", "value": 1_500_000, "day": datetime.date(2026, 5, 1), "ok": True},
    {"name": '=HYPERLINK("x")', "value": None, "day": None, "ok": False},
]


def test_table_csv_reads_back_with_vietnamese_and_escaped_formulas():
    text = exports.table_csv(ROWS, COLUMNS)

    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0] == ["Tên", "Giá trị (VND)", "Ngày", "Đạt"]
    assert rows[1][:3] == ["Sở Xây dựng", "1500000", "2026-05-01"]
    assert rows[2][0] == '\'=HYPERLINK("x")'  # never a formula in a spreadsheet
    assert rows[2][1:3] == ["", ""]
    assert rows[1][3] != rows[2][3]  # yes / no
    assert not exports.table_csv([], COLUMNS, bom=False).startswith("\ufeff")


def test_table_xlsx_reads_back_typed():
    data = exports.table_xlsx(ROWS, COLUMNS, sheet="Dự án: 2026/2030 [bảng] with a very long name")

    ws = load_workbook(io.BytesIO(data)).active
    assert ":" not in ws.title and "/" not in ws.title and len(ws.title) <= 31
    values = list(ws.iter_rows(values_only=True))
    assert values[0] == ("Tên", "Giá trị (VND)", "Ngày", "Đạt")
    assert values[1][0] == "Sở Xây dựng" and values[1][1] == 1_500_000 and values[1][3] is True
    assert values[1][2].date() == datetime.date(2026, 5, 1)
    assert values[2][0] == '=HYPERLINK("x")'
    assert ws["A3"].data_type == "s"  # stored as text, not a formula
    assert ws.freeze_panes == "A2"


@pytest.mark.parametrize("name", sorted(exports.TABLES))
def test_every_table_exports(programme, project, name):
    BudgetLine.objects.create(
        city=project.city,
        project=project,
        year=2026,
        source="oda",
        kind="capex",
        planned_vnd=900,
        disbursed_vnd=90,
    )
    Risk.objects.create(
        city=programme.city, programme=programme, title_vi="Chậm giải ngân", likelihood=4, impact=3
    )

    label, rows, columns = exports.table(programme, name)

    ws = load_workbook(io.BytesIO(exports.table_xlsx(rows, columns, label))).active
    assert ws.max_row == len(rows) + 1
    assert list(next(ws.iter_rows(values_only=True))) == [str(c[1]) for c in columns]
    assert len(list(csv.reader(io.StringIO(exports.table_csv(rows, columns))))) == len(rows) + 1


def test_projects_and_budget_tables_hold_the_numbers(programme, project):
    BudgetLine.objects.create(
        city=project.city,
        project=project,
        year=2026,
        source="oda",
        kind="capex",
        planned_vnd=900,
        disbursed_vnd=90,
    )
    BudgetLine.objects.create(
        city=project.city,
        project=project,
        year=2027,
        source="oda",
        kind="opex",
        planned_vnd=100,
        disbursed_vnd=0,
    )
    _label, rows, _columns = exports.table(programme, "projects")
    assert [(r["code"], r["planned_vnd"], r["disbursed_vnd"]) for r in rows] == [("flood-pilot", 1_000, 90)]
    _label, rows, _columns = exports.table(programme, "budget")
    assert [(r["year"], r["planned_vnd"]) for r in rows] == [(2026, 900), (2027, 100)]
    with pytest.raises(NotFound):
        exports.table(programme, "passwords")


def test_plan_html_is_print_ready_without_inline_style_and_public_hides_unpublished(
    programme, project, agency
):
    Project.objects.create(
        city=programme.city, programme=programme, code="hidden", title_vi="Dự án nội bộ XYZ", agency=agency
    )
    Risk.objects.create(
        city=programme.city, programme=programme, title_vi="Rủi ro ABC", likelihood=2, impact=2
    )
    project.is_published = True
    project.save()
    programme.is_published = True
    programme.save()

    staff = exports.plan_html(programme, public=False)
    public = exports.plan_html(programme, public=True)

    assert "programme/print.css" in staff
    assert programme.title_vi in public and project.title_vi in public
    assert "Dự án nội bộ XYZ" in staff and "Rủi ro ABC" in staff
    assert "Dự án nội bộ XYZ" not in public and "Rủi ro ABC" not in public
    for html in (staff, public):
        assert not re.search(r"<script|<style|\sstyle=", html)
    programme.is_published = False
    with pytest.raises(NotFound):
        exports.plan_html(programme, public=True)
