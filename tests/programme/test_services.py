"""The programme services: the generic create/update/delete and its cleaners, permissions per role and per
project, the plan's workflow and versions, the progress roll-up, course completions and lessons."""

from __future__ import annotations

import datetime
import json

import pytest
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder

from dothi.core.errors import Conflict, InvalidInput, OutsideCity
from dothi.core.models import Agreement, AuditEvent
from dothi.programme import selectors, services
from dothi.programme.models import (
    BudgetLine,
    Goal,
    GoalProject,
    Lesson,
    Milestone,
    Phase,
    PlanVersion,
    Programme,
    Project,
    TrainingCompletion,
    TrainingCourse,
)
from tests import factories

D = datetime.date


def _counts():
    from django.apps import apps

    return {m.__name__: m.objects.count() for m in apps.get_app_config("programme").get_models()} | {
        "audit": AuditEvent.objects.count()
    }


def _milestone(project, progress=0, weight=1.0, done_on=None, **extra):
    return Milestone.objects.create(
        city=project.city,
        project=project,
        title_vi="Mốc",
        due_on=D(2026, 12, 31),
        progress=progress,
        weight=weight,
        done_on=done_on,
        **extra,
    )


# --- Validation: every refusal stores nothing -------------------------------------------------------------


@pytest.fixture
def refs(programme, project, goal, agency, other_city, foreign_agency):
    """What the invalid cases below refer to."""
    other_project = Project.objects.create(
        city=programme.city, programme=programme, code="lighting", title_vi="Chiếu sáng", agency=agency
    )
    other_phase = Phase.objects.create(
        city=programme.city,
        project=other_project,
        name_vi="Thí điểm",
        starts_on=D(2026, 1, 1),
        ends_on=D(2026, 6, 30),
    )
    foreign_programme = Programme.objects.create(
        city=other_city, code="hcm", title_vi="HCM", period_start=2026, period_end=2030
    )
    vendor = factories.make_agency(programme.city, "vnpt", name_vi="VNPT", kind="vendor")
    agreement = Agreement.objects.create(
        city=programme.city, organisation=agency, kind="service", title="Hợp đồng", starts_on=D(2026, 1, 1)
    )
    staff_elsewhere = factories.make_staff(other_city, "operator")
    return {
        "programme": programme,
        "project": project,
        "goal": goal,
        "other_phase": other_phase,
        "foreign_programme": foreign_programme,
        "foreign_agency": foreign_agency,
        "vendor": vendor,
        "agreement": agreement,
        "staff_elsewhere": staff_elsewhere,
    }


def R(name):
    return ("ref", name)


PROGRAMME_OK = {"code": "p2", "title_vi": "Đề án", "period_start": 2026, "period_end": 2030}
PROJECT_OK = {"programme": R("programme"), "code": "new", "title_vi": "Dự án", "agency": R("project.agency")}
BUDGET_OK = {"project": R("project"), "year": 2027, "source": "local_budget", "planned_vnd": 1_000}
MILESTONE_OK = {"project": R("project"), "title_vi": "Mốc", "due_on": D(2026, 9, 1)}
STAKE_OK = {"programme": R("programme"), "name": "VCCI", "kind": "enterprise", "influence": 3, "interest": 3}

