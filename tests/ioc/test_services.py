"""The control centre's services: the sweep (raise, seen, clear, idempotent, a failing source, two
sweeps at once on PostgreSQL) and the operators' actions with who may do them."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone

from dothi.core.errors import Conflict, InvalidInput
from dothi.core.models import AuditEvent, Commune
from dothi.ioc import services
from dothi.ioc.models import Alarm, IncidentEntry, ShiftHandover
from tests import factories
from tests.ioc.conftest import MODULE

pytestmark = pytest.mark.django_db

HANDLERS = {"operator", "city_admin", "platform_admin"}
NOT_HANDLERS = ["anonymous", "citizen", "visitor", "agency_staff", "agency_manager", "council_member"]


def _alarms(city):
    return Alarm.objects.for_city(city).filter(module=MODULE)


# --- The sweep --------------------------------------------------------------------------------------


def test_sweep_raises_a_new_condition_once(ioc_city, ioc_module, conditions):
    commune = Commune.objects.filter(province_id=ioc_city.province_code).first()
    conditions.items = [
        conditions.candidate("A", level="danger", lon=108.2, lat=16.05, commune_code=commune.code, url="/x/"),
        conditions.candidate("B", level="nonsense"),
    ]
    result = services.sweep(ioc_city)
    assert (result.raised, result.cleared, result.seen, result.failed) == (2, 0, 0, ())
    a = _alarms(ioc_city).get(key=f"{MODULE}.breach:A")
    assert (a.level, a.status, a.commune_id, a.lon, a.url) == ("danger", "open", commune.code, 108.2, "/x/")
    assert a.raised_at == conditions.items[0].raised_at
    # An unknown level is stored as a warning, not refused.
    assert _alarms(ioc_city).get(key=f"{MODULE}.breach:B").level == "warning"
    assert AuditEvent.objects.filter(city=ioc_city, object_type="ioc.alarm").count() == 1


def test_sweep_is_idempotent_and_follows_the_condition(ioc_city, ioc_module, conditions):
    conditions.items = [conditions.candidate("A")]
    first = timezone.now()
    services.sweep(ioc_city, now=first)
    audits = AuditEvent.objects.filter(object_type="ioc.alarm").count()
    later = first + timedelta(minutes=1)
    # Still reported, now worse: seen again, the level follows; nothing new, nothing audited.
    conditions.items = [conditions.candidate("A", level="danger", title="Worse")]
    result = services.sweep(ioc_city, now=later)
    assert (result.raised, result.cleared, result.seen) == (0, 0, 1)
    a = _alarms(ioc_city).get()
    assert (a.seen_at, a.level, a.title, a.cleared_at) == (later, "danger", "Worse", None)
    assert AuditEvent.objects.filter(object_type="ioc.alarm").count() == audits


def test_sweep_clears_a_condition_no_longer_reported(ioc_city, ioc_module, conditions):
    conditions.items = [conditions.candidate("A"), conditions.candidate("B")]
    services.sweep(ioc_city)
    conditions.items = [conditions.candidate("B")]
    now = timezone.now()
    result = services.sweep(ioc_city, now=now)
    assert (result.raised, result.cleared, result.seen) == (0, 1, 1)
    a = _alarms(ioc_city).get(key=f"{MODULE}.breach:A")
    # Cleared, still there for the operators (not closed); a second sweep does not clear it again.
    assert a.cleared_at == now and a.status == "open"
    assert services.sweep(ioc_city).cleared == 0
    # The condition comes back: the same alarm, no longer cleared.
    conditions.items = [conditions.candidate("A"), conditions.candidate("B")]
    result = services.sweep(ioc_city)
    assert result.raised == 0 and result.seen == 2
    a.refresh_from_db()
    assert a.cleared_at is None


def test_a_closed_occurrence_is_not_raised_again_but_a_new_one_is(ioc_city, ioc_module, conditions, cast):
    conditions.items = [conditions.candidate("A", minutes_ago=30)]
    services.sweep(ioc_city)
    a = _alarms(ioc_city).get()
    services.alarm_close(actor=cast["operator"], alarm=a, note="Checked on site")
    assert services.sweep(ioc_city).raised == 0
    # It begins anew (a later raised_at than the close): a new alarm for the same key.
    conditions.items = [conditions.candidate("A", minutes_ago=-1)]
    assert services.sweep(ioc_city).raised == 1
    assert _alarms(ioc_city).count() == 2
    assert _alarms(ioc_city).exclude(status="closed").count() == 1


def test_a_failing_source_is_logged_and_skipped(ioc_city, ioc_module, conditions, caplog):
    from dothi.core.manifests import Manifest, registry

    conditions.items = [conditions.candidate("A")]
    services.sweep(ioc_city)

    other_calls = []

    def other(city, now):
        other_calls.append(now)
        return [conditions.candidate("OTHER")]

    registry.register(Manifest(name="iocprobe2", alarm_sources=(other,)))
    try:
        conditions.fail = True
        with caplog.at_level("ERROR", logger="dothi.ioc.services"):
            result = services.sweep(ioc_city)
    finally:
        registry.unregister("iocprobe2")
    assert result.failed == (MODULE,)
    assert "iocprobe" in caplog.text and "the probe's database is down" in caplog.text
    # The other module's alarm is raised; the failing module's alarm is left alone (not cleared).
    assert result.raised == 1 and result.cleared == 0
    assert Alarm.objects.filter(module="iocprobe2").count() == 1
    assert _alarms(ioc_city).get().cleared_at is None


def test_a_source_that_breaks_the_transaction_does_not_break_the_sweep(ioc_city, ioc_module, conditions):
    from dothi.core.manifests import Manifest, registry

    def bad_sql(city, now):
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table_here")
        return []

    registry.register(Manifest(name="iocprobe3", alarm_sources=(bad_sql,)))
    try:
        conditions.items = [conditions.candidate("A")]
        result = services.sweep(ioc_city)
    finally:
        registry.unregister("iocprobe3")
    assert result.raised == 1 and result.failed == ("iocprobe3",)


def test_a_disabled_module_is_not_swept(ioc_city, ioc_module, conditions):
    conditions.items = [conditions.candidate("A")]
    ioc_city.enabled_modules = ["ioc", "alerts"]
    ioc_city.save()
    assert services.sweep(ioc_city).raised == 0
    assert conditions.calls == 0


def test_sweep_all_sweeps_every_active_city(ioc_city, other_city, ioc_module, conditions):
    from dothi.ioc.tasks import sweep_all

    conditions.items = [conditions.candidate("A")]
    result = sweep_all.call()
    assert result["raised"] == 2
    assert Alarm.objects.filter(module=MODULE).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_open_one_alarm_per_key(ioc_city, ioc_module, conditions):
    """Two sweeps at once (threads, each its own connection): one alarm per key, no error."""
    conditions.items = [conditions.candidate(k) for k in "ABCDEFGH"]
    barrier = threading.Barrier(4)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(services.sweep(ioc_city))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert _alarms(ioc_city).count() == 8
    assert sum(r.raised for r in results) == 8
    assert sum(r.raised + r.seen for r in results) == 32


def test_the_partial_constraint_allows_a_closed_and_an_open_alarm_per_key(ioc_city, alarm):
    from django.db import IntegrityError, transaction

    first = alarm("k", status="closed")
    alarm("k")
    with pytest.raises(IntegrityError), transaction.atomic():
        alarm("k")
    assert first.pk


# --- Alarm actions ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["operator", "city_admin", "platform_admin", *NOT_HANDLERS])
def test_who_may_acknowledge(role, cast, alarm):
    a = alarm()
    if role in HANDLERS:
        services.alarm_acknowledge(actor=cast[role], alarm=a)
        a.refresh_from_db()
        assert a.status == "acknowledged" and a.acknowledged_by == cast[role]
    else:
        with pytest.raises(PermissionDenied):
            services.alarm_acknowledge(actor=cast[role], alarm=a)
        a.refresh_from_db()
        assert a.status == "open" and not IncidentEntry.objects.exists()


def test_acknowledge_writes_the_log_and_the_audit(cast, alarm):
    a = alarm()
    services.alarm_acknowledge(actor=cast["operator"], alarm=a)
    entry = IncidentEntry.objects.get(alarm=a)
    assert entry.kind == "alarm" and entry.author == cast["operator"] and a.title in entry.text
    event = AuditEvent.objects.get(object_type="ioc.alarm", object_id=str(a.pk))
    assert event.actor == cast["operator"] and event.details["action"] == "acknowledge"
    with pytest.raises(Conflict):
        services.alarm_acknowledge(actor=cast["operator"], alarm=a)
    assert IncidentEntry.objects.filter(alarm=a).count() == 1


def test_an_alarm_of_another_city_is_refused(cast, alarm, other_city):
    other_operator = factories.make_staff(other_city, "operator")
    a = alarm()
    with pytest.raises(PermissionDenied):
        services.alarm_acknowledge(actor=other_operator, alarm=a)


def test_assign_to_a_staff_member_of_the_city(cast, alarm, other_city):
    a = alarm()
    services.alarm_assign(actor=cast["operator"], alarm=a, assignee=cast["agency_staff"])
    a.refresh_from_db()
    assert a.status == "assigned" and a.assigned_to == cast["agency_staff"]
    # Assigning acknowledges what nobody had.
    assert a.acknowledged_by == cast["operator"] and a.acknowledged_at is not None
    entry = IncidentEntry.objects.get(alarm=a)
    assert cast["agency_staff"].display_name in entry.text
    assert AuditEvent.objects.get(object_id=str(a.pk), object_type="ioc.alarm").details["assignee"] == (
        cast["agency_staff"].pk
    )
    # Reassign to someone else; the same person again is a conflict.
    services.alarm_assign(actor=cast["city_admin"], alarm=a, assignee=cast["council_member"])
    with pytest.raises(Conflict):
        services.alarm_assign(actor=cast["city_admin"], alarm=a, assignee=cast["council_member"])


@pytest.mark.parametrize("who", ["citizen", "other_city_staff", "inactive"])
def test_assign_refuses_anyone_but_city_staff(who, cast, alarm, other_city):
    a = alarm()
    if who == "citizen":
        assignee = cast["citizen"]
    elif who == "other_city_staff":
        assignee = factories.make_staff(other_city, "operator")
    else:
        assignee = factories.make_staff(a.city, "agency_staff")
        assignee.is_active = False
        assignee.save()
    with pytest.raises(InvalidInput) as err:
        services.alarm_assign(actor=cast["operator"], alarm=a, assignee=assignee)
    assert err.value.field == "assignee"
    a.refresh_from_db()
    assert a.status == "open" and a.assigned_to is None


@pytest.mark.parametrize("role", ["agency_manager", "council_member", "agency_staff", "citizen"])
def test_who_may_not_assign_or_close(role, cast, alarm):
    a = alarm()
    with pytest.raises(PermissionDenied):
        services.alarm_assign(actor=cast[role], alarm=a, assignee=cast["agency_staff"])
    with pytest.raises(PermissionDenied):
        services.alarm_close(actor=cast[role], alarm=a, note="done")
    a.refresh_from_db()
    assert a.status == "open"


def test_close_needs_a_note(cast, alarm):
    a = alarm()
    for note in ("", "   ", "x" * (services.NOTE_MAX + 1)):
        with pytest.raises(InvalidInput) as err:
            services.alarm_close(actor=cast["operator"], alarm=a, note=note)
        assert err.value.field == "note"
    a.refresh_from_db()
    assert a.status == "open" and not IncidentEntry.objects.exists()
    services.alarm_close(actor=cast["operator"], alarm=a, note="  Pump restarted  ")
    a.refresh_from_db()
    assert (a.status, a.closing_note, a.closed_by) == ("closed", "Pump restarted", cast["operator"])
    assert "Pump restarted" in IncidentEntry.objects.get(alarm=a).text
    for action in (
        lambda: services.alarm_close(actor=cast["operator"], alarm=a, note="again"),
        lambda: services.alarm_acknowledge(actor=cast["operator"], alarm=a),
        lambda: services.alarm_assign(actor=cast["operator"], alarm=a, assignee=cast["agency_staff"]),
    ):
        with pytest.raises(Conflict):
            action()


# --- The incident log -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["operator", "city_admin", "agency_manager", "council_member", "citizen"])
def test_who_may_write_the_log(role, cast, ioc_city):
    if role in ("operator", "city_admin"):
        entry = services.log_add(actor=cast[role], city=ioc_city, kind="call", text=" Called the police ")
        assert (entry.kind, entry.text, entry.author) == ("call", "Called the police", cast[role])
        assert AuditEvent.objects.filter(object_type="ioc.incidententry", object_id=str(entry.pk)).exists()
    else:
        with pytest.raises(PermissionDenied):
            services.log_add(actor=cast[role], city=ioc_city, kind="note", text="x")
        assert not IncidentEntry.objects.exists()


def test_log_validates_kind_text_alarm_and_commune(cast, ioc_city, other_city, alarm):
    op = cast["operator"]
    hcm_commune = Commune.objects.filter(province_id="79").values_list("code", flat=True).first()
    assert hcm_commune
    bad = [
        ({"kind": "alarm", "text": "x"}, "kind"),  # written only by the alarm actions
        ({"kind": "gossip", "text": "x"}, "kind"),
        ({"kind": "note", "text": "  "}, "text"),
        ({"kind": "note", "text": "x" * (services.TEXT_MAX + 1)}, "text"),
        ({"kind": "note", "text": "x", "commune": "99999"}, "commune"),
        ({"kind": "note", "text": "x", "commune": hcm_commune}, "commune"),  # another province's commune
    ]
    for kwargs, field in bad:
        with pytest.raises(InvalidInput) as err:
            services.log_add(actor=op, city=ioc_city, **kwargs)
        assert err.value.field == field, kwargs
    foreign = Alarm.objects.create(
        city=other_city,
        key="k",
        module="m",
        kind="k",
        title="t",
        raised_at=timezone.now(),
        seen_at=timezone.now(),
    )
    with pytest.raises(InvalidInput):
        services.log_add(actor=op, city=ioc_city, kind="note", text="x", alarm=foreign)
    assert not IncidentEntry.objects.exists()
    commune = Commune.objects.filter(province_id=ioc_city.province_code).first()
    a = alarm(commune=commune)
    entry = services.log_add(actor=op, city=ioc_city, kind="action", text="Sent a team", alarm=a)
    assert entry.alarm == a and entry.commune == commune


# --- Shift handovers --------------------------------------------------------------------------------


def test_handover_snapshots_the_open_alarms(cast, ioc_city, alarm):
    open_one = alarm("a", level="danger")
    alarm("b", status="closed")
    h = services.handover_create(actor=cast["operator"], city=ioc_city, notes=" Quiet night ")
    assert h.notes == "Quiet night" and h.handed_to is None
    assert h.open_alarms == [
        {"id": open_one.pk, "key": "a", "title": open_one.title, "level": "danger", "status": "open"}
    ]
    assert AuditEvent.objects.filter(object_type="ioc.shifthandover", object_id=str(h.pk)).exists()


@pytest.mark.parametrize("role", ["agency_manager", "council_member", "agency_staff", "citizen"])
def test_who_may_not_hand_over(role, cast, ioc_city):
    with pytest.raises(PermissionDenied):
        services.handover_create(actor=cast[role], city=ioc_city, notes="x")
    assert not ShiftHandover.objects.exists()


def test_handover_validates_notes_and_who_takes_over(cast, ioc_city):
    op = cast["operator"]
    for kwargs, field in [
        ({"notes": " "}, "notes"),
        ({"notes": "x", "handed_to": op}, "handed_to"),
        ({"notes": "x", "handed_to": cast["council_member"]}, "handed_to"),  # not an operator
    ]:
        with pytest.raises(InvalidInput) as err:
            services.handover_create(actor=op, city=ioc_city, **kwargs)
        assert err.value.field == field
    assert not ShiftHandover.objects.exists()


def test_only_the_named_operator_accepts(cast, ioc_city):
    next_op = factories.make_staff(ioc_city, "operator")
    h = services.handover_create(actor=cast["operator"], city=ioc_city, notes="x", handed_to=next_op)
    for who in (cast["city_admin"], cast["operator"]):
        with pytest.raises(PermissionDenied):
            services.handover_accept(actor=who, handover=h)
    with pytest.raises(PermissionDenied):
        services.handover_accept(actor=cast["council_member"], handover=h)
    h.refresh_from_db()
    assert h.accepted_at is None
    services.handover_accept(actor=next_op, handover=h)
    h.refresh_from_db()
    assert h.accepted_at is not None
    with pytest.raises(Conflict):
        services.handover_accept(actor=next_op, handover=h)


def test_any_other_operator_accepts_an_open_handover(cast, ioc_city):
    h = services.handover_create(actor=cast["operator"], city=ioc_city, notes="x")
    with pytest.raises(Conflict):
        services.handover_accept(actor=cast["operator"], handover=h)  # not one's own
    services.handover_accept(actor=cast["city_admin"], handover=h)
    h.refresh_from_db()
    assert h.accepted_at is not None
