"""The city map of spatial layers in a real browser: the page loads and draws the layers shown, the
switcher turns a layer on and off, a feature's pop-up shows its attributes with the schema's labels,
and the search box finds a place (accent-insensitive) and opens its pop-up; no JS error and no
content-security-policy violation on the way."""

from __future__ import annotations

import pytest

from tests.layers.conftest import FEATURE_ORIGIN, create_features, create_layer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def map_layers(city, admin_units):
    from dothi.core import geo

    geo.city_build_approximate_boundaries(city)
    schools = create_layer(
        city,
        code="schools",
        name_vi="Trường học",
        sector="schools",
        colour="#cc3311",
        schema=[
            {"code": "ten", "label_vi": "Tên trường", "label_en": "Name", "type": "str"},
            {"code": "so_hs", "label_vi": "Số học sinh", "label_en": "Pupils", "type": "int"},
        ],
    )
    create_features(
        schools,
        3,
        step=0.01,
        names=["Trường Tiểu học Lê Lợi", "Trường THCS Nguyễn Huệ", "Trường Hoà Bình"],
        properties=lambda i: {
            "ten": ["Trường Tiểu học Lê Lợi", "Trường THCS Nguyễn Huệ", "Trường Hoà Bình"][i],
            "so_hs": 400 + i,
        },
    )
    lon, lat = FEATURE_ORIGIN
    parks = create_layer(
        city, code="parks", name_vi="Công viên", sector="trees", geometry_kind="polygon", colour="#228833"
    )
    create_features(
        parks,
        1,
        kind="polygon",
        step=0.02,
        origin=(lon + 0.03, lat + 0.03),
        properties={"ten": "Công viên Biển Đông"},
    )
    return schools, parks


def test_switcher_popup_and_search(page, map_layers):
    page.goto("/layers/?layers=schools")
    page.wait_for_selector("#layers-map.leaflet-container")
    page.wait_for_function("() => document.getElementById('layers-map').dataset.ready === '1'")
    page.wait_for_selector("#layer-schools[data-count='3']")
    assert page.locator("#layer-parks").is_checked() is False
    assert page.locator("path.layers-f-parks").count() == 0

    # The switcher: the parks layer on (its polygon drawn), off again (gone).
    page.check("#layer-parks")
    page.wait_for_selector("#layer-parks[data-count='1']")
    page.wait_for_selector("path.layers-f-parks")
    # A pop-up: click the park's polygon (a DOM click: the schools' cluster icon may cover it at the
    # city's zoom); its attributes under the schema's labels.
    page.locator("path.layers-f-parks").first.dispatch_event("click")
    popup = page.locator(".leaflet-popup .layers-popup")
    popup.wait_for()
    assert "Công viên Biển Đông" in popup.inner_text() and "Công viên" in popup.inner_text()
    page.uncheck("#layer-parks")
    page.wait_for_function("() => !document.querySelector('path.layers-f-parks')")

    # The search box: without accents, finds the school; choosing it opens the school's pop-up.
    page.fill("#layers-search-q", "le loi")
    hit = page.locator("#layers-search-results .layers-hit").first
    hit.wait_for()
    assert "Trường Tiểu học Lê Lợi" in hit.inner_text()
    hit.click()
    school_popup = page.locator(".leaflet-popup .layers-popup[data-fid='f1']")
    school_popup.wait_for()
    text = school_popup.inner_text()
    assert "Trường Tiểu học Lê Lợi" in text and "Số học sinh" in text and "400" in text
    # A commune by name, too.
    page.fill("#layers-search-q", "hai chau")
    page.locator("#layers-search-results .layers-hit", has_text="Hải Châu").first.wait_for()
    assert page.js_errors == []
