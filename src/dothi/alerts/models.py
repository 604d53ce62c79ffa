"""Warnings and news (cảnh báo, tin tức): categories as data, the warning and its published CAP 1.2
messages, attachments, the rules that raise warnings from sensor data and their per-sensor state,
citizens' subscriptions (areas and categories), the fan-out log, and "I am safe / I need help" replies.

A *warning* is what citizens receive. It has one row (`PublicWarning`, its current state) and one
immutable `CapMessage` per version published: the first is an Alert, later ones are Updates that
reference the earlier ones, the last may be a Cancel (an all-clear or a withdrawal). A message's XML is
rendered once, when it is published, and never changes: what was sent is what is served.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from dothi.core.models import City, CityOwned, Commune, Organisation, localised


class CapCategory(models.TextChoices):
    """The event categories of CAP 1.2 (`info/category`)."""

    GEO = "Geo", _("Geophysical")
    MET = "Met", _("Meteorological")
    SAFETY = "Safety", _("General safety")
    SECURITY = "Security", _("Security and public order")
    RESCUE = "Rescue", _("Rescue and recovery")
    FIRE = "Fire", _("Fire")
    HEALTH = "Health", _("Health")
    ENV = "Env", _("Environment and pollution")
    TRANSPORT = "Transport", _("Transport")
    INFRA = "Infra", _("Utilities and infrastructure")
    CBRNE = "CBRNE", _("Chemical, biological, radiological, nuclear, explosive")
    OTHER = "Other", _("Other")


class Urgency(models.TextChoices):
    IMMEDIATE = "Immediate", _("Immediate")
    EXPECTED = "Expected", _("Expected")
    FUTURE = "Future", _("Future")
    PAST = "Past", _("Past")
    UNKNOWN = "Unknown", pgettext_lazy("warning", "Unknown")


class Severity(models.TextChoices):
    EXTREME = "Extreme", pgettext_lazy("warning severity", "Extreme")
    SEVERE = "Severe", pgettext_lazy("warning severity", "Severe")
    MODERATE = "Moderate", pgettext_lazy("warning severity", "Moderate")
    MINOR = "Minor", pgettext_lazy("warning severity", "Minor")
    UNKNOWN = "Unknown", pgettext_lazy("warning severity", "Unknown")


# Higher is worse; used to compare levels and to filter subscriptions by their minimum severity.
SEVERITY_RANK = {"Unknown": 0, "Minor": 1, "Moderate": 2, "Severe": 3, "Extreme": 4}


class Certainty(models.TextChoices):
    OBSERVED = "Observed", _("Observed")
    LIKELY = "Likely", _("Likely")
    POSSIBLE = "Possible", _("Possible")
    UNLIKELY = "Unlikely", _("Unlikely")
    UNKNOWN = "Unknown", pgettext_lazy("warning", "Unknown")


class AlertCategory(CityOwned):
    """A kind of warning or news the city publishes (flood, storm, air quality, security bulletin,
    traffic closure, health notice…), as data. Citizens subscribe to categories by code."""

    code = models.SlugField(_("code"), max_length=40)
    name_vi = models.CharField(_("name (Vietnamese)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    cap_category = models.CharField(
        _("CAP category"), max_length=10, choices=CapCategory.choices, default=CapCategory.OTHER
    )
    # News (a security bulletin, a traffic closure) is published like a warning but is not an alarm.
    is_news = models.BooleanField(_("news rather than a warning"), default=False)
    # Severe warnings of such categories ask "are you safe?" (floods, storms).
    asks_safety = models.BooleanField(_("asks 'are you safe?' when severe"), default=False)
    order = models.PositiveSmallIntegerField(_("order"), default=100)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("warning category")
        verbose_name_plural = _("warning categories")
        ordering = ["city", "order", "code"]
        constraints = [models.UniqueConstraint(fields=["city", "code"], name="alert_category_code_per_city")]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return localised(self.name_vi, self.name_en)


class PublicWarning(CityOwned):
    """A warning or a news item, in its current state. Manual ones start as drafts and are published
    when approved; automatic ones (raised by a rule) are published at once."""

    class Source(models.TextChoices):
        MANUAL = "manual", _("Manual")
        RULE = "rule", _("Automatic (sensor rule)")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        ENDED = "ended", _("Ended (all clear)")
        CANCELLED = "cancelled", _("Cancelled")
        REJECTED = "rejected", _("Rejected")

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    category = models.ForeignKey(
        AlertCategory, on_delete=models.PROTECT, related_name="warnings", verbose_name=_("category")
    )
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.MANUAL)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    rule = models.ForeignKey(
        "AlertRule", null=True, blank=True, on_delete=models.SET_NULL, related_name="warnings",
        verbose_name=_("rule"),
    )
    issuer = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("issuing agency"),
    )
    urgency = models.CharField(_("urgency"), max_length=10, choices=Urgency.choices, default=Urgency.EXPECTED)
    severity = models.CharField(
        _("severity"), max_length=10, choices=Severity.choices, default=Severity.MODERATE
    )
    certainty = models.CharField(
        _("certainty"), max_length=10, choices=Certainty.choices, default=Certainty.LIKELY
    )
    headline_vi = models.CharField(_("headline (Vietnamese)"), max_length=160)
    headline_en = models.CharField(_("headline (English)"), max_length=160, blank=True)
    description_vi = models.TextField(_("description (Vietnamese)"), max_length=5000, blank=True)
    description_en = models.TextField(_("description (English)"), max_length=5000, blank=True)
    instruction_vi = models.TextField(_("instructions (Vietnamese)"), max_length=3000, blank=True)
    instruction_en = models.TextField(_("instructions (English)"), max_length=3000, blank=True)
    # The area: communes (codes of the city's communes) and/or a polygon (GeoJSON Polygon or
    # MultiPolygon, WGS84) inside the city. `commune_codes` always lists every commune the area touches
    # (for a polygon, the communes it intersects): delivery and the map use it.
    area_desc_vi = models.CharField(_("area (Vietnamese)"), max_length=300, blank=True)
    area_desc_en = models.CharField(_("area (English)"), max_length=300, blank=True)
    commune_codes = models.JSONField(_("communes"), default=list, blank=True)
    polygon = models.JSONField(_("polygon (GeoJSON)"), null=True, blank=True)
    min_lon = models.FloatField(null=True, blank=True)
    min_lat = models.FloatField(null=True, blank=True)
    max_lon = models.FloatField(null=True, blank=True)
    max_lat = models.FloatField(null=True, blank=True)
    onset_at = models.DateTimeField(_("onset"), null=True, blank=True)
    effective_at = models.DateTimeField(_("effective from"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    asks_safety = models.BooleanField(_("asks 'are you safe?'"), default=False)
    # The newest published version (1 = the first Alert); 0 while a draft.
    version = models.PositiveIntegerField(default=0)
    # For a rule's warning: the observation that breached it (sensor code, quantity, time, value).
    trigger = models.JSONField(_("trigger"), default=dict, blank=True)
    triggered_at = models.DateTimeField(_("breach observed at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(_("first published"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)  # of a rejection or cancellation

    class Meta:
        verbose_name = _("warning")
        verbose_name_plural = _("warnings")
        ordering = ["-effective_at", "-pk"]
        indexes = [
            models.Index(fields=["city", "status", "expires_at"], name="warning_active"),
            models.Index(fields=["city", "updated_at"], name="warning_updated"),
        ]

    def __str__(self) -> str:
        return self.headline

    @property
    def headline(self) -> str:
        return localised(self.headline_vi, self.headline_en)

    @property
    def description(self) -> str:
        return localised(self.description_vi, self.description_en)

    @property
    def instruction(self) -> str:
        return localised(self.instruction_vi, self.instruction_en)

    @property
    def area_desc(self) -> str:
        return localised(self.area_desc_vi, self.area_desc_en)

    def is_active(self, now=None) -> bool:
        now = now or timezone.now()
        return (
            self.status == self.Status.PUBLISHED
            and self.effective_at <= now
            and (self.expires_at is None or self.expires_at > now)
        )


def attachment_path(instance: WarningAttachment, filename: str) -> str:
    return f"alerts/{instance.warning.city_id}/{instance.warning.uid}/{uuid.uuid4().hex}-{filename[-80:]}"


class WarningAttachment(models.Model):
    """A file published with a warning (a storm-track map, a bulletin as PDF): a CAP `resource`."""

    warning = models.ForeignKey(PublicWarning, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=300)
    description = models.CharField(_("description"), max_length=200)
    mime_type = models.CharField(max_length=80)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)  # CAP's `digest` is SHA-1; we keep SHA-256 and give SHA-1 too
    sha1 = models.CharField(max_length=40)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.description


class CapMessage(models.Model):
    """One published CAP 1.2 message of a warning (immutable): Alert, Update or Cancel."""

    class MsgType(models.TextChoices):
        ALERT = "Alert", _("Alert")
        UPDATE = "Update", _("Update")
        CANCEL = "Cancel", _("Cancel")

    city = models.ForeignKey(City, on_delete=models.CASCADE, related_name="+")
    warning = models.ForeignKey(PublicWarning, on_delete=models.CASCADE, related_name="messages")
    version = models.PositiveIntegerField()
    msg_type = models.CharField(max_length=6, choices=MsgType.choices)
    identifier = models.CharField(max_length=120, unique=True)
    sender = models.CharField(max_length=120)
    sent_at = models.DateTimeField()
    references = models.TextField(blank=True)  # CAP `references`: "sender,identifier,sent" entries
    xml = models.TextField()

    class Meta:
        verbose_name = _("CAP message")
        verbose_name_plural = _("CAP messages")
        ordering = ["warning", "version"]
        constraints = [models.UniqueConstraint(fields=["warning", "version"], name="cap_message_version")]
        indexes = [models.Index(fields=["city", "sent_at"], name="cap_message_sent")]

    def __str__(self) -> str:
        return self.identifier


class AlertRule(CityOwned):
    """An automatic warning from sensor data: a quantity over an area, a statistic compared with
    levels (each a threshold and a severity), sustained for a duration, with hysteresis.

    `levels` is a list ordered from the mildest: [{"threshold": 1.0, "severity": "Moderate"},
    {"threshold": 1.5, "severity": "Severe"}]. With operator ">=" a sensor enters a level when its
    statistic is >= the level's threshold for `duration_minutes`, and leaves it when the statistic
    falls below threshold − `hysteresis` (the reverse for "<="): a value hovering at the threshold does
    not flap. The warning's severity is the worst level any sensor of the area is at; when every
    sensor has left every level the warning ends (an all-clear Cancel message)."""

    class Statistic(models.TextChoices):
        VALUE = "value", _("Each reading")
        HOURLY_MEAN = "hourly_mean", _("Hourly mean")

    class Operator(models.TextChoices):
        GTE = ">=", _("at or above")
        LTE = "<=", _("at or below")

    name = models.CharField(_("name"), max_length=120)
    category = models.ForeignKey(AlertCategory, on_delete=models.PROTECT, verbose_name=_("category"))
    quantity_code = models.SlugField(_("quantity"), max_length=40)
    statistic = models.CharField(
        _("statistic"), max_length=12, choices=Statistic.choices, default=Statistic.VALUE
    )
    operator = models.CharField(_("operator"), max_length=2, choices=Operator.choices, default=Operator.GTE)
    levels = models.JSONField(_("levels"), default=list)
    hysteresis = models.FloatField(_("hysteresis"), default=0)
    duration_minutes = models.PositiveIntegerField(_("sustained for (minutes)"), default=0)
    # The area: communes and/or a polygon, as for a warning; empty = the whole city.
    commune_codes = models.JSONField(_("communes"), default=list, blank=True)
    polygon = models.JSONField(_("polygon (GeoJSON)"), null=True, blank=True)
    area_desc_vi = models.CharField(_("area (Vietnamese)"), max_length=300, blank=True)
    area_desc_en = models.CharField(_("area (English)"), max_length=300, blank=True)
    urgency = models.CharField(
        _("urgency"), max_length=10, choices=Urgency.choices, default=Urgency.IMMEDIATE
    )
    certainty = models.CharField(
        _("certainty"), max_length=10, choices=Certainty.choices, default=Certainty.OBSERVED
    )
    # Texts of the warning; {value}, {unit}, {sensor}, {threshold} and {level} are filled in.
    headline_vi = models.CharField(_("headline (Vietnamese)"), max_length=160)
    headline_en = models.CharField(_("headline (English)"), max_length=160, blank=True)
    instruction_vi = models.TextField(_("instructions (Vietnamese)"), max_length=3000, blank=True)
    instruction_en = models.TextField(_("instructions (English)"), max_length=3000, blank=True)
    issuer = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("issuing agency"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("warning rule")
        verbose_name_plural = _("warning rules")
        ordering = ["city", "name"]

    def __str__(self) -> str:
        return self.name


class RuleSensorState(models.Model):
    """Where one sensor stands against one rule: its level (0 = none), since when the condition of the
    next level has held (for the duration), and the newest observation time considered."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="states")
    sensor_id = models.BigIntegerField()
    level = models.PositiveSmallIntegerField(default=0)
    pending_level = models.PositiveSmallIntegerField(default=0)
    pending_since = models.DateTimeField(null=True, blank=True)
    last_time = models.DateTimeField(null=True, blank=True)
    last_value = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "sensor_id"], name="rule_sensor_state_once")]

    def __str__(self) -> str:
        return f"{self.rule_id} · {self.sensor_id} · {self.level}"


