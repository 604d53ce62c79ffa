"""The shared kernel: the city (tenant), administrative units, organisations, audit, notifications,
feedback and schedules. `core` imports no other dothi module."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


def localised(vi: str, en: str) -> str:
    """The English text when English is active and there is one, else the Vietnamese."""
    return en if en and (get_language() or "vi").startswith("en") else vi


class City(models.Model):
    """A tenant: one province-level city served by the deployment."""

    slug = models.SlugField(_("slug"), max_length=40, unique=True)
    name_vi = models.CharField(_("name (Vietnamese)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120)
    province_code = models.CharField(_("province code"), max_length=2)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Ho_Chi_Minh")
    default_language = models.CharField(
        _("default language"), max_length=5, choices=settings.LANGUAGES, default="vi"
    )
    hosts = models.JSONField(_("host names"), default=list, blank=True)
    # Bounding box of the city's communes (WGS84), filled when boundaries are built or imported.
    min_lon = models.FloatField(null=True, blank=True)
    min_lat = models.FloatField(null=True, blank=True)
    max_lon = models.FloatField(null=True, blank=True)
    max_lat = models.FloatField(null=True, blank=True)
    enabled_modules = models.JSONField(_("enabled modules"), default=list, blank=True)
    # Per-module policy as data: {"identity": {...}, "reports": {...}}; see dothi.core.cities.policy().
    settings = models.JSONField(_("settings"), default=dict, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("city")
        verbose_name_plural = _("cities")
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return localised(self.name_vi, self.name_en)

    @property
    def bbox(self) -> tuple[float, float, float, float] | None:
        if self.min_lon is None:
            return None
        return (self.min_lon, self.min_lat, self.max_lon, self.max_lat)

    def module_enabled(self, name: str) -> bool:
        return not self.enabled_modules or name in self.enabled_modules


class CityOwnedQuerySet(models.QuerySet):
    def for_city(self, city: City) -> CityOwnedQuerySet:
        return self.filter(city=city)


class CityOwned(models.Model):
    """Base for every row that belongs to a city; selectors always filter with `.for_city()`."""

    city = models.ForeignKey(City, on_delete=models.CASCADE, verbose_name=_("city"))

    objects = CityOwnedQuerySet.as_manager()

    class Meta:
        abstract = True


# --- Administrative units (national reference data) -------------------------------------------


class Province(models.Model):
    code = models.CharField(_("code"), max_length=2, primary_key=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=40)
    codename = models.CharField(max_length=80)

    class Meta:
        verbose_name = _("province")
        verbose_name_plural = _("provinces")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Commune(models.Model):
    """A cấp-xã unit (phường, xã, đặc khu) after the 2025 reform."""

    code = models.CharField(_("code"), max_length=5, primary_key=True)
    province = models.ForeignKey(Province, on_delete=models.CASCADE, related_name="communes")
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20)
    codename = models.CharField(max_length=80)
    centre_lat = models.FloatField(null=True, blank=True)
    centre_lon = models.FloatField(null=True, blank=True)
    area_km2 = models.FloatField(null=True, blank=True)

    class Meta:
        verbose_name = _("commune")
        verbose_name_plural = _("communes")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class CommuneArea(CityOwned):
    """A commune's boundary as the city uses it: approximate cells until official ones are imported."""

    commune = models.ForeignKey(Commune, on_delete=models.CASCADE, related_name="areas")
    geometry = models.JSONField(_("geometry (GeoJSON)"))
    min_lon = models.FloatField(db_index=True)
    min_lat = models.FloatField(db_index=True)
    max_lon = models.FloatField(db_index=True)
    max_lat = models.FloatField(db_index=True)
    approximate = models.BooleanField(_("approximate"), default=True)
    source = models.CharField(_("source"), max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("commune boundary")
        verbose_name_plural = _("commune boundaries")
        constraints = [models.UniqueConstraint(fields=["city", "commune"], name="commune_area_once_per_city")]

    def __str__(self) -> str:
        return f"{self.commune} ({self.city.slug})"


# --- Organisations and agreements --------------------------------------------------------------


class Organisation(CityOwned):
    class Kind(models.TextChoices):
        AGENCY = "agency", _("Government agency")
        ENTERPRISE = "enterprise", _("Enterprise")
        VENDOR = "vendor", _("Technology vendor")
        NGO = "ngo", _("Non-governmental organisation")
        UNIVERSITY = "university", _("University or research institute")
        RESIDENT_GROUP = "resident_group", _("Resident group")

    class AgencyType(models.TextChoices):
        DEPARTMENT = "department", _("Department (sở, ban, ngành)")
        COMMUNE = "commune", _("Commune people's committee")
        POLICE = "police", _("Police")
        UTILITY = "utility", _("Public utility")
        CONTRACTOR = "contractor", _("Contractor")
        CONTROL_CENTRE = "control_centre", _("Operations centre")
        OTHER = "other", _("Other")

    code = models.SlugField(_("code"), max_length=60)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.AGENCY)
    agency_type = models.CharField(_("agency type"), max_length=20, choices=AgencyType.choices, blank=True)
    name_vi = models.CharField(_("name (Vietnamese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    commune = models.ForeignKey(Commune, null=True, blank=True, on_delete=models.SET_NULL)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("public phone"), max_length=30, blank=True)
    website = models.URLField(_("website"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["city", "name_vi"]
        constraints = [models.UniqueConstraint(fields=["city", "code"], name="organisation_code_per_city")]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return localised(self.name_vi, self.name_en)

    @property
    def is_agency(self) -> bool:
        return self.kind == self.Kind.AGENCY


class Agreement(CityOwned):
    """An agreement between the city and an organisation (data sharing, PPP, MoU, service contract)."""

    class Kind(models.TextChoices):
        DATA_SHARING = "data_sharing", _("Data-sharing agreement")
        PPP = "ppp", _("Public-private partnership")
        MOU = "mou", _("Memorandum of understanding")
        SERVICE = "service", _("Service contract")
        RESEARCH = "research", _("Research cooperation")

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="agreements")
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    scope = models.TextField(_("scope"), blank=True)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    value_vnd = models.BigIntegerField(_("value (VND)"), null=True, blank=True)
    shared_with = models.ManyToManyField(
        Organisation, blank=True, related_name="agreements_shared_with", verbose_name=_("shared with")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("agreement")
        verbose_name_plural = _("agreements")
        ordering = ["-starts_on"]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if self.ends_on and self.starts_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": _("The end date must not be before the start date.")})
        if self.organisation_id and self.city_id and self.organisation.city_id != self.city_id:
            raise ValidationError({"organisation": _("The organisation belongs to another city.")})

    def in_force(self, on=None) -> bool:
        on = on or timezone.localdate()
        return self.starts_on <= on and (self.ends_on is None or on <= self.ends_on)


# --- Audit -------------------------------------------------------------------------------------


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):  # noqa: ARG002 - append-only
        raise PermissionError("Audit records are append-only.")

    def delete(self):
        raise PermissionError("Audit records are append-only.")


class AuditEvent(models.Model):
    """Append-only record of a change, or of a read of a person's data by staff."""

    class Action(models.TextChoices):
        CREATE = "create", _("create")
        UPDATE = "update", _("update")
        DELETE = "delete", _("delete")
        READ_PERSONAL = "read_personal", _("read personal data")
        EXPORT = "export", _("export")
        SIGN_IN = "sign_in", _("sign in")
        SIGN_IN_FAILED = "sign_in_failed", _("failed sign-in")
        SIGN_OUT = "sign_out", _("sign out")
        PERMISSION_DENIED = "denied", _("permission denied")

    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    city = models.ForeignKey(City, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("city"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("actor")
    )
    actor_label = models.CharField(_("actor label"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=20, choices=Action.choices, db_index=True)
    object_type = models.CharField(_("object type"), max_length=100, db_index=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True, db_index=True)
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit record")
        verbose_name_plural = _("audit trail")
        ordering = ["-at"]
        indexes = [models.Index(fields=["city", "-at"])]

    def __str__(self) -> str:
        when = f"{self.at:%Y-%m-%d %H:%M}"
        return f"{when} {self.actor_label} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("Audit records are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit records are append-only.")


# --- Notifications -----------------------------------------------------------------------------


class Notification(CityOwned):
    """An in-app inbox entry; every notification lands here whatever other channels deliver it."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    topic = models.CharField(_("topic"), max_length=60)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"), blank=True)
    url = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self) -> str:
        return self.title


class NotificationPreference(models.Model):
    """Which channels a person wants for a topic ("*" = every topic)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_prefs"
    )
    topic = models.CharField(_("topic"), max_length=60, default="*")
    channels = models.JSONField(_("channels"), default=list)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [models.UniqueConstraint(fields=["user", "topic"], name="one_pref_per_topic")]

    def __str__(self) -> str:
        return f"{self.topic}: {', '.join(self.channels)}"


class Delivery(models.Model):
    """The delivery log: one row per notification per channel."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")
        SKIPPED = "skipped", _("skipped")

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(_("channel"), max_length=20)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("delivery log")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.channel} · {self.status}"


# --- Feedback ----------------------------------------------------------------------------------


class Feedback(CityOwned):
    """A 1–5 rating and comment on any service interaction (a resolved report, a served appointment)."""

    subject_type = models.CharField(_("subject type"), max_length=60, db_index=True)
    subject_id = models.CharField(_("subject id"), max_length=64)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="feedback"
    )
    rating = models.PositiveSmallIntegerField(_("rating"))
    comment = models.TextField(_("comment"), blank=True, max_length=2000)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__gte=1, rating__lte=5), name="feedback_rating_1_to_5"
            ),
            models.UniqueConstraint(
                fields=["author", "subject_type", "subject_id"], name="one_feedback_per_subject"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject_type}:{self.subject_id} · {self.rating}"


# --- Schedules ---------------------------------------------------------------------------------


class ScheduleRun(models.Model):
    """When each scheduled job last fired; the scheduler enqueues a job when its interval has passed."""

    name = models.CharField(max_length=100, unique=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    runs = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.name


# --- Daily fact rollups (core.facts) -------------------------------------------------------------


class DailyFact(models.Model):
    """Per city, fact key, local day and commune: how many facts and the sum of their values (the KPIs'
    counts, shares and means). Written only by `dothi.core.facts` (upserts that increment); `commune_id`
    is the commune's code as an integer, 0 for none."""

    pk = models.CompositePrimaryKey("city_id", "key", "day", "commune_id")
    city = models.ForeignKey(City, on_delete=models.CASCADE, related_name="+", db_index=False)
    key = models.CharField(max_length=60)  # "reports.resolution_hours"
    day = models.DateField()
    commune_id = models.IntegerField(default=0)
    count = models.BigIntegerField(default=0)
    total = models.FloatField(default=0.0)

    class Meta:
        verbose_name = _("daily fact")
        verbose_name_plural = _("daily facts")

    def __str__(self) -> str:
        return f"{self.key} {self.day} {self.commune_id}: n={self.count} Σ={self.total:g}"


class DailyFactBin(models.Model):
    """The log histogram of a fact's values (1 % relative accuracy), for quantiles: `bin` is
    ceil(log(v) / log(γ)) with γ = 1.01 / 0.99, or `dothi.core.facts.ZERO_BIN` for v <= 0."""

    pk = models.CompositePrimaryKey("city_id", "key", "day", "commune_id", "bin")
    city = models.ForeignKey(City, on_delete=models.CASCADE, related_name="+", db_index=False)
    key = models.CharField(max_length=60)
    day = models.DateField()
    commune_id = models.IntegerField(default=0)
    bin = models.SmallIntegerField()
    count = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("daily fact histogram bin")
        verbose_name_plural = _("daily fact histogram bins")

    def __str__(self) -> str:
        return f"{self.key} {self.day} {self.commune_id} bin {self.bin}: {self.count}"
