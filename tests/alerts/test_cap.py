"""CAP 1.2 messages: every kind is valid against the OASIS schema, and what it says parses back to what
was stored. Also the Atom index feed."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from lxml import etree

from dothi.alerts import atom, cap, services
from dothi.alerts.models import AlertRule, CapMessage
from tests.alerts.conftest import PDF_BYTES, square
from tests.reports.conftest import png_bytes

NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
ATOM = {"a": "http://www.w3.org/2005/Atom"}
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


@cache
def _schema():
    return etree.XMLSchema(etree.parse(str(cap.XSD_PATH)))


def valid(xml: str):
    """Parse and validate against the XSD; returns the root."""
    root = etree.fromstring(xml.encode("utf-8"))
    schema = _schema()
    if not schema.validate(root):
        raise AssertionError(f"not valid CAP 1.2: {schema.error_log}\n{xml}")
    return root


def text(node, path):
    found = node.find(path, NS)
    return None if found is None else found.text


def texts(node, path):
    return [n.text for n in node.findall(path, NS)]


def parse_time(value: str) -> datetime:
    assert TIME.match(value), value
    return datetime.fromisoformat(value)


def ring(value: str) -> list[tuple[float, float]]:
    """A CAP polygon as (lat, lon) pairs."""
    return [tuple(float(x) for x in pair.split(",")) for pair in value.split()]


def infos(root):
    return root.findall("cap:info", NS)


def check_header(root, message: CapMessage):
    assert text(root, "cap:identifier") == message.identifier
    assert text(root, "cap:sender") == message.sender
    assert parse_time(text(root, "cap:sent")) == message.sent_at
    assert text(root, "cap:status") == "Actual"
    assert text(root, "cap:msgType") == message.msg_type
    assert text(root, "cap:scope") == "Public"
    for value in (message.identifier, message.sender):
        assert not re.search(r"[\s,<&]", value)


def check_info(info, warning, lang):
    city = warning.city
    assert text(info, "cap:language") == ("vi-VN" if lang == "vi" else "en-US")
    assert text(info, "cap:category") == warning.category.cap_category
    assert text(info, "cap:event") == (warning.category.name_vi if lang == "vi" else warning.category.name_en)
    assert text(info, "cap:urgency") == warning.urgency
    assert text(info, "cap:severity") == warning.severity
    assert text(info, "cap:certainty") == warning.certainty
    assert parse_time(text(info, "cap:effective")) == warning.effective_at.replace(microsecond=0)
    offset = datetime.now(ZoneInfo(city.time_zone)).strftime("%z")
    assert text(info, "cap:effective").endswith(f"{offset[:3]}:{offset[3:]}")
    if warning.expires_at:
        assert parse_time(text(info, "cap:expires")) == warning.expires_at.replace(microsecond=0)
    else:
        assert text(info, "cap:expires") is None
    suffix = "_vi" if lang == "vi" else "_en"
    assert text(info, "cap:headline") == getattr(warning, "headline" + suffix)
    assert (text(info, "cap:description") or "") == getattr(warning, "description" + suffix)
    assert (text(info, "cap:instruction") or "") == getattr(warning, "instruction" + suffix)
    web = text(info, "cap:web")
    assert web.startswith(("http://", "https://")) and web.endswith(f"/alerts/{warning.uid}/")
    area = info.find("cap:area", NS)
    assert text(area, "cap:areaDesc")
    geocodes = [(text(g, "cap:valueName"), text(g, "cap:value")) for g in area.findall("cap:geocode", NS)]
    assert geocodes == [("VN-commune", code) for code in warning.commune_codes]
    for polygon in texts(area, "cap:polygon"):
        points = ring(polygon)
        assert len(points) >= 4 and points[0] == points[-1]
        for lat, lon in points:  # lat,lon order: Đà Nẵng is near 16°N 108°E
            assert 14 < lat < 18 and 106 < lon < 110
    return area


@pytest.fixture
def rule(ax):
    return AlertRule.objects.create(
        city=ax.city, name="Mực nước", category=ax.flood, quantity_code="water_level",
        levels=[{"threshold": 1.0, "severity": "Moderate"}], commune_codes=[ax.commune_a.code],
        headline_vi="Mực nước {value} {unit}", headline_en="Water level {value} {unit}",
    )


def test_alert_by_communes(ax, publish_warning):
    from dothi.core.models import CommuneArea

    warning = publish_warning(commune_codes=[ax.commune_a.code, ax.commune_b.code])
    message = warning.messages.get()
    root = valid(message.xml)
    check_header(root, message)
    assert text(root, "cap:references") is None
    vi, en = infos(root)
    for info, lang in ((vi, "vi"), (en, "en")):
        area = check_info(info, warning, lang)
        polygons = texts(area, "cap:polygon")
        assert len(polygons) >= 2  # one (or more, for a multi-part boundary) per commune
        assert all(len(ring(p)) <= cap.MAX_POLYGON_POINTS for p in polygons)
    assert text(vi, "cap:area/cap:areaDesc") == "Phường A"
    assert text(en, "cap:area/cap:areaDesc") == "Ward A"
    assert text(vi, "cap:senderName") == ax.agency.name_vi
    assert text(en, "cap:senderName") == ax.agency.name_en
    assert text(vi, "cap:responseType") == "Prepare"  # Met, Severe
    # The first polygon is commune A's boundary.
    a = CommuneArea.objects.get(city=ax.city, commune=ax.commune_a)
    for lat, lon in ring(texts(vi.find("cap:area", NS), "cap:polygon")[0]):
        assert a.min_lat - 1e-6 <= lat <= a.max_lat + 1e-6 and a.min_lon - 1e-6 <= lon <= a.max_lon + 1e-6


def test_alert_by_polygon(ax, publish_warning):
    warning = publish_warning(commune_codes=(), polygon=ax.polygon_a)
    root = valid(warning.messages.get().xml)
    for info in infos(root):
        area = check_info(info, warning, text(info, "cap:language")[:2])
        (polygon,) = texts(area, "cap:polygon")
        lat, lon = ax.point_a
        points = ring(polygon)
        assert len(points) == 5
        assert {(round(p[0], 4), round(p[1], 4)) for p in points} == {
            (round(lat + dy, 4), round(lon + dx, 4)) for dx in (-0.002, 0.002) for dy in (-0.002, 0.002)
        }


def test_alert_by_multipolygon(ax, publish_warning):
    multi = {"type": "MultiPolygon",
             "coordinates": [square(*ax.point_a)["coordinates"], square(*ax.point_b)["coordinates"]]}
    warning = publish_warning(commune_codes=(), polygon=multi)
    root = valid(warning.messages.get().xml)
    area = check_info(infos(root)[0], warning, "vi")
    assert len(texts(area, "cap:polygon")) == 2


def test_english_missing(ax, publish_warning):
    warning = publish_warning(headline_en="", description_en="", instruction_en="", area_desc_en="",
                              area_desc_vi="")
    root = valid(warning.messages.get().xml)
    (info,) = infos(root)
    check_info(info, warning, "vi")
    # Without a description of the area, the communes' names are used.
    assert text(info, "cap:area/cap:areaDesc") == ax.commune_a.name


def test_minimal_texts_and_no_expiry(ax, publish_warning):
    warning = publish_warning(category="security", description_vi="", instruction_vi="", headline_en="",
                              expires_at=None, severity="Minor", urgency="Unknown", certainty="Unknown")
    root = valid(warning.messages.get().xml)
    (info,) = infos(root)
    check_info(info, warning, "vi")
    assert text(info, "cap:category") == "Security"
    assert text(info, "cap:responseType") == "Monitor"  # news


def test_attachments_as_resources(ax, publish_warning, settings):
    import hashlib

    settings.PUBLIC_BASE_URL = "https://canhbao.example.vn"
    png = png_bytes()
    files = [("bản tin.pdf", PDF_BYTES, "Bản tin & bản đồ <1>"), ("map.png", png)]
    warning = publish_warning(attachments=files)
    root = valid(warning.messages.get().xml)
    for info in infos(root):
        resources = info.findall("cap:resource", NS)
        assert [text(r, "cap:mimeType") for r in resources] == ["application/pdf", "image/png"]
        assert [text(r, "cap:resourceDesc") for r in resources] == ["Bản tin & bản đồ <1>", "map.png"]
        assert [int(text(r, "cap:size")) for r in resources] == [len(PDF_BYTES), len(png)]
        assert [text(r, "cap:digest") for r in resources] == [
            hashlib.sha1(PDF_BYTES).hexdigest(), hashlib.sha1(png).hexdigest()  # noqa: S324
        ]
        for r, attachment in zip(resources, warning.attachments.order_by("pk"), strict=True):
            assert text(r, "cap:uri").startswith("https://canhbao.example.vn")
            assert text(r, "cap:uri").endswith(f"/alerts/{warning.uid}/attachments/{attachment.pk}/")
        assert text(info, "cap:web").startswith("https://canhbao.example.vn")


def test_city_host_and_escaping(ax, publish_warning):
    ax.city.hosts = ["danang.example.vn"]
    ax.city.save()
    warning = publish_warning(
        headline_vi="Lũ <khẩn> & \"nguy hiểm\"", description_vi="A\nB\tC", headline_en=""
    )
    message = warning.messages.get()
    assert message.sender == "alerts@danang.example.vn"
    root = valid(message.xml)
    (info,) = infos(root)
    assert text(info, "cap:headline") == "Lũ <khẩn> & \"nguy hiểm\""
    assert text(info, "cap:description") == "A\nB\tC"
    assert text(info, "cap:web") == f"http://danang.example.vn/alerts/{warning.uid}/"


def test_control_characters_never_reach_the_xml(ax, publish_warning):
    warning = publish_warning(headline_vi="Bão\x07 số 3", instruction_vi="Ở\x1b trong nhà")
    assert warning.headline_vi == "Bão số 3"
    valid(warning.messages.get().xml)


def test_onset_and_times_in_the_city_zone(ax, publish_warning):
    effective = datetime(2026, 12, 4, 9, 30, 15, 123456, tzinfo=ZoneInfo("UTC"))
    onset = effective + timedelta(hours=2)
    warning = publish_warning(effective_at=effective, onset_at=onset,
                              expires_at=timezone.now() + timedelta(days=1))
    root = valid(warning.messages.get().xml)
    info = infos(root)[0]
    assert text(info, "cap:effective") == "2026-12-04T16:30:15+07:00"
    assert text(info, "cap:onset") == "2026-12-04T18:30:15+07:00"
    assert "Z" not in text(root, "cap:sent")


def test_update_and_cancel(ax, publish_warning):
    warning = publish_warning()
    v1 = warning.messages.get()
    v2 = services.warning_update(actor=ax.cast["agency_manager"], warning=warning, severity="Extreme",
                                 urgency="Immediate", instruction_en="Go to the shelter now.")
    root = valid(v2.xml)
    check_header(root, v2)
    assert text(root, "cap:references") == f"{v1.sender},{v1.identifier},{text(valid(v1.xml), 'cap:sent')}"
    warning.refresh_from_db()
    vi, en = infos(root)
    check_info(en, warning, "en")
    assert text(vi, "cap:severity") == "Extreme"
    assert text(vi, "cap:responseType") == "Shelter"
    assert text(en, "cap:instruction") == "Go to the shelter now."

    v3 = services.warning_cancel(actor=ax.cast["operator"], warning=warning, reason="Báo nhầm")
    root = valid(v3.xml)
    check_header(root, v3)
    assert text(root, "cap:note") == "Báo nhầm"
    refs = text(root, "cap:references").split(" ")
    assert [r.split(",")[1] for r in refs] == [v1.identifier, v2.identifier]
    warning.refresh_from_db()
    # A Cancel carries the last info.
    for info in infos(root):
        check_info(info, warning, text(info, "cap:language")[:2])
        assert text(info, "cap:severity") == "Extreme"


def test_rule_messages(ax, rule):
    now = timezone.now()
    warning = services.rule_warning_raise(rule=rule, severity="Moderate", trigger={"value": 1.2, "unit": "m"},
                                          triggered_at=now - timedelta(minutes=5), now=now)
    alert = warning.messages.get()
    root = valid(alert.xml)
    check_header(root, alert)
    assert text(root, "cap:source")
    warning.refresh_from_db()
    vi, en = infos(root)
    check_info(vi, warning, "vi")
    assert text(vi, "cap:headline") == "Mực nước 1.2 m"
    assert parse_time(text(vi, "cap:onset")) == (now - timedelta(minutes=5)).replace(microsecond=0)
    update = services.rule_warning_escalate(warning=warning, severity="Severe", trigger={"value": 1.6},
                                            now=now + timedelta(seconds=30))
    valid(update.xml)
    end = services.rule_warning_end(warning=warning, now=now + timedelta(minutes=40))
    root = valid(end.xml)
    assert text(root, "cap:msgType") == "Cancel"
    assert len(text(root, "cap:references").split()) == 2
    assert {text(i, "cap:responseType") for i in infos(root)} == {"AllClear"}
    assert {text(i, "cap:severity") for i in infos(root)} == {"Severe"}


def test_big_commune_boundary_is_simplified(ax, publish_warning):
    from shapely.geometry import Polygon, mapping

    from dothi.core.models import CommuneArea

    lat, lon = ax.point_a
    n = 800
    circle = Polygon([(lon + 0.01 * math.cos(2 * math.pi * i / n) * (1 + 0.05 * math.sin(13 * i)),
                       lat + 0.01 * math.sin(2 * math.pi * i / n)) for i in range(n)])
    area = CommuneArea.objects.get(city=ax.city, commune=ax.commune_a)
    area.geometry = mapping(circle)
    area.save()
    warning = publish_warning()
    root = valid(warning.messages.get().xml)
    (polygon,) = texts(infos(root)[0], "cap:area/cap:polygon")
    points = ring(polygon)
    assert 4 <= len(points) <= cap.MAX_POLYGON_POINTS
    assert points[0] == points[-1]
    assert all(abs(p[0] - lat) < 0.0111 and abs(p[1] - lon) < 0.0111 for p in points)


def test_schema_rejects_a_broken_message(ax, publish_warning):
    """The validation can fail: the same message with a UTC "Z" time is refused."""
    xml = publish_warning().messages.get().xml
    broken = re.sub(r"<sent>([^<]+)\+07:00</sent>", r"<sent>\1Z</sent>", xml)
    assert broken != xml
    with pytest.raises(AssertionError):
        valid(broken)


# --- Atom ------------------------------------------------------------------------------------------------


def test_atom_feed(ax, publish_warning):
    from dothi.alerts import selectors

    active = publish_warning()
    update = services.warning_update(actor=ax.cast["agency_manager"], warning=active, severity="Extreme")
    cancelled = publish_warning(category="storm", headline_vi="Bão số 5")
    cancel = services.warning_cancel(actor=ax.cast["agency_manager"], warning=cancelled, reason="Bão tan")
    old = publish_warning(headline_vi="Cũ")
    services.warning_cancel(actor=ax.cast["agency_manager"], warning=old, reason="x")
    type(old).objects.filter(pk=old.pk).update(ended_at=timezone.now() - timedelta(days=2))

    messages = selectors.messages_for_feed(ax.city, timezone.now())
    body = atom.feed(ax.city, messages, base_url="https://canhbao.example.vn/")
    root = etree.fromstring(body)
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    assert root.find("a:id", ATOM).text == "https://canhbao.example.vn/alerts/feed.atom"
    assert TIME.match(root.find("a:updated", ATOM).text)
    assert root.find("a:author/a:name", ATOM).text
    entries = root.findall("a:entry", ATOM)
    by_id = {e.find("a:id", ATOM).text: e for e in entries}
    assert set(by_id) >= {update.identifier, cancel.identifier}
    assert old.messages.last().identifier not in by_id
    entry = by_id[update.identifier]
    link = entry.find("a:link[@rel='alternate']", ATOM)
    assert link.get("type") == "application/cap+xml"
    assert link.get("href") == f"https://canhbao.example.vn/alerts/{active.uid}/v2.cap.xml"
    assert parse_time(entry.find("a:updated", ATOM).text) == update.sent_at
    assert "Cảnh báo ngập lụt" in entry.find("a:title", ATOM).text
    assert entry.find("a:summary", ATOM).text == "Mực nước sông dâng cao."
    assert entry.find("a:author/a:name", ATOM).text == ax.agency.name
    assert entry.find("a:category", ATOM).get("term") == "flood"
    cancel_entry = by_id[cancel.identifier]
    assert "Bão số 5" in cancel_entry.find("a:title", ATOM).text
    assert cancel_entry.find("a:summary", ATOM).text == "Bão tan"
    assert cancel_entry.find("a:link[@rel='alternate']", ATOM).get("href").endswith(
        f"/alerts/{cancelled.uid}/v2.cap.xml"
    )


def test_atom_one_entry_per_message_given(ax, publish_warning):
    warning = publish_warning()
    services.warning_update(actor=ax.cast["agency_manager"], warning=warning, severity="Extreme")
    messages = list(warning.messages.order_by("version"))
    root = etree.fromstring(atom.feed(ax.city, messages, base_url="http://x.test"))
    ids = [e.find("a:id", ATOM).text for e in root.findall("a:entry", ATOM)]
    assert ids == [m.identifier for m in messages]
    empty = etree.fromstring(atom.feed(ax.city, [], base_url="http://x.test"))
    assert empty.findall("a:entry", ATOM) == []


def test_written_out_paths_match_the_urlconf(ax, publish_warning):
    from django.urls import reverse

    warning = publish_warning(attachments=[("a.pdf", PDF_BYTES)])
    message = warning.messages.get()
    attachment = warning.attachments.get()
    assert cap.warning_path(warning) == reverse("alerts:detail", kwargs={"uid": warning.uid})
    assert cap.message_path(message) == reverse(
        "alerts:cap_version", kwargs={"uid": warning.uid, "version": message.version}
    )
    assert cap.attachment_path(warning, attachment) == reverse(
        "alerts:attachment", kwargs={"uid": warning.uid, "pk": attachment.pk}
    )
