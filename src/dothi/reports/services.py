"""Writes of the reports module: submitting, following, the agency workflow, moderation, escalation
and Open311 keys.

Every service is keyword-only and runs in one transaction; it checks the actor's permission, writes
the audit trail, notifies the reporter and followers of every status change, and raises
dothi.core.errors.* for bad input, so nothing is stored. Statuses and who may move a report between
them: `TRANSITIONS` below and docs/modules/reports.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from dothi.core import audit
from dothi.core.cities import policy
from dothi.core.errors import DomainError, InvalidInput, NotFound
from dothi.core.geo import locate
from dothi.core.inserts import insert_family
from dothi.core.models import AuditEvent, City, Organisation
from dothi.core.parsing import clean_text
from dothi.core.permissions import PLATFORM_ADMIN, require, roles_of
from dothi.core.services import notify
from dothi.reports import deadlines, selectors, stats
from dothi.reports import photos as photos_mod
from dothi.reports.models import (
    OPEN_STATUSES,
    Category,
    CategoryAttribute,
    Channel,
    Follower,
    Open311Key,
    Priority,
    Report,
    ReportEvent,
    ReportPhoto,
    Status,
)

DESCRIPTION_MAX = 5000
TEXT_MAX = 5000
REASON_MAX = 1000
ADDRESS_MAX = 300
# The reporter may confirm the fix or reopen the report within this many days of its resolution;
# after that the report closes by itself.
CONFIRM_WINDOW_DAYS = 14
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U

S = Status
# Who may move a report from one status to another: "staff" = staff allowed to handle it (its
# agency's staff, operators, city administrators), "reporter" = the person who reported it,
# "moderator" = operators and city administrators (reports.moderate), "system" = scheduled jobs.
_STAFF_FROM_OPEN = {
    S.IN_PROGRESS: "staff",
    S.NEEDS_INFO: "staff",
    S.RESOLVED: "staff",
    S.REJECTED: "staff",
    S.DUPLICATE: "staff",
}
TRANSITIONS: dict[str, dict[str, str]] = {
    S.RECEIVED: {S.ASSIGNED: "staff", **_STAFF_FROM_OPEN},
    S.ASSIGNED: {**_STAFF_FROM_OPEN},
    S.IN_PROGRESS: {S.ASSIGNED: "staff", **{k: v for k, v in _STAFF_FROM_OPEN.items() if k != S.IN_PROGRESS}},
    # The reporter's answer (report_provide_info) or the staff resume the work.
    S.NEEDS_INFO: {S.IN_PROGRESS: "staff", S.RESOLVED: "staff", S.REJECTED: "staff", S.DUPLICATE: "staff"},
    S.RESOLVED: {S.CLOSED: "reporter", S.REOPENED: "reporter"},
    S.REOPENED: {S.ASSIGNED: "staff", **_STAFF_FROM_OPEN},
    # A wrongly rejected report can be sent back to the agency by an operator or city administrator.
    S.REJECTED: {S.REOPENED: "moderator"},
    S.CLOSED: {},
    S.DUPLICATE: {},
}
TERMINAL = (S.CLOSED, S.REJECTED, S.DUPLICATE)


# --- Helpers -----------------------------------------------------------------------------------




def report_url(report: Report) -> str:
    try:
        return reverse("reports:detail", kwargs={"reference": report.reference})
    except NoReverseMatch:
        return f"/reports/{report.reference}/"


def _event(
    report: Report,
    *,
    kind: str,
    actor=None,
    text: str = "",
    public: bool = True,
    from_status: str = "",
    to_status: str = "",
    data: dict | None = None,
    at: datetime | None = None,
) -> ReportEvent:
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    return ReportEvent.objects.create(
        report=report,
        kind=kind,
        actor=actor if authenticated else None,
        text=text,
        public=public,
        from_status=from_status,
        to_status=to_status,
        data=data or {},
        at=at or timezone.now(),
    )


def _notify_followers(report: Report, *, actor=None, title_fn, body: str = "") -> int:
    """Notify the reporter and every follower (not the person who made the change), each in their
    own language."""
    recipients = {f.user for f in report.followers.select_related("user")}
    if report.reporter is not None:
        recipients.add(report.reporter)
    sent = 0
    for person in recipients:
        if actor is not None and getattr(actor, "pk", None) == person.pk or not person.is_active:
            continue
        with translation.override(person.language or report.city.default_language):
            notify(
                recipient=person,
                city=report.city,
                topic="reports.status",
                title=title_fn(),
                body=body[:2000],
                url=report_url(report),
            )
        sent += 1
    return sent


def _status_label(status: str) -> str:
    return str(Status(status).label)


def _save_files(
    report: Report, cleaned: list[photos_mod.CleanFile], *, kind: str, uploaded_by, written: list[str]
) -> list[ReportPhoto]:
    out = []
    for item in cleaned:
        photo = ReportPhoto(
            report=report,
            kind=kind,
            token=secrets.token_hex(16),
            extension=item.extension,
            content_type=item.content_type,
            size=len(item.content),
            uploaded_by=uploaded_by if getattr(uploaded_by, "is_authenticated", False) else None,
        )
        photo.file.save(f"{photo.token}.{item.extension}", ContentFile(item.content), save=False)
        written.append(photo.file.name)
        photo.save()
        out.append(photo)
    return out


def _discard(names: list[str]) -> None:
    """Remove files written by a service whose transaction failed: nothing stored means no file."""
    from django.core.files.storage import default_storage

    for name in names:
        with contextlib.suppress(OSError):
            default_storage.delete(name)


def _with_files(fn=None, *, admit=None):
    """Run a service that writes files in one transaction; on any failure delete the files it wrote.

    `admit(kwargs) -> kwargs`, when given, runs first and outside the transaction: for checks that
    write rows of their own (rate-limit counters), which must not stay locked for the whole service."""
    import functools

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if admit is not None:
                kwargs = admit(kwargs)
            written: list[str] = []
            try:
                with transaction.atomic():
                    return fn(*args, _written=written, **kwargs)
            except BaseException:
                _discard(written)
                raise

        return wrapper

    return decorate(fn) if fn is not None else decorate


def _lock(report: Report) -> Report:
    """Re-read the report under a row lock: two staff acting at once must not both win."""
    return (
        Report.objects.select_for_update(of=("self",))
        .select_related("city", "category", "agency", "reporter")
        .get(pk=report.pk)
    )


# --- Submission --------------------------------------------------------------------------------


def _validate_attributes(category: Category, attributes: Any) -> dict[str, Any]:
    """Check the answers against the category's questions: required ones present, types right, list
    values among the choices, no unknown codes. Returns the normalised answers."""
    if attributes is None:
        attributes = {}
    if not isinstance(attributes, dict):
        raise InvalidInput(
            _("The answers must be a mapping of question codes to values."), field="attributes"
        )
    questions = {a.code: a for a in category.attributes.all()}
    unknown = sorted(str(k) for k in attributes if k not in questions)
    if unknown:
        raise InvalidInput(
            _("Unknown question: %(code)s.") % {"code": unknown[0][:60]},
            field="attributes",
            code="attribute_unknown",
        )
    clean: dict[str, Any] = {}
    for code, question in questions.items():
        value = attributes.get(code)
        empty = value is None or value == "" or value == [] or (isinstance(value, str) and not value.strip())
        if empty:
            if question.required:
                raise InvalidInput(
                    _("Please answer: %(question)s") % {"question": question.label},
                    field=f"attributes.{code}",
                    code="attribute_required",
                )
            continue
        clean[code] = _attribute_value(question, value)
    return clean


def _attribute_value(question: CategoryAttribute, value: Any) -> Any:
    field = f"attributes.{question.code}"
    dt = CategoryAttribute.Datatype
    keys = {str(v.get("key")) for v in question.values or [] if isinstance(v, dict)}
    wrong = InvalidInput(
        _("The answer to “%(question)s” is not valid.") % {"question": question.label},
        field=field,
        code="attribute_invalid",
    )
    if question.datatype in (dt.STRING, dt.TEXT):
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        max_len = 200 if question.datatype == dt.STRING else 2000
        return clean_text(value, field=field, max_len=max_len, required=True)
    if question.datatype == dt.NUMBER:
        if isinstance(value, bool):
            raise wrong
        try:
            number = Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            raise wrong
        if not number.is_finite():
            raise wrong
        return int(number) if number == number.to_integral_value() else float(number)
    if question.datatype == dt.DATETIME:
        if isinstance(value, datetime):
            moment = value
        else:
            try:
                moment = parse_datetime(str(value).strip())
            except ValueError:
                moment = None
        if moment is None:
            raise wrong
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return moment.isoformat()
    if question.datatype == dt.SINGLE:
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if not isinstance(value, str | int) or str(value) not in keys:
            raise wrong
        return str(value)
    if question.datatype == dt.MULTI:
        values = value if isinstance(value, list | tuple) else [value]
        if not values or any(not isinstance(v, str | int) or str(v) not in keys for v in values):
            raise wrong
        return list(dict.fromkeys(str(v) for v in values))
    raise wrong


def _clean_contact(contact: Any) -> dict[str, str]:
    if contact is None:
        return {}
    if not isinstance(contact, dict):
        raise InvalidInput(_("The contact details are not valid."), field="contact")
    clean = {}
    for key in ("name", "phone", "email"):
        clean[key] = clean_text(contact.get(key), field=key, max_len=200, required=False)
    if clean["email"]:
        try:
            validate_email(clean["email"])
        except ValidationError:
            raise InvalidInput(_("Enter a valid e-mail address."), field="email", code="email_invalid")
    if clean["phone"] and not all(c.isdigit() or c in "+-. ()" for c in clean["phone"]):
        raise InvalidInput(_("Enter a valid phone number."), field="phone", code="phone_invalid")
    return {k: v for k, v in clean.items() if v}


def new_reference(city: City, when: datetime | None = None) -> str:
    """A reference like "DAN-261123-4K7Q2M": city, local date, 6 random base32 characters."""
    when = timezone.localtime(when or timezone.now(), _tz(city))
    code = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))
    prefix = "".join(c for c in city.slug.upper() if c.isalnum())[:3] or "RPT"
    return f"{prefix}-{when:%y%m%d}-{code}"


def _tz(city: City):
    from zoneinfo import ZoneInfo

    return ZoneInfo(city.time_zone or settings.TIME_ZONE)


def _existing_idempotent(*, reporter, open311_key, filed_by, idempotency_key: str) -> Report | None:
    if not idempotency_key:
        return None
    if reporter is not None:
        qs = Report.objects.filter(reporter=reporter)
    elif open311_key is not None:
        qs = Report.objects.filter(open311_key=open311_key)
    elif filed_by is not None:
        qs = Report.objects.filter(filed_by=filed_by, channel__in=[Channel.HOTLINE, Channel.WALK_IN])
    else:
        return None
    return qs.filter(idempotency_key=idempotency_key).first()


def _limit_open311_key(key: Open311Key, request) -> None:
    """Per-key rate limit (key.rate) through the same cache as the citizen limits."""
    from types import SimpleNamespace

    from dothi.core.errors import RateLimited
    from dothi.core.ratelimit import counted_over

    probe = request if request is not None else SimpleNamespace(method="POST", META={})
    if counted_over(
        probe, group=f"dothi.open311:{key.city_id}", key=lambda _g, _r: f"key:{key.pk}",
        rate=key.rate or "600/h",
    ):
        raise RateLimited(
            _("This application is sending too many requests. Please try again later."),
            scope="reports.open311",
        )


def _check_submitter(*, city: City, actor, channel: str, open311_key) -> None:
    if channel == Channel.APP:
        require(actor, "reports.submit", city)
        minimum = int(policy(city, "identity").get("min_level_for_writes", 2))
        if actor.kind == actor.Kind.CITIZEN and actor.verification_level < minimum:
            raise PermissionDenied(_("Confirm your citizen ID before sending reports."))
    elif channel in (Channel.HOTLINE, Channel.WALK_IN):
        require(actor, "reports.file_on_behalf", city)
    elif channel == Channel.OPEN311:
        if (
            not isinstance(open311_key, Open311Key)
            or not open311_key.is_active
            or open311_key.city_id != city.pk
        ):
            raise PermissionDenied(_("The API key is not valid."))
    else:
        raise InvalidInput(_("Unknown channel."), field="channel")


def _admit_submission(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Who may submit, and the rate limits. Rate-limit counters are written before the report's
    transaction opens: inside it, the shared counter rows (one per IP) stay locked for the whole
    submission and concurrent submissions deadlock."""
    actor, city = kwargs["actor"], kwargs["city"]
    open311_key, request = kwargs.get("open311_key"), kwargs.get("request")
    channel = str(kwargs.get("channel", Channel.APP))
    if open311_key is not None and channel == Channel.APP and actor is None:
        channel = Channel.OPEN311
    _check_submitter(city=city, actor=actor, channel=channel, open311_key=open311_key)
    if request is not None and channel != Channel.OPEN311:
        from dothi.core.ratelimit import limit_citizen_write

        limit_citizen_write(request, "reports.submit")
    if channel == Channel.OPEN311:
        _limit_open311_key(open311_key, request)
    return {**kwargs, "channel": channel}


