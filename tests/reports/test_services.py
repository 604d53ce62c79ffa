"""Submitting reports: validation, routing, idempotency, confidentiality, contact, photos."""

from __future__ import annotations

import io
import json

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import translation
from PIL import Image

from dothi.core.errors import InvalidInput, NotFound, OutsideCity
from dothi.core.models import AuditEvent, Notification
from dothi.reports import selectors, services
from dothi.reports.models import Channel, Follower, Report, ReportEvent, ReportPhoto, Status
from tests import factories
from tests.reports.conftest import PDF_BYTES, jpeg_bytes, png_bytes

pytestmark = pytest.mark.django_db

REFERENCE = r"^DAN-\d{6}-[0-9A-HJKMNP-TV-Z]{6}$"


def test_submit_stores_routes_and_follows(rx, submit):
    report = submit(address="12 Bạch Đằng")
    assert report.reference.startswith("DAN-")
    import re

    assert re.match(REFERENCE, report.reference)
    assert report.status == Status.RECEIVED
    assert report.agency == rx.agency
    assert report.commune == rx.commune_a
    assert report.attributes == {"depth": "deep"}
    assert report.due_at > report.submitted_at
    assert report.confidential is False
    assert report.reporter == rx.cast["citizen"]
    assert Follower.objects.filter(report=report, user=rx.cast["citizen"]).exists()
    event = report.events.get()
    assert event.kind == ReportEvent.Kind.SUBMITTED and event.to_status == Status.RECEIVED
    assert AuditEvent.objects.filter(
        object_type="reports.report", object_id=str(report.pk), action="create"
    ).exists()


def test_commune_rule_wins_over_category_default(rx, submit):
    lat, lon = rx.point_b
    report = submit(lat=lat, lon=lon)
    assert report.agency == rx.ward_agency
    assert (
        selectors.routing_preview(city=rx.city, category_code="pothole", lat=lat, lon=lon) == rx.ward_agency
    )
    lat, lon = rx.point_a
    assert selectors.routing_preview(city=rx.city, category_code="pothole", lat=lat, lon=lon) == rx.agency


def _nothing_stored():
    return (
        Report.objects.count() == 0 and ReportPhoto.objects.count() == 0 and ReportEvent.objects.count() == 0
    )


@pytest.mark.parametrize(
    "override, error, code",
    [
        ({"lat": 10.77, "lon": 106.70}, OutsideCity, "outside_city"),  # Hồ Chí Minh City
        ({"lat": "abc"}, InvalidInput, "coordinates_invalid"),
        ({"lat": float("nan")}, InvalidInput, "coordinates_invalid"),
        ({"category_code": "nope"}, InvalidInput, "category_unknown"),
        ({"category_code": "street-light", "attributes": None}, InvalidInput, "no_agency"),  # no routing rule
        ({"attributes": {}}, InvalidInput, "attribute_required"),
        ({"attributes": {"depth": "bottomless"}}, InvalidInput, "attribute_invalid"),
        ({"attributes": {"depth": "deep", "colour": "red"}}, InvalidInput, "attribute_unknown"),
        ({"attributes": {"depth": "deep", "width": "wide"}}, InvalidInput, "attribute_invalid"),
        ({"attributes": {"depth": "deep", "width": "Infinity"}}, InvalidInput, "attribute_invalid"),
        ({"attributes": ["depth"]}, InvalidInput, "invalid"),
        ({"description": "   "}, InvalidInput, "required"),
        ({"description": "x" * 5001}, InvalidInput, "too_long"),
        ({"description": "bad\x00byte"}, InvalidInput, "invalid_text"),
        ({"photos": [b"not an image"]}, InvalidInput, "file_type"),
        ({"photos": [PDF_BYTES]}, InvalidInput, "file_type"),
        ({"photos": [jpeg_bytes()] * 6}, InvalidInput, "too_many_files"),
    ],
)
def test_bad_input_is_refused_and_nothing_stored(rx, submit, override, error, code):
    with translation.override("en"), pytest.raises(error) as info:
        submit(**override)
    assert info.value.code == code
    assert info.value.message
    assert _nothing_stored()


