"""Manual values: entered with a source (and evidence), approved by another council member, superseding
the previous approved value and taking the place of the automatic one; bad input stores nothing."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from dothi.core.errors import Conflict, InvalidInput
from dothi.core.models import AuditEvent
from dothi.kpis import selectors, services
from dothi.kpis.models import Value
from tests.kpis.engine_fixtures import communes_fixture  # noqa: F401 - the `communes` fixture

pytestmark = pytest.mark.django_db
HIA = "EC: ICT: ICT: 1C"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"


def _enter(cast, city, **kw):
    args = {"actor": cast["agency_staff"], "city": city, "indicator": HIA, "period": "2025", "value": "78,4",
            "source": "Cục Thống kê"}
    args.update(kw)
    return services.enter_manual(**args)


def test_enter_approve_and_it_becomes_the_effective_value(city, cast):
    v = _enter(cast, city, evidence=SimpleUploadedFile("nien-giam.pdf", PDF, content_type="application/pdf"))
    assert (v.value, v.status, v.method, v.grain) == (78.4, "pending", "manual", "year")
    assert (v.period_start, v.period_end) == (date(2025, 1, 1), date(2026, 1, 1))
    assert v.evidence.name.endswith(".pdf")
    ind = selectors.indicator_by_code(city, HIA)
    assert selectors.effective_value(city, ind, "year", date(2025, 1, 1)) is None  # pending does not count
    services.decide_manual(actor=cast["council_member"], value=v, approve=True)
    v.refresh_from_db()
    assert v.status == "approved" and v.decided_by == cast["council_member"]
    assert selectors.effective_value(city, ind, "year", date(2025, 1, 1)).value == 78.4
    ops = {(e.action, e.details.get("operation")) for e in AuditEvent.objects.filter(city=city)}
    assert {("create", "kpis.manual.enter"), ("update", "kpis.manual.approve")} <= ops


def test_four_eyes(city, cast):
    v = _enter(cast, city, actor=cast["council_member"])
    with translation.override("en"), pytest.raises(PermissionDenied, match="another member of the council"):
        services.decide_manual(actor=cast["council_member"], value=v, approve=True)
    with pytest.raises(PermissionDenied):
        services.decide_manual(actor=cast["agency_manager"], value=v, approve=True)
    v.refresh_from_db()
    assert v.status == "pending"
    services.decide_manual(actor=cast["city_admin"], value=v, approve=True)
    with pytest.raises(Conflict):
        services.decide_manual(actor=cast["city_admin"], value=v, approve=False, note="late")


def test_supersede_and_reject(city, cast):
    first = _enter(cast, city, value=70)
    services.decide_manual(actor=cast["council_member"], value=first, approve=True)
    second = _enter(cast, city, value="72.5")
    services.decide_manual(actor=cast["council_member"], value=second, approve=True)
    third = _enter(cast, city, value=99)
    with pytest.raises(InvalidInput) as exc:
        services.decide_manual(actor=cast["council_member"], value=third, approve=False)  # no reason
    assert exc.value.field == "note"
    services.decide_manual(actor=cast["council_member"], value=third, approve=False, note="Sai nguồn")
    statuses = dict(Value.objects.filter(method="manual").values_list("value", "status"))
    assert statuses == {70.0: "superseded", 72.5: "approved", 99.0: "rejected"}
    ind = selectors.indicator_by_code(city, HIA)
    assert selectors.effective_value(city, ind, "year", date(2025, 1, 1)).value == 72.5
    assert [v.value for v in selectors.series(city, ind, "year")] == [72.5]


def test_approved_manual_wins_over_automatic(city, cast):
    ind = selectors.indicator_by_code(city, "reports.resolved_on_time")
    Value.objects.create(city=city, indicator=ind, grain="quarter", period_start=date(2026, 7, 1),
                         period_end=date(2026, 10, 1), value=60.0, method="auto")
    v = _enter(cast, city, indicator=ind.code, period="2026-Q3", value="65,5")
    assert selectors.effective_value(city, ind, "quarter", date(2026, 7, 1)).value == 60.0
    services.decide_manual(actor=cast["council_member"], value=v, approve=True)
    assert selectors.effective_value(city, ind, "quarter", date(2026, 7, 1)).value == 65.5


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"value": "abc"}, "value"),
        ({"value": "nan"}, "value"),
        ({"value": "inf"}, "value"),
        ({"value": ""}, "value"),
        ({"period": "2026-Q5"}, "period"),
        ({"period": "26-07"}, "period"),
        ({"source": "  "}, "source"),
        ({"indicator": "NO: SUCH: 1C"}, "indicator"),
        ({"commune": "26734"}, "commune"),  # another province
        ({"evidence": SimpleUploadedFile("x.exe", b"MZ")}, "evidence"),
        ({"evidence": SimpleUploadedFile("fake.pdf", b"not a pdf")}, "evidence"),
    ],
)
def test_bad_input_is_refused_and_nothing_stored(city, cast, communes, kw, field):
    with pytest.raises(InvalidInput) as exc:
        _enter(cast, city, **kw)
    assert exc.value.field == field
    assert not Value.objects.exists()


def test_evidence_too_big(city, cast):
    big = SimpleUploadedFile("big.pdf", b"%PDF" + b"0" * (10 * 1024 * 1024), content_type="application/pdf")
    with pytest.raises(InvalidInput) as exc:
        _enter(cast, city, evidence=big)
    assert exc.value.code == "file_too_big"
    assert not Value.objects.exists()


def test_ward_value_and_permission(city, cast, communes):
    v = _enter(cast, city, commune=communes["a"].pk, value="1.234,5")
    assert v.commune_id == "20194" and v.value == 1234.5
    with pytest.raises(PermissionDenied):
        _enter(cast, city, actor=cast["citizen"])


def test_publication(city, cast):
    with pytest.raises(PermissionDenied):
        services.set_publication(actor=cast["agency_staff"], city=city, indicator=HIA, published=True)
    services.set_publication(actor=cast["council_member"], city=city, indicator=HIA, published=True)
    assert [i.code for i in selectors.published(city)] == [HIA]
    services.save_city_indicator(actor=cast["city_admin"], city=city, indicator=HIA, note_vi="Ghi chú",
                                 is_published=False)
    assert not selectors.published(city).exists()
    assert AuditEvent.objects.filter(details__operation="kpis.publish").count() == 1
