"""Return on investment: NPV, benefit–cost ratio, IRR and sensitivity against hand-computed numbers, and
`project_roi` on a programme project's budget (disbursed, else planned) and its benefits."""

from __future__ import annotations

import math

import pytest

from dothi.core.errors import InvalidInput, NotFound
from dothi.kpis import roi
from tests.kpis import eval_helpers

# Flows -100, 60, 60 (years 0, 1, 2):
# NPV at 10 % = -100 + 60/1.1 + 60/1.21 = -100 + 54.545454… + 49.586776… = 4.132231…
# IRR: 60x² + 60x − 100 = 0 with x = 1/(1+r) → x = (−60 + √27600)/120 = 0.884437…, r = 0.130662…
FLOWS = [-100.0, 60.0, 60.0]


def test_npv_hand_computed():
    assert roi.npv(FLOWS, 0.10) == pytest.approx(4.1322314, abs=1e-6)
    assert roi.npv(FLOWS, 0.0) == pytest.approx(20.0)
    assert roi.npv([], 0.08) == 0


def test_irr_hand_computed_and_no_sign_change():
    assert roi.irr(FLOWS) == pytest.approx(0.1306624, abs=1e-6)
    assert roi.npv(FLOWS, roi.irr(FLOWS)) == pytest.approx(0.0, abs=1e-6)
    assert roi.irr([-100.0, -10.0]) is None  # only costs: no rate makes the NPV zero
    assert roi.irr([10.0, 20.0]) is None
    assert roi.irr([]) is None


def test_bcr_and_npv_of_year_maps():
    costs = {2025: 100.0}
    benefits = {2026: 60.0, 2027: 60.0}
    # PV(benefits) at 10 % = 54.545454 + 49.586776 = 104.132231; PV(costs) = 100.
    assert roi.bcr(costs, benefits, 0.10) == pytest.approx(1.0413223, abs=1e-6)
    assert roi.npv_of(costs, benefits, 0.10) == pytest.approx(4.1322314, abs=1e-6)
    assert roi.bcr({}, benefits, 0.10) is None  # no cost: no ratio
    assert roi.bcr({}, {}, 0.10) is None


def test_sensitivity_shape_and_values():
    costs, benefits = {2025: 100.0}, {2026: 60.0, 2027: 60.0}
    table = roi.sensitivity(costs, benefits, 0.10)
    assert table["rates"] == pytest.approx([0.08, 0.10, 0.12])
    assert table["factors"] == [0.8, 1.0, 1.2]
    assert len(table["rows"]) == 3 and all(len(r) == 3 for r in table["rows"])
    # Factor 1.0 at 10 %: the NPV above. Factor 0.8 at 8 %: 48/1.08 + 48/1.1664 − 100 = −14.403292…
    assert table["rows"][1][1] == pytest.approx(4.1322314, abs=1e-6)
    assert table["rows"][0][0] == pytest.approx(-14.4032922, abs=1e-6)
    # More benefit, more NPV; higher rate, less NPV (benefits come after the cost).
    assert table["rows"][2][1] > table["rows"][1][1] > table["rows"][0][1]
    assert table["rows"][1][0] > table["rows"][1][1] > table["rows"][1][2]
    # At 1 % the lower rate would be negative: left out.
    assert roi.sensitivity(costs, benefits, 0.01)["rates"] == pytest.approx([0.01, 0.03])


def test_compute_flows_payback_and_gap_years():
    # Costs 100 in 2025, nothing in 2026, benefits 70 in 2027 and 2028 at 0 %: NPV 40, payback 2028.
    r = roi.compute("p", "Dự án", "Project", {2025: 100}, {2027: 70, 2028: 70}, 0.0)
    assert [f.year for f in r.flows] == [2025, 2026, 2027, 2028]
    assert [f.net for f in r.flows] == [-100, 0, 70, 70]
    assert r.npv == pytest.approx(40.0)
    assert r.bcr == pytest.approx(1.4)
    assert r.payback_year == 2028
    assert r.total_cost == 100 and r.total_benefit == 140
    empty = roi.compute("q", "Q", "", {}, {}, 8.0)
    assert empty.npv == 0 and empty.bcr is None and empty.irr is None and empty.flows == []


