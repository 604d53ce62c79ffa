"""Builders shared by the evaluation tests (test_evaluation, test_roi, test_benefits, test_evaluation_views):
a programme with goals and targets, a project, indicators and values, made with plain ORM calls so
nothing is audited before a test runs."""

from __future__ import annotations

import datetime

from dothi.kpis.models import Grain, Indicator, Value


def make_programme(city, code="dtm-2026-2030", **extra):
    from dothi.programme.models import Programme

    fields = {"title_vi": "Đề án đô thị thông minh", "title_en": "Smart-city master plan",
              "period_start": 2026, "period_end": 2030, **extra}
    return Programme.objects.create(city=city, code=code, **fields)


def make_goal(programme, code="G1", title_vi="Không khí trong lành", title_en="Clean air"):
    from dothi.programme.models import Goal

    return Goal.objects.create(city=programme.city, programme=programme, code=code, title_vi=title_vi,
                               title_en=title_en)


def make_target(goal, kpi_code, *, baseline, target, baseline_year=2023, deadline=datetime.date(2030, 12, 31),
                higher_is_better=True, label_vi="", label_en="", unit=""):
    from dothi.programme.models import Target

    return Target.objects.create(
        city=goal.city, goal=goal, kpi_code=kpi_code, label_vi=label_vi or kpi_code, label_en=label_en,
        unit=unit, baseline_value=baseline, baseline_year=baseline_year, target_value=target,
        deadline=deadline, higher_is_better=higher_is_better,
    )


def make_project(city, agency, code="flood-pilot", programme=None):
    from dothi.programme.models import Project

    programme = programme or make_programme(city)
    return Project.objects.create(
        city=city, programme=programme, code=code, title_vi="Thí điểm cảnh báo ngập",
        title_en="Flood warning pilot", kind="pilot", domain="disaster", agency=agency,
        starts_on=datetime.date(2026, 3, 1), ends_on=datetime.date(2027, 6, 30),
    )


def make_indicator(code, *, city=None, **extra):
    fields = {"source": Indicator.Source.PLATFORM, "kind": Indicator.Kind.PLATFORM, "name_vi": code,
              "name_en": code, **extra}
    return Indicator.objects.create(city=city, code=code, **fields)


def add_value(city, indicator, value, *, grain=Grain.YEAR, start=datetime.date(2026, 1, 1), commune=None,
              method=Value.Method.AUTO, status=Value.Status.APPROVED, **extra):
    from dothi.kpis import periods

    end = periods.period(grain, start).end
    return Value.objects.create(
        city=city, indicator=indicator, grain=grain, period_start=start, period_end=end, commune=commune,
        value=value, method=method, status=status, **extra,
    )
