"""What people do with reports in a real browser: a citizen files a report with a photo and a map pin,
the agency resolves it with evidence, the citizen rates the handling."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client
from PIL import Image

from dothi.core.models import Feedback
from dothi.reports.models import Report, ResponseTemplate, Status
from tests.reports.conftest import rx  # noqa: F401 - the reports fixture (categories, routing, points)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def sign_in(page, live_server, user) -> None:
    """Give the browser a session for `user` (the sign-in flows have their own browser tests)."""
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            },
            {"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": live_server.url},
        ]
    )


def image(tmp_path, name: str, color) -> str:
    path = tmp_path / name
    Image.new("RGB", (120, 90), color).save(path, format="PNG")
    return str(path)


def test_file_resolve_and_rate_a_report(page, live_server, rx, tmp_path):  # noqa: F811
    citizen, staff = rx.cast["citizen"], rx.cast["agency_staff"]
    ResponseTemplate.objects.create(
        city=rx.city,
        agency=rx.agency,
        title="Repaired",
        text_vi="Đã sửa xong.",
        text_en="The road has been repaired.",
    )
    lat, lon = rx.point_a

    # --- The citizen files the report ---------------------------------------------------------
    sign_in(page, live_server, citizen)
    page.goto("/reports/new/")
    page.wait_for_selector("#report-map.leaflet-container")
    with page.expect_response(re.compile(r"/reports/new/questions")):
        page.select_option("#id_category", "pothole")
    page.wait_for_selector("#id_attr_depth")
    page.select_option("#id_attr_depth", "deep")
    page.fill("#id_description", "A deep pothole in front of the primary school")
    # Typed coordinates (the keyboard path) move the map there; a click on the map sets the pin.
    page.fill("#id_lat", f"{lat:.6f}")
    page.fill("#id_lon", f"{lon:.6f}")
    page.press("#id_lon", "Tab")
    page.wait_for_selector("#report-map .leaflet-marker-icon")
    # Click a little beside the pin (the map is zoomed in on the typed place): the pin moves there.
    # Relative to the element, once it is still: Bootstrap scrolls smoothly after the Tab.
    box = page.locator("#report-map").bounding_box()
    page.locator("#report-map").click(position={"x": box["width"] / 2 + 40, "y": box["height"] / 2 + 30})
    for _ in range(50):  # the input's value (not its attribute) changes: poll it from Python
        if page.input_value("#id_lon") != f"{lon:.6f}":
            break
        page.wait_for_timeout(100)
    assert abs(float(page.input_value("#id_lat")) - lat) < 0.001
    assert abs(float(page.input_value("#id_lon")) - lon) < 0.001
    page.wait_for_selector("text=This will be sent to Department of Construction.")
    page.set_input_files("#id_photos", image(tmp_path, "pothole.png", (120, 60, 20)))
    page.click("button[form=report-form]")
    page.wait_for_url(re.compile(r"/reports/DAN-[0-9A-Z-]+/$"))

    report = Report.objects.get()
    assert report.reporter == citizen and report.photos.count() == 1
    assert report.attributes["depth"] == "deep"
    assert page.locator("#report-reference").inner_text() == report.reference
    assert page.locator("img.report-photo").count() == 1
    page.wait_for_selector("#report-map .leaflet-marker-icon")
    assert page.js_errors == []

    # --- The agency resolves it with evidence ----------------------------------------------------
    page.context.clear_cookies()
    sign_in(page, live_server, staff)
    page.goto("/reports/queue/")
    page.click(f"text={report.reference}")
    page.wait_for_url(re.compile(r"/handle/$"))
    page.click("#action-transition summary")
    page.select_option("#transition_to_status", "resolved")
    template_id = str(ResponseTemplate.objects.get().pk)
    page.select_option("#transition_template", template_id)
    assert page.input_value("#transition_text") == "The road has been repaired."
    page.set_input_files("#transition_evidence", image(tmp_path, "fixed.png", (90, 90, 90)))
    page.click("#action-transition button[type=submit]")
    page.wait_for_selector("text=Status changed.")
    report.refresh_from_db()
    assert report.status == Status.RESOLVED
    assert report.photos.filter(kind="evidence").count() == 1
    assert page.js_errors == []

    # --- The citizen rates the handling ---------------------------------------------------------------
    page.context.clear_cookies()
    sign_in(page, live_server, citizen)
    page.goto(f"/reports/{report.reference}/")
    assert "The road has been repaired." in page.content()
    page.check("#id_rating_4")
    page.fill("#id_comment", "Quick and clean")
    page.click("text=Send my rating")
    page.wait_for_selector("text=Thank you for your rating.")
    feedback = Feedback.objects.get()
    assert (feedback.subject_id, feedback.rating, feedback.author) == (report.reference, 5, citizen)
    assert page.js_errors == []


def test_public_map_clusters_the_reports(page, live_server, rx):  # noqa: F811
    from dothi.reports import services

    lat, lon = rx.point_a
    for i in range(3):
        services.report_submit(
            city=rx.city,
            category_code="pothole",
            description=f"Hole {i}",
            lat=lat + i * 1e-5,
            lon=lon,
            actor=rx.cast["citizen"],
            attributes={"depth": "deep"},
        )
    page.goto("/reports/map/")
    page.wait_for_selector("#reports-map[data-loaded='3']")
    # Three reports a metre apart: one cluster marker, not three pins.
    page.wait_for_selector(".marker-cluster")
    assert page.locator(".marker-cluster").first.inner_text().strip() == "3"
    assert page.js_errors == []
