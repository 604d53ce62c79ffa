"""Evaluation against the programme's targets: progress, U4SSC points, on-track projection (compound
growth, linear fallback), traffic lights and roll-ups, with hand-computed values; then `evaluate()` on
a small programme built with plain ORM calls."""

from __future__ import annotations

import datetime
import json
import math

import pytest

from dothi.kpis import evaluation as ev
from dothi.kpis.models import Grain, Value
from tests.kpis import eval_helpers as h

# --- Pure functions ------------------------------------------------------------------------------------


def test_progress_higher_lower_equal_missing_negative():
    assert ev.progress(40, 20, 60) == pytest.approx(50.0)  # 100·20/40
    assert ev.progress(27, 30, 20) == pytest.approx(30.0)  # lower is better: 100·(−3)/(−10)
    assert ev.progress(35, 30, 20) == pytest.approx(-50.0)  # worse than the baseline: not clipped
    assert ev.progress(80, 50, 75) == pytest.approx(120.0)  # beyond the target: not clipped
    assert ev.progress(0, -10, 10) == pytest.approx(50.0)  # negative baseline
    assert ev.progress(5, 5, 5) is None  # target = baseline
    assert ev.progress(None, 20, 60) is None  # missing: never zero


@pytest.mark.parametrize(
    ("share", "expected"),
    [(None, None), (-50, 1), (0, 1), (32.99, 1), (33, 2), (65.9, 2), (66, 3), (94.99, 3), (95, 4), (130, 4)],
)
def test_points_thresholds(share, expected):
    assert ev.points(share) == expected


def test_projection_compound_growth():
    # From 20 (2023) to 40 (2026): doubling in 3 years; to 2030 (4 more years): 40·2^(4/3) = 100.7937…
    p = ev.projection(baseline=20, baseline_year=2023, current=40, year=2026, deadline_year=2030)
    assert p == pytest.approx(40 * 2 ** (4 / 3))
    assert p == pytest.approx(100.7937, abs=1e-4)
    assert ev.on_track(p, 60, True) is True
    # Lower is better: 30 → 27 in 3 years; 27·0.9^(4/3) = 23.4613… > 20: not on track.
    p = ev.projection(baseline=30, baseline_year=2023, current=27, year=2026, deadline_year=2030)
    assert p == pytest.approx(27 * 0.9 ** (4 / 3))
    assert p == pytest.approx(23.4613, abs=1e-4)
    assert ev.on_track(p, 20, False) is False
    assert ev.on_track(19.9, 20, False) is True


def test_projection_linear_when_a_value_is_not_positive():
    # −10 (2024) → 0 (2026): +5 a year, 4 more years → 20 ≥ 10.
    p = ev.projection(baseline=-10, baseline_year=2024, current=0, year=2026, deadline_year=2030)
    assert p == pytest.approx(20.0)
    assert ev.on_track(p, 10, True) is True
    # 0 (2024) → 4 (2026): +2 a year → 12 by 2030.
    assert ev.projection(baseline=0, baseline_year=2024, current=4, year=2026, deadline_year=2030) == 12


def test_projection_unknown_and_past_deadline():
    # Less than one year of history: unknown.
    assert ev.projection(baseline=10, baseline_year=2026, current=12, year=2026, deadline_year=2030) is None
    assert ev.on_track(None, 10, True) is None
    assert ev.projection(baseline=10, baseline_year=2024, current=None, year=2026, deadline_year=2030) is None
    # Deadline this year or past: the current value itself.
    assert ev.projection(baseline=10, baseline_year=2020, current=12, year=2026, deadline_year=2025) == 12


def test_lights():
    assert ev.light(None, None, missing=True) == ev.GREY
    assert ev.light(4, False, missing=False) == ev.GREEN
    assert ev.light(2, True, missing=False) == ev.GREEN
    assert ev.light(3, False, missing=False) == ev.AMBER
    assert ev.light(2, None, missing=False) == ev.AMBER
    assert ev.light(1, False, missing=False) == ev.RED
    assert ev.light(1, True, missing=False) == ev.GREEN
    # A maintain target (target = baseline) has no points: on track or not.
    assert ev.light(None, True, missing=False) == ev.GREEN
    assert ev.light(None, False, missing=False) == ev.RED
    assert ev.light(None, None, missing=False) == ev.GREY


