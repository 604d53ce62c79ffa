"""The evaluation pages: dashboard, indicator page, the council's report and its CSV/XLSX, issued reports,
return on investment, the public page; who may open them, empty states, and both languages."""

from __future__ import annotations

import datetime
import io

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dothi.kpis.models import Benefit, CityIndicator, Evaluation, Grain, Indicator, Value
from tests.kpis import eval_helpers as h
from tests.kpis.engine_fixtures import communes_fixture  # noqa: F401 - the `communes` fixture

pytestmark = pytest.mark.django_db

YEAR = timezone.localdate().year


def client_for(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def plan(city, agency):
    """A programme with one target on an indicator measured this year (40 from 20, target 60), a project
    with a budget, and the indicator published."""
    from dothi.programme.models import BudgetLine

    programme = h.make_programme(city)
    goal = h.make_goal(programme, "G1", "Dịch vụ công", "Public services")
    ind = h.make_indicator("test.online", city=city, name_vi="Dịch vụ trực tuyến", name_en="Online services",
                           unit="%", dimension="Economy", per_ward=True, method_en="Share booked online.")
    h.add_value(city, ind, 40.0, start=datetime.date(YEAR, 1, 1), numerator=40, denominator=100,
                sample_size=100)
    h.add_value(city, ind, 30.0, start=datetime.date(YEAR - 1, 1, 1))
    h.make_target(goal, "test.online", baseline=20, baseline_year=YEAR - 3, target=60,
                  deadline=datetime.date(YEAR + 4, 12, 31), label_vi="Tỷ lệ đặt lịch trực tuyến",
                  label_en="Share booked online", unit="%")
    project = h.make_project(city, agency, programme=programme)
    BudgetLine.objects.create(city=city, project=project, year=YEAR - 1, source="local_budget",
                              planned_vnd=1000, disbursed_vnd=900)
    CityIndicator.objects.create(city=city, indicator=ind, is_published=True)
    return {"indicator": ind, "project": project}


def test_dashboard_per_role(cast, plan):
    for role in ("agency_staff", "operator", "council_member", "city_admin"):
        response = client_for(cast[role]).get(reverse("kpis:dashboard"))
        assert response.status_code == 200, role
        body = response.content.decode()
        assert "Share booked online" in body and "On track" in body
    assert client_for(cast["citizen"]).get(reverse("kpis:dashboard")).status_code == 403
    response = client_for(None).get(reverse("kpis:dashboard"))
    assert response.status_code == 302 and "signin" in response["Location"]


def test_dashboard_vietnamese_and_bad_year(cast, plan):
    body = client_for(cast["agency_staff"], "vi").get(reverse("kpis:dashboard")).content.decode()
    assert "Tỷ lệ đặt lịch trực tuyến" in body
    response = client_for(cast["agency_staff"]).get(reverse("kpis:dashboard") + "?year=abc")
    assert response.status_code == 422
    assert "The year must be between" in response.content.decode()


def test_dashboard_empty_state(cast):
    body = client_for(cast["agency_staff"]).get(reverse("kpis:dashboard")).content.decode()
    assert "There is nothing to evaluate yet" in body


def test_indicator_page(cast, plan, communes):
    city = plan["indicator"].city
    h.add_value(city, plan["indicator"], 55.0, start=datetime.date(YEAR, 1, 1), commune=communes["a"],
                sample_size=20)
    client = client_for(cast["agency_staff"])
    response = client.get(reverse("kpis:indicator", args=["test.online"]))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'role="img"' in body and "kpi-chart-target" in body and "kpi-chart-trend" in body
    assert communes["a"].name in body  # the ward drill-down for staff
    assert client.get(reverse("kpis:indicator", args=["test.online"]) + "?grain=quarter").status_code == 200
    assert client.get(reverse("kpis:indicator", args=["test.online"]) + "?grain=week").status_code == 400
    assert client.get(reverse("kpis:indicator", args=["no.such"])).status_code == 404
    assert client_for(cast["citizen"]).get(reverse("kpis:indicator", args=["no.such"])).status_code == 403


def test_report_for_the_council_only(cast, plan):
    response = client_for(cast["council_member"]).get(reverse("kpis:report"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Print / Save as PDF" in body and "<svg" in body and "Return on investment" in body
    assert "Flood warning pilot" in body
    assert client_for(cast["agency_staff"]).get(reverse("kpis:report")).status_code == 403
    assert client_for(cast["council_member"]).get(reverse("kpis:report") + "?rate=90").status_code == 422


def test_report_exports(cast, plan):
    client = client_for(cast["council_member"])
    response = client.get(reverse("kpis:report_export", args=["csv"]) + f"?year={YEAR}")
    assert response.status_code == 200
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    lines = text.strip().splitlines()
    assert len(lines) == 2 and "test.online" in lines[1] and ",50.0," in lines[1]  # progress 100·20/40
    response = client.get(reverse("kpis:report") + "?format=xlsx")
    assert response.status_code == 200
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.max_row == 2 and sheet.cell(row=2, column=3).value == "test.online"
    assert client.get(reverse("kpis:report_export", args=["pdf"])).status_code == 404
    assert client_for(cast["operator"]).get(reverse("kpis:report_export", args=["csv"])).status_code == 403


def test_issue_and_show_an_evaluation(cast, plan):
    client = client_for(cast["council_member"])
    assert client.get(reverse("kpis:issue")).status_code == 405
    response = client.post(reverse("kpis:issue"), {"year": str(YEAR), "title": "Báo cáo quý"})
    row = Evaluation.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("kpis:evaluation", args=[row.pk])
    # A later value changes the live report, not the issued one (figures and chart).
    this_year = Value.objects.filter(indicator=plan["indicator"], period_start=datetime.date(YEAR, 1, 1))
    this_year.update(value=58.0)
    body = client.get(reverse("kpis:evaluation", args=[row.pk])).content.decode()
    assert "Báo cáo quý" in body and "Share booked online" in body and "frozen" in body
    assert f"<title>{YEAR}: 40 %</title>" in body and f"{YEAR}: 58 %" not in body
    assert f"<title>{YEAR}: 58 %</title>" in client.get(reverse("kpis:report")).content.decode()
    assert "Báo cáo quý" in client.get(reverse("kpis:evaluations")).content.decode()
    response = client.post(reverse("kpis:issue"), {"year": "20x6"})
    assert response.status_code == 422 and Evaluation.objects.count() == 1
    manager = client_for(cast["agency_manager"])
    assert manager.post(reverse("kpis:issue"), {"year": str(YEAR)}).status_code == 403
    assert manager.get(reverse("kpis:evaluation", args=[row.pk])).status_code == 403
    assert client.get(reverse("kpis:evaluation", args=[row.pk + 1000])).status_code == 404


def test_roi_pages_and_benefit_form(cast, plan):
    staff = client_for(cast["agency_staff"])
    response = staff.get(reverse("kpis:roi") + "?rate=10")
    assert response.status_code == 200 and "Flood warning pilot" in response.content.decode()
    assert staff.get(reverse("kpis:roi") + "?rate=abc").status_code == 422
    page = reverse("kpis:roi_project", args=["flood-pilot"])
    body = staff.get(page).content.decode()
    assert "Sensitivity of the NPV" in body and "Record a benefit" not in body
    assert staff.get(reverse("kpis:roi_project", args=["nope"])).status_code == 404
    form = {"action": "add", "year": str(YEAR), "amount_vnd": "1.200.000", "kind": "saving",
            "description_vi": "Giảm chi phí trực"}
    assert staff.post(page, form).status_code == 403
    council = client_for(cast["council_member"])
    assert "Record a benefit" in council.get(page).content.decode()
    response = council.post(page, {**form, "amount_vnd": "1,5"})
    assert response.status_code == 422 and Benefit.objects.count() == 0
    assert "whole number of VND" in response.content.decode()
    response = council.post(page, form)
    assert response.status_code == 302
    benefit = Benefit.objects.get()
    assert benefit.amount_vnd == 1_200_000 and benefit.project_code == "flood-pilot"
    response = council.post(page, {"action": "delete", "benefit": str(benefit.pk)})
    assert response.status_code == 302 and Benefit.objects.count() == 0


def test_public_page(cast, plan, communes):
    city = plan["indicator"].city
    h.add_value(city, plan["indicator"], 77.0, start=datetime.date(YEAR, 1, 1), commune=communes["b"],
                sample_size=2)
    for language, name in (("en", "Online services"), ("vi", "Dịch vụ trực tuyến")):
        response = client_for(None, language).get(reverse("kpis:public"))
        assert response.status_code == 200
        body = response.content.decode()
        assert name in body and "<svg" in body
        assert communes["b"].name not in body  # no ward figures on the public page
    assert "40" in body


def test_public_page_empty(city):
    body = client_for(None).get(reverse("kpis:public")).content.decode()
    assert "has not published any indicator yet" in body


def test_grain_values_on_indicator_page_show_inputs(cast, plan):
    city = plan["indicator"].city
    h.add_value(city, plan["indicator"], None, grain=Grain.MONTH, start=datetime.date(YEAR, 1, 1),
                note="no bookings in the period")
    body = client_for(cast["operator"]).get(
        reverse("kpis:indicator", args=["test.online"]) + "?grain=month").content.decode()
    assert "no bookings in the period" in body


def test_public_page_shows_a_u4ssc_row_by_its_platform_measure(city):
    u4ssc = h.make_indicator("X: Y: D: 1A", source=Indicator.Source.U4SSC, kind=Indicator.Kind.ADVANCED,
                             name_en="Drainage monitored", unit="%")
    part = h.make_indicator("test.drainage", standard_code="X: Y: D: 1A", calculator="test.drainage",
                            unit="%")
    empty = h.make_indicator("X: Y: E: 1C", source=Indicator.Source.U4SSC, kind=Indicator.Kind.CORE,
                             name_en="Nothing measured yet", unit="kWh")
    for ind in (u4ssc, empty):
        CityIndicator.objects.create(city=city, indicator=ind, is_published=True)
    h.add_value(city, part, 12.5, start=datetime.date(YEAR, 1, 1))
    body = client_for(None).get(reverse("kpis:public")).content.decode()
    assert "Drainage monitored" in body and "12.5" in body
    card = body[body.index("Nothing measured yet"):]
    assert "—" in card[:600] and "kWh" not in card[:600]  # missing: a dash, never a bare unit
