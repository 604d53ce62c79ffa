"""Citizen reports (phản ánh hiện trường): categories and routing as data, the report and its
timeline, photos, followers, agency dispatch, response templates and Open311 keys."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dothi.core.models import CityOwned, Commune, Organisation, localised


class Category(CityOwned):
    """An issue-based category (pothole, flooding, ...), defined per city. Its `code` is the Open311
    service_code."""

    code = models.SlugField(_("code"), max_length=60)
    name_vi = models.CharField(_("name (Vietnamese)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    description_vi = models.TextField(_("description (Vietnamese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    group = models.CharField(_("group"), max_length=60, blank=True)  # Open311 "group"
    keywords = models.CharField(_("keywords"), max_length=300, blank=True)
    icon = models.CharField(_("icon"), max_length=40, blank=True)
    # Confidential: never on the public map or list; the reporter is hidden even from the public page.
    confidential = models.BooleanField(_("confidential"), default=False)
    deadline_working_days = models.PositiveSmallIntegerField(_("deadline (working days)"), default=3)
    is_active = models.BooleanField(_("active"), default=True)
    order = models.PositiveSmallIntegerField(_("order"), default=100)

    class Meta:
        verbose_name = _("report category")
        verbose_name_plural = _("report categories")
        ordering = ["city_id", "order", "code"]
        constraints = [models.UniqueConstraint(fields=["city", "code"], name="category_code_per_city")]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return localised(self.name_vi, self.name_en)

    @property
    def description(self) -> str:
        return localised(self.description_vi, self.description_en)


class CategoryAttribute(models.Model):
    """An extra question a category asks (Open311 service definition attribute)."""

    class Datatype(models.TextChoices):
        STRING = "string", _("short text")
        NUMBER = "number", _("number")
        DATETIME = "datetime", _("date and time")
        TEXT = "text", _("long text")
        SINGLE = "singlevaluelist", _("one choice")
        MULTI = "multivaluelist", _("several choices")

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="attributes")
    code = models.SlugField(_("code"), max_length=60)
    label_vi = models.CharField(_("question (Vietnamese)"), max_length=200)
    label_en = models.CharField(_("question (English)"), max_length=200, blank=True)
    datatype = models.CharField(_("type"), max_length=20, choices=Datatype.choices, default=Datatype.STRING)
    required = models.BooleanField(_("required"), default=False)
    # [{"key": "deep", "name_vi": "Sâu", "name_en": "Deep"}] for the list types
    values = models.JSONField(_("choices"), default=list, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=100)

    class Meta:
        verbose_name = _("category question")
        verbose_name_plural = _("category questions")
        ordering = ["category", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["category", "code"], name="attribute_code_per_category")
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return localised(self.label_vi, self.label_en)


class RoutingRule(CityOwned):
    """Category × commune → responsible agency. A rule without a commune is the category's default."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="routing_rules")
    commune = models.ForeignKey(Commune, null=True, blank=True, on_delete=models.CASCADE)
    agency = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="routing_rules")

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        constraints = [
            models.UniqueConstraint(fields=["category", "commune"], name="one_rule_per_category_commune"),
            models.UniqueConstraint(
                fields=["category"],
                condition=models.Q(commune__isnull=True),
                name="one_default_rule_per_category",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category} · {self.commune or '*'} → {self.agency}"


class Dispatch(CityOwned):
    """How an agency receives its reports: the in-platform queue (default), e-mail, or its own system
    through Open311 (dothi acts as the client and pulls status updates back)."""

    class Method(models.TextChoices):
        QUEUE = "queue", _("In-platform queue")
        EMAIL = "email", _("E-mail")
        OPEN311 = "open311", _("The agency's own system (Open311)")

    agency = models.OneToOneField(Organisation, on_delete=models.CASCADE, related_name="dispatch")
    method = models.CharField(_("method"), max_length=10, choices=Method.choices, default=Method.QUEUE)
    email = models.EmailField(_("e-mail"), blank=True)
    endpoint = models.URLField(_("Open311 endpoint"), blank=True)
    jurisdiction = models.CharField(_("Open311 jurisdiction"), max_length=100, blank=True)
    api_key_enc = models.TextField(_("API key (encrypted)"), blank=True)
    # Our category code -> the agency's service code, or {"service_code": ..., "attributes": {our
    # question code: theirs}} to rename (and pick) the answers sent; a category not listed keeps its code.
    service_codes = models.JSONField(_("service codes"), default=dict, blank=True)
    last_pulled_at = models.DateTimeField(_("last pulled at"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("dispatch")
        verbose_name_plural = _("dispatch")

    def __str__(self) -> str:
        return f"{self.agency} · {self.get_method_display()}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from dothi.reports.dispatch import validate_service_codes

        errors: dict[str, Any] = {}
        if self.method == self.Method.EMAIL and not self.email:
            errors["email"] = _("Give the address that receives the reports.")
        if self.method == self.Method.OPEN311 and not self.endpoint:
            errors["endpoint"] = _("Give the base URL of the agency's Open311 service (…/open311/v2).")
        try:
            validate_service_codes(self.service_codes)
        except ValidationError as exc:
            errors["service_codes"] = exc
        if errors:
            raise ValidationError(errors)


class ExternalTicket(CityOwned):
    """A report sent outside the platform to its agency: one per report and agency (re-sending is
    idempotent). By e-mail it records the notice's delivery; through Open311 it is the agency's own
    service request (`external_id`), whose status updates are pulled back."""

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Being sent")
        WAITING = "waiting", _("Accepted, waiting for the agency's id")
        SENT = "sent", _("Sent")
        CLOSED = "closed", _("Closed by the agency")
        WITHDRAWN = "withdrawn", _("Withdrawn (the report moved on)")
        FAILED = "failed", _("Failed")

    report = models.ForeignKey("Report", on_delete=models.CASCADE, related_name="external_tickets")
    agency = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    dispatch = models.ForeignKey(
        Dispatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    method = models.CharField(_("method"), max_length=10, choices=Dispatch.Method.choices)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    external_id = models.CharField(_("agency's ticket id"), max_length=100, blank=True)
    token = models.CharField(_("token"), max_length=100, blank=True)
    external_status = models.CharField(_("agency's status"), max_length=40, blank=True)
    external_notes = models.TextField(_("agency's status notes"), blank=True)
    external_updated_at = models.DateTimeField(_("updated by the agency at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("external ticket")
        verbose_name_plural = _("external tickets")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["report", "agency"], name="one_ticket_per_report_agency")
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"]),
            models.Index(fields=["agency", "state"]),
        ]

    def __str__(self) -> str:
        return f"{self.report_id} → {self.agency_id} · {self.external_id or self.get_state_display()}"


class Status(models.TextChoices):
    RECEIVED = "received", _("Received")
    ASSIGNED = "assigned", _("Assigned")
    IN_PROGRESS = "in_progress", _("In progress")
    NEEDS_INFO = "needs_info", _("Needs information")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")
    REJECTED = "rejected", _("Rejected")
    DUPLICATE = "duplicate", _("Duplicate")
    REOPENED = "reopened", _("Reopened")


OPEN_STATUSES = (Status.RECEIVED, Status.ASSIGNED, Status.IN_PROGRESS, Status.NEEDS_INFO, Status.REOPENED)


class Channel(models.TextChoices):
    APP = "app", _("Citizen app")
    HOTLINE = "hotline", _("Hotline call")
    WALK_IN = "walk_in", _("Walk-in")
    OPEN311 = "open311", _("Third-party app (Open311)")


class Priority(models.IntegerChoices):
    LOW = 1, _("Low")
    NORMAL = 2, _("Normal")
    HIGH = 3, _("High")
    URGENT = 4, _("Urgent")


class Open311Key(CityOwned):
    """An API key a city administrator issues to a third-party app. Only a hash of the key is kept."""

    name = models.CharField(_("application name"), max_length=120)
    prefix = models.CharField(_("key prefix"), max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    contact = models.CharField(_("contact"), max_length=200, blank=True)
    rate = models.CharField(_("rate limit"), max_length=20, default="600/h")
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("Open311 API key")
        verbose_name_plural = _("Open311 API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Report(CityOwned):
    # Unique by a constraint (Meta), not `unique=True`: on PostgreSQL that would add a second,
    # pattern-ops index nobody queries. Every index is written on each submission, so the table keeps
    # only those a query uses; foreign keys that are mostly empty are indexed where they are set.
    reference = models.CharField(_("reference"), max_length=24)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="reports")
    commune = models.ForeignKey(Commune, on_delete=models.PROTECT, related_name="+", db_index=False)
    # Indexed by (agency, status, due_at), which serves the agency's queue and the PROTECT check.
    agency = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="reports", db_index=False)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_reports",
        db_index=False,
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.RECEIVED)
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    confidential = models.BooleanField(_("confidential"), default=False)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.APP)

    lat = models.FloatField(_("latitude"))
    lon = models.FloatField(_("longitude"))
    address = models.CharField(_("address"), max_length=300, blank=True)
    description = models.TextField(_("description"), max_length=5000)
    attributes = models.JSONField(_("answers"), default=dict, blank=True)

    # Who reported: a signed-in citizen, or contact details given by phone, at a counter or by an app
    # (encrypted JSON: name, phone, email), never shown publicly.
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    reporter_contact_enc = models.TextField(blank=True)
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_index=False,
    )
    open311_key = models.ForeignKey(Open311Key, null=True, blank=True, on_delete=models.SET_NULL,
                                    db_index=False)
    idempotency_key = models.CharField(max_length=100, blank=True)
    # The agency's own ticket id when dispatched to its system through Open311.
    external_id = models.CharField(max_length=100, blank=True)

    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now, db_index=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    # "Needs information" pauses the deadline: the pause start; on resume due_at moves by the pause.
    paused_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(default=0)
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates", db_index=False
    )
    # Found when the report was filed: the nearest open report of the category within 250 m. A hint
    # for the agency (which may merge the two), never a reason to refuse the report.
    possible_duplicate = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="possible_duplicates",
        verbose_name=_("possible duplicate of"), db_index=False,
    )
    # Moderation: hidden reports are not public; redacted text replaces the description publicly.
    hidden = models.BooleanField(_("hidden"), default=False)
    public_description = models.TextField(_("public description"), blank=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["-submitted_at"]
        indexes = [
            models.Index(fields=["city", "status", "updated_at"]),
            models.Index(fields=["city", "category", "status"]),
            models.Index(fields=["city", "lat", "lon"]),
            models.Index(fields=["agency", "status", "due_at"]),
            # The public surfaces (map, list, Open311) read only public reports, newest first, often by
            # category: partial indexes keep those reads to an index range scan at millions of rows.
            # The map reads the newest points of a category: the columns it draws are in the index, so
            # the city-wide view is an index-only scan.
            models.Index(
                fields=["city", "category", "-submitted_at"],
                condition=models.Q(confidential=False, hidden=False),
                include=["lat", "lon", "status", "reference"],
                name="report_public_by_category",
            ),
            models.Index(
                fields=["city", "category", "-updated_at", "-id"],
                condition=models.Q(confidential=False, hidden=False),
                name="report_public_cat_updated",
            ),
            models.Index(
                fields=["city", "-updated_at", "-id"],
                condition=models.Q(confidential=False, hidden=False),
                name="report_public_updated",
            ),
            # The duplicate search when a report is filed and in its preview: open reports of a category
            # in a small box (a few percent of all reports are open).
            models.Index(
                fields=["city", "category", "lat", "lon"],
                condition=models.Q(status__in=[str(s) for s in OPEN_STATUSES]),
                name="report_open_nearby",
            ),
        ]
        indexes += [
            models.Index(fields=["commune"], name="report_commune"),
            *(
                models.Index(fields=[name], condition=models.Q(**{f"{name}__isnull": False}),
                             name=f"report_{name}_set")
                for name in ("assignee", "filed_by", "open311_key", "duplicate_of", "possible_duplicate")
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["reference"], name="report_reference_unique"),
            models.UniqueConstraint(
                fields=["reporter", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="report_idempotent_per_reporter",
            ),
            models.UniqueConstraint(
                fields=["open311_key", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="report_idempotent_per_key",
            ),
            # Hotline and walk-in reports have no reporter account: the staff member's key counts.
            models.UniqueConstraint(
                fields=["filed_by", "idempotency_key"],
                condition=~models.Q(idempotency_key="") & models.Q(channel__in=["hotline", "walk_in"]),
                name="report_idempotent_per_filer",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_public(self) -> bool:
        return not (self.confidential or self.hidden)


def photo_path(instance: ReportPhoto, filename: str) -> str:
    return (
        f"reports/{instance.report.city_id}/{instance.report.reference}/{instance.token}.{instance.extension}"
    )


class ReportPhoto(models.Model):
    """A photo (or evidence document) attached to a report. Images are re-encoded on upload, so EXIF
    metadata (location, device) never reaches storage."""

    class Kind(models.TextChoices):
        REPORT = "report", _("Photo from the reporter")
        EVIDENCE = "evidence", _("Evidence of the resolution")

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="photos")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.REPORT)
    token = models.CharField(max_length=32, unique=True)
    extension = models.CharField(max_length=5)
    file = models.FileField(upload_to=photo_path, max_length=200)
    content_type = models.CharField(max_length=60)
    size = models.PositiveIntegerField()
    hidden = models.BooleanField(_("hidden"), default=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.report_id}:{self.kind}:{self.token}"


class ReportEvent(models.Model):
    """The report's timeline: status changes, public responses, internal notes, re-routing, merges,
    moderation. `public` events appear on the public page."""

    class Kind(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        STATUS = "status", _("Status changed")
        RESPONSE = "response", _("Response")
        NOTE = "note", _("Internal note")
        ASSIGNED = "assigned", _("Assigned")
        REROUTED = "rerouted", _("Sent to another agency")
        RECATEGORISED = "recategorised", _("Category changed")
        MERGED = "merged", _("Merged")
        PRIORITY = "priority", _("Priority changed")
        MODERATED = "moderated", _("Moderated")
        ESCALATED = "escalated", _("Escalated")
        CONFIRMED = "confirmed", _("Fix confirmed")
        INFO = "info", _("Information added")
        DISPATCHED = "dispatched", _("Sent to the agency")
        EXTERNAL = "external", _("Update from the agency's system")

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    kind = models.CharField(max_length=15, choices=Kind.choices)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    text = models.TextField(blank=True, max_length=5000)
    public = models.BooleanField(default=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["report", "at"])]

    def __str__(self) -> str:
        return f"{self.report_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"


class Follower(models.Model):
    """A citizen following a report (the reporter, or someone who found it as a nearby duplicate)."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="followers")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="followed_reports"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["report", "user"], name="follow_once")]

    def __str__(self) -> str:
        return f"{self.user_id} follows {self.report_id}"


class ResponseTemplate(CityOwned):
    agency = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.CASCADE)
    title = models.CharField(_("title"), max_length=120)
    text_vi = models.TextField(_("text (Vietnamese)"))
    text_en = models.TextField(_("text (English)"), blank=True)

    class Meta:
        verbose_name = _("response template")
        verbose_name_plural = _("response templates")
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title
