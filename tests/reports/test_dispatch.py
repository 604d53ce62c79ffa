"""Dispatch by e-mail and to an agency's own Open311 system: tickets, the notice, the POST, retries,
tokens, pulling updates, and what never leaves the platform (the reporter's contact).

The agency's server here is a small real HTTP server scripted to answer as broken servers do (500,
garbage, too slow, 403, tokens); test_dispatch_live.py runs against dothi's own Open311 surface."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from dothi.core.models import Notification
from dothi.identity import crypto
from dothi.reports import dispatch, services, tasks
from dothi.reports.models import Dispatch, ExternalTicket, Report, ReportEvent, Status
from tests import factories

pytestmark = pytest.mark.django_db

State = ExternalTicket.State


@pytest.fixture(autouse=True)
def _dispatch_settings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "https://dothi.example.vn"
    settings.DISPATCH_TIMEOUT_SECONDS = 0.5
    dispatch.invalidate()
    yield
    dispatch.invalidate()


def _later(ticket, seconds=1):
    ticket.refresh_from_db()
    return (ticket.next_attempt_at or timezone.now()) + timedelta(seconds=seconds)


# --- A scripted agency server ----------------------------------------------------------------------


class AgencyServer:
    """Answers each request with the next scripted answer (status, body, delay), else `default`."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.script: list[tuple[int, str, float]] = []
        self.default: tuple[int, str, float] = (200, "[]", 0)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, body: bytes = b""):
                url = urllib.parse.urlsplit(self.path)
                server.requests.append({
                    "method": self.command,
                    "path": url.path,
                    "query": urllib.parse.parse_qs(url.query),
                    "form": urllib.parse.parse_qsl(body.decode()),
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                })
                status, text, delay = server.script.pop(0) if server.script else server.default
                if delay:
                    time.sleep(delay)
                payload = text.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (timeout)

            def do_GET(self):
                self._answer()

            def do_POST(self):
                self._answer(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/open311/v2"

    def answer(self, status: int, body, delay: float = 0) -> None:
        self.script.append((status, body if isinstance(body, str) else json.dumps(body), delay))

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def agency_server():
    server = AgencyServer()
    yield server
    server.close()


@pytest.fixture
def email_dispatch(rx):
    return Dispatch.objects.create(city=rx.city, agency=rx.agency, method=Dispatch.Method.EMAIL,
                                   email="so-xay-dung@danang.example.vn")


@pytest.fixture
def open311_dispatch(rx, agency_server):
    return Dispatch.objects.create(
        city=rx.city, agency=rx.agency, method=Dispatch.Method.OPEN311, endpoint=agency_server.url,
        jurisdiction="water", api_key_enc=crypto.encrypt("their-secret-key"),
        service_codes={"pothole": "ROAD-01"},
    )


@pytest.fixture
def submitted(submit, django_capture_on_commit_callbacks):
    """Submit and run what the submission's transaction queued on commit (the dispatch task)."""

    def _submitted(**kwargs) -> Report:
        with django_capture_on_commit_callbacks(execute=True):
            return submit(**kwargs)

    return _submitted


# --- The queue (default) ---------------------------------------------------------------------------


def test_queue_agencies_get_no_ticket_and_cost_no_query(rx, submitted, django_assert_num_queries):
    report = submitted()
    assert not ExternalTicket.objects.exists() and mail.outbox == []
    with django_assert_num_queries(0):  # the in-process copy answers
        assert dispatch.on_routed(report) is None


def test_an_explicit_queue_dispatch_is_the_queue(rx, submitted):
    Dispatch.objects.create(city=rx.city, agency=rx.agency, method=Dispatch.Method.QUEUE)
    submitted()
    assert not ExternalTicket.objects.exists() and mail.outbox == []


# --- E-mail ----------------------------------------------------------------------------------------


def test_email_notice_in_the_citys_language_with_links_and_no_contact(rx, email_dispatch, submitted):
    rx.city.default_language = "en"
    rx.city.save()
    report = submitted(address="12 Bạch Đằng", attributes={"depth": "deep", "width": 2})

    (message,) = mail.outbox
    assert message.to == ["so-xay-dung@danang.example.vn"]
    assert message.subject == f"[{report.reference}] New report: Pothole"
    body = message.body
    assert "A deep pothole in front of no. 12" in body
    assert "Category: Pothole" in body and "Depth: Deep" in body
    assert f"12 Bạch Đằng · {report.commune.name} ({report.lat:.6f}, {report.lon:.6f})" in body
    # The only city is served at the root: no /c/<slug>/ prefix.
    assert f"https://dothi.example.vn/reports/{report.reference}/\n" in body
    assert f"https://dothi.example.vn/reports/{report.reference}/handle/" in body
    with translation.override("en"):
        from django.utils.formats import date_format

        local_due = timezone.localtime(report.due_at, dispatch._tz(rx.city))
        assert f"Due: {date_format(local_due, 'DATETIME_FORMAT')}" in body
    citizen = rx.cast["citizen"]
    assert citizen.display_name not in body and "CONFIDENTIAL" not in body

    ticket = ExternalTicket.objects.get()
    assert (ticket.report, ticket.agency, ticket.method, ticket.state) == (
        report, rx.agency, "email", State.SENT)
    assert ticket.attempts == 1 and ticket.sent_at and ticket.last_error == ""
    event = report.events.get(kind=ReportEvent.Kind.DISPATCHED)
    assert not event.public and "so-xay-dung@danang.example.vn" in event.text
    # A notice: the report stays in the agency's queue, untouched.
    report.refresh_from_db()
    assert report.status == Status.RECEIVED


def test_email_in_vietnamese_by_default_and_city_prefix_with_several_cities(rx, email_dispatch, submitted,
                                                                           other_city):
    report = submitted()
    (message,) = mail.outbox
    assert "Ổ gà" in message.subject and report.reference in message.subject
    assert f"https://dothi.example.vn/c/danang/reports/{report.reference}/handle/" in message.body


def test_confidential_email_says_so_and_carries_no_public_link_nor_contact(rx, submitted, settings):
    rx.city.default_language = "en"
    rx.city.save()
    Dispatch.objects.create(city=rx.city, agency=rx.police, method=Dispatch.Method.EMAIL,
                            email="police@danang.example.vn")
    staff = rx.cast["agency_staff"]
    report = submitted(category_code="security", description="Gambling at no. 5", attributes={},
                       actor=staff, channel="hotline",
                       contact={"name": "Nguyễn Văn Gọi", "phone": "0905123456", "email": "goi@example.vn"})
    (message,) = mail.outbox
    assert message.to == ["police@danang.example.vn"]
    assert message.subject == f"[{report.reference}] Confidential report: Security and public order"
    assert "CONFIDENTIAL" in message.body and "Gambling at no. 5" in message.body
    for secret in ("Nguyễn Văn Gọi", "0905123456", "goi@example.vn"):
        assert secret not in message.body and secret not in message.subject
    assert f"/reports/{report.reference}/\n" not in message.body  # no public page
    assert f"/reports/{report.reference}/handle/" in message.body


def test_rerouting_to_an_email_agency_sends_a_notice(rx, submit, django_capture_on_commit_callbacks):
    Dispatch.objects.create(city=rx.city, agency=rx.ward_agency, method=Dispatch.Method.EMAIL,
                            email="ward-b@danang.example.vn")
    report = submit()
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        services.report_reroute(actor=rx.cast["operator"], report=report, agency=rx.ward_agency,
                                reason="Ward B maintains this street")
    (message,) = mail.outbox
    assert message.to == ["ward-b@danang.example.vn"]
    ticket = ExternalTicket.objects.get(report=report)
    assert ticket.agency == rx.ward_agency and ticket.state == State.SENT


def test_mail_server_down_is_retried_with_back_off_then_sent(rx, email_dispatch, submitted, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1  # nobody listens
    report = submitted()
    ticket = ExternalTicket.objects.get(report=report)
    assert ticket.state == State.PENDING and ticket.attempts == 1
    assert "Connection refused" in ticket.last_error or "Errno" in ticket.last_error
    first_delay = ticket.next_attempt_at - timezone.now()
    assert timedelta(seconds=50) < first_delay <= timedelta(seconds=60)

    # Not yet due: the sweep leaves it alone.
    assert dispatch.sweep()["sent"] == 0
    # Due, still down: the second attempt doubles the wait.
    dispatch.sweep(now=_later(ticket))
    ticket.refresh_from_db()
    assert ticket.attempts == 2 and ticket.state == State.PENDING
    assert ticket.next_attempt_at - timezone.now() > timedelta(seconds=100)

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    counts = dispatch.sweep(now=_later(ticket))
    assert counts["sent"] == 1
    ticket.refresh_from_db()
    assert ticket.state == State.SENT and ticket.last_error == "" and ticket.attempts == 3
    assert len(mail.outbox) == 1


def test_email_gives_up_after_max_attempts_and_a_retry_sends_it(rx, email_dispatch, submitted, settings,
                                                                django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1
    report = submitted()
    ticket = ExternalTicket.objects.get(report=report)
    for _ in range(dispatch.MAX_ATTEMPTS - 1):
        dispatch.sweep(now=_later(ticket))
    ticket.refresh_from_db()
    assert ticket.state == State.FAILED and ticket.attempts == dispatch.MAX_ATTEMPTS
    failed = report.events.get(kind=ReportEvent.Kind.DISPATCHED)
    assert not failed.public and failed.data["state"] == State.FAILED
    assert dispatch.sweep(now=timezone.now() + timedelta(days=1))["sent"] == 0  # failed stays failed

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with pytest.raises(PermissionDenied):  # city administrators only
        dispatch.dispatch_retry(actor=rx.cast["agency_staff"], tickets=[ticket])
    with django_capture_on_commit_callbacks(execute=True):
        call_command("dispatch_retry", "--city", "danang")
    ticket.refresh_from_db()
    assert ticket.state == State.SENT and len(mail.outbox) == 1


def test_sending_is_idempotent(rx, email_dispatch, submitted):
    report = submitted()
    ticket = ExternalTicket.objects.get(report=report)
    assert dispatch.send(ticket.pk) == State.SENT  # a second run of the task
    tasks.dispatch_send.call(ticket.pk)
    with pytest.raises(IntegrityError), transaction.atomic():  # one ticket per report and agency
        ExternalTicket.objects.create(city=rx.city, report=report, agency=rx.agency, method="email")
    assert len(mail.outbox) == 1


def test_a_report_moved_on_before_sending_is_withdrawn(rx, email_dispatch, submit):
    report = submit()  # on-commit callbacks not run: the ticket waits, pending
    ticket = ExternalTicket.objects.get(report=report)
    services.report_reroute(actor=rx.cast["operator"], report=report, agency=rx.ward_agency,
                            reason="Ward B maintains this street")
    assert dispatch.send(ticket.pk) == State.WITHDRAWN
    assert mail.outbox == []


def test_a_method_changed_before_sending_is_followed(rx, email_dispatch, agency_server, submit):
    report = submit()  # pending e-mail ticket
    email_dispatch.method, email_dispatch.endpoint = Dispatch.Method.OPEN311, agency_server.url
    email_dispatch.api_key_enc = crypto.encrypt("k")
    email_dispatch.save()
    agency_server.answer(200, [{"service_request_id": "W-3"}])
    ticket = ExternalTicket.objects.get(report=report)
    assert dispatch.send(ticket.pk) == State.SENT
    ticket.refresh_from_db()
    assert ticket.method == "open311" and ticket.external_id == "W-3" and mail.outbox == []

    other = submit(description="another pothole", idempotency_key="other")
    Dispatch.objects.filter(pk=email_dispatch.pk).update(method=Dispatch.Method.QUEUE)
    assert dispatch.send(ExternalTicket.objects.get(report=other).pk) == State.WITHDRAWN


def test_stale_copy_in_another_process_is_caught_by_the_sweep(rx, email_dispatch, submitted, monkeypatch):
    # Another process read the methods before the administrator set this agency to e-mail.
    monkeypatch.setattr(dispatch, "_dispatching_agencies", frozenset)
    report = submitted()
    assert not ExternalTicket.objects.exists()
    counts = dispatch.sweep(now=timezone.now() + timedelta(minutes=1))
    assert counts["reconciled"] == 1
    assert ExternalTicket.objects.get(report=report).state == State.SENT
    assert len(mail.outbox) == 1


def test_abandoned_claims_are_released(rx, email_dispatch, submit):
    report = submit()
    ticket = ExternalTicket.objects.get(report=report)
    ExternalTicket.objects.filter(pk=ticket.pk).update(state=State.SENDING, claimed_at=timezone.now())
    assert dispatch.sweep()["released"] == 0
    counts = dispatch.sweep(now=timezone.now() + dispatch.STALE_CLAIM + timedelta(seconds=1))
    assert counts["released"] == 1
    ticket.refresh_from_db()
    assert ticket.state == State.SENT and len(mail.outbox) == 1


def test_dispatch_configuration_is_validated(rx):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        Dispatch(city=rx.city, agency=rx.agency, method="email").full_clean()
    assert "email" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        Dispatch(city=rx.city, agency=rx.agency, method="open311", service_codes=["x"]).full_clean()
    assert {"endpoint", "service_codes"} <= set(caught.value.message_dict)
    Dispatch(city=rx.city, agency=rx.agency, method="open311", endpoint="https://x.example/open311/v2",
             service_codes={"a": "B", "c": {"service_code": "D", "attributes": {"q": "r", "s": None}}}
             ).full_clean()


# --- Open311: posting --------------------------------------------------------------------------------


def test_open311_post_carries_the_report_never_the_contact(rx, open311_dispatch, agency_server, submitted):
    agency_server.answer(200, [{"service_request_id": "W-1001", "service_notice": "ok", "account_id": None}])
    staff = rx.cast["agency_staff"]
    report = submitted(actor=staff, channel="hotline", address="12 Bạch Đằng",
                       contact={"name": "Nguyễn Văn Gọi", "phone": "0905123456", "email": "goi@example.vn"},
                       attributes={"depth": "deep", "width": 2})
    (posted,) = agency_server.requests
    assert posted["method"] == "POST" and posted["path"] == "/open311/v2/requests.json"
    form = dict(posted["form"])
    assert form["api_key"] == "their-secret-key" and form["jurisdiction_id"] == "water"
    assert form["service_code"] == "ROAD-01"  # mapped
    assert float(form["lat"]) == report.lat and float(form["long"]) == report.lon
    assert form["address_string"] == "12 Bạch Đằng"
    assert form["description"].startswith("A deep pothole in front of no. 12")
    assert report.reference in form["description"]
    assert form["attribute[depth]"] == "deep" and form["attribute[width]"] == "2"
    for name in ("email", "first_name", "last_name", "phone", "account_id", "device_id"):
        assert name not in form
    assert "0905123456" not in json.dumps(posted["form"]) and "Gọi" not in json.dumps(posted["form"])
    assert posted["headers"]["idempotency-key"] == f"dothi:danang:{report.reference}"

    ticket = ExternalTicket.objects.get(report=report)
    assert ticket.state == State.SENT and ticket.external_id == "W-1001"
    report.refresh_from_db()
    assert report.external_id == "W-1001"
    assert "W-1001" in report.events.get(kind=ReportEvent.Kind.DISPATCHED).text


def test_open311_attribute_mapping_renames_and_drops(rx, open311_dispatch, agency_server, submitted):
    open311_dispatch.service_codes = {"pothole": {"service_code": "ROAD-02", "attributes": {"depth": "sau"}}}
    open311_dispatch.save()
    agency_server.answer(200, [{"service_request_id": "W-1"}])
    submitted(attributes={"depth": "deep", "width": 3})
    form = dict(agency_server.requests[0]["form"])
    assert form["service_code"] == "ROAD-02" and form["attribute[sau]"] == "deep"
    assert not any(k.startswith("attribute[width]") for k in form)


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ((500, [{"code": 500, "description": "database down"}], 0), "HTTP 500: database down"),
        ((200, "<html>Welcome</html>", 0), "not JSON"),
        ((200, {"not": "a list"}, 0), "not a list"),
        ((200, [{"service_notice": "thanks"}], 0), "neither a service_request_id nor a token"),
        ((200, "[]", 2.0), "timed out"),
    ],
)
def test_open311_server_failures_are_recorded_and_retried(rx, open311_dispatch, agency_server, submitted,
                                                          answer, error):
    agency_server.answer(*answer)
    report = submitted()
    ticket = ExternalTicket.objects.get(report=report)
    assert ticket.state == State.PENDING and ticket.attempts == 1 and error in ticket.last_error
    assert ticket.next_attempt_at > timezone.now()
    assert not report.events.filter(kind=ReportEvent.Kind.DISPATCHED).exists()

    # Their server is back: nothing was lost.
    agency_server.answer(200, [{"service_request_id": "W-7"}])
    dispatch.sweep(now=_later(ticket))
    ticket.refresh_from_db()
    assert ticket.state == State.SENT and ticket.external_id == "W-7" and ticket.last_error == ""


def test_open311_refused_key_fails_at_once(rx, open311_dispatch, agency_server, submitted):
    agency_server.answer(403, [{"code": 403, "description": "Invalid api_key."}])
    report = submitted()
    ticket = ExternalTicket.objects.get(report=report)
    assert ticket.state == State.FAILED and "Invalid api_key." in ticket.last_error
    assert len(agency_server.requests) == 1
    event = report.events.get(kind=ReportEvent.Kind.DISPATCHED)
    assert "Invalid api_key." in event.text and not event.public


def test_open311_unreachable_endpoint_is_retried(rx, submitted):
    Dispatch.objects.create(city=rx.city, agency=rx.agency, method="open311",
                            endpoint="http://127.0.0.1:9/open311/v2", api_key_enc=crypto.encrypt("k"))
    report = submitted()
    ticket = ExternalTicket.objects.get(report=report)
    assert ticket.state == State.PENDING and "unreachable" in ticket.last_error


def test_open311_token_then_service_request_id(rx, open311_dispatch, agency_server, submitted):
    agency_server.answer(200, [{"token": "tok-42"}])
    report = submitted()
    ticket = ExternalTicket.objects.get(report=report)
    assert ticket.state == State.WAITING and ticket.token == "tok-42" and ticket.external_id == ""

    agency_server.answer(404, [{"code": 404, "description": "not yet"}])
    dispatch.sweep(now=_later(ticket))
    ticket.refresh_from_db()
    assert ticket.state == State.WAITING

    agency_server.answer(200, [{"token": "tok-42", "service_request_id": "W-9"}])
    dispatch.sweep(now=_later(ticket))
    ticket.refresh_from_db()
    assert ticket.state == State.SENT and ticket.external_id == "W-9"
    assert [r["path"] for r in agency_server.requests][-1] == "/open311/v2/tokens/tok-42.json"
    assert agency_server.requests[-1]["query"]["jurisdiction_id"] == ["water"]


# --- Open311: pulling --------------------------------------------------------------------------------


@pytest.fixture
def sent_ticket(rx, open311_dispatch, agency_server, submitted):
    agency_server.answer(200, [{"service_request_id": "W-5"}])
    report = submitted()
    ticket = ExternalTicket.objects.get(report=report)
    assert ticket.state == State.SENT
    agency_server.requests.clear()
    return ticket


def _request(status, notes=None, **extra):
    return [{"service_request_id": "W-5", "status": status, "status_notes": notes,
             "updated_datetime": "2026-11-23T10:00:00Z", **extra}]


def test_pull_asks_for_the_ids_and_applies_notes_then_closure(rx, sent_ticket, agency_server):
    citizen = rx.cast["citizen"]
    report = sent_ticket.report
    agency_server.answer(200, _request("open", "Crew booked for Monday"))
    counts = tasks.dispatch_pull.call()
    assert counts["updated"] == 1
    (asked,) = agency_server.requests
    assert asked["path"] == "/open311/v2/requests.json"
    assert asked["query"]["service_request_id"] == ["W-5"] and asked["query"]["jurisdiction_id"] == ["water"]
    response = report.events.get(kind=ReportEvent.Kind.RESPONSE)
    assert response.public and response.text == "Crew booked for Monday"
    assert Notification.objects.filter(recipient=citizen, title__contains=report.reference).count() == 1
    open311 = Dispatch.objects.get(agency=rx.agency)
    assert open311.last_pulled_at is not None

    # The same notes again: nothing new.
    agency_server.answer(200, _request("open", "Crew booked for Monday"))
    assert tasks.dispatch_pull.call()["updated"] == 0

    agency_server.answer(200, _request("closed", None, media_url="https://water.example/p/1.jpg"))
    assert tasks.dispatch_pull.call()["resolved"] == 1
    report.refresh_from_db()
    assert report.status == Status.RESOLVED and report.resolved_at
    status = report.events.get(kind=ReportEvent.Kind.STATUS, to_status=Status.RESOLVED)
    assert "W-5" in status.text  # no notes from them: where it was resolved stands in
    assert status.data["evidence"]["ticket"] == "W-5"
    assert status.data["evidence"]["media_url"] == "https://water.example/p/1.jpg"
    assert report.events.filter(kind=ReportEvent.Kind.EXTERNAL, public=True).count() == 1
    assert Notification.objects.filter(recipient=citizen, title__contains=report.reference).count() == 2
    sent_ticket.refresh_from_db()
    assert sent_ticket.state == State.CLOSED and sent_ticket.external_status == "closed"

    # Closed tickets are not asked about again; the citizen may still reopen the report here.
    agency_server.requests.clear()
    tasks.dispatch_pull.call()
    assert agency_server.requests == []


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ((500, "oops", 0), "pull: HTTP 500"),
        ((200, "garbage{", 0), "pull: the answer is not JSON"),
        ((200, "[]", 2.0), "pull: timed out"),
    ],
)
def test_pull_failures_are_recorded_and_nothing_changes(rx, sent_ticket, agency_server, answer, error):
    agency_server.answer(*answer)
    counts = tasks.dispatch_pull.call()
    assert counts["errors"] == 1
    sent_ticket.refresh_from_db()
    assert sent_ticket.state == State.SENT and sent_ticket.last_error.startswith(error)
    assert Dispatch.objects.get(agency=rx.agency).last_pulled_at is None  # asked again next time
    report = sent_ticket.report
    report.refresh_from_db()
    assert report.status == Status.RECEIVED

    agency_server.answer(200, _request("closed", "Pipe replaced"))
    assert tasks.dispatch_pull.call()["resolved"] == 1
    report.refresh_from_db()
    assert report.status == Status.RESOLVED
    assert report.events.get(kind=ReportEvent.Kind.STATUS).text == "Pipe replaced"


