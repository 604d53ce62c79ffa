"""Fixtures of the programme module, reusable by every programme test: a city (`city`, Đà Nẵng) with a
draft programme 2026–2030, one goal, one project run by the cast's agency (`agency`, Sở Xây dựng) and
contributing to the goal, and a second agency with its own staff member.

Everything is created with plain ORM calls (no services), so tests of the services start from a known
state and nothing is audited before the test runs.
"""

from __future__ import annotations

import datetime

import pytest

from tests import factories


@pytest.fixture
def programme(city):
    from dothi.programme.models import Programme

    return Programme.objects.create(
        city=city,
        code="dtm-2026-2030",
        title_vi="Đề án phát triển đô thị thông minh 2026–2030",
        title_en="Smart-city master plan 2026–2030",
        period_start=2026,
        period_end=2030,
    )


@pytest.fixture
def goal(programme):
    from dothi.programme.models import Goal

    return Goal.objects.create(
        city=programme.city,
        programme=programme,
        code="G1",
        title_vi="Giảm ngập úng",
        title_en="Less flooding",
    )


@pytest.fixture
def project(programme, goal, agency):
    """A pilot run by `agency` (the agency of the cast's agency_staff and agency_manager), contributing
    to `goal` with weight 1."""
    from dothi.programme.models import GoalProject, Project

    project = Project.objects.create(
        city=programme.city,
        programme=programme,
        code="flood-pilot",
        title_vi="Thí điểm cảnh báo ngập",
        title_en="Flood warning pilot",
        kind=Project.Kind.PILOT,
        domain="disaster",
        agency=agency,
        starts_on=datetime.date(2026, 3, 1),
        ends_on=datetime.date(2027, 6, 30),
    )
    GoalProject.objects.create(goal=goal, project=project, weight=1.0)
    return project


@pytest.fixture
def other_agency(city):
    return factories.make_agency(
        city, "so-tttt", name_vi="Sở Thông tin và Truyền thông", name_en="Department of ICT"
    )


@pytest.fixture
def other_agency_staff(city, other_agency):
    """Agency staff of the city, but of another agency than the project's."""
    return factories.make_staff(city, "agency_staff", organisation=other_agency)


@pytest.fixture
def foreign_agency(other_city):
    """An organisation of the second city (for 'same city' checks)."""
    return factories.make_agency(other_city, "hcm-agency", name_vi="Sở HCM", name_en="HCM department")
