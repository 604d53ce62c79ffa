"""The programme's reads: hand-computed vendor shares and Herfindahl indices, budget sums, Gantt
fractions, public against staff visibility, accent-insensitive lessons search, the published targets."""

from __future__ import annotations

import datetime
import json

import pytest

from dothi.core.errors import NotFound
from dothi.core.manifests import registry
from dothi.core.models import Agreement, Organisation
from dothi.programme import selectors
from dothi.programme.models import (
    BudgetLine,
    Goal,
    Lesson,
    Milestone,
    Phase,
    Programme,
    Project,
    ProjectPartner,
    Risk,
    Stakeholder,
    Target,
    TeamMember,
)
from tests import factories

D = datetime.date


def vendor(city, code):
    return factories.make_agency(
        city, code, kind=Organisation.Kind.VENDOR, name_vi=code.upper(), agency_type=""
    )


def add_project(programme, agency, code, **extra):
    fields = {"title_vi": f"Dự án {code}", "domain": "lighting", "agency": agency}
    fields.update(extra)
    return Project.objects.create(city=programme.city, programme=programme, code=code, **fields)


def partner(project, org, value, role=ProjectPartner.Role.VENDOR, agreement=None):
    return ProjectPartner.objects.create(
        city=project.city, project=project, organisation=org, role=role, value_vnd=value, agreement=agreement
    )


def agreement(org, kind, value):
    return Agreement.objects.create(
        city=org.city,
        organisation=org,
        kind=kind,
        title=f"{kind} {org.code}",
        starts_on=D(2026, 1, 1),
        value_vnd=value,
    )


# --- programme_of ---------------------------------------------------------------------------------


def test_programme_of_prefers_the_approved_one_and_public_sees_published_only(city, other_city, programme):
    newer = Programme.objects.create(
        city=city, code="next", title_vi="Sau", period_start=2031, period_end=2035
    )
    assert selectors.programme_of(city) == newer  # no approved one: the newest current
    programme.status = Programme.Status.APPROVED
    programme.save()
    assert selectors.programme_of(city) == programme
    with pytest.raises(NotFound):
        selectors.programme_of(city, public=True)
    programme.is_published = True
    programme.save()
    assert selectors.programme_of(city, public=True) == programme
    with pytest.raises(NotFound):
        selectors.programme_of(other_city)


# --- vendor concentration ------------------------------------------------------------------------


def test_two_vendors_75_25_give_hhi_6250_and_a_warning(programme, agency):
    a, b = vendor(programme.city, "vnpt"), vendor(programme.city, "viettel")
    p1 = add_project(programme, agency, "light-1")
    p2 = add_project(programme, agency, "light-2")
    partner(p1, a, 600)
    partner(p2, a, 150)
    partner(p2, b, 250)
    partner(p1, factories.make_agency(programme.city, "uni"), 10_000, role=ProjectPartner.Role.RESEARCH)

    result = selectors.vendor_concentration(programme)

    assert result["threshold"] == 0.5
    [lighting] = result["domains"]
    assert lighting["domain"] == "lighting"
    assert lighting["total_vnd"] == 1000  # the research partner is no vendor
    assert [(v["name"], v["value_vnd"], v["share"]) for v in lighting["vendors"]] == [
        ("VNPT", 750, 0.75),
        ("VIETTEL", 250, 0.25),
    ]
    assert lighting["vendors"][0]["projects"] == ["light-1", "light-2"]
    assert lighting["hhi"] == 6250.0  # 75² + 25²
    assert lighting["top_share"] == 0.75
    assert lighting["warning"] is True
    assert result["warnings"] == 1


def test_an_even_split_has_no_warning_and_domains_are_separate(programme, agency):
    a, b = vendor(programme.city, "a"), vendor(programme.city, "b")
    partner(add_project(programme, agency, "l1"), a, 500)
    partner(add_project(programme, agency, "l2"), b, 500)
    partner(add_project(programme, agency, "t1", domain="transport"), a, 300)

    domains = {d["domain"]: d for d in selectors.vendor_concentration(programme)["domains"]}

    assert domains["lighting"]["hhi"] == 5000.0  # 50² + 50²
    assert domains["lighting"]["warning"] is False  # half is not more than half
    assert domains["transport"]["hhi"] == 10000.0
    assert domains["transport"]["warning"] is True


def test_unlinked_service_and_ppp_agreements_count_and_linked_or_mou_do_not(programme, agency):
    a, b = vendor(programme.city, "a"), vendor(programme.city, "b")
    linked = agreement(b, "service", 1_000_000)
    project = add_project(programme, agency, "l1")
    partner(project, a, 600)
    partner(add_project(programme, agency, "l2"), b, 200, agreement=linked)
    agreement(b, "service", 150)
    agreement(b, "ppp", 50)
    agreement(b, "mou", 9_999)
    agreement(vendor(programme.city, "c"), "service", 9_999)  # vendor of nothing in this programme

    [lighting] = selectors.vendor_concentration(programme)["domains"]

    # A 600, B 200 + 150 + 50 = 400: 60 % / 40 % -> 3600 + 1600.
    assert {v["name"]: v["value_vnd"] for v in lighting["vendors"]} == {"A": 600, "B": 400}
    assert lighting["hhi"] == 5200.0
    assert lighting["warning"] is True


