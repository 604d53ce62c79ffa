"""What warnings contribute to the control centre through their manifest: the `alerts.active` map
(standard properties, level from the CAP severity) and the `alerts.need_help` list, the
`alerts.warning:<uid>` (active automatic warnings) and `alerts.need_help:<uid>` alarm sources, the ward
summary, and the warning's drill-down fragment (public; the reply counts for those who read replies)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from dothi.alerts import selectors, services
from dothi.alerts.models import AlertRule
from dothi.core.manifests import AlarmCandidate, registry
from tests import factories

pytestmark = pytest.mark.django_db


def client_as(user=None) -> Client:
    client = Client()
    client.cookies["dothi_language"] = "en"
    if user is not None:
        client.force_login(user)
    return client


def panel(code):
    return next(p for p in registry.panels() if p.code == code)


def sources():
    return registry.get("alerts").alarm_sources


def candidates(city):
    return [c for source in sources() for c in source(city, timezone.now())]


def raise_rule_warning(ax, severity="Severe", **rule_fields):
    values = {
        "city": ax.city,
        "name": "River level",
        "category": ax.flood,
        "quantity_code": "water_level",
        "levels": [{"threshold": 1.5, "severity": "Severe"}],
        "commune_codes": [ax.commune_a.code],
        "headline_vi": "Mực nước {value} {unit} tại {sensor}",
        "headline_en": "Water at {value} {unit} at {sensor}",
    }
    values.update(rule_fields)
    rule = AlertRule.objects.create(**values)
    now = timezone.now()
    return services.rule_warning_raise(
        rule=rule,
        severity=severity,
        trigger={"sensor": "WL-A", "value": 1.8, "unit": "m", "threshold": 1.5},
        triggered_at=now - timedelta(minutes=2),
        now=now,
    )


def test_the_active_panel_has_the_standard_properties_and_levels(ax, publish_warning):
    severe = publish_warning()
    moderate = publish_warning(category="storm", severity="Moderate", headline_en="Gusty wind")
    news = publish_warning(
        category="security", severity="Minor", headline_en="Road closed", commune_codes=[ax.commune_b.code]
    )
    data = panel("alerts.active").data(ax.city)
    features = {f["properties"]["id"]: f["properties"] for f in data["features"]}
    assert set(features) == {str(severe.uid), str(moderate.uid), str(news.uid)}
    assert features[str(severe.uid)]["level"] == "danger"
    assert features[str(moderate.uid)]["level"] == "warning"
    assert features[str(news.uid)]["level"] == "info"
    props = features[str(severe.uid)]
    assert props["title"] == severe.headline and props["url"] == f"/alerts/{severe.uid}/"
    assert props["fragment"] == f"/alerts/{severe.uid}/fragment/"
    assert "Ngập lụt" in props["meta"] or "Flood" in props["meta"]
    # The public map's properties are kept (its page and the public map.geojson read them).
    assert props["uid"] == str(severe.uid) and props["severity"] == "Severe" and "headline" in props
    public = client_as().get("/alerts/map.geojson").json()
    assert {f["properties"]["uid"] for f in public["features"]} == set(features)


def test_an_active_automatic_warning_is_an_alarm_with_its_severity(ax, publish_warning):
    publish_warning()  # manual: on the map, not an alarm
    extreme = raise_rule_warning(ax, severity="Extreme")
    moderate = raise_rule_warning(ax, severity="Moderate", name="Rain")
    found = {c.key: c for c in candidates(ax.city)}
    assert set(found) == {f"alerts.warning:{extreme.uid}", f"alerts.warning:{moderate.uid}"}
    alarm = found[f"alerts.warning:{extreme.uid}"]
    assert isinstance(alarm, AlarmCandidate) and alarm.kind == "breach" and alarm.level == "danger"
    assert found[f"alerts.warning:{moderate.uid}"].level == "warning"
    assert alarm.raised_at == extreme.triggered_at and alarm.commune_code == ax.commune_a.code
    assert alarm.lon is not None and alarm.url == f"/alerts/{extreme.uid}/"
    # Worst first.
    assert [c.key for c in selectors.ioc_rule_warnings(ax.city)][0] == f"alerts.warning:{extreme.uid}"
    services.rule_warning_end(warning=extreme, now=timezone.now())
    assert {c.key for c in candidates(ax.city)} == {f"alerts.warning:{moderate.uid}"}


def test_need_help_replies_nobody_handled_are_a_list_and_an_alarm(ax, publish_warning):
    warning = publish_warning(asks_safety=True)
    quiet = publish_warning(asks_safety=True, headline_en="Second flood")
    people = [factories.make_citizen(ax.city) for _ in range(3)]
    replies = [
        services.safety_reply(
            actor=p,
            warning=warning,
            status=s,
            lat=ax.point_a[0],
            lon=ax.point_a[1],
            note="Trapped on the roof",
        )
        for p, s in zip(people, ("need_help", "need_help", "safe"), strict=True)
    ]
    services.safety_reply(actor=people[0], warning=quiet, status="safe")
    data = panel("alerts.need_help").data(ax.city)
    assert panel("alerts.need_help").kind == "list"
    [item] = data["items"]  # the quiet warning has no one waiting
    assert item["title"] == warning.headline and item["level"] == "danger" and item["open"] == 2
    assert item["url"] == f"/alerts/staff/replies/?warning={warning.uid}" and "at" in item
    assert (data["need_help"], data["open"], data["safe"]) == (2, 2, 2)
    assert "Trapped" not in str(data) and "Citizen" not in str(data)
    [alarm] = [c for c in candidates(ax.city) if c.kind == "need_help"]
    assert alarm.key == f"alerts.need_help:{warning.uid}" and alarm.level == "danger"
    assert "2" in alarm.title and "Trapped" not in alarm.title + alarm.detail
    services.safety_reply_handle(actor=ax.cast["operator"], reply=replies[0])
    services.safety_reply_handle(actor=ax.cast["operator"], reply=replies[1])
    assert panel("alerts.need_help").data(ax.city)["items"] == []
    assert [c for c in candidates(ax.city) if c.kind == "need_help"] == []


def test_the_ward_summary_counts_the_communes_active_warnings(ax, publish_warning):
    publish_warning(severity="Moderate")
    worst = publish_warning(severity="Extreme", headline_en="Evacuate")
    publish_warning(commune_codes=[ax.commune_b.code])
    summary = registry.get("alerts").ward_summary(ax.city, ax.commune_a)
    assert summary[0]["value"] == 2 and summary[0]["level"] == "danger"
    assert summary[1]["value"] == worst.headline and summary[1]["url"] == f"/alerts/{worst.uid}/"
    other = registry.get("alerts").ward_summary(ax.city, "00000")
    assert other == [{"label": other[0]["label"], "value": 0, "level": "normal", "url": "/alerts/"}]


def test_the_fragment_is_public_and_the_reply_counts_are_for_those_who_read_replies(
    ax, publish_warning, draft_warning
):
    warning = publish_warning(asks_safety=True)
    services.safety_reply(actor=ax.cast["citizen"], warning=warning, status="need_help")
    url = f"/alerts/{warning.uid}/fragment/"
    anonymous = client_as().get(url)
    assert anonymous.status_code == 200
    body = anonymous.content.decode()
    assert warning.headline_en in body and "Move to higher ground." in body
    assert "<html" not in body and "<script" not in body and "data-replies" not in body
    staff = client_as(ax.cast["operator"]).get(url).content.decode()
    assert "data-replies" in staff and ax.cast["citizen"].display_name not in staff
    assert "data-replies" not in client_as(ax.cast["agency_staff"]).get(url).content.decode()
    draft = draft_warning()
    assert client_as(ax.cast["operator"]).get(f"/alerts/{draft.uid}/fragment/").status_code == 404
    assert client_as().post(url).status_code == 405
