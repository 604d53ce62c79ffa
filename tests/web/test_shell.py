"""The shell of the one app: home, city picker, staff area, installable app files, errors, language."""

from __future__ import annotations

import json
import re

import pytest
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from dothi.core.manifests import Manifest, NavEntry, registry
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(client):
    # Assertions read the English source strings; the Vietnamese default is tested in test_language_switch.
    client.cookies["dothi_language"] = "en"


@pytest.fixture
def extra_manifests():
    """Register sample manifests for one test, then restore the registry."""
    saved = dict(registry._manifests)
    added = []

    def add(manifest: Manifest) -> None:
        registry._manifests[manifest.name] = manifest
        added.append(manifest)

    yield add
    registry._manifests.clear()
    registry._manifests.update(saved)


def test_home_shows_the_five_doors(client, city):
    body = client.get("/").content.decode()
    # A built module's tile takes its manifest's first citizen entry ("Book an appointment").
    for label in ["Report a problem", "Book an appointment", "Warnings and news", "Ideas", "My account"]:
        assert label in body
    assert "Coming soon" in body
    assert 'href="#main"' in body and 'id="main"' in body  # skip link and its target


def test_home_tile_links_to_a_module_that_declares_navigation(client, city, extra_manifests):
    extra_manifests(Manifest(name="sample_reports", navigation=(
        NavEntry(label=_("Sample tool"), url_name="web:offline", icon="bell"),
        NavEntry(label="Not built yet", url_name="nosuch:page"),
    )))
    body = client.get("/").content.decode()
    assert 'href="/offline/">Sample tool</a>' in body
    assert "Not built yet" not in body  # its URL does not reverse: skipped, no crash


def test_navigation_respects_roles(client, city, cast, extra_manifests):
    extra_manifests(Manifest(name="sample_staff", navigation=(
        NavEntry(label="Operators only", url_name="web:offline", area="staff", roles=frozenset({"operator"})),
        NavEntry(label="All staff", url_name="web:home", area="staff"),
    )))
    client.force_login(cast["operator"])
    body = client.get("/staff/").content.decode()
    assert "Operators only" in body and "All staff" in body
    client.force_login(cast["agency_staff"])
    body = client.get("/staff/").content.decode()
    assert "Operators only" not in body and "All staff" in body


def test_staff_area_guards(client, city, cast):
    response = client.get("/staff/")
    assert response.status_code == 302 and "signin" in response["Location"]
    client.force_login(cast["citizen"])
    assert client.get("/staff/").status_code == 403
    client.force_login(cast["agency_staff"])
    assert client.get("/staff/").status_code == 200
    client.force_login(cast["city_admin"])
    assert "/admin/" in client.get("/staff/").content.decode()


def test_city_picker_when_no_city_is_chosen(client, city, other_city):
    body = client.get("/").content.decode()
    assert 'href="/c/danang/"' in body and 'href="/c/hcm/"' in body
    assert "Choose your city" in body


def test_links_stay_under_the_city_prefix(client, city, other_city):
    response = client.get("/c/hcm/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Ho Chi Minh" in body or "Hồ Chí Minh" in body
    links = re.findall(r'(?:href|action|src|data-sw-url)="(/[^"]*)"', body)
    assert links
    outside = [link for link in links if not link.startswith(("/c/hcm/", "/static/"))]
    assert not outside, outside


def test_unknown_city_is_404_in_the_layout(client, city):
    response = client.get("/c/atlantis/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_error_pages_use_the_layout(client, city):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Page not found" in body and 'href="/"' in body


def test_server_error_page(rf, city):
    from dothi.web.views import server_error

    request = rf.get("/")
    request.city = city
    with translation.override("en"):
        response = server_error(request)
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


def test_web_app_manifest(client, city):
    response = client.get("/manifest.webmanifest")
    assert response["Content-Type"].startswith("application/manifest+json")
    data = json.loads(response.content)
    assert data["start_url"] == "/" and data["display"] == "standalone"
    sizes = {icon["sizes"] for icon in data["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in data["icons"]:
        assert client.get(icon["src"]).status_code == 200


def test_manifest_under_a_city_prefix(client, city, other_city):
    data = json.loads(client.get("/c/hcm/manifest.webmanifest").content)
    assert data["start_url"] == "/c/hcm/" and data["scope"] == "/c/hcm/"


def test_service_worker_caches_only_the_shell(client, city):
    response = client.get("/sw.js")
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Cache-Control"] == "no-cache"
    body = response.content.decode()
    assert 'OFFLINE_URL = "/offline/"' in body
    for url in re.findall(r'"(/static/[^"]+)"', body.replace("\\u002D", "-")):
        assert client.get(url).status_code == 200, url
    assert client.get("/offline/").status_code == 200


def test_offline_page_is_public_and_static(client, city):
    response = client.get("/offline/")
    assert response.status_code == 200
    assert "offline" in response.content.decode().lower()


def test_language_switch(client, city):
    del client.cookies["dothi_language"]
    assert '<html lang="vi">' in client.get("/").content.decode()  # Vietnamese by default
    body = client.get("/").content.decode()
    assert 'action="/i18n/setlang/"' in body and 'name="language"' in body
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert client.cookies["dothi_language"].value == "en"
    assert '<html lang="en">' in client.get("/").content.decode()
    client.post("/i18n/setlang/", {"language": "vi", "next": "/"})
    assert '<html lang="vi">' in client.get("/").content.decode()


def test_signed_in_navigation(client, city, citizen):
    client.force_login(citizen)
    body = client.get("/").content.decode()
    assert "Sign out" in body or "Đăng xuất" in body
    assert 'method="post"' in body
    # The account link sits with "Sign out", once: the citizen navigation leaves its own entry out.
    from django.urls import reverse

    navbar = body.split('id="navbar-main"', 1)[1].split("</nav>", 1)[0]
    assert navbar.count(f'href="{reverse("identity:account")}"') == 1


def test_assets_come_from_packages_not_a_cdn(client, city):
    body = client.get("/").content.decode()
    for url in re.findall(r'(?:href|src)="([^"]+\.(?:css|js))"', body):
        assert url.startswith("/static/"), url
        assert client.get(url).status_code == 200, url


def test_leaflet_partial_resolves(client, city):
    from django.template.loader import render_to_string

    html = render_to_string("web/leaflet.html")
    for url in re.findall(r'(?:href|src)="([^"]+)"', html):
        assert client.get(url).status_code == 200, url


def test_other_city_staff_cannot_enter_this_city_staff_area(client, city, other_city):
    outsider = factories.make_staff(other_city, "operator")
    client.force_login(outsider)
    assert client.get("/c/danang/staff/").status_code == 403
    assert client.get("/c/hcm/staff/").status_code == 200