def test_the_city_policy_sets_the_threshold(city, programme, agency):
    a, b = vendor(city, "a"), vendor(city, "b")
    partner(add_project(programme, agency, "l1"), a, 700)
    partner(add_project(programme, agency, "l2"), b, 300)
    city.settings = {"programme": {"vendor_share_warning": 0.8}}
    city.save()
    programme.refresh_from_db()

    result = selectors.vendor_concentration(programme)

    assert result["threshold"] == 0.8
    assert result["domains"][0]["warning"] is False
    assert selectors.vendor_concentration(programme, threshold=0.6)["domains"][0]["warning"] is True


def test_sensors_each_vendor_owns_come_from_the_sensing_module(city, programme, agency):
    from dothi.sensing.models import Sensor

    a, b = vendor(city, "a"), vendor(city, "b")
    partner(add_project(programme, agency, "l1"), a, 100)
    partner(add_project(programme, agency, "l2"), b, 100)
    for n, status in enumerate(["active", "offline", "retired"]):
        Sensor.objects.create(
            city=city, code=f"S{n}", name=f"S{n}", kind="air", lat=16.05, lon=108.2, owner=a, status=status
        )
    assert registry.provided("sensing.sensors_by_owner") is not None

    [lighting] = selectors.vendor_concentration(programme)["domains"]

    assert {v["name"]: v["sensors"] for v in lighting["vendors"]} == {"A": 2, "B": 0}


# --- budget, overview, timeline ------------------------------------------------------------------


def budget(project, year, source, kind, planned, disbursed=0):
    return BudgetLine.objects.create(
        city=project.city,
        project=project,
        year=year,
        source=source,
        kind=kind,
        planned_vnd=planned,
        disbursed_vnd=disbursed,
    )


