"""Identity services: citizen sign-up and sign-in by one-time code, staff sign-in, the person's own
data (export) and erasure. Every change is audited through dothi.core.audit.record."""

from __future__ import annotations

import json
import secrets
from typing import Any

from django.contrib.auth import authenticate
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dothi.core import audit
from dothi.core.errors import Conflict, InvalidInput, NotFound
from dothi.core.models import AuditEvent, City, Feedback, Notification, NotificationPreference
from dothi.identity import cccd, crypto, otp, privacy
from dothi.identity.models import Consent, OtpChallenge, User
from dothi.identity.verifiers import CCCD, PASSPORT, Claim, verify

ID_KINDS = (CCCD, PASSPORT)
NAME_MAX = 80


def _normalise_id(id_kind: str, id_number: str, birth_year: int | None) -> str:
    if id_kind == CCCD:
        return cccd.validate_cccd(id_number, birth_year).number
    return cccd.normalise_passport(id_number)


def _clean_name(display_name: str) -> str:
    name = " ".join((display_name or "").split())
    if len(name) < 2:
        raise InvalidInput(
            _("Enter the name you want to be called (at least 2 characters)."),
            code="name_required",
            field="display_name",
        )
    if len(name) > NAME_MAX:
        raise InvalidInput(
            _("The name may have at most %(max)d characters.") % {"max": NAME_MAX},
            code="name_too_long",
            field="display_name",
        )
    if any(not ch.isprintable() for ch in name):
        raise InvalidInput(
            _("The name contains characters that are not allowed."), code="name_invalid", field="display_name"
        )
    return name


def citizen_signup_start(
    *,
    id_kind: str,
    id_number: str,
    phone: str,
    birth_year: int | str | None,
    display_name: str,
    consent: bool,
    city: City | None,
    ip: str | None = None,
    language: str = "vi",
) -> OtpChallenge:
    """Validate a sign-up, refuse an ID that already has an account, and send a code to the phone.

    The pending data waits, encrypted, in the challenge payload until the code is confirmed; nothing
    else is stored. Raises InvalidInput / Conflict / RateLimited with a message in the active language.
    """
    otp.count_ip_start(ip)
    if id_kind not in ID_KINDS:
        raise InvalidInput(
            _("Choose the type of identity document."), code="id_kind_invalid", field="id_kind"
        )
    if id_kind == CCCD:
        year: int | None = cccd.validate_birth_year(birth_year)
    else:
        year = cccd.validate_birth_year(birth_year) if str(birth_year or "").strip() else None
    number = _normalise_id(id_kind, id_number, year)
    phone_e164 = cccd.normalise_phone(phone)
    name = _clean_name(display_name)
    if not consent:
        raise InvalidInput(
            _("You must accept the privacy notice to create an account."),
            code="consent_required",
            field="consent",
        )
    verification = verify(Claim(id_kind=id_kind, id_number=number, birth_year=year, phone=phone_e164))
    if User.objects.filter(id_number_hash=crypto.lookup_hash(id_kind, number)).exists():
        raise Conflict(
            _("An account already uses this identity number. Sign in instead."),
            code="id_taken",
            field="id_number",
        )
    pending = {
        "id_kind": id_kind,
        "id_number": number,
        "phone": phone_e164,
        "birth_year": year,
        "display_name": name,
        "sex": verification.sex,
        "level": int(verification.level),
        "verified_by": verification.verified_by,
        "city_id": city.pk if city else None,
        "language": language,
        "purposes": list(privacy.PURPOSES),
        "notice_version": privacy.NOTICE_VERSION,
    }
    return otp.issue(
        phone=phone_e164,
        purpose=OtpChallenge.Purpose.SIGN_UP,
        payload={"data": crypto.encrypt(json.dumps(pending))},
        ip=ip,
    )


def citizen_signup_confirm(*, token: str, code: str, request=None) -> User:
    """Check the code and create the account with its consent record. Returns the new user."""
    challenge = otp.check(token=token, code=code, purpose=OtpChallenge.Purpose.SIGN_UP)
    pending = json.loads(crypto.decrypt(challenge.payload["data"]))
    id_hash = crypto.lookup_hash(pending["id_kind"], pending["id_number"])
    with transaction.atomic():
        # Checked again: two sign-ups for one ID may have been pending at the same time.
        if User.objects.filter(id_number_hash=id_hash).exists():
            raise Conflict(
                _("An account already uses this identity number. Sign in instead."),
                code="id_taken",
                field="id_number",
            )
        city = City.objects.filter(pk=pending["city_id"]).first() if pending["city_id"] else None
        visitor = pending["id_kind"] == PASSPORT
        user = User(
            username=f"c-{secrets.token_hex(8)}",
            kind=User.Kind.VISITOR if visitor else User.Kind.CITIZEN,
            display_name=pending["display_name"],
            id_number_enc=crypto.encrypt(pending["id_number"]),
            id_number_hash=id_hash,
            phone_enc=crypto.encrypt(pending["phone"]),
            phone_hash=crypto.lookup_hash("phone", pending["phone"]),
            birth_year=pending["birth_year"],
            sex=pending["sex"],
            verification_level=pending["level"],
            verified_by=pending["verified_by"],
            home_city=city,
            language=pending["language"],
        )
        user.set_unusable_password()
        user.save()
        consent = Consent.objects.create(
            user=user, notice_version=pending["notice_version"], purposes=pending["purposes"]
        )
        # The payload held personal data; it has served its purpose.
        OtpChallenge.objects.filter(pk=challenge.pk).update(payload={})
        audit.record(
            actor=user,
            action=AuditEvent.Action.CREATE,
            obj=user,
            city=city,
            request=request,
            summary="citizen signed up",
            details={"kind": user.kind, "level": user.verification_level, "verified_by": user.verified_by},
        )
        audit.record(
            actor=user,
            action=AuditEvent.Action.CREATE,
            obj=consent,
            city=city,
            request=request,
            summary="consent given",
            details={"notice_version": consent.notice_version, "purposes": consent.purposes},
        )
    return user


