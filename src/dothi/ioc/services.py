"""Writes of the control centre: the alarm sweep, what operators do with alarms, the incident log and
shift handovers.

The sweep turns every module's alarm conditions (`Manifest.alarm_sources`, read through the registry)
into `Alarm` rows; the other services are the operators' work. Every service checks its permission
(`ioc.*` in the manifest), runs in one transaction and writes the audit trail; each alarm action also
writes an incident-log entry of kind `alarm`, so the log reads as the shift's story.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from dothi.core import audit
from dothi.core.errors import Conflict, InvalidInput
from dothi.core.manifests import AlarmCandidate, registry
from dothi.core.models import AuditEvent, City, Commune
from dothi.core.permissions import can, require
from dothi.ioc.models import Alarm, AlarmLevel, IncidentEntry, ShiftHandover

logger = logging.getLogger(__name__)

NOTE_MAX = 2000
TEXT_MAX = 5000
# What an operator may write by hand; "alarm" entries are written by the alarm actions.
HAND_KINDS = (
    IncidentEntry.Kind.NOTE,
    IncidentEntry.Kind.ACTION,
    IncidentEntry.Kind.CALL,
    IncidentEntry.Kind.DECISION,
)


def _active(qs):
    return qs.exclude(status=Alarm.Status.CLOSED)


# --- The sweep --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    raised: int  # new alarms
    cleared: int  # alarms whose condition the module stopped reporting
    seen: int  # alarms still reported (their `seen_at` moved on)
    failed: tuple[str, ...] = ()  # modules whose source raised (logged and skipped)


def _collect(city: City, now: datetime) -> tuple[dict[str, tuple[str, AlarmCandidate]], set[str]]:
    """Every source's candidates by key (the first source to report a key wins), and the modules one of
    whose sources failed: their alarms are neither raised nor cleared this time."""
    found: dict[str, tuple[str, AlarmCandidate]] = {}
    failed: set[str] = set()
    for module, source in registry.alarm_sources(city):
        try:
            # A savepoint: a source's failed query must not break the sweep's (or a caller's) transaction.
            with transaction.atomic():
                candidates = list(source(city, now))
        except Exception:
            logger.exception("ioc sweep: an alarm source of %s failed in %s; skipped", module, city.slug)
            failed.add(module)
            continue
        for c in candidates:
            if not isinstance(c, AlarmCandidate) or not c.key:
                logger.warning("ioc sweep: %s returned %r, not an AlarmCandidate with a key", module, c)
                continue
            found.setdefault(c.key[:160], (module, c))
    return found, failed


def _fields(city: City, module: str, c: AlarmCandidate, communes: dict[str, Commune]) -> dict:
    return {
        "module": module[:40],
        "kind": (c.kind or "")[:40],
        "level": c.level if c.level in AlarmLevel.values else AlarmLevel.WARNING,
        "title": (c.title or c.key)[:300],
        "detail": c.detail or "",
        "url": (c.url or "")[:300],
        "lon": c.lon,
        "lat": c.lat,
        "commune": communes.get(c.commune_code or ""),
    }


def sweep(city: City, *, now: datetime | None = None) -> SweepResult:
    """Call every module's alarm sources and bring the alarms up to date: a new condition raises an
    alarm, one still reported is seen again (its level, title and place follow the module), one no
    longer reported is marked cleared (it stays on the operators' list until they close it).

    A source that raises is logged and skipped: the others' alarms still move, and that module's alarms
    are left as they were (not cleared). Idempotent: a second sweep with the same conditions raises
    nothing. A condition whose alarm an operator closed after it began is not raised again; it is when
    it begins anew (a later `raised_at`). Two sweeps at once cannot open two alarms for one key: the
    database's partial unique constraint refuses the second insert, which then counts as seen."""
    now = now or timezone.now()
    found, failed = _collect(city, now)
    codes = {c.commune_code for _m, c in found.values() if c.commune_code}
    communes = {c.code: c for c in Commune.objects.filter(code__in=codes, province_id=city.province_code)}
    raised: list[str] = []
    cleared: list[str] = []
    seen = 0
    with transaction.atomic():
        open_alarms = {a.key: a for a in _active(Alarm.objects.for_city(city)).select_for_update()}
        new_keys = [k for k in found if k not in open_alarms]
        closed_last = dict(
            Alarm.objects.for_city(city)
            .filter(key__in=new_keys, status=Alarm.Status.CLOSED)
            .values("key")
            .annotate(last=Max("closed_at"))
            .values_list("key", "last")
        )
        # In key order: two sweeps at once insert in the same order, so neither waits on the other twice.
        for key, (module, c) in sorted(found.items()):
            fields = _fields(city, module, c, communes)
            alarm = open_alarms.get(key)
            if alarm is None:
                last = closed_last.get(key)
                if last is not None and c.raised_at is not None and last >= c.raised_at:
                    continue  # the operators closed this very occurrence
                try:
                    with transaction.atomic():
                        Alarm.objects.create(
                            city=city, key=key, raised_at=c.raised_at or now, seen_at=now, **fields
                        )
                    raised.append(key)
                    continue
                except IntegrityError:
                    # Another sweep opened it first (committed while this one waited on the index).
                    alarm = _active(Alarm.objects.for_city(city)).filter(key=key).select_for_update().first()
                    if alarm is None:
                        continue
            alarm.seen_at = now
            alarm.cleared_at = None
            for name, value in fields.items():
                setattr(alarm, name, value)
            alarm.save(update_fields=["seen_at", "cleared_at", *fields])
            seen += 1
        for key, alarm in open_alarms.items():
            if key in found or alarm.cleared_at is not None or alarm.module in failed:
                continue
            alarm.cleared_at = now
            alarm.save(update_fields=["cleared_at"])
            cleared.append(key)
        if raised or cleared:
            audit.record(
                actor=None,
                action=AuditEvent.Action.UPDATE,
                object_type="ioc.alarm",
                city=city,
                summary=f"alarm sweep: {len(raised)} raised, {len(cleared)} cleared",
                details={"raised": raised[:100], "cleared": cleared[:100], "failed": sorted(failed)},
            )
    return SweepResult(raised=len(raised), cleared=len(cleared), seen=seen, failed=tuple(sorted(failed)))


# --- Alarm actions ----------------------------------------------------------------------------------


def _locked(alarm: Alarm) -> Alarm:
    """The alarm's row, locked for this transaction, copied onto the caller's object."""
    fresh = Alarm.objects.select_for_update().get(pk=alarm.pk, city_id=alarm.city_id)
    alarm.__dict__.update({k: v for k, v in fresh.__dict__.items() if not k.startswith("_")})
    return alarm


def _log_alarm(actor, alarm: Alarm, text: str, action: str, details: dict | None = None) -> None:
    IncidentEntry.objects.create(
        city_id=alarm.city_id,
        author=actor,
        kind=IncidentEntry.Kind.ALARM,
        text=text,
        alarm=alarm,
        commune_id=alarm.commune_id,
    )
    audit.record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=alarm,
        city=alarm.city,
        summary=f"alarm {action}: {alarm.key}"[:300],
        details={"action": action, **(details or {})},
    )