def test_inactive_category_is_unknown(rx, submit):
    rx.pothole.is_active = False
    rx.pothole.save()
    with pytest.raises(InvalidInput):
        submit()
    assert _nothing_stored()


def test_error_messages_are_translated(rx, submit):
    with translation.override("en"), pytest.raises(InvalidInput) as en:
        submit(category_code="street-light", attributes=None)
    with translation.override("vi"), pytest.raises(InvalidInput) as vi:
        submit(category_code="street-light", attributes=None)
    assert en.value.message == "No agency handles this category here."
    assert vi.value.message  # the Vietnamese catalogue may not be compiled yet; never empty


def test_script_in_text_is_stored_as_text(rx, submit):
    text = '<script>alert("x")</script> & <b>bold</b>'
    report = submit(description=text)
    report.refresh_from_db()
    assert report.description == text


def test_oversize_photo_rejected(rx, submit, settings):
    settings.REPORT_PHOTO_MAX_BYTES = 1000
    big = jpeg_bytes(size=(400, 400), color=(1, 2, 3))
    noise = Image.effect_noise((300, 300), 100).convert("RGB")
    out = io.BytesIO()
    noise.save(out, format="JPEG", quality=95)
    assert len(out.getvalue()) > 1000
    with translation.override("en"), pytest.raises(InvalidInput) as info:
        submit(photos=[out.getvalue()])
    assert info.value.code == "file_too_large"
    assert "MB" in info.value.message
    assert _nothing_stored()
    assert big  # a small image passes the same limit only when under it


def test_photos_reencoded_without_exif_gps(rx, submit):
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"  # Make
    gps = {1: "N", 2: (16.0, 4.0, 30.0), 3: "E", 4: (108.0, 13.0, 10.0)}
    exif[0x8825] = gps  # GPSInfo IFD
    raw = jpeg_bytes(exif=exif)
    with Image.open(io.BytesIO(raw)) as probe:  # the test image really carries GPS
        assert probe.getexif().get_ifd(0x8825)
    report = submit(photos=[raw, ("street.png", png_bytes())])
    stored = list(report.photos.order_by("id"))
    assert [p.content_type for p in stored] == ["image/jpeg", "image/png"]
    assert all(p.kind == ReportPhoto.Kind.REPORT for p in stored)
    with stored[0].file.open("rb") as fh:
        data = fh.read()
    assert data != raw
    with Image.open(io.BytesIO(data)) as image:
        assert not image.getexif().get_ifd(0x8825)
        assert 0x010F not in image.getexif()
        assert "exif" not in image.info
    assert b"CameraMaker" not in data
    assert stored[0].size == len(data)


def test_failed_submission_leaves_no_files(rx, submit, settings):
    # The second photo is bad: the first must not be left on disk.
    with pytest.raises(InvalidInput):
        submit(photos=[jpeg_bytes(), b"GIF89a...."])
    media = settings.MEDIA_ROOT
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_idempotency_returns_the_same_report(rx, submit):
    first = submit(idempotency_key="abc-1")
    again = submit(idempotency_key="abc-1", description="retried")
    assert again.pk == first.pk
    assert Report.objects.count() == 1
    other = submit(idempotency_key="abc-2")
    assert other.pk != first.pk
    # Another citizen with the same key gets their own report.
    neighbour = factories.make_citizen(rx.city)
    theirs = submit(idempotency_key="abc-1", actor=neighbour)
    assert theirs.pk != first.pk


def test_citizen_must_be_verified_and_staff_cannot_submit_as_app(rx, submit):
    from dothi.identity.models import User

    unverified = factories.make_citizen(rx.city)
    unverified.verification_level = User.Level.PHONE
    unverified.save()
    for actor in (None, unverified, rx.cast["visitor"], rx.cast["agency_staff"], rx.cast["city_admin"]):
        with pytest.raises(PermissionDenied):
            submit(actor=actor)
    assert _nothing_stored()


