"""The alerts services: manual workflow (draft, edit, approve with four eyes, reject, update, cancel),
the rules' services, subscriptions, "are you safe?" replies and expiry."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from dothi.alerts import cap, services
from dothi.alerts.models import (
    AlertRule,
    CapMessage,
    Fanout,
    PublicWarning,
    SafetyReply,
    Subscription,
    SubscriptionArea,
    WarningAttachment,
)
from dothi.core.errors import Conflict, InvalidInput, OutsideCity
from dothi.core.models import AuditEvent
from tests import factories
from tests.alerts.conftest import PDF_BYTES, square
from tests.reports.conftest import jpeg_bytes, png_bytes

S = PublicWarning.Status


def _counts():
    return (
        PublicWarning.objects.count(),
        CapMessage.objects.count(),
        Fanout.objects.count(),
        WarningAttachment.objects.count(),
        AuditEvent.objects.count(),
    )


def _audits(warning):
    return list(
        AuditEvent.objects.filter(object_type="alerts.publicwarning", object_id=str(warning.pk))
        .order_by("at", "pk")
    )


# --- Draft ---------------------------------------------------------------------------------------------


def test_draft_happy_path(ax, draft_warning):
    warning = draft_warning()
    assert warning.status == S.DRAFT
    assert warning.version == 0
    assert warning.source == PublicWarning.Source.MANUAL
    assert warning.category == ax.flood
    assert warning.issuer == ax.agency
    assert warning.created_by == ax.cast["agency_staff"]
    assert warning.commune_codes == [ax.commune_a.code]
    assert warning.min_lon is not None and warning.max_lat is not None
    assert warning.asks_safety is True  # a flood category that asks, and Severe
    assert warning.messages.count() == 0
    (event,) = _audits(warning)
    assert event.action == AuditEvent.Action.CREATE
    assert event.actor == ax.cast["agency_staff"]
    assert event.city == ax.city


@pytest.mark.parametrize(
    ("category", "severity", "given", "expected"),
    [
        ("flood", "Severe", None, True),
        ("flood", "Extreme", None, True),
        ("flood", "Moderate", None, False),
        ("storm", "Extreme", None, False),
        ("storm", "Minor", True, True),
        ("flood", "Severe", False, False),
    ],
)
def test_asks_safety_default(ax, draft_warning, category, severity, given, expected):
    warning = draft_warning(category=category, severity=severity, asks_safety=given)
    assert warning.asks_safety is expected


def test_draft_with_polygon(ax, draft_warning):
    warning = draft_warning(commune_codes=(), polygon=ax.polygon_a)
    assert ax.commune_a.code in warning.commune_codes
    assert warning.polygon["type"] == "Polygon"
    lat, lon = ax.point_a
    assert warning.min_lon == pytest.approx(lon - 0.002, abs=1e-6)


def test_naive_and_text_times_are_the_citys(ax, draft_warning):
    warning = draft_warning(effective_at="2030-01-02T08:00", expires_at="2030-01-02T20:00:00+07:00")
    warning.refresh_from_db()
    assert warning.effective_at == datetime(2030, 1, 2, 1, 0, tzinfo=UTC)
    assert warning.expires_at - warning.effective_at == timedelta(hours=12)


@pytest.mark.parametrize(
    "role", ["agency_staff", "agency_manager", "operator", "city_admin", "platform_admin"]
)
def test_draft_allowed_roles(ax, draft_warning, role):
    assert draft_warning(actor=ax.cast[role]).status == S.DRAFT


@pytest.mark.parametrize("role", ["anonymous", "citizen", "visitor", "council_member"])
def test_draft_refused_roles(ax, draft_warning, role):
    before = _counts()
    with pytest.raises(PermissionDenied):
        draft_warning(actor=ax.cast[role])
    assert _counts() == before


def test_draft_refused_to_another_citys_staff(ax, draft_warning, other_city):
    before = _counts()
    with pytest.raises(PermissionDenied):
        draft_warning(actor=factories.make_staff(other_city, "operator"))
    assert _counts() == before


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"category": "volcano"}, "category"),
        ({"category": ""}, "category"),
        ({"urgency": "Soon"}, "urgency"),
        ({"severity": "Catastrophic"}, "severity"),
        ({"certainty": "Maybe"}, "certainty"),
        ({"headline_vi": "   "}, "headline_vi"),
        ({"headline_en": "x" * 161}, "headline_en"),
        ({"description_vi": "bad\x00text"}, "description_vi"),
        ({"commune_codes": ["99999"]}, "commune_codes"),
        ({"commune_codes": ()}, "commune_codes"),
        ({"commune_codes": (), "polygon": {"type": "Point", "coordinates": [1, 2]}}, "polygon"),
        ({"effective_at": "yesterday-ish"}, "effective_at"),
        ({"asks_safety": "yes"}, "asks_safety"),
    ],
)
def test_draft_bad_input_stores_nothing(ax, draft_warning, overrides, field):
    before = _counts()
    with pytest.raises(InvalidInput) as exc:
        draft_warning(**overrides)
    assert exc.value.field == field
    assert exc.value.status == 422
    assert _counts() == before


def test_draft_expiry_not_after_effective(ax, draft_warning):
    now = timezone.now()
    before = _counts()
    for expires in (now, now - timedelta(minutes=5)):
        with pytest.raises(InvalidInput) as exc:
            draft_warning(effective_at=now, expires_at=expires)
        assert exc.value.field == "expires_at"
        assert exc.value.status == 422
    assert _counts() == before


def test_draft_area_outside_city(ax, draft_warning):
    before = _counts()
    with pytest.raises(OutsideCity) as exc:
        draft_warning(commune_codes=(), polygon=square(21.028, 105.854))
    assert exc.value.status == 422
    assert exc.value.field == "polygon"
    assert _counts() == before


def test_unknown_category_other_citys(ax, draft_warning, other_city):
    from dothi.alerts.models import AlertCategory

    AlertCategory.objects.create(city=other_city, code="tsunami", name_vi="Sóng thần")
    with pytest.raises(InvalidInput) as exc:
        draft_warning(category="tsunami")
    assert exc.value.field == "category"


def test_error_messages_in_the_users_language(ax, draft_warning):
    from django.utils import translation

    with translation.override("en"), pytest.raises(InvalidInput) as exc:
        draft_warning(expires_at=timezone.now() - timedelta(hours=1))
    assert "expiry" in exc.value.message


# --- Attachments ---------------------------------------------------------------------------------------


def test_attachments_stored_with_digests(ax, draft_warning):
    from django.core.files.uploadedfile import SimpleUploadedFile

    jpeg = jpeg_bytes()
    png = png_bytes()
    warning = draft_warning(attachments=[
        ("bulletin.pdf", PDF_BYTES, "Bản tin"),
        {"file": SimpleUploadedFile("track.png", png, content_type="text/plain"), "description": "Đường đi"},
        SimpleUploadedFile("photo.jpeg", jpeg),
    ])
    rows = list(warning.attachments.order_by("pk"))
    assert [a.mime_type for a in rows] == ["application/pdf", "image/png", "image/jpeg"]
    assert [a.description for a in rows] == ["Bản tin", "Đường đi", "photo.jpeg"]
    for row, data in zip(rows, (PDF_BYTES, png, jpeg), strict=True):
        assert row.size == len(data)
        assert row.sha256 == hashlib.sha256(data).hexdigest()
        assert row.sha1 == hashlib.sha1(data).hexdigest()  # noqa: S324
        row.file.open("rb")
        assert row.file.read() == data
        row.file.close()
    assert rows[0].file.name.endswith(".pdf")


@pytest.mark.parametrize(
    "item",
    [
        ("anim.gif", b"GIF89a" + b"\x00" * 20),
        ("run.exe", b"MZ\x90\x00" + b"\x00" * 50),
        ("fake.png", b"\x89PNG\r\n\x1a\n" + b"garbage"),
        ("broken.pdf", b"%PDF-1.4 no end"),
        ("empty.pdf", b""),
        ("nothing", None),
    ],
)
def test_bad_attachment_stores_nothing(ax, draft_warning, item):
    before = _counts()
    with pytest.raises(InvalidInput) as exc:
        draft_warning(attachments=[item])
    assert exc.value.field == "attachments"
    assert _counts() == before


def test_attachment_size_limit(ax, draft_warning):
    limit = services.ATTACHMENT_MAX_BYTES
    assert limit == 5 * 1024 * 1024
    too_big = b"%PDF-1.4\n" + b"0" * (limit - 9 - 6 + 1) + b"\n%%EOF"
    assert len(too_big) == limit + 1
    before = _counts()
    with pytest.raises(InvalidInput) as exc:
        draft_warning(attachments=[("big.pdf", too_big)])
    assert exc.value.code == "file_too_large"
    assert _counts() == before
    just_fits = too_big[:9] + too_big[10:]
    warning = draft_warning(attachments=[("fits.pdf", just_fits)])
    assert warning.attachments.get().size == limit


def test_too_many_attachments(ax, draft_warning):
    with pytest.raises(InvalidInput) as exc:
        draft_warning(attachments=[("a.pdf", PDF_BYTES)] * (services.MAX_ATTACHMENTS + 1))
    assert exc.value.code == "too_many_files"


# --- Edit ----------------------------------------------------------------------------------------------


def test_edit_draft(ax, draft_warning):
    warning = draft_warning()
    edited = services.warning_edit(
        actor=ax.cast["agency_staff"], warning=warning, headline_vi="Ngập sâu", severity="Moderate",
        attachments=[("b.pdf", PDF_BYTES)],
    )
    edited.refresh_from_db()
    assert edited.headline_vi == "Ngập sâu"
    assert edited.severity == "Moderate"
    assert edited.asks_safety is False  # follows the new severity
    assert edited.attachments.count() == 1
    assert edited.status == S.DRAFT
    last = _audits(warning)[-1]
    assert set(last.details["fields"]) >= {"headline_vi", "severity", "attachments"}


def test_edit_area_from_polygon(ax, draft_warning):
    warning = draft_warning(commune_codes=(), polygon=ax.polygon_a)
    services.warning_edit(actor=ax.cast["agency_staff"], warning=warning, polygon=square(*ax.point_b))
    warning.refresh_from_db()
    assert ax.commune_b.code in warning.commune_codes
    assert ax.commune_a.code not in warning.commune_codes  # the old polygon's communes are gone


def test_edit_remove_attachment(ax, draft_warning):
    warning = draft_warning(attachments=[("a.pdf", PDF_BYTES), ("b.png", png_bytes())])
    first = warning.attachments.order_by("pk").first()
    services.warning_edit(actor=ax.cast["agency_staff"], warning=warning, remove_attachments=[first.pk])
    assert list(warning.attachments.values_list("mime_type", flat=True)) == ["image/png"]


def test_edit_bad_input_changes_nothing(ax, draft_warning):
    warning = draft_warning()
    before = _counts()
    for fields in ({"expires_at": warning.effective_at}, {"severity": "Huge"}, {"colour": "red"},
                   {"headline_vi": "OK", "category": "nope"}):
        with pytest.raises(InvalidInput):
            services.warning_edit(actor=ax.cast["agency_staff"], warning=warning, **fields)
    warning.refresh_from_db()
    assert warning.headline_vi == "Cảnh báo ngập lụt"
    assert warning.severity == "Severe"
    assert _counts() == before


def test_edit_by_others(ax, draft_warning, other_city):
    warning = draft_warning()
    colleague = factories.make_staff(ax.city, "agency_staff", organisation=ax.agency)
    with pytest.raises(PermissionDenied):
        services.warning_edit(actor=colleague, warning=warning, headline_vi="x")
    for role in ("citizen", "council_member"):
        with pytest.raises(PermissionDenied):
            services.warning_edit(actor=ax.cast[role], warning=warning, headline_vi="x")
    with pytest.raises(PermissionDenied):
        services.warning_edit(actor=factories.make_staff(other_city, "city_admin"), warning=warning,
                              headline_vi="x")
    # A manager of the agency may fix the draft before approving it.
    services.warning_edit(actor=ax.cast["agency_manager"], warning=warning, headline_vi="Sửa")
    warning.refresh_from_db()
    assert warning.headline_vi == "Sửa"


def test_edit_published_refused(ax, publish_warning):
    warning = publish_warning()
    with pytest.raises(Conflict):
        services.warning_edit(actor=ax.cast["agency_staff"], warning=warning, headline_vi="x")
    with pytest.raises(Conflict):
        services.warning_edit(actor=ax.cast["operator"], warning=warning, headline_vi="x")
    warning.refresh_from_db()
    assert warning.headline_vi == "Cảnh báo ngập lụt"
    assert warning.version == 1


# --- Approve and reject --------------------------------------------------------------------------------


def test_approve_publishes_an_alert(ax, draft_warning, django_capture_on_commit_callbacks, monkeypatch):
    warning = draft_warning()
    ran = []
    monkeypatch.setattr("dothi.alerts.delivery.fanout_run", lambda fanout_id: ran.append(fanout_id))
    with django_capture_on_commit_callbacks() as callbacks:
        message = services.warning_approve(actor=ax.cast["agency_manager"], warning=warning)
    warning.refresh_from_db()
    assert warning.status == S.PUBLISHED
    assert warning.version == 1
    assert warning.approved_by == ax.cast["agency_manager"]
    assert warning.published_at is not None
    assert message.msg_type == CapMessage.MsgType.ALERT
    assert message.version == 1
    assert message.references == ""
    assert message.identifier == cap.identifier_for(ax.city, warning, 1)
    assert message.sender == cap.sender_for(ax.city)
    assert message.sent_at.microsecond == 0
    assert message.xml.startswith("<?xml") and message.identifier in message.xml
    fanout = Fanout.objects.get(message=message)
    assert fanout.status == Fanout.Status.QUEUED
    # The fan-out starts only when the transaction commits.
    assert ran == []
    assert len(callbacks) == 1
    callbacks[0]()
    assert ran == [fanout.pk]
    assert _audits(warning)[-1].actor == ax.cast["agency_manager"]


def test_effective_when_approved(ax, draft_warning):
    later = timezone.now() + timedelta(hours=1)
    unset = draft_warning(effective_at=None)
    assert unset.effective_at == unset.created_at
    services.warning_edit(actor=ax.cast["agency_staff"], warning=unset, headline_vi="Sửa", effective_at=None)
    explicit = draft_warning(effective_at=later)
    for warning in (unset, explicit):
        services.warning_approve(actor=ax.cast["agency_manager"], warning=warning)
        warning.refresh_from_db()
    assert unset.effective_at == unset.published_at > unset.created_at
    assert explicit.effective_at == later


def test_rollback_enqueues_nothing(ax, draft_warning, django_capture_on_commit_callbacks):
    from django.db import transaction

    warning = draft_warning()
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError):  # noqa: SIM117
        with transaction.atomic():
            services.warning_approve(actor=ax.cast["agency_manager"], warning=warning)
            raise RuntimeError
    assert callbacks == []
    assert CapMessage.objects.count() == 0
    warning.refresh_from_db()
    assert warning.status == S.DRAFT


def test_four_eyes(ax, draft_warning):
    for role in ("agency_manager", "operator", "city_admin", "platform_admin"):
        warning = draft_warning(actor=ax.cast[role])
        with pytest.raises(PermissionDenied):
            services.warning_approve(actor=ax.cast[role], warning=warning)
        warning.refresh_from_db()
        assert warning.status == S.DRAFT and warning.messages.count() == 0


@pytest.mark.parametrize("role", ["anonymous", "citizen", "visitor", "council_member", "agency_staff"])
def test_approve_refused_roles(ax, draft_warning, role):
    warning = draft_warning(actor=ax.cast["agency_manager"])
    with pytest.raises(PermissionDenied):
        services.warning_approve(actor=ax.cast[role], warning=warning)
    assert CapMessage.objects.count() == 0


@pytest.mark.parametrize("role", ["operator", "city_admin", "platform_admin"])
def test_approve_city_wide_roles(ax, draft_warning, role):
    message = services.warning_approve(actor=ax.cast[role], warning=draft_warning())
    assert message.version == 1


def test_approve_refused_to_other_agency_and_city(ax, draft_warning, other_city):
    warning = draft_warning()
    other_agency = factories.make_agency(ax.city, "cong-an", name_vi="Công an")
    with pytest.raises(PermissionDenied):
        other_manager = factories.make_staff(ax.city, "agency_manager", organisation=other_agency)
        services.warning_approve(actor=other_manager, warning=warning)
    with pytest.raises(PermissionDenied):
        services.warning_approve(actor=factories.make_staff(other_city, "operator"), warning=warning)
    assert CapMessage.objects.count() == 0


def test_approve_twice_refused(ax, draft_warning):
    warning = draft_warning()
    services.warning_approve(actor=ax.cast["agency_manager"], warning=warning)
    with pytest.raises(Conflict):
        services.warning_approve(actor=ax.cast["operator"], warning=warning)
    assert CapMessage.objects.filter(warning=warning).count() == 1


def test_approve_expired_draft_refused(ax, draft_warning):
    now = timezone.now()
    warning = draft_warning(effective_at=now - timedelta(hours=3), expires_at=now - timedelta(hours=1))
    with pytest.raises(InvalidInput) as exc:
        services.warning_approve(actor=ax.cast["agency_manager"], warning=warning)
    assert exc.value.field == "expires_at"
    warning.refresh_from_db()
    assert warning.status == S.DRAFT


def test_reject(ax, draft_warning):
    warning = draft_warning()
    with pytest.raises(InvalidInput) as exc:
        services.warning_reject(actor=ax.cast["agency_manager"], warning=warning, reason="  ")
    assert exc.value.field == "reason"
    with pytest.raises(PermissionDenied):
        services.warning_reject(actor=ax.cast["agency_staff"], warning=warning, reason="no")
    services.warning_reject(actor=ax.cast["agency_manager"], warning=warning, reason="Sai khu vực")
    warning.refresh_from_db()
    assert warning.status == S.REJECTED
    assert warning.reason == "Sai khu vực"
    assert _audits(warning)[-1].details == {"reason": "Sai khu vực"}
    with pytest.raises(Conflict):
        services.warning_approve(actor=ax.cast["agency_manager"], warning=warning)
    with pytest.raises(Conflict):
        services.warning_reject(actor=ax.cast["agency_manager"], warning=warning, reason="again")
    with pytest.raises(Conflict):
        services.warning_edit(actor=ax.cast["agency_staff"], warning=warning, headline_vi="x")
    assert CapMessage.objects.count() == 0


# --- Update and cancel ---------------------------------------------------------------------------------


def test_update_versions_and_references(ax, publish_warning, django_capture_on_commit_callbacks):
    warning = publish_warning()
    v1 = warning.messages.get()
    v1_xml = v1.xml
    with django_capture_on_commit_callbacks() as callbacks:
        v2 = services.warning_update(actor=ax.cast["agency_manager"], warning=warning, severity="Extreme",
                                     headline_vi="Ngập rất sâu")
    assert len(callbacks) == 1
    assert v2.msg_type == CapMessage.MsgType.UPDATE
    assert v2.version == 2
    assert v2.references == cap.reference_of(v1, ax.city)
    assert v2.references == f"{v1.sender},{v1.identifier},{cap.cap_time(v1.sent_at, ax.city)}"
    v3 = services.warning_update(actor=ax.cast["operator"], warning=warning,
                                 expires_at=timezone.now() + timedelta(hours=12))
    assert v3.references.split(" ") == [cap.reference_of(v1, ax.city), cap.reference_of(v2, ax.city)]
    warning.refresh_from_db()
    assert warning.version == 3
    assert warning.severity == "Extreme"
    assert warning.status == S.PUBLISHED
    v1.refresh_from_db()
    assert v1.xml == v1_xml  # what was sent stays as sent
    assert Fanout.objects.filter(message__warning=warning).count() == 3
    assert len({m.identifier for m in warning.messages.all()}) == 3


def test_update_refusals(ax, draft_warning, publish_warning):
    draft = draft_warning()
    with pytest.raises(Conflict):
        services.warning_update(actor=ax.cast["agency_manager"], warning=draft, severity="Minor")
    warning = publish_warning()
    with pytest.raises(PermissionDenied):
        services.warning_update(actor=ax.cast["agency_staff"], warning=warning, severity="Minor")
    with pytest.raises(InvalidInput) as exc:
        services.warning_update(actor=ax.cast["agency_manager"], warning=warning)
    assert exc.value.code == "unchanged"
    with pytest.raises(InvalidInput) as exc:
        services.warning_update(actor=ax.cast["agency_manager"], warning=warning,
                                expires_at=timezone.now() - timedelta(seconds=1))
    assert exc.value.field == "expires_at"
    with pytest.raises(InvalidInput) as exc:
        services.warning_update(actor=ax.cast["agency_manager"], warning=warning, commune_codes=(),
                                polygon=square(21.028, 105.854))
    assert exc.value.field == "polygon"
    warning.refresh_from_db()
    assert warning.version == 1
    assert CapMessage.objects.filter(warning=warning).count() == 1


def test_cancel(ax, publish_warning, django_capture_on_commit_callbacks):
    warning = publish_warning()
    services.warning_update(actor=ax.cast["agency_manager"], warning=warning, severity="Moderate")
    with pytest.raises(InvalidInput):
        services.warning_cancel(actor=ax.cast["agency_manager"], warning=warning, reason="")
    with pytest.raises(PermissionDenied):
        services.warning_cancel(actor=ax.cast["citizen"], warning=warning, reason="x")
    with django_capture_on_commit_callbacks() as callbacks:
        message = services.warning_cancel(
            actor=ax.cast["agency_manager"], warning=warning, reason="Nước đã rút"
        )
    assert len(callbacks) == 1
    warning.refresh_from_db()
    assert warning.status == S.CANCELLED
    assert warning.reason == "Nước đã rút"
    assert warning.ended_at is not None
    assert message.msg_type == CapMessage.MsgType.CANCEL
    assert message.version == 3
    assert len(message.references.split(" ")) == 2
    assert "Nước đã rút" in message.xml
    assert _audits(warning)[-1].details["reason"] == "Nước đã rút"
    # Twice: refused, and nothing else is published.
    with pytest.raises(Conflict):
        services.warning_cancel(actor=ax.cast["agency_manager"], warning=warning, reason="again")
    with pytest.raises(Conflict):
        services.warning_update(actor=ax.cast["agency_manager"], warning=warning, severity="Minor")
    assert warning.messages.count() == 3


def test_cancel_draft_refused(ax, draft_warning):
    warning = draft_warning()
    with pytest.raises(Conflict):
        services.warning_cancel(actor=ax.cast["agency_manager"], warning=warning, reason="x")


# --- Rules ---------------------------------------------------------------------------------------------


@pytest.fixture
def rule(ax):
    return AlertRule.objects.create(
        city=ax.city,
        name="Mực nước sông Hàn",
        category=ax.flood,
        quantity_code="water_level",
        levels=[{"threshold": 1.0, "severity": "Moderate"}, {"threshold": 1.5, "severity": "Severe"}],
        commune_codes=[ax.commune_a.code],
        headline_vi="Mực nước {value} {unit} tại {sensor}",
        headline_en="Water at {value} {unit} at {sensor} ({level})",
        instruction_vi="Tránh xa bờ sông.",
        issuer=ax.agency,
    )


def _trigger(value=1.62):
    return {"sensor": "WL-1", "quantity": "water_level", "value": value, "unit": "m", "threshold": 1.5,
            "time": timezone.now()}


def test_rule_raise_escalate_end(ax, rule, django_capture_on_commit_callbacks):
    now = timezone.now()
    with django_capture_on_commit_callbacks() as callbacks:
        warning = services.rule_warning_raise(rule=rule, severity="Moderate", trigger=_trigger(1.234),
                                              triggered_at=now - timedelta(minutes=10), now=now)
    assert len(callbacks) == 1
    warning.refresh_from_db()
    assert warning.status == S.PUBLISHED
    assert warning.source == PublicWarning.Source.RULE
    assert warning.rule == rule
    assert warning.issuer == ax.agency
    assert warning.version == 1
    assert warning.headline_vi == "Mực nước 1.23 m tại WL-1"
    assert warning.headline_en == "Water at 1.23 m at WL-1 (Moderate)"
    assert "WL-1" in warning.description_vi
    assert warning.commune_codes == [ax.commune_a.code]
    assert warning.asks_safety is False
    assert warning.trigger["value"] == 1.234
    assert warning.onset_at == now - timedelta(minutes=10)
    assert warning.published_at == now
    alert = warning.messages.get()
    assert alert.msg_type == CapMessage.MsgType.ALERT
    assert Fanout.objects.filter(message=alert).exists()

    update = services.rule_warning_escalate(warning=warning, severity="Severe", trigger=_trigger(1.7),
                                            now=now + timedelta(minutes=5))
    warning.refresh_from_db()
    assert update.msg_type == CapMessage.MsgType.UPDATE and update.version == 2
    assert update.references == cap.reference_of(alert, ax.city)
    assert warning.severity == "Severe"
    assert warning.asks_safety is True
    assert warning.headline_vi == "Mực nước 1.7 m tại WL-1"

    end = services.rule_warning_end(warning=warning, now=now + timedelta(minutes=30))
    warning.refresh_from_db()
    assert end.msg_type == CapMessage.MsgType.CANCEL and end.version == 3
    assert len(end.references.split()) == 2
    assert warning.status == S.ENDED
    assert warning.ended_at == now + timedelta(minutes=30)
    assert "<responseType>AllClear</responseType>" in end.xml
    with pytest.raises(Conflict):
        services.rule_warning_end(warning=warning, now=now)
    with pytest.raises(Conflict):
        services.rule_warning_escalate(warning=warning, severity="Extreme", trigger={}, now=now)
    actions = [e.actor for e in _audits(warning)]
    assert len(actions) == 3 and all(a is None for a in actions)


def test_rule_without_area_covers_the_city(ax, rule):
    from dothi.core.models import CommuneArea

    rule.commune_codes = []
    rule.save()
    now = timezone.now()
    warning = services.rule_warning_raise(rule=rule, severity="Severe", trigger=_trigger(), triggered_at=now,
                                          now=now)
    expected = sorted(CommuneArea.objects.filter(city=ax.city).values_list("commune_id", flat=True))
    assert warning.commune_codes == expected
    assert (warning.min_lon, warning.min_lat, warning.max_lon, warning.max_lat) == ax.city.bbox


def test_rule_with_polygon(ax, rule):
    rule.commune_codes = []
    rule.polygon = ax.polygon_a
    rule.save()
    now = timezone.now()
    warning = services.rule_warning_raise(rule=rule, severity="Severe", trigger=_trigger(), triggered_at=now,
                                          now=now)
    assert ax.commune_a.code in warning.commune_codes
    assert "<polygon>" in warning.messages.get().xml


def test_rule_broken_template_does_not_fail(ax, rule):
    rule.headline_vi = "Mực nước {value:.x} {nope} {"
    rule.save()
    now = timezone.now()
    warning = services.rule_warning_raise(rule=rule, severity="Severe", trigger=_trigger(), triggered_at=now,
                                          now=now)
    assert warning.headline_vi == "Mực nước {value:.x} {nope} {"


def test_rule_raise_is_cheap(ax, rule, django_assert_max_num_queries):
    """The rules run inside the ingestion transaction: a raise is a handful of queries and well under
    50 ms once the process is warm (measured: printed with -s)."""
    from django.db import connection

    from tests.alerts.conftest import _communes_with_own_centre

    now = timezone.now()
    services.rule_warning_raise(rule=rule, severity="Moderate", trigger=_trigger(), triggered_at=now, now=now)
    rule = AlertRule.objects.select_related("city", "category").get(pk=rule.pk)
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        with django_assert_max_num_queries(10):
            services.rule_warning_raise(rule=rule, severity="Severe", trigger=_trigger(), triggered_at=now,
                                        now=now)
        timings.append(time.perf_counter() - start)
    best = min(timings)
    print(f"rule_warning_raise: best {best * 1000:.1f} ms over {len(timings)} ({connection.vendor})")
    assert best < 0.2  # generous for a loaded shared machine; the target is < 50 ms
    assert _communes_with_own_centre  # imported helper stays in use


# --- Subscriptions ---------------------------------------------------------------------------------------


def test_subscription_set_and_replace(ax):
    citizen = ax.cast["citizen"]
    sub = services.subscription_set(actor=citizen, city=ax.city, home_commune=ax.commune_a.code,
                                    work_commune=ax.commune_b, extra_communes=[ax.commune_a.code],
                                    categories=["storm", "flood"], min_severity="Moderate")
    assert sub.home_commune == ax.commune_a and sub.work_commune == ax.commune_b
    assert sub.categories == ",flood,storm,"
    assert sub.category_codes() == ["flood", "storm"]
    assert sub.min_severity == "Moderate" and sub.min_rank == 2
    areas = SubscriptionArea.objects.filter(subscription=sub).values_list("commune_code", flat=True)
    assert sorted(areas) == sorted([ax.commune_a.code, ax.commune_b.code])
    assert AuditEvent.objects.filter(object_type="alerts.subscription", action="create").count() == 1

    again = services.subscription_set(actor=citizen, city=ax.city, home_commune=ax.commune_b.code)
    assert again.pk == sub.pk
    assert again.categories == "" and again.min_rank == 0 and again.work_commune is None
    assert list(SubscriptionArea.objects.filter(subscription=sub).values_list("commune_code", flat=True)) == \
        [ax.commune_b.code]
    assert Subscription.objects.count() == 1
    assert AuditEvent.objects.filter(object_type="alerts.subscription", action="update").count() == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"home_commune": "99999"}, "home_commune"),
        ({"work_commune": "abc"}, "work_commune"),
        ({"extra_communes": ["99999"]}, "extra_communes"),
        ({"categories": ["flood", "volcano"]}, "categories"),
        ({"min_severity": "Terrible"}, "min_severity"),
    ],
)
def test_subscription_bad_input(ax, kwargs, field):
    with pytest.raises(InvalidInput) as exc:
        services.subscription_set(actor=ax.cast["citizen"], city=ax.city, **kwargs)
    assert exc.value.field == field
    assert Subscription.objects.count() == 0 and SubscriptionArea.objects.count() == 0


def test_subscription_other_citys_commune(ax, other_city):
    from dothi.core.models import Commune

    foreign = Commune.objects.filter(province_id=other_city.province_code).first()
    with pytest.raises(InvalidInput):
        services.subscription_set(actor=ax.cast["citizen"], city=ax.city, home_commune=foreign.code)


@pytest.mark.parametrize("role", ["anonymous", "agency_staff", "operator", "council_member"])
def test_subscription_refused_roles(ax, role):
    with pytest.raises(PermissionDenied):
        services.subscription_set(actor=ax.cast[role], city=ax.city, home_commune=ax.commune_a.code)
    assert Subscription.objects.count() == 0


# --- Safety replies --------------------------------------------------------------------------------------


def test_safety_reply_newest_wins(ax, publish_warning):
    warning = publish_warning()
    citizen = ax.cast["citizen"]
    lat, lon = ax.point_b
    first = services.safety_reply(actor=citizen, warning=warning, status="need_help", note="Nước lên tầng 1",
                                  lat=lat, lon=lon)
    assert first.commune == ax.commune_b
    assert first.city == ax.city
    services.safety_reply_handle(actor=ax.cast["operator"], reply=first)
    second = services.safety_reply(actor=citizen, warning=warning, status="safe")
    assert second.pk == first.pk
    second.refresh_from_db()
    assert second.status == "safe" and second.note == "" and second.lat is None
    assert second.handled_at is None  # a new answer needs looking at again
    assert SafetyReply.objects.count() == 1
    assert AuditEvent.objects.filter(object_type="alerts.safetyreply").count() == 3


def test_safety_reply_commune_from_subscription(ax, publish_warning):
    warning = publish_warning()
    services.subscription_set(actor=ax.cast["citizen"], city=ax.city, home_commune=ax.commune_a.code)
    reply = services.safety_reply(actor=ax.cast["citizen"], warning=warning, status="safe")
    assert reply.commune == ax.commune_a


def test_safety_reply_refusals(ax, draft_warning, publish_warning):
    citizen = ax.cast["citizen"]
    asking = publish_warning()
    with pytest.raises(Conflict):
        services.safety_reply(actor=citizen, warning=draft_warning(), status="safe")
    with pytest.raises(Conflict):
        services.safety_reply(actor=citizen, warning=publish_warning(category="storm"), status="safe")
    for role in ("anonymous", "agency_staff", "operator"):
        with pytest.raises(PermissionDenied):
            services.safety_reply(actor=ax.cast[role], warning=asking, status="safe")
    with pytest.raises(InvalidInput) as exc:
        services.safety_reply(actor=citizen, warning=asking, status="fine")
    assert exc.value.field == "status"
    with pytest.raises(OutsideCity) as exc:
        services.safety_reply(actor=citizen, warning=asking, status="need_help", lat=21.028, lon=105.854)
    assert exc.value.field == "location"
    with pytest.raises(InvalidInput) as exc:
        services.safety_reply(actor=citizen, warning=asking, status="need_help", lat=16.0)
    assert exc.value.field == "location"
    with pytest.raises(InvalidInput):
        services.safety_reply(actor=citizen, warning=asking, status="need_help", lat="x", lon="y")
    assert SafetyReply.objects.count() == 0
    services.warning_cancel(actor=ax.cast["operator"], warning=asking, reason="Hết")
    with pytest.raises(Conflict):
        services.safety_reply(actor=citizen, warning=asking, status="safe")


def test_safety_reply_handle(ax, publish_warning, other_city):
    warning = publish_warning()
    reply = services.safety_reply(actor=ax.cast["citizen"], warning=warning, status="need_help")
    for actor in (ax.cast["citizen"], ax.cast["agency_staff"], factories.make_staff(other_city, "operator")):
        with pytest.raises(PermissionDenied):
            services.safety_reply_handle(actor=actor, reply=reply)
    services.safety_reply_handle(actor=ax.cast["agency_manager"], reply=reply)
    reply.refresh_from_db()
    assert reply.handled_by == ax.cast["agency_manager"] and reply.handled_at is not None
    with pytest.raises(Conflict):
        services.safety_reply_handle(actor=ax.cast["operator"], reply=reply)


# --- Expiry and tasks ------------------------------------------------------------------------------------


def test_expire_warnings(ax, publish_warning):
    now = timezone.now()
    short = publish_warning(expires_at=now + timedelta(minutes=10))
    long = publish_warning(expires_at=now + timedelta(hours=10))
    forever = publish_warning(expires_at=None)
    assert services.expire_warnings(now + timedelta(minutes=5)) == 0
    assert services.expire_warnings(now + timedelta(minutes=30)) == 1
    for w in (short, long, forever):
        w.refresh_from_db()
    assert short.status == S.ENDED and short.ended_at == short.expires_at
    assert long.status == S.PUBLISHED and forever.status == S.PUBLISHED
    assert short.messages.count() == 1  # no message: the Alert already carried its expiry
    assert _audits(short)[-1].summary == "expired"
    assert services.expire_warnings(now + timedelta(minutes=30)) == 0


def test_tasks(ax, publish_warning, monkeypatch):
    from dothi.alerts import tasks

    seen = []
    monkeypatch.setattr("dothi.alerts.delivery.fanout_run", lambda fanout_id: seen.append(fanout_id))
    tasks.fanout.enqueue(1234)
    assert seen == [1234]
    warning = publish_warning(effective_at=timezone.now() - timedelta(hours=2),
                              expires_at=timezone.now() + timedelta(seconds=1))
    PublicWarning.objects.filter(pk=warning.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    result = tasks.expire.enqueue()
    assert result.return_value == 1
    warning.refresh_from_db()
    assert warning.status == S.ENDED
