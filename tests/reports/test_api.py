"""The reports JSON API under /api/v1/reports/ over HTTP: sessions with CSRF, multipart submission,
idempotency, the public view, following and rating."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from dothi.core.models import Feedback
from dothi.reports.models import Follower, Report, ReportEvent, ReportPhoto, Status
from tests import factories
from tests.reports.conftest import jpeg_bytes, png_bytes

pytestmark = pytest.mark.django_db
BASE = "/api/v1/reports/"


def api_client(user=None) -> tuple[Client, str]:
    """A client that enforces CSRF like a browser would, signed in as `user`, with its token."""
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_login(user)
    token = client.get("/api/v1/identity/csrf").json()["csrf_token"]
    return client, token


def body(rx, **extra):
    lat, lon = rx.point_a
    data = {
        "category": "pothole",
        "description": "Pothole by the school gate",
        "lat": str(lat),
        "lon": str(lon),
        "attributes": json.dumps({"depth": "shallow"}),
    }
    data.update(extra)
    return data


def stored_nothing() -> bool:
    return (
        not Report.objects.exists() and not ReportPhoto.objects.exists() and not ReportEvent.objects.exists()
    )


def test_categories_with_their_questions(rx):
    data = Client(HTTP_ACCEPT_LANGUAGE="en").get(BASE + "categories").json()
    pothole = next(c for c in data if c["code"] == "pothole")
    assert pothole["name"] == "Pothole"
    depth = next(a for a in pothole["attributes"] if a["code"] == "depth")
    assert depth["required"] is True and depth["datatype"] == "singlevaluelist"
    assert {"key": "deep", "name": "Deep"} in depth["values"]
    assert next(c for c in data if c["code"] == "security")["confidential"] is True


def test_routing_preview_and_nearby(rx, submit):
    lat, lon = rx.point_a
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    preview = client.get(BASE + "routing-preview", {"category": "pothole", "lat": lat, "lon": lon})
    assert preview.json() == {"code": "so-xay-dung", "name": "Department of Construction"}
    outside = client.get(BASE + "routing-preview", {"category": "pothole", "lat": 10.77, "lon": 106.7})
    assert outside.status_code == 422 and outside.json()["code"] == "outside_city"
    unknown = client.get(BASE + "routing-preview", {"category": "nope", "lat": lat, "lon": lon})
    assert unknown.status_code == 422 and unknown.json()["field"] == "category"
    existing = submit()
    secret = submit(category_code="security", attributes={}, idempotency_key="s")
    near = client.get(BASE + "nearby", {"category": "pothole", "lat": lat, "lon": lon}).json()
    assert [r["reference"] for r in near] == [existing.reference] and near[0]["distance_m"] == 0
    assert client.get(BASE + "nearby", {"category": "security", "lat": lat, "lon": lon}).json() == []
    assert secret.reference not in json.dumps(near)


def test_submit_needs_a_session_and_csrf(rx):
    anonymous, token = api_client()
    assert anonymous.post(BASE, body(rx), HTTP_X_CSRFTOKEN=token).status_code == 401
    citizen, token = api_client(rx.cast["citizen"])
    assert citizen.post(BASE, body(rx)).status_code == 403  # no CSRF token
    staff, token = api_client(rx.cast["agency_staff"])
    assert staff.post(BASE, body(rx), HTTP_X_CSRFTOKEN=token).status_code == 403
    assert stored_nothing()


def test_submit_with_photos_and_idempotency(rx):
    client, token = api_client(rx.cast["citizen"])
    photos = [
        SimpleUploadedFile("a.jpg", jpeg_bytes(), content_type="image/jpeg"),
        SimpleUploadedFile("b.png", png_bytes(), content_type="image/png"),
    ]
    response = client.post(
        BASE, {**body(rx), "photos": photos}, HTTP_X_CSRFTOKEN=token, HTTP_IDEMPOTENCY_KEY="abc"
    )
    assert response.status_code == 201, response.content
    data = response.json()
    report = Report.objects.get()
    assert data["reference"] == report.reference and data["status"] == "received"
    assert data["agency"] == "Department of Construction" and len(data["photos"]) == 2
    assert report.attributes == {"depth": "shallow"} and report.channel == "app"
    again = client.post(BASE, body(rx), HTTP_X_CSRFTOKEN=token, HTTP_IDEMPOTENCY_KEY="abc")
    assert again.status_code == 201 and again.json()["reference"] == report.reference
    assert Report.objects.count() == 1
    other = client.post(BASE, body(rx), HTTP_X_CSRFTOKEN=token, HTTP_IDEMPOTENCY_KEY="def")
    assert other.json()["reference"] != report.reference


def test_the_answer_to_a_submission_is_the_report_as_read_back(rx):
    """Without photos, the answer is built without reading the report back: it must still be exactly
    what GET answers, and an idempotent replay after the report moved on shows its real timeline."""
    from dothi.reports import services

    client, token = api_client(rx.cast["citizen"])
    created = client.post(BASE, body(rx), HTTP_X_CSRFTOKEN=token, HTTP_IDEMPOTENCY_KEY="k1")
    assert created.status_code == 201
    data = created.json()
    assert data == client.get(f"{BASE}{data['reference']}").json()
    assert [e["kind"] for e in data["timeline"]] == ["submitted"] and data["photos"] == []
    report = Report.objects.get(reference=data["reference"])
    services.report_transition(actor=rx.cast["agency_staff"], report=report, to_status="in_progress")
    replay = client.post(BASE, body(rx), HTTP_X_CSRFTOKEN=token, HTTP_IDEMPOTENCY_KEY="k1").json()
    assert replay["status"] == "in_progress" and len(replay["timeline"]) == 2


@pytest.mark.parametrize(
    "override, status, field",
    [
        ({"lat": "10.77", "lon": "106.70"}, 422, "location"),
        ({"category": "teleport"}, 422, "category"),
        ({"attributes": "{}"}, 422, "attributes.depth"),
        ({"attributes": "[1, 2]"}, 422, "attributes"),
        ({"attributes": "not json"}, 422, "attributes"),
        ({"description": ""}, 422, "description"),
        ({"lat": "NaN"}, 422, None),
    ],
)
def test_bad_submissions_store_nothing(rx, override, status, field):
    client, token = api_client(rx.cast["citizen"])
    response = client.post(BASE, body(rx, **override), HTTP_X_CSRFTOKEN=token)
    assert response.status_code == status, response.content
    assert response.json()["message"]
    if field:
        assert response.json().get("field") == field
    assert stored_nothing()


def test_oversize_and_fake_photos_store_nothing(rx, settings):
    settings.REPORT_PHOTO_MAX_BYTES = 1000
    client, token = api_client(rx.cast["citizen"])
    big = SimpleUploadedFile("big.jpg", jpeg_bytes(size=(800, 800)), content_type="image/jpeg")
    response = client.post(BASE, {**body(rx), "photos": [big]}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 422 and response.json()["code"] == "file_too_large"
    fake = SimpleUploadedFile("x.jpg", b"MZ\x90\x00 not an image", content_type="image/jpeg")
    response = client.post(BASE, {**body(rx), "photos": [fake]}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 422 and response.json()["code"] == "file_type"
    assert stored_nothing()


def test_public_view_hides_the_reporter_and_confidential_reports(rx, submit):
    citizen = rx.cast["citizen"]
    report = submit()
    data = Client().get(BASE + report.reference).json()
    text = json.dumps(data, ensure_ascii=False)
    assert data["reference"] == report.reference and data["commune"] == rx.commune_a.code
    assert citizen.display_name not in text and citizen.username not in text and "reporter" not in data
    assert [e["kind"] for e in data["timeline"]] == ["submitted"]
    secret = submit(category_code="security", attributes={}, idempotency_key="s")
    assert Client().get(BASE + secret.reference).status_code == 404
    mine, _ = api_client(citizen)
    assert mine.get(BASE + secret.reference).json()["confidential"] is True
    assert Client().get(BASE + "DAN-000000-000000").status_code == 404


def test_follow_and_rate(rx, submit):
    from dothi.reports import services

    report = submit()
    other = factories.make_citizen(rx.city)
    client, token = api_client(other)
    assert client.post(f"{BASE}{report.reference}/follow").status_code == 403  # CSRF
    response = client.post(f"{BASE}{report.reference}/follow", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200 and response.json()["following"] is True
    assert Follower.objects.filter(report=report, user=other).exists()

    rating = {"rating": 5, "comment": "Fast"}
    reporter, rtoken = api_client(rx.cast["citizen"])
    early = reporter.post(
        f"{BASE}{report.reference}/rating", rating, content_type="application/json", HTTP_X_CSRFTOKEN=rtoken
    )
    assert early.status_code == 422 and not Feedback.objects.exists()  # not resolved yet
    services.report_transition(
        actor=rx.cast["agency_staff"],
        report=report,
        to_status=Status.RESOLVED,
        text="Done",
        evidence=[jpeg_bytes()],
    )
    stranger = client.post(
        f"{BASE}{report.reference}/rating", rating, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert stranger.status_code == 403
    bad = reporter.post(
        f"{BASE}{report.reference}/rating",
        {"rating": 0},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=rtoken,
    )
    assert bad.status_code == 422
    ok = reporter.post(
        f"{BASE}{report.reference}/rating", rating, content_type="application/json", HTTP_X_CSRFTOKEN=rtoken
    )
    assert ok.status_code == 201 and ok.json()["rating"] == 5
    assert Feedback.objects.get().subject_id == report.reference


def test_the_api_is_scoped_to_the_city(rx, submit, other_city):
    report = submit()
    assert Client().get(f"/c/{other_city.slug}{BASE}{report.reference}").status_code == 404
    assert Client().get(f"/c/{other_city.slug}{BASE}categories").json() == []
