"""The agency workflow: every status transition, who may make it, and what it requires."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone, translation

from dothi.core.errors import Conflict, InvalidInput
from dothi.core.models import AuditEvent, Feedback, Notification
from dothi.core.services import feedback_give
from dothi.reports import selectors, services
from dothi.reports.models import Follower, Priority, Report, ReportEvent, ReportPhoto, Status
from dothi.reports.services import TRANSITIONS
from tests import factories
from tests.reports.conftest import PDF_BYTES, jpeg_bytes

pytestmark = pytest.mark.django_db


def _put(report: Report, status: str, **extra) -> Report:
    """Place a report in a status directly (to test the transition out of it)."""
    fields = {"status": status, **extra}
    if status == Status.RESOLVED:
        fields.setdefault("resolved_at", timezone.now())
    if status == Status.NEEDS_INFO:
        fields.setdefault("paused_at", timezone.now())
    Report.objects.filter(pk=report.pk).update(**fields)
    report.refresh_from_db()
    return report


def _args_for(to_status: str, report: Report, submit) -> dict:
    if to_status == Status.RESOLVED:
        return {"text": "Fixed the pothole.", "evidence": [jpeg_bytes()]}
    if to_status == Status.REJECTED:
        return {"reason": "Private land, not a public road."}
    if to_status == Status.NEEDS_INFO:
        return {"text": "Which side of the road?"}
    if to_status == Status.DUPLICATE:
        return {"duplicate_of": submit(idempotency_key="original")}
    if to_status == Status.REOPENED:
        return {"reason": "The rejection was wrong."}
    return {}


STAFF_PAIRS = [(f, t) for f, tos in TRANSITIONS.items() for t, who in tos.items() if who == "staff"]
FORBIDDEN_PAIRS = [(f, t) for f in Status.values for t in Status.values if t not in TRANSITIONS.get(f, {})]


@pytest.mark.parametrize("from_status, to_status", STAFF_PAIRS)
def test_every_staff_transition(rx, submit, from_status, to_status):
    staff = rx.cast["agency_staff"]
    report = _put(submit(), from_status, assignee=staff)
    args = _args_for(to_status, report, submit)
    moved = services.report_transition(actor=staff, report=report, to_status=to_status, **args)
    moved.refresh_from_db()
    assert moved.status == to_status
    event = moved.events.filter(kind=ReportEvent.Kind.STATUS).last()
    assert (event.from_status, event.to_status, event.public) == (from_status, to_status, True)
    assert moved.acknowledged_at is not None
    if to_status in (Status.CLOSED, Status.REJECTED, Status.DUPLICATE):
        assert moved.closed_at is not None
    if to_status == Status.RESOLVED:
        assert moved.resolved_at is not None
        assert moved.photos.filter(kind=ReportPhoto.Kind.EVIDENCE).count() == 1
        assert event.text == "Fixed the pothole."
    if to_status == Status.NEEDS_INFO:
        assert moved.paused_at is not None
    if from_status == Status.NEEDS_INFO:
        assert moved.paused_at is None


@pytest.mark.parametrize("from_status, to_status", FORBIDDEN_PAIRS)
def test_transitions_outside_the_table_are_refused(rx, submit, from_status, to_status):
    report = _put(submit(), from_status)
    with translation.override("en"), pytest.raises(InvalidInput) as info:
        services.report_transition(
            actor=rx.cast["operator"],
            report=report,
            to_status=to_status,
            **_args_for(to_status, report, submit),
        )
    assert info.value.code == "transition_invalid"
    report.refresh_from_db()
    assert report.status == from_status


def test_unknown_status_refused(rx, submit):
    with pytest.raises(InvalidInput):
        services.report_transition(actor=rx.cast["operator"], report=submit(), to_status="teleported")


HANDLERS = {"agency_staff", "agency_manager", "operator", "city_admin", "platform_admin"}


@pytest.mark.parametrize(
    "role",
    [
        "anonymous",
        "citizen",
        "visitor",
        "agency_staff",
        "agency_manager",
        "operator",
        "council_member",
        "city_admin",
        "platform_admin",
        "other_agency",
        "reporter",
    ],
)
def test_who_may_handle(rx, submit, role):
    report = submit()
    if role == "other_agency":
        actor = factories.make_staff(rx.city, "agency_manager", organisation=rx.police)
    elif role == "reporter":
        actor = report.reporter
    else:
        actor = rx.cast[role]
    allowed = role in HANDLERS
    assert selectors.can_handle(actor, report) is allowed
    if allowed:
        services.report_transition(actor=actor, report=report, to_status=Status.IN_PROGRESS)
        assert Report.objects.get(pk=report.pk).status == Status.IN_PROGRESS
    else:
        with pytest.raises(PermissionDenied):
            services.report_transition(actor=actor, report=report, to_status=Status.IN_PROGRESS)
        with pytest.raises(PermissionDenied):
            services.report_add_note(actor=actor, report=report, text="x")
        with pytest.raises(PermissionDenied):
            services.report_set_priority(actor=actor, report=report, priority=Priority.HIGH)
        assert Report.objects.get(pk=report.pk).status == Status.RECEIVED


def test_staff_of_another_city_cannot_handle(rx, submit, other_city):
    outsider = factories.make_staff(other_city, "operator")
    with pytest.raises(PermissionDenied):
        services.report_transition(actor=outsider, report=submit(), to_status=Status.IN_PROGRESS)


def test_resolving_requires_text_and_evidence(rx, submit, settings):
    staff = rx.cast["agency_staff"]
    report = submit()
    with translation.override("en"):
        with pytest.raises(InvalidInput) as no_text:
            services.report_transition(
                actor=staff, report=report, to_status=Status.RESOLVED, evidence=[jpeg_bytes()]
            )
        assert no_text.value.code == "response_required"
        with pytest.raises(InvalidInput) as no_evidence:
            services.report_transition(actor=staff, report=report, to_status=Status.RESOLVED, text="Done")
        assert no_evidence.value.code == "evidence_required"
        with pytest.raises(InvalidInput):
            services.report_transition(
                actor=staff,
                report=report,
                to_status=Status.RESOLVED,
                text="Done",
                evidence=[b"<html>not evidence</html>"],
            )
        settings.REPORT_PHOTO_MAX_BYTES = 10
        with pytest.raises(InvalidInput) as big:
            services.report_transition(
                actor=staff, report=report, to_status=Status.RESOLVED, text="Done", evidence=[PDF_BYTES]
            )
        assert big.value.code == "file_too_large"
    report.refresh_from_db()
    assert report.status == Status.RECEIVED and report.resolved_at is None
    assert not report.photos.exists()
    assert not report.events.filter(kind=ReportEvent.Kind.STATUS).exists()


def test_reject_requires_reason(rx, submit):
    report = submit()
    with pytest.raises(InvalidInput):
        services.report_transition(actor=rx.cast["agency_staff"], report=report, to_status=Status.REJECTED)
    services.report_transition(
        actor=rx.cast["agency_staff"],
        report=report,
        to_status=Status.REJECTED,
        reason="Not in the city's remit",
    )
    event = report.events.get(kind=ReportEvent.Kind.STATUS)
    assert "Not in the city's remit" in event.text and event.data["reason"] == "Not in the city's remit"


def test_rejected_can_be_reopened_by_moderators_only(rx, submit):
    report = _put(submit(), Status.REJECTED, closed_at=timezone.now())
    with pytest.raises(PermissionDenied):
        services.report_transition(
            actor=rx.cast["agency_manager"], report=report, to_status=Status.REOPENED, reason="appeal"
        )
    with pytest.raises(InvalidInput):
        services.report_transition(actor=rx.cast["operator"], report=report, to_status=Status.REOPENED)
    services.report_transition(
        actor=rx.cast["operator"], report=report, to_status=Status.REOPENED, reason="The agency was wrong"
    )
    report.refresh_from_db()
    assert report.status == Status.REOPENED and report.closed_at is None and report.reopen_count == 1


def test_duplicate_rules_and_followers_move(rx, submit):
    staff = rx.cast["agency_staff"]
    original = submit(idempotency_key="o")
    neighbour = factories.make_citizen(rx.city)
    dup = submit(actor=neighbour)
    watcher = factories.make_citizen(rx.city)
    services.report_follow(actor=watcher, report=dup)
    with pytest.raises(InvalidInput):
        services.report_transition(actor=staff, report=dup, to_status=Status.DUPLICATE)
    with pytest.raises(InvalidInput):
        services.report_transition(actor=staff, report=dup, to_status=Status.DUPLICATE, duplicate_of=dup)
    closed = _put(submit(idempotency_key="c"), Status.CLOSED)
    with pytest.raises(InvalidInput):
        services.report_merge(actor=staff, report=dup, into=closed)
    elsewhere_city = factories.make_city("hue", name_vi="Huế", name_en="Hue", province_code="46")
    foreign = Report(
        city=elsewhere_city,
        reference="HUE-1",
        category=rx.pothole,
        commune=rx.commune_a,
        agency=rx.agency,
        lat=0,
        lon=0,
        description="x",
    )
    foreign.save()
    with pytest.raises(InvalidInput):
        services.report_merge(actor=staff, report=dup, into=foreign)
    services.report_merge(actor=staff, report=dup, into=original, reason="Same pothole")
    dup.refresh_from_db()
    assert dup.status == Status.DUPLICATE and dup.duplicate_of == original
    followers = set(Follower.objects.filter(report=original).values_list("user_id", flat=True))
    assert {rx.cast["citizen"].pk, neighbour.pk, watcher.pk} <= followers
    assert original.events.filter(kind=ReportEvent.Kind.MERGED, data__duplicate=dup.reference).exists()
    # A resolved report can still be the original.
    resolved = _put(submit(idempotency_key="r"), Status.RESOLVED)
    services.report_merge(actor=staff, report=submit(idempotency_key="d2"), into=resolved)


def test_needs_info_pauses_deadline_and_reporter_answers(rx, submit):
    staff = rx.cast["agency_staff"]
    report = submit()
    due = report.due_at
    with pytest.raises(InvalidInput):
        services.report_transition(actor=staff, report=report, to_status=Status.NEEDS_INFO)
    services.report_transition(actor=staff, report=report, to_status=Status.NEEDS_INFO, text="Which house?")
    # Pretend the agency waited two days for the answer.
    Report.objects.filter(pk=report.pk).update(paused_at=timezone.now() - timedelta(days=2))
    report.refresh_from_db()
    with pytest.raises(PermissionDenied):
        services.report_provide_info(actor=factories.make_citizen(rx.city), report=report, text="no. 12")
    with pytest.raises(PermissionDenied):
        services.report_provide_info(actor=staff, report=report, text="no. 12")
    with pytest.raises(InvalidInput):
        services.report_provide_info(actor=rx.cast["citizen"], report=report, text=" ")
    services.report_provide_info(
        actor=rx.cast["citizen"], report=report, text="In front of no. 12", photos=[jpeg_bytes()]
    )
    report.refresh_from_db()
    assert report.status == Status.IN_PROGRESS and report.paused_at is None
    pushed = report.due_at - due
    assert timedelta(days=2) - timedelta(seconds=5) <= pushed <= timedelta(days=2, seconds=5)
    info = report.events.get(kind=ReportEvent.Kind.INFO)
    assert info.public is False and info.text == "In front of no. 12"
    assert report.photos.filter(kind=ReportPhoto.Kind.REPORT).count() == 1
    with pytest.raises(InvalidInput):  # not waiting for information any more
        services.report_provide_info(actor=rx.cast["citizen"], report=report, text="more")


def test_provide_info_keeps_the_five_photo_limit(rx, submit):
    report = submit(photos=[jpeg_bytes()] * 4)
    services.report_transition(
        actor=rx.cast["agency_staff"], report=report, to_status=Status.NEEDS_INFO, text="More photos please"
    )
    with pytest.raises(InvalidInput):
        services.report_provide_info(
            actor=rx.cast["citizen"], report=report, text="here", photos=[jpeg_bytes()] * 2
        )


def _resolve(rx, report):
    return services.report_transition(
        actor=rx.cast["agency_staff"],
        report=report,
        to_status=Status.RESOLVED,
        text="Repaired.",
        evidence=[jpeg_bytes()],
    )


def test_reporter_confirms_fix(rx, submit):
    report = _resolve(rx, submit())
    with pytest.raises(PermissionDenied):
        services.report_confirm_fixed(actor=rx.cast["agency_staff"], report=report)
    with pytest.raises(PermissionDenied):
        services.report_confirm_fixed(actor=factories.make_citizen(rx.city), report=report)
    services.report_confirm_fixed(actor=rx.cast["citizen"], report=report)
    report.refresh_from_db()
    assert report.status == Status.CLOSED and report.closed_at is not None
    assert report.events.filter(kind=ReportEvent.Kind.CONFIRMED).exists()
    with pytest.raises(InvalidInput):
        services.report_reopen(actor=rx.cast["citizen"], report=report, text="again")


def test_reopen_within_window(rx, submit):
    report = _resolve(rx, submit())
    old_due = report.due_at
    with pytest.raises(InvalidInput):
        services.report_reopen(actor=rx.cast["citizen"], report=report, text="")
    with pytest.raises(PermissionDenied):
        services.report_reopen(actor=rx.cast["agency_manager"], report=report, text="no")
    Report.objects.filter(pk=report.pk).update(
        due_at=timezone.now() - timedelta(days=3), escalated_at=timezone.now()
    )
    services.report_reopen(actor=rx.cast["citizen"], report=report, text="Still a hole")
    report.refresh_from_db()
    assert report.status == Status.REOPENED and report.reopen_count == 1
    assert report.resolved_at is None and report.escalated_at is None
    # A fresh deadline counted from the reopening, not the overdue one.
    assert report.due_at > timezone.now() and report.due_at >= old_due
    # Back to the agency, resolved again, then too late to reopen.
    _resolve(rx, report)
    Report.objects.filter(pk=report.pk).update(resolved_at=timezone.now() - timedelta(days=15))
    report.refresh_from_db()
    with translation.override("en"), pytest.raises(InvalidInput) as late:
        services.report_reopen(actor=rx.cast["citizen"], report=report, text="Still")
    assert late.value.code == "reopen_window" and "14 days" in late.value.message


def test_acknowledged_once(rx, submit):
    report = submit()
    services.report_transition(actor=rx.cast["agency_staff"], report=report, to_status=Status.IN_PROGRESS)
    first = Report.objects.get(pk=report.pk).acknowledged_at
    services.report_transition(
        actor=rx.cast["agency_staff"], report=report, to_status=Status.NEEDS_INFO, text="?"
    )
    assert Report.objects.get(pk=report.pk).acknowledged_at == first


def test_every_status_change_notifies_reporter_and_followers_not_actor(rx, submit):
    report = submit()
    watcher = factories.make_citizen(rx.city)
    services.report_follow(actor=watcher, report=report)
    staff = rx.cast["agency_staff"]
    services.report_follow(actor=staff, report=report)
    services.report_transition(actor=staff, report=report, to_status=Status.IN_PROGRESS)
    _resolve(rx, report)
    for person in (rx.cast["citizen"], watcher):
        assert Notification.objects.filter(recipient=person, topic="reports.status").count() == 2
    # The staff member follows too, but is not told about changes they made.
    assert not Notification.objects.filter(recipient=staff, topic="reports.status").exists()


def test_assign(rx, submit):
    report = submit()
    staff, manager = rx.cast["agency_staff"], rx.cast["agency_manager"]
    with pytest.raises(PermissionDenied):
        services.report_assign(actor=staff, report=report, assignee=staff)
    police = factories.make_staff(rx.city, "agency_staff", organisation=rx.police)
    with pytest.raises(InvalidInput):
        services.report_assign(actor=manager, report=report, assignee=police)
    with pytest.raises(InvalidInput):
        services.report_assign(actor=manager, report=report, assignee=rx.cast["operator"])
    other_manager = factories.make_staff(rx.city, "agency_manager", organisation=rx.police)
    with pytest.raises(PermissionDenied):
        services.report_assign(actor=other_manager, report=report, assignee=staff)
    services.report_assign(actor=manager, report=report, assignee=staff)
    report.refresh_from_db()
    assert report.assignee == staff and report.status == Status.ASSIGNED
    assert Notification.objects.filter(recipient=staff, topic="reports.assigned").exists()
    services.report_assign(actor=rx.cast["operator"], report=report, assignee=manager)
    assert Report.objects.get(pk=report.pk).assignee == manager
    assert list(selectors.agency_queue(city=rx.city, actor=staff, assignee=manager)) == [report]


def test_priority_and_notes(rx, submit):
    report = submit()
    staff = rx.cast["agency_staff"]
    with pytest.raises(InvalidInput):
        services.report_set_priority(actor=staff, report=report, priority=9)
    services.report_set_priority(actor=staff, report=report, priority=Priority.URGENT)
    assert Report.objects.get(pk=report.pk).priority == Priority.URGENT
    note = services.report_add_note(actor=staff, report=report, text="Call the contractor")
    assert note.public is False and note.kind == ReportEvent.Kind.NOTE
    response = services.report_add_note(actor=staff, report=report, text="Crew comes Monday", public=True)
    assert response.public is True
    public = selectors.public_timeline(report)
    assert note not in public and response in public
    assert note in selectors.timeline_for(staff, report)
    assert note not in selectors.timeline_for(rx.cast["citizen"], report)
    with pytest.raises(InvalidInput):
        services.report_add_note(actor=staff, report=report, text="")


def test_reroute(rx, submit):
    staff, manager = rx.cast["agency_staff"], rx.cast["agency_manager"]
    report = submit()
    services.report_assign(actor=manager, report=report, assignee=staff)
    with pytest.raises(PermissionDenied):
        services.report_reroute(actor=staff, report=report, agency=rx.police, reason="theirs")
    with pytest.raises(InvalidInput):
        services.report_reroute(actor=manager, report=report, agency=rx.police, reason="")
    foreign = factories.make_agency(factories.make_city("hue", province_code="46"), "x")
    with pytest.raises(InvalidInput):
        services.report_reroute(actor=manager, report=report, agency=foreign, reason="x")
    due = Report.objects.get(pk=report.pk).due_at
    services.report_reroute(actor=manager, report=report, agency=rx.police, reason="Public order matter")
    report.refresh_from_db()
    assert report.agency == rx.police and report.assignee is None and report.due_at == due
    assert report.status != Status.ASSIGNED
    assert report.events.filter(kind=ReportEvent.Kind.REROUTED, text="Public order matter").exists()
    # The old agency can no longer act on it.
    assert not selectors.can_handle(staff, report)
    assert list(selectors.agency_queue(city=rx.city, actor=staff)) == []


def test_recategorise_reroutes_and_sets_confidentiality(rx, submit):
    report = submit()
    manager = rx.cast["agency_manager"]
    with pytest.raises(InvalidInput):
        services.report_recategorise(actor=manager, report=report, category_code="security", reason="")
    with pytest.raises(InvalidInput):
        services.report_recategorise(actor=manager, report=report, category_code="street-light", reason="x")
    services.report_recategorise(
        actor=manager, report=report, category_code="security", reason="It is a fight"
    )
    report.refresh_from_db()
    assert report.category == rx.security and report.agency == rx.police and report.confidential


def test_moderation(rx, submit):
    report = submit(photos=[jpeg_bytes()])
    photo = report.photos.get()
    for role in ("agency_staff", "agency_manager", "citizen", "council_member"):
        with pytest.raises(PermissionDenied):
            services.report_moderate(actor=rx.cast[role], report=report, hide=True, reason="x")
    with pytest.raises(InvalidInput):
        services.report_moderate(actor=rx.cast["operator"], report=report, hide=True, reason="")
    with pytest.raises(InvalidInput):
        services.report_moderate(
            actor=rx.cast["operator"], report=report, hide_photo_ids=[999999], reason="x"
        )
    services.report_moderate(
        actor=rx.cast["operator"],
        report=report,
        public_description="A pothole [redacted]",
        hide_photo_ids=[photo.pk],
        reason="Phone number in text; face in photo",
    )
    report.refresh_from_db()
    assert report.public_description == "A pothole [redacted]" and not report.hidden
    assert selectors.public_photos(report) == []
    audit_row = AuditEvent.objects.filter(object_id=str(report.pk), summary="moderated").get()
    assert audit_row.details["reason"] == "Phone number in text; face in photo"
    assert report.events.get(kind=ReportEvent.Kind.MODERATED).public is False
    with pytest.raises(InvalidInput):  # nothing changes
        services.report_moderate(actor=rx.cast["city_admin"], report=report, reason="again")


def test_escalation_of_overdue_reports(rx, submit):
    late = submit()
    fresh = submit(idempotency_key="fresh")
    paused = submit(idempotency_key="paused")
    services.report_transition(
        actor=rx.cast["agency_staff"], report=paused, to_status=Status.NEEDS_INFO, text="?"
    )
    past = timezone.now() - timedelta(hours=1)
    Report.objects.filter(pk__in=[late.pk, paused.pk]).update(due_at=past)
    assert services.reports_escalate_overdue() == 1
    late.refresh_from_db()
    assert late.escalated_at is not None
    assert late.events.filter(kind=ReportEvent.Kind.ESCALATED, public=False).exists()
    manager = rx.cast["agency_manager"]
    assert Notification.objects.filter(recipient=manager, topic="reports.overdue").count() == 1
    assert not Notification.objects.filter(
        recipient=rx.cast["agency_staff"], topic="reports.overdue"
    ).exists()
    # Escalated once only.
    assert services.reports_escalate_overdue() == 0
    fresh.refresh_from_db()
    assert fresh.escalated_at is None
    assert [r.pk for r in selectors.agency_queue(city=rx.city, actor=manager, overdue=True)] == [late.pk]


def test_escalation_task_runs_both_jobs(rx, submit):
    from dothi.reports.tasks import escalate_overdue

    report = _resolve(rx, submit())
    Report.objects.filter(pk=report.pk).update(resolved_at=timezone.now() - timedelta(days=15))
    result = escalate_overdue.enqueue()
    assert result.return_value == {"escalated": 0, "closed": 1}
    report.refresh_from_db()
    assert report.status == Status.CLOSED
    event = report.events.filter(kind=ReportEvent.Kind.STATUS).last()
    assert event.data == {"automatic": True} and event.actor is None


def test_autoclose_spares_recent_resolutions(rx, submit):
    report = _resolve(rx, submit())
    assert services.reports_autoclose_resolved() == 0
    assert services.reports_autoclose_resolved(now=timezone.now() + timedelta(days=15)) == 1
    assert Report.objects.get(pk=report.pk).status == Status.CLOSED


def test_schedule_is_declared():
    from dothi.core.manifests import registry

    interval, job = registry.schedules()["reports.escalate_overdue"]
    assert interval == 3600 and job.name.endswith("escalate_overdue")


def test_agency_queue_scoping(rx, submit):
    mine = submit()
    lat, lon = rx.point_b
    ward = submit(lat=lat, lon=lon)
    assert ward.agency == rx.ward_agency
    staff = rx.cast["agency_staff"]
    assert list(selectors.agency_queue(city=rx.city, actor=staff)) == [mine]
    assert list(selectors.agency_queue(city=rx.city, actor=staff, agency=rx.ward_agency)) == []
    assert set(selectors.agency_queue(city=rx.city, actor=rx.cast["operator"])) == {mine, ward}
    assert list(selectors.agency_queue(city=rx.city, actor=rx.cast["city_admin"], agency=rx.ward_agency)) == [
        ward
    ]
    assert list(selectors.agency_queue(city=rx.city, actor=staff, status="closed")) == []
    assert list(
        selectors.agency_queue(city=rx.city, actor=staff, category="pothole", commune=rx.commune_a)
    ) == [mine]
    for role in ("citizen", "council_member", "anonymous"):
        with pytest.raises(PermissionDenied):
            selectors.agency_queue(city=rx.city, actor=rx.cast[role])


def test_rating_only_by_reporter_after_resolution(rx, submit):
    report = submit()
    citizen = rx.cast["citizen"]
    rate = {"city": rx.city, "subject_type": "reports.report", "subject_id": report.reference, "rating": 4}
    with pytest.raises(InvalidInput):
        feedback_give(author=citizen, **rate)
    _resolve(rx, report)
    with pytest.raises(PermissionDenied):
        feedback_give(author=factories.make_citizen(rx.city), **rate)
    with pytest.raises(InvalidInput):
        feedback_give(author=citizen, **{**rate, "subject_id": "DAN-000000-XXXXXX"})
    feedback_give(author=citizen, **rate)
    assert Feedback.objects.get(subject_id=report.reference).rating == 4
    with pytest.raises(Conflict):
        feedback_give(author=citizen, **rate)


def test_closed_report_cannot_be_assigned_or_rerouted(rx, submit):
    report = _put(submit(), Status.CLOSED)
    with pytest.raises(InvalidInput):
        services.report_assign(
            actor=rx.cast["agency_manager"], report=report, assignee=rx.cast["agency_staff"]
        )
    with pytest.raises(InvalidInput):
        services.report_reroute(actor=rx.cast["operator"], report=report, agency=rx.police, reason="x")