INVALID = [
    # model, fields, the field the error names
    ("programme", {**PROGRAMME_OK, "period_end": 2025}, "period_end"),
    ("programme", {**PROGRAMME_OK, "period_start": 1800}, "period_start"),
    ("programme", {**PROGRAMME_OK, "code": "có dấu"}, "code"),
    ("programme", {**PROGRAMME_OK, "title_vi": "  "}, "title_vi"),
    ("programme", {**PROGRAMME_OK, "title_vi": "x" * 301}, "title_vi"),
    ("programme", {**PROGRAMME_OK, "status": "approved"}, "status"),
    ("programme", {**PROGRAMME_OK, "is_published": "yes"}, "is_published"),
    ("programme", {k: v for k, v in PROGRAMME_OK.items() if k != "period_end"}, "period_end"),
    ("goal", {"programme": R("foreign_programme"), "code": "G9", "title_vi": "Mục tiêu"}, "programme"),
    ("goal", {"programme": 987654, "code": "G9", "title_vi": "Mục tiêu"}, "programme"),
    (
        "assessment_item",
        {"programme": R("programme"), "area": "data", "question_vi": "?", "score": 6},
        "score",
    ),
    (
        "assessment_item",
        {"programme": R("programme"), "area": "data", "question_vi": "?", "score": 0},
        "score",
    ),
    ("assessment_item", {"programme": R("programme"), "area": "magic", "question_vi": "?"}, "area"),
    ("risk", {"programme": R("programme"), "title_vi": "Rủi ro", "likelihood": 0, "impact": 3}, "likelihood"),
    ("risk", {"programme": R("programme"), "title_vi": "Rủi ro", "likelihood": 2, "impact": 9}, "impact"),
    (
        "risk",
        {
            "programme": R("programme"),
            "title_vi": "R",
            "likelihood": 2,
            "impact": 2,
            "owner": R("foreign_agency"),
        },
        "owner",
    ),
    ("stakeholder", {**STAKE_OK, "influence": 7}, "influence"),
    ("stakeholder", {**STAKE_OK, "kind": "alien"}, "kind"),
    ("stakeholder", {**STAKE_OK, "mechanisms": ["forum", "party"]}, "mechanisms"),
    ("stakeholder", {**STAKE_OK, "mechanisms": "forum"}, "mechanisms"),
    ("project", {**PROJECT_OK, "starts_on": D(2027, 1, 1), "ends_on": D(2026, 1, 1)}, "ends_on"),
    ("project", {**PROJECT_OK, "agency": R("foreign_agency")}, "agency"),
    ("project", {**PROJECT_OK, "kind": "huge"}, "kind"),
    ("project", {**PROJECT_OK, "starts_on": "2026-13-45"}, "starts_on"),
    ("project", {**PROJECT_OK, "alternatives": "LoRaWAN"}, "alternatives"),
    (
        "project",
        {**PROJECT_OK, "alternatives": [{"option": "A", "chosen": True}, {"option": "B", "chosen": True}]},
        "alternatives",
    ),
    ("project", {**PROJECT_OK, "alternatives": [{"option": "A", "price": 3}]}, "alternatives"),
    ("project", {**PROJECT_OK, "alternatives": [{"pros": "cheap"}]}, "alternatives"),
    ("budget_line", {**BUDGET_OK, "planned_vnd": -1}, "planned_vnd"),
    ("budget_line", {**BUDGET_OK, "disbursed_vnd": -5}, "disbursed_vnd"),
    ("budget_line", {**BUDGET_OK, "year": 2031}, "year"),
    ("budget_line", {**BUDGET_OK, "source": "lottery"}, "source"),
    ("budget_line", {**BUDGET_OK, "planned_vnd": 1.5}, "planned_vnd"),
    ("milestone", {**MILESTONE_OK, "progress": 101}, "progress"),
    ("milestone", {**MILESTONE_OK, "weight": -1}, "weight"),
    ("milestone", {**MILESTONE_OK, "phase": R("other_phase")}, "phase"),
    ("milestone", {k: v for k, v in MILESTONE_OK.items() if k != "due_on"}, "due_on"),
    (
        "phase",
        {"project": R("project"), "name_vi": "P", "starts_on": D(2026, 5, 1), "ends_on": D(2026, 4, 1)},
        "ends_on",
    ),
    (
        "project_partner",
        {"project": R("project"), "organisation": R("foreign_agency"), "role": "vendor"},
        "organisation",
    ),
    (
        "project_partner",
        {"project": R("project"), "organisation": R("vendor"), "role": "vendor", "value_vnd": -1},
        "value_vnd",
    ),
    (
        "project_partner",
        {"project": R("project"), "organisation": R("vendor"), "role": "vendor", "agreement": R("agreement")},
        "agreement",
    ),
    ("team_member", {"programme": R("programme"), "name": "A", "user": R("staff_elsewhere")}, "user"),
    ("team_member", {"programme": R("programme"), "name": "A", "role": "king"}, "role"),
    (
        "target",
        {
            "goal": R("goal"),
            "kpi_code": "EN: AQ: 1C",
            "label_vi": "Bụi",
            "baseline_value": 40,
            "baseline_year": 2025,
            "target_value": 25,
            "deadline": D(2024, 12, 31),
        },
        "deadline",
    ),
    (
        "target",
        {
            "goal": R("goal"),
            "kpi_code": "EN: AQ: 1C",
            "label_vi": "Bụi",
            "baseline_value": "nhiều",
            "baseline_year": 2025,
            "target_value": 25,
            "deadline": D(2030, 12, 31),
        },
        "baseline_value",
    ),
    (
        "training_course",
        {
            "programme": R("programme"),
            "title_vi": "Khoá",
            "starts_on": D(2026, 5, 2),
            "ends_on": D(2026, 5, 1),
        },
        "ends_on",
    ),
    (
        "cooperation",
        {
            "programme": R("programme"),
            "kind": "asean",
            "partner": "ASCN",
            "title_vi": "Mạng",
            "since": D(2026, 1, 2),
            "until": D(2025, 1, 1),
        },
        "until",
    ),
    (
        "commitment",
        {"stakeholder": R("foreign_programme"), "text_vi": "Cam kết"},
        "stakeholder",
    ),
    ("lesson", {"project": R("project"), "title": "Bài học", "tags": ["ok", 3]}, "tags"),
    ("lesson", {"project": R("project"), "title": ""}, "title"),
]


