"""The city is the tenant: staff and citizens of one city cannot read another city's data through any
route — API or page, at the root or under the other city's `/c/<slug>/` prefix, with the other city's
object ids in the path. City B's private rows carry a marker that must never appear in a response."""

from __future__ import annotations

import logging
import re

import pytest

from dothi.core import audit
from dothi.core.models import Agreement, AuditEvent, Feedback, Notification, Organisation
from tests import factories
from tests.security.routes import api_route_to_spec_path, fill_api_path, openapi_operations, url_routes

pytestmark = pytest.mark.django_db

MARKER = "MARKER-OTHER-CITY"
READERS = ["citizen", "agency_staff", "agency_manager", "operator", "council_member", "city_admin"]
SKIP = re.compile(r"signout|logout|delete|export|jsi18n|setlang|sw\.js")


@pytest.fixture
def other_city_private_rows(other_city):
    staff = factories.make_staff(other_city, "agency_manager")
    staff.display_name = f"{MARKER} staff"
    staff.save()
    person = factories.make_citizen(other_city)
    person.display_name = f"{MARKER} citizen"
    person.save()
    org = Organisation.objects.create(
        city=other_city, code="b-org", name_vi=f"{MARKER} org", kind="enterprise"
    )
    rows = [
        staff, person, org,
        Agreement.objects.create(city=other_city, organisation=org, kind="mou", title=f"{MARKER} agreement",
                                 starts_on="2026-01-01"),
        Notification.objects.create(city=other_city, recipient=person, topic="t", title=f"{MARKER} notice"),
        Feedback.objects.create(city=other_city, subject_type="core.sample", subject_id="1", author=person,
                                rating=2, comment=f"{MARKER} feedback"),
        audit.record(actor=staff, action=AuditEvent.Action.UPDATE, obj=org, summary=f"{MARKER} audit"),
    ]
    return sorted({str(row.pk) for row in rows})


def _requests(client, ids):
    ops, _ = openapi_operations(client)
    spec_paths = {op.path for op in ops}
    paths = set()
    for op in ops:
        if op.method == "GET":
            paths.update(fill_api_path(op, value) for value in (ids if "{" in op.path else [None]))
    for route in url_routes():
        if route.is_api and api_route_to_spec_path(route) in spec_paths:
            continue
        if "<" in route.pattern or "(?P" in route.pattern:
            for value in ids:
                filled = re.sub(r"<(?:\w+:)?(object_id|pk|id)>", value, route.pattern)
                if "<" not in filled and "(?P" not in filled:
                    paths.add("/" + filled)
            paths.add(route.path)
        else:
            paths.add(route.path)
    return sorted(p for p in paths if not SKIP.search(p))


def test_no_route_shows_another_citys_private_data(cast, city, other_city, other_city_private_rows, client):
    logging.getLogger("django.request").setLevel(logging.CRITICAL)
    paths = _requests(client, other_city_private_rows)
    assert len(paths) > 20
    leaks = []
    for role in READERS:
        client.force_login(cast[role])
        for path in paths:
            for url in (path, f"/c/{other_city.slug}{path}"):
                response = client.get(url)
                body = response.content.decode(errors="replace") if hasattr(response, "content") else ""
                if MARKER in body:
                    leaks.append(f"{role} GET {url} -> {response.status_code}")
        client.logout()
    assert not leaks, "Another city's private data leaked:\n" + "\n".join(leaks)


def test_the_marker_is_visible_to_that_citys_own_admin(other_city, other_city_private_rows, client):
    # The test above can only fail if the marker is reachable at all: the other city's own administrator
    # sees it in the admin, so the routes walked above do lead to it.
    admin = factories.make_staff(other_city, "city_admin")
    client.force_login(admin)
    response = client.get("/admin/core/organisation/")
    assert MARKER in response.content.decode()