def find_citizen(identifier: str) -> User | None:
    """The active citizen or visitor with this ID, passport number or phone, if any."""
    value = (identifier or "").strip()
    if not value:
        raise InvalidInput(
            _("Enter your citizen ID, passport number or phone number."),
            code="identifier_required",
            field="id_number",
        )
    accounts = User.objects.filter(
        kind__in=[User.Kind.CITIZEN, User.Kind.VISITOR], is_active=True, erased_at__isnull=True
    )
    if cccd.looks_like_phone(value):
        matches = list(
            accounts.filter(phone_hash=crypto.lookup_hash("phone", cccd.normalise_phone(value)))[:2]
        )
        if len(matches) > 1:
            raise InvalidInput(
                _("Several accounts use this phone number. Sign in with your ID number."),
                code="phone_ambiguous",
                field="id_number",
            )
        return matches[0] if matches else None
    digits = cccd.normalise_cccd(value)
    if len(digits) == 12 and digits.isdigit():
        return accounts.filter(id_number_hash=crypto.lookup_hash(CCCD, digits)).first()
    try:
        passport = cccd.normalise_passport(value)
    except InvalidInput:
        raise InvalidInput(
            _("Enter a 12-digit citizen ID, a passport number or a Vietnamese mobile number."),
            code="identifier_invalid",
            field="id_number",
        )
    return accounts.filter(id_number_hash=crypto.lookup_hash(PASSPORT, passport)).first()


def citizen_signin_start(*, identifier: str, ip: str | None = None) -> OtpChallenge:
    """Send a sign-in code to the phone of the account with this ID, passport number or phone."""
    otp.count_ip_start(ip)
    user = find_citizen(identifier)
    if user is None:
        raise NotFound(
            _("No account uses this number. Check it, or sign up first."),
            code="no_account",
            field="id_number",
        )
    return otp.issue(
        phone=crypto.decrypt(user.phone_enc),
        purpose=OtpChallenge.Purpose.SIGN_IN,
        payload={"user_id": user.pk},
        ip=ip,
    )


def citizen_signin_confirm(*, token: str, code: str, request=None) -> User:
    """Check the sign-in code; returns the user to log in."""
    challenge = otp.check(token=token, code=code, purpose=OtpChallenge.Purpose.SIGN_IN)
    user = User.objects.filter(
        pk=challenge.payload.get("user_id"), is_active=True, erased_at__isnull=True
    ).first()
    if user is None:
        raise NotFound(_("This account no longer exists."), code="no_account")
    audit.record(
        actor=user,
        action=AuditEvent.Action.SIGN_IN,
        obj=user,
        city=user.home_city,
        request=request,
        summary="citizen signed in by one-time code",
    )
    return user


def staff_signin(*, request, username: str, password: str) -> tuple[User, bool]:
    """Check a staff member's password. Returns (user, needs_totp): when the user has a confirmed TOTP
    device, the caller must ask for a token (staff_verify_totp) before logging in."""
    from django_otp import devices_for_user

    user = authenticate(request, username=(username or "").strip(), password=password or "")
    if user is None or user.is_citizen:
        audit.record(
            actor=None,
            action=AuditEvent.Action.SIGN_IN_FAILED,
            object_type="identity.user",
            request=request,
            summary="staff sign-in failed",
            details={"username": (username or "")[:150]},
        )
        raise InvalidInput(_("Wrong username or password."), code="bad_credentials", field="password")
    needs_totp = any(True for _d in devices_for_user(user, confirmed=True))
    if not needs_totp:
        audit.record(
            actor=user,
            action=AuditEvent.Action.SIGN_IN,
            obj=user,
            request=request,
            summary="staff signed in (password)",
        )
    return user, needs_totp


def staff_verify_totp(*, request, user: User, token: str):
    """Check a TOTP token against the user's confirmed devices; returns the device that matched."""
    from django_otp import match_token

    token = (token or "").strip().replace(" ", "")
    device = match_token(user, token) if token.isdigit() else None
    if device is None:
        audit.record(
            actor=None,
            action=AuditEvent.Action.SIGN_IN_FAILED,
            obj=user,
            request=request,
            summary="staff TOTP failed",
        )
        raise InvalidInput(
            _("The authenticator code is wrong or has expired."), code="totp_wrong", field="token"
        )
    audit.record(
        actor=user,
        action=AuditEvent.Action.SIGN_IN,
        obj=user,
        request=request,
        summary="staff signed in (password and TOTP)",
    )
    return device