def report_submit(
    *,
    city: City,
    category_code: str,
    description: str,
    lat: float,
    lon: float,
    actor,
    channel: str = Channel.APP,
    attributes: dict[str, Any] | None = None,
    photos: Iterable = (),
    address: str = "",
    contact: dict[str, str] | None = None,
    open311_key: Open311Key | None = None,
    idempotency_key: str = "",
    request=None,
) -> Report:
    """File a report. `actor` is the signed-in citizen (channel "app"), the hotline or counter staff
    member filing for a caller (channels "hotline", "walk_in", with `contact`), or None for a
    third-party app (channel "open311", with `open311_key` and the app's `contact`).

    The same reporter (or key, or staff member) sending the same `idempotency_key` again gets the
    report created the first time, even when both requests race.

    The report, its timeline event, its follower and its audit record are one insert
    (`core.inserts.insert_family`: one statement on PostgreSQL). A report without photos whose agency
    takes its reports in the platform's queue needs nothing else, so it is written outside any
    transaction in one round trip; photos (files to clean up on failure) and dispatch to an agency's
    own system (a ticket, sent once the transaction commits) run in one transaction as before."""
    from dothi.reports import dispatch

    kwargs = _admit_submission({
        "actor": actor, "city": city, "open311_key": open311_key, "request": request, "channel": channel,
    })
    channel = kwargs["channel"]
    idempotency_key = clean_text(idempotency_key, field="idempotency_key", max_len=100, required=False)
    reporter = actor if channel == Channel.APP else None
    filed_by = actor if channel in (Channel.HOTLINE, Channel.WALK_IN) else None
    key = open311_key if channel == Channel.OPEN311 else None

    def replayed() -> Report | None:
        return _existing_idempotent(
            reporter=reporter, open311_key=key, filed_by=filed_by, idempotency_key=idempotency_key
        )

    # Validate everything before the first write. A retried submission is recognised when its insert
    # clashes with the first one (below) or, when it no longer validates (a category since closed),
    # here: either way it gets the report created the first time.
    try:
        category = selectors.category_by_code(city=city, code=category_code)
        description_clean = clean_text(
            description,
            field="description",
            max_len=DESCRIPTION_MAX,
            required=True,
            message=_("Describe the problem."),
        )
        address = clean_text(address, field="address", max_len=ADDRESS_MAX, required=False)
        commune = locate(city, lon, lat)
        lat, lon = float(lat), float(lon)
        answers = _validate_attributes(category, attributes)
        agency = selectors.route(category=category, commune=commune)
        cleaned = photos_mod.clean_many(photos, field="photos")
        contact_clean = _clean_contact(contact) if channel != Channel.APP else {}
    except DomainError:
        existing = replayed()
        if existing is not None:
            return existing
        raise
    possible_duplicate_id = selectors.nearest_open_report_id(city=city, category=category, lat=lat, lon=lon)

    now = timezone.now()
    report = Report(
        city=city,
        category=category,
        commune=commune,
        agency=agency,
        status=Status.RECEIVED,
        confidential=category.confidential,
        channel=channel,
        lat=lat,
        lon=lon,
        address=address,
        # Stored as given (only surrounding blanks trimmed); templates escape it when rendering.
        description=description_clean,
        attributes=answers,
        reporter=reporter,
        filed_by=filed_by,
        open311_key=key,
        idempotency_key=idempotency_key,
        submitted_at=now,
        due_at=deadlines.due_at_for(city=city, category=category, start=now),
        reporter_contact_enc=_encrypt_contact(contact_clean),
        possible_duplicate_id=possible_duplicate_id,
    )
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    children: list = [(
        ReportEvent(report=report, kind=ReportEvent.Kind.SUBMITTED, actor=actor if authenticated else None,
                    to_status=Status.RECEIVED, public=True, data={"channel": channel}, at=now),
        ("report_id", ""),
    )]
    if reporter is not None:
        children.append((Follower(report=report, user=reporter), ("report_id", "")))  # a new report
    if not cleaned and not dispatch.takes_reports_elsewhere(agency.pk):
        return _insert_report(report, children, actor=actor, request=request, replayed=replayed)
    written: list[str] = []
    try:
        with transaction.atomic():
            created = _insert_report(report, children, actor=actor, request=request, replayed=replayed)
            if not getattr(created, "created_now", False):
                return created
            _save_files(created, cleaned, kind=ReportPhoto.Kind.REPORT, uploaded_by=actor, written=written)
            dispatch.on_routed(created, new=True)
            return created
    except BaseException:
        _discard(written)
        raise