def test_visitor_may_submit_when_city_allows(rx, submit):
    rx.city.settings = {"identity": {"visitor_allowed": ["reports.submit"]}}
    rx.city.save()
    report = submit(actor=rx.cast["visitor"])
    assert report.reporter == rx.cast["visitor"]


def test_hotline_files_on_behalf_with_encrypted_contact(rx, submit):
    staff = rx.cast["agency_staff"]
    contact = {"name": "Nguyễn Văn A", "phone": "0905 123 456", "email": "a@example.vn"}
    report = submit(actor=staff, channel=Channel.HOTLINE, contact=contact, idempotency_key="call-1")
    assert report.reporter is None and report.filed_by == staff and report.channel == "hotline"
    assert "Nguyễn" not in report.reporter_contact_enc and "0905" not in report.reporter_contact_enc
    assert (
        submit(actor=staff, channel=Channel.HOTLINE, contact=contact, idempotency_key="call-1").pk
        == report.pk
    )
    # The assigned agency's staff read it (audited); the council member and another agency do not.
    seen = selectors.reporter_contact(actor=staff, report=report)
    assert seen == contact
    assert AuditEvent.objects.filter(action="read_personal", object_id=str(report.pk)).count() == 1
    other_agency_staff = factories.make_staff(rx.city, "agency_staff", organisation=rx.police)
    for actor in (
        other_agency_staff,
        rx.cast["operator"],
        rx.cast["council_member"],
        rx.cast["citizen"],
        None,
    ):
        with pytest.raises(PermissionDenied):
            selectors.reporter_contact(actor=actor, report=report)
    assert selectors.reporter_contact(actor=rx.cast["city_admin"], report=report)["phone"] == "0905 123 456"
    assert AuditEvent.objects.filter(action="read_personal", object_id=str(report.pk)).count() == 2


def test_contact_of_a_signed_in_reporter(rx, submit):
    report = submit()
    contact = selectors.reporter_contact(actor=rx.cast["agency_manager"], report=report)
    assert contact["name"] == rx.cast["citizen"].display_name
    assert contact["phone"].startswith("+8490")


def test_hotline_needs_permission_and_valid_contact(rx, submit):
    with pytest.raises(PermissionDenied):
        submit(actor=rx.cast["citizen"], channel=Channel.HOTLINE)
    with pytest.raises(PermissionDenied):
        submit(actor=rx.cast["council_member"], channel=Channel.WALK_IN)
    with pytest.raises(InvalidInput):
        submit(actor=rx.cast["operator"], channel=Channel.WALK_IN, contact={"email": "not-an-email"})
    with pytest.raises(InvalidInput):
        submit(actor=rx.cast["operator"], channel="carrier-pigeon")
    assert _nothing_stored()


def test_open311_submission_with_key(rx, submit):
    key, plaintext = services.open311_key_issue(
        actor=rx.cast["city_admin"], city=rx.city, name="Hue-S bridge"
    )
    assert plaintext.startswith("d311_") and key.prefix == plaintext[:8]
    assert plaintext not in key.key_hash
    assert services.open311_key_lookup(city=rx.city, plaintext=plaintext) == key
    assert services.open311_key_lookup(city=rx.city, plaintext=plaintext + "x") is None
    report = submit(
        actor=None,
        channel=Channel.OPEN311,
        open311_key=key,
        idempotency_key="t-1",
        contact={"name": "Trần B", "email": "b@example.org"},
    )
    assert report.channel == "open311" and report.open311_key == key and report.reporter is None
    assert submit(actor=None, channel=Channel.OPEN311, open311_key=key, idempotency_key="t-1").pk == report.pk
    key.refresh_from_db()
    assert key.last_used_at is not None
    key.is_active = False
    key.save()
    with pytest.raises(PermissionDenied):
        submit(actor=None, channel=Channel.OPEN311, open311_key=key)
    with pytest.raises(PermissionDenied):
        submit(actor=None, channel=Channel.OPEN311, open311_key=None)