def totp_enrol_start(*, user: User):
    """The user's unconfirmed TOTP device, created if needed (shown as a QR code to scan)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    return device


def totp_enrol_confirm(*, user: User, token: str, request=None):
    """Confirm the pending device with a first token from the app; from now on sign-in needs TOTP."""
    device = totp_enrol_start(user=user)
    token = (token or "").strip().replace(" ", "")
    if not (token.isdigit() and device.verify_token(token)):
        raise InvalidInput(
            _("The authenticator code is wrong or has expired."), code="totp_wrong", field="token"
        )
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        audit.record(
            actor=user,
            action=AuditEvent.Action.CREATE,
            obj=device,
            object_type="otp_totp.totpdevice",
            request=request,
            summary="TOTP second factor enrolled",
        )
    return device


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def citizen_export(*, user: User, request=None) -> dict[str, Any]:
    """Everything the platform holds about the person, for download (right of access, Decree 13 art. 14)."""
    data: dict[str, Any] = {
        "generated_at": timezone.now().isoformat(),
        "account": {
            "username": user.username,
            "kind": user.kind,
            "display_name": user.display_name,
            "id_number": crypto.decrypt(user.id_number_enc),
            "phone": crypto.decrypt(user.phone_enc),
            "birth_year": user.birth_year,
            "sex": user.sex,
            "verification_level": user.verification_level,
            "verified_by": user.verified_by,
            "home_city": user.home_city.slug if user.home_city else None,
            "language": user.language,
            "date_joined": _iso(user.date_joined),
            "last_login": _iso(user.last_login),
        },
        "consents": [
            {
                "notice_version": c.notice_version,
                "purposes": c.purposes,
                "given_at": _iso(c.given_at),
                "withdrawn_at": _iso(c.withdrawn_at),
            }
            for c in Consent.objects.filter(user=user).order_by("given_at")
        ],
        "notifications": [
            {
                "city": n.city.slug,
                "topic": n.topic,
                "title": n.title,
                "body": n.body,
                "url": n.url,
                "created_at": _iso(n.created_at),
                "read_at": _iso(n.read_at),
            }
            for n in Notification.objects.filter(recipient=user).select_related("city").order_by("created_at")
        ],
        "feedback": [
            {
                "city": f.city.slug,
                "subject_type": f.subject_type,
                "subject_id": f.subject_id,
                "rating": f.rating,
                "comment": f.comment,
                "created_at": _iso(f.created_at),
            }
            for f in Feedback.objects.filter(author=user).select_related("city").order_by("created_at")
        ],
        "activity": [
            {"at": _iso(e.at), "action": e.action, "summary": e.summary}
            for e in AuditEvent.objects.filter(object_type="identity.user", object_id=str(user.pk)).order_by(
                "at"
            )
        ],
    }
    audit.record(
        actor=user,
        action=AuditEvent.Action.EXPORT,
        obj=user,
        city=user.home_city,
        request=request,
        summary="citizen downloaded their data",
    )
    return data


def citizen_erase(*, user: User, actor=None, request=None) -> User:
    """Erase a person's personal data and close the account (right to erasure).

    The user row stays as an anonymous husk so their public contributions (reports, ideas, ratings)
    keep their place and statistics stay right, but nothing left on it identifies the person.
    """
    if not user.is_citizen:
        raise InvalidInput(_("Only citizen accounts can be deleted here."), code="not_citizen")
    if user.erased_at:
        raise Conflict(_("This account has already been deleted."), code="already_erased")
    actor = actor or user
    now = timezone.now()
    with transaction.atomic():
        if user.phone_hash:
            OtpChallenge.objects.filter(phone_hash=user.phone_hash).delete()
        Notification.objects.filter(recipient=user).delete()
        NotificationPreference.objects.filter(user=user).delete()
        Consent.objects.filter(user=user, withdrawn_at__isnull=True).update(withdrawn_at=now)
        user.memberships.all().delete()
        from django_otp.plugins.otp_totp.models import TOTPDevice

        TOTPDevice.objects.filter(user=user).delete()
        audit.record(
            actor=actor,
            action=AuditEvent.Action.DELETE,
            obj=user,
            city=user.home_city,
            request=request,
            summary="personal data erased, account closed",
        )
        user.username = f"erased-{secrets.token_hex(8)}"
        user.display_name = ""
        user.email = ""
        user.id_number_enc = ""
        user.id_number_hash = None
        user.phone_enc = ""
        user.phone_hash = ""
        user.birth_year = None
        user.sex = ""
        user.nationality = ""
        user.verification_level = User.Level.NONE
        user.verified_by = ""
        user.is_active = False
        user.erased_at = now
        user.set_unusable_password()
        user.save()
    return user
