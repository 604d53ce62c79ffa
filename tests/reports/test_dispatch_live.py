"""Dispatch to a real Open311 server: dothi's own GeoReport v2 surface, served by the live server, plays
the agency's own system. A second city ("capnuoc", the water company's own dothi covering Đà Nẵng) has
its own categories and issued an Open311 key to Đà Nẵng; Đà Nẵng's Department of Construction
dispatches to `{live_server}/c/capnuoc/open311/v2`.

A report filed in Đà Nẵng is posted there by the background task, handled and resolved in the other
city through its own services, and the pull job brings the response and the resolution back."""

from __future__ import annotations

import pytest
from django.utils import translation

from dothi.core import geo
from dothi.core.models import Notification
from dothi.identity import crypto
from dothi.reports import dispatch, services, tasks
from dothi.reports.models import (
    Category,
    CategoryAttribute,
    Channel,
    Dispatch,
    ExternalTicket,
    Report,
    ReportEvent,
    RoutingRule,
    Status,
)
from tests import factories
from tests.reports.conftest import jpeg_bytes

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def water_city(rx, live_server, settings):
    settings.DISPATCH_TIMEOUT_SECONDS = 20
    settings.SITE_URL = live_server.url
    dispatch.invalidate()
    city = factories.make_city("capnuoc", name_vi="Cấp nước Đà Nẵng", name_en="Da Nang Water",
                               province_code="48")
    geo.city_build_approximate_boundaries(city)
    water = factories.make_agency(city, "dawaco", name_vi="Công ty Cấp nước", name_en="Da Nang Water Co.")
    road = Category.objects.create(city=city, code="road-damage", name_vi="Hư hỏng mặt đường",
                                   name_en="Road damage")
    CategoryAttribute.objects.create(
        category=road, code="muc-do", label_vi="Mức độ", label_en="Severity", required=True,
        datatype=CategoryAttribute.Datatype.SINGLE,
        values=[{"key": "shallow", "name_vi": "Nông"}, {"key": "deep", "name_vi": "Sâu"}],
    )
    RoutingRule.objects.create(city=city, category=road, agency=water)
    _key, plaintext = services.open311_key_issue(actor=None, city=city, name="Đà Nẵng reports")
    Dispatch.objects.create(
        city=rx.city, agency=rx.agency, method=Dispatch.Method.OPEN311,
        endpoint=f"{live_server.url}/c/capnuoc/open311/v2",
        api_key_enc=crypto.encrypt(plaintext),
        # Their category and question codes differ from ours; the width is not asked there.
        service_codes={"pothole": {"service_code": "road-damage", "attributes": {"depth": "muc-do"}}},
    )
    return type("Water", (), {"city": city, "agency": water, "staff": factories.make_staff(
        city, "agency_staff", organisation=water)})


def test_post_handle_there_and_pull_the_resolution_back(rx, water_city, submit):
    citizen = rx.cast["citizen"]
    # A real commit: the submission's on-commit hook runs the dispatch task (immediate backend), which
    # POSTs to the live server.
    report = submit(address="12 Bạch Đằng", attributes={"depth": "deep", "width": 2})

    ticket = ExternalTicket.objects.get(report=report)
    assert ticket.state == ExternalTicket.State.SENT, ticket.last_error
    theirs = Report.objects.get(city=water_city.city, reference=ticket.external_id)
    assert theirs.channel == Channel.OPEN311 and theirs.agency == water_city.agency
    assert theirs.category.code == "road-damage" and theirs.attributes == {"muc-do": "deep"}
    assert theirs.address == "12 Bạch Đằng" and (theirs.lat, theirs.lon) == (report.lat, report.lon)
    assert theirs.description.startswith(report.description) and report.reference in theirs.description
    assert theirs.reporter is None and theirs.reporter_contact_enc == ""  # no contact left Đà Nẵng
    assert theirs.open311_key.name == "Đà Nẵng reports"
    report.refresh_from_db()
    assert report.external_id == theirs.reference

    # Nothing happened there yet: pulling changes nothing.
    assert tasks.dispatch_pull.call()["updated"] == 0

    # The water company answers publicly, then resolves it with its own evidence.
    services.report_add_note(actor=water_city.staff, report=theirs, text="Crew booked for Monday",
                             public=True)
    assert tasks.dispatch_pull.call()["updated"] == 1
    assert report.events.get(kind=ReportEvent.Kind.RESPONSE).text == "Crew booked for Monday"

    services.report_transition(actor=water_city.staff, report=theirs, to_status=Status.RESOLVED,
                               text="Patched the road surface", evidence=[jpeg_bytes()])
    counts = tasks.dispatch_pull.call()
    assert counts["resolved"] == 1 and counts["errors"] == 0

    report.refresh_from_db()
    assert report.status == Status.RESOLVED and report.resolved_at is not None
    resolved = report.events.get(kind=ReportEvent.Kind.STATUS, to_status=Status.RESOLVED)
    assert resolved.public and resolved.text == "Patched the road surface" and resolved.actor is None
    assert resolved.data["evidence"] == {
        "source": "open311", "agency": rx.agency.code, "ticket": theirs.reference,
        "endpoint": ticket.dispatch.endpoint, "media_url": resolved.data["evidence"]["media_url"],
    }
    with translation.override("en"):
        evidence = report.events.get(kind=ReportEvent.Kind.EXTERNAL)
    assert evidence.public and theirs.reference in evidence.text
    ticket.refresh_from_db()
    assert ticket.state == ExternalTicket.State.CLOSED and ticket.external_notes == "Patched the road surface"
    assert Dispatch.objects.get(agency=rx.agency).last_pulled_at is not None

    # The citizen was told of the answer and of the resolution, like any status change.
    titles = list(Notification.objects.filter(recipient=citizen).values_list("title", flat=True))
    assert len(titles) == 2 and all(report.reference in t for t in titles)

    # The citizen may still confirm the fix in Đà Nẵng.
    services.report_confirm_fixed(actor=citizen, report=report)
    report.refresh_from_db()
    assert report.status == Status.CLOSED


def test_a_retried_post_is_one_request_there(rx, water_city, submit):
    report = submit()
    ticket = ExternalTicket.objects.get(report=report)
    assert ticket.state == ExternalTicket.State.SENT, ticket.last_error
    # A worker died after their server accepted the POST but before the ticket was saved: the ticket
    # is sent again, and their server recognises the Idempotency-Key.
    ExternalTicket.objects.filter(pk=ticket.pk).update(state=ExternalTicket.State.PENDING, external_id="")
    assert dispatch.send(ticket.pk) == ExternalTicket.State.SENT
    ticket.refresh_from_db()
    assert Report.objects.filter(city=water_city.city).count() == 1
    assert ticket.external_id == Report.objects.get(city=water_city.city).reference
