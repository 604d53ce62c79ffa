"""The programme demo seeder: Đà Nẵng's approved programme 2026–2030 with everything the pages show,
progress computed by the services' roll-up, real indicator codes, a vendor-concentration warning; fast
and deterministic."""

from __future__ import annotations

import csv
import datetime as dt
import random
import time
from pathlib import Path

import pytest
from django.utils import timezone

from dothi.core.demo import DEMO_SEED, _seed_organisations, _seed_people
from dothi.core.manifests import registry
from dothi.core.models import Agreement
from dothi.programme import demo, selectors, services
from dothi.programme.models import (
    AssessmentItem,
    BudgetLine,
    Challenge,
    Cooperation,
    Goal,
    Lesson,
    Milestone,
    PlanVersion,
    Programme,
    Project,
    ProjectPartner,
    Risk,
    Stakeholder,
    SwotItem,
    Target,
    TeamMember,
    TrainingCompletion,
)

pytestmark = pytest.mark.django_db
SEED_BUDGET_S = 2
NOW = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)
CATALOGUE = Path(__file__).resolve().parents[3] / "shared" / "data" / "u4ssc_kpis.csv"


@pytest.fixture
def demo_city(city):
    orgs = _seed_organisations(city, NOW)
    _seed_people(city, orgs, random.Random(DEMO_SEED), NOW)
    return city


def _seed(city, now=NOW):
    demo.seed(city=city, rng=random.Random(f"{DEMO_SEED}:programme"), now=now)


def _fingerprint(city):
    return (
        sorted(Project.objects.for_city(city).values_list("code", "status", "progress", "is_published")),
        sorted(
            BudgetLine.objects.for_city(city).values_list(
                "project__code", "year", "source", "kind", "planned_vnd", "disbursed_vnd"
            )
        ),
        sorted(Milestone.objects.for_city(city).values_list("title_vi", "progress", "done_on")),
        sorted(Goal.objects.for_city(city).values_list("code", "progress")),
    )


def test_the_manifest_seeds_after_the_layers():
    names = [name for name, _seeder in registry.seeders()]
    assert "programme" in names
    assert names.index("programme") > names.index("layers")


def test_seed_is_complete_fast_and_approved(demo_city):
    started = time.perf_counter()
    _seed(demo_city)
    elapsed = time.perf_counter() - started
    assert elapsed < SEED_BUDGET_S, f"the programme demo took {elapsed:.2f} s"

    programme = selectors.programme_of(demo_city, public=True)
    assert (programme.period_start, programme.period_end) == (2026, 2030)
    assert programme.status == Programme.Status.APPROVED and programme.is_published
    assert programme.decision_number and programme.decision_date == dt.date(2026, 5, 12)
    # Approving took version 1 of the plan, a snapshot with the goals and projects in it.
    version = PlanVersion.objects.get(programme=programme)
    assert version.number == programme.version == 1 and version.status == "approved"
    assert len(version.snapshot["goals"]) == 5 and version.snapshot["projects"]

    assert TeamMember.objects.filter(
        programme=programme, role="innovation_manager", user__isnull=False
    ).exists()
    assert set(SwotItem.objects.filter(programme=programme).values_list("quadrant", flat=True)) == set("SWOT")
    assert set(AssessmentItem.objects.filter(programme=programme).values_list("area", flat=True)) == {
        c for c, _ in AssessmentItem.Area.choices
    }
    assert Risk.objects.filter(programme=programme).count() >= 5
    assert Stakeholder.objects.filter(programme=programme, commitments__isnull=False).exists()
    assert Goal.objects.filter(programme=programme).count() == 5
    assert Challenge.objects.get(programme=programme).projects.exists()
    assert TrainingCompletion.objects.filter(course__programme=programme, organisation__isnull=False).exists()
    assert Cooperation.objects.filter(programme=programme, kind="asean").exists()
    assert Lesson.objects.filter(project__programme=programme, is_shared=True).count() == 1
    assert all(Lesson.objects.filter(project__programme=programme).values_list("search_key", flat=True))