def _resolve(value, refs):
    if isinstance(value, tuple) and value[0] == "ref":
        obj = refs
        for part in value[1].split("."):
            obj = obj[part] if isinstance(obj, dict) else getattr(obj, part)
        return obj
    return value


@pytest.mark.parametrize(
    ("model", "fields", "field"), INVALID, ids=[f"{c[0]}-{c[2]}-{i}" for i, c in enumerate(INVALID)]
)
def test_invalid_input_is_refused_and_nothing_stored(cast, refs, city, model, fields, field):
    fields = {name: _resolve(value, refs) for name, value in fields.items()}
    before = _counts()
    with pytest.raises(InvalidInput) as exc:
        services.create(actor=cast["council_member"], model=model, city=city, **fields)
    assert exc.value.field == field, exc.value.message
    assert exc.value.message  # a sentence for the person, not a code
    assert _counts() == before


def test_cross_city_is_an_outside_city_error(cast, refs, city):
    with pytest.raises(OutsideCity):
        services.create(
            actor=cast["council_member"],
            model="project",
            city=city,
            **{**{k: _resolve(v, refs) for k, v in PROJECT_OK.items()}, "agency": refs["foreign_agency"]},
        )


def test_unknown_model_and_parent_move_are_refused(cast, city, programme, goal):
    with pytest.raises(InvalidInput) as exc:
        services.create(actor=cast["council_member"], model="spaceship", city=city)
    assert exc.value.field == "model"
    with pytest.raises(InvalidInput) as exc:
        services.update(actor=cast["council_member"], obj=goal, programme=programme)
    assert exc.value.field == "programme"


def test_update_validates_against_the_stored_values(cast, project):
    with pytest.raises(InvalidInput) as exc:
        services.update(actor=cast["council_member"], obj=project, ends_on=D(2025, 1, 1))  # starts 2026-03-01
    assert exc.value.field == "ends_on"
    project.refresh_from_db()
    assert project.ends_on == D(2027, 6, 30)


def test_duplicate_code_is_a_conflict(cast, city, programme, goal):
    before = _counts()
    with pytest.raises(Conflict) as exc:
        services.create(
            actor=cast["council_member"],
            model="goal",
            city=city,
            programme=programme,
            code="G1",
            title_vi="Trùng",
        )
    assert exc.value.field == "code"
    assert _counts() == before