def test_score_and_score_light():
    assert ev.score([2, 4, None]) == pytest.approx(75.0)  # 6 / (4·2)
    assert ev.score([None]) is None
    assert ev.score([]) is None
    assert ev.score_light(None) == ev.GREY
    assert ev.score_light(100) == ev.GREEN
    assert ev.score_light(87.5) == ev.GREEN  # mean 3.5 rounds to 4
    assert ev.score_light(75) == ev.AMBER
    assert ev.score_light(37.5) == ev.AMBER  # mean 1.5 rounds to 2
    assert ev.score_light(25) == ev.RED


# --- evaluate() ----------------------------------------------------------------------------------------


@pytest.fixture
def plan(city):
    """Two goals, five targets, hand-computed for 2026 (see each test)."""
    programme = h.make_programme(city)
    g1 = h.make_goal(programme, "G1", "Không khí trong lành", "Clean air")
    g2 = h.make_goal(programme, "G2", "Dịch vụ công", "Public services")
    online = h.make_indicator("test.online", city=city, dimension="Economy", sub_dimension="ICT",
                              category="Public Sector", calculator="x.online")
    quarterly = h.make_indicator("test.quarterly", city=city, dimension="Economy", sub_dimension="ICT",
                                 category="Public Sector")
    h.make_indicator("test.missing", city=city, dimension="Economy", sub_dimension="Productivity")
    aq = h.make_indicator("TEST: AQ", city=city, source="u4ssc", kind="core", dimension="Environment",
                          sub_dimension="Environment", category="Air Quality")
    pm25 = h.make_indicator("test.pm25", city=city, standard_code="TEST: AQ", component="PM2.5",
                            dimension="Environment", sub_dimension="Environment", category="Air Quality",
                            order=20)
    pm10 = h.make_indicator("test.pm10", city=city, standard_code="TEST: AQ", component="PM10",
                            dimension="Environment", sub_dimension="Environment", category="Air Quality",
                            order=10)
    h.add_value(city, online, 40.0)
    h.add_value(city, quarterly, 70.0, grain=Grain.QUARTER, start=datetime.date(2026, 1, 1))
    h.add_value(city, quarterly, 80.0, grain=Grain.QUARTER, start=datetime.date(2026, 4, 1))
    h.add_value(city, quarterly, None, grain=Grain.QUARTER, start=datetime.date(2026, 7, 1), note="no data")
    h.add_value(city, pm25, 27.0)
    h.add_value(city, pm10, 50.0)
    h.make_target(g1, "TEST: AQ", baseline=30, target=20, higher_is_better=False,
                  label_vi="Bụi PM2,5 trung bình năm", label_en="Annual mean PM2.5", unit="µg/m³")
    h.make_target(g1, "NO: SUCH", baseline=1, target=2)
    h.make_target(g2, "test.online", baseline=20, target=60, label_vi="Dịch vụ trực tuyến")
    h.make_target(g2, "test.missing", baseline=10, target=20)
    h.make_target(g2, "test.quarterly", baseline=50, baseline_year=2025, target=75)
    return {"programme": programme, "aq": aq, "pm25": pm25, "pm10": pm10}


@pytest.mark.django_db
def test_evaluate_rows(city, plan):
    result = ev.evaluate(city, 2026)
    rows = {r.kpi_code: r for r in result.targets}
    assert len(rows) == 5

    online = rows["test.online"]
    assert (online.current, online.grain, online.progress, online.points) == (40.0, "year", 50.0, 2)
    assert online.projected == pytest.approx(40 * 2 ** (4 / 3))
    assert online.on_track is True and online.light == ev.GREEN
    assert (online.goal_code, online.goal_title_vi, online.goal_title_en) == ("G2", "Dịch vụ công",
                                                                                "Public services")

    aq = rows["TEST: AQ"]  # the component the label names (PM2,5 = PM2.5), not the first (PM10)
    assert aq.indicator_code == "test.pm25"
    assert aq.current == 27.0 and aq.progress == pytest.approx(30.0) and aq.points == 1
    assert aq.projected == pytest.approx(27 * 0.9 ** (4 / 3))
    assert aq.on_track is False and aq.light == ev.RED

    quarterly = rows["test.quarterly"]  # no yearly value: the latest quarter with a value (Q2)
    assert (quarterly.current, quarterly.grain, quarterly.period_start) == (80.0, "quarter",
                                                                            datetime.date(2026, 4, 1))
    assert quarterly.progress == pytest.approx(120.0) and quarterly.points == 4
    assert quarterly.light == ev.GREEN

    missing = rows["test.missing"]
    assert missing.found is True and missing.current is None and missing.points is None
    assert missing.light == ev.GREY

    unknown = rows["NO: SUCH"]
    assert unknown.found is False and unknown.light == ev.GREY and unknown.dimension == ""