def test_pull_ignores_unknown_statuses_and_requests_it_did_not_ask_for(rx, sent_ticket, agency_server):
    agency_server.answer(200, _request("exploded") + [{"service_request_id": "OTHER", "status": "closed"}])
    tasks.dispatch_pull.call()
    sent_ticket.refresh_from_db()
    assert sent_ticket.state == State.SENT and "unknown status" in sent_ticket.last_error
    report = sent_ticket.report
    report.refresh_from_db()
    assert report.status == Status.RECEIVED


def test_a_report_resolved_here_first_only_closes_the_ticket(rx, sent_ticket, agency_server):
    report = sent_ticket.report
    services.report_transition(actor=rx.cast["agency_staff"], report=report, to_status=Status.RESOLVED,
                               text="Fixed by our own crew", evidence=[_jpeg()])
    agency_server.answer(200, _request("closed", "Done"))
    tasks.dispatch_pull.call()
    sent_ticket.refresh_from_db()
    assert sent_ticket.state == State.CLOSED
    assert report.events.filter(kind=ReportEvent.Kind.STATUS, to_status=Status.RESOLVED).count() == 1


def test_rerouted_reports_are_no_longer_pulled(rx, sent_ticket, agency_server):
    services.report_reroute(actor=rx.cast["operator"], report=sent_ticket.report, agency=rx.ward_agency,
                            reason="Ward B maintains this street")
    assert dispatch.sweep()["withdrawn"] == 1
    tasks.dispatch_pull.call()
    assert agency_server.requests == []
    sent_ticket.refresh_from_db()
    assert sent_ticket.state == State.WITHDRAWN