def _insert_report(report: Report, children: list, *, actor, request, replayed) -> Report:
    """Insert the report with its children and audit record under a fresh reference; on a unique clash
    return the report a concurrent retry of the same submission created, else draw another reference."""
    now = report.submitted_at
    key = report.open311_key
    for _attempt in range(5):
        report.reference = new_reference(report.city, now)
        record = audit.build(
            actor=actor,
            action=AuditEvent.Action.CREATE,
            obj=report,
            city=report.city,
            request=request,
            summary=f"report {report.reference} ({report.category.code})",
            details={"channel": report.channel, "agency": report.agency.code,
                     "open311_key": key.prefix if key else "",
                     "possible_duplicate": report.possible_duplicate_id},
        )
        try:
            insert_family(report, [*children, (record, ("object_id", "text"))])
            break
        except IntegrityError:
            report.pk = None
            existing = replayed()
            if existing is not None:
                return existing
            # Otherwise the reference collided (1 in 10^9 per day and city): draw another.
    else:  # pragma: no cover - needs five collisions in a row
        raise IntegrityError("Could not allocate a report reference.")
    if key is not None:
        Open311Key.objects.filter(pk=key.pk).update(last_used_at=now)
    report.created_now = True  # not an idempotent replay: its timeline is the submission alone
    return report


