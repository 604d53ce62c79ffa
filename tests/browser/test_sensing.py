"""The sensor pages in a real browser: the map draws the sensors, a sensor's page draws its charts
with uPlot (served from the installed package), and the period picker redraws them; no JS error and
no content-security-policy violation on the way."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dothi.sensing import services
from dothi.sensing.ingestion import ingest
from dothi.sensing.keys import source_get_or_create
from tests.sensing.conftest import quantities  # noqa: F401 - the global quantity catalogue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sensors(city, quantities):  # noqa: F811
    air = services.sensor_register(
        actor=None,
        city=city,
        code="AQ-1",
        name="Hải Châu air",
        kind="air",
        lat=16.07,
        lon=108.22,
        quantities=["pm25", "pm10"],
    )
    services.sensor_register(
        actor=None,
        city=city,
        code="WL-1",
        name="Hàn river level",
        kind="water",
        lat=16.06,
        lon=108.23,
        quantities=["water_level"],
        properties={"alert_levels": [1.0, 2.0, 3.0]},
    )
    now = timezone.now().replace(second=0, microsecond=0)
    items = [("AQ-1", "pm25", now - timedelta(minutes=10 * k), 15.0 + (k % 12)) for k in range(0, 140)]
    items += [("AQ-1", "pm25", now - timedelta(hours=h), 30.0 + (h % 24)) for h in range(24, 24 * 7)]
    items += [("WL-1", "water_level", now - timedelta(minutes=10 * k), 0.8 + k / 200) for k in range(0, 140)]
    result = ingest(city=city, source=source_get_or_create(city=city, name="test"), items=items)
    assert not result.rejected
    return air


def test_map_and_sensor_page_draw_without_errors(page, sensors):
    page.goto("/sensors/")
    page.wait_for_selector("#sensors-map.leaflet-container")
    page.wait_for_function("() => document.getElementById('sensors-map').dataset.loaded === '2'")
    # The markers are drawn on a canvas (Leaflet's canvas renderer) in the overlay pane.
    page.wait_for_selector("#sensors-map .leaflet-overlay-pane canvas")
    assert page.locator("#sensors-count").inner_text() == "2"
    # The list view has the same sensors, as links a keyboard reaches.
    page.goto("/sensors/list/")
    assert page.locator(".sensor-list a").count() == 2

    page.goto("/sensors/AQ-1/")
    chart = page.locator("#chart-pm25")
    page.wait_for_function("() => document.getElementById('chart-pm25').dataset.drawn > 0")
    assert chart.get_attribute("data-resolution") == "raw"
    canvas = chart.locator(".uplot canvas")
    assert canvas.count() == 1
    box = canvas.bounding_box()
    assert box["width"] > 200 and box["height"] > 100
    painted = canvas.evaluate(
        """(c) => {
            const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 3; i < data.length; i += 4) { if (data[i] !== 0) { n++; } }
            return n;
        }"""
    )
    assert painted > 500  # the line and axes are drawn, not an empty canvas
    # PM10 has no readings: an empty state, not an error.
    page.wait_for_function("() => document.getElementById('chart-pm10').dataset.drawn === 'empty'")
    # (The page is in the city's default language, Vietnamese.)
    assert "Không có số liệu trong khoảng thời gian này." in page.locator("#chart-pm10").inner_text()

    # The period picker redraws every chart from the hourly rollups.
    page.click("[data-period-picker] [data-period='7d']")
    page.wait_for_function("() => document.getElementById('chart-pm25').dataset.resolution === 'hour'")
    assert page.locator("[data-period='7d']").get_attribute("aria-pressed") == "true"
    assert "period=7d" in page.url
    assert page.js_errors == []
