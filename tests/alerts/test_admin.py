"""The warnings admin: pages render for a city administrator, only their city's rows, rules checked by
the rule engine's validation, warnings read-only, no personal data in subscriptions, and every look at
safety replies audited."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dothi.alerts import services
from dothi.alerts.models import AlertCategory, AlertRule, SafetyReply, Subscription
from dothi.core.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, ax):
    client.force_login(ax.cast["city_admin"])
    client.cookies["dothi_language"] = "en"
    return client


@pytest.fixture
def flood_reply(ax, publish_warning):
    warning = publish_warning(severity="Severe")
    citizen = ax.cast["citizen"]
    services.subscription_set(actor=citizen, city=ax.city, home_commune=ax.commune_a.code)
    reply = services.safety_reply(actor=citizen, warning=warning, status="need_help",
                                  note="Nước vào nhà", lat=ax.point_a[0], lon=ax.point_a[1])
    return warning, reply


def _rule_form(ax, **overrides):
    data = {
        "city": ax.city.pk, "name": "Mực nước cao", "category": ax.flood.pk, "quantity_code": "water_level",
        "statistic": "value", "operator": ">=",
        "levels": '[{"threshold": 1.5, "severity": "Moderate"}, {"threshold": 2.0, "severity": "Severe"}]',
        "hysteresis": "0.1", "duration_minutes": "10", "commune_codes": f'["{ax.commune_a.code}"]',
        "polygon": "null", "area_desc_vi": "", "area_desc_en": "", "urgency": "Immediate",
        "certainty": "Observed", "headline_vi": "Nước dâng {value} m", "headline_en": "",
        "instruction_vi": "", "instruction_en": "", "is_active": "on",
    }
    data.update(overrides)
    return data


def test_pages_render(ax, admin_client, flood_reply):
    warning, reply = flood_reply
    for model in ("alertcategory", "alertrule", "publicwarning", "fanout", "subscription", "safetyreply"):
        assert admin_client.get(reverse(f"admin:alerts_{model}_changelist")).status_code == 200, model
    page = admin_client.get(reverse("admin:alerts_publicwarning_change", args=[warning.pk]))
    body = page.content.decode()
    assert page.status_code == 200 and warning.headline_vi in body
    assert "urn:dothi:" in body  # its CAP messages, inline
    assert admin_client.get(reverse("admin:alerts_alertcategory_add")).status_code == 200
    assert admin_client.get(reverse("admin:alerts_alertrule_add")).status_code == 200
    # Warnings are published through the warnings desk, never added or edited here.
    assert admin_client.get(reverse("admin:alerts_publicwarning_add")).status_code == 403
    response = admin_client.post(reverse("admin:alerts_publicwarning_change", args=[warning.pk]),
                                 {"headline_vi": "changed"})
    assert response.status_code == 403
    warning.refresh_from_db()
    assert warning.headline_vi != "changed"


def test_city_admin_sees_only_their_city(ax, admin_client, other_city):
    AlertCategory.objects.create(city=other_city, code="hcm-only", name_vi="Chỉ HCM")
    body = admin_client.get(reverse("admin:alerts_alertcategory_changelist")).content.decode()
    assert "flood" in body and "hcm-only" not in body
    foreign = AlertCategory.objects.get(code="hcm-only")
    foreign_url = reverse("admin:alerts_alertcategory_change", args=[foreign.pk])
    assert admin_client.get(foreign_url).status_code == 302  # "does not exist", back to the list
    # A rule cannot point at another city's category.
    response = admin_client.post(reverse("admin:alerts_alertrule_add"), _rule_form(ax, category=foreign.pk))
    assert response.status_code == 200 and not AlertRule.objects.exists()


def test_a_valid_rule_is_saved_and_audited(ax, admin_client):
    response = admin_client.post(reverse("admin:alerts_alertrule_add"), _rule_form(ax))
    assert response.status_code == 302, response.content.decode()[:3000]
    rule = AlertRule.objects.get()
    assert rule.city == ax.city and rule.levels[1] == {"threshold": 2.0, "severity": "Severe"}
    assert AuditEvent.objects.filter(object_type="alerts.alertrule", action="create").exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"quantity_code": "no-such-thing"}, "quantity_code", "There is no quantity"),
        ({"levels": '[{"threshold": 2.0, "severity": "Moderate"}, {"threshold": 1.5, "severity": "Severe"}]'},
         "levels", "above the previous one"),
        ({"levels": '[{"threshold": "high", "severity": "Moderate"}]'}, "levels", "needs a threshold"),
        ({"commune_codes": '["99999"]'}, "commune_codes", ""),
    ],
)
def test_rule_validation_errors_show(ax, admin_client, overrides, field, message):
    response = admin_client.post(reverse("admin:alerts_alertrule_add"), _rule_form(ax, **overrides))
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert field in form.errors, form.errors
    assert message in " ".join(form.errors[field])
    assert not AlertRule.objects.exists()


def test_subscriptions_show_no_personal_data(ax, admin_client):
    citizen = ax.cast["citizen"]
    services.subscription_set(actor=citizen, city=ax.city, home_commune=ax.commune_a.code,
                              work_commune=ax.commune_b.code)
    sub = Subscription.objects.get()
    for url in (reverse("admin:alerts_subscription_changelist"),
                reverse("admin:alerts_subscription_change", args=[sub.pk])):
        body = admin_client.get(url).content.decode()
        assert str(citizen.pk) in body
        for personal in (citizen.display_name, citizen.username, ax.commune_a.name, ax.commune_b.name):
            assert personal not in body, personal


def test_reading_safety_replies_is_audited(ax, admin_client, flood_reply):
    _warning, reply = flood_reply
    reads = AuditEvent.objects.filter(action="read_personal", object_type="alerts.safetyreply")
    listing = admin_client.get(reverse("admin:alerts_safetyreply_changelist")).content.decode()
    assert "Nước vào nhà" not in listing and ax.cast["citizen"].display_name not in listing
    assert reads.count() == 1 and reads.get().city == ax.city
    page = admin_client.get(reverse("admin:alerts_safetyreply_change", args=[reply.pk]))
    assert page.status_code == 200 and "Nước vào nhà" in page.content.decode()
    opened = reads.filter(object_id=str(reply.pk)).get()
    assert opened.actor == ax.cast["city_admin"] and "note" in opened.details["fields"]
    # Replies are the person's: not edited or deleted here.
    assert admin_client.post(reverse("admin:alerts_safetyreply_delete", args=[reply.pk]),
                             {"post": "yes"}).status_code == 403
    assert SafetyReply.objects.filter(pk=reply.pk).exists()