def _dispatch_on_commit(report: Report) -> None:
    """Dispatch (reports.dispatch): when the report's agency takes its reports by e-mail or in its own
    Open311 system, give the report a ticket in this transaction and send it in the background once the
    transaction commits. For queue agencies (the default) it costs one in-process set lookup."""
    from dothi.reports import dispatch

    dispatch.on_routed(report)


def _encrypt_contact(contact: dict[str, str]) -> str:
    if not contact:
        return ""
    from dothi.identity import crypto

    return crypto.encrypt(json.dumps(contact, ensure_ascii=False))


@transaction.atomic
def report_follow(*, actor, report: Report) -> Follower:
    """Follow a report to be notified of its progress (idempotent)."""
    require(actor, "reports.follow", report.city)
    if not selectors.can_view(actor, report):
        raise NotFound(_("Report not found."))
    follower, created = Follower.objects.get_or_create(report=report, user=actor)
    if created:
        audit.record(
            actor=actor,
            action=AuditEvent.Action.CREATE,
            obj=follower,
            city=report.city,
            summary=f"follow {report.reference}",
        )
    return follower


# --- Workflow ----------------------------------------------------------------------------------


def _who_may(actor, report: Report, role: str) -> bool:
    if role == "staff":
        return selectors.can_handle(actor, report)
    if role == "reporter":
        return selectors.is_reporter(actor, report)
    if role == "moderator":
        return bool(roles_of(actor, report.city) & {"operator", "city_admin", PLATFORM_ADMIN})
    return False


def _apply_status(
    report: Report,
    *,
    actor,
    to_status: str,
    now: datetime,
    text: str = "",
    public_text: bool = True,
    data: dict | None = None,
    request=None,
) -> ReportEvent:
    """Move the report (already locked and checked) and keep its timestamps and clock right."""
    from_status = report.status
    if report.acknowledged_at is None:  # the first move off "received" acknowledges it
        report.acknowledged_at = now
        stats.record_acknowledgement(report)  # the KPIs' daily facts (core.facts)
    if from_status == Status.NEEDS_INFO:
        deadlines.resume(report, now)
    if to_status == Status.NEEDS_INFO:
        deadlines.pause(report, now)
    if to_status == Status.RESOLVED:
        report.resolved_at = now
        stats.record_resolution(report)
    if to_status in TERMINAL:
        report.closed_at = now
    if to_status == Status.REOPENED and from_status == Status.RESOLVED and report.resolved_at is not None:
        stats.record_resolution(report, weight=-1)  # takes back the resolution's facts
    if to_status == Status.REOPENED:
        report.resolved_at = None
        report.closed_at = None
        report.reopen_count += 1
        report.escalated_at = None
        report.due_at = deadlines.due_at_for(city=report.city, category=report.category, start=now)
    report.status = to_status
    report.save()
    event = _event(
        report,
        kind=ReportEvent.Kind.STATUS,
        actor=actor,
        from_status=from_status,
        to_status=to_status,
        text=text if public_text else "",
        public=True,
        data=data,
        at=now,
    )
    status_label = to_status

    def title() -> str:
        return _("Report %(reference)s: %(status)s") % {
            "reference": report.reference,
            "status": _status_label(status_label),
        }

    _notify_followers(report, actor=actor, title_fn=title, body=text if public_text else "")
    audit.record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=report,
        city=report.city,
        summary=f"{from_status} -> {to_status}",
        details={"from": from_status, "to": to_status},
        request=request,
    )
    return event


