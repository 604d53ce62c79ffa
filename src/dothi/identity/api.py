"""Identity API: sign-up and sign-in by citizen ID and one-time code, the signed-in person.

CSRF and sessions: the API signs people into the same Django session as the web pages, so it uses
ninja's session auth (`django_auth`, which enforces Django's CSRF check) on every endpoint that needs
a signed-in person. The two *confirm* endpoints create a session, so they check CSRF explicitly too
(no login CSRF); the two *start* endpoints change no session and are protected by the OTP rate
limits instead. A client first calls GET `csrf` to receive the token (cookie and body) and sends it
back in the `X-CSRFToken` header.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import login, logout
from django.middleware.csrf import get_token
from django.utils.translation import get_language
from ninja import Router, Schema, Status
from ninja.security import django_auth
from ninja.utils import check_csrf

from dothi.core import audit
from dothi.core.models import AuditEvent
from dothi.identity import cccd, crypto, services
from dothi.identity.backends import BACKEND
from dothi.identity.models import User

router = Router(tags=["identity"])


class Error(Schema):
    code: str
    message: str
    field: str | None = None


class SignupStartIn(Schema):
    id_kind: str = "cccd"
    id_number: str
    birth_year: int | None = None
    phone: str
    display_name: str
    consent: bool = False


class ChallengeOut(Schema):
    challenge: str
    sent_to: str
    expires_at: str


class ConfirmIn(Schema):
    challenge: str
    code: str


class SigninStartIn(Schema):
    id_number: str = ""
    phone: str = ""


class MeOut(Schema):
    username: str
    kind: str
    display_name: str
    verification_level: int
    home_city: str | None
    language: str


class CsrfOut(Schema):
    csrf_token: str


ERRORS: dict[int | str, Any] = {
    400: Error,
    403: Error,
    404: Error,
    409: Error,
    422: Error,
    429: Error,
    503: Error,
}


def _ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _challenge_out(challenge, phone: str) -> ChallengeOut:
    return ChallengeOut(
        challenge=challenge.token, sent_to=cccd.mask_phone(phone), expires_at=challenge.expires_at.isoformat()
    )


def _me(user: User) -> MeOut:
    return MeOut(
        username=user.username,
        kind=user.kind,
        display_name=user.display_name,
        verification_level=user.verification_level,
        home_city=user.home_city.slug if user.home_city else None,
        language=user.language,
    )


def _require_csrf(request) -> None:
    from django.core.exceptions import PermissionDenied

    if check_csrf(request) is not None:
        raise PermissionDenied("CSRF check failed.")


@router.get("/csrf", response=CsrfOut, auth=None, summary="Get a CSRF token for the session endpoints")
def csrf(request):
    return CsrfOut(csrf_token=get_token(request))


@router.post(
    "/signup/start",
    response={200: ChallengeOut, **ERRORS},
    auth=None,
    summary="Start a sign-up: validate, then send a one-time code to the phone",
)
def signup_start(request, body: SignupStartIn):
    challenge = services.citizen_signup_start(
        id_kind=body.id_kind,
        id_number=body.id_number,
        phone=body.phone,
        birth_year=body.birth_year,
        display_name=body.display_name,
        consent=body.consent,
        city=request.city,
        ip=_ip(request),
        language=(get_language() or "vi")[:2],
    )
    return _challenge_out(challenge, cccd.normalise_phone(body.phone))


@router.post(
    "/signup/confirm",
    response={200: MeOut, **ERRORS},
    auth=None,
    summary="Confirm a sign-up with the code; signs the new account in",
)
def signup_confirm(request, body: ConfirmIn):
    _require_csrf(request)
    user = services.citizen_signup_confirm(token=body.challenge, code=body.code, request=request)
    login(request, user, backend=BACKEND)
    return _me(user)


@router.post(
    "/signin/start",
    response={200: ChallengeOut, **ERRORS},
    auth=None,
    summary="Start a sign-in by citizen ID, passport number or phone",
)
def signin_start(request, body: SigninStartIn):
    challenge = services.citizen_signin_start(identifier=body.id_number or body.phone, ip=_ip(request))
    phone = crypto.decrypt(User.objects.get(pk=challenge.payload["user_id"]).phone_enc)
    return _challenge_out(challenge, phone)


@router.post(
    "/signin/confirm",
    response={200: MeOut, **ERRORS},
    auth=None,
    summary="Confirm a sign-in with the code; starts a session",
)
def signin_confirm(request, body: ConfirmIn):
    _require_csrf(request)
    user = services.citizen_signin_confirm(token=body.challenge, code=body.code, request=request)
    login(request, user, backend=BACKEND)
    return _me(user)


@router.get("/me", response={200: MeOut, **ERRORS}, auth=django_auth, summary="The signed-in person")
def me(request):
    return _me(request.auth)


@router.get(
    "/me/export",
    response={200: dict, **ERRORS},
    auth=django_auth,
    summary="Everything the platform holds about me (JSON)",
)
def me_export(request):
    if not request.auth.is_citizen:
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied()
    return services.citizen_export(user=request.auth, request=request)


@router.delete(
    "/me",
    response={204: None, **ERRORS},
    auth=django_auth,
    summary="Delete my account: personal data erased, contributions kept anonymised",
)
def me_delete(request):
    services.citizen_erase(user=request.auth, request=request)
    logout(request)
    return Status(204, None)


@router.post("/signout", response={204: None, **ERRORS}, auth=django_auth, summary="End the session")
def signout(request):
    audit.record(
        actor=request.auth,
        action=AuditEvent.Action.SIGN_OUT,
        obj=request.auth,
        request=request,
        summary="signed out",
    )
    logout(request)
    return Status(204, None)