def _refuse_closed(alarm: Alarm) -> None:
    if alarm.status == Alarm.Status.CLOSED:
        raise Conflict(_("This alarm is closed already."), code="closed")


def alarm_acknowledge(*, actor, alarm: Alarm) -> Alarm:
    """The operator has seen it: open → acknowledged."""
    require(actor, "ioc.alarm.handle", alarm.city)
    with transaction.atomic():
        _locked(alarm)
        _refuse_closed(alarm)
        if alarm.status != Alarm.Status.OPEN:
            raise Conflict(_("This alarm is acknowledged already."), code="acknowledged")
        alarm.status = Alarm.Status.ACKNOWLEDGED
        alarm.acknowledged_by = actor
        alarm.acknowledged_at = timezone.now()
        alarm.save(update_fields=["status", "acknowledged_by", "acknowledged_at"])
        _log_alarm(actor, alarm, _("Acknowledged: %(title)s") % {"title": alarm.title}, "acknowledge")
    return alarm


def _is_city_staff(user, city: City) -> bool:
    return bool(user is not None and user.is_active and user.memberships.filter(city=city).exists())


def alarm_assign(*, actor, alarm: Alarm, assignee) -> Alarm:
    """Give the alarm to someone to deal with (any staff member of the city; again to change who).
    Assigning an alarm nobody acknowledged acknowledges it too."""
    require(actor, "ioc.alarm.handle", alarm.city)
    if not _is_city_staff(assignee, alarm.city):
        raise InvalidInput(_("Choose a staff member of this city."), field="assignee")
    with transaction.atomic():
        _locked(alarm)
        _refuse_closed(alarm)
        if alarm.status == Alarm.Status.ASSIGNED and alarm.assigned_to_id == assignee.pk:
            raise Conflict(
                _("This alarm is assigned to this person already."), code="assigned", field="assignee"
            )
        now = timezone.now()
        if alarm.acknowledged_at is None:
            alarm.acknowledged_by = actor
            alarm.acknowledged_at = now
        alarm.status = Alarm.Status.ASSIGNED
        alarm.assigned_to = assignee
        alarm.assigned_at = now
        alarm.save(
            update_fields=["status", "acknowledged_by", "acknowledged_at", "assigned_to", "assigned_at"]
        )
        name = assignee.display_name or assignee.get_username()
        _log_alarm(
            actor,
            alarm,
            _("Assigned to %(name)s: %(title)s") % {"name": name, "title": alarm.title},
            "assign",
            {"assignee": assignee.pk},
        )
    return alarm


