"""The programme's pages: the public transparency page shows only what is published; every staff page
opens for every staff role and is refused to others; the council creates a goal and a project through
the forms; the project's agency updates a milestone, another agency's staff is refused; exports
download; no page carries inline code."""

from __future__ import annotations

import datetime
import io

import openpyxl
import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from dothi.programme.models import Cooperation, Goal, Milestone, Project
from tests.security.harness import inline_code

pytestmark = pytest.mark.django_db

STAFF = {"agency_staff", "agency_manager", "operator", "council_member", "city_admin", "platform_admin"}
COUNCIL = {"council_member", "city_admin", "platform_admin"}

STAFF_PAGES = [
    "staff_home",
    "staff_plan",
    "staff_versions",
    "staff_team",
    "staff_swot",
    "staff_assessment",
    "staff_risks",
    "staff_stakeholders",
    "staff_goals",
    "staff_projects",
    "staff_timeline",
    "staff_vendors",
    "staff_challenges",
    "staff_training",
    "staff_cooperation",
    "staff_exports",
]


def url(name: str, *args) -> str:
    return reverse(f"programme:{name}", args=args)


def client_for(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def published(programme, goal, project):
    """The programme, goal and project published, plus an unpublished goal, project and cooperation."""
    programme.is_published = True
    programme.vision_vi = "Tầm nhìn công khai"
    programme.save()
    project.is_published = True
    project.save()
    Goal.objects.create(
        city=programme.city, programme=programme, code="G9", title_vi="Mục tiêu nội bộ", is_published=False
    )
    Project.objects.create(
        city=programme.city,
        programme=programme,
        code="secret",
        title_vi="Dự án mật",
        title_en="Secret project",
        agency=project.agency,
        starts_on=datetime.date(2027, 1, 1),
        ends_on=datetime.date(2028, 1, 1),
    )
    Cooperation.objects.create(
        city=programme.city,
        programme=programme,
        kind="asean",
        partner="ASCN",
        title_vi="Mạng lưới ASEAN",
        is_published=True,
    )
    Cooperation.objects.create(
        city=programme.city,
        programme=programme,
        kind="bilateral",
        partner="Hidden",
        title_vi="Hợp tác chưa công bố",
        is_published=False,
    )
    Milestone.objects.create(
        city=programme.city,
        project=project,
        title_vi="Lắp cảm biến",
        title_en="Sensors installed",
        due_on=datetime.date(2026, 9, 1),
        progress=40,
    )
    return programme


def test_public_page_shows_only_what_is_published(cast, published, project):
    response = client_for(None).get(url("public"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Smart-city master plan 2026–2030" in body and "Flood warning pilot" in body
    assert "Tầm nhìn công khai" in body and "Less flooding" in body and "ASCN" in body
    assert "Secret project" not in body and "Mục tiêu nội bộ" not in body and "Hidden" not in body
    assert "data-gantt" in body and inline_code(body) == []
    assert client_for(None).get(url("project", "flood-pilot")).status_code == 200
    assert client_for(None).get(url("project", "secret")).status_code == 404
    plan = client_for(None).get(url("plan"))
    assert plan.status_code == 200 and "Secret project" not in plan.content.decode()


def test_unpublished_programme_is_not_public(cast, programme, project):
    response = client_for(None).get(url("public"))
    assert response.status_code == 200
    assert "has not published" in response.content.decode()
    assert "Flood warning pilot" not in response.content.decode()
    assert client_for(None).get(url("project", "flood-pilot")).status_code == 404
    assert client_for(None).get(url("plan")).status_code == 404


def test_lessons_search_accent_insensitive(cast, published, project):
    from dothi.programme.models import Lesson

    Lesson.objects.create(city=project.city, project=project, title="Cảnh báo ngập sớm", is_shared=True)
    Lesson.objects.create(city=project.city, project=project, title="Bài học nội bộ ngập", is_shared=False)
    body = client_for(None).get(url("lessons") + "?q=ngap").content.decode()
    assert "Cảnh báo ngập sớm" in body and "Bài học nội bộ" not in body
    body = client_for(None).get(url("lessons") + "?q=khongcogi").content.decode()
    assert "No lesson matches" in body


@pytest.mark.parametrize(
    "role", ["anonymous", "citizen", "agency_staff", "operator", "council_member", "platform_admin"]
)
def test_staff_pages_per_role(cast, role, published, project):
    client = client_for(cast[role])
    pages = [*[url(n) for n in STAFF_PAGES], url("staff_project", project.code), url("staff_plan_print")]
    for path in pages:
        response = client.get(path)
        if role in STAFF:
            assert response.status_code == 200, path
            assert inline_code(response.content.decode()) == [], path
        elif role == "anonymous":
            assert response.status_code == 302 and "signin" in response["Location"], path
        else:
            assert response.status_code == 403, path


def test_staff_home_without_a_programme(cast):
    response = client_for(cast["council_member"]).get(url("staff_home"))
    assert response.status_code == 200 and "Start the master plan" in response.content.decode()
    response = client_for(cast["operator"]).get(url("staff_home"))
    assert response.status_code == 200 and "Start the master plan" not in response.content.decode()


def test_council_creates_a_programme_goal_and_project_through_the_forms(cast, agency):
    client = client_for(cast["council_member"])
    response = client.post(
        url("staff_plan"),
        {
            "code": "dtm",
            "title_vi": "Đề án",
            "period_start": "2026",
            "period_end": "2030",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    response = client.post(
        url("staff_add", "goals"), {"code": "G1", "title_vi": "Giảm ngập", "order": "1", "is_published": "on"}
    )
    assert response.status_code == 302
    goal = Goal.objects.get(code="G1")
    assert goal.programme.code == "dtm" and goal.is_published
    response = client.post(
        url("staff_add", "projects"),
        {
            "code": "lighting",
            "title_vi": "Chiếu sáng thông minh",
            "kind": "pilot",
            "domain": "lighting",
            "agency": agency.pk,
            "investment_model": "state_budget",
            "status": "proposed",
            "starts_on": "2026-04-01",
            "ends_on": "2027-03-31",
        },
    )
    assert response.status_code == 302 and response["Location"] == url("staff_project", "lighting")
    project = Project.objects.get(code="lighting")
    response = client.post(
        url("staff_project_add", "lighting", "contribution"), {"goal": goal.pk, "weight": "2"}
    )
    assert response.status_code == 302 and project.contributions.get().weight == 2
    # The page shows it; a bad project (ends before it starts) is refused and nothing is stored.
    assert "Chiếu sáng thông minh" in client.get(url("staff_projects")).content.decode()
    response = client.post(
        url("staff_add", "projects"),
        {
            "code": "bad",
            "title_vi": "Sai",
            "kind": "pilot",
            "domain": "other",
            "agency": agency.pk,
            "investment_model": "state_budget",
            "status": "proposed",
            "starts_on": "2027-01-01",
            "ends_on": "2026-01-01",
        },
    )
    assert response.status_code in (400, 422) and not Project.objects.filter(code="bad").exists()


def test_operator_may_not_add(cast, programme):
    response = client_for(cast["operator"]).post(url("staff_add", "goals"), {"code": "G2", "title_vi": "x"})
    assert response.status_code == 403 and not Goal.objects.filter(code="G2").exists()


def test_agency_updates_its_milestone_other_agency_is_refused(cast, project, other_agency_staff):
    milestone = Milestone.objects.create(
        city=project.city, project=project, title_vi="Lắp đặt", due_on=datetime.date(2026, 9, 1), progress=10
    )
    edit = url("staff_item_edit", "milestone", milestone.pk)
    data = {"title_vi": "Lắp đặt", "due_on": "2026-09-01", "weight": "1", "progress": "60"}
    response = client_for(cast["agency_staff"]).post(edit, data)
    assert response.status_code == 302
    milestone.refresh_from_db()
    project.refresh_from_db()
    assert milestone.progress == 60 and project.progress == pytest.approx(60)
    # Another agency's staff: refused on the page and on the form, nothing changes.
    other = client_for(other_agency_staff)
    assert other.get(edit).status_code == 403
    assert other.post(edit, {**data, "progress": "5"}).status_code == 403
    assert (
        other.post(
            url("staff_project_add", project.code, "milestone"),
            {"title_vi": "X", "due_on": "2026-10-01", "weight": "1", "progress": "0"},
        ).status_code
        == 403
    )
    milestone.refresh_from_db()
    assert milestone.progress == 60 and project.milestones.count() == 1
    # The agency adds a milestone of its own project.
    response = client_for(cast["agency_manager"]).post(
        url("staff_project_add", project.code, "milestone"),
        {"title_vi": "Nghiệm thu", "due_on": "2027-06-01", "weight": "1", "progress": "0"},
    )
    assert response.status_code == 302 and project.milestones.count() == 2


def test_plan_approval_needs_a_decision(cast, programme):
    client = client_for(cast["city_admin"])
    for status in ("consultation", "submitted"):
        assert client.post(url("staff_plan_status"), {"status": status}).status_code == 302
    response = client.post(url("staff_plan_status"), {"status": "approved"})
    assert response.status_code in (400, 422)
    programme.refresh_from_db()
    assert programme.status == "submitted"
    response = client.post(
        url("staff_plan_status"),
        {
            "status": "approved",
            "decision_number": "1234/QĐ-UBND",
            "decision_date": "2026-05-12",
        },
    )
    assert response.status_code == 302
    programme.refresh_from_db()
    assert programme.status == "approved" and programme.versions.count() == 1
    assert "1234/QĐ-UBND" in client.get(url("staff_plan")).content.decode()


@pytest.mark.parametrize("table", ["projects", "milestones", "budget", "risks", "targets"])
def test_exports_download(cast, published, table):
    client = client_for(cast["operator"])
    from dothi.programme import exports

    if table not in exports.TABLES:
        pytest.skip(f"exports has no {table} table yet")
    csv_response = client.get(url("staff_export", table, "csv"))
    assert csv_response.status_code == 200 and csv_response["Content-Type"].startswith("text/csv")
    assert "attachment" in csv_response["Content-Disposition"]
    xlsx = client.get(url("staff_export", table, "xlsx"))
    assert xlsx.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert workbook.active.max_row >= 1
    if table == "projects":
        assert "flood-pilot" in csv_response.content.decode("utf-8-sig")
    assert client_for(cast["citizen"]).get(url("staff_export", table, "csv")).status_code == 403
    assert client.get(url("staff_export", "nothing", "csv")).status_code == 404
