"""People: citizens (found by the keyed hash of their citizen ID or phone), staff and their roles."""

from __future__ import annotations

import secrets

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dothi.core.models import City, CityOwned, Organisation


class Role(models.TextChoices):
    CITIZEN = "citizen", _("Citizen")
    AGENCY_STAFF = "agency_staff", _("Agency staff")
    AGENCY_MANAGER = "agency_manager", _("Agency manager")
    OPERATOR = "operator", _("Control-centre operator")
    COUNCIL_MEMBER = "council_member", _("Council member")
    CITY_ADMIN = "city_admin", _("City administrator")
    PLATFORM_ADMIN = "platform_admin", _("Platform administrator")


STAFF_ROLES = [r for r in Role if r not in (Role.CITIZEN, Role.PLATFORM_ADMIN)]


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, username: str, password: str | None = None, **extra):
        user = self.model(username=username, **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, username: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True, kind=User.Kind.STAFF)
        return self.create_user(username, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """One account table. Citizens sign in by OTP (no password); staff by password and optional TOTP.

    The citizen ID (or passport number) and the phone are stored only encrypted (`*_enc`), and found
    by their keyed hash (`*_hash`); see dothi.identity.crypto.
    """

    class Kind(models.TextChoices):
        CITIZEN = "citizen", _("Citizen")
        VISITOR = "visitor", _("Visitor (passport)")
        STAFF = "staff", _("Staff")

    class Level(models.IntegerChoices):
        NONE = 0, _("Not verified")
        PHONE = 1, _("Phone confirmed (passport holder)")
        CITIZEN_ID = 2, _("Citizen ID and phone confirmed")
        STRONG = 3, _("Verified by a national identity provider")

    username = models.CharField(_("username"), max_length=150, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.CITIZEN)
    display_name = models.CharField(_("display name"), max_length=150, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    id_number_enc = models.TextField(_("identity number (encrypted)"), blank=True)
    id_number_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    phone_enc = models.TextField(_("phone (encrypted)"), blank=True)
    phone_hash = models.CharField(max_length=64, db_index=True, blank=True)
    birth_year = models.PositiveSmallIntegerField(_("birth year"), null=True, blank=True)
    sex = models.CharField(_("sex"), max_length=1, blank=True)
    nationality = models.CharField(_("nationality"), max_length=2, blank=True)
    verification_level = models.PositiveSmallIntegerField(
        _("verification level"), choices=Level.choices, default=Level.NONE
    )
    verified_by = models.CharField(_("verified by"), max_length=40, blank=True)
    home_city = models.ForeignKey(City, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    language = models.CharField(_("language"), max_length=5, default="vi")
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("can use the admin"), default=False)
    date_joined = models.DateTimeField(_("joined"), default=timezone.now)
    erased_at = models.DateTimeField(_("erased at"), null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def is_citizen(self) -> bool:
        return self.kind in (self.Kind.CITIZEN, self.Kind.VISITOR)


class Membership(CityOwned):
    """A staff role in a city, usually inside an agency."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=[(r.value, r.label) for r in STAFF_ROLES])
    organisation = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
        verbose_name=_("agency"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("staff role")
        verbose_name_plural = _("staff roles")
        constraints = [
            models.UniqueConstraint(fields=["user", "city", "role", "organisation"], name="membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.city.slug}"


class Consent(models.Model):
    """Consent to the privacy notice (Decree 13/2023/NĐ-CP), one row per version accepted."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="consents")
    notice_version = models.CharField(_("privacy notice version"), max_length=20)
    purposes = models.JSONField(_("purposes"), default=list)
    given_at = models.DateTimeField(_("given at"), default=timezone.now)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")

    def __str__(self) -> str:
        return f"{self.user} · {self.notice_version}"


def _challenge_token() -> str:
    return secrets.token_urlsafe(24)


class OtpChallenge(models.Model):
    """A one-time code sent to a phone. Only a keyed hash of the code is kept.

    Clients name a challenge by its random `token`, never by its sequential id, so one person's
    challenge cannot be guessed by another. `locked_at` is set when too many wrong codes killed it;
    the phone is then locked out for OTP_LOCKOUT_SECONDS (see dothi.identity.otp).
    """

    class Purpose(models.TextChoices):
        SIGN_UP = "sign_up", _("sign-up")
        SIGN_IN = "sign_in", _("sign-in")

    token = models.CharField(max_length=64, unique=True, default=_challenge_token, editable=False)
    phone_hash = models.CharField(max_length=64, db_index=True)
    purpose = models.CharField(max_length=10, choices=Purpose.choices)
    code_hash = models.CharField(max_length=128)
    payload = models.JSONField(default=dict, blank=True)  # encrypted sign-up data awaiting confirmation
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("one-time code")
        verbose_name_plural = _("one-time codes")
        indexes = [models.Index(fields=["phone_hash", "purpose", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} {self.created_at:%Y-%m-%d %H:%M}"