def _check_transition(actor, report: Report, to_status: str) -> str:
    allowed = TRANSITIONS.get(report.status, {})
    if to_status not in Status.values:
        raise InvalidInput(_("Unknown status."), field="to_status")
    role = allowed.get(to_status)
    if role is None:
        raise InvalidInput(
            _("A report that is “%(from)s” cannot become “%(to)s”.")
            % {"from": _status_label(report.status), "to": _status_label(to_status)},
            field="to_status",
            code="transition_invalid",
        )
    if not _who_may(actor, report, role):
        raise PermissionDenied(_("You do not have permission to do this."))
    return role


@_with_files
def report_transition(
    *,
    actor,
    report: Report,
    to_status: str,
    text: str = "",
    evidence: Iterable = (),
    reason: str = "",
    duplicate_of: Report | None = None,
    request=None,
    _written: list[str],
) -> Report:
    """Move a report to another status (see TRANSITIONS). Resolving needs a response `text` and at
    least one `evidence` file (photo or PDF); rejecting needs a `reason`; "needs information" needs
    the question in `text` and pauses the deadline; duplicate needs `duplicate_of`."""
    report = _lock(report)
    to_status = str(to_status)
    _check_transition(actor, report, to_status)
    now = timezone.now()
    text = clean_text(text, field="text", max_len=TEXT_MAX, required=False)
    reason = clean_text(reason, field="reason", max_len=REASON_MAX, required=False)
    data: dict[str, Any] = {}
    cleaned: list[photos_mod.CleanFile] = []
    if to_status == Status.RESOLVED:
        if not text:
            raise InvalidInput(
                _("Write a response to the reporter before resolving."),
                field="text",
                code="response_required",
            )
        cleaned = photos_mod.clean_many(evidence, field="evidence", evidence=True)
        if not cleaned:
            raise InvalidInput(
                _("Attach evidence (a photo or a document) of the resolution."),
                field="evidence",
                code="evidence_required",
            )
    elif evidence:
        raise InvalidInput(_("Evidence is attached only when resolving."), field="evidence")
    if to_status == Status.REJECTED:
        if not reason:
            raise InvalidInput(
                _("Give the reason for rejecting this report."), field="reason", code="reason_required"
            )
        text = reason if not text else f"{text}\n\n{reason}"
        data["reason"] = reason
    if to_status == Status.NEEDS_INFO and not text:
        raise InvalidInput(
            _("Say what information you need from the reporter."), field="text", code="text_required"
        )
    if to_status == Status.REOPENED and report.status == Status.REJECTED and not (reason or text):
        raise InvalidInput(
            _("Give the reason for reopening this report."), field="reason", code="reason_required"
        )
    if to_status == Status.ASSIGNED and report.assignee_id is None:
        raise InvalidInput(_("Assign the report to a staff member first."), field="assignee")
    target = None
    if to_status == Status.DUPLICATE:
        target = _check_duplicate_target(report, duplicate_of)
        data["duplicate_of"] = target.reference
        report.duplicate_of = target
    elif duplicate_of is not None:
        raise InvalidInput(_("Only a duplicate names the report it duplicates."), field="duplicate_of")
    if to_status == Status.REOPENED and reason and not text:
        text = reason

    _save_files(report, cleaned, kind=ReportPhoto.Kind.EVIDENCE, uploaded_by=actor, written=_written)
    _apply_status(report, actor=actor, to_status=to_status, now=now, text=text, data=data, request=request)
    if target is not None:
        _merge_into(report, target, actor=actor, now=now)
    return report


def _check_duplicate_target(report: Report, duplicate_of: Report | None) -> Report:
    if duplicate_of is None:
        raise InvalidInput(
            _("Say which report this one duplicates."), field="duplicate_of", code="duplicate_required"
        )
    target = Report.objects.select_for_update().filter(pk=getattr(duplicate_of, "pk", None)).first()
    if target is None or target.city_id != report.city_id:
        raise InvalidInput(_("The original report was not found in this city."), field="duplicate_of")
    if target.pk == report.pk:
        raise InvalidInput(_("A report cannot duplicate itself."), field="duplicate_of")
    if target.status not in (*OPEN_STATUSES, Status.RESOLVED):
        raise InvalidInput(_("The original report must be open or resolved."), field="duplicate_of")
    return target


def _merge_into(report: Report, target: Report, *, actor, now: datetime) -> None:
    """Followers of a duplicate follow the original from now on."""
    users = set(report.followers.values_list("user_id", flat=True))
    if report.reporter_id:
        users.add(report.reporter_id)
    existing = set(target.followers.values_list("user_id", flat=True))
    Follower.objects.bulk_create(
        [Follower(report=target, user_id=u) for u in users - existing], ignore_conflicts=True
    )
    _event(
        target,
        kind=ReportEvent.Kind.MERGED,
        actor=actor,
        public=True,
        data={"duplicate": report.reference, "followers_added": len(users - existing)},
        at=now,
    )


