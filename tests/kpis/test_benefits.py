"""Benefits of projects (validation, permission, audit) and issued evaluation reports (frozen snapshots)."""

from __future__ import annotations

import datetime
import json

import pytest
from django.core.exceptions import PermissionDenied

from dothi.core.errors import InvalidInput, NotFound
from dothi.core.models import AuditEvent
from dothi.kpis import evaluation as ev
from dothi.kpis import services
from dothi.kpis.models import Benefit, Evaluation
from tests.kpis import eval_helpers as h

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "amount"),
    [("1.200.000", 1_200_000), ("1,200,000", 1_200_000), ("1 200 000", 1_200_000), ("1200000", 1_200_000),
     ("5.000.000 đ", 5_000_000), ("0", 0), (750, 750), (3.0, 3), ("12 VND", 12)],
)
def test_parse_vnd_accepts(text, amount):
    assert services.parse_vnd(text) == amount


@pytest.mark.parametrize("text", ["1.5", "1,5", "-100", "1.20.000", "1.200,000", "abc", "", 2.5, True, None,
                                  "1" + "0" * 19])
def test_parse_vnd_refuses(text):
    with pytest.raises(InvalidInput) as exc:
        services.parse_vnd(text)
    assert exc.value.field == "amount_vnd"


@pytest.fixture
def project(city, agency):
    return h.make_project(city, agency)


GOOD = {"project_code": "flood-pilot", "year": "2027", "amount_vnd": "2.500.000.000",
        "description_vi": "Giảm thiệt hại do ngập", "kind": "saving"}


def test_save_update_and_delete_benefit_audited(cast, city, project):
    council = cast["council_member"]
    row = services.save_benefit(actor=council, city=city, **GOOD)
    assert (row.project_code, row.year, row.amount_vnd) == ("flood-pilot", 2027, 2_500_000_000)
    assert row.entered_by == council
    services.save_benefit(actor=council, city=city, **{**GOOD, "amount_vnd": 100}, benefit=row.pk)
    row.refresh_from_db()
    assert row.amount_vnd == 100 and Benefit.objects.count() == 1
    services.delete_benefit(actor=council, city=city, benefit=row.pk)
    assert Benefit.objects.count() == 0
    actions = list(AuditEvent.objects.filter(object_type__contains="benefit").values_list("action", flat=True)
                   .order_by("pk"))
    assert actions == ["create", "update", "delete"]


@pytest.mark.parametrize(
    ("change", "field"),
    [({"project_code": "no-such"}, "project_code"), ({"project_code": ""}, "project_code"),
     ({"year": "1999"}, "year"), ({"year": "2101"}, "year"), ({"year": "abc"}, "year"),
     ({"amount_vnd": "-5"}, "amount_vnd"), ({"amount_vnd": "1,5"}, "amount_vnd"),
     ({"description_vi": "  "}, "description_vi"), ({"kind": "bribe"}, "kind"),
     ({"indicator_code": "no.such.indicator"}, "indicator_code")],
)
def test_bad_benefit_input_stores_nothing(cast, city, project, change, field):
    with pytest.raises(InvalidInput) as exc:
        services.save_benefit(actor=cast["council_member"], city=city, **{**GOOD, **change})
    assert exc.value.field == field and exc.value.status == 422
    assert Benefit.objects.count() == 0


def test_benefits_need_kpis_manage_and_stay_in_their_city(cast, city, other_city, project):
    for role in ("agency_staff", "agency_manager", "operator", "citizen"):
        with pytest.raises(PermissionDenied):
            services.save_benefit(actor=cast[role], city=city, **GOOD)
    assert Benefit.objects.count() == 0
    row = services.save_benefit(actor=cast["city_admin"], city=city, **GOOD)
    with pytest.raises(NotFound):
        services.delete_benefit(actor=cast["platform_admin"], city=other_city, benefit=row.pk)
    with pytest.raises(NotFound):
        services.delete_benefit(actor=cast["city_admin"], city=city, benefit="x")
    # The other city has no project of this code.
    with pytest.raises(InvalidInput):
        services.save_benefit(actor=cast["platform_admin"], city=other_city, **GOOD)