def test_budget_table_sums_by_year_source_and_kind(programme, project, agency):
    other = add_project(programme, agency, "other")
    budget(project, 2026, "local_budget", "capex", 1_000, 400)
    budget(other, 2026, "local_budget", "capex", 500, 100)
    budget(project, 2026, "local_budget", "opex", 200, 200)
    budget(project, 2027, "ppp", "capex", 3_000, 0)

    table = selectors.budget_table(programme)

    assert [
        (r["year"], r["source"], r["kind"], r["planned_vnd"], r["disbursed_vnd"]) for r in table["rows"]
    ] == [
        (2026, "local_budget", "capex", 1_500, 500),
        (2026, "local_budget", "opex", 200, 200),
        (2027, "ppp", "capex", 3_000, 0),
    ]
    assert table["rows"][0]["rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert [(y["year"], y["planned_vnd"]) for y in table["by_year"]] == [(2026, 1_700), (2027, 3_000)]
    assert table["total"] == {"planned_vnd": 4_700, "disbursed_vnd": 700, "rate": round(700 / 4_700, 4)}


def test_overview_counts_budget_and_risks(programme, project, goal):
    budget(project, 2026, "oda", "capex", 900, 300)
    Risk.objects.create(city=programme.city, programme=programme, title_vi="Nhỏ", likelihood=1, impact=2)
    big = Risk.objects.create(
        city=programme.city, programme=programme, title_vi="Lớn", likelihood=5, impact=4
    )
    Risk.objects.create(
        city=programme.city, programme=programme, title_vi="Đóng", likelihood=5, impact=5, status="closed"
    )

    data = selectors.overview(programme)

    assert data["counts"]["projects"] == 1 and data["counts"]["pilots"] == 1
    assert data["counts"]["open_risks"] == 2
    assert data["budget"]["planned_vnd"] == 900 and data["budget"]["disbursed_vnd"] == 300
    assert data["budget"]["by_source"][0]["source"] == "oda"
    assert data["top_risks"][0] == big
    assert [g["code"] for g in data["goals"]] == ["G1"]
    assert data["projects_by_domain"] == [
        {"domain": "disaster", "label": str(Project(domain="disaster").get_domain_display()), "count": 1}
    ]


def test_timeline_fractions_of_the_period(programme, project):
    # 2026-01-01 .. 2031-01-01 is 1,826 days (2028 is a leap year).
    Phase.objects.create(
        city=programme.city,
        project=project,
        name_vi="Thí điểm",
        starts_on=D(2028, 1, 1),
        ends_on=D(2028, 12, 31),
    )
    Milestone.objects.create(city=programme.city, project=project, title_vi="Cuối", due_on=D(2030, 12, 31))
    add_project(programme, project.agency, "undated")
    add_project(programme, project.agency, "late", starts_on=D(2029, 1, 1), ends_on=D(2033, 12, 31))

    data = selectors.timeline(programme, today=D(2026, 7, 2))

    assert data["starts_on"] == "2026-01-01" and data["ends_on"] == "2030-12-31"
    rows = {r["code"]: r for r in data["rows"]}
    pilot = rows["flood-pilot"]
    assert pilot["start"] == round(59 / 1826, 4)  # 1 March 2026
    assert pilot["end"] == round(546 / 1826, 4)  # the day after 30 June 2027
    assert pilot["phases"][0]["start"] == round(730 / 1826, 4)
    assert pilot["phases"][0]["end"] == round(1096 / 1826, 4)
    assert pilot["milestones"][0]["at"] == round(1825 / 1826, 4)
    assert rows["late"]["end"] == 1.0  # clamped to the period
    assert rows["undated"]["start"] is None
    assert [y["year"] for y in data["years"]] == [2026, 2027, 2028, 2029, 2030]
    assert data["years"][1]["start"] == round(365 / 1826, 4)
    assert data["today"] == round(182 / 1826, 4)
    assert [r["code"] for r in selectors.timeline(programme, public=True)["rows"]] == []


# --- risk matrix, stakeholders -------------------------------------------------------------------


def test_risk_matrix_counts_and_stakeholder_quadrants(programme):
    city = programme.city
    for likelihood, impact in [(5, 4), (5, 4), (1, 1)]:
        Risk.objects.create(
            city=city, programme=programme, title_vi="R", likelihood=likelihood, impact=impact
        )
    Risk.objects.create(city=city, programme=programme, title_vi="R", likelihood=3, impact=3, status="closed")

    matrix = selectors.risk_matrix(programme)

    assert matrix["total"] == 3
    top = matrix["rows"][0]
    assert top["likelihood"] == 5 and top["cells"][3] == {
        "likelihood": 5,
        "impact": 4,
        "score": 20,
        "level": "danger",
        "count": 2,
    }
    assert matrix["rows"][4]["cells"][0]["count"] == 1
    assert selectors.risk_matrix(programme, include_closed=True)["rows"][2]["cells"][2]["count"] == 1

    ubnd = Stakeholder.objects.create(
        city=city, programme=programme, name="UBND", kind="government", influence=5, interest=5
    )
    Stakeholder.objects.create(
        city=city, programme=programme, name="Dân", kind="citizen_group", influence=1, interest=4
    )
    data = selectors.stakeholder_map(programme)
    quadrants = {q["key"]: [s.name for s in q["stakeholders"]] for q in data["quadrants"]}
    assert quadrants == {
        "manage_closely": ["UBND"],
        "keep_satisfied": [],
        "keep_informed": ["Dân"],
        "monitor": [],
    }
    assert data["grid"][0]["cells"][4]["stakeholders"] == [ubnd]
    assert selectors.stakeholder_map(programme, public=True)["total"] == 0


# --- lessons -------------------------------------------------------------------------------------


def lesson(project, title, *, shared=False, keyed=True):
    row = Lesson(city=project.city, project=project, title=title, is_shared=shared)
    if keyed:
        row.search_key = selectors.lesson_key(row)
    row.save()
    return row


def test_lessons_search_with_and_without_diacritics_and_shared_lessons(programme, project, other_city):
    hcm_prog = Programme.objects.create(
        city=other_city, code="hcm", title_vi="HCM", period_start=2026, period_end=2030
    )
    hcm_project = add_project(hcm_prog, factories.make_agency(other_city, "hcm-a"), "hcm-p")
    own = lesson(project, "Cảm biến ngập cần bảo trì")
    unkeyed = lesson(project, "Ngập úng đô thị", keyed=False)
    lesson(project, "Đèn thông minh")
    theirs = lesson(hcm_project, "Cảnh báo ngập qua Zalo", shared=True)
    lesson(hcm_project, "Ngập nội bộ", shared=False)

    with_marks = selectors.lessons_search(programme.city, "ngập")
    without = selectors.lessons_search(programme.city, "NGAP")

    assert {i["lesson"].pk for i in with_marks} == {own.pk, unkeyed.pk, theirs.pk}
    assert [i["lesson"].pk for i in with_marks] == [i["lesson"].pk for i in without]
    assert [i["is_own"] for i in with_marks] == [True, True, False]  # own first
    assert with_marks[-1]["city"] == other_city.name
    assert [i["lesson"] for i in selectors.lessons_search(programme.city, "ngap bao tri")] == [own]
    assert {
        i["lesson"].pk for i in selectors.lessons_search(programme.city, "ngap", include_shared=False)
    } == {
        own.pk,
        unkeyed.pk,
    }
    assert [i["lesson"] for i in selectors.lessons_search(programme.city, "ngap", public=True)] == [theirs]
    assert len(selectors.lessons_search(programme.city, "")) == 4


# --- plan document, project detail, targets --------------------------------------------------------


@pytest.fixture
def full_plan(programme, project, goal, agency):
    city = programme.city
    Target.objects.create(
        city=city,
        goal=goal,
        kpi_code="reports.resolved_on_time",
        label_vi="Xử lý đúng hạn",
        baseline_value=60,
        baseline_year=2025,
        target_value=90,
        deadline=D(2030, 12, 31),
    )
    Goal.objects.create(
        city=city, programme=programme, code="G9", title_vi="Mục tiêu nội bộ", is_published=False
    )
    project.is_published = True
    project.save()
    hidden = add_project(programme, agency, "secret-project", title_vi="Dự án chưa công bố")
    budget(project, 2026, "local_budget", "capex", 1_000, 250)
    budget(hidden, 2026, "local_budget", "capex", 7_000)
    Phase.objects.create(
        city=city, project=project, name_vi="Thí điểm", starts_on=D(2026, 3, 1), ends_on=D(2026, 12, 31)
    )
    partner(project, vendor(city, "vnpt"), 500)
    Risk.objects.create(city=city, programme=programme, title_vi="Rủi ro", likelihood=3, impact=3)
    TeamMember.objects.create(city=city, programme=programme, name="Nguyễn Văn A", role="innovation_manager")
    Stakeholder.objects.create(
        city=city,
        programme=programme,
        name="Công khai",
        kind="ngo",
        influence=2,
        interest=2,
        is_published=True,
    )
    Stakeholder.objects.create(
        city=city, programme=programme, name="Nội bộ", kind="ngo", influence=2, interest=2
    )
    programme.is_published = True
    programme.save()
    return programme


def test_plan_document_public_leaves_out_unpublished_parts(full_plan):
    staff = selectors.plan_document(full_plan)
    public = selectors.plan_document(full_plan, public=True)

    json.dumps(staff), json.dumps(public)  # both serialise
    assert [p["code"] for p in staff["projects"]] == ["flood-pilot", "secret-project"]
    assert [p["code"] for p in public["projects"]] == ["flood-pilot"]
    assert [g["code"] for g in staff["goals"]] == ["G1", "G9"]
    assert [g["code"] for g in public["goals"]] == ["G1"]
    assert public["goals"][0]["targets"][0]["kpi_code"] == "reports.resolved_on_time"
    assert [s["name"] for s in public["stakeholders"]] == ["Công khai"]
    assert len(staff["stakeholders"]) == 2
    for part in ("team", "risks", "swot", "assessment", "lessons", "training", "challenges"):
        assert part in staff and part not in public
    assert staff["team"][0]["role"] == "innovation_manager"
    pilot = public["projects"][0]
    assert pilot["budget"] == {"planned_vnd": 1_000, "disbursed_vnd": 250, "rate": 0.25}
    assert "lines" not in pilot["budget"] and "lines" in staff["projects"][0]["budget"]
    assert pilot["phases"][0]["starts_on"] == "2026-03-01"
    assert pilot["partners"][0]["organisation"] == "VNPT"
    assert public["budget"]["total"]["planned_vnd"] == 1_000
    assert staff["budget"]["total"]["planned_vnd"] == 8_000
    full_plan.is_published = False
    with pytest.raises(NotFound):
        selectors.plan_document(full_plan, public=True)


def test_project_detail_public_and_staff(city, other_city, full_plan):
    with pytest.raises(NotFound):
        selectors.project_detail(city, "secret-project", public=True)
    assert selectors.project_detail(city, "secret-project")["project"].code == "secret-project"
    with pytest.raises(NotFound):
        selectors.project_detail(other_city, "flood-pilot")
    public = selectors.project_detail(city, "flood-pilot", public=True)
    assert public["budget"]["planned_vnd"] == 1_000 and "lines" not in public["budget"]
    assert "risks" not in public
    staff = selectors.project_detail(city, "flood-pilot")
    assert len(staff["budget"]["lines"]) == 1 and len(staff["phases"]) == 1


def test_targets_are_published_to_the_kpi_module(city, other_city, full_plan):
    provided = registry.provided("programme.targets")
    assert provided is not None
    [target] = provided(city)
    assert target["kpi_code"] == "reports.resolved_on_time"
    assert target["goal"]["code"] == "G1" and target["programme"]["code"] == full_plan.code
    assert target["deadline"] == "2030-12-31"
    json.dumps(target)
    assert provided(other_city) == []
    full_plan.status = Programme.Status.SUPERSEDED
    full_plan.save()
    assert selectors.targets(city) == []