@transaction.atomic
def report_assign(*, actor, report: Report, assignee, request=None) -> Report:
    """Give the report to a staff member of its agency (agency manager, operator, city admin). A
    received or reopened report becomes "assigned"."""
    report = _lock(report)
    selectors.require_handle(actor, report, "reports.assign")
    if report.status in TERMINAL:
        raise InvalidInput(_("This report is closed."), code="report_closed")
    if assignee is None or not selectors.member_of_agency(assignee, report.agency) or not assignee.is_active:
        raise InvalidInput(_("Choose a staff member of the responsible agency."), field="assignee")
    previous = report.assignee_id
    report.assignee = assignee
    report.save(update_fields=["assignee", "updated_at"])
    _event(
        report,
        kind=ReportEvent.Kind.ASSIGNED,
        actor=actor,
        public=False,
        data={"assignee": assignee.pk, "previous": previous},
    )
    audit.record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=report,
        request=request,
        summary=f"assigned to {assignee.get_username()}",
        details={"assignee": assignee.pk},
    )
    if report.status in (Status.RECEIVED, Status.REOPENED):
        _apply_status(report, actor=actor, to_status=Status.ASSIGNED, now=timezone.now())
    if assignee.pk != getattr(actor, "pk", None):
        with translation.override(assignee.language or report.city.default_language):
            notify(
                recipient=assignee,
                city=report.city,
                topic="reports.assigned",
                title=_("Report %(reference)s was assigned to you") % {"reference": report.reference},
                url=report_url(report),
            )
    return report


@transaction.atomic
def report_set_priority(*, actor, report: Report, priority: int) -> Report:
    report = _lock(report)
    selectors.require_handle(actor, report)
    if isinstance(priority, bool) or priority not in Priority.values:
        raise InvalidInput(_("Unknown priority."), field="priority")
    previous = report.priority
    report.priority = int(priority)
    report.save(update_fields=["priority", "updated_at"])
    _event(
        report,
        kind=ReportEvent.Kind.PRIORITY,
        actor=actor,
        public=False,
        data={"from": previous, "to": report.priority},
    )
    audit.record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=report,
        summary=f"priority {previous} -> {report.priority}",
    )
    return report


@transaction.atomic
def report_add_note(*, actor, report: Report, text: str, public: bool = False) -> ReportEvent:
    """An internal note (default) or a public response without a status change."""
    selectors.require_handle(actor, report)
    text = clean_text(text, field="text", max_len=TEXT_MAX, required=True, message=_("Write the note."))
    kind = ReportEvent.Kind.RESPONSE if public else ReportEvent.Kind.NOTE
    event = _event(report, kind=kind, actor=actor, text=text, public=bool(public))
    Report.objects.filter(pk=report.pk).update(updated_at=timezone.now())
    audit.record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=report,
        summary="public response" if public else "internal note",
    )
    if public:
        _notify_followers(
            report,
            actor=actor,
            body=text,
            title_fn=lambda: _("Report %(reference)s: new response") % {"reference": report.reference},
        )
    return event


@transaction.atomic
def report_reroute(*, actor, report: Report, agency: Organisation, reason: str) -> Report:
    """Send the report to another agency of the city (agency manager of the current agency,
    operator, city admin). The assignee is cleared; the due date stays."""
    report = _lock(report)
    selectors.require_handle(actor, report, "reports.reroute")
    reason = clean_text(
        reason,
        field="reason",
        max_len=REASON_MAX,
        required=True,
        message=_("Give the reason for sending the report elsewhere."),
    )
    if report.status in TERMINAL:
        raise InvalidInput(_("This report is closed."), code="report_closed")
    if (
        not isinstance(agency, Organisation)
        or agency.city_id != report.city_id
        or not agency.is_agency
        or not agency.is_active
    ):
        raise InvalidInput(_("Choose an agency of this city."), field="agency")
    if agency.pk == report.agency_id:
        raise InvalidInput(_("The report is already with this agency."), field="agency")
    previous = report.agency
    _move_to_agency(report, agency)
    _event(
        report,
        kind=ReportEvent.Kind.REROUTED,
        actor=actor,
        text=reason,
        public=True,
        data={"from": previous.code, "to": agency.code},
    )
    audit.record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=report,
        summary=f"rerouted to {agency.code}",
        details={"from": previous.code, "to": agency.code, "reason": reason},
    )
    return report


def _move_to_agency(report: Report, agency: Organisation) -> None:
    report.agency = agency
    report.assignee = None
    if report.status == Status.ASSIGNED:
        # Nobody at the new agency has it yet: back to the queue without a notification.
        report.status = Status.RECEIVED if report.acknowledged_at is None else Status.IN_PROGRESS
    report.save()
    _dispatch_on_commit(report)  # dispatch: the new agency may take it by e-mail or Open311