def test_create_update_delete_are_audited(cast, city, programme):
    council = cast["council_member"]
    swot = services.create(
        actor=council, model="SwotItem", city=city, programme=programme, quadrant="S", text_vi="  Cảng biển  "
    )
    assert swot.text_vi == "Cảng biển" and swot.city == city
    services.update(actor=council, obj=swot, quadrant="O")
    swot.refresh_from_db()
    assert swot.quadrant == "O"
    pk = swot.pk
    services.delete(actor=council, obj=swot)
    events = AuditEvent.objects.filter(object_type="programme.swotitem", object_id=str(pk)).order_by("pk")
    assert [e.action for e in events] == ["create", "update", "delete"]
    assert all(e.actor == council and e.city == city for e in events)
    assert events[1].details["fields"] == ["quadrant"]


def test_valid_rows_of_every_kind(cast, city, programme, project, goal, agency):
    council = cast["council_member"]
    vendor = factories.make_agency(city, "viettel", name_vi="Viettel", kind="vendor")
    agreement = Agreement.objects.create(
        city=city, organisation=vendor, kind="service", title="HĐ", starts_on=D(2026, 1, 1)
    )
    partner = services.create(
        actor=council,
        model="project_partner",
        city=city,
        project=project,
        organisation=vendor.pk,
        role="vendor",
        agreement=agreement,
        value_vnd="5000000",
    )
    assert partner.value_vnd == 5_000_000 and partner.organisation == vendor
    stakeholder = services.create(
        actor=council,
        model="stakeholder",
        city=city,
        programme=programme,
        name="ĐH",
        kind="university",
        influence=4,
        interest=5,
        mechanisms=["forum", "forum", "survey"],
    )
    assert stakeholder.mechanisms == ["forum", "survey"]
    updated = services.update(
        actor=council,
        obj=project,
        alternatives=[{"option": "LoRaWAN", "pros": "rẻ", "cons": "", "chosen": True}, {"option": "NB-IoT"}],
    )
    assert updated.alternatives[1] == {"option": "NB-IoT", "pros": "", "cons": "", "chosen": False}
    challenge = services.create(
        actor=council,
        model="challenge",
        city=city,
        programme=programme,
        code="ch1",
        title_vi="Thách thức",
        description_vi="Mô tả",
        projects=[project.pk],
    )
    assert list(challenge.projects.all()) == [project]


def test_challenge_projects_of_another_programme_are_refused(cast, city, programme, agency):
    other = Programme.objects.create(city=city, code="old", title_vi="Cũ", period_start=2021, period_end=2025)
    old_project = Project.objects.create(city=city, programme=other, code="x", title_vi="X", agency=agency)
    with pytest.raises(InvalidInput) as exc:
        services.create(
            actor=cast["council_member"],
            model="challenge",
            city=city,
            programme=programme,
            code="c",
            title_vi="T",
            description_vi="M",
            projects=[old_project],
        )
    assert exc.value.field == "projects"


def test_an_approved_programme_is_not_deleted(cast, programme):
    Programme.objects.filter(pk=programme.pk).update(status="approved")
    programme.refresh_from_db()
    with pytest.raises(Conflict):
        services.delete(actor=cast["city_admin"], obj=programme)
    assert Programme.objects.filter(pk=programme.pk).exists()


# --- Permissions ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("council_member", True),
        ("city_admin", True),
        ("platform_admin", True),
        ("operator", False),
        ("agency_manager", False),
        ("agency_staff", False),
        ("citizen", False),
        ("anonymous", False),
    ],
)
def test_programme_edit_by_role(cast, city, programme, role, allowed):
    actor = cast[role]
    if allowed:
        goal = services.create(
            actor=actor, model="goal", city=city, programme=programme, code="G2", title_vi="X"
        )
        assert goal.pk
    else:
        before = _counts()
        with pytest.raises(PermissionDenied):
            services.create(
                actor=actor, model="goal", city=city, programme=programme, code="G2", title_vi="X"
            )
        assert _counts() == before


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("council_member", True),
        ("city_admin", True),
        ("agency_manager", True),
        ("agency_staff", True),
        ("other_agency_staff", False),
        ("operator", False),
        ("citizen", False),
        ("anonymous", False),
    ],
)
def test_project_children_by_role(cast, city, project, other_agency_staff, role, allowed):
    actor = other_agency_staff if role == "other_agency_staff" else cast[role]
    if allowed:
        milestone = services.create(
            actor=actor,
            model="milestone",
            city=city,
            project=project,
            title_vi="M",
            due_on=D(2026, 8, 1),
            progress=40,
        )
        services.update(actor=actor, obj=milestone, progress=60)
        lesson = services.lesson_save(actor=actor, project=project, title="Bài học")
        services.delete(actor=actor, obj=lesson)
        project.refresh_from_db()
        assert project.progress == 60
    else:
        before = _counts()
        with pytest.raises(PermissionDenied):
            services.create(
                actor=actor, model="milestone", city=city, project=project, title_vi="M", due_on=D(2026, 8, 1)
            )
        with pytest.raises(PermissionDenied):
            services.lesson_save(actor=actor, project=project, title="Bài học")
        with pytest.raises(PermissionDenied):
            services.update(actor=actor, obj=project, status="in_progress")
        assert _counts() == before


