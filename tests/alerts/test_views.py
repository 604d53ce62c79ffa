"""The public and citizen pages of warnings over HTTP: the list and map, a warning's page, its CAP
messages and the Atom feed, the subscription form, the "are you safe?" answer and the citizen home
page's notices. Only published, ended and cancelled warnings of the request's city are public."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.utils import timezone

from dothi.alerts import services
from dothi.alerts.models import AlertCategory, CapMessage, PublicWarning, SafetyReply, Subscription
from dothi.core.errors import InvalidInput
from dothi.core.models import NotificationPreference

pytestmark = pytest.mark.django_db


def client_as(user=None, language: str = "en") -> Client:
    client = Client()
    client.cookies["dothi_language"] = language
    if user is not None:
        client.force_login(user)
    return client


def body(response) -> str:
    return response.content.decode()


# --- The list and the map ------------------------------------------------------------------------------


def test_list_shows_active_warnings_in_both_languages(ax, publish_warning):
    warning = publish_warning()
    news = publish_warning(
        category="security", headline_vi="Bản tin an ninh", headline_en="Security bulletin: market closed",
        severity="Minor",
    )
    vi = client_as(language="vi").get("/alerts/")
    assert vi.status_code == 200
    page = body(vi)
    assert 'lang="vi"' in page
    assert "Cảnh báo ngập lụt" in page and "Flood warning" not in page
    assert "Bản tin an ninh" in page
    assert "Phường A" in page
    assert 'type="application/atom+xml" href="/alerts/feed.atom"' in page
    assert 'data-url="/alerts/map.geojson"' in page
    assert f"/alerts/{warning.uid}/" in page and f"/alerts/{news.uid}/" in page

    en = body(client_as(language="en").get("/alerts/"))
    assert 'lang="en"' in en
    assert "Flood warning" in en and "Cảnh báo ngập lụt" not in en
    assert "Security bulletin: market closed" in en
    assert "Ward A" in en
    assert "Severe" in en  # the severity badge
    assert "Flood" in en  # the category


def test_list_times_are_in_the_citys_zone(ax, publish_warning):
    from zoneinfo import ZoneInfo

    from django.utils import translation
    from django.utils.formats import date_format

    start = timezone.now().replace(second=0, microsecond=0) - timezone.timedelta(minutes=5)
    publish_warning(effective_at=start, expires_at=start + timezone.timedelta(hours=3))
    ax.city.time_zone = "Asia/Tokyo"  # not the server's zone (UTC) nor Viet Nam's
    ax.city.save()
    with translation.override("en"):
        local = date_format(timezone.localtime(start, ZoneInfo("Asia/Tokyo")), "DATETIME_FORMAT")
        utc = date_format(timezone.localtime(start, ZoneInfo("UTC")), "DATETIME_FORMAT")
    page = body(client_as().get("/alerts/"))
    assert local in page and utc not in page


def test_list_empty_state_and_category_filter(ax, publish_warning):
    page = body(client_as().get("/alerts/"))
    assert 'id="alerts-empty"' in page
    assert "All is calm" in page

    publish_warning()
    publish_warning(category="air", headline_en="Air quality warning", headline_vi="Cảnh báo không khí",
                    severity="Moderate")
    page = body(client_as().get("/alerts/?category=air"))
    assert "Air quality warning" in page and "Flood warning" not in page
    assert 'data-url="/alerts/map.geojson?category=air"' in page
    page = body(client_as().get("/alerts/?category=storm"))
    assert "No active warning in this category." in page
    # An unknown category filters nothing rather than failing.
    page = body(client_as().get("/alerts/?category=nope"))
    assert "Air quality warning" in page and "Flood warning" in page


def test_recently_ended_and_updated_warnings(ax, publish_warning):
    cancelled = publish_warning(headline_en="Storm warning withdrawn", category="storm")
    services.warning_cancel(actor=ax.cast["agency_manager"], warning=cancelled, reason="Storm turned away")
    updated = publish_warning()
    services.warning_update(actor=ax.cast["agency_manager"], warning=updated, severity="Extreme")
    page = body(client_as().get("/alerts/"))
    active, ended = page.split('id="alerts-ended"') if 'id="alerts-ended"' in page else (page, "")
    assert "Storm warning withdrawn" in ended and "Storm warning withdrawn" not in active
    assert "Cancelled" in ended
    assert "Updated (version 2)" in active
    assert "Extreme" in active


def test_map_geojson_draws_polygons_and_communes(ax, publish_warning, draft_warning):
    by_commune = publish_warning()
    by_polygon = publish_warning(commune_codes=[], polygon=ax.polygon_a, category="air",
                                 headline_en="Smoke", headline_vi="Khói", severity="Moderate")
    draft_warning(headline_en="Not yet")
    response = client_as().get("/alerts/map.geojson")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/geo+json")
    data = response.json()
    assert data["type"] == "FeatureCollection"
    features = {f["properties"]["uid"]: f for f in data["features"]}
    assert set(features) == {str(by_commune.uid), str(by_polygon.uid)}
    commune_feature = features[str(by_commune.uid)]
    assert commune_feature["geometry"]["type"] == "MultiPolygon"
    assert commune_feature["properties"]["approximate"] is True
    assert commune_feature["properties"]["severity"] == "Severe"
    assert commune_feature["properties"]["url"] == f"/alerts/{by_commune.uid}/"
    assert features[str(by_polygon.uid)]["geometry"] == by_polygon.polygon  # as stored (normalised)
    assert by_polygon.polygon["type"] == "Polygon"
    assert features[str(by_polygon.uid)]["properties"]["approximate"] is False
    only_air = client_as().get("/alerts/map.geojson?category=air").json()
    assert [f["properties"]["uid"] for f in only_air["features"]] == [str(by_polygon.uid)]


# --- A warning's page ----------------------------------------------------------------------------------


def test_detail_in_both_languages_with_timeline(ax, publish_warning):
    warning = publish_warning()
    services.warning_update(
        actor=ax.cast["agency_manager"], warning=warning, headline_en="Flood warning, worse"
    )
    warning.refresh_from_db()
    en = client_as().get(f"/alerts/{warning.uid}/")
    assert en.status_code == 200
    page = body(en)
    assert "Flood warning, worse" in page
    assert "The river is rising." in page and "Move to higher ground." in page
    assert f'href="/alerts/{warning.uid}/v1.cap.xml"' in page
    assert f'href="/alerts/{warning.uid}/v2.cap.xml"' in page
    assert f'href="/alerts/{warning.uid}.cap.xml"' in page
    assert "Updated (version 2)" in page
    vi = body(client_as(language="vi").get(f"/alerts/{warning.uid}/"))
    assert "Cảnh báo ngập lụt" in vi and "Mực nước sông dâng cao." in vi and "Di chuyển lên chỗ cao." in vi
    assert "The river is rising." not in vi


def test_detail_lists_attachments_with_downloads(ax, publish_warning):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.alerts.conftest import PDF_BYTES

    upload = SimpleUploadedFile("bulletin.pdf", PDF_BYTES, content_type="application/pdf")
    warning = publish_warning(attachments=[upload])
    attachment = warning.attachments.get()
    page = body(client_as().get(f"/alerts/{warning.uid}/"))
    url = f"/alerts/{warning.uid}/attachments/{attachment.pk}/"
    assert url in page
    download = client_as().get(url)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF_BYTES
    assert "attachment" in download["Content-Disposition"]
    assert client_as().get(f"/alerts/{warning.uid}/attachments/{attachment.pk + 99}/").status_code == 404


def test_drafts_and_rejected_warnings_are_never_public(ax, draft_warning, publish_warning):
    draft = draft_warning(headline_en="Secret draft")
    rejected = draft_warning(headline_en="Rejected one")
    services.warning_reject(actor=ax.cast["agency_manager"], warning=rejected, reason="Wrong area")
    client = client_as(ax.cast["citizen"])
    for w in (draft, rejected):
        for path in (f"/alerts/{w.uid}/", f"/alerts/{w.uid}.cap.xml", f"/alerts/{w.uid}/v1.cap.xml",
                     f"/alerts/{w.uid}/safety/"):
            response = client.post(path) if path.endswith("safety/") else client.get(path)
            assert response.status_code == 404, path
    for path in ("/alerts/", "/alerts/map.geojson", "/alerts/feed.atom"):
        text = body(client.get(path))
        assert "Secret draft" not in text and "Rejected one" not in text
        assert str(draft.uid) not in text and str(rejected.uid) not in text


def test_cancelled_warning_page_says_so_and_asks_nothing(ax, publish_warning):
    flood = publish_warning()
    services.warning_cancel(actor=ax.cast["agency_manager"], warning=flood, reason="The river fell back")
    page = body(client_as(ax.cast["citizen"]).get(f"/alerts/{flood.uid}/"))
    assert "This warning was cancelled." in page and "The river fell back" in page
    assert 'id="safety-help"' not in page  # the question ends with the warning
    assert "Cancel" in page and f"/alerts/{flood.uid}/v2.cap.xml" in page
    staff = body(client_as(ax.cast["agency_staff"]).get(f"/alerts/{flood.uid}/"))
    assert f'href="/alerts/staff/{flood.uid}/"' in staff
    assert "/alerts/staff/" not in page


def test_unknown_warning_is_a_404_page(ax):
    response = client_as().get(f"/alerts/{uuid.uuid4()}/")
    assert response.status_code == 404
    assert "We could not find this page" in body(response)
    assert client_as().get("/alerts/not-a-uuid/").status_code == 404
    assert client_as().get(f"/alerts/{uuid.uuid4()}.cap.xml").status_code == 404


def _other_city_warning(other_city) -> PublicWarning:
    category = AlertCategory.objects.create(city=other_city, code="flood", name_vi="Ngập", name_en="Flood")
    warning = PublicWarning.objects.create(
        city=other_city, category=category, status=PublicWarning.Status.PUBLISHED, version=1,
        headline_vi="Ngập ở Sài Gòn", headline_en="Saigon flooding", published_at=timezone.now(),
        effective_at=timezone.now() - timezone.timedelta(minutes=5),
        expires_at=timezone.now() + timezone.timedelta(hours=2),
    )
    CapMessage.objects.create(
        city=other_city, warning=warning, version=1, msg_type="Alert", identifier=f"hcm-{warning.uid}",
        sender="hcm@example.org", sent_at=timezone.now(), xml="<alert>hcm</alert>",
    )
    return warning


def test_other_citys_warnings_are_not_shown(ax, publish_warning, other_city):
    ours = publish_warning()
    theirs = _other_city_warning(other_city)
    client = client_as()
    assert client.get(f"/c/hcm/alerts/{theirs.uid}/").status_code == 200
    assert client.get(f"/c/danang/alerts/{theirs.uid}/").status_code == 404
    assert client.get(f"/c/danang/alerts/{theirs.uid}.cap.xml").status_code == 404
    assert client.get(f"/c/hcm/alerts/{ours.uid}/").status_code == 404
    for path in ("/c/danang/alerts/", "/c/danang/alerts/map.geojson", "/c/danang/alerts/feed.atom"):
        assert "Saigon flooding" not in body(client.get(path)), path
    assert "Saigon flooding" in body(client.get("/c/hcm/alerts/"))
    assert "Flood warning" not in body(client.get("/c/hcm/alerts/"))


# --- CAP messages and the feed -----------------------------------------------------------------------


def test_cap_messages_are_served_as_stored(ax, publish_warning):
    warning = publish_warning()
    services.warning_update(actor=ax.cast["agency_manager"], warning=warning, severity="Extreme")
    first, second = CapMessage.objects.filter(warning=warning).order_by("version")
    latest = client_as().get(f"/alerts/{warning.uid}.cap.xml")
    assert latest.status_code == 200
    assert latest["Content-Type"] == "application/cap+xml; charset=utf-8"
    assert latest.content == second.xml.encode("utf-8")
    assert "max-age" in latest["Cache-Control"] and "public" in latest["Cache-Control"]
    assert latest["ETag"]
    v1 = client_as().get(f"/alerts/{warning.uid}/v1.cap.xml")
    assert v1.status_code == 200 and v1.content == first.xml.encode("utf-8")
    assert "immutable" in v1["Cache-Control"]
    assert client_as().get(f"/alerts/{warning.uid}/v3.cap.xml").status_code == 404
    # Whatever the stored XML says is what is served: never re-rendered from the current row.
    CapMessage.objects.filter(pk=first.pk).update(xml="<alert>as sent</alert>")
    assert client_as().get(f"/alerts/{warning.uid}/v1.cap.xml").content == b"<alert>as sent</alert>"


def test_atom_feed_lists_active_and_recently_cancelled(ax, publish_warning, draft_warning):
    active = publish_warning()
    cancelled = publish_warning(category="storm", headline_en="Storm withdrawn")
    services.warning_cancel(actor=ax.cast["agency_manager"], warning=cancelled, reason="Passed")
    draft = draft_warning(headline_en="Draft only")
    response = client_as().get("/alerts/feed.atom")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    text = body(response)
    assert "<feed" in text
    assert str(active.uid) in text and str(cancelled.uid) in text
    assert str(draft.uid) not in text
    newest_cancel = CapMessage.objects.filter(warning=cancelled).order_by("-version").first()
    assert newest_cancel.msg_type == "Cancel" and newest_cancel.identifier in text
    # More than 24 hours after it ended, a cancelled warning leaves the feed.
    long_ago = timezone.now() - timezone.timedelta(hours=25)
    PublicWarning.objects.filter(pk=cancelled.pk).update(ended_at=long_ago)
    assert str(cancelled.uid) not in body(client_as().get("/alerts/feed.atom"))


# --- The subscription -------------------------------------------------------------------------------


def test_subscription_needs_a_signed_in_citizen(ax):
    response = client_as().get("/alerts/subscription/")
    assert response.status_code == 302 and "/account/" in response["Location"]
    assert client_as(ax.cast["operator"]).get("/alerts/subscription/").status_code == 403
    page = client_as(ax.cast["citizen"]).get("/alerts/subscription/")
    assert page.status_code == 200
    text = body(page)
    assert "My warnings" in text and ax.commune_a.name in text and "Air quality" in text
    vi = body(client_as(ax.cast["citizen"], language="vi").get("/alerts/subscription/"))
    assert 'lang="vi"' in vi and "Chất lượng không khí" in vi and "Ngập lụt" in vi


def test_subscription_is_saved_with_channels(ax):
    citizen = ax.cast["citizen"]
    client = client_as(citizen)
    response = client.post("/alerts/subscription/", {
        "home_commune": ax.commune_a.code, "work_commune": ax.commune_b.code, "extra_communes": [],
        "categories": ["flood", "storm"], "min_severity": "Moderate", "channels": ["email"],
    })
    assert response.status_code == 302
    sub = Subscription.objects.get(user=citizen, city=ax.city)
    assert sub.home_commune_id == ax.commune_a.code and sub.work_commune_id == ax.commune_b.code
    assert sorted(sub.category_codes()) == ["flood", "storm"]
    assert sub.min_severity == "Moderate"
    prefs = dict(NotificationPreference.objects.filter(user=citizen).values_list("topic", "channels"))
    assert set(prefs) == {"alerts.flood", "alerts.storm"}
    assert "email" in prefs["alerts.flood"] and "inbox" in prefs["alerts.flood"]
    # The form shows what was saved.
    page = body(client.get("/alerts/subscription/"))
    assert f'value="{ax.commune_a.code}" selected' in page
    assert 'value="email" class="form-check-input" id="id_channels_0" checked' in page or (
        'value="email"' in page and "checked" in page
    )
    # No category chosen: every category, and the channels for all of them.
    client.post("/alerts/subscription/", {"home_commune": ax.commune_a.code, "min_severity": "Unknown",
                                          "channels": ["sms"]})
    sub.refresh_from_db()
    assert sub.category_codes() == []
    prefs = dict(NotificationPreference.objects.filter(user=citizen).values_list("topic", "channels"))
    assert {"alerts.flood", "alerts.storm", "alerts.air", "alerts.security"} <= set(prefs)
    assert "sms" in prefs["alerts.air"]


@pytest.mark.parametrize(
    "data, field",
    [
        ({"home_commune": "99999", "min_severity": "Unknown"}, "home_commune"),
        ({"home_commune": "", "categories": ["nope"], "min_severity": "Unknown"}, "categories"),
        ({"min_severity": "Apocalyptic"}, "min_severity"),
        ({"min_severity": "Unknown", "channels": ["pigeon"]}, "channels"),
    ],
)
def test_subscription_errors_store_nothing(ax, data, field):
    citizen = ax.cast["citizen"]
    response = client_as(citizen).post("/alerts/subscription/", data)
    assert response.status_code == 422
    assert 'class="invalid-feedback d-block"' in body(response)
    assert not Subscription.objects.filter(user=citizen).exists()
    assert not NotificationPreference.objects.filter(user=citizen).exists()


def test_subscription_and_channels_are_saved_together(ax, monkeypatch):
    """A refusal of the channels undoes the areas: the choice is kept whole or not at all."""
    citizen = ax.cast["citizen"]

    def refuse(**kwargs):
        raise InvalidInput("No channels today.", field="channels")

    monkeypatch.setattr("dothi.alerts.views.set_notification_preferences", refuse)
    response = client_as(citizen).post("/alerts/subscription/", {
        "home_commune": ax.commune_a.code, "min_severity": "Unknown", "channels": ["email"],
    })
    assert response.status_code == 422
    assert "No channels today." in body(response)
    assert not Subscription.objects.filter(user=citizen).exists()


# --- "Are you safe?" --------------------------------------------------------------------------------


def test_safety_buttons_only_when_asked_and_for_citizens(ax, publish_warning):
    flood = publish_warning()  # a severe flood warning: the category asks
    assert flood.asks_safety
    storm = publish_warning(category="storm", headline_en="Storm warning")
    assert not storm.asks_safety
    assert 'id="safety-help"' in body(client_as(ax.cast["citizen"]).get(f"/alerts/{flood.uid}/"))
    assert 'id="safety-help"' not in body(client_as(ax.cast["citizen"]).get(f"/alerts/{storm.uid}/"))
    anonymous = body(client_as().get(f"/alerts/{flood.uid}/"))
    assert 'id="safety-help"' not in anonymous and "Sign in with your citizen ID" in anonymous
    assert 'id="safety-help"' not in body(client_as(ax.cast["operator"]).get(f"/alerts/{flood.uid}/"))


def test_citizen_asks_for_help_and_sees_the_answer(ax, publish_warning):
    flood = publish_warning()
    citizen = ax.cast["citizen"]
    client = client_as(citizen)
    lat, lon = ax.point_a
    response = client.post(f"/alerts/{flood.uid}/safety/",
                           {"status": "need_help", "note": "Two children with me", "lat": lat, "lon": lon})
    assert response.status_code == 302
    reply = SafetyReply.objects.get(warning=flood, user=citizen)
    assert reply.status == "need_help" and reply.note == "Two children with me"
    assert reply.lat == pytest.approx(lat) and reply.lon == pytest.approx(lon)
    page = body(client.get(f"/alerts/{flood.uid}/"))
    assert 'id="safety-answer"' in page and "I need help" in page and "Two children with me" in page
    # The newest answer counts.
    assert client.post(f"/alerts/{flood.uid}/safety/", {"status": "safe"}).status_code == 302
    assert SafetyReply.objects.get(warning=flood, user=citizen).status == "safe"


def test_safety_reply_refusals_store_nothing(ax, publish_warning):
    flood = publish_warning()
    storm = publish_warning(category="storm", headline_en="Storm warning")
    citizen = ax.cast["citizen"]
    client = client_as(citizen)
    url = f"/alerts/{flood.uid}/safety/"
    assert client.post(url, {"status": "maybe"}).status_code == 422
    assert client.post(url, {"status": "safe", "lat": "16.0"}).status_code == 422
    assert client.post(url, {"status": "safe", "note": "x" * 501}).status_code == 422
    assert client.post(url, {"status": "safe", "lat": "1.0", "lon": "1.0"}).status_code == 422  # not here
    assert 400 <= client.post(f"/alerts/{storm.uid}/safety/", {"status": "safe"}).status_code < 500
    anonymous = client_as().post(url, {"status": "safe"})
    assert anonymous.status_code == 302 and "/account/" in anonymous["Location"]
    assert client_as(ax.cast["operator"]).post(url, {"status": "safe"}).status_code == 403
    assert not SafetyReply.objects.exists()


# --- The citizen home page ---------------------------------------------------------------------------


def test_home_page_shows_warnings_where_the_citizen_lives(ax, publish_warning):
    citizen = ax.cast["citizen"]
    here = publish_warning(headline_en="Flood in your ward")
    elsewhere = publish_warning(headline_en="Flood elsewhere", commune_codes=[ax.commune_b.code])
    services.subscription_set(actor=citizen, city=ax.city, home_commune=ax.commune_a.code)
    page = body(client_as(citizen).get("/"))
    assert "Flood in your ward" in page and f"/alerts/{here.uid}/" in page
    assert "Flood elsewhere" not in page and str(elsewhere.uid) not in page
    assert f"Warnings in {ax.commune_a.name}" in page
    # Without a home commune: the city's active warnings.
    other = body(client_as().get("/"))
    assert "Flood in your ward" in other and "Flood elsewhere" in other
    assert "Warnings in the city" in other


def test_home_page_without_warnings_has_no_notices(ax, draft_warning):
    draft_warning(headline_en="Draft flood")
    page = body(client_as(ax.cast["citizen"]).get("/"))
    assert "home-notice" not in page and "Draft flood" not in page