def test_routed_back_to_the_open311_agency_resumes_the_same_request(rx, sent_ticket, agency_server,
                                                                    django_capture_on_commit_callbacks):
    operator = rx.cast["operator"]
    report = sent_ticket.report
    services.report_reroute(actor=operator, report=report, agency=rx.ward_agency, reason="Ward B's street")
    dispatch.sweep()
    with django_capture_on_commit_callbacks(execute=True):
        services.report_reroute(actor=operator, report=report, agency=rx.agency, reason="No, ours after all")
    assert agency_server.requests == []  # never posted twice
    assert ExternalTicket.objects.filter(report=report).count() == 1
    sent_ticket.refresh_from_db()
    assert sent_ticket.state == State.SENT and sent_ticket.external_id == "W-5"


def test_pull_gives_up_on_a_server_that_is_down(rx, open311_dispatch, agency_server, submit, monkeypatch):
    monkeypatch.setattr(dispatch, "PULL_BATCH", 1)
    for n in range(5):
        report = submit(description=f"pothole {n}", idempotency_key=f"k{n}")
        ExternalTicket.objects.filter(report=report).update(state=State.SENT, external_id=f"W-{n}")
    agency_server.default = (503, "down", 0)
    counts = tasks.dispatch_pull.call()
    assert counts["errors"] == dispatch.PULL_GIVE_UP_AFTER == len(agency_server.requests)