def test_staff_of_another_city_cannot_touch_a_project(city, other_city, project):
    outsider = factories.make_staff(other_city, "council_member")
    with pytest.raises(PermissionDenied):
        services.update(actor=outsider, obj=project, status="paused")


def test_the_agency_updates_its_project_but_not_the_councils_fields(cast, project, other_agency):
    staff = cast["agency_staff"]
    services.update(actor=staff, obj=project, status="in_progress", solution_vi="Cảm biến mực nước")
    project.refresh_from_db()
    assert project.status == "in_progress"
    for fields in ({"agency": other_agency}, {"is_published": True}, {"code": "renamed"}):
        with pytest.raises(PermissionDenied):
            services.update(actor=staff, obj=project, **fields)
    project.refresh_from_db()
    assert project.agency_id != other_agency.pk and not project.is_published and project.code == "flood-pilot"
    with pytest.raises(PermissionDenied):
        services.delete(actor=staff, obj=project)
    with pytest.raises(PermissionDenied):
        services.create(
            actor=cast["agency_manager"],
            model="project",
            city=project.city,
            programme=project.programme,
            code="mine",
            title_vi="Của tôi",
            agency=project.agency,
        )


def test_the_agency_reports_disbursement_only(cast, city, project):
    line = services.create(
        actor=cast["council_member"],
        model="budget_line",
        city=city,
        project=project,
        year=2026,
        source="local_budget",
        planned_vnd=2_000_000_000,
    )
    staff = cast["agency_staff"]
    services.update(actor=staff, obj=line, disbursed_vnd=750_000_000)
    line.refresh_from_db()
    assert line.disbursed_vnd == 750_000_000
    with pytest.raises(PermissionDenied):
        services.update(actor=staff, obj=line, planned_vnd=9)
    with pytest.raises(PermissionDenied):
        services.create(
            actor=staff,
            model="budget_line",
            city=city,
            project=project,
            year=2027,
            source="oda",
            planned_vnd=1,
        )
    with pytest.raises(PermissionDenied):
        services.delete(actor=staff, obj=line)
    assert BudgetLine.objects.filter(project=project).count() == 1


def test_risks_of_a_project_are_the_agencys_programme_risks_the_councils(cast, city, programme, project):
    staff = cast["agency_staff"]
    risk = services.create(
        actor=staff,
        model="risk",
        city=city,
        programme=programme,
        project=project,
        title_vi="Chậm giải ngân",
        likelihood=3,
        impact=4,
    )
    services.update(actor=staff, obj=risk, status="mitigating")
    with pytest.raises(PermissionDenied):
        services.update(actor=staff, obj=risk, project=None)  # making it a programme risk is the council's
    with pytest.raises(PermissionDenied):
        services.create(
            actor=staff,
            model="risk",
            city=city,
            programme=programme,
            title_vi="Chung",
            likelihood=1,
            impact=1,
        )


