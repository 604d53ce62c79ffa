"""The control centre (trung tâm điều hành, IOC). It owns no domain data: what it shows comes from the
other modules' manifests (panels, alarm sources, ward summaries). What it keeps is the operators' own
work: the alarms they acknowledge and assign, the incident log, and shift handovers.

An *alarm* is a condition a module reports through `Manifest.alarm_sources` (a rule breach, an overdue
report, a sensor gone silent). The IOC sweep (a schedule, every minute, and on demand) turns each new
condition into an `Alarm` row keyed by the condition's `key`; while it stays open the row is kept, and
when the module no longer reports it the alarm is marked cleared (the operator still sees it until it is
closed, so nothing an operator was told disappears silently).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from dothi.core.models import CityOwned, Commune


class AlarmLevel(models.TextChoices):
    INFO = "info", _("Information")
    WARNING = "warning", _("Warning")
    DANGER = "danger", _("Critical")


LEVEL_RANK = {"info": 0, "warning": 1, "danger": 2}


class Alarm(CityOwned):
    class Status(models.TextChoices):
        OPEN = "open", _("New")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        ASSIGNED = "assigned", _("Assigned")
        CLOSED = "closed", _("Closed")

    # "<module>.<kind>:<id>", e.g. "sensing.silent:DN-AQ-004", "reports.overdue:DN-2026-000123",
    # "alerts.warning:<uid>". One alarm that is not closed per key and city.
    key = models.CharField(_("key"), max_length=160)
    module = models.CharField(_("module"), max_length=40)
    kind = models.CharField(_("kind"), max_length=40)  # "breach", "overdue", "silent", ...
    level = models.CharField(
        _("level"), max_length=10, choices=AlarmLevel.choices, default=AlarmLevel.WARNING
    )
    title = models.CharField(_("title"), max_length=300)
    detail = models.TextField(_("detail"), blank=True)
    url = models.CharField(_("link"), max_length=300, blank=True)
    lon = models.FloatField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    commune = models.ForeignKey(Commune, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    raised_at = models.DateTimeField(_("raised at"))  # when the condition began (the module's time)
    seen_at = models.DateTimeField(_("last seen"))  # last sweep that still reported it
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)  # the module stopped reporting
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.OPEN)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("acknowledged by"),
    )
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("assigned to"),
    )
    assigned_at = models.DateTimeField(_("assigned at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("closed by"),
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closing_note = models.TextField(_("closing note"), blank=True)

    class Meta:
        verbose_name = _("alarm")
        verbose_name_plural = _("alarms")
        ordering = ["-raised_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["city", "key"],
                condition=~models.Q(status="closed"),
                name="ioc_alarm_one_open_per_key",
            ),
        ]
        indexes = [models.Index(fields=["city", "status", "-raised_at"], name="ioc_alarm_status")]

    def __str__(self) -> str:
        return self.title


class IncidentEntry(CityOwned):
    """The incident log: what operators saw, did and decided, in order; append-only (corrections are
    new entries)."""

    class Kind(models.TextChoices):
        NOTE = "note", _("Note")
        ACTION = "action", _("Action taken")
        CALL = "call", _("Call")
        DECISION = "decision", _("Decision")
        ALARM = "alarm", _("Alarm handled")

    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("author"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.NOTE)
    text = models.TextField(_("text"))
    alarm = models.ForeignKey(Alarm, null=True, blank=True, on_delete=models.SET_NULL, related_name="entries")
    commune = models.ForeignKey(Commune, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("incident log entry")
        verbose_name_plural = _("incident log")
        ordering = ["-at", "-pk"]


class ShiftHandover(CityOwned):
    """A shift handed from one operator to the next, with notes and what was open at the time."""

    at = models.DateTimeField(_("at"), auto_now_add=True)
    handed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("handed over by"))
    handed_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", verbose_name=_("handed over to"))
    notes = models.TextField(_("notes"))
    # Snapshot at handover: [{"id", "key", "title", "level", "status"}] of the alarms not closed.
    open_alarms = models.JSONField(_("open alarms"), default=list, blank=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("shift handover")
        verbose_name_plural = _("shift handovers")
        ordering = ["-at", "-pk"]
