"""Indicators (chỉ số) and their measured values, and the measured benefits of programme projects.

The catalogue holds the 91 U4SSC KPIs (`data/u4ssc_kpis.csv`) and the platform's own indicators, one
per `KpiCalculator` a module declares in its manifest; a city may add its own. Values are kept per
period (month, quarter, year), per city and, where meaningful, per commune, each with the inputs it was
computed from (numerator, denominator, sample size) so it can be checked. Automatic values are written by
`services.compute`; manual values (what the platform cannot see) are entered with a source and an
evidence file and count only once the council approves them. A missing value is stored as NULL with a
note, never as zero.

The module reads other modules only through `core.manifests.registry` (calculators, the programme's
targets and project costs); see docs/modules/kpis.md.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from dothi.core.models import City, CityOwned, Commune, localised


class Indicator(models.Model):
    """One indicator of the catalogue. Rows without a city are the shared catalogue (U4SSC and platform
    indicators); a city's own indicators carry its city."""

    class Source(models.TextChoices):
        U4SSC = "u4ssc", _("U4SSC")
        PLATFORM = "platform", _("Platform")
        CITY = "city", pgettext_lazy("indicator source", "City")

    class Kind(models.TextChoices):
        CORE = "core", pgettext_lazy("indicator kind", "Core")
        ADVANCED = "advanced", pgettext_lazy("indicator kind", "Advanced")
        PLATFORM = "platform", pgettext_lazy("indicator kind", "Platform")

    city = models.ForeignKey(
        City, null=True, blank=True, on_delete=models.CASCADE, verbose_name=_("city"),
        help_text=_("Empty: the shared catalogue every city uses."),
    )
    # "EC: ICT: D: 1A" for U4SSC; the calculator's code ("reports.resolved_on_time") for platform ones.
    code = models.CharField(_("code"), max_length=80)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    # U4SSC's English dimension / sub-dimension / category names ("Economy", "ICT", "Drainage");
    # catalogue.py translates them. Platform indicators take those of their `standard_code` when set.
    dimension = models.CharField(pgettext_lazy("indicator", "dimension"), max_length=60, blank=True)
    sub_dimension = models.CharField(pgettext_lazy("indicator", "sub-dimension"), max_length=80, blank=True)
    category = models.CharField(pgettext_lazy("indicator", "category"), max_length=80, blank=True)
    name_vi = models.CharField(_("name (Vietnamese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    unit = models.CharField(_("unit"), max_length=40, blank=True)
    higher_is_better = models.BooleanField(_("higher is better"), default=True)
    method_vi = models.TextField(_("method (Vietnamese)"), blank=True)
    method_en = models.TextField(_("method (English)"), blank=True)
    iso_code = models.CharField(_("ISO 37120/37122 number"), max_length=60, blank=True)
    # For a platform indicator: the U4SSC code it reports (or a part of, with `component`).
    standard_code = models.CharField(_("standard code"), max_length=80, blank=True)
    component = models.CharField(_("component"), max_length=40, blank=True)  # "PM2.5"
    # The KpiCalculator.code that measures it; empty: measured by hand (manual values).
    calculator = models.CharField(_("calculator"), max_length=80, blank=True)
    per_ward = models.BooleanField(_("measured per ward"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    order = models.PositiveIntegerField(default=1000)

    class Meta:
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        ordering = ["order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["code"], condition=Q(city__isnull=True), name="kpis_shared_code"),
            models.UniqueConstraint(fields=["city", "code"], name="kpis_city_code"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def name(self) -> str:
        return localised(self.name_vi, self.name_en)

    @property
    def method(self) -> str:
        return localised(self.method_vi, self.method_en)

    @property
    def is_automatic(self) -> bool:
        return bool(self.calculator)


class CityIndicator(CityOwned):
    """A city's choices about one indicator: whether it tracks it and publishes it on the public page."""

    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="city_settings")
    is_tracked = models.BooleanField(_("tracked"), default=True)
    is_published = models.BooleanField(_("published"), default=False)
    note_vi = models.TextField(_("note (Vietnamese)"), blank=True)
    note_en = models.TextField(_("note (English)"), blank=True)

    class Meta:
        verbose_name = _("city indicator")
        verbose_name_plural = _("city indicators")
        constraints = [models.UniqueConstraint(fields=["city", "indicator"], name="kpis_city_indicator")]


class Grain(models.TextChoices):
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")
    YEAR = "year", _("Year")


def evidence_path(instance: Value, filename: str) -> str:
    return f"kpis/evidence/{instance.city_id}/{timezone.now():%Y/%m}/{filename}"


class Value(CityOwned):
    """An indicator's value for one period (and commune, or the whole city when `commune` is empty)."""

    class Method(models.TextChoices):
        AUTO = "auto", _("Automatic")
        MANUAL = "manual", _("Manual")

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("value status", "Awaiting approval")
        APPROVED = "approved", pgettext_lazy("value status", "Approved")
        REJECTED = "rejected", pgettext_lazy("value status", "Rejected")
        SUPERSEDED = "superseded", pgettext_lazy("value status", "Superseded")

    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="values")
    grain = models.CharField(_("period"), max_length=10, choices=Grain.choices)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))  # exclusive
    commune = models.ForeignKey(
        Commune, null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("commune")
    )
    value = models.FloatField(_("value"), null=True, blank=True)  # NULL: missing (see `note`)
    numerator = models.FloatField(_("numerator"), null=True, blank=True)
    denominator = models.FloatField(_("denominator"), null=True, blank=True)
    sample_size = models.PositiveIntegerField(_("sample size"), default=0)
    note = models.CharField(_("note"), max_length=300, blank=True)
    method = models.CharField(_("method"), max_length=10, choices=Method.choices)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.APPROVED)
    computed_at = models.DateTimeField(_("computed at"), default=timezone.now)
    # Manual values: where the figure comes from, the evidence, who entered and who decided.
    source = models.CharField(_("source"), max_length=300, blank=True)
    evidence = models.FileField(_("evidence file"), upload_to=evidence_path, max_length=300, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("indicator value")
        verbose_name_plural = _("indicator values")
        ordering = ["indicator", "grain", "-period_start"]
        indexes = [
            models.Index(fields=["city", "indicator", "grain", "period_start"], name="kpis_value_lookup")
        ]
        constraints = [
            # One automatic value per indicator, period and place (recomputing replaces it).
            models.UniqueConstraint(
                fields=["city", "indicator", "grain", "period_start"],
                condition=Q(method="auto", commune__isnull=True), name="kpis_auto_city_value",
            ),
            models.UniqueConstraint(
                fields=["city", "indicator", "grain", "period_start", "commune"],
                condition=Q(method="auto", commune__isnull=False), name="kpis_auto_ward_value",
            ),
            models.CheckConstraint(condition=Q(period_end__gt=models.F("period_start")), name="kpis_period"),
        ]

    def __str__(self) -> str:
        return f"{self.indicator_id} {self.grain} {self.period_start}: {self.value}"

    @property
    def is_missing(self) -> bool:
        return self.value is None


class Benefit(CityOwned):
    """A measured benefit of a programme project in one year, in VND, for its return on investment. The
    project is named by its code (the programme module's; read through `programme.project_costs`)."""

    class Kind(models.TextChoices):
        SAVING = "saving", _("Cost saved")
        REVENUE = "revenue", _("Revenue")
        TIME = "time", _("Time saved (valued)")
        OTHER = "other", pgettext_lazy("benefit kind", "Other")

    project_code = models.SlugField(_("project"), max_length=60)
    year = models.PositiveSmallIntegerField(_("year"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.SAVING)
    amount_vnd = models.BigIntegerField(_("amount (VND)"))
    description_vi = models.CharField(_("description (Vietnamese)"), max_length=300)
    description_en = models.CharField(_("description (English)"), max_length=300, blank=True)
    indicator_code = models.CharField(_("indicator measuring it"), max_length=80, blank=True)
    evidence = models.FileField(_("evidence file"), upload_to="kpis/benefits/", max_length=300, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("project benefit")
        verbose_name_plural = _("project benefits")
        ordering = ["project_code", "year", "pk"]
        indexes = [models.Index(fields=["city", "project_code", "year"], name="kpis_benefit_project")]

    @property
    def description(self) -> str:
        return localised(self.description_vi, self.description_en)


class Evaluation(CityOwned):
    """An evaluation report issued to the council: the evaluation as it stood, frozen (its figures,
    traffic lights and return on investment), so a later recomputation does not change what was issued."""

    title_vi = models.CharField(_("title (Vietnamese)"), max_length=300)
    title_en = models.CharField(_("title (English)"), max_length=300, blank=True)
    grain = models.CharField(_("period"), max_length=10, choices=Grain.choices)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    snapshot = models.JSONField(_("snapshot"), default=dict)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)

    class Meta:
        verbose_name = _("evaluation report")
        verbose_name_plural = _("evaluation reports")
        ordering = ["-issued_at"]

    @property
    def title(self) -> str:
        return localised(self.title_vi, self.title_en)
