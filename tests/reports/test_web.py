"""The report pages over HTTP: the citizen's form, the public page, list and map, the agency queue
and handling page, the hotline's form."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from dothi.core.models import AuditEvent, Feedback
from dothi.reports.models import Follower, Report, ReportEvent, ReportPhoto, ResponseTemplate, Status
from tests import factories
from tests.reports.conftest import PDF_BYTES, jpeg_bytes, png_bytes

pytestmark = pytest.mark.django_db


def client_as(user=None) -> Client:
    client = Client()
    client.cookies["dothi_language"] = "en"
    if user is not None:
        client.force_login(user)
    return client


def form_data(rx, **extra):
    lat, lon = rx.point_a
    data = {
        "category": "pothole",
        "description": "A deep pothole in front of no. 12",
        "lat": f"{lat}",
        "lon": f"{lon}",
        "attr_depth": "deep",
        "idempotency_key": "key-1",
    }
    data.update(extra)
    return {k: v for k, v in data.items() if v is not None}


def stored_nothing() -> bool:
    return (
        not Report.objects.exists() and not ReportPhoto.objects.exists() and not ReportEvent.objects.exists()
    )


# --- The citizen's form --------------------------------------------------------------------------


def test_form_asks_others_to_sign_in(rx):
    response = client_as().get("/reports/new/")
    assert response.status_code == 200
    assert "Sign in with your citizen ID to report a problem" in response.content.decode()
    assert 'name="description"' not in response.content.decode()
    staff = client_as(rx.cast["agency_staff"])
    assert 'name="description"' not in staff.get("/reports/new/").content.decode()
    assert client_as().post("/reports/new/", form_data(rx)).status_code == 403
    assert stored_nothing()


def test_form_for_a_citizen(rx):
    response = client_as(rx.cast["citizen"]).get("/reports/new/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in html
    keys = re.findall(r'name="idempotency_key" value="([0-9a-f]{32})"', html)
    assert len(keys) == 1
    assert (
        keys[0] not in client_as(rx.cast["citizen"]).get("/reports/new/").content.decode()
    )  # one per render
    assert 'value="pothole"' in html and 'data-communes-url="/api/v1/communes.geojson"' in html
    assert 'id="id_lat"' in html and 'id="id_lon"' in html  # typed coordinates for keyboard users


def test_questions_follow_the_category(rx):
    client = client_as(rx.cast["citizen"])
    html = client.get("/reports/new/questions", {"category": "pothole"}).content.decode()
    assert 'name="attr_depth"' in html and "Shallow" in html and 'name="attr_width"' in html
    assert 'type="number"' in html
    assert "attr_" not in client.get("/reports/new/questions", {"category": "flooding"}).content.decode()
    assert client.get("/reports/new/questions", {"category": "nope"}).status_code == 200


def test_preview_shows_the_agency_and_nearby_reports(rx, submit):
    existing = submit()
    lat, lon = rx.point_a
    client = client_as(rx.cast["citizen"])
    html = client.get(
        "/reports/new/preview", {"category": "pothole", "lat": lat + 0.0005, "lon": lon}
    ).content.decode()
    assert "This will be sent to Department of Construction." in html
    assert existing.reference in html and "Follow this instead" in html
    lat_b, lon_b = rx.point_b
    html = client.get(
        "/reports/new/preview", {"category": "pothole", "lat": lat_b, "lon": lon_b}
    ).content.decode()
    assert "This will be sent to Ward B." in html and existing.reference not in html
    outside = client.get("/reports/new/preview", {"category": "pothole", "lat": "10.77", "lon": "106.7"})
    assert outside.status_code == 200 and "outside" in outside.content.decode()


def test_citizen_submits_a_report_with_a_photo(rx):
    citizen = rx.cast["citizen"]
    client = client_as(citizen)
    photo = SimpleUploadedFile("hole.png", png_bytes(), content_type="image/png")
    response = client.post("/reports/new/", {**form_data(rx), "photos": [photo], "attr_width": "1.5"})
    assert response.status_code == 302, response.content.decode()[:2000]
    report = Report.objects.get()
    assert response["Location"] == f"/reports/{report.reference}/"
    assert report.reporter == citizen and report.attributes == {"depth": "deep", "width": 1.5}
    assert report.photos.count() == 1
    page = client.get(response["Location"])
    html = page.content.decode()
    assert report.reference in html and "has been sent to Department of Construction" in html
    photo_url = f"/reports/{report.reference}/photos/{report.photos.get().token}"
    assert photo_url in html
    assert client_as().get(photo_url)["Content-Type"] == "image/png"


def test_follow_instead_of_filing(rx, submit):
    existing = submit()
    other = factories.make_citizen(rx.city)
    response = client_as(other).post(f"/reports/{existing.reference}/follow/")
    assert response.status_code == 302
    assert Follower.objects.filter(report=existing, user=other).exists()
    assert Report.objects.count() == 1


def test_a_retried_submission_is_one_report(rx):
    client = client_as(rx.cast["citizen"])
    first = client.post("/reports/new/", form_data(rx))
    second = client.post("/reports/new/", form_data(rx))
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Report.objects.count() == 1


@pytest.mark.parametrize(
    "override, field, message",
    [
        ({"lat": "10.77", "lon": "106.70"}, "lat", "outside"),
        ({"category": "teleport"}, "category", "Select a valid choice"),
        ({"attr_depth": None}, "attr_depth", "This field is required"),
        ({"attr_depth": "bottomless"}, "attr_depth", "Select a valid choice"),
        ({"description": "   "}, "description", "This field is required"),
        ({"lat": None, "lon": None}, "lat", "Put a pin on the map"),
        ({"description": "abc\x00def"}, "description", "Null characters"),
    ],
)
def test_bad_input_is_refused_next_to_its_field(rx, override, field, message):
    response = client_as(rx.cast["citizen"]).post("/reports/new/", form_data(rx, **override))
    assert response.status_code == 422
    html = response.content.decode()
    errors = re.findall(rf'id="id_{field}_error" role="alert">([^<]*)<', html)
    assert errors and message in errors[0], html[html.find("alert") :][:500]
    assert stored_nothing()


def test_bad_photo_is_refused(rx):
    text = SimpleUploadedFile("x.png", b"<script>alert(1)</script>", content_type="image/png")
    response = client_as(rx.cast["citizen"]).post("/reports/new/", {**form_data(rx), "photos": [text]})
    assert response.status_code == 422
    assert "JPEG, PNG or WebP" in response.content.decode()
    assert stored_nothing()
    six = [SimpleUploadedFile(f"{i}.png", png_bytes(), content_type="image/png") for i in range(6)]
    response = client_as(rx.cast["citizen"]).post("/reports/new/", {**form_data(rx), "photos": six})
    assert response.status_code == 422 and stored_nothing()


def test_errors_follow_the_language(rx):
    client = client_as(rx.cast["citizen"])
    client.cookies["dothi_language"] = "vi"
    response = client.post("/reports/new/", form_data(rx, description=""))
    assert response.status_code == 422
    assert 'lang="vi"' in response.content.decode()
    assert "This field is required" not in response.content.decode()


# --- The public page -----------------------------------------------------------------------------


def test_public_page_never_shows_the_reporter(rx, submit):
    citizen = rx.cast["citizen"]
    citizen.display_name = "Nguyễn Văn Riêng"
    citizen.email = "rieng@example.org"
    citizen.save()
    report = submit(description="<script>alert(1)</script> big hole")
    for viewer in (None, factories.make_citizen(rx.city), rx.cast["agency_staff"], citizen):
        html = client_as(viewer).get(f"/reports/{report.reference}/").content.decode()
        assert report.reference in html and "Pothole" in html and rx.commune_a.name in html
        assert "Nguyễn Văn Riêng" not in html and "rieng@example.org" not in html
        assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_moderated_text_replaces_the_description(rx, submit):
    report = submit(description="The neighbour Mr X at no. 5 did it")
    report.public_description = "A pothole [redacted]"
    report.save()
    html = client_as().get(f"/reports/{report.reference}/").content.decode()
    assert "A pothole [redacted]" in html and "Mr X" not in html


def test_confidential_reports_stay_private(rx, submit):
    citizen = rx.cast["citizen"]
    secret = submit(category_code="security", description="Gambling den behind the market", attributes={})
    assert secret.confidential
    public = submit(idempotency_key="other")
    for viewer in (None, factories.make_citizen(rx.city), rx.cast["agency_staff"], rx.cast["council_member"]):
        client = client_as(viewer)
        assert client.get(f"/reports/{secret.reference}/").status_code == 404
        assert secret.reference not in client.get("/reports/").content.decode()
        assert secret.reference not in client.get("/reports/map.geojson").content.decode()
        assert client.get(f"/api/v1/reports/{secret.reference}").status_code == 404
    listing = client_as().get("/reports/").content.decode()
    assert public.reference in listing
    assert public.reference in client_as().get("/reports/map.geojson").content.decode()
    mine = client_as(citizen).get(f"/reports/{secret.reference}/")
    assert mine.status_code == 200 and "confidential" in mine.content.decode()
    police = factories.make_staff(rx.city, "agency_staff", organisation=rx.police)
    assert client_as(police).get(f"/reports/{secret.reference}/").status_code == 200


def test_hidden_photo_is_not_served(rx, submit):
    report = submit(photos=[png_bytes()])
    photo = report.photos.get()
    url = f"/reports/{report.reference}/photos/{photo.token}"
    assert client_as().get(url).status_code == 200
    photo.hidden = True
    photo.save()
    assert client_as().get(url).status_code == 404
    assert url not in client_as().get(f"/reports/{report.reference}/").content.decode()
    assert client_as(rx.cast["agency_staff"]).get(url).status_code == 200


# --- List and map --------------------------------------------------------------------------------


def test_list_filters_and_paginates(rx, submit):
    for i in range(27):
        submit(idempotency_key=f"k{i}")
    flood = submit(category_code="flooding", attributes={}, idempotency_key="flood")
    client = client_as()
    first = client.get("/reports/").content.decode()
    assert "28 reports" in first and "Page 1 of 2" in first
    assert "page=2" in client.get("/reports/", {"category": "pothole"}).content.decode()
    only_flood = client.get("/reports/", {"category": "flooding"}).content.decode()
    assert flood.reference in only_flood and "1 report" in only_flood
    empty = client.get("/reports/", {"status": "closed"}).content.decode()
    assert "No reports match these filters." in empty
    assert client.get("/reports/", {"status": "nonsense", "page": "999"}).status_code == 200


def test_map_geojson_has_the_filtered_public_points(rx, submit):
    pothole = submit()
    flood = submit(category_code="flooding", attributes={}, idempotency_key="flood")
    data = client_as().get("/reports/map.geojson", {"category": "flooding"}).json()
    assert [f["properties"]["reference"] for f in data["features"]] == [flood.reference]
    feature = data["features"][0]
    assert feature["geometry"]["coordinates"] == [flood.lon, flood.lat]
    assert set(feature["properties"]) == {
        "reference",
        "category",
        "category_name",
        "status",
        "status_label",
        "url",
    }
    everything = client_as().get("/reports/map.geojson").json()
    assert {f["properties"]["reference"] for f in everything["features"]} == {
        pothole.reference,
        flood.reference,
    }
    page = client_as().get("/reports/map/", {"category": "flooding"}).content.decode()
    assert 'data-url="/reports/map.json?category=flooding"' in page
    assert "markercluster/leaflet.markercluster.js" in page


def test_map_points_are_compact_and_follow_the_viewport(rx, submit):
    pothole = submit()
    far = submit(lat=pothole.lat + 0.02, lon=pothole.lon + 0.02, idempotency_key="far")
    secret = submit(category_code="security", description="Gambling den", attributes={}, idempotency_key="s")
    client = client_as()
    data = client.get("/reports/map.json").json()
    assert {p[2] for p in data["points"]} == {pothole.reference, far.reference}
    assert secret.reference not in client.get("/reports/map.json").content.decode()
    point = next(p for p in data["points"] if p[2] == pothole.reference)
    assert point[:2] == [pothole.lat, pothole.lon]
    assert data["categories"][str(point[3])][0] == "pothole"
    assert point[4] == "received" and data["statuses"]["received"] == "Received"
    assert data["url"] + pothole.reference + "/" == f"/reports/{pothole.reference}/"
    assert data["truncated"] is False
    # Only the viewport's points: a box around the first report leaves the far one out.
    box = f"{pothole.lon - 0.005},{pothole.lat - 0.005},{pothole.lon + 0.005},{pothole.lat + 0.005}"
    inside = client.get("/reports/map.json", {"bbox": box}).json()
    assert [p[2] for p in inside["points"]] == [pothole.reference]
    # A malformed box filters nothing (a public map never fails) and the GeoJSON follows the box too.
    for bad in ("1,2,3", "a,b,c,d", "10,10,5,5", "nan,0,1,1", "0,-91,1,1"):
        assert len(client.get("/reports/map.json", {"bbox": bad}).json()["points"]) == 2
    geo = client.get("/reports/map.geojson", {"bbox": box}).json()
    assert [f["properties"]["reference"] for f in geo["features"]] == [pothole.reference]


def test_map_says_when_the_answer_is_truncated(rx, submit, monkeypatch):
    from dothi.reports import views

    monkeypatch.setattr(views, "MAP_LIMIT", 2)
    for i in range(3):
        submit(idempotency_key=f"k{i}")
    data = client_as().get("/reports/map.json").json()
    assert len(data["points"]) == 2 and data["truncated"] is True
    # The page carries the sentence its script shows then, in the reader's language.
    assert "Đang hiển thị %s phản ánh mới nhất" in Client().get("/reports/map/").content.decode()
    page = client_as().get("/reports/map/").content.decode()
    assert 'data-truncated-text="Showing the newest %s in this area' in page


def test_markercluster_is_served(client):
    response = client.get("/static/markercluster/leaflet.markercluster.js")
    assert response.status_code == 200


# --- The reporter's actions ------------------------------------------------------------------------


def _resolve(rx, report):
    from dothi.reports import services

    services.report_transition(
        actor=rx.cast["agency_staff"],
        report=report,
        to_status=Status.RESOLVED,
        text="Filled and rolled.",
        evidence=[jpeg_bytes()],
    )
    report.refresh_from_db()
    return report


def test_reporter_confirms_and_rates(rx, submit):
    report = _resolve(rx, submit())
    client = client_as(rx.cast["citizen"])
    html = client.get(f"/reports/{report.reference}/").content.decode()
    assert "Is it fixed?" in html and "Rate how your report was handled" in html
    assert (
        "Is it fixed?"
        not in client_as(factories.make_citizen(rx.city))
        .get(f"/reports/{report.reference}/")
        .content.decode()
    )
    assert client.post(f"/reports/{report.reference}/confirm/").status_code == 302
    report.refresh_from_db()
    assert report.status == Status.CLOSED
    bad = client.post(f"/reports/{report.reference}/rate/", {"rating": "9"})
    assert bad.status_code == 422 and not Feedback.objects.exists()
    assert (
        client.post(f"/reports/{report.reference}/rate/", {"rating": "4", "comment": "Quick"}).status_code
        == 302
    )
    feedback = Feedback.objects.get()
    assert (feedback.subject_type, feedback.subject_id, feedback.rating) == (
        "reports.report",
        report.reference,
        4,
    )
    assert client.post(f"/reports/{report.reference}/rate/", {"rating": "5"}).status_code == 409


def test_only_the_reporter_rates(rx, submit):
    report = _resolve(rx, submit())
    other = client_as(factories.make_citizen(rx.city))
    assert other.post(f"/reports/{report.reference}/rate/", {"rating": "1"}).status_code == 403
    assert not Feedback.objects.exists()


def test_reporter_reopens_with_a_reason(rx, submit):
    report = _resolve(rx, submit())
    client = client_as(rx.cast["citizen"])
    assert client.post(f"/reports/{report.reference}/reopen/", {"text": ""}).status_code == 422
    assert client.post(f"/reports/{report.reference}/reopen/", {"text": "Still a hole"}).status_code == 302
    report.refresh_from_db()
    assert report.status == Status.REOPENED


def test_reporter_provides_information(rx, submit):
    from dothi.reports import services

    report = submit()
    services.report_transition(
        actor=rx.cast["agency_staff"], report=report, to_status=Status.NEEDS_INFO, text="How deep is it?"
    )
    client = client_as(rx.cast["citizen"])
    assert "The agency needs more information" in client.get(f"/reports/{report.reference}/").content.decode()
    response = client.post(f"/reports/{report.reference}/info/", {"text": "About 20 cm"})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == Status.IN_PROGRESS


# --- The agency side -------------------------------------------------------------------------------


def test_queue_shows_the_agencys_reports_with_due_dates(rx, submit):
    mine = submit()
    late = submit(idempotency_key="late")
    Report.objects.filter(pk=late.pk).update(due_at=timezone.now() - timezone.timedelta(days=1))
    police_report = submit(category_code="security", attributes={}, idempotency_key="sec")
    html = client_as(rx.cast["agency_staff"]).get("/reports/queue/").content.decode()
    assert mine.reference in html and late.reference in html and police_report.reference not in html
    assert html.count("Overdue") >= 1
    overdue = client_as(rx.cast["agency_staff"]).get("/reports/queue/", {"overdue": "1"}).content.decode()
    assert late.reference in overdue and mine.reference not in overdue
    operator = client_as(rx.cast["operator"]).get("/reports/queue/").content.decode()
    assert police_report.reference in operator
    assert client_as(rx.cast["council_member"]).get("/reports/queue/").status_code == 403
    assert client_as(rx.cast["citizen"]).get("/reports/queue/").status_code == 403
    assert client_as().get("/reports/queue/").status_code == 302


def test_handling_page_is_for_the_agency(rx, submit):
    report = submit()
    url = f"/reports/{report.reference}/handle/"
    assert client_as(rx.cast["agency_staff"]).get(url).status_code == 200
    police = factories.make_staff(rx.city, "agency_staff", organisation=rx.police)
    assert client_as(police).get(url).status_code == 404
    assert client_as(rx.cast["citizen"]).get(url).status_code == 403


def test_resolve_requires_text_and_evidence(rx, submit):
    report = submit()
    client = client_as(rx.cast["agency_staff"])
    action = f"/reports/{report.reference}/handle/transition/"
    response = client.post(action, {"to_status": "resolved", "text": "Fixed."})
    assert response.status_code == 422
    assert "Attach evidence" in response.content.decode()
    response = client.post(action, {"to_status": "resolved", "text": ""})
    assert response.status_code == 422
    report.refresh_from_db()
    assert report.status == Status.RECEIVED and not report.photos.exists()
    evidence = SimpleUploadedFile("proof.pdf", PDF_BYTES, content_type="application/pdf")
    response = client.post(action, {"to_status": "resolved", "text": "Fixed.", "evidence": [evidence]})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == Status.RESOLVED
    assert report.photos.get().kind == ReportPhoto.Kind.EVIDENCE
    public = client_as().get(f"/reports/{report.reference}/").content.decode()
    assert "Fixed." in public and "Evidence document (PDF)" in public


def test_agency_actions(rx, submit):
    report = submit()
    manager = client_as(rx.cast["agency_manager"])
    base = f"/reports/{report.reference}/handle/"
    staff = rx.cast["agency_staff"]
    assert manager.post(base + "assign/", {"assignee": str(staff.pk)}).status_code == 302
    assert manager.post(base + "priority/", {"priority": "4"}).status_code == 302
    assert manager.post(base + "note/", {"text": "Crew on Monday"}).status_code == 302
    report.refresh_from_db()
    assert (report.assignee, report.priority, report.status) == (staff, 4, Status.ASSIGNED)
    assert "Crew on Monday" not in client_as().get(f"/reports/{report.reference}/").content.decode()
    assert "Crew on Monday" in manager.get(base).content.decode()
    # Refusals keep the report as it was.
    assert manager.post(base + "assign/", {"assignee": "999999"}).status_code == 422
    assert manager.post(base + "reroute/", {"agency": str(rx.police.pk), "reason": ""}).status_code == 422
    assert manager.post(base + "nonsense/", {}).status_code == 404
    assert (
        manager.post(base + "recategorise/", {"category": "flooding", "reason": "It is water"}).status_code
        == 302
    )
    report.refresh_from_db()
    assert report.category == rx.flooding
    response = manager.post(base + "reroute/", {"agency": str(rx.ward_agency.pk), "reason": "Ward road"})
    assert response.status_code == 302 and response["Location"] == "/reports/queue/"  # left our queue
    report.refresh_from_db()
    assert report.agency == rx.ward_agency


def test_merge_into_another_report(rx, submit):
    original = submit()
    copy = submit(idempotency_key="copy")
    client = client_as(rx.cast["agency_staff"])
    bad = client.post(f"/reports/{copy.reference}/handle/merge/", {"into": "DAN-000000-XXXXXX"})
    assert bad.status_code == 404
    response = client.post(f"/reports/{copy.reference}/handle/merge/", {"into": original.reference})
    assert response.status_code == 302
    copy.refresh_from_db()
    assert copy.status == Status.DUPLICATE and copy.duplicate_of == original


def test_moderation_is_for_operators(rx, submit):
    report = submit()
    data = {"hide": "1", "reason": "Personal data"}
    url = f"/reports/{report.reference}/handle/moderate/"
    assert client_as(rx.cast["agency_staff"]).post(url, data).status_code == 403
    assert client_as(rx.cast["operator"]).post(url, data).status_code == 302
    report.refresh_from_db()
    assert report.hidden
    assert client_as().get(f"/reports/{report.reference}/").status_code == 404


def test_response_templates_fill_the_response(rx, submit):
    report = submit()
    ResponseTemplate.objects.create(
        city=rx.city, agency=rx.agency, title="Fixed", text_vi="Đã sửa.", text_en="We fixed it."
    )
    html = client_as(rx.cast["agency_staff"]).get(f"/reports/{report.reference}/handle/").content.decode()
    assert 'data-fills="transition_text"' in html and 'id="transition_text"' in html
    assert "We fixed it." in html


def test_contact_is_shown_only_on_request_and_audited(rx):
    staff = rx.cast["agency_staff"]
    client = client_as(staff)
    lat, lon = rx.point_a
    response = client.post(
        "/reports/new/on-behalf/",
        {
            **form_data(rx),
            "channel": "hotline",
            "contact_name": "Trần Gọi Điện",
            "contact_phone": "0905 111 222",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    report = Report.objects.get()
    assert report.channel == "hotline" and report.reporter is None and report.filed_by == staff
    handle = client.get(f"/reports/{report.reference}/handle/").content.decode()
    assert "Trần Gọi Điện" not in handle and "Show contact" in handle
    assert "Trần Gọi Điện" not in client_as().get(f"/reports/{report.reference}/").content.decode()
    before = AuditEvent.objects.filter(action="read_personal").count()
    contact = client.post(f"/reports/{report.reference}/handle/contact/").content.decode()
    assert "Trần Gọi Điện" in contact and "0905 111 222" in contact
    assert AuditEvent.objects.filter(action="read_personal").count() == before + 1
    operator = client_as(rx.cast["operator"])  # handles reports, may not read contacts
    assert operator.post(f"/reports/{report.reference}/handle/contact/").status_code == 403


def test_on_behalf_is_for_hotline_staff(rx):
    assert client_as(rx.cast["citizen"]).get("/reports/new/on-behalf/").status_code == 403
    assert client_as().get("/reports/new/on-behalf/").status_code == 302
    html = client_as(rx.cast["operator"]).get("/reports/new/on-behalf/").content.decode()
    assert 'name="contact_phone"' in html and 'value="walk_in"' in html
    bad = client_as(rx.cast["operator"]).post(
        "/reports/new/on-behalf/", {**form_data(rx), "channel": "hotline", "contact_email": "not-an-email"}
    )
    assert bad.status_code == 422 and stored_nothing()


def test_navigation_and_home_tile(rx):
    home = client_as(rx.cast["citizen"]).get("/").content.decode()
    assert 'href="/reports/new/"' in home and 'href="/reports/map/"' in home
    staff_home = client_as(rx.cast["agency_staff"]).get("/staff/").content.decode()
    assert 'href="/reports/queue/"' in staff_home


def test_another_citys_report_is_out_of_reach(rx, other_city):
    from dothi.core.models import Commune, Organisation
    from dothi.reports.models import Category

    category = Category.objects.create(city=other_city, code="pothole", name_vi="Ổ gà", name_en="Pothole")
    agency = Organisation.objects.create(city=other_city, code="b-roads", name_vi="Sở B")
    theirs = Report.objects.create(
        city=other_city,
        reference="HCM-260101-AAAAAA",
        category=category,
        agency=agency,
        commune=Commune.objects.filter(province_id="79").first(),
        lat=10.77,
        lon=106.7,
        description="MARKER-OTHER-CITY report",
    )
    for role in ("citizen", "agency_staff", "operator", "city_admin"):
        client = client_as(rx.cast[role])
        for url in (
            f"/reports/{theirs.reference}/",
            f"/reports/{theirs.reference}/handle/",
            f"/api/v1/reports/{theirs.reference}",
        ):
            response = client.get(url)
            assert response.status_code in (403, 404), (role, url)
        assert "MARKER-OTHER-CITY" not in client.get("/reports/").content.decode()
        assert "MARKER-OTHER-CITY" not in client.get("/reports/queue/").content.decode()
        response = client.post(f"/reports/{theirs.reference}/handle/note/", {"text": "hello"})
        assert response.status_code in (403, 404)
    assert not theirs.events.exists()
