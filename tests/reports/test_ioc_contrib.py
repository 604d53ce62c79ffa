"""What reports contribute to the control centre through their manifest: the `reports.open` map
(overdue: danger; confidential reports at their commune's centre, without text), the counts and the
14-day trend, the `reports.overdue:<reference>` alarm source, the ward summary, and the report's
drill-down fragment (public reports to all; confidential or hidden ones to their handlers only, and
never anyone's name or an internal note's text)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from dothi.core.manifests import AlarmCandidate, registry
from dothi.reports import selectors, services
from dothi.reports.models import Priority, Report

pytestmark = pytest.mark.django_db


def client_as(user=None) -> Client:
    client = Client()
    client.cookies["dothi_language"] = "en"
    if user is not None:
        client.force_login(user)
    return client


def submit(rx, category="flooding", point=None, description="Water up to the knees in the alley.", **extra):
    lat, lon = point or rx.point_a
    # Move a little off the commune's centre, as a real report would be.
    return services.report_submit(
        city=rx.city,
        category_code=category,
        description=description,
        lat=lat + 0.0004,
        lon=lon + 0.0003,
        actor=rx.cast["citizen"],
        address="12 Trần Phú",
        **extra,
    )


def make_overdue(report, hours=5):
    Report.objects.filter(pk=report.pk).update(due_at=timezone.now() - timedelta(hours=hours))


def panel(code):
    return next(p for p in registry.panels() if p.code == code)


def open_features(rx):
    data = panel("reports.open").data(rx.city)
    assert data["type"] == "FeatureCollection"
    return {f["properties"]["id"]: f for f in data["features"]}


def test_open_reports_on_the_map_overdue_is_danger(rx):
    fresh, late = submit(rx), submit(rx, "pothole", attributes={"depth": "deep"})
    make_overdue(late)
    closed = submit(rx)
    services.report_transition(actor=rx.cast["operator"], report=closed, to_status="rejected", reason="spam")
    features = open_features(rx)
    assert set(features) == {fresh.reference, late.reference}
    props = features[late.reference]["properties"]
    assert props["level"] == "danger" and props["overdue"] is True
    assert props["title"] == "Ổ gà"  # the category's name (in the default language)
    assert (
        props["url"] == f"/reports/{late.reference}/"
        and props["fragment"] == f"/reports/{late.reference}/fragment/"
    )
    assert features[fresh.reference]["properties"]["level"] in ("info", "warning")
    assert fresh.reference in features[fresh.reference]["properties"]["meta"]
    assert features[fresh.reference]["geometry"]["coordinates"] == [round(fresh.lon, 6), round(fresh.lat, 6)]
    for f in features.values():
        assert {"id", "title", "level", "meta", "url", "fragment"} <= set(f["properties"])


def test_priority_and_waiting_for_information_change_the_level(rx):
    urgent, waiting = submit(rx), submit(rx)
    services.report_set_priority(actor=rx.cast["operator"], report=urgent, priority=Priority.URGENT)
    services.report_transition(
        actor=rx.cast["operator"], report=waiting, to_status="needs_info", text="Which alley?"
    )
    features = open_features(rx)
    assert features[urgent.reference]["properties"]["level"] == "warning"
    assert features[waiting.reference]["properties"]["level"] == "muted"


def test_a_confidential_report_carries_no_text_and_sits_at_the_commune_centre(rx):
    secret = submit(rx, "security", description="Gambling den behind house 7, the owner is Mr Tư.")
    make_overdue(secret)
    f = open_features(rx)[secret.reference]
    assert f["geometry"]["coordinates"] == [
        round(rx.commune_a.centre_lon, 6),
        round(rx.commune_a.centre_lat, 6),
    ]
    props = f["properties"]
    assert (
        props["title"] == "An ninh trật tự" and props["confidential"] is True and props["level"] == "danger"
    )
    text = str(f)
    assert "Gambling" not in text and "Trần Phú" not in text and "Tư" not in text
    assert secret.reference not in props["meta"]
    [alarm] = registry.get("reports").alarm_sources[0](rx.city, timezone.now())
    assert alarm.key == f"reports.overdue:{secret.reference}"
    assert (alarm.lon, alarm.lat) == (rx.commune_a.centre_lon, rx.commune_a.centre_lat)
    assert "Gambling" not in alarm.title + alarm.detail and "Trần Phú" not in alarm.detail


def test_counts_and_trend(rx):
    a, b, c = submit(rx), submit(rx), submit(rx)
    make_overdue(a)
    Report.objects.filter(pk=b.pk).update(submitted_at=timezone.now() - timedelta(days=3))
    Report.objects.filter(pk=c.pk).update(submitted_at=timezone.now() - timedelta(days=30))
    counts = {i["label"]: i for i in panel("reports.counts").data(rx.city)["items"]}
    values = [i["value"] for i in counts.values()]
    assert values == [1, 3, 1]  # new today, open, overdue
    assert list(counts.values())[2]["level"] == "danger"
    trend = panel("reports.trend").data(rx.city)
    assert panel("reports.trend").kind == "series"
    assert len(trend["labels"]) == 14 and trend["labels"][-1] == timezone.localdate().isoformat()
    [series] = trend["series"]
    assert series["values"][-1] == 1 and series["values"][-4] == 1 and sum(series["values"]) == 2


def test_overdue_alarms_most_overdue_first_bounded_and_by_priority(rx):
    reports = [submit(rx) for _ in range(4)]
    for hours, report in zip((1, 30, 10, 0), reports, strict=True):
        if hours:
            make_overdue(report, hours)
    services.report_set_priority(actor=rx.cast["operator"], report=reports[2], priority=Priority.HIGH)
    # Waiting for information pauses the deadline: not overdue.
    paused = submit(rx)
    make_overdue(paused)
    services.report_transition(
        actor=rx.cast["operator"], report=paused, to_status="needs_info", text="Where?"
    )
    found = list(registry.get("reports").alarm_sources[0](rx.city, timezone.now()))
    assert all(isinstance(c, AlarmCandidate) and c.kind == "overdue" for c in found)
    assert [c.key for c in found] == [f"reports.overdue:{reports[i].reference}" for i in (1, 2, 0)]
    assert [c.level for c in found] == ["warning", "danger", "warning"]
    assert found[0].commune_code == rx.commune_a.code and found[0].url == f"/reports/{reports[1].reference}/"
    assert found[0].raised_at < found[1].raised_at
    assert len(selectors.ioc_overdue(rx.city, limit=2)) == 2


def test_the_ward_summary(rx):
    a, _b = submit(rx), submit(rx)
    make_overdue(a)
    submit(rx, "pothole", point=rx.point_b, attributes={"depth": "deep"})
    summary = registry.get("reports").ward_summary(rx.city, rx.commune_a)
    assert [i["value"] for i in summary] == [2, 1, 2]  # open, overdue, this month
    assert summary[1]["level"] == "danger"
    assert [i["value"] for i in registry.get("reports").ward_summary(rx.city, rx.commune_b.code)] == [1, 0, 1]


def test_the_fragment_of_a_public_report_shows_its_timeline_to_all_without_names(rx):
    report = submit(rx)
    services.report_add_note(actor=rx.cast["operator"], report=report, text="Call Mrs Lan at 0905 123 456")
    services.report_add_note(
        actor=rx.cast["operator"], report=report, text="A crew goes tomorrow.", public=True
    )
    url = f"/reports/{report.reference}/fragment/"
    anonymous = client_as().get(url)
    assert anonymous.status_code == 200
    body = anonymous.content.decode()
    assert "<html" not in body and "<script" not in body
    assert "Water up to the knees" in body and "A crew goes tomorrow." in body
    assert "Mrs Lan" not in body and "internal" not in body
    staff = client_as(rx.cast["operator"]).get(url).content.decode()
    assert "A crew goes tomorrow." in staff and "internal" in staff  # the note is listed by its kind
    assert "Mrs Lan" not in staff and rx.cast["citizen"].display_name not in staff
    assert rx.cast["operator"].display_name not in staff
    assert client_as().get("/reports/NOPE-1/fragment/").status_code == 404
    assert client_as().post(url).status_code == 405


def test_the_fragment_of_a_confidential_report_is_for_its_handlers_only(rx):
    secret = submit(rx, "security", description="Gambling den behind house 7.")
    url = f"/reports/{secret.reference}/fragment/"
    for role in ("anonymous", "citizen", "agency_staff", "council_member"):
        # The reporter (the cast's citizen) included: the fragment is a staff view.
        assert client_as(rx.cast[role]).get(url).status_code == 404, role
    response = client_as(rx.cast["operator"]).get(url)
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
    body = response.content.decode()
    assert "An ninh trật tự" in body or "Security and public order" in body
    assert "Gambling" not in body and "Trần Phú" not in body


def test_a_hidden_report_is_for_its_handlers_only(rx):
    report = submit(rx)
    Report.objects.filter(pk=report.pk).update(hidden=True)
    url = f"/reports/{report.reference}/fragment/"
    assert client_as().get(url).status_code == 404
    body = client_as(rx.cast["agency_staff"]).get(url).content.decode()
    assert "Hidden by a moderator" in body and "Water up to the knees" not in body
