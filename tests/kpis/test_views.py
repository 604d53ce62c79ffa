"""The catalogue, manual-value and review pages (Vietnamese and English), publication switches, and the
values export as CSV (UTF-8 with BOM) and XLSX."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from dothi.kpis import selectors, services
from dothi.kpis.models import Value
from tests.kpis.engine_fixtures import communes_fixture  # noqa: F401 - the `communes` fixture

pytestmark = pytest.mark.django_db
BASE = "/c/danang/kpis/"
HIA = "EC: ICT: ICT: 1C"


def client(user, language="vi") -> Client:
    c = Client()
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    if user is not None:
        c.force_login(user)
    return c


def test_catalogue_renders_in_both_languages_with_filters_and_pagination(city, cast):
    ind = selectors.indicator_by_code(city, HIA)
    Value.objects.create(city=city, indicator=ind, grain="year", period_start=date(2026, 1, 1),
                         period_end=date(2027, 1, 1), value=83.1, method="auto")
    vi = client(cast["agency_staff"]).get(BASE + "catalogue/", {"q": "internet"})
    assert vi.status_code == 200
    text = vi.content.decode()
    assert "Hộ gia đình có truy cập Internet" in text and "Năm 2026" in text and "83,1" in text
    assert 'name="published"' not in text  # no switch for agency staff
    en = client(cast["agency_staff"], "en").get(BASE + "catalogue/", {"q": "internet"})
    assert "Household Internet Access" in en.content.decode() and "83.1" in en.content.decode()
    page2 = client(cast["operator"], "en").get(BASE + "catalogue/", {"source": "u4ssc", "page": "2"})
    assert "Page 2 of 4" in page2.content.decode()
    empty = client(cast["operator"], "en").get(BASE + "catalogue/", {"q": "zzz-nothing"})
    assert "No indicator matches these filters." in empty.content.decode()
    assert client(cast["citizen"]).get(BASE + "catalogue/").status_code == 403
    assert client(None).get(BASE + "catalogue/").status_code == 302


def test_council_switches_publication(city, cast):
    staff = client(cast["agency_staff"])
    assert staff.post(BASE + "catalogue/", {"code": HIA, "published": "1"}).status_code == 403
    council = client(cast["council_member"])
    assert 'name="published"' in council.get(BASE + "catalogue/").content.decode()
    r = council.post(BASE + "catalogue/", {"code": HIA, "published": "1", "query": "q=internet"})
    assert r.status_code == 302 and r["Location"].endswith("?q=internet")
    assert [i.code for i in selectors.published(city)] == [HIA]
    council.post(BASE + "catalogue/", {"code": HIA, "published": "0"})
    assert not selectors.published(city).exists()
    assert council.post(BASE + "catalogue/", {"code": "NO", "published": "1"}).status_code == 422


def test_manual_page_enters_a_value_with_a_decimal_comma_and_evidence(city, cast, communes):
    staff = client(cast["agency_staff"], "en")
    page = staff.get(BASE + "manual/")
    assert page.status_code == 200 and "No manual value has been entered yet." in page.content.decode()
    pdf = SimpleUploadedFile("nien-giam.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    r = staff.post(BASE + "manual/", {"indicator": HIA, "period": "2025", "value": "78,4", "source": "GSO",
                                      "commune": communes["a"].pk, "evidence": pdf})
    assert r.status_code == 302
    v = Value.objects.get(method="manual")
    assert (v.value, v.status, v.commune_id) == (78.4, "pending", "20194")
    assert v.evidence
    listing = staff.get(BASE + "manual/").content.decode()
    assert "Awaiting approval" in listing and "Phường Hải Châu" in listing
    bad = staff.post(BASE + "manual/", {"indicator": HIA, "period": "2026-Q5", "value": "1", "source": "x"})
    assert bad.status_code == 422 and "Q1 to Q4" in bad.content.decode()
    assert Value.objects.count() == 1
    vi = client(cast["agency_staff"]).get(BASE + "manual/")
    assert vi.status_code == 200 and '<html lang="vi"' in vi.content.decode()


def test_review_page_four_eyes_approve_reject(city, cast):
    v1 = services.enter_manual(actor=cast["agency_staff"], city=city, indicator=HIA, period="2025",
                               value=78.4, source="GSO")
    v2 = services.enter_manual(actor=cast["council_member"], city=city, indicator=HIA, period="2026",
                               value=80, source="GSO")
    assert client(cast["agency_staff"]).get(BASE + "manual/review/").status_code == 403
    council = client(cast["council_member"], "en")
    page = council.get(BASE + "manual/review/").content.decode()
    assert "You entered this value" in page and "78.4" in page
    r = council.post(BASE + "manual/review/", {"id": v2.pk, "decision": "approve"})
    assert r.status_code == 403
    r = council.post(BASE + "manual/review/", {"id": v1.pk, "decision": "reject"})
    assert r.status_code == 422 and "Say why" in r.content.decode()
    r = council.post(BASE + "manual/review/", {"id": v1.pk, "decision": "approve", "note": "ok"})
    assert r.status_code == 302
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert (v1.status, v2.status) == ("approved", "pending")
    r = client(cast["city_admin"], "en").post(BASE + "manual/review/", {"id": v2.pk, "decision": "reject",
                                                                         "note": "Sai nguồn"})
    assert r.status_code == 302
    empty = council.get(BASE + "manual/review/").content.decode()
    assert "No value awaits approval." in empty


@pytest.fixture
def exported(city, communes):
    ind = selectors.indicator_by_code(city, "reports.resolved_on_time")
    for month, v in [(6, 70.0), (7, 75.0), (8, None)]:
        Value.objects.create(city=city, indicator=ind, grain="month", period_start=date(2026, month, 1),
                             period_end=date(2026, month + 1, 1), value=v, numerator=3 if v else None,
                             denominator=4 if v else None, sample_size=4 if v else 0,
                             note="" if v else "no report was resolved", method="auto")
    Value.objects.create(city=city, indicator=ind, grain="month", period_start=date(2026, 7, 1),
                         period_end=date(2026, 8, 1), value=50.0, method="auto", commune=communes["a"])
    return ind


def test_export_csv_has_a_bom_and_the_inputs(city, cast, exported):
    r = client(cast["agency_staff"], "en").get(BASE + "export.csv", {"period": "2026-07"})
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    assert 'filename="kpis-danang-2026-07.csv"' in r["Content-Disposition"]
    body = r.content.decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body[1:])))
    assert rows[0][:3] == ["code", "Indicator", "Period"]
    assert len(rows) == 2
    assert rows[1][0] == "reports.resolved_on_time" and rows[1][2] == "July 2026"
    assert rows[1][6:11] == ["75.0", "%", "3.0", "4.0", "4"]
    ranged = client(cast["agency_staff"], "en").get(
        BASE + "export.csv", {"since": "2026-06", "until": "2026-08", "wards": "1"}
    )
    rows = list(csv.reader(io.StringIO(ranged.content.decode("utf-8")[1:])))
    assert [(r[2], r[5], r[6]) for r in rows[1:]] == [
        ("June 2026", "", "70.0"), ("July 2026", "", "75.0"), ("July 2026", "Phường Hải Châu", "50.0"),
        ("August 2026", "", ""),  # missing stays empty, never 0
    ]
    vi = client(cast["agency_staff"]).get(BASE + "export.csv", {"period": "2026-07"}).content.decode("utf-8")
    assert "Tháng 7/2026" in vi


def test_export_xlsx_and_errors(city, cast, exported):
    from openpyxl import load_workbook

    r = client(cast["agency_staff"], "en").get(BASE + "export.xlsx", {"period": "2026-Q3"})
    assert r.status_code == 200
    assert r["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws.cell(row=1, column=1).value == "code"
    assert ws.max_row == 1  # no quarterly value stored
    r = client(cast["agency_staff"], "en").get(BASE + "export.xlsx", {"since": "2026-07", "until": "2026-07"})
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws.max_row == 2 and ws.cell(row=2, column=7).value == 75.0
    bad = client(cast["agency_staff"], "en").get(BASE + "export.csv", {"period": "2026-Q5"})
    assert bad.status_code == 422
    mixed = client(cast["agency_staff"], "en").get(BASE + "export.csv", {"since": "2026", "until": "2026-07"})
    assert mixed.status_code == 422
    assert client(cast["agency_staff"]).get(BASE + "export.pdf").status_code == 404
    assert client(cast["citizen"]).get(BASE + "export.csv").status_code == 403