@transaction.atomic
def report_recategorise(*, actor, report: Report, category_code: str, reason: str) -> Report:
    """Change the category and re-route by the routing rules; confidentiality follows the category."""
    report = _lock(report)
    selectors.require_handle(actor, report, "reports.reroute")
    reason = clean_text(
        reason,
        field="reason",
        max_len=REASON_MAX,
        required=True,
        message=_("Give the reason for changing the category."),
    )
    if report.status in TERMINAL:
        raise InvalidInput(_("This report is closed."), code="report_closed")
    category = selectors.category_by_code(city=report.city, code=category_code)
    if category.pk == report.category_id:
        raise InvalidInput(_("The report already has this category."), field="category")
    agency = selectors.route(category=category, commune=report.commune)
    previous = report.category
    report.category = category
    report.confidential = category.confidential
    if agency.pk != report.agency_id:
        _move_to_agency(report, agency)
    else:
        report.save()
    _event(
        report,
        kind=ReportEvent.Kind.RECATEGORISED,
        actor=actor,
        text=reason,
        public=not category.confidential,
        data={"from": previous.code, "to": category.code, "agency": agency.code},
    )
    audit.record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=report,
        summary=f"category {previous.code} -> {category.code}",
        details={"reason": reason, "agency": agency.code},
    )
    return report


def report_merge(*, actor, report: Report, into: Report, reason: str = "") -> Report:
    """Mark `report` a duplicate of `into`; its followers follow `into`."""
    return report_transition(
        actor=actor, report=report, to_status=Status.DUPLICATE, duplicate_of=into, text=reason
    )


@_with_files
def report_provide_info(
    *, actor, report: Report, text: str, photos: Iterable = (), _written: list[str]
) -> Report:
    """The reporter answers a "needs information" request; the report goes back to the agency and
    the deadline clock restarts."""
    report = _lock(report)
    if not selectors.is_reporter(actor, report):
        raise PermissionDenied(_("Only the reporter can add information to this report."))
    if report.status != Status.NEEDS_INFO:
        raise InvalidInput(_("The agency has not asked for information."), code="transition_invalid")
    text = clean_text(
        text, field="text", max_len=TEXT_MAX, required=True, message=_("Write the information.")
    )
    already = report.photos.filter(kind=ReportPhoto.Kind.REPORT).count()
    cleaned = photos_mod.clean_many(photos, field="photos", limit=max(photos_mod.MAX_PHOTOS - already, 0))
    now = timezone.now()
    _save_files(report, cleaned, kind=ReportPhoto.Kind.REPORT, uploaded_by=actor, written=_written)
    # Visible to the reporter and the agency, not the public: it may contain personal details.
    _event(
        report,
        kind=ReportEvent.Kind.INFO,
        actor=actor,
        text=text,
        public=False,
        data={"photos": len(cleaned)},
        at=now,
    )
    _apply_status(report, actor=actor, to_status=Status.IN_PROGRESS, now=now)
    return report


@transaction.atomic
def report_confirm_fixed(*, actor, report: Report) -> Report:
    """The reporter confirms the fix: resolved -> closed."""
    report = _lock(report)
    _check_transition(actor, report, Status.CLOSED)
    now = timezone.now()
    _event(report, kind=ReportEvent.Kind.CONFIRMED, actor=actor, public=True, at=now)
    _apply_status(report, actor=actor, to_status=Status.CLOSED, now=now)
    return report


@transaction.atomic
def report_reopen(*, actor, report: Report, text: str) -> Report:
    """The reporter says it is not fixed, within 14 days of the resolution: back to the agency with
    a new deadline."""
    report = _lock(report)
    _check_transition(actor, report, Status.REOPENED)
    text = clean_text(
        text, field="text", max_len=TEXT_MAX, required=True, message=_("Say what is still wrong.")
    )
    now = timezone.now()
    if report.resolved_at is None or now - report.resolved_at > timedelta(days=CONFIRM_WINDOW_DAYS):
        raise InvalidInput(
            _("A report can be reopened only within %(days)d days of its resolution.")
            % {"days": CONFIRM_WINDOW_DAYS},
            code="reopen_window",
        )
    _apply_status(report, actor=actor, to_status=Status.REOPENED, now=now, text=text)
    return report


@transaction.atomic
def report_moderate(
    *,
    actor,
    report: Report,
    hide: bool | None = None,
    public_description: str | None = None,
    hide_photo_ids: Iterable[int] = (),
    reason: str,
) -> Report:
    """Hide a report, redact its public text ("" removes the redaction) or hide photos that break
    the rules (operators, city administrators); audited with the reason."""
    report = _lock(report)
    require(actor, "reports.moderate", report.city)
    reason = clean_text(
        reason,
        field="reason",
        max_len=REASON_MAX,
        required=True,
        message=_("Give the reason for the moderation."),
    )
    changes: dict[str, Any] = {}
    if hide is not None:
        if not isinstance(hide, bool):
            raise InvalidInput(_("This must be yes or no."), field="hide")
        if hide != report.hidden:
            report.hidden = hide
            changes["hidden"] = hide
    if public_description is not None:
        redacted = clean_text(
            public_description, field="public_description", max_len=DESCRIPTION_MAX, required=False
        )
        if redacted != report.public_description:
            report.public_description = redacted
            changes["public_description"] = bool(redacted)
    ids = []
    for value in hide_photo_ids or ():
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            raise InvalidInput(_("Unknown photo."), field="hide_photo_ids")
    if ids:
        found = report.photos.filter(pk__in=ids)
        if found.count() != len(set(ids)):
            raise InvalidInput(_("Unknown photo."), field="hide_photo_ids")
        found.update(hidden=True)
        changes["photos_hidden"] = sorted(set(ids))
    if not changes:
        raise InvalidInput(_("Nothing to change."), code="no_change")
    report.save()
    _event(report, kind=ReportEvent.Kind.MODERATED, actor=actor, text=reason, public=False, data=changes)
    audit.record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=report,
        summary="moderated",
        details={"reason": reason, **changes},
    )
    return report


