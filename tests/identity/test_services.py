"""Sign-up, sign-in, export, erasure, audit, personal-data reads and visitor policy (services)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import translation

from dothi.core.errors import Conflict, InvalidInput, NotFound
from dothi.core.models import AuditEvent, Feedback, Notification
from dothi.identity import cccd, crypto, otp, privacy, selectors, services
from dothi.identity.models import Consent, OtpChallenge, User
from tests import factories

pytestmark = pytest.mark.django_db

ID = "048090123456"
PHONE = "+84912345678"


def start(city, **overrides):
    data = {
        "id_kind": "cccd",
        "id_number": ID,
        "phone": "0912 345 678",
        "birth_year": 1990,
        "display_name": "Nguyễn Văn An",
        "consent": True,
        "city": city,
        "ip": "198.51.100.1",
    }
    data.update(overrides)
    return services.citizen_signup_start(**data)


def sign_up(city, outbox, **overrides):
    challenge = start(city, **overrides)
    phone = cccd.normalise_phone(overrides.get("phone", PHONE))
    return services.citizen_signup_confirm(token=challenge.token, code=outbox.last_code(phone))


def test_signup_creates_citizen_with_encrypted_identifiers_and_consent(city, outbox):
    challenge = start(city)
    # Pending data waits encrypted in the challenge; no account yet.
    assert not User.objects.exists()
    assert ID not in str(challenge.payload) and "Nguyễn" not in str(challenge.payload)
    user = services.citizen_signup_confirm(token=challenge.token, code=outbox.last_code(PHONE))
    assert user.kind == User.Kind.CITIZEN
    assert user.verification_level == User.Level.CITIZEN_ID
    assert user.verified_by == "format"
    assert user.sex == "M" and user.birth_year == 1990 and user.home_city == city
    assert user.id_number_enc != ID and crypto.decrypt(user.id_number_enc) == ID
    assert crypto.decrypt(user.phone_enc) == PHONE
    assert user.id_number_hash == crypto.lookup_hash("cccd", ID)
    assert user.phone_hash == crypto.lookup_hash("phone", PHONE)
    assert not user.has_usable_password()
    consent = Consent.objects.get(user=user)
    assert consent.notice_version == privacy.NOTICE_VERSION
    assert consent.purposes == list(privacy.PURPOSES)
    # The pending payload is dropped once used.
    assert OtpChallenge.objects.get(pk=challenge.pk).payload == {}
    actions = set(AuditEvent.objects.filter(actor=user).values_list("action", "object_type"))
    assert ("create", "identity.user") in actions and ("create", "identity.consent") in actions


def test_passport_signup_makes_a_visitor_at_phone_level(city, outbox):
    user = sign_up(
        city, outbox, id_kind="passport", id_number="b 1234567", birth_year=None, phone="+84 987 654 321"
    )
    assert user.kind == User.Kind.VISITOR
    assert user.verification_level == User.Level.PHONE
    assert user.id_number_hash == crypto.lookup_hash("passport", "B1234567")


def test_one_account_per_id(city, outbox):
    sign_up(city, outbox)
    with translation.override("en"), pytest.raises(Conflict) as caught:
        start(city, phone="0987654321")
    assert caught.value.code == "id_taken" and "Sign in instead" in caught.value.message
    assert User.objects.count() == 1


def test_two_pending_signups_for_one_id_make_one_account(city, outbox):
    first = start(city)
    second = start(city, phone="0987654321")
    services.citizen_signup_confirm(token=first.token, code=outbox.last_code(PHONE))
    with pytest.raises(Conflict):
        services.citizen_signup_confirm(token=second.token, code=outbox.last_code("+84987654321"))
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"id_number": "048290123456"}, "cccd_century"),
        ({"id_number": "999090123456"}, "cccd_province"),
        ({"phone": "12345"}, "phone_invalid"),
        ({"birth_year": 2999}, "birth_year_future"),
        ({"consent": False}, "consent_required"),
        ({"display_name": " "}, "name_required"),
        ({"display_name": "x" * 81}, "name_too_long"),
        ({"display_name": "An\x00"}, "name_invalid"),
        ({"id_kind": "driving_licence"}, "id_kind_invalid"),
    ],
)
def test_bad_input_stores_nothing(city, outbox, overrides, code):
    audit_before = AuditEvent.objects.count()
    with pytest.raises(InvalidInput) as caught:
        start(city, **overrides)
    assert caught.value.code == code
    assert not OtpChallenge.objects.exists()
    assert not User.objects.exists()
    assert AuditEvent.objects.count() == audit_before
    assert outbox.lines() == []


def test_external_verifier_raises_level_to_strong(city, outbox, settings):
    # Added by dotted path only: no change to dothi's code.
    settings.IDENTITY_VERIFIERS = ["format", "tests.identity.plugins.FakeVneidVerifier"]
    strong = sign_up(city, outbox, id_number="048090000001")
    assert strong.verification_level == User.Level.STRONG
    assert strong.verified_by == "vneid"
    # Someone the provider does not know still gets the format level.
    plain = sign_up(city, outbox, id_number="048090000003", phone="0987654321")
    assert plain.verification_level == User.Level.CITIZEN_ID
    # And the provider can reject an ID the format check accepts.
    with pytest.raises(InvalidInput) as caught:
        start(city, id_number="048090000002", phone="0977000111")
    assert caught.value.code == "vneid_revoked"


def test_unknown_verifier_name_is_a_configuration_error(city, settings):
    settings.IDENTITY_VERIFIERS = ["nope"]
    with pytest.raises(LookupError):
        start(city)


def test_signin_by_id_passport_or_phone(city, outbox):
    citizen = sign_up(city, outbox)
    visitor = sign_up(
        city, outbox, id_kind="passport", id_number="C7654321", phone="0987654321", birth_year=None
    )
    for identifier, user, phone in [
        (ID, citizen, PHONE),
        ("048 090 123 456", citizen, PHONE),
        ("+84912345678", citizen, PHONE),
        ("c7654321", visitor, "+84987654321"),
        ("0987 654 321", visitor, "+84987654321"),
    ]:
        challenge = services.citizen_signin_start(identifier=identifier)
        assert services.citizen_signin_confirm(token=challenge.token, code=outbox.last_code(phone)) == user
    assert AuditEvent.objects.filter(actor=citizen, action="sign_in").count() == 3


def test_signin_unknown_or_malformed(city, outbox):
    with translation.override("en"), pytest.raises(NotFound) as caught:
        services.citizen_signin_start(identifier=ID)
    assert caught.value.code == "no_account"
    with pytest.raises(InvalidInput) as caught:
        services.citizen_signin_start(identifier="??")
    assert caught.value.code == "identifier_invalid"
    assert not OtpChallenge.objects.exists()


def test_signup_code_cannot_sign_in(city, outbox):
    sign_up(city, outbox)
    signup_challenge = OtpChallenge.objects.get()
    with pytest.raises(NotFound):
        otp.check(token=signup_challenge.token, code="000000", purpose=OtpChallenge.Purpose.SIGN_IN)


def test_export_contains_all_personal_data(city, outbox):
    user = sign_up(city, outbox)
    Notification.objects.create(city=city, recipient=user, topic="alerts", title="Flood warning")
    Feedback.objects.create(
        city=city,
        author=user,
        subject_type="reports.report",
        subject_id="7",
        rating=4,
        comment="Fixed quickly",
    )
    data = services.citizen_export(user=user)
    assert data["account"]["id_number"] == ID and data["account"]["phone"] == PHONE
    assert data["account"]["display_name"] == "Nguyễn Văn An"
    assert data["consents"][0]["notice_version"] == privacy.NOTICE_VERSION
    assert data["notifications"][0]["title"] == "Flood warning"
    assert data["feedback"][0]["comment"] == "Fixed quickly"
    assert any(a["action"] == "create" for a in data["activity"])
    assert AuditEvent.objects.filter(actor=user, action="export").exists()


def test_erase_removes_personal_data_and_keeps_contributions(city, outbox):
    user = sign_up(city, outbox)
    feedback = Feedback.objects.create(
        city=city, author=user, subject_type="reports.report", subject_id="7", rating=5
    )
    Notification.objects.create(city=city, recipient=user, topic="alerts", title="Flood")
    services.citizen_erase(user=user)
    user.refresh_from_db()
    assert user.erased_at is not None and not user.is_active
    assert (user.id_number_enc, user.phone_enc, user.id_number_hash, user.phone_hash) == ("", "", None, "")
    assert user.display_name == "" and user.birth_year is None and user.sex == ""
    assert user.username.startswith("erased-")
    assert user.verification_level == User.Level.NONE
    assert Consent.objects.get(user=user).withdrawn_at is not None
    assert not Notification.objects.filter(recipient=user).exists()
    assert not OtpChallenge.objects.exists()
    feedback.refresh_from_db()
    assert feedback.author_id == user.pk and feedback.rating == 5
    assert AuditEvent.objects.filter(object_id=str(user.pk), action="delete").exists()
    # The ID is free again, and the erased person cannot sign in.
    with pytest.raises(NotFound):
        services.citizen_signin_start(identifier=ID)
    again = sign_up(city, outbox)
    assert again.pk != user.pk
    with pytest.raises(Conflict):
        services.citizen_erase(user=User.objects.get(pk=user.pk))


def test_staff_read_of_personal_data_requires_permission_and_is_audited(city, outbox, other_city):
    citizen = sign_up(city, outbox)
    admin = factories.make_staff(city, "city_admin")
    operator = factories.make_staff(city, "operator")
    data = selectors.citizen_personal_data(actor=admin, citizen=citizen, city=city)
    assert data["id_number"] == ID and data["phone"] == PHONE
    event = AuditEvent.objects.get(action="read_personal")
    assert event.actor == admin and event.object_id == str(citizen.pk) and event.city == city
    with pytest.raises(PermissionDenied):
        selectors.citizen_personal_data(actor=operator, citizen=citizen, city=city)
    other_admin = factories.make_staff(other_city, "city_admin")
    with pytest.raises(NotFound):
        selectors.citizen_personal_data(actor=other_admin, citizen=citizen, city=other_city)
    assert AuditEvent.objects.filter(action="read_personal").count() == 1