def test_open311_key_rate_limit(rx, submit):
    from dothi.core.errors import RateLimited

    key, _plain = services.open311_key_issue(actor=rx.cast["city_admin"], city=rx.city, name="App")
    key.rate = "2/m"
    key.save()
    submit(actor=None, channel=Channel.OPEN311, open311_key=key)
    submit(actor=None, channel=Channel.OPEN311, open311_key=key)
    with pytest.raises(RateLimited):
        submit(actor=None, channel=Channel.OPEN311, open311_key=key)
    assert Report.objects.count() == 2


def test_open311_key_issue_permission(rx):
    for role in ("citizen", "agency_manager", "operator", "council_member"):
        with pytest.raises(PermissionDenied):
            services.open311_key_issue(actor=rx.cast[role], city=rx.city, name="x")
    with pytest.raises(InvalidInput):
        services.open311_key_issue(actor=rx.cast["city_admin"], city=rx.city, name=" ")


def test_citizen_rate_limit_with_request(rx, submit, rf):
    from dothi.core.errors import RateLimited

    rx.city.settings = {"ratelimits": {"scopes": {"reports.submit": {"citizen_write": "1/m"}}}}
    rx.city.save()
    request = rf.post("/reports/new/")
    request.user = rx.cast["citizen"]
    request.city = rx.city
    submit(request=request)
    with pytest.raises(RateLimited):
        submit(request=request)
    assert Report.objects.count() == 1


def test_confidential_reports_are_hidden_from_public(rx, submit):
    report = submit(category_code="security", attributes=None, description="Gambling den at night")
    assert report.confidential and report.agency == rx.police
    assert not selectors.public_reports(city=rx.city).filter(pk=report.pk).exists()
    lat, lon = rx.point_a
    assert selectors.nearby_open_reports(city=rx.city, category="security", lat=lat, lon=lon) == []
    # Visible to its reporter and to staff allowed to handle it; 404 for everyone else.
    assert (
        selectors.report_for_viewer(city=rx.city, reference=report.reference, viewer=rx.cast["citizen"])
        == report
    )
    police_staff = factories.make_staff(rx.city, "agency_staff", organisation=rx.police)
    for viewer in (police_staff, rx.cast["operator"], rx.cast["city_admin"], rx.cast["platform_admin"]):
        assert selectors.report_for_viewer(city=rx.city, reference=report.reference, viewer=viewer) == report
    other = factories.make_citizen(rx.city)
    for viewer in (None, other, rx.cast["agency_staff"], rx.cast["council_member"]):
        with pytest.raises(NotFound):
            selectors.report_for_viewer(city=rx.city, reference=report.reference, viewer=viewer)


def test_report_for_viewer_scoped_by_city(rx, submit, other_city):
    report = submit()
    assert selectors.report_for_viewer(city=rx.city, reference=report.reference, viewer=None) == report
    with pytest.raises(NotFound):
        selectors.report_for_viewer(city=other_city, reference=report.reference, viewer=None)


def test_public_reports_filters(rx, submit):
    a = submit()
    lat, lon = rx.point_b
    b = submit(lat=lat, lon=lon)
    qs = selectors.public_reports
    assert set(qs(city=rx.city)) == {a, b}
    assert list(qs(city=rx.city, commune=rx.commune_b)) == [b]
    assert list(qs(city=rx.city, category="flooding")) == []
    assert set(qs(city=rx.city, status="open")) == {a, b}
    assert list(qs(city=rx.city, status="closed")) == []
    bbox = (lon - 0.0001, lat - 0.0001, lon + 0.0001, lat + 0.0001)
    assert list(qs(city=rx.city, bbox=bbox)) == [b]
    assert list(qs(city=rx.city, since=a.submitted_at.date())) != []
    services.report_moderate(actor=rx.cast["operator"], report=a, hide=True, reason="Offensive")
    assert list(qs(city=rx.city)) == [b]


def test_nearby_open_reports(rx, submit):
    lat, lon = rx.point_a
    near = submit(lat=lat + 0.001, lon=lon)  # ~111 m north
    submit(lat=lat + 0.004, lon=lon)  # ~445 m: outside 250 m
    submit(category_code="flooding", attributes=None)  # another category
    found = selectors.nearby_open_reports(city=rx.city, category=rx.pothole, lat=lat, lon=lon)
    assert [r.pk for r in found] == [near.pk]
    assert 100 <= found[0].distance_m <= 120
    assert (
        len(selectors.nearby_open_reports(city=rx.city, category="pothole", lat=lat, lon=lon, radius_m=600))
        == 2
    )