def test_can_update_project(cast, project, other_agency_staff, other_city):
    assert selectors.can_update_project(cast["agency_staff"], project)
    assert selectors.can_update_project(cast["agency_manager"], project)
    assert selectors.can_update_project(cast["council_member"], project)
    assert selectors.can_update_project(cast["platform_admin"], project)
    assert not selectors.can_update_project(other_agency_staff, project)
    assert not selectors.can_update_project(cast["operator"], project)
    assert not selectors.can_update_project(cast["citizen"], project)
    assert not selectors.can_update_project(None, project)
    # Staff of the same agency code in another city: still another agency.
    elsewhere = factories.make_staff(
        other_city, "agency_staff", organisation=factories.make_agency(other_city)
    )
    assert not selectors.can_update_project(elsewhere, project)


# --- The plan's workflow and versions ---------------------------------------------------------------------


def _to_submitted(actor, programme):
    services.programme_transition(actor=actor, programme=programme, status="consultation")
    return services.programme_transition(actor=actor, programme=programme, status="submitted")


def test_invalid_transitions_are_refused(cast, programme):
    council = cast["council_member"]
    for status in ("approved", "superseded", "draft", "nonsense"):
        with pytest.raises(InvalidInput) as exc:
            services.programme_transition(actor=council, programme=programme, status=status)
        assert exc.value.field == "status"
    programme.refresh_from_db()
    assert programme.status == "draft"
    with pytest.raises(PermissionDenied):
        services.programme_transition(
            actor=cast["agency_manager"], programme=programme, status="consultation"
        )


def test_approval_needs_the_decision(cast, programme, goal):
    council = cast["council_member"]
    _to_submitted(council, programme)
    before = _counts()
    with pytest.raises(InvalidInput) as exc:
        services.programme_transition(
            actor=council, programme=programme, status="approved", decision_date=D(2026, 5, 12)
        )
    assert exc.value.field == "decision_number"
    with pytest.raises(InvalidInput) as exc:
        services.programme_transition(
            actor=council, programme=programme, status="approved", decision_number="1234/QĐ-UBND"
        )
    assert exc.value.field == "decision_date"
    assert _counts() == before
    programme.refresh_from_db()
    assert programme.status == "submitted" and programme.version == 0


def test_approval_takes_a_version_and_supersedes_the_earlier_plan(cast, city, programme, goal, project):
    council = cast["council_member"]
    earlier = Programme.objects.create(
        city=city, code="dtm-2021-2025", title_vi="Cũ", period_start=2021, period_end=2025, status="approved"
    )
    foreign = Programme.objects.create(
        city=factories.make_city("hue"),
        code="hue",
        title_vi="Huế",
        period_start=2026,
        period_end=2030,
        status="approved",
    )
    _to_submitted(council, programme)
    approved = services.programme_transition(
        actor=council,
        programme=programme,
        status="approved",
        decision_number="1234/QĐ-UBND",
        decision_date="2026-05-12",
        decision_authority="UBND thành phố Đà Nẵng",
    )
    assert approved.status == "approved" and approved.decision_date == D(2026, 5, 12)
    assert approved.decision_number == "1234/QĐ-UBND" and approved.version == 1
    earlier.refresh_from_db()
    foreign.refresh_from_db()
    assert earlier.status == "superseded"
    assert foreign.status == "approved"  # another city's plan is not touched
    version = PlanVersion.objects.get(programme=programme)
    assert (version.number, version.status, version.created_by) == (1, "approved", council)
    expected = json.loads(json.dumps(selectors.plan_document(approved), cls=DjangoJSONEncoder))
    expected.pop("generated_at", None)
    assert {k: v for k, v in version.snapshot.items() if k != "generated_at"} == expected
    assert version.snapshot["programme"]["version"] == 1
    assert "1234/QĐ-UBND" in json.dumps(version.snapshot, ensure_ascii=False)
    assert AuditEvent.objects.filter(object_type="programme.programme", object_id=str(earlier.pk)).exists()
    assert AuditEvent.objects.filter(object_type="programme.planversion", object_id=str(version.pk)).exists()
    services.programme_transition(actor=council, programme=approved, status="superseded")
    for status in ("draft", "approved"):
        with pytest.raises(InvalidInput):
            services.programme_transition(actor=council, programme=approved, status=status)


