"""The programme API under /api/v1/programme/ over HTTP (sessions with CSRF): the public reads only what
is published, staff read everything, the council writes, a project's agency updates its own project, and
bad input is a clear 4xx that stores nothing."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from dothi.core.models import AuditEvent
from dothi.programme.models import BudgetLine, Goal, Milestone, PlanVersion, Programme, Project, Risk

pytestmark = pytest.mark.django_db
BASE = "/c/danang/api/v1/programme/"


def api_client(user=None, language: str = "en") -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE=language)
    if user is not None:
        client.force_login(user)
    token = client.get("/c/danang/api/v1/identity/csrf").json()["csrf_token"]
    return client, token


def send(client, token, method: str, path: str, data=None):
    return client.generic(
        method,
        BASE + path,
        json.dumps(data if data is not None else {}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )


@pytest.fixture
def published(programme, goal, project):
    """The fixture programme published, with a second project that is not."""
    Programme.objects.filter(pk=programme.pk).update(is_published=True)
    Project.objects.filter(pk=project.pk).update(is_published=True)
    hidden = Project.objects.create(
        city=programme.city,
        programme=programme,
        code="secret-pilot",
        title_vi="Dự án chưa công bố",
        agency=project.agency,
    )
    Goal.objects.create(
        city=programme.city, programme=programme, code="G9", title_vi="Mục tiêu ẩn", is_published=False
    )
    programme.refresh_from_db()
    return programme, project, hidden


def test_public_reads_only_what_is_published(published):
    programme, project, hidden = published
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    doc = client.get(BASE).json()
    assert doc["public"] is True and doc["programme"]["code"] == programme.code
    assert "team" not in doc and "risks" not in doc  # the staff's part of the plan
    assert [g["code"] for g in client.get(BASE + "goals").json()] == ["G1"]
    assert [p["code"] for p in client.get(BASE + "projects").json()] == [project.code]
    detail = client.get(BASE + f"projects/{project.code}").json()
    assert detail["code"] == project.code and "risks" not in detail and "alternatives" not in detail
    assert client.get(BASE + f"projects/{hidden.code}").status_code == 404
    timeline = client.get(BASE + "timeline").json()
    assert [row["code"] for row in timeline["rows"]] == [project.code]
    # Staff-only reads refuse the public.
    assert client.get(BASE + "overview").status_code == 401
    assert client.get(BASE + "records/risks").status_code == 401


def test_an_unpublished_programme_is_not_found_by_the_public(programme, cast):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.get(BASE)
    assert response.status_code == 404 and response.json()["message"]
    citizen, _token = api_client(cast["citizen"])
    assert citizen.get(BASE + "projects").status_code == 404
    staff, _token = api_client(cast["agency_staff"])
    assert staff.get(BASE).status_code == 200


def test_staff_read_everything(published, cast):
    programme, project, hidden = published
    client, _token = api_client(cast["operator"])
    assert {p["code"] for p in client.get(BASE + "projects").json()} == {project.code, hidden.code}
    assert {g["code"] for g in client.get(BASE + "goals").json()} == {"G1", "G9"}
    detail = client.get(BASE + f"projects/{hidden.code}").json()
    assert detail["risks"] == [] and "lines" in detail["budget"]
    overview = client.get(BASE + "overview").json()
    assert overview["counts"]["projects"] == 2 and overview["programme"]["code"] == programme.code
    for path in (
        "budget",
        "vendors",
        "risk-matrix",
        "stakeholder-map",
        "lessons",
        "versions",
        "records/projects",
        "records/milestones",
        "records/goals",
    ):
        assert client.get(BASE + path).status_code == 200, path
    rows = client.get(BASE + "records/projects").json()
    assert {r["code"] for r in rows} == {project.code, hidden.code} and "progress" in rows[0]
    # A citizen is not staff.
    citizen, _token = api_client(cast["citizen"])
    assert citizen.get(BASE + "overview").status_code == 403
    assert citizen.get(BASE + "records/projects").status_code == 403


def test_council_creates_changes_and_deletes(programme, goal, project, cast):
    client, token = api_client(cast["council_member"])
    response = send(
        client,
        token,
        "POST",
        "records/risks",
        {
            "title_vi": "Chậm giải ngân",
            "likelihood": 3,
            "impact": 4,
            "project": project.pk,
        },
    )
    assert response.status_code == 201, response.json()
    risk = Risk.objects.get(pk=response.json()["id"])
    assert risk.programme == programme and risk.project == project  # the current programme by default
    response = send(client, token, "PATCH", f"records/risks/{risk.pk}", {"status": "mitigating"})
    assert response.status_code == 200 and response.json()["status"] == "mitigating"
    assert send(client, token, "DELETE", f"records/risks/{risk.pk}").status_code == 204
    assert not Risk.objects.filter(pk=risk.pk).exists()
    assert AuditEvent.objects.filter(object_type__icontains="risk").count() >= 3
    # The programme itself and its workflow.
    response = send(client, token, "PATCH", "", {"vision_en": "A liveable city", "is_published": True})
    assert response.status_code == 200, response.json()
    programme.refresh_from_db()
    assert programme.vision_en == "A liveable city" and programme.is_published
    assert send(client, token, "POST", "transition", {"status": "submitted"}).status_code == 200
    response = send(client, token, "POST", "transition", {"status": "approved"})
    assert response.status_code == 422 and response.json()["field"] == "decision_number"
    response = send(
        client,
        token,
        "POST",
        "transition",
        {
            "status": "approved",
            "decision_number": "12/QĐ-UBND",
            "decision_date": "2026-05-12",
        },
    )
    assert response.status_code == 200 and response.json()["status"] == "approved"
    versions = client.get(BASE + "versions").json()
    assert [v["number"] for v in versions] == [1]
    assert client.get(BASE + "versions/1").json()["snapshot"]["goals"]
    assert send(client, token, "POST", "versions", {"note": "after consultation"}).status_code == 201
    assert PlanVersion.objects.filter(programme=programme).count() == 2


def test_milestones_roll_up_into_progress(project, goal, cast):
    client, token = api_client(cast["council_member"])
    body = {"project": project.pk, "title_vi": "Lắp đặt", "due_on": "2026-06-30", "weight": 1, "progress": 50}
    first = send(client, token, "POST", "records/milestones", body)
    assert first.status_code == 201, first.json()
    send(client, token, "POST", "records/milestones", {**body, "title_vi": "Vận hành", "progress": 0})
    project.refresh_from_db()
    goal.refresh_from_db()
    assert project.progress == 25.0 and goal.progress == 25.0
    send(client, token, "PATCH", f"records/milestones/{first.json()['id']}", {"done_on": "2026-06-20"})
    project.refresh_from_db()
    assert project.progress == 50.0
    assert client.get(BASE + f"projects/{project.code}").json()["progress"] == 50.0


def test_agency_staff_update_their_project_only(project, cast, other_agency_staff):
    line = BudgetLine.objects.create(
        city=project.city, project=project, year=2026, source="local_budget", planned_vnd=1_000_000_000
    )
    staff, token = api_client(cast["agency_staff"])
    response = send(staff, token, "PATCH", f"records/projects/{project.pk}", {"status": "in_progress"})
    assert response.status_code == 200, response.json()
    response = send(
        staff,
        token,
        "POST",
        "records/milestones",
        {"project": project.pk, "title_vi": "Khảo sát", "due_on": "2026-04-01", "progress": 40},
    )
    assert response.status_code == 201
    response = send(staff, token, "PATCH", f"records/budget/{line.pk}", {"disbursed_vnd": 300_000_000})
    assert response.status_code == 200
    response = send(staff, token, "POST", "records/lessons", {"project": project.pk, "title": "Khảo sát sớm"})
    assert response.status_code == 201
    # ... but not what is the council's: the budget plan, the project's publication, a goal.
    response = send(staff, token, "PATCH", f"records/budget/{line.pk}", {"planned_vnd": 5})
    assert response.status_code == 403 and response.json()["message"]
    response = send(staff, token, "PATCH", f"records/projects/{project.pk}", {"is_published": True})
    assert response.status_code == 403
    assert send(staff, token, "POST", "records/goals", {"code": "G7", "title_vi": "x"}).status_code == 403
    line.refresh_from_db()
    project.refresh_from_db()
    assert line.planned_vnd == 1_000_000_000 and line.disbursed_vnd == 300_000_000
    assert project.status == "in_progress" and not project.is_published
    assert not Goal.objects.filter(code="G7").exists()
    # Another agency's officer may not touch the project.
    other, token = api_client(other_agency_staff)
    response = send(other, token, "PATCH", f"records/projects/{project.pk}", {"status": "paused"})
    assert response.status_code == 403
    response = send(
        other,
        token,
        "POST",
        "records/milestones",
        {"project": project.pk, "title_vi": "Không được", "due_on": "2026-04-01"},
    )
    assert response.status_code == 403
    assert not Milestone.objects.filter(title_vi="Không được").exists()
    # The operator reads but does not write.
    operator, token = api_client(cast["operator"])
    assert (
        send(operator, token, "PATCH", f"records/projects/{project.pk}", {"status": "paused"}).status_code
        == 403
    )
    project.refresh_from_db()
    assert project.status == "in_progress"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("records/risks", {"title_vi": "x", "likelihood": 7, "impact": 2}, "likelihood"),
        ("records/risks", {"title_vi": "x", "likelihood": 2}, "impact"),
        ("records/goals", {"code": "G2", "title_vi": "x", "colour": "red"}, "colour"),
        ("records/projects", {"code": "p2", "title_vi": "x", "agency": 999_999}, "agency"),
        ("records/milestones", {"title_vi": "x", "due_on": "2026-13-40", "project": None}, "project"),
        ("records/budget", {"year": 2026, "source": "local_budget", "planned_vnd": -5}, "project"),
        (
            "records/stakeholders",
            {
                "name": "x",
                "kind": "enterprise",
                "influence": 3,
                "interest": 3,
                "mechanisms": ["carrier pigeon"],
            },
            "mechanisms",
        ),
    ],
)
def test_bad_input_is_a_clear_4xx_and_stores_nothing(programme, project, cast, path, body, field):
    client, token = api_client(cast["council_member"])
    before = AuditEvent.objects.count()
    counts = (Risk.objects.count(), Goal.objects.count(), Project.objects.count(), Milestone.objects.count())
    response = send(client, token, "POST", path, body)
    assert 400 <= response.status_code < 500
    payload = response.json()
    assert payload["message"] and payload.get("field") == field, payload
    assert (
        Risk.objects.count(),
        Goal.objects.count(),
        Project.objects.count(),
        Milestone.objects.count(),
    ) == counts
    assert AuditEvent.objects.count() == before


def test_bad_dates_and_foreign_rows_are_refused(project, cast, foreign_agency):
    client, token = api_client(cast["council_member"])
    response = send(
        client,
        token,
        "POST",
        "records/milestones",
        {"project": project.pk, "title_vi": "x", "due_on": "2026-13-40"},
    )
    assert response.status_code == 422 and response.json()["field"] == "due_on"
    response = send(client, token, "PATCH", f"records/projects/{project.pk}", {"agency": foreign_agency.pk})
    assert 400 <= response.status_code < 500 and response.json()["field"] == "agency"
    project.refresh_from_db()
    assert project.agency_id != foreign_agency.pk
    # A record of another programme or city is not found; so is an unknown id.
    assert send(client, token, "PATCH", "records/milestones/999999", {"progress": 5}).status_code == 404
    response = client.generic(
        "POST", BASE + "records/risks", "not json", content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert 400 <= response.status_code < 500


def test_writes_need_csrf(project, cast):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast["council_member"])
    response = client.patch(
        BASE + f"records/projects/{project.pk}",
        json.dumps({"status": "paused"}),
        content_type="application/json",
    )
    assert response.status_code in (401, 403)
    project.refresh_from_db()
    assert project.status != "paused"


@pytest.mark.parametrize(
    "role",
    ["anonymous", "citizen", "agency_staff", "operator", "council_member", "city_admin", "platform_admin"],
)
def test_route_walk_of_the_programme_api_and_admin(role, cast, published):
    """The security route walk (tests/security/test_routes.py), limited to this module's API operations and
    admin pages, on a city that has a published programme (so the reads answer 200, not 404)."""
    from tests.security.access import RULES
    from tests.security.harness import client_for, describe, is_refused, rule_for
    from tests.security.test_routes import _request, _targets

    user = cast[role]
    client = client_for(user)
    failures = []
    for key, method, path, body in _targets(client):
        if "/api/v1/programme/" not in key and not key.startswith("admin:programme_"):
            continue
        rule = rule_for(key, method)
        assert rule is not None, key
        response = _request(client, method, path, body)
        where = f"{method} {path} [{rule}] as {role}: {describe(response)}"
        if response.status_code >= 500:
            failures.append(f"server error: {where}")
        elif role not in RULES[rule] and not is_refused(response, key):
            failures.append(f"not refused: {where}")
        elif role in RULES[rule] and method == "GET" and response.status_code in (401, 403):
            failures.append(f"refused: {where}")
    assert not failures, "\n".join(failures)
