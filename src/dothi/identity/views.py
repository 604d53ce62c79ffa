"""Identity pages: sign-up, sign-in by one-time code, staff sign-in with optional TOTP, the account
page (see, download, delete my data) and the privacy notice. Thin: forms in, services, templates out."""

from __future__ import annotations

import base64
import io
import json

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_ratelimit.decorators import ratelimit

from dothi.core import audit
from dothi.core.errors import DomainError
from dothi.core.models import AuditEvent
from dothi.identity import cccd, crypto, forms, privacy, selectors, services
from dothi.identity.backends import BACKEND
from dothi.identity.models import User

SIGNUP_TOKEN = "identity.signup_token"
SIGNIN_TOKEN = "identity.signin_token"
SENT_TO = "identity.sent_to"
STAFF_PENDING = "identity.staff_pending"


def _ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _status(exc: DomainError) -> int:
    # Pages answer bad input with the error's 4xx status too, so clients and tests can tell.
    return exc.status if 400 <= exc.status < 600 else 400


def signup(request):
    form = forms.SignupForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                challenge = services.citizen_signup_start(
                    id_kind=data["id_kind"],
                    id_number=data["id_number"],
                    phone=data["phone"],
                    birth_year=data["birth_year"],
                    display_name=data["display_name"],
                    consent=data["consent"],
                    city=request.city,
                    ip=_ip(request),
                    language=(get_language() or "vi")[:2],
                )
            except DomainError as exc:
                forms.apply_error(form, exc)
                status = _status(exc)
            else:
                request.session[SIGNUP_TOKEN] = challenge.token
                request.session[SENT_TO] = cccd.mask_phone(cccd.normalise_phone(data["phone"]))
                return redirect("identity:signup_confirm")
        else:
            status = 422
    return render(
        request, "identity/signup.html", {"form": form, "purposes": privacy.PURPOSES.values()}, status=status
    )


def _confirm(request, *, token_key: str, confirm, template: str, restart: str):
    token = request.session.get(token_key)
    if not token:
        return redirect(restart)
    form = forms.CodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                user = confirm(token=token, code=form.cleaned_data["code"], request=request)
            except DomainError as exc:
                forms.apply_error(form, exc)
                status = _status(exc)
            else:
                request.session.pop(token_key, None)
                request.session.pop(SENT_TO, None)
                login(request, user, backend=BACKEND)
                return redirect("identity:account")
        else:
            status = 422
    return render(
        request,
        template,
        {"form": form, "sent_to": request.session.get(SENT_TO, ""), "restart": restart},
        status=status,
    )


def signup_confirm(request):
    return _confirm(
        request,
        token_key=SIGNUP_TOKEN,
        confirm=services.citizen_signup_confirm,
        template="identity/confirm.html",
        restart="identity:signup",
    )


def signin(request):
    form = forms.SigninForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                challenge = services.citizen_signin_start(
                    identifier=form.cleaned_data["id_number"], ip=_ip(request)
                )
            except DomainError as exc:
                forms.apply_error(form, exc)
                status = _status(exc)
            else:
                user = User.objects.get(pk=challenge.payload["user_id"])
                request.session[SIGNIN_TOKEN] = challenge.token
                request.session[SENT_TO] = cccd.mask_phone(crypto.decrypt(user.phone_enc))
                return redirect("identity:signin_confirm")
        else:
            status = 422
    return render(request, "identity/signin.html", {"form": form}, status=status)


def signin_confirm(request):
    return _confirm(
        request,
        token_key=SIGNIN_TOKEN,
        confirm=services.citizen_signin_confirm,
        template="identity/confirm.html",
        restart="identity:signin",
    )


@ratelimit(key="ip", rate="20/m", method="POST", block=True)
def staff_signin(request):
    form = forms.StaffSigninForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                user, needs_totp = services.staff_signin(
                    request=request,
                    username=form.cleaned_data["username"],
                    password=form.cleaned_data["password"],
                )
            except DomainError as exc:
                forms.apply_error(form, exc)
                status = _status(exc)
            else:
                if needs_totp:
                    # Half signed in: the password was right, the second factor is still owed.
                    request.session[STAFF_PENDING] = {"user": user.pk, "at": timezone.now().timestamp()}
                    return redirect("identity:staff_totp")
                login(request, user, backend=BACKEND)
                return redirect(request.GET.get("next") if _safe_next(request) else "web:home")
        else:
            status = 422
    return render(request, "identity/staff_signin.html", {"form": form}, status=status)