def test_parse_rate():
    assert roi.parse_rate("8") == 8.0
    assert roi.parse_rate("8,5") == 8.5
    assert roi.parse_rate("") == roi.DEFAULT_DISCOUNT_RATE
    assert roi.parse_rate(None) == 8.0
    for bad in ("abc", "-1", "51", "nan", "inf"):
        with pytest.raises(InvalidInput) as exc:
            roi.parse_rate(bad)
        assert exc.value.field == "rate"


@pytest.mark.django_db
def test_default_rate_is_a_city_policy(city):
    assert roi.default_rate(city) == 8.0
    city.settings = {"kpis": {"discount_rate": 6}}
    assert roi.default_rate(city) == 6.0
    city.settings = {"kpis": {"discount_rate": 99}}  # out of range: the default
    assert roi.default_rate(city) == 8.0


@pytest.fixture
def budgeted(city, agency):
    from dothi.programme.models import BudgetLine

    project = eval_helpers.make_project(city, agency)
    # 2026: planned 1,000 (two lines), 600 disbursed on one → the disbursed 600 counts.
    # 2027: planned 500, nothing disbursed → the planned 500 counts.
    BudgetLine.objects.create(city=project.city, project=project, year=2026, source="local_budget",
                              planned_vnd=700, disbursed_vnd=600)
    BudgetLine.objects.create(city=project.city, project=project, year=2026, source="central_budget",
                              planned_vnd=300, disbursed_vnd=0)
    BudgetLine.objects.create(city=project.city, project=project, year=2027, source="local_budget",
                              planned_vnd=500)
    return project


@pytest.mark.django_db
def test_project_costs_disbursed_else_planned(budgeted, other_city):
    rows = roi.project_costs(budgeted.city)
    assert rows == [{"code": "flood-pilot", "title_vi": "Thí điểm cảnh báo ngập",
                     "title_en": "Flood warning pilot", "costs": {2026: 600, 2027: 500}}]
    assert roi.project_costs(other_city) == []


@pytest.mark.django_db
def test_project_roi_reads_costs_and_benefits(budgeted):
    from dothi.kpis.models import Benefit

    city = budgeted.city
    Benefit.objects.create(city=city, project_code="flood-pilot", year=2027, amount_vnd=400,
                           description_vi="Giảm thiệt hại")
    Benefit.objects.create(city=city, project_code="flood-pilot", year=2028, amount_vnd=450,
                           description_vi="Giảm thiệt hại")
    Benefit.objects.create(city=city, project_code="other", year=2028, amount_vnd=10**9,
                           description_vi="Không thuộc dự án này")
    r = roi.project_roi(city, "flood-pilot", 10.0)
    # t = 0 in 2026. PV(costs) = 600 + 500/1.1 = 1054.545454…; PV(benefits) = 400/1.1 + 450/1.21
    # = 363.636363… + 371.900826… = 735.537190…; NPV = −319.008264…
    assert r.pv_costs == pytest.approx(1054.5454545, abs=1e-6)
    assert r.pv_benefits == pytest.approx(735.5371901, abs=1e-6)
    assert r.npv == pytest.approx(-319.0082645, abs=1e-6)
    assert r.bcr == pytest.approx(735.5371901 / 1054.5454545, abs=1e-9)
    # Flows −600, −100, 450: IRR where −600 − 100x + 450x² = 0 → x = (100 + √1,090,000)/900 = 1.271145…
    assert r.irr == pytest.approx(1 / ((100 + math.sqrt(1_090_000)) / 900) - 1, abs=1e-6)
    assert r.irr == pytest.approx(-0.213306, abs=1e-5)
    assert len(r.sensitivity["rows"]) == 3
    with pytest.raises(NotFound):
        roi.project_roi(city, "no-such-project", 8.0)
    assert [p.code for p in roi.portfolio(city, 10.0)] == ["flood-pilot"]