def test_plan_versions_are_numbered_and_immutable(cast, city, programme, goal):
    council = cast["council_member"]
    first = services.plan_version_save(actor=council, programme=programme, note="Bản dự thảo 1")
    services.update(actor=council, obj=goal, title_vi="Mục tiêu đã đổi")
    second = services.plan_version_save(actor=council, programme=programme)
    assert (first.number, second.number) == (1, 2)
    programme.refresh_from_db()
    assert programme.version == 2
    first.refresh_from_db()
    assert "Mục tiêu đã đổi" not in json.dumps(first.snapshot, ensure_ascii=False)
    assert "Mục tiêu đã đổi" in json.dumps(second.snapshot, ensure_ascii=False)
    assert first.note == "Bản dự thảo 1" and first.status == "draft"
    with pytest.raises(InvalidInput):
        services.plan_version_save(actor=council, programme=programme, note="x" * 301)
    with pytest.raises(PermissionDenied):
        services.plan_version_save(actor=cast["operator"], programme=programme)
    with pytest.raises(InvalidInput):
        services.update(actor=council, obj=first, note="changed")  # versions are not edited
    assert PlanVersion.objects.filter(programme=programme).count() == 2


# --- Progress roll-up -------------------------------------------------------------------------------------


def test_progress_is_weighted_and_done_counts_full(project, goal):
    _milestone(project, progress=50, weight=2)
    _milestone(project, progress=20, weight=1, done_on=D(2026, 6, 1))  # done: counts 100
    _milestone(project, progress=90, weight=0)  # no weight: no say
    services.recompute_progress(project)
    project.refresh_from_db()
    goal.refresh_from_db()
    assert project.progress == pytest.approx((2 * 50 + 1 * 100) / 3, abs=0.01)  # 66.67
    assert goal.progress == pytest.approx(project.progress)


def test_zero_weights_and_no_milestones(project, goal):
    services.recompute_progress(project)
    project.refresh_from_db()
    assert project.progress == 0
    _milestone(project, progress=30, weight=0)
    _milestone(project, progress=60, weight=0)
    services.recompute_progress(project)
    project.refresh_from_db()
    assert project.progress == 45  # all weights zero: the plain mean


def test_goal_rolls_up_its_projects_by_contribution_weight(cast, city, programme, project, goal, agency):
    council = cast["council_member"]
    second = Project.objects.create(city=city, programme=programme, code="iot", title_vi="IoT", agency=agency)
    GoalProject.objects.filter(goal=goal, project=project).update(weight=3)
    # Through the services: each write of a milestone or a contribution recomputes.
    services.create(
        actor=council,
        model="milestone",
        city=city,
        project=project,
        title_vi="A",
        due_on=D(2026, 6, 1),
        progress=80,
    )
    services.create(
        actor=council,
        model="milestone",
        city=city,
        project=second,
        title_vi="B",
        due_on=D(2026, 6, 1),
        progress=20,
    )
    contribution = services.create(
        actor=council, model="goal_project", city=city, goal=goal, project=second, weight=1
    )
    goal.refresh_from_db()
    assert goal.progress == pytest.approx((3 * 80 + 1 * 20) / 4)  # 65
    services.update(actor=council, obj=contribution, weight=0)
    goal.refresh_from_db()
    assert goal.progress == pytest.approx(80)
    services.delete(actor=council, obj=contribution)
    services.delete(actor=council, obj=project)
    goal.refresh_from_db()
    assert goal.progress == 0  # no contributing project left


def test_milestone_writes_recompute(cast, city, project, goal):
    staff = cast["agency_staff"]
    a = services.create(
        actor=staff,
        model="milestone",
        city=city,
        project=project,
        title_vi="A",
        due_on=D(2026, 6, 1),
        progress=10,
        weight=1,
    )
    b = services.create(
        actor=staff,
        model="milestone",
        city=city,
        project=project,
        title_vi="B",
        due_on=D(2026, 9, 1),
        progress=30,
        weight=3,
    )
    project.refresh_from_db()
    assert project.progress == pytest.approx((10 + 3 * 30) / 4)  # 25
    services.update(actor=staff, obj=a, done_on=D(2026, 6, 2))
    a.refresh_from_db()
    assert a.progress == 100
    project.refresh_from_db()
    assert project.progress == pytest.approx((100 + 3 * 30) / 4)  # 47.5
    services.delete(actor=staff, obj=b)
    project.refresh_from_db()
    goal.refresh_from_db()
    assert project.progress == 100 and goal.progress == 100