# --- Scheduled work ----------------------------------------------------------------------------


def reports_escalate_overdue(*, now: datetime | None = None) -> int:
    """Escalate every open report past its due date (all cities) that is not paused and not yet
    escalated: mark it, add an internal event, notify its agency's managers. Returns how many."""
    from dothi.identity.models import Membership

    now = now or timezone.now()
    count = 0
    ids = list(
        Report.objects.filter(
            status__in=OPEN_STATUSES, paused_at__isnull=True, escalated_at__isnull=True, due_at__lt=now
        ).values_list("pk", flat=True)[:10000]
    )
    managers_by_agency: dict[int, list] = {}
    for pk in ids:
        with transaction.atomic():
            report = (
                Report.objects.select_for_update(of=("self",))
                .select_related("city", "agency")
                .filter(
                    pk=pk,
                    escalated_at__isnull=True,
                    paused_at__isnull=True,
                    status__in=OPEN_STATUSES,
                    due_at__lt=now,
                )
                .first()
            )
            if report is None:
                continue  # changed since the query above
            report.escalated_at = now
            report.save(update_fields=["escalated_at", "updated_at"])
            _event(
                report,
                kind=ReportEvent.Kind.ESCALATED,
                public=False,
                at=now,
                data={"due_at": report.due_at.isoformat()},
            )
            if report.agency_id not in managers_by_agency:
                managers_by_agency[report.agency_id] = [
                    m.user
                    for m in Membership.objects.filter(
                        city_id=report.city_id,
                        organisation_id=report.agency_id,
                        role="agency_manager",
                        user__is_active=True,
                    ).select_related("user")
                ]
            for manager in managers_by_agency[report.agency_id]:
                with translation.override(manager.language or report.city.default_language):
                    notify(
                        recipient=manager,
                        city=report.city,
                        topic="reports.overdue",
                        title=_("Report %(reference)s is overdue") % {"reference": report.reference},
                        url=report_url(report),
                    )
            audit.record(
                actor=None, action=AuditEvent.Action.UPDATE, obj=report, summary="escalated (overdue)"
            )
            count += 1
    return count


def reports_autoclose_resolved(*, now: datetime | None = None) -> int:
    """Close reports resolved more than 14 days ago that the reporter neither confirmed nor reopened."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=CONFIRM_WINDOW_DAYS)
    count = 0
    for pk in Report.objects.filter(status=Status.RESOLVED, resolved_at__lt=cutoff).values_list(
        "pk", flat=True
    )[:10000]:
        with transaction.atomic():
            report = (
                Report.objects.select_for_update(of=("self",))
                .select_related("city", "category", "agency", "reporter")
                .filter(pk=pk, status=Status.RESOLVED, resolved_at__lt=cutoff)
                .first()
            )
            if report is None:
                continue
            _apply_status(report, actor=None, to_status=Status.CLOSED, now=now, data={"automatic": True})
            count += 1
    return count


# --- Open311 keys ------------------------------------------------------------------------------


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


@transaction.atomic
def open311_key_issue(*, actor, city: City, name: str, contact: str = "") -> tuple[Open311Key, str]:
    """Issue an API key to a third-party app; the plaintext is returned once and never stored."""
    if actor is not None:
        require(actor, "reports.open311_keys", city)
    name = clean_text(name, field="name", max_len=120, required=True, message=_("Name the application."))
    contact = clean_text(contact, field="contact", max_len=200, required=False)
    plaintext = "d311_" + secrets.token_urlsafe(24)
    key = Open311Key.objects.create(
        city=city,
        name=name,
        contact=contact,
        prefix=plaintext[:8],
        key_hash=hash_key(plaintext),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit.record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=key,
        city=city,
        summary=f"Open311 key {name}",
        details={"prefix": key.prefix},
    )
    return key, plaintext


def open311_key_lookup(*, city: City, plaintext: str) -> Open311Key | None:
    """The active key of `city` matching the plaintext, or None."""
    if not isinstance(plaintext, str) or not plaintext.startswith("d311_") or len(plaintext) > 100:
        return None
    return Open311Key.objects.filter(city=city, key_hash=hash_key(plaintext), is_active=True).first()


@transaction.atomic
def open311_key_revoke(*, actor, key: Open311Key) -> Open311Key:
    require(actor, "reports.open311_keys", key.city)
    key.is_active = False
    key.save(update_fields=["is_active"])
    audit.record(actor=actor, action=AuditEvent.Action.UPDATE, obj=key, summary="revoked")
    return key


# --- Rating ------------------------------------------------------------------------------------


def validate_rating(*, author, city: City, subject_id: str) -> None:
    """Only the reporter rates a report, and only once it is resolved or closed (called by
    dothi.core.services.feedback_give through the manifest)."""
    report = Report.objects.filter(city=city, reference=str(subject_id)[:24]).first()
    if report is None:
        raise InvalidInput(_("Report not found."), field="subject_id")
    if not selectors.is_reporter(author, report):
        raise PermissionDenied(_("Only the reporter can rate the handling of this report."))
    if report.status not in (Status.RESOLVED, Status.CLOSED):
        raise InvalidInput(_("A report can be rated once it is resolved."), field="subject_id")


def report_points_assign(*, city: City, changes: list[tuple[int, str]]) -> int:
    """Write the communes core.geo.reassign_points found for Report rows, in bulk (no other column)."""
    from dothi.core.geo import write_communes
    from dothi.reports.models import Report

    return write_communes(Report, city=city, changes=changes)