@pytest.mark.django_db
def test_evaluate_rollups(city, plan):
    result = ev.evaluate(city, 2026)
    dims = {r.key: r for r in result.by_dimension}
    # Economy: online 2 + quarterly 4 points, missing one left out: 6 / 8 = 75 %.
    economy = dims["Economy"]
    assert (economy.count, economy.reported, economy.missing, economy.scored) == (3, 2, 1, 2)
    assert economy.score == pytest.approx(75.0) and economy.light == ev.AMBER
    assert dims["Environment"].score == pytest.approx(25.0) and dims["Environment"].light == ev.RED
    assert dims[""].score is None and dims[""].light == ev.GREY and dims[""].missing == 1
    assert [r.key for r in result.by_dimension][-1] == ""  # unclassified last
    goals = {r.key: r for r in result.by_goal}
    assert goals["G1"].score == pytest.approx(25.0) and goals["G1"].count == 2
    assert goals["G2"].score == pytest.approx(75.0)
    cats = {r.key: r for r in result.by_category}
    assert cats["Economy / ICT / Public Sector"].score == pytest.approx(75.0)
    subs = {r.key: r for r in result.by_sub_dimension}
    assert subs["Economy / Productivity"].scored == 0
    # Overall: (2 + 1 + 4) / (4·3) = 58.33 %.
    assert result.overall.score == pytest.approx(700 / 12)
    assert result.overall.count == 5


@pytest.mark.django_db
def test_u4ssc_code_prefers_an_approved_manual_value_then_the_first_component(city, plan):
    programme = plan["programme"]
    goal = h.make_goal(programme, "G3", "Khác", "Other")
    h.make_target(goal, "TEST: AQ", baseline=30, target=20, higher_is_better=False,
                  label_vi="Chất lượng không khí")
    result = {(r.goal_code, r.kpi_code): r for r in ev.evaluate(city, 2026).targets}
    # No component named in the label: the first in catalogue order (PM10, order 10).
    assert result[("G3", "TEST: AQ")].indicator_code == "test.pm10"
    # A pending manual value does not count; an approved one of the U4SSC indicator wins.
    h.add_value(city, plan["aq"], 24.0, method=Value.Method.MANUAL, status=Value.Status.PENDING)
    assert ev.evaluate(city, 2026).targets[0].indicator_code == "test.pm25"
    h.add_value(city, plan["aq"], 25.0, method=Value.Method.MANUAL)
    rows = {(r.goal_code, r.kpi_code): r for r in ev.evaluate(city, 2026).targets}
    assert rows[("G1", "TEST: AQ")].indicator_code == "TEST: AQ"
    assert rows[("G1", "TEST: AQ")].current == 25.0
    assert rows[("G1", "TEST: AQ")].progress == pytest.approx(50.0)


@pytest.mark.django_db
def test_evaluate_other_year_and_other_city(city, other_city, plan):
    # 2025 has no values: every found target is missing (grey), none is zero.
    rows = ev.evaluate(city, 2025).targets
    assert all(r.current is None and r.light == ev.GREY for r in rows)
    assert ev.evaluate(other_city, 2026).is_empty


@pytest.mark.django_db
def test_no_programme_is_empty(city):
    result = ev.evaluate(city, 2026)
    assert result.is_empty and result.overall is None and result.by_dimension == []


@pytest.mark.django_db
def test_to_dict_is_json_and_round_trips(city, plan):
    result = ev.evaluate(city, 2026)
    data = json.loads(json.dumps(result.to_dict()))
    again = ev.Evaluation.from_dict(data)
    assert again.to_dict() == result.to_dict()
    assert again.targets[0].deadline == datetime.date(2030, 12, 31)
    assert math.isclose(again.overall.score, 700 / 12)