def test_a_new_report_is_linked_to_the_nearest_open_one_of_its_category(rx, submit):
    lat, lon = rx.point_a
    first = submit(lat=lat + 0.002, lon=lon)  # ~222 m north
    assert first.possible_duplicate_id is None
    nearer = submit(lat=lat + 0.001, lon=lon, idempotency_key="b")  # ~111 m: links to `first`
    assert nearer.possible_duplicate_id == first.pk
    # The nearest open one wins; other categories, closed and far reports are never linked.
    third = submit(idempotency_key="c")
    assert third.possible_duplicate_id == nearer.pk
    flood = submit(category_code="flooding", attributes=None, idempotency_key="d")
    assert flood.possible_duplicate_id is None
    far = submit(lat=lat + 0.006, lon=lon, idempotency_key="e")  # ~445 m from the nearest
    assert far.possible_duplicate_id is None
    Report.objects.filter(pk__in=[nearer.pk, third.pk]).update(status=Status.CLOSED)
    assert submit(idempotency_key="f").possible_duplicate_id == first.pk
    # Confidential reports link too (the hint is for the agency), never to a public one of another kind.
    secret = submit(category_code="security", attributes=None, idempotency_key="g")
    again = submit(category_code="security", attributes=None, idempotency_key="h")
    assert again.possible_duplicate_id == secret.pk


def test_follow_is_idempotent_and_needs_visibility(rx, submit):
    report = submit()
    neighbour = factories.make_citizen(rx.city)
    f1 = services.report_follow(actor=neighbour, report=report)
    f2 = services.report_follow(actor=neighbour, report=report)
    assert f1.pk == f2.pk
    with pytest.raises(PermissionDenied):
        services.report_follow(actor=None, report=report)
    secret = submit(category_code="security", attributes=None)
    with pytest.raises(NotFound):
        services.report_follow(actor=neighbour, report=secret)


def test_reference_and_contact_never_in_public_queryset_values(rx, submit):
    submit(actor=rx.cast["operator"], channel=Channel.HOTLINE, contact={"name": "X"})
    row = selectors.public_reports(city=rx.city).first()
    assert "reporter_contact_enc" in row.get_deferred_fields()


def test_open311_key_command(rx, capsys):
    from django.core.management import call_command

    call_command("open311_key", city="danang", name="CLI app")
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("d311_")
    assert services.open311_key_lookup(city=rx.city, plaintext=lines[-1]).name == "CLI app"


def test_notifications_go_to_reporter_in_their_language(rx, submit):
    citizen = rx.cast["citizen"]
    citizen.language = "en"
    citizen.save()
    report = submit()
    services.report_transition(actor=rx.cast["agency_staff"], report=report, to_status=Status.IN_PROGRESS)
    note = Notification.objects.get(recipient=citizen)
    assert note.title == f"Report {report.reference}: In progress"
    assert note.topic == "reports.status"
    assert report.reference in note.url


def test_evidence_may_be_pdf(rx, submit):
    report = submit()
    services.report_transition(
        actor=rx.cast["agency_staff"],
        report=report,
        to_status=Status.RESOLVED,
        text="Filled.",
        evidence=[("report.pdf", PDF_BYTES)],
    )
    evidence = report.photos.get(kind=ReportPhoto.Kind.EVIDENCE)
    assert evidence.content_type == "application/pdf" and evidence.extension == "pdf"


def test_contact_is_json_encrypted(rx, submit):
    from dothi.identity import crypto

    report = submit(
        actor=rx.cast["operator"], channel=Channel.WALK_IN, contact={"name": "Lê C", "phone": "0905"}
    )
    assert json.loads(crypto.decrypt(report.reporter_contact_enc)) == {"name": "Lê C", "phone": "0905"}
