"""Warnings in a real browser: a citizen opens the public page, sees the active warning on the map and
in the list, opens it, shares their location and taps "I need help"; the answer shows. No JS error and
no content-security-policy violation on the way."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from dothi.alerts.models import SafetyReply
from tests.alerts.conftest import (  # noqa: F401 - the alerts fixtures
    _alerts_settings,
    alert_categories,
    alert_city,
    ax,
    draft_warning,
    publish_warning,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


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


def test_citizen_sees_the_warning_and_asks_for_help(page, live_server, ax, publish_warning):  # noqa: F811
    warning = publish_warning()
    publish_warning(category="storm", headline_en="Storm elsewhere", commune_codes=[ax.commune_b.code],
                    severity="Moderate")
    citizen = ax.cast["citizen"]
    lat, lon = ax.point_a
    page.context.grant_permissions(["geolocation"], origin=live_server.url)
    page.context.set_geolocation({"latitude": lat, "longitude": lon})
    sign_in(page, live_server, citizen)

    page.goto("/alerts/")
    page.wait_for_selector("#alerts-map.leaflet-container")
    page.wait_for_function("() => document.getElementById('alerts-map').dataset.loaded === '2'")
    assert page.locator("#alerts-map-count").inner_text() == "2"
    # Each warning's area is an SVG path in the overlay pane, tagged with its uid.
    area = page.locator(f'#alerts-map .leaflet-overlay-pane path[data-uid="{warning.uid}"]')
    assert area.count() == 1
    box = area.bounding_box()
    assert box and box["width"] > 5 and box["height"] > 5
    # Its popup links to the warning's page.
    area.click(force=True)
    popup_link = page.locator(".leaflet-popup-content a")
    popup_link.wait_for()
    assert popup_link.inner_text() == "Flood warning"

    item = page.locator(f'#alerts-active [data-uid="{warning.uid}"] a')
    assert item.inner_text() == "Flood warning"
    item.click()
    page.wait_for_url(f"**/alerts/{warning.uid}/")
    assert "Move to higher ground." in page.locator("article").inner_text()

    page.fill("#id_note", "Water in the house")
    page.check("#safety-share-location")
    page.wait_for_function("() => document.getElementById('id_lat').value !== ''")
    page.click("#safety-help")
    page.wait_for_selector("#safety-answer")
    answer = page.locator("#safety-answer").inner_text()
    assert "I need help" in answer and "Water in the house" in answer

    reply = SafetyReply.objects.get(warning=warning, user=citizen)
    assert reply.status == "need_help"
    assert reply.lat == pytest.approx(lat, abs=1e-5) and reply.lon == pytest.approx(lon, abs=1e-5)
    assert reply.commune_id == ax.commune_a.code
    assert page.js_errors == []