class Subscription(CityOwned):
    """A person's choice of where and what to be warned about in a city. Areas are kept one row per
    commune (`SubscriptionArea`) so that finding who lives or works in a warning's area is one indexed
    join, whatever the number of subscribers."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_subscriptions"
    )
    home_commune = models.ForeignKey(
        Commune, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("home")
    )
    work_commune = models.ForeignKey(
        Commune, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("work")
    )
    extra_communes = models.JSONField(_("other communes"), default=list, blank=True)
    # Category codes wrapped in commas (",flood,storm,") so one LIKE finds them on every database;
    # empty: every category.
    categories = models.CharField(_("categories"), max_length=1000, blank=True)
    min_severity = models.CharField(
        _("lowest severity"), max_length=10, choices=Severity.choices, default=Severity.UNKNOWN
    )
    min_rank = models.PositiveSmallIntegerField(default=0)  # SEVERITY_RANK[min_severity], for SQL
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("warning subscription")
        verbose_name_plural = _("warning subscriptions")
        constraints = [models.UniqueConstraint(fields=["city", "user"], name="alert_subscription_once")]

    def __str__(self) -> str:
        return f"{self.user_id} · {self.city_id}"

    def category_codes(self) -> list[str]:
        return [c for c in self.categories.split(",") if c]


class SubscriptionArea(models.Model):
    """One commune of a subscription (home, work or another), denormalised for the fan-out join."""

    city = models.ForeignKey(City, on_delete=models.CASCADE, related_name="+")
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="areas")
    commune_code = models.CharField(max_length=5)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscription", "commune_code"], name="subscription_area_once")
        ]
        indexes = [models.Index(fields=["city", "commune_code"], name="subscription_area_commune")]

    def __str__(self) -> str:
        return self.commune_code


class Fanout(models.Model):
    """The delivery log of one CAP message: who was targeted and what reached them."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    city = models.ForeignKey(City, on_delete=models.CASCADE, related_name="+")
    message = models.OneToOneField(CapMessage, on_delete=models.CASCADE, related_name="fanout")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    targeted = models.PositiveIntegerField(default=0)  # subscribers of the area and category
    inbox = models.PositiveIntegerField(default=0)  # in-app notifications written
    channel_deliveries = models.JSONField(default=dict, blank=True)  # channel -> deliveries queued
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("delivery run")
        verbose_name_plural = _("delivery runs")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.message_id} · {self.status}"


class SafetyReply(CityOwned):
    """A person's answer to a severe warning that asks "are you safe?". The newest answer counts."""

    class Status(models.TextChoices):
        SAFE = "safe", _("I am safe")
        NEED_HELP = "need_help", _("I need help")

    warning = models.ForeignKey(PublicWarning, on_delete=models.CASCADE, related_name="safety_replies")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    commune = models.ForeignKey(Commune, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("safety reply")
        verbose_name_plural = _("safety replies")
        ordering = ["-updated_at"]
        constraints = [models.UniqueConstraint(fields=["warning", "user"], name="safety_reply_once")]