def test_projects_pilot_to_scale_up_with_budget_and_partners(demo_city):
    _seed(demo_city)
    projects = {p.code: p for p in Project.objects.for_city(demo_city)}
    assert {
        "canh-bao-ngap-thi-diem",
        "canh-bao-ngap-mo-rong",
        "chieu-sang-thong-minh",
        "phan-anh-hien-truong",
        "ioc-nen-tang-du-lieu",
        "mang-quan-trac-khong-khi",
    } == set(projects)
    assert projects["canh-bao-ngap-mo-rong"].scaled_from == projects["canh-bao-ngap-thi-diem"]
    partners = set(ProjectPartner.objects.for_city(demo_city).values_list("organisation__code", flat=True))
    assert {"vnpt-da-nang", "viettel-da-nang", "dai-hoc-da-nang"} <= partners
    assert Agreement.objects.filter(city=demo_city, value_vnd__gt=0).count() >= 4
    lines = BudgetLine.objects.for_city(demo_city)
    assert (
        lines.filter(disbursed_vnd__gt=0).exists() and lines.filter(year__gt=2026, disbursed_vnd=0).exists()
    )
    assert all(line.disbursed_vnd <= line.planned_vnd for line in lines)
    assert len(set(lines.values_list("source", flat=True))) >= 4
    # VNPT holds most of the data-platform domain: the concentration measure warns about it.
    concentration = selectors.vendor_concentration(selectors.programme_of(demo_city))
    assert "VNPT" in str(concentration) and "warning" in str(concentration)


def test_progress_is_the_services_roll_up(demo_city):
    _seed(demo_city)
    # By December 2026 the past milestones are done; the far ones not begun.
    assert (
        Milestone.objects.for_city(demo_city).filter(due_on__lt=NOW.date(), done_on__isnull=True).count() == 0
    )
    assert Milestone.objects.for_city(demo_city).filter(due_on__gt=dt.date(2028, 1, 1), progress=0).exists()
    before = _fingerprint(demo_city)
    for project in Project.objects.for_city(demo_city):
        services.recompute_progress(project)
    assert _fingerprint(demo_city) == before  # what the seeder stored is what the roll-up computes
    pilot = Project.objects.get(city=demo_city, code="canh-bao-ngap-thi-diem")
    assert 50 < pilot.progress < 100
    assert all(0 < g.progress < 100 for g in Goal.objects.for_city(demo_city))


def test_targets_use_real_indicator_codes(demo_city):
    _seed(demo_city)
    with CATALOGUE.open(encoding="utf-8") as fh:
        u4ssc = {row["code"] for row in csv.DictReader(fh)}
    platform = {c.code for c in registry.kpis()}
    codes = set(Target.objects.for_city(demo_city).values_list("kpi_code", flat=True))
    assert {"EN: EN: AQ: 1C", "EC: ICT: D: 1A", "reports.resolved_on_time"} <= codes
    for code in codes:
        if "." in code:
            assert not platform or code in platform, code
        else:
            assert code in u4ssc, code


def test_deterministic_and_dates_follow_now(demo_city, other_city):
    _seed(demo_city)
    first = _fingerprint(demo_city)
    orgs = _seed_organisations(other_city, NOW)
    from dothi.identity.models import Membership, User

    # The second city needs the demo's staff names: give it the same accounts' memberships.
    for m in Membership.objects.filter(city=demo_city):
        Membership.objects.create(
            city=other_city,
            user=m.user,
            role=m.role,
            organisation=orgs.get(m.organisation.code) if m.organisation else None,
        )
    assert User.objects.filter(username=demo.COUNCIL_USERNAME).exists()
    _seed(other_city)
    second = _fingerprint(other_city)
    assert first == second
    later = timezone.now().replace(year=2028, month=7, day=1)
    Programme.objects.filter(city=other_city).delete()
    _seed(other_city, now=later)
    assert Milestone.objects.for_city(other_city).filter(done_on__isnull=False).count() > sum(
        1 for row in first[2] if row[2] is not None
    )
