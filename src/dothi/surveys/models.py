"""Satisfaction surveys: the app's Net Promoter Score survey, CSAT surveys and the city's own surveys.

A `Survey` (per city, by `code`) holds ordered `Question`s; a person answers once (`Response` with one
`Answer` per question answered). The respondent is known to the database only by `respondent_key`, a
keyed hash of the survey's city and code and the person (a signed-in user's id, or an anonymous
visitor's session), so "one response per person" holds without exports or results exposing anyone;
`respondent` (the account) is kept only when the survey does not promise anonymous results. A survey
that is asked again (the app NPS survey: every 90 days, `repeat_days`) numbers each person's answers
in `wave`: one response per person, survey and wave.

CSAT after a resolved report or a served appointment is `core.Feedback` (the reports and appointments
pages ask for it); this module's calculators read it. See docs/modules/surveys.md.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from dothi.core.models import CityOwned, Commune, localised

APP_NPS_CODE = "app-nps"


class Survey(CityOwned):
    class Kind(models.TextChoices):
        NPS = "nps", _("Net Promoter Score (NPS)")
        CSAT = "csat", _("Satisfaction (CSAT)")
        CUSTOM = "custom", pgettext_lazy("survey kind", "Custom")

    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("survey status", "Draft")
        OPEN = "open", pgettext_lazy("survey status", "Open")
        CLOSED = "closed", pgettext_lazy("survey status", "Closed")

    class Audience(models.TextChoices):
        EVERYONE = "everyone", _("Everyone (no sign-in needed)")
        CITIZENS = "citizens", _("Signed-in citizens")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.CUSTOM)
    code = models.SlugField(_("code"), max_length=60)
    title_vi = models.CharField(_("title (Vietnamese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    intro_vi = models.TextField(_("introduction (Vietnamese)"), blank=True, max_length=2000)
    intro_en = models.TextField(_("introduction (English)"), blank=True, max_length=2000)
    status = models.CharField(
        pgettext_lazy("surveys", "status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    opens_at = models.DateTimeField(_("opens at"), null=True, blank=True)
    closes_at = models.DateTimeField(_("closes at"), null=True, blank=True)
    audience = models.CharField(
        _("audience"), max_length=10, choices=Audience.choices, default=Audience.CITIZENS
    )
    anonymous_results = models.BooleanField(
        _("anonymous results"),
        default=True,
        help_text=_("The answers are never linked to the account that gave them."),
    )
    # 0: a person answers once; else again after this many days (the app NPS survey: 90).
    repeat_days = models.PositiveSmallIntegerField(_("asked again after (days)"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["city", "code"], name="surveys_city_code"),
            models.CheckConstraint(
                condition=Q(opens_at__isnull=True)
                | Q(closes_at__isnull=True)
                | Q(closes_at__gt=models.F("opens_at")),
                name="surveys_window",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    @property
    def title(self) -> str:
        return localised(self.title_vi, self.title_en)

    @property
    def intro(self) -> str:
        return localised(self.intro_vi, self.intro_en)

    def accepting(self, now=None) -> bool:
        """Open and inside its window."""
        now = now or timezone.now()
        return (
            self.status == self.Status.OPEN
            and (self.opens_at is None or self.opens_at <= now)
            and (self.closes_at is None or now < self.closes_at)
        )


class Question(models.Model):
    class Kind(models.TextChoices):
        NPS = "nps_0_10", _("Likelihood to recommend (0–10)")
        RATING = "rating_1_5", _("Rating (1–5)")
        SINGLE = "single", _("One choice")
        MULTIPLE = "multiple", _("Several choices")
        TEXT = "text", _("Free text")

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    order = models.PositiveSmallIntegerField(_("order"), default=1)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    text_vi = models.CharField(_("question (Vietnamese)"), max_length=500)
    text_en = models.CharField(_("question (English)"), max_length=500, blank=True)
    # [{"code", "label_vi", "label_en"}] for single and multiple choice questions.
    choices = models.JSONField(_("choices"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=True)
    # The indicator this question measures (mean of a 1–5 rating, NPS of a 0–10 question), published
    # to the KPI module through `surveys.indicator_values`.
    indicator_code = models.CharField(_("indicator measured"), max_length=80, blank=True)

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["survey", "order", "pk"]

    def __str__(self) -> str:
        return f"{self.order}. {self.text}"

    @property
    def text(self) -> str:
        return localised(self.text_vi, self.text_en)

    @property
    def is_numeric(self) -> bool:
        return self.kind in (self.Kind.NPS, self.Kind.RATING)

    def choice_label(self, code: str) -> str:
        for c in self.choices:
            if c.get("code") == code:
                return localised(c.get("label_vi", ""), c.get("label_en", "")) or code
        return code

    def localised_choices(self) -> list[tuple[str, str]]:
        return [(c["code"], localised(c.get("label_vi", ""), c.get("label_en", ""))) for c in self.choices]


class Response(CityOwned):
    class Channel(models.TextChoices):
        WEB = "web", _("Web")
        API = "api", _("API")

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    # Kept only when the survey does not promise anonymous results.
    respondent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    respondent_key = models.CharField(max_length=64)
    wave = models.PositiveSmallIntegerField(default=1)
    commune = models.ForeignKey(
        Commune, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("commune")
    )
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    channel = models.CharField(_("channel"), max_length=5, choices=Channel.choices, default=Channel.WEB)

    class Meta:
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        ordering = ["-submitted_at", "-pk"]
        indexes = [
            models.Index(fields=["city", "survey", "submitted_at"], name="surveys_response_time"),
            models.Index(fields=["survey", "respondent_key"], name="surveys_response_key"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "respondent_key", "wave"], name="surveys_one_per_person"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.survey_id} #{self.pk}"


class Answer(models.Model):
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers")
    number = models.SmallIntegerField(_("number"), null=True, blank=True)  # 0–10 or 1–5
    text = models.TextField(_("text"), blank=True, max_length=2000)
    choices = models.JSONField(_("choices"), default=list, blank=True)  # the codes chosen

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [
            models.UniqueConstraint(fields=["response", "question"], name="surveys_one_answer"),
        ]

    def __str__(self) -> str:
        return f"{self.response_id}/{self.question_id}"