def _safe_next(request) -> bool:
    from django.utils.http import url_has_allowed_host_and_scheme

    nxt = request.GET.get("next", "")
    return bool(nxt) and url_has_allowed_host_and_scheme(
        nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )


@ratelimit(key="ip", rate="20/m", method="POST", block=True)
def staff_totp(request):
    pending = request.session.get(STAFF_PENDING)
    # The password step is good for five minutes.
    if not pending or timezone.now().timestamp() - pending["at"] > 300:
        request.session.pop(STAFF_PENDING, None)
        return redirect("identity:staff_signin")
    user = User.objects.filter(pk=pending["user"], is_active=True).first()
    if user is None:
        return redirect("identity:staff_signin")
    form = forms.TotpForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                device = services.staff_verify_totp(
                    request=request, user=user, token=form.cleaned_data["token"]
                )
            except DomainError as exc:
                forms.apply_error(form, exc)
                status = _status(exc)
            else:
                from django_otp import login as otp_login

                request.session.pop(STAFF_PENDING, None)
                login(request, user, backend=BACKEND)
                otp_login(request, device)
                return redirect("web:home")
        else:
            status = 422
    return render(request, "identity/staff_totp.html", {"form": form}, status=status)


def _qr_data_uri(text: str) -> str:
    """The QR code as an SVG data URI, drawn on the server (no script, allowed by the CSP's img-src)."""
    import qrcode
    from qrcode.image.svg import SvgPathImage

    buffer = io.BytesIO()
    qrcode.make(text, image_factory=SvgPathImage, box_size=8, border=2).save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


@login_required
def totp_enrol(request):
    user = request.user
    if user.kind != User.Kind.STAFF:
        return HttpResponseForbidden(_("Only staff accounts use an authenticator app."))
    device = services.totp_enrol_start(user=user)
    form = forms.TotpForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.totp_enrol_confirm(user=user, token=form.cleaned_data["token"], request=request)
            except DomainError as exc:
                forms.apply_error(form, exc)
                status = _status(exc)
            else:
                messages.success(request, _("Your authenticator app is set up. You will need it to sign in."))
                return redirect("identity:account")
        else:
            status = 422
    uri = device.config_url
    return render(
        request,
        "identity/totp_enrol.html",
        {"form": form, "otpauth_uri": uri, "qr": _qr_data_uri(uri)},
        status=status,
    )


@require_POST
def signout(request):
    if request.user.is_authenticated:
        audit.record(
            actor=request.user,
            action=AuditEvent.Action.SIGN_OUT,
            obj=request.user,
            request=request,
            summary="signed out",
        )
    logout(request)
    return redirect("web:home")


@login_required
def account(request):
    user = request.user
    context = {
        "account": selectors.own_account(user) if user.is_citizen else None,
        "is_staff_account": user.kind == User.Kind.STAFF,
    }
    return render(request, "identity/account.html", context)


@login_required
def account_export(request):
    if not request.user.is_citizen:
        return HttpResponseForbidden(_("Only citizen accounts can download their data here."))
    data = services.citizen_export(user=request.user, request=request)
    response = HttpResponse(json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json")
    response["Content-Disposition"] = 'attachment; filename="dothi-my-data.json"'
    return response


@login_required
def account_delete(request):
    if not request.user.is_citizen:
        return HttpResponseForbidden(_("Only citizen accounts can be deleted here."))
    form = forms.DeleteAccountForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            services.citizen_erase(user=request.user, request=request)
            logout(request)
            messages.success(request, _("Your account has been deleted and your personal data erased."))
            return redirect("web:home")
        status = 422
    return render(request, "identity/account_delete.html", {"form": form}, status=status)


def privacy_notice(request):
    return render(
        request,
        "identity/privacy.html",
        {"version": privacy.NOTICE_VERSION, "purposes": privacy.PURPOSES.values(), "city": request.city},
    )
