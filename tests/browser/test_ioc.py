"""The control centre in a real browser, with the demo city: the screen draws the sensors, the open
reports and the active warnings; then an observation breaching a PM2.5 rule is ingested while the page is
open and, without a reload, the sensor's marker turns to danger, the new warning appears on the map and
its alarm (after the minute's sweep) in the alarm list. No JS error and no content-security-policy
violation on the way."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from dothi.core.demo import seed_demo
from dothi.ioc import services
from dothi.sensing.ingestion import ingest
from dothi.sensing.keys import source_get_or_create
from dothi.sensing.models import Sensor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, live_server, user) -> None:
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


def _count(page, panel: str) -> int:
    return page.evaluate(f"() => (window.dothiIoc.state.panels['{panel}'] || {{count: -1}}).count")


def test_the_screen_updates_when_a_rule_is_breached(page, live_server):
    city = seed_demo()
    operator = get_user_model().objects.get(username="vanhanh")
    sign_in(page, live_server, operator)

    page.goto("/ioc/?refresh=2")
    page.wait_for_selector("#ioc-map.leaflet-container")
    page.wait_for_function("() => document.getElementById('ioc-screen').dataset.ready === 'true'")
    for panel in ("sensing.latest", "reports.open", "alerts.active"):
        page.wait_for_function(f"() => (window.dothiIoc.state.panels['{panel}'] || {{}}).count > 0")
    warnings_before = _count(page, "alerts.active")
    assert _count(page, "sensing.latest") > 50 and _count(page, "reports.open") > 0
    # The side panels draw their figures (counts) and trend (a uPlot canvas).
    page.wait_for_selector('[data-panel="sensing.online"] .ioc-figure')
    page.wait_for_selector('[data-panel="reports.trend"] .uplot canvas')
    # Markers are drawn as SVG paths coloured by level (clusters at this zoom hold the rest).
    assert page.locator("#ioc-map .leaflet-marker-pane .ioc-cluster, #ioc-map path.ioc-marker").count() > 0

    # A PM2.5 sensor, not in danger now.
    sensor = next(
        s
        for s in Sensor.objects.for_city(city)
        .filter(quantities__code="pm25", status="active")
        .order_by("code")
        if page.evaluate(f"() => window.dothiIoc.level('sensing.latest', '{s.code}')") not in (None, "danger")
    )
    page.evaluate("() => { window.__stillTheSamePage = true; }")
    now = timezone.now()
    items = [(sensor.code, "pm25", now - timedelta(seconds=20 * k), 480.0) for k in range(12)]
    result = ingest(
        city=city, source=source_get_or_create(city=city, name="browser-test"), items=items, now=now
    )
    assert result.accepted == 12 and not result.rejected

    page.wait_for_function(
        f"() => window.dothiIoc.level('sensing.latest', '{sensor.code}') === 'danger'", timeout=15_000
    )
    page.wait_for_function(
        f"() => (window.dothiIoc.state.panels['alerts.active'] || {{}}).count > {warnings_before}",
        timeout=15_000,
    )
    # The minute's sweep turns the new warning into an alarm; the alarm list (htmx, every 2 s) shows it.
    services.sweep(city)
    page.wait_for_function(
        f"() => document.querySelector('#ioc-alarms') && "
        f"document.querySelector('#ioc-alarms').textContent.includes('{sensor.code}')",
        timeout=15_000,
    )
    assert page.evaluate("() => window.__stillTheSamePage") is True  # never reloaded

    # A click on the sensor opens its fragment in the drawer (zoomed in: no cluster hides it).
    marker = f"window.dothiIoc.marker('sensing.latest', '{sensor.code}')"
    page.evaluate(f"() => window.dothiIoc.map().setView({marker}.getLatLng(), 18)")
    page.wait_for_function(f"() => !!({marker}._path)")
    page.evaluate(f"() => {marker}.fire('click')")
    page.wait_for_function(
        "() => (document.getElementById('ioc-drawer').dataset.loaded || '').includes('/fragment/')"
    )
    assert not page.locator("#ioc-drawer").is_hidden()
    assert sensor.name in page.locator("#ioc-drawer").inner_text()
    assert page.js_errors == []