def test_issued_evaluation_is_frozen(cast, city, project):
    goal = h.make_goal(project.programme)
    ind = h.make_indicator("test.share", city=city, dimension="Economy")
    value = h.add_value(city, ind, 40.0)
    h.make_target(goal, "test.share", baseline=20, target=60)
    services.save_benefit(actor=cast["council_member"], city=city, **GOOD)
    row = services.issue_evaluation(actor=cast["council_member"], city=city, year=2026, title="Báo cáo 2026")
    snap = json.loads(json.dumps(row.snapshot))  # JSON-serialisable
    assert snap["evaluation"]["targets"][0]["current"] == 40.0
    assert snap["series"] == [{"2026": 40.0}]  # the chart's yearly values (baseline 2023, up to 2026)
    assert snap["evaluation"]["targets"][0]["progress"] == pytest.approx(50.0)
    assert snap["roi"]["rate"] == 8.0 and snap["roi"]["projects"][0]["total_benefit"] == 2_500_000_000
    assert (row.grain, row.period_start, row.period_end) == ("year", datetime.date(2026, 1, 1),
                                                             datetime.date(2027, 1, 1))
    # A later recomputation changes the live evaluation, not the issued one.
    value.value = 60.0
    value.save()
    assert ev.evaluate(city, 2026).targets[0].progress == pytest.approx(100.0)
    row.refresh_from_db()
    assert ev.Evaluation.from_dict(row.snapshot["evaluation"]).targets[0].progress == pytest.approx(50.0)
    assert AuditEvent.objects.filter(object_type__contains="evaluation", action="create").count() == 1


def test_issue_evaluation_validation_and_permission(cast, city):
    with pytest.raises(PermissionDenied):
        services.issue_evaluation(actor=cast["operator"], city=city, year=2026)
    with pytest.raises(InvalidInput) as exc:
        services.issue_evaluation(actor=cast["council_member"], city=city, year="năm ngoái")
    assert exc.value.field == "year"
    with pytest.raises(InvalidInput) as exc:
        services.issue_evaluation(actor=cast["council_member"], city=city, year=2026, rate="60")
    assert exc.value.field == "rate"
    assert Evaluation.objects.count() == 0
    row = services.issue_evaluation(actor=cast["council_member"], city=city, year=2026)  # no programme
    assert row.title_vi.endswith("2026")  # "Evaluation report 2026" in Vietnamese once translated
    assert row.title_en == "Evaluation report 2026"
    assert row.snapshot["evaluation"]["targets"] == []


def test_demo_seed_benefits_and_one_issued_report(city, agency):
    from dothi.kpis import demo_evaluation
    from dothi.programme.models import BudgetLine

    project = h.make_project(city, agency, code="canh-bao-ngap-thi-diem")
    BudgetLine.objects.create(city=city, project=project, year=2025, source="local_budget",
                              planned_vnd=10_000 * 1_000_000)
    h.make_project(city, agency, code="not-in-the-demo", programme=project.programme)
    now = datetime.datetime(2026, 7, 2, 3, 0, tzinfo=datetime.UTC)  # day 183 of 2026
    demo_evaluation.seed(city=city, rng=__import__("random").Random(1), now=now)
    benefits = list(Benefit.objects.for_city(city).order_by("year"))
    assert [b.project_code for b in benefits] == ["canh-bao-ngap-thi-diem"] * 2
    assert [b.year for b in benefits] == [2025, 2026]
    # 2025: 30 % of 10 billion, half (ramp-up) ± 10 %; 2026: the full 30 % × 183/366 of the year ± 10 %.
    assert 1_350_000_000 <= benefits[0].amount_vnd <= 1_650_000_000
    assert 1_350_000_000 <= benefits[1].amount_vnd <= 1_650_000_000
    issued = Evaluation.objects.get(city=city)
    assert issued.period_start == datetime.date(2025, 1, 1)
    assert issued.snapshot["roi"]["projects"][0]["code"] == "canh-bao-ngap-thi-diem"
