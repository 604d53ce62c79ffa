"""The staff pages of warnings: who may open each one, the draft → approve → update → cancel flow
through the forms, form errors (nothing stored, messages in the user's language), rejecting, and the
control centre's safety-replies map (audited, without names)."""

from __future__ import annotations

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext

from dothi.alerts import services
from dothi.alerts.models import (
    AlertCategory,
    CapMessage,
    Fanout,
    PublicWarning,
    SafetyReply,
    WarningAttachment,
)
from dothi.core.models import AuditEvent
from tests import factories
from tests.alerts.conftest import PDF_BYTES, square

pytestmark = pytest.mark.django_db

DRAFTERS = {"agency_staff", "agency_manager", "operator", "city_admin", "platform_admin"}
APPROVERS = {"agency_manager", "operator", "city_admin", "platform_admin"}
READERS = {"agency_manager", "operator", "city_admin", "platform_admin"}
DELIVERY_READERS = DRAFTERS | {"council_member"}
PREFIX = "/c/danang"  # the tests that add a second city select Đà Nẵng by path


def url(name: str, *args) -> str:
    return PREFIX + reverse(f"alerts:{name}", args=args)


def client_for(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    if user is not None:
        client.force_login(user)
    return client


def local(moment) -> str:
    """A time as a datetime-local field holds it, in Đà Nẵng's time."""
    return moment.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%Y-%m-%dT%H:%M")


def form_data(ax, **overrides) -> dict:
    now = timezone.now()
    data = {
        "category": "flood",
        "urgency": "Expected",
        "severity": "Severe",
        "certainty": "Likely",
        "headline_vi": "Cảnh báo ngập lụt",
        "headline_en": "Flood warning",
        "description_vi": "Mực nước sông dâng cao.",
        "description_en": "The river is rising.",
        "instruction_vi": "Di chuyển lên chỗ cao.",
        "instruction_en": "Move to higher ground.",
        "commune_codes": [ax.commune_a.code],
        "polygon": "",
        "area_desc_vi": "Phường A",
        "area_desc_en": "Ward A",
        "onset_at": "",
        "effective_at": local(now - timedelta(minutes=5)),
        "expires_at": local(now + timedelta(hours=6)),
        "asks_safety": "",
    }
    data.update(overrides)
    return data


def test_every_staff_page_as_every_role(ax, draft_warning, publish_warning):
    draft = draft_warning()
    published = publish_warning(headline_vi="Đã công bố")
    pages = [
        ("staff_home", (), DRAFTERS),
        ("staff_new", (), DRAFTERS),
        ("staff_detail", (draft.uid,), DRAFTERS),
        ("staff_edit", (draft.uid,), DRAFTERS),
        ("staff_update", (published.uid,), APPROVERS),
        ("staff_deliveries", (published.uid,), DELIVERY_READERS),
        ("staff_replies", (), READERS),
        ("staff_replies_geojson", (), READERS),
    ]
    for role, user in ax.cast.items():
        client = client_for(user)
        for name, args, allowed in pages:
            response = client.get(url(name, *args))
            where = f"{name} as {role}"
            if user is None:
                assert response.status_code == 302, where
                assert response["Location"].startswith(PREFIX + reverse("identity:staff_signin")), where
            elif role in allowed:
                assert response.status_code == 200, where
            else:
                assert response.status_code == 403, where


def test_workflow_actions_are_refused_to_those_who_may_not(ax, draft_warning, publish_warning):
    draft = draft_warning()
    published = publish_warning()
    for role, user in ax.cast.items():
        if role in APPROVERS:
            continue
        client = client_for(user)
        for name, target in [("staff_approve", draft), ("staff_reject", draft), ("staff_cancel", published)]:
            response = client.post(url(name, target.uid), {"reason": "không"})
            if user is None:
                assert response.status_code == 302 and "signin" in response["Location"], (name, role)
            else:
                assert response.status_code == 403, (name, role)
    draft.refresh_from_db()
    published.refresh_from_db()
    assert draft.status == "draft" and published.status == "published" and published.version == 1


def test_staff_of_another_city_are_refused(ax, other_city, draft_warning, publish_warning):
    draft = draft_warning()
    published = publish_warning()
    outsider = factories.make_staff(other_city, "operator")
    client = client_for(outsider)
    for name, args in [("staff_home", ()), ("staff_new", ()), ("staff_detail", (draft.uid,)),
                       ("staff_update", (published.uid,)), ("staff_deliveries", (published.uid,)),
                       ("staff_replies", ()), ("staff_replies_geojson", ())]:
        assert client.get(url(name, *args)).status_code == 403, name
    assert client.post(url("staff_approve", draft.uid)).status_code == 403
    assert client.post(url("staff_cancel", published.uid), {"reason": "x"}).status_code == 403
    draft.refresh_from_db()
    assert draft.status == "draft"
    # And a warning of the other city does not exist for Đà Nẵng's staff.
    category = AlertCategory.objects.create(city=other_city, code="flood", name_vi="Ngập")
    theirs = PublicWarning.objects.create(city=other_city, category=category, headline_vi="HCM")
    operator = client_for(ax.cast["operator"])
    assert operator.get(url("staff_detail", theirs.uid)).status_code == 404
    assert operator.post(url("staff_approve", theirs.uid)).status_code == 404


def test_draft_approve_update_cancel_through_the_pages(ax):
    staff, manager = client_for(ax.cast["agency_staff"]), client_for(ax.cast["agency_manager"])
    data = form_data(ax)
    data["attachments"] = [SimpleUploadedFile("track.pdf", PDF_BYTES, content_type="application/pdf")]
    created = staff.post(url("staff_new"), data)
    assert created.status_code == 302, created.content.decode()[:2000]
    warning = PublicWarning.objects.get()
    assert created["Location"] == url("staff_detail", warning.uid)
    assert warning.status == "draft" and warning.commune_codes == [ax.commune_a.code]
    assert warning.created_by == ax.cast["agency_staff"] and warning.asks_safety  # severe flood
    assert local(warning.expires_at) == data["expires_at"]  # typed in the city's time
    assert WarningAttachment.objects.filter(warning=warning).count() == 1
    # The author cannot approve (no permission); the desk shows the draft to the manager.
    assert staff.post(url("staff_approve", warning.uid)).status_code == 403
    desk = manager.get(url("staff_home"))
    desk_html = desk.content.decode()
    assert "Flood warning" in desk_html and url("staff_approve", warning.uid) in desk_html

    approved = manager.post(url("staff_approve", warning.uid))
    assert approved.status_code == 302
    warning.refresh_from_db()
    assert warning.status == "published" and warning.version == 1
    assert warning.approved_by == ax.cast["agency_manager"]
    alert = CapMessage.objects.get(warning=warning)
    assert alert.msg_type == "Alert" and Fanout.objects.filter(message=alert).exists()
    page = manager.get(url("staff_detail", warning.uid)).content.decode()
    assert reverse("alerts:cap_version", args=[warning.uid, 1]) in page
    assert alert.identifier in page and "approved and published" in page  # the audit trail

    # Update: the same form, prefilled; an untouched form changes nothing.
    form = manager.get(url("staff_update", warning.uid))
    assert form.status_code == 200 and 'value="Flood warning"' in form.content.decode()
    unchanged = form_data(ax, effective_at=local(warning.effective_at), expires_at=local(warning.expires_at))
    same = manager.post(url("staff_update", warning.uid), unchanged)
    assert same.status_code == 422 and warning.messages.count() == 1
    changed = {**unchanged, "severity": "Extreme", "headline_en": "Flood warning: river still rising"}
    updated = manager.post(url("staff_update", warning.uid), changed)
    assert updated.status_code == 302, updated.content.decode()[:2000]
    warning.refresh_from_db()
    assert warning.version == 2 and warning.severity == "Extreme"
    assert warning.headline_en == "Flood warning: river still rising"
    assert local(warning.expires_at) == data["expires_at"]
    update = CapMessage.objects.get(warning=warning, version=2)
    assert update.msg_type == "Update" and alert.identifier in update.references

    # Cancel needs a reason.
    missing = manager.post(url("staff_cancel", warning.uid), {"reason": ""})
    assert missing.status_code == 422 and "Give a reason." in missing.content.decode()
    warning.refresh_from_db()
    assert warning.status == "published"
    cancelled = manager.post(url("staff_cancel", warning.uid), {"reason": "Nước đã rút"})
    assert cancelled.status_code == 302
    warning.refresh_from_db()
    assert warning.status == "cancelled" and warning.version == 3 and warning.reason == "Nước đã rút"
    assert CapMessage.objects.get(warning=warning, version=3).msg_type == "Cancel"
    ended = manager.get(url("staff_home") + "?show=ended").content.decode()
    assert "Flood warning: river still rising" in ended
    deliveries = manager.get(url("staff_deliveries", warning.uid)).content.decode()
    assert deliveries.count("<tr>") == 1 + 3  # the header and one run per message


def test_edit_a_draft_and_four_eyes(ax):
    manager = client_for(ax.cast["agency_manager"])
    assert manager.post(url("staff_new"), form_data(ax, polygon=json.dumps(ax.polygon_a),
                                                    commune_codes=[])).status_code == 302
    warning = PublicWarning.objects.get()
    assert warning.polygon and ax.commune_a.code in warning.commune_codes
    edit = manager.get(url("staff_edit", warning.uid))
    assert edit.status_code == 200 and "Polygon" in edit.content.decode()
    changed = form_data(ax, polygon=json.dumps(ax.polygon_a), commune_codes=[], headline_vi="Sửa lại",
                        effective_at=local(warning.effective_at), expires_at=local(warning.expires_at))
    assert manager.post(url("staff_edit", warning.uid), changed).status_code == 302
    warning.refresh_from_db()
    assert warning.headline_vi == "Sửa lại" and warning.status == "draft"
    assert AuditEvent.objects.filter(object_type="alerts.publicwarning", object_id=str(warning.pk),
                                     summary__startswith="edit draft").count() == 1
    # Its author may not approve it, however senior.
    own = manager.post(url("staff_approve", warning.uid))
    assert own.status_code == 403 and warning.messages.count() == 0
    assert client_for(ax.cast["operator"]).post(url("staff_approve", warning.uid)).status_code == 302
    warning.refresh_from_db()
    assert warning.status == "published"
    # A published warning is not edited but updated.
    assert manager.get(url("staff_edit", warning.uid)).status_code == 302


def test_reject_with_a_reason_shows_in_the_authors_list(ax, draft_warning):
    warning = draft_warning(headline_en="To be rejected")
    operator = client_for(ax.cast["operator"])
    assert operator.post(url("staff_reject", warning.uid), {"reason": ""}).status_code == 422
    assert operator.post(url("staff_reject", warning.uid), {"reason": "Sai khu vực"}).status_code == 302
    warning.refresh_from_db()
    assert warning.status == "rejected" and warning.reason == "Sai khu vực"
    mine = client_for(ax.cast["agency_staff"]).get(url("staff_home") + "?show=mine").content.decode()
    assert "To be rejected" in mine and "Sai khu vực" in mine
    assert CapMessage.objects.count() == 0


@pytest.mark.parametrize("language", ["vi", "en"])
def test_form_errors_store_nothing_and_speak_the_users_language(ax, language):
    client = client_for(ax.cast["agency_staff"], language)
    now = timezone.now()
    far = square(21.03, 105.85)  # Hà Nội: outside Đà Nẵng
    with translation.override(language):
        cases = [
            (form_data(ax, effective_at=local(now + timedelta(hours=2)),
                       expires_at=local(now + timedelta(hours=1))),
             "expires_at", gettext("The expiry time must be after the time the warning takes effect.")),
            (form_data(ax, category="nope"), "category",
             gettext("Select a valid choice. %(value)s is not one of the available choices.")
             % {"value": "nope"}),
            (form_data(ax, commune_codes=[], polygon=json.dumps(far)), "polygon",
             gettext("The area is outside %(city)s.") % {"city": ax.city.name_vi if language == "vi"
                                                           else ax.city.name_en}),
            (form_data(ax, polygon="{not json"), "polygon", gettext("The polygon is not valid GeoJSON.")),
        ]
    for data, field, message in cases:
        response = client.post(url("staff_new"), data)
        assert response.status_code == 422, field
        body = response.content.decode()
        assert f'id="id_{field}_error"' in body, field
        # Django escapes quotes in the page; compare with the escaped message.
        assert escape(message) in body, (field, message)
    assert PublicWarning.objects.count() == 0 and WarningAttachment.objects.count() == 0
    assert not AuditEvent.objects.filter(object_type="alerts.publicwarning").exists()


def test_desk_lists_and_empty_states(ax, draft_warning, publish_warning):
    manager = client_for(ax.cast["agency_manager"])
    empty = manager.get(url("staff_home")).content.decode()
    assert "You have no drafts." in empty
    for i in range(23):
        draft_warning(headline_en=f"Draft number {i:02d}")
    first = manager.get(url("staff_home") + "?show=awaiting").content.decode()
    assert "Page 1 of 2" in first and "Draft number 00" in first and "Draft number 22" not in first
    second = manager.get(url("staff_home") + "?show=awaiting&page=2").content.decode()
    assert "Draft number 22" in second
    publish_warning(headline_en="Live one")
    active = manager.get(url("staff_home") + "?show=active").content.decode()
    live = PublicWarning.objects.get(headline_en="Live one")
    assert "Live one" in active and url("staff_update", live.uid) in active
    automatic = manager.get(url("staff_home") + "?show=automatic").content.decode()
    assert "No automatic warning is active" in automatic
    # Agency staff do not approve: no "awaiting" list for them.
    staff = client_for(ax.cast["agency_staff"]).get(url("staff_home") + "?show=awaiting").content.decode()
    assert "Approve and publish" not in staff


def test_replies_page_is_audited_and_shows_no_names(ax, publish_warning):
    warning = publish_warning()  # a severe flood: asks "are you safe?"
    assert warning.asks_safety
    citizen = ax.cast["citizen"]
    citizen.display_name = "Nguyễn Văn Bí Mật"
    citizen.save()
    lat, lon = ax.point_a
    reply = services.safety_reply(actor=citizen, warning=warning, status="need_help", note="Nước vào nhà",
                                  lat=lat, lon=lon)
    services.safety_reply(actor=ax.cast["visitor"], warning=warning, status="safe")
    operator = client_for(ax.cast["operator"])

    def reads():
        return AuditEvent.objects.filter(action="read_personal", object_type="alerts.publicwarning",
                                         object_id=str(warning.pk), actor=ax.cast["operator"]).count()

    page = operator.get(url("staff_replies"))
    body = page.content.decode()
    assert page.status_code == 200 and reads() == 1
    assert "Nước vào nhà" in body and ax.commune_a.name in body
    for secret in (citizen.display_name, citizen.username, ax.cast["visitor"].username):
        assert secret not in body
    geo = operator.get(url("staff_replies_geojson") + f"?warning={warning.uid}")
    assert geo.status_code == 200 and reads() == 2 and geo["Cache-Control"] == "private, no-store"
    data = geo.json()
    assert [f["properties"]["status"] for f in data["features"]] == ["need_help"]
    assert data["unlocated"] == 1
    assert set(data["features"][0]["properties"]) == {"id", "warning", "status", "status_label", "handled",
                                                      "commune", "note", "at"}
    assert citizen.display_name not in geo.content.decode() and citizen.username not in geo.content.decode()
    # Every warning at once: one record per warning.
    assert operator.get(url("staff_replies_geojson")).status_code == 200 and reads() == 3
    assert operator.get(url("staff_replies_geojson") + "?warning=nope").status_code == 404
    # Mark the call for help handled.
    handled = operator.post(url("staff_replies"), {"warning": str(warning.uid), "reply": reply.pk})
    assert handled.status_code == 302
    reply.refresh_from_db()
    assert reply.handled_at is not None and reply.handled_by == ax.cast["operator"]
    again = operator.post(url("staff_replies"), {"warning": str(warning.uid), "reply": reply.pk})
    assert again.status_code == 409
    assert operator.post(url("staff_replies"), {"warning": "x", "reply": "y"}).status_code == 422
    assert SafetyReply.objects.filter(handled_at__isnull=False).count() == 1


def test_replies_page_without_warnings_reads_nothing(ax):
    response = client_for(ax.cast["city_admin"]).get(url("staff_replies"))
    assert response.status_code == 200 and "No active warning asks" in response.content.decode()
    assert not AuditEvent.objects.filter(action="read_personal").exists()


def test_pages_with_content_have_no_inline_code(ax, draft_warning, publish_warning):
    from tests.security.harness import inline_code

    draft = draft_warning()
    published = publish_warning()
    services.safety_reply(actor=ax.cast["citizen"], warning=published, status="need_help", note="<b>hi</b>",
                          lat=ax.point_a[0], lon=ax.point_a[1])
    client = client_for(ax.cast["city_admin"])
    for path in [url("staff_home"), url("staff_home") + "?show=active", url("staff_new"),
                 url("staff_detail", draft.uid), url("staff_detail", published.uid),
                 url("staff_edit", draft.uid), url("staff_update", published.uid),
                 url("staff_deliveries", published.uid), url("staff_replies")]:
        response = client.get(path)
        assert response.status_code == 200, path
        body = response.content.decode()
        assert inline_code(body) == [], path
        assert "<b>hi</b>" not in body, path  # a citizen's note is text, never markup