def test_pull_batches_ids(rx, open311_dispatch, agency_server, submit, monkeypatch):
    monkeypatch.setattr(dispatch, "PULL_BATCH", 2)
    for n in range(5):
        report = submit(description=f"pothole {n}", idempotency_key=f"k{n}")
        ExternalTicket.objects.filter(report=report).update(state=State.SENT, external_id=f"W-{n}")
    tasks.dispatch_pull.call()
    asked = [r["query"]["service_request_id"][0] for r in agency_server.requests]
    assert asked == ["W-0,W-1", "W-2,W-3", "W-4"]


# --- Admin -------------------------------------------------------------------------------------------


def test_admin_api_key_is_write_only_and_tickets_are_listed(rx, client, agency_server, submitted):
    from django.urls import reverse

    admin = rx.cast["city_admin"]
    client.force_login(admin)
    client.cookies["dothi_language"] = "en"
    data = {"city": rx.city.pk, "agency": rx.agency.pk, "method": "open311", "email": "",
            "endpoint": agency_server.url, "jurisdiction": "", "api_key": "", "service_codes": "{}"}
    response = client.post(reverse("admin:reports_dispatch_add"), data)
    assert response.status_code == 200 and "needs the API key" in response.content.decode()
    assert not Dispatch.objects.exists()

    response = client.post(reverse("admin:reports_dispatch_add"), {**data, "api_key": "s3cret-key"})
    assert response.status_code == 302
    stored = Dispatch.objects.get()
    assert stored.api_key_enc and "s3cret-key" not in stored.api_key_enc
    assert crypto.decrypt(stored.api_key_enc) == "s3cret-key"
    page = client.get(reverse("admin:reports_dispatch_change", args=[stored.pk])).content.decode()
    assert "s3cret-key" not in page and stored.api_key_enc not in page
    assert "stored (encrypted)" in page and "dispatch_admin.js" in page

    # Saving without typing the key keeps it.
    response = client.post(reverse("admin:reports_dispatch_change", args=[stored.pk]),
                           {**data, "jurisdiction": "water"})
    assert response.status_code == 302
    stored.refresh_from_db()
    assert crypto.decrypt(stored.api_key_enc) == "s3cret-key" and stored.jurisdiction == "water"

    agency_server.answer(403, [{"code": 403, "description": "Invalid api_key."}])
    report = submitted()
    ticket = ExternalTicket.objects.get(report=report)
    listing = client.get(reverse("admin:reports_externalticket_changelist")).content.decode()
    assert "Invalid api_key." in listing and "Failed" in listing
    change_page = client.get(reverse("admin:reports_dispatch_change", args=[stored.pk])).content.decode()
    assert "Failed: 1" in change_page
    report_page = client.get(reverse("admin:reports_report_change", args=[report.pk])).content.decode()
    assert "External tickets" in report_page and "Invalid api_key." in report_page

    agency_server.answer(200, [{"service_request_id": "W-77"}])
    response = client.post(reverse("admin:reports_externalticket_changelist"),
                           {"action": "retry", "_selected_action": [ticket.pk]})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.state == State.PENDING  # queued; the task runs when the request's transaction commits
    dispatch.send(ticket.pk)
    ticket.refresh_from_db()
    assert ticket.state == State.SENT and ticket.external_id == "W-77"


def test_other_cities_tickets_are_not_listed(rx, other_city, client, email_dispatch, submit):
    from django.urls import reverse

    from dothi.core.models import Commune
    from dothi.reports.models import Category

    mine = submit()
    other_agency = factories.make_agency(other_city, "hcm-water")
    category = Category.objects.create(city=other_city, code="pipe", name_vi="Ống nước")
    theirs = Report.objects.create(
        city=other_city, reference="HCM-260101-AAAAAA", category=category, agency=other_agency,
        commune=Commune.objects.filter(province_id="79").first(), lat=10.8, lon=106.7, description="x",
    )
    ExternalTicket.objects.create(city=other_city, report=theirs, agency=other_agency, method="email")
    client.force_login(rx.cast["city_admin"])
    page = client.get(reverse("admin:reports_externalticket_changelist")).content.decode()
    assert mine.reference in page and theirs.reference not in page


def _jpeg():
    from tests.reports.conftest import jpeg_bytes

    return jpeg_bytes()
