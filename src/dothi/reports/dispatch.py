"""Dispatch: how a report reaches its agency when the agency does not work from the in-platform queue.

`Dispatch.method` (data, per agency) is one of
- `queue` (the default): nothing leaves the platform;
- `email`: a notice goes to the agency's address; its staff still work the report in the queue;
- `open311`: the report is posted to the agency's own system (GeoReport v2, dothi as the client) and
  that system's status updates are pulled back into the report's workflow.

The submission's transaction calls `on_routed()` (report_submit and re-routing): for an e-mail or
Open311 agency it creates the report's `ExternalTicket` in that same transaction, so a crash can never
lose it, and enqueues `tasks.dispatch_send` once the transaction commits. Sending runs in the
background: a ticket is claimed by a conditional UPDATE (pending -> sending), so two runs never send it
twice; a failure is recorded on the ticket (`attempts`, `last_error`) and retried with exponential
back-off by the sweep (`tasks.dispatch_sweep`, every minute) until MAX_ATTEMPTS, then the ticket is
`failed` (retry from the admin or with `dothi dispatch-retry`). `tasks.dispatch_pull` (every five
minutes) reads the Open311 agencies' tickets back; a request their system closed resolves the report.

Nothing here ever raises into the worker: every failure of an agency's server or of the mail server
ends up on the ticket and in the log.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import BadHeaderError, EmailMessage
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from dothi.core import audit
from dothi.core.memo import ProcessMemo
from dothi.core.models import AuditEvent, City
from dothi.core.permissions import require
from dothi.reports.models import (
    OPEN_STATUSES,
    CategoryAttribute,
    Dispatch,
    ExternalTicket,
    Report,
    ReportEvent,
    ReportPhoto,
    Status,
)
from dothi.reports.open311 import client

logger = logging.getLogger(__name__)

Method = Dispatch.Method
State = ExternalTicket.State

# A ticket is tried at most this many times (back-off: base, 2×base, 4×base…, capped at MAX_DELAY).
MAX_ATTEMPTS = 8
MAX_DELAY = timedelta(hours=6)
# A ticket claimed for sending longer ago than this was abandoned by a dead worker: sent again.
STALE_CLAIM = timedelta(minutes=15)
# Service request ids per GET when pulling (dothi's own server takes up to 100); after this many failed
# batches in a row an agency's server is taken to be down until the next pull.
PULL_BATCH = 50
PULL_GIVE_UP_AFTER = 3
# The spec's description is at most 4,000 characters.
DESCRIPTION_MAX = 4000
# The sweep re-checks reports filed this recently for a missing ticket (another process may have
# read the agency's method from its copy before an administrator changed it).
RECONCILE_WINDOW = timedelta(days=1)
RECONCILE_GRACE = timedelta(seconds=30)
OPEN_TICKET_STATES = (State.PENDING, State.SENDING, State.WAITING, State.SENT)


# --- Which agencies dispatch (the submission's hot path) -----------------------------------------

# Most agencies work from the queue, so report_submit must not pay a query to learn that: the agency
# ids with another method are kept per process (core.memo: cleared at once by a change in this
# process, re-read by other processes within ten seconds). A hit is checked against the database; a
# stale miss is caught by the sweep's reconciliation.
_memo = ProcessMemo("reports.dispatch")


def watch() -> None:
    """Clear the copy when a dispatch changes (ReportsConfig.ready)."""
    _memo.clear_on_change(Dispatch)


def invalidate() -> None:
    _memo.clear()


def _dispatching_agencies() -> dict[int, tuple[int, str]]:
    """Agency id -> (dispatch id, method) of every agency taking its reports elsewhere (memoised per
    process, cleared when a dispatch setting changes)."""
    return _memo.get("agencies", lambda: {
        agency_id: (pk, method)
        for pk, agency_id, method in Dispatch.objects.exclude(method=Method.QUEUE)
        .order_by("pk").values_list("pk", "agency_id", "method")
    })


def takes_reports_elsewhere(agency_id: int) -> bool:
    """Whether the agency takes its reports by e-mail or in its own Open311 system (an in-process set
    lookup): such a report gets a ticket in the transaction that routes it."""
    return agency_id in _dispatching_agencies()


def on_routed(report: Report, *, new: bool = False) -> ExternalTicket | None:
    """`report` was just routed to `report.agency` (filed, re-routed, re-categorised): inside that
    transaction, give it a ticket when the agency dispatches by e-mail or Open311, and send it once the
    transaction commits. Returns the ticket, or None for a queue agency. `new`: the report was filed in
    this transaction, so it has no ticket yet (one lookup fewer on every submission)."""
    chosen = _dispatching_agencies().get(report.agency_id)
    if chosen is None:
        return None
    dispatch_id, method = chosen
    now = timezone.now()
    ticket = None if new else ExternalTicket.objects.filter(report=report, agency_id=report.agency_id).first()
    if ticket is None:
        ticket = ExternalTicket.objects.create(
            city_id=report.city_id,
            report=report,
            agency_id=report.agency_id,
            dispatch_id=dispatch_id,
            method=method,
            next_attempt_at=now,
            created_at=now,
        )
    elif ticket.method == Method.OPEN311 == method and ticket.external_id:
        # Back at an agency that already has it in its system: its ticket there is still the one
        # (Open311 v2 cannot reopen or amend a request), so pulling simply resumes.
        if ticket.state == State.WITHDRAWN:
            ticket.state = State.SENT
            ticket.save(update_fields=["state", "updated_at"])
    else:
        # Back at an agency that had it before: a fresh notice.
        ticket.dispatch_id, ticket.method, ticket.state = dispatch_id, method, State.PENDING
        ticket.attempts, ticket.next_attempt_at, ticket.last_error = 0, now, ""
        ticket.save()
    if ticket.state == State.PENDING:
        ticket_id = ticket.pk
        transaction.on_commit(lambda: _enqueue_send(ticket_id))
    return ticket


def _enqueue_send(ticket_id: int) -> None:
    from dothi.reports.tasks import dispatch_send

    try:
        dispatch_send.enqueue(ticket_id)
    except Exception:  # noqa: BLE001 - the ticket is pending: the sweep sends it if this enqueue is lost
        logger.exception("Could not enqueue dispatch of ticket %s; the sweep will send it", ticket_id)


# --- Links ---------------------------------------------------------------------------------------


def absolute_url(city: City, path: str) -> str:
    """An absolute link for `city` (for e-mails and other systems): the city's first host name, else
    DOTHI_SITE_URL (with the /c/<slug>/ prefix unless it is the default city), else the bare path."""
    from dothi.core import cities

    base = (getattr(settings, "SITE_URL", "") or "").rstrip("/")
    if city.hosts:
        scheme = urlsplit(base).scheme if base else ("https" if settings.SECURE_HTTPS else "http")
        return f"{scheme}://{city.hosts[0]}{path}"
    if not base:
        return path
    default = cities.default_city()
    prefix = "" if default is not None and default.pk == city.pk else f"/c/{city.slug}"
    return f"{base}{prefix}{path}"


def _path(name: str, reference: str, *extra: str) -> str:
    try:
        return reverse(name, args=[reference, *extra])
    except NoReverseMatch:  # pragma: no cover - the reports URLs are always installed
        return f"/reports/{reference}/"


# --- Sending -------------------------------------------------------------------------------------


class _Permanent(Exception):
    """A failure retrying cannot fix (configuration): the ticket fails at once."""


def _retry_delay(attempts: int) -> timedelta:
    base = int(getattr(settings, "DISPATCH_RETRY_BASE_SECONDS", 60))
    return min(timedelta(seconds=base * (2 ** max(attempts - 1, 0))), MAX_DELAY)


def _load(ticket_id: int) -> ExternalTicket:
    return ExternalTicket.objects.select_related(
        "report", "report__city", "report__category", "report__agency", "report__commune", "agency"
    ).get(pk=ticket_id)


def send(ticket_id: int, *, now: datetime | None = None) -> str:
    """Send one pending, due ticket (the body of tasks.dispatch_send). Returns the ticket's state."""
    now = now or timezone.now()
    # Only the routing, the sweep (for due tickets) and a retry enqueue this task, so a pending ticket
    # is due; the claim makes sure one run sends it.
    claimed = ExternalTicket.objects.filter(pk=ticket_id, state=State.PENDING).update(
        state=State.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        # Already sent by another run, or deleted with its report.
        state = ExternalTicket.objects.filter(pk=ticket_id).values_list("state", flat=True).first()
        return state or "gone"
    ticket = _load(ticket_id)
    report = ticket.report
    dispatch = Dispatch.objects.filter(agency_id=ticket.agency_id).first()
    if report.agency_id != ticket.agency_id or report.status not in OPEN_STATUSES:
        return _finish(ticket, state=State.WITHDRAWN, error="the report moved on before it was sent")
    if dispatch is None or dispatch.method == Method.QUEUE:
        return _finish(ticket, state=State.WITHDRAWN, error="the agency now works from the queue")
    if dispatch.method != ticket.method:
        # Changed between routing and sending: not sent yet, so it goes the way the agency now wants.
        ticket.method, ticket.dispatch = dispatch.method, dispatch
        ticket.save(update_fields=["method", "dispatch", "updated_at"])
    try:
        if ticket.method == Method.EMAIL:
            text = _send_email(report, dispatch)
            return _finish(ticket, state=State.SENT, event_text=text, now=now)
        posted = _post_open311(report, dispatch)
    except _Permanent as exc:
        return _failed(ticket, str(exc), permanent=True, now=now)
    except client.Open311ClientError as exc:
        return _failed(ticket, exc.message, permanent=exc.permanent, now=now)
    except Exception as exc:  # noqa: BLE001 - any failure of the mail server or the agency is retried
        logger.exception("Dispatch of ticket %s failed", ticket_id)
        return _failed(ticket, f"{type(exc).__name__}: {exc}", permanent=False, now=now)
    return _accepted(ticket, posted, dispatch, now=now)


def _finish(
    ticket: ExternalTicket,
    *,
    state: str,
    error: str = "",
    event_text: str = "",
    now: datetime | None = None,
    external_id: str = "",
    token: str = "",
    next_attempt_at: datetime | None = None,
) -> str:
    now = now or timezone.now()
    with transaction.atomic():
        ticket.state = state
        ticket.last_error = error[:1000]
        ticket.next_attempt_at = next_attempt_at
        ticket.claimed_at = None
        if external_id:
            ticket.external_id = external_id
        if token:
            ticket.token = token
        if state in (State.SENT, State.WAITING) and ticket.sent_at is None:
            ticket.sent_at = now
        ticket.save()
        if external_id:
            # The report's own pointer to the agency's ticket (shown to staff, searched by support).
            Report.objects.filter(pk=ticket.report_id).update(external_id=external_id)
        if event_text:
            ReportEvent.objects.create(
                report_id=ticket.report_id,
                kind=ReportEvent.Kind.DISPATCHED,
                public=False,
                text=event_text[:5000],
                data={"method": ticket.method, "state": state, "ticket": ticket.pk,
                      "external_id": ticket.external_id},
                at=now,
            )
    if state == State.FAILED:
        logger.warning("Dispatch of ticket %s failed for good: %s", ticket.pk, error)
    elif state in (State.SENT, State.WAITING):
        logger.info("Ticket %s dispatched by %s (%s)", ticket.pk, ticket.method, ticket.external_id or "-")
    return state


def _failed(ticket: ExternalTicket, error: str, *, permanent: bool, now: datetime) -> str:
    attempts = ticket.attempts  # already counted by the claim
    logger.warning("Dispatch of ticket %s, attempt %s: %s", ticket.pk, attempts, error)
    if permanent or attempts >= MAX_ATTEMPTS:
        with translation.override(ticket.report.city.default_language):
            text = _("Could not be sent to %(agency)s: %(error)s") % {
                "agency": ticket.agency.name, "error": error[:300]
            }
        return _finish(ticket, state=State.FAILED, error=error, event_text=text, now=now)
    return _finish(ticket, state=State.PENDING, error=error, now=now,
                   next_attempt_at=now + _retry_delay(attempts))


def _accepted(ticket: ExternalTicket, posted: client.Posted, dispatch: Dispatch, *, now: datetime) -> str:
    with translation.override(ticket.report.city.default_language):
        if posted.service_request_id:
            text = _("Sent to %(agency)s's own system: service request %(id)s.") % {
                "agency": ticket.agency.name, "id": posted.service_request_id
            }
            return _finish(ticket, state=State.SENT, external_id=posted.service_request_id, event_text=text,
                           now=now)
        text = _("Accepted by %(agency)s's own system (token %(token)s); waiting for its request id.") % {
            "agency": ticket.agency.name, "token": posted.token
        }
    return _finish(ticket, state=State.WAITING, token=posted.token, event_text=text, now=now,
                   next_attempt_at=now + _retry_delay(1))


# --- E-mail --------------------------------------------------------------------------------------


def _answers(report: Report) -> list[tuple[str, str]]:
    """The category's questions and the reporter's answers, list keys shown by their names."""
    out = []
    questions = CategoryAttribute.objects.filter(category_id=report.category_id).order_by("order", "code")
    for question in questions:
        if question.code not in (report.attributes or {}):
            continue
        value = report.attributes[question.code]
        names = {str(v.get("key")): v for v in question.values or [] if isinstance(v, dict)}
        values = value if isinstance(value, list) else [value]
        shown = []
        for item in values:
            choice = names.get(str(item))
            if choice:
                english = (translation.get_language() or "vi").startswith("en")
                shown.append(str((choice.get("name_en") if english else None) or choice.get("name_vi")
                                 or item))
            else:
                shown.append(str(item))
        out.append((question.label, ", ".join(shown)))
    return out


def email_message(report: Report, dispatch: Dispatch) -> EmailMessage:
    """The notice to an e-mail agency, in the city's default language. It never carries the reporter's
    identity or contact (staff read those in the platform, where each read is audited)."""
    city = report.city
    with translation.override(city.default_language), timezone.override(_tz(city)):
        context = {
            "report": report,
            "city": city,
            "agency": report.agency.name,
            "category": report.category.name,
            "answers": _answers(report),
            "due": date_format(timezone.localtime(report.due_at), "DATETIME_FORMAT") if report.due_at else "",
            "submitted": date_format(timezone.localtime(report.submitted_at), "DATETIME_FORMAT"),
            # A confidential or hidden report has no public page: only the staff link.
            "public_url": absolute_url(city, _path("reports:detail", report.reference))
            if report.is_public else "",
            "staff_url": absolute_url(city, _path("reports:handle", report.reference)),
            "coordinates": f"{report.lat:.6f}, {report.lon:.6f}",
        }
        subject = " ".join(render_to_string("reports/email/dispatch_subject.txt", context).split())
        body = render_to_string("reports/email/dispatch.txt", context)
    return EmailMessage(
        subject=subject[:200], body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[dispatch.email]
    )


def _tz(city: City):
    from zoneinfo import ZoneInfo

    return ZoneInfo(city.time_zone or settings.TIME_ZONE)


def _send_email(report: Report, dispatch: Dispatch) -> str:
    if not dispatch.email:
        raise _Permanent("no e-mail address is configured for this agency")
    try:
        message = email_message(report, dispatch)
    except BadHeaderError as exc:
        raise _Permanent(f"the e-mail cannot be built: {exc}") from exc
    message.send()  # SMTP errors are OSErrors: retried by the caller
    with translation.override(report.city.default_language):
        return _("Sent by e-mail to %(address)s.") % {"address": dispatch.email}


# --- Open311 (dothi as the client) ---------------------------------------------------------------


def api_key(dispatch: Dispatch) -> str:
    from dothi.identity import crypto

    try:
        return crypto.decrypt(dispatch.api_key_enc)
    except ValueError as exc:
        raise _Permanent("the stored API key cannot be decrypted with the configured field keys") from exc


def service_mapping(dispatch: Dispatch, category_code: str) -> tuple[str, dict[str, str] | None]:
    """Their service code for our category, and how our question codes map to their attribute codes
    (None: send every answer under our own codes)."""
    mapping = (dispatch.service_codes or {}).get(category_code)
    if isinstance(mapping, dict):
        code = str(mapping.get("service_code") or category_code).strip()
        attributes = mapping.get("attributes")
        if not isinstance(attributes, dict):
            return code, {}
        return code, {str(k): str(v) for k, v in attributes.items() if v}
    if isinstance(mapping, str) and mapping.strip():
        return mapping.strip(), None
    return category_code, None


def _first_public_photo(report: Report) -> str:
    if not report.is_public:
        return ""
    token = (
        ReportPhoto.objects.filter(report=report, kind=ReportPhoto.Kind.REPORT, hidden=False)
        .order_by("created_at", "id").values_list("token", flat=True).first()
    )
    if not token:
        return ""
    url = absolute_url(report.city, _path("reports:photo", report.reference, token))
    return url if url.startswith(("http://", "https://")) else ""


def open311_fields(report: Report, dispatch: Dispatch) -> list[tuple[str, str]]:
    """The form fields of the POST. Never the reporter's identity or contact: for confidential reports
    by rule, and for the others because no reporter has agreed to share them with a third party's
    system (there is no such consent in the platform), so none is sent."""
    code, attribute_map = service_mapping(dispatch, report.category.code)
    fields: list[tuple[str, str]] = []
    key = api_key(dispatch)
    if key:
        fields.append(("api_key", key))
    if dispatch.jurisdiction:
        fields.append(("jurisdiction_id", dispatch.jurisdiction))
    fields += [("service_code", code), ("lat", repr(report.lat)), ("long", repr(report.lon))]
    if report.address:
        fields.append(("address_string", report.address))
    with translation.override(report.city.default_language):
        footer = "\n\n" + _("Reference in %(city)s: %(reference)s") % {
            "city": report.city.name, "reference": report.reference
        }
    fields.append(("description", report.description[: DESCRIPTION_MAX - len(footer)] + footer))
    media_url = _first_public_photo(report)
    if media_url:
        fields.append(("media_url", media_url))
    for our_code, value in (report.attributes or {}).items():
        their_code = our_code if attribute_map is None else attribute_map.get(our_code)
        if not their_code:
            continue
        if isinstance(value, list):
            fields += [(f"attribute[{their_code}][]", str(v)) for v in value]
        else:
            fields.append((f"attribute[{their_code}]", str(value)))
    return fields


def _post_open311(report: Report, dispatch: Dispatch) -> client.Posted:
    if not dispatch.endpoint:
        raise _Permanent("no Open311 endpoint is configured for this agency")
    return client.post_request(
        dispatch.endpoint,
        open311_fields(report, dispatch),
        # One request per report, however often the POST is retried (for servers that honour it).
        idempotency_key=f"dothi:{report.city.slug}:{report.reference}"[:100],
    )


def resolve_token(ticket_id: int, *, now: datetime | None = None) -> str:
    """Ask the agency's system which service request a token became (a ticket in `waiting`)."""
    now = now or timezone.now()
    claimed = ExternalTicket.objects.filter(
        pk=ticket_id, state=State.WAITING, next_attempt_at__lte=now
    ).update(attempts=F("attempts") + 1, next_attempt_at=now + STALE_CLAIM)
    if not claimed:
        return "skipped"
    ticket = _load(ticket_id)
    dispatch = Dispatch.objects.filter(agency_id=ticket.agency_id, method=Method.OPEN311).first()
    if dispatch is None:
        return _finish(ticket, state=State.WITHDRAWN, error="the agency's dispatch method changed")
    try:
        request_id = client.resolve_token(dispatch.endpoint, ticket.token, jurisdiction=dispatch.jurisdiction)
    except client.Open311ClientError as exc:
        request_id, error = "", f"token: {exc.message}"
    else:
        error = ""
    if request_id:
        with translation.override(ticket.report.city.default_language):
            text = _("%(agency)s's own system created service request %(id)s.") % {
                "agency": ticket.agency.name, "id": request_id
            }
        return _finish(ticket, state=State.SENT, external_id=request_id, event_text=text, now=now)
    if ticket.attempts >= MAX_ATTEMPTS * 2:
        return _finish(ticket, state=State.FAILED, error=error or "the token never became a service request",
                       now=now)
    return _finish(ticket, state=State.WAITING, error=error, now=now,
                   next_attempt_at=now + _retry_delay(ticket.attempts))


# --- Pulling status updates ----------------------------------------------------------------------


def pull(dispatch: Dispatch, *, now: datetime | None = None) -> dict[str, int]:
    """Read the agency's open tickets back (batches of service request ids) and apply what changed.
    A failed batch is recorded on its tickets and tried again at the next pull; `last_pulled_at` moves
    only when every batch was read."""
    started = now or timezone.now()
    counts = {"tickets": 0, "updated": 0, "resolved": 0, "errors": 0}
    if dispatch.method != Method.OPEN311 or not dispatch.endpoint:
        return counts
    tickets = list(
        ExternalTicket.objects.filter(
            agency_id=dispatch.agency_id, method=Method.OPEN311, state=State.SENT,
            report__agency_id=dispatch.agency_id,
        ).exclude(external_id="").order_by("id").values_list("pk", "external_id")[:10000]
    )
    counts["tickets"] = len(tickets)
    failed_in_a_row = 0
    for start in range(0, len(tickets), PULL_BATCH):
        if failed_in_a_row >= PULL_GIVE_UP_AFTER:
            break  # their server is down: do not wait for every batch to time out
        batch = tickets[start:start + PULL_BATCH]
        try:
            items = client.get_requests(dispatch.endpoint, [ext for _pk, ext in batch],
                                        jurisdiction=dispatch.jurisdiction)
        except client.Open311ClientError as exc:
            counts["errors"] += 1
            failed_in_a_row += 1
            logger.warning("Pulling %s from %s failed: %s", len(batch), dispatch.endpoint, exc.message)
            ExternalTicket.objects.filter(pk__in=[pk for pk, _ext in batch]).update(
                last_error=f"pull: {exc.message}"[:1000]
            )
            continue
        failed_in_a_row = 0
        by_id = {str(item.get("service_request_id") or ""): item for item in items}
        for pk, external_id in batch:
            item = by_id.get(external_id)
            if item is None:
                continue  # not shown by their server (e.g. confidential there): nothing to learn
            try:
                outcome = apply_update(pk, item, now=started)
            except Exception as exc:  # noqa: BLE001 - one bad request must not stop the others
                logger.exception("Applying the update of ticket %s failed", pk)
                error = f"update: {type(exc).__name__}: {exc}"[:1000]
                ExternalTicket.objects.filter(pk=pk).update(last_error=error)
                counts["errors"] += 1
                continue
            if outcome in ("updated", "resolved"):
                counts["updated"] += 1
            if outcome == "resolved":
                counts["resolved"] += 1
    if not counts["errors"]:
        Dispatch.objects.filter(pk=dispatch.pk).update(last_pulled_at=started)
    return counts


def _text_value(item: dict[str, Any], name: str, max_len: int) -> str:
    value = item.get(name)
    if not isinstance(value, str):
        return ""
    return value.replace("\x00", "").strip()[:max_len]


def apply_update(ticket_id: int, item: dict[str, Any], *, now: datetime | None = None) -> str:
    """Apply one service request as their server answered it: `closed` resolves the report (once),
    new `status_notes` on an open request become a public response. Returns what happened."""
    from dothi.reports import services

    now = now or timezone.now()
    status = _text_value(item, "status", 40).lower()
    notes = _text_value(item, "status_notes", services.TEXT_MAX)
    with transaction.atomic():
        ticket = ExternalTicket.objects.select_for_update().filter(pk=ticket_id, state=State.SENT).first()
        if ticket is None:
            return "skipped"
        if status not in ("open", "closed"):
            ticket.last_error = f"update: unknown status {status!r}"[:1000]
            ticket.save(update_fields=["last_error", "updated_at"])
            return "invalid"
        report = services._lock(ticket.report)
        updated_at = None
        raw_updated = _text_value(item, "updated_datetime", 40)
        if raw_updated:
            try:
                updated_at = parse_datetime(raw_updated)
            except ValueError:
                updated_at = None
        outcome = "unchanged"
        ours = report.agency_id == ticket.agency_id and report.status in OPEN_STATUSES
        if status == "closed":
            ticket.state = State.CLOSED
            if ours:
                media_url = _text_value(item, "media_url", 500)
                _resolve_from_agency(report, ticket, notes=notes, media_url=media_url, now=now)
                outcome = "resolved"
            else:
                outcome = "updated"
        elif notes and notes != ticket.external_notes and ours:
            services._event(report, kind=ReportEvent.Kind.RESPONSE, text=notes, public=True,
                            data={"external": ticket.external_id}, at=now)
            Report.objects.filter(pk=report.pk).update(updated_at=now)
            reference = report.reference
            services._notify_followers(
                report, body=notes,
                title_fn=lambda: _("Report %(reference)s: new response") % {"reference": reference},
            )
            outcome = "updated"
        ticket.external_status = status
        ticket.external_notes = notes
        if updated_at is not None and timezone.is_aware(updated_at):
            ticket.external_updated_at = updated_at
        ticket.last_error = ""
        ticket.save()
    return outcome


def _resolve_from_agency(report: Report, ticket: ExternalTicket, *, notes: str, media_url: str,
                         now: datetime) -> None:
    """The agency's system closed its request: resolve the report.

    Resolving normally needs a response and an evidence file from the agency's staff. Here the
    resolution was recorded in the agency's own system, so the evidence is that system's record: a
    public `external` event names the agency and its ticket (with their media_url, kept as text and
    never fetched), and the status event carries it in `data["evidence"]`. Their `status_notes` are the
    response; without notes a sentence saying where it was resolved stands in for it."""
    from dothi.reports import services

    with translation.override(report.city.default_language):
        evidence_text = _("Resolved in %(agency)s's own system, ticket %(ticket)s.") % {
            "agency": report.agency.name, "ticket": ticket.external_id
        }
    evidence = {
        "source": "open311",
        "agency": report.agency.code,
        "ticket": ticket.external_id,
        "endpoint": ticket.dispatch.endpoint if ticket.dispatch_id and ticket.dispatch else "",
        "media_url": media_url,
    }
    services._event(report, kind=ReportEvent.Kind.EXTERNAL, text=evidence_text, public=True,
                    data={"evidence": evidence}, at=now)
    services._apply_status(report, actor=None, to_status=Status.RESOLVED, now=now,
                           text=notes or evidence_text, data={"evidence": evidence, "automatic": True})


# --- Housekeeping (the sweep) ---------------------------------------------------------------------


def sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Every minute: release abandoned claims, send due tickets, ask about tokens, withdraw tickets of
    reports that moved to another agency, and give a ticket to any recent report that missed one."""
    from dothi.reports.tasks import dispatch_send

    now = now or timezone.now()
    counts = {"released": 0, "sent": 0, "tokens": 0, "withdrawn": 0, "reconciled": 0}
    counts["released"] = ExternalTicket.objects.filter(
        state=State.SENDING, claimed_at__lt=now - STALE_CLAIM
    ).update(state=State.PENDING, claimed_at=None, next_attempt_at=now)
    counts["withdrawn"] = (
        ExternalTicket.objects.filter(state__in=[State.SENT, State.WAITING])
        .exclude(report__agency_id=F("agency_id"))
        .update(state=State.WITHDRAWN, next_attempt_at=None)
    )
    counts["reconciled"] = _reconcile(now)
    due = list(
        ExternalTicket.objects.filter(state=State.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at").values_list("pk", flat=True)[:500]
    )
    # Not enqueued again by the next sweeps while it waits for a worker (unless that task is lost).
    ExternalTicket.objects.filter(pk__in=due, state=State.PENDING).update(next_attempt_at=now + STALE_CLAIM)
    for pk in due:
        dispatch_send.enqueue(pk)
    counts["sent"] = len(due)
    waiting = list(
        ExternalTicket.objects.filter(state=State.WAITING, next_attempt_at__lte=now)
        .values_list("pk", flat=True)[:500]
    )
    for pk in waiting:
        try:
            resolve_token(pk, now=now)
        except Exception:  # noqa: BLE001 - never stop the sweep
            logger.exception("Resolving the token of ticket %s failed", pk)
    counts["tokens"] = len(waiting)
    return counts


def _reconcile(now: datetime) -> int:
    created = 0
    for dispatch in Dispatch.objects.exclude(method=Method.QUEUE):
        since = max(dispatch.updated_at, now - RECONCILE_WINDOW)
        missing = (
            Report.objects.filter(
                agency_id=dispatch.agency_id, status__in=OPEN_STATUSES,
                submitted_at__gte=since, submitted_at__lte=now - RECONCILE_GRACE,
            )
            .exclude(external_tickets__agency_id=dispatch.agency_id)
            .values_list("pk", "city_id")[:1000]
        )
        for pk, city_id in missing:
            _obj, made = ExternalTicket.objects.get_or_create(
                report_id=pk, agency_id=dispatch.agency_id,
                defaults={"city_id": city_id, "dispatch": dispatch, "method": dispatch.method,
                          "next_attempt_at": now, "created_at": now},
            )
            created += int(made)
    return created


# --- Administration ------------------------------------------------------------------------------


def dispatch_retry(*, actor, tickets: Iterable[ExternalTicket]) -> int:
    """Send failed tickets again from the first attempt (city administrators; `actor=None` from the
    command line). Returns how many were queued."""
    retried = []
    with transaction.atomic():
        for ticket in tickets:
            if actor is not None:
                require(actor, "reports.configure", ticket.city)
            if ticket.state != State.FAILED:
                continue
            now = timezone.now()
            ExternalTicket.objects.filter(pk=ticket.pk, state=State.FAILED).update(
                state=State.PENDING, attempts=0, next_attempt_at=now, claimed_at=None
            )
            audit.record(actor=actor, action=AuditEvent.Action.UPDATE, obj=ticket, city=ticket.city,
                         summary="dispatch retried", details={"last_error": ticket.last_error[:300]})
            retried.append(ticket.pk)
        for pk in retried:
            transaction.on_commit(lambda pk=pk: _enqueue_send(pk))
    return len(retried)


def validate_service_codes(value: Any) -> None:
    """`Dispatch.service_codes`: {our code: "their code"} or {our code: {"service_code": "...",
    "attributes": {our question: their attribute}}}."""
    message = _("Map each category code to the agency's service code, or to {\"service_code\": …, "
                "\"attributes\": {…}}.")
    if not isinstance(value, dict):
        raise ValidationError(message, code="service_codes")
    for key, mapping in value.items():
        if not isinstance(key, str):
            raise ValidationError(message, code="service_codes")
        if isinstance(mapping, str):
            continue
        if not isinstance(mapping, dict) or not isinstance(mapping.get("service_code", ""), str):
            raise ValidationError(message, code="service_codes")
        attributes = mapping.get("attributes", {})
        if not isinstance(attributes, dict) or not all(
            isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in attributes.items()
        ):
            raise ValidationError(message, code="service_codes")