# --- Courses and lessons ----------------------------------------------------------------------------------


def test_training_complete(cast, city, programme, agency, other_city):
    council = cast["council_member"]
    course = TrainingCourse.objects.create(
        city=city, programme=programme, title_vi="Dữ liệu mở", starts_on=D(2026, 3, 1), ends_on=D(2026, 3, 5)
    )
    done = services.training_complete(
        actor=council, course=course, user=cast["agency_staff"], completed_on=D(2026, 3, 5)
    )
    assert done.organisation == agency and done.city == city
    again = services.training_complete(
        actor=council, course=course, user=cast["agency_staff"], completed_on="2026-03-06"
    )
    assert again.pk == done.pk and again.completed_on == D(2026, 3, 6)
    assert TrainingCompletion.objects.count() == 1
    with pytest.raises(InvalidInput) as exc:
        services.training_complete(
            actor=council, course=course, user=cast["operator"], completed_on=D(2026, 2, 1)
        )
    assert exc.value.field == "completed_on"
    with pytest.raises(OutsideCity):
        services.training_complete(
            actor=council,
            course=course,
            user=factories.make_staff(other_city, "operator"),
            completed_on=D(2026, 3, 5),
        )
    with pytest.raises(PermissionDenied):
        services.training_complete(
            actor=cast["agency_staff"], course=course, user=cast["agency_staff"], completed_on=D(2026, 3, 5)
        )
    assert TrainingCompletion.objects.count() == 1
    assert AuditEvent.objects.filter(object_type="programme.trainingcompletion").count() == 2


def test_lesson_save_fills_the_search_key(cast, project):
    staff = cast["agency_staff"]
    lesson = services.lesson_save(
        actor=staff,
        project=project,
        title="Cảm biến ngập ở Đà Nẵng",
        worked="Cộng đồng tham gia",
        tags=["Lũ lụt"],
        is_shared=True,
    )
    assert lesson.search_key == "cam bien ngap o da nang cong dong tham gia lu lut"
    assert lesson.created_by == staff and lesson.city == project.city
    lesson = services.lesson_save(actor=staff, lesson=lesson, good_practice="Bảo trì định kỳ")
    lesson.refresh_from_db()
    assert lesson.search_key.endswith("bao tri dinh ky lu lut")
    assert Lesson.objects.filter(search_key__contains="da nang").count() == 1
    with pytest.raises(InvalidInput):
        services.lesson_save(actor=staff, title="Không có dự án")


def test_goal_deleted_with_programme_only_when_draft(cast, programme, goal):
    services.delete(actor=cast["city_admin"], obj=programme)
    assert not Goal.objects.filter(pk=goal.pk).exists()


def test_assessment_evidence_file(cast, city, programme):
    from django.core.files.uploadedfile import SimpleUploadedFile

    council = cast["council_member"]
    item = services.create(
        actor=council,
        model="assessment_item",
        city=city,
        programme=programme,
        area="ict",
        question_vi="Có trung tâm dữ liệu?",
        score=3,
        evidence_file=SimpleUploadedFile("bang-chung.pdf", b"%PDF-1.4 x"),
    )
    item.refresh_from_db()
    assert (
        item.evidence_file.name.startswith("programme/evidence/")
        and item.evidence_file.read() == b"%PDF-1.4 x"
    )
    with pytest.raises(InvalidInput) as exc:
        services.update(actor=council, obj=item, evidence_file=SimpleUploadedFile("empty.pdf", b""))
    assert exc.value.field == "evidence_file"
    with pytest.raises(InvalidInput) as exc:
        services.update(actor=council, obj=item, evidence_file="not a file")
    assert exc.value.field == "evidence_file"
