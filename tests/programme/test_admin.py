"""The programme admin: every model's pages render for a city administrator, only their city's rows,
references from another city refused, changes audited, progress recomputed when milestones change, and
plan versions read-only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dothi.core.models import AuditEvent
from dothi.programme import models

pytestmark = pytest.mark.django_db
MODELS = [
    "programme",
    "planversion",
    "teammember",
    "swotitem",
    "assessmentitem",
    "goal",
    "target",
    "project",
    "goalproject",
    "budgetline",
    "phase",
    "milestone",
    "projectpartner",
    "risk",
    "stakeholder",
    "commitment",
    "challenge",
    "trainingcourse",
    "trainingcompletion",
    "cooperation",
    "lesson",
]


@pytest.fixture
def admin_client(client, cast):
    client.force_login(cast["city_admin"])
    client.cookies["dothi_language"] = "en"
    return client


@pytest.fixture
def version(programme, cast):
    return models.PlanVersion.objects.create(
        city=programme.city,
        programme=programme,
        number=1,
        status="approved",
        snapshot={"goals": []},
        note="v1",
    )


def test_every_model_is_registered_and_renders(admin_client, programme, project, version):
    from django.contrib import admin

    registered = {m._meta.model_name for m in admin.site._registry if m._meta.app_label == "programme"}
    assert registered == set(MODELS)
    for name in MODELS:
        assert admin_client.get(reverse(f"admin:programme_{name}_changelist")).status_code == 200, name
        if name != "planversion":
            assert admin_client.get(reverse(f"admin:programme_{name}_add")).status_code == 200, name
    page = admin_client.get(reverse("admin:programme_project_change", args=[project.pk]))
    assert page.status_code == 200 and project.code in page.content.decode()


def test_plan_versions_are_read_only(admin_client, version):
    assert admin_client.get(reverse("admin:programme_planversion_add")).status_code == 403
    url = reverse("admin:programme_planversion_change", args=[version.pk])
    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, {"note": "changed"}).status_code == 403
    delete = reverse("admin:programme_planversion_delete", args=[version.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    version.refresh_from_db()
    assert version.note == "v1"


def test_city_admin_sees_only_their_city(admin_client, programme, other_city):
    foreign = models.Programme.objects.create(
        city=other_city, code="hcm-plan", title_vi="Đề án HCM", period_start=2026, period_end=2030
    )
    body = admin_client.get(reverse("admin:programme_programme_changelist")).content.decode()
    assert programme.code in body and "hcm-plan" not in body
    url = reverse("admin:programme_programme_change", args=[foreign.pk])
    assert admin_client.get(url).status_code == 302  # "does not exist", back to the list


def _milestone_form(project, **overrides):
    data = {
        "city": project.city_id,
        "project": project.pk,
        "phase": "",
        "title_vi": "Lắp đặt",
        "title_en": "",
        "due_on": "2026-06-30",
        "done_on": "",
        "weight": "1",
        "progress": "40",
    }
    data.update(overrides)
    return data


def test_a_milestone_saved_here_is_audited_and_rolls_up(admin_client, project, goal):
    response = admin_client.post(reverse("admin:programme_milestone_add"), _milestone_form(project))
    assert response.status_code == 302, response.content.decode()[:2000]
    milestone = models.Milestone.objects.get(project=project)
    assert AuditEvent.objects.filter(
        action="create", object_id=str(milestone.pk), object_type__icontains="milestone"
    ).exists()
    project.refresh_from_db()
    goal.refresh_from_db()
    assert project.progress == 40.0 and goal.progress == 40.0
    url = reverse("admin:programme_milestone_change", args=[milestone.pk])
    admin_client.post(url, _milestone_form(project, done_on="2026-06-20"))
    project.refresh_from_db()
    assert project.progress == 100.0
    admin_client.post(reverse("admin:programme_milestone_delete", args=[milestone.pk]), {"post": "yes"})
    project.refresh_from_db()
    assert not models.Milestone.objects.exists() and project.progress == 0.0


def test_references_must_be_in_the_city_and_values_in_range(admin_client, programme, project, foreign_agency):
    form = {
        "city": project.city_id,
        "programme": programme.pk,
        "code": "p2",
        "title_vi": "Dự án 2",
        "title_en": "",
        "kind": "pilot",
        "domain": "other",
        "solution_vi": "",
        "solution_en": "",
        "alternatives": "[]",
        "agency": foreign_agency.pk,
        "investment_model": "state_budget",
        "status": "proposed",
        "starts_on": "",
        "ends_on": "",
        "scaled_from": "",
    }
    response = admin_client.post(reverse("admin:programme_project_add"), form)
    assert response.status_code == 200 and not models.Project.objects.filter(code="p2").exists()
    response = admin_client.post(
        reverse("admin:programme_project_add"),
        {**form, "agency": project.agency_id, "starts_on": "2027-01-01", "ends_on": "2026-01-01"},
    )
    assert response.status_code == 200 and not models.Project.objects.filter(code="p2").exists()
    response = admin_client.post(
        reverse("admin:programme_milestone_add"), _milestone_form(project, progress="140")
    )
    assert response.status_code == 200 and not models.Milestone.objects.exists()
    risk = {
        "city": project.city_id,
        "programme": programme.pk,
        "project": "",
        "title_vi": "Rủi ro",
        "title_en": "",
        "likelihood": "6",
        "impact": "2",
        "owner": "",
        "mitigation": "",
        "status": "open",
    }
    response = admin_client.post(reverse("admin:programme_risk_add"), risk)
    assert response.status_code == 200 and not models.Risk.objects.exists()
    response = admin_client.post(reverse("admin:programme_risk_add"), {**risk, "likelihood": "3"})
    assert response.status_code == 302 and models.Risk.objects.get().score == 6


def test_lesson_search_key_is_filled(admin_client, project):
    form = {
        "city": project.city_id,
        "project": project.pk,
        "title": "Khảo sát sóng di động",
        "worked": "",
        "did_not_work": "",
        "good_practice": "",
        "tags": '["ngập"]',
        "is_shared": "on",
    }
    response = admin_client.post(reverse("admin:programme_lesson_add"), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    lesson = models.Lesson.objects.get()
    assert "khao sat song di dong" in lesson.search_key and "ngap" in lesson.search_key
    body = admin_client.get(reverse("admin:programme_lesson_changelist"), {"q": "sóng"}).content.decode()
    assert "Khảo sát" in body
    assert lesson.created_by is not None