def alarm_close(*, actor, alarm: Alarm, note: str) -> Alarm:
    """Done with it, with a note saying what was done (required)."""
    require(actor, "ioc.alarm.handle", alarm.city)
    note = (note or "").strip()
    if not note:
        raise InvalidInput(_("Say what was done before closing the alarm."), field="note")
    if len(note) > NOTE_MAX:
        raise InvalidInput(
            _("The note is too long (at most %(n)d characters).") % {"n": NOTE_MAX}, field="note"
        )
    with transaction.atomic():
        _locked(alarm)
        _refuse_closed(alarm)
        alarm.status = Alarm.Status.CLOSED
        alarm.closed_by = actor
        alarm.closed_at = timezone.now()
        alarm.closing_note = note
        alarm.save(update_fields=["status", "closed_by", "closed_at", "closing_note"])
        _log_alarm(
            actor, alarm, _("Closed: %(title)s — %(note)s") % {"title": alarm.title, "note": note}, "close"
        )
    return alarm


# --- The incident log -------------------------------------------------------------------------------


def _commune_of(city: City, commune) -> Commune | None:
    if commune in (None, ""):
        return None
    code = commune.code if isinstance(commune, Commune) else str(commune)
    found = Commune.objects.filter(code=code, province_id=city.province_code).first()
    if found is None:
        raise InvalidInput(_("This commune is not in the city."), field="commune")
    return found


def log_add(
    *, actor, city: City, kind: str, text: str, alarm: Alarm | None = None, commune=None
) -> IncidentEntry:
    """Add an entry to the incident log (append-only: a correction is a new entry)."""
    require(actor, "ioc.log.write", city)
    if kind not in HAND_KINDS:
        raise InvalidInput(_("Choose what kind of entry this is."), field="kind")
    text = (text or "").strip()
    if not text:
        raise InvalidInput(_("Write what happened."), field="text")
    if len(text) > TEXT_MAX:
        raise InvalidInput(
            _("The text is too long (at most %(n)d characters).") % {"n": TEXT_MAX}, field="text"
        )
    if alarm is not None and alarm.city_id != city.pk:
        raise InvalidInput(_("This alarm is not in the city."), field="alarm")
    place = _commune_of(city, commune)
    with transaction.atomic():
        entry = IncidentEntry.objects.create(
            city=city,
            author=actor,
            kind=kind,
            text=text,
            alarm=alarm,
            commune=place or (alarm.commune if alarm is not None else None),
        )
        audit.record(
            actor=actor,
            action=AuditEvent.Action.CREATE,
            obj=entry,
            city=city,
            summary=f"incident log: {kind}",
        )
    return entry


# --- Shift handovers --------------------------------------------------------------------------------


def _snapshot(city: City) -> list[dict]:
    return [
        {"id": a.pk, "key": a.key, "title": a.title, "level": a.level, "status": a.status}
        for a in _active(Alarm.objects.for_city(city)).order_by("-raised_at", "-pk")[:500]
    ]


def handover_create(*, actor, city: City, notes: str, handed_to=None) -> ShiftHandover:
    """Hand the shift over, with notes and a snapshot of the alarms not closed; to a named operator
    (who alone may accept it) or to whoever takes the next shift."""
    require(actor, "ioc.handover", city)
    notes = (notes or "").strip()
    if not notes:
        raise InvalidInput(_("Write what the next shift needs to know."), field="notes")
    if len(notes) > TEXT_MAX:
        raise InvalidInput(
            _("The notes are too long (at most %(n)d characters).") % {"n": TEXT_MAX}, field="notes"
        )
    if handed_to is not None:
        if handed_to.pk == actor.pk:
            raise InvalidInput(_("Hand the shift over to someone else."), field="handed_to")
        if not can(handed_to, "ioc.handover", city) or not _is_city_staff(handed_to, city):
            raise InvalidInput(_("Choose an operator of this city."), field="handed_to")
    with transaction.atomic():
        handover = ShiftHandover.objects.create(
            city=city, handed_by=actor, handed_to=handed_to, notes=notes, open_alarms=_snapshot(city)
        )
        audit.record(
            actor=actor,
            action=AuditEvent.Action.CREATE,
            obj=handover,
            city=city,
            summary="shift handover",
            details={
                "handed_to": handed_to.pk if handed_to else None,
                "open_alarms": len(handover.open_alarms),
            },
        )
    return handover


def handover_accept(*, actor, handover: ShiftHandover) -> ShiftHandover:
    """Take the shift: only the operator it was handed to, or any other operator when it names none."""
    require(actor, "ioc.handover", handover.city)
    with transaction.atomic():
        fresh = ShiftHandover.objects.select_for_update().get(pk=handover.pk, city_id=handover.city_id)
        if fresh.accepted_at is not None:
            raise Conflict(_("This handover is accepted already."), code="accepted")
        if fresh.handed_to_id is not None and fresh.handed_to_id != actor.pk:
            raise PermissionDenied(_("This shift was handed over to someone else."))
        if fresh.handed_to_id is None and fresh.handed_by_id == actor.pk:
            raise Conflict(_("You cannot accept your own handover."), code="own")
        fresh.accepted_at = timezone.now()
        fresh.save(update_fields=["accepted_at"])
        handover.accepted_at = fresh.accepted_at
        audit.record(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            obj=handover,
            city=handover.city,
            summary="shift handover accepted",
        )
    return handover
