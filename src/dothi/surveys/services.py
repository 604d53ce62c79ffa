"""Writes of the surveys module: surveys (create, update, open, close), their questions (add, delete,
reorder, only while the survey is a draft), the app NPS survey (`ensure_app_nps`) and answering
(`respond`).

Keyword-only, one transaction each, permission checked (`surveys.manage` for the builder,
`surveys.respond` for surveys limited to signed-in citizens), audited, and bad input raises a
`dothi.core.errors` DomainError before anything is written. Answering records in the audit trail that
the person took part in the survey, never which response is theirs.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from dothi.core import audit
from dothi.core.errors import Conflict, InvalidInput
from dothi.core.models import AuditEvent, City, Commune
from dothi.core.parsing import clean_text
from dothi.core.permissions import require
from dothi.surveys.models import APP_NPS_CODE, Answer, Question, Response, Survey

MANAGE = "surveys.manage"
RESPOND = "surveys.respond"
TEXT_MAX = 2000
CHOICES_MAX = 30
QUESTIONS_MAX = 50
APP_NPS_REPEAT_DAYS = 90
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")
_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_INDICATOR = re.compile(r"^[\w.:\- ]{1,80}$")

S = Survey.Status
Q = Question.Kind
RANGES = {Q.NPS: (0, 10), Q.RATING: (1, 5)}


def respondent_key(city: City, survey_code: str, who: str) -> str:
    """The keyed hash that stands for a respondent: `who` is "u:<user id>" or "s:<session key>". Keyed
    with the server's secret and the survey, so keys of two surveys cannot be matched."""
    return salted_hmac("dothi.surveys.respondent", f"{city.pk}:{survey_code}:{who}").hexdigest()


def user_key(city: City, survey_code: str, user) -> str:
    return respondent_key(city, survey_code, f"u:{user.pk}")


# --- Cleaners ------------------------------------------------------------------------------------------


def _choice(value: Any, choices, field: str) -> str:
    values = [str(v) for v in choices.values]
    if value not in values:
        raise InvalidInput(
            _("Unknown value: choose one of %(values)s.") % {"values": ", ".join(values)},
            field=field,
            code="invalid_choice",
        )
    return str(value)


def _when(value: Any, field: str) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        from django.utils.dateparse import parse_datetime

        parsed = parse_datetime(value)
        if parsed is None:
            raise InvalidInput(_("Enter a valid date and time."), field=field, code="invalid_datetime")
        value = parsed
    if not isinstance(value, dt.datetime):
        raise InvalidInput(_("Enter a valid date and time."), field=field, code="invalid_datetime")
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def _window(opens_at, closes_at) -> None:
    if opens_at and closes_at and closes_at <= opens_at:
        raise InvalidInput(
            _("The survey must close after it opens."), field="closes_at", code="invalid_window"
        )


def _bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(_("This must be true or false."), field=field)
    return value


def _integer(value: Any, field: str, lo: int, hi: int, message: str) -> int:
    digits = isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value)
    if digits or (isinstance(value, float) and value.is_integer()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise InvalidInput(message, field=field, code="out_of_range")
    return value


def _clean_choices(raw: Any) -> list[dict[str, str]]:
    if not isinstance(raw, list) or not 2 <= len(raw) <= CHOICES_MAX:
        raise InvalidInput(
            _("Give between 2 and %(max)d choices.") % {"max": CHOICES_MAX}, field="choices", code="choices"
        )
    cleaned, seen = [], set()
    for i, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            raise InvalidInput(_("Each choice needs a code and a label."), field="choices", code="choices")
        code = clean_text(item.get("code"), field="choices", max_len=40, required=True)
        if not _CODE.match(code) or code in seen:
            raise InvalidInput(
                _(
                    "Choice %(n)d: the code must be unique and use only lower-case letters without accents, "
                    "digits, hyphens and underscores."
                )
                % {"n": i},
                field="choices",
                code="choices",
            )
        seen.add(code)
        cleaned.append(
            {
                "code": code,
                "label_vi": clean_text(item.get("label_vi"), field="choices", max_len=200, required=True),
                "label_en": clean_text(item.get("label_en"), field="choices", max_len=200),
            }
        )
    return cleaned


# --- Surveys -------------------------------------------------------------------------------------------


@transaction.atomic
def survey_create(
    *,
    actor,
    city: City,
    code: str,
    title_vi: str,
    title_en: str = "",
    intro_vi: str = "",
    intro_en: str = "",
    kind: str = Survey.Kind.CUSTOM,
    audience: str = Survey.Audience.CITIZENS,
    anonymous_results: bool = True,
    opens_at: Any = None,
    closes_at: Any = None,
    repeat_days: int = 0,
) -> Survey:
    require(actor, MANAGE, city)
    code = clean_text(code, field="code", max_len=60, required=True)
    if not _SLUG.match(code):
        raise InvalidInput(
            _("Use only lower-case letters without accents, digits and hyphens."),
            field="code",
            code="invalid_slug",
        )
    survey = Survey(
        city=city,
        code=code,
        kind=_choice(kind, Survey.Kind, "kind"),
        title_vi=clean_text(title_vi, field="title_vi", max_len=200, required=True),
        title_en=clean_text(title_en, field="title_en", max_len=200),
        intro_vi=clean_text(intro_vi, field="intro_vi", max_len=TEXT_MAX),
        intro_en=clean_text(intro_en, field="intro_en", max_len=TEXT_MAX),
        audience=_choice(audience, Survey.Audience, "audience"),
        anonymous_results=_bool(anonymous_results, "anonymous_results"),
        opens_at=_when(opens_at, "opens_at"),
        closes_at=_when(closes_at, "closes_at"),
        repeat_days=_integer(
            repeat_days, "repeat_days", 0, 3650, _("Enter a number of days from 0 to 3650.")
        ),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    _window(survey.opens_at, survey.closes_at)
    if Survey.objects.filter(city=city, code=code).exists():
        raise Conflict(_("A survey with this code already exists."), field="code", code="duplicate_code")
    survey.save(force_insert=True)
    audit.record(actor=actor, action=AuditEvent.Action.CREATE, obj=survey, city=city, summary=survey.title_vi)
    return survey


UPDATABLE = (
    "title_vi",
    "title_en",
    "intro_vi",
    "intro_en",
    "opens_at",
    "closes_at",
    "audience",
    "anonymous_results",
    "repeat_days",
)
# What may change only while nobody has answered: who may answer and what is promised to them.
DRAFT_ONLY = frozenset({"audience", "anonymous_results"})


@transaction.atomic
def survey_update(*, actor, survey: Survey, **changes: Any) -> Survey:
    require(actor, MANAGE, survey.city)
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise InvalidInput(
            _("These fields cannot be changed: %(fields)s.") % {"fields": ", ".join(sorted(unknown))},
            field=sorted(unknown)[0],
        )
    if survey.status == S.CLOSED:
        raise Conflict(_("A closed survey cannot be changed; open it again first."), code="survey_closed")
    for name, value in changes.items():
        if name in DRAFT_ONLY and survey.status != S.DRAFT and value != getattr(survey, name):
            raise Conflict(
                _("This can be changed only while the survey is a draft."), field=name, code="not_draft"
            )
        if name in ("title_vi", "title_en", "intro_vi", "intro_en"):
            value = clean_text(
                value,
                field=name,
                max_len=200 if name.startswith("title") else TEXT_MAX,
                required=name == "title_vi",
            )
        elif name in ("opens_at", "closes_at"):
            value = _when(value, name)
        elif name == "audience":
            value = _choice(value, Survey.Audience, name)
        elif name == "anonymous_results":
            value = _bool(value, name)
        elif name == "repeat_days":
            value = _integer(value, name, 0, 3650, _("Enter a number of days from 0 to 3650."))
        setattr(survey, name, value)
    _window(survey.opens_at, survey.closes_at)
    survey.updated_at = timezone.now()
    survey.save()
    audit.record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=survey,
        city=survey.city,
        summary=survey.title_vi,
        details={"fields": sorted(changes)},
    )
    return survey


@transaction.atomic
def survey_open(*, actor, survey: Survey) -> Survey:
    require(actor, MANAGE, survey.city)
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    if survey.status == S.OPEN:
        raise Conflict(_("The survey is already open."), code="already_open")
    questions = list(survey.questions.values_list("kind", flat=True))
    if not questions:
        raise InvalidInput(
            _("Add at least one question before opening the survey."), field="questions", code="no_questions"
        )
    if survey.kind == Survey.Kind.NPS and Q.NPS not in questions:
        raise InvalidInput(
            _("An NPS survey needs a 0–10 question."), field="questions", code="no_nps_question"
        )
    if survey.kind == Survey.Kind.CSAT and Q.RATING not in questions:
        raise InvalidInput(
            _("A CSAT survey needs a 1–5 rating question."), field="questions", code="no_rating_question"
        )
    survey.status = S.OPEN
    survey.updated_at = timezone.now()
    survey.save(update_fields=["status", "updated_at"])
    audit.record(
        actor=actor, action=AuditEvent.Action.UPDATE, obj=survey, city=survey.city, summary=survey.title_vi,
        details={"status": "open"},
    )
    return survey


@transaction.atomic
def survey_close(*, actor, survey: Survey) -> Survey:
    require(actor, MANAGE, survey.city)
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    if survey.status != S.OPEN:
        raise Conflict(_("Only an open survey can be closed."), code="not_open")
    survey.status = S.CLOSED
    survey.updated_at = timezone.now()
    survey.save(update_fields=["status", "updated_at"])
    audit.record(
        actor=actor, action=AuditEvent.Action.UPDATE, obj=survey, city=survey.city, summary=survey.title_vi,
        details={"status": "closed"},
    )
    return survey


# --- Questions -----------------------------------------------------------------------------------------


def _draft(survey: Survey) -> None:
    if survey.status != S.DRAFT:
        raise Conflict(_("Questions can be changed only while the survey is a draft."), code="not_draft")


@transaction.atomic
def question_add(
    *,
    actor,
    survey: Survey,
    kind: str,
    text_vi: str,
    text_en: str = "",
    choices: Any = None,
    required: bool = True,
    indicator_code: str = "",
) -> Question:
    require(actor, MANAGE, survey.city)
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    _draft(survey)
    kind = _choice(kind, Question.Kind, "kind")
    count = survey.questions.count()
    if count >= QUESTIONS_MAX:
        raise InvalidInput(
            _("A survey has at most %(max)d questions.") % {"max": QUESTIONS_MAX}, field="kind"
        )
    cleaned = _clean_choices(choices) if kind in (Q.SINGLE, Q.MULTIPLE) else []
    if kind not in (Q.SINGLE, Q.MULTIPLE) and choices:
        raise InvalidInput(_("Only choice questions have choices."), field="choices", code="choices")
    indicator_code = clean_text(indicator_code, field="indicator_code", max_len=80)
    if indicator_code:
        if kind not in RANGES:
            raise InvalidInput(
                _("Only 0–10 and 1–5 questions can measure an indicator."),
                field="indicator_code",
                code="not_numeric",
            )
        if not _INDICATOR.match(indicator_code):
            raise InvalidInput(
                _("Enter an indicator code such as surveys.online_services."),
                field="indicator_code",
                code="invalid_code",
            )
        other = (
            Question.objects.filter(survey__city=survey.city, indicator_code=indicator_code)
            .exclude(kind=kind)
            .exists()
        )
        if other:
            raise Conflict(
                _("This indicator is already measured by a question of another kind."),
                field="indicator_code",
                code="indicator_kind",
            )
    question = Question.objects.create(
        survey=survey,
        order=count + 1,
        kind=kind,
        text_vi=clean_text(text_vi, field="text_vi", max_len=500, required=True),
        text_en=clean_text(text_en, field="text_en", max_len=500),
        choices=cleaned,
        required=_bool(required, "required"),
        indicator_code=indicator_code,
    )
    audit.record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=question,
        city=survey.city,
        summary=question.text_vi,
        details={"survey": survey.code, "kind": kind},
    )
    return question


@transaction.atomic
def question_delete(*, actor, question: Question) -> None:
    survey = question.survey
    require(actor, MANAGE, survey.city)
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    _draft(survey)
    audit.record(
        actor=actor,
        action=AuditEvent.Action.DELETE,
        obj=question,
        city=survey.city,
        summary=question.text_vi,
        details={"survey": survey.code},
    )
    question.delete()
    for n, q in enumerate(survey.questions.order_by("order", "pk"), start=1):
        if q.order != n:
            Question.objects.filter(pk=q.pk).update(order=n)


@transaction.atomic
def questions_reorder(*, actor, survey: Survey, order: list[int]) -> list[Question]:
    """Put the survey's questions in the order of `order` (every question's id, once)."""
    require(actor, MANAGE, survey.city)
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    _draft(survey)
    ids = list(survey.questions.values_list("pk", flat=True))
    if not isinstance(order, list) or sorted(order) != sorted(ids) or any(isinstance(i, bool) for i in order):
        raise InvalidInput(_("Give every question of the survey once."), field="order", code="invalid_order")
    for n, pk in enumerate(order, start=1):
        Question.objects.filter(pk=pk).update(order=n)
    audit.record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=survey,
        city=survey.city,
        summary=survey.title_vi,
        details={"order": order},
    )
    return list(survey.questions.order_by("order"))


# --- The app NPS survey -------------------------------------------------------------------------------


@transaction.atomic
def ensure_app_nps(city: City, *, actor=None) -> Survey:
    """The city's app NPS survey ("app-nps"), created open with its 0–10 question and a reason question
    when missing; asked again after 90 days. Idempotent. `actor=None` is the system (demo, migrations)."""
    survey = Survey.objects.filter(city=city, code=APP_NPS_CODE).first()
    if survey is not None:
        return survey
    if actor is not None:
        require(actor, MANAGE, city)
    survey = Survey.objects.create(
        city=city,
        code=APP_NPS_CODE,
        kind=Survey.Kind.NPS,
        status=S.OPEN,
        title_vi="Bạn có giới thiệu ứng dụng cho người khác?",
        title_en="Would you recommend the app?",
        intro_vi="Một câu hỏi, mất chưa đến một phút. Câu trả lời giúp thành phố cải thiện dịch vụ số.",
        intro_en="One question, less than a minute. Your answer helps the city improve its digital services.",
        audience=Survey.Audience.CITIZENS,
        anonymous_results=True,
        repeat_days=APP_NPS_REPEAT_DAYS,
        created_by=actor,
    )
    Question.objects.bulk_create(
        [
            Question(
                survey=survey,
                order=1,
                kind=Q.NPS,
                required=True,
                indicator_code="",
                text_vi="Bạn có sẵn lòng giới thiệu ứng dụng này cho bạn bè, người thân không? "
                "(0 = chắc chắn không, 10 = chắc chắn có)",
                text_en="How likely are you to recommend this app to a friend or relative? "
                "(0 = not at all, 10 = extremely likely)",
            ),
            Question(
                survey=survey,
                order=2,
                kind=Q.TEXT,
                required=False,
                text_vi="Lý do chính cho điểm của bạn là gì?",
                text_en="What is the main reason for your score?",
            ),
        ]
    )
    audit.record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=survey,
        city=city,
        summary=survey.title_vi,
        details={"app_nps": True},
    )
    return survey


# --- Answering -----------------------------------------------------------------------------------------


def _required() -> str:
    return _("Please answer this question.")


def _clean_answer(question: Question, raw: Any) -> Answer | None:
    """The answer to store for one question, None when unanswered (refused when required)."""
    field = f"q{question.pk}"
    empty = raw is None or raw == "" or raw == [] or (isinstance(raw, str) and not raw.strip())
    if empty:
        if question.required:
            raise InvalidInput(_required(), field=field, code="required")
        return None
    if question.kind in RANGES:
        lo, hi = RANGES[question.kind]
        message = (
            _("Choose a score from 0 to 10.") if question.kind == Q.NPS else _("Choose a rating from 1 to 5.")
        )
        return Answer(question=question, number=_integer(raw, field, lo, hi, message))
    if question.kind == Q.TEXT:
        return Answer(question=question, text=clean_text(raw, field=field, max_len=TEXT_MAX))
    codes = {c["code"] for c in question.choices}
    if question.kind == Q.SINGLE:
        if isinstance(raw, list) and len(raw) == 1:
            raw = raw[0]
        if not isinstance(raw, str) or raw not in codes:
            raise InvalidInput(_("Choose one of the answers offered."), field=field, code="invalid_choice")
        return Answer(question=question, choices=[raw])
    if isinstance(raw, str):
        raw = [raw]
    if (
        not isinstance(raw, list)
        or any(not isinstance(c, str) or c not in codes for c in raw)
        or len(set(raw)) != len(raw)
    ):
        raise InvalidInput(
            _("Choose only among the answers offered, each at most once."), field=field, code="invalid_choice"
        )
    order = [c["code"] for c in question.choices]
    return Answer(question=question, choices=sorted(raw, key=order.index))


def _commune(city: City, code: Any) -> Commune | None:
    if code in (None, ""):
        return None
    commune = (
        Commune.objects.filter(pk=str(code), province_id=city.province_code).first()
        if isinstance(code, str | int)
        else None
    )
    if commune is None:
        raise InvalidInput(
            _("Choose a ward or commune of the city."), field="commune", code="invalid_commune"
        )
    return commune


def respond(
    *,
    actor,
    survey: Survey,
    answers: dict[str, Any],
    commune: Any = None,
    channel: str = Response.Channel.WEB,
    session_key: str = "",
    now: dt.datetime | None = None,
    request=None,
) -> Response:
    """Answer a survey: `answers` maps a question's id (or "q<id>") to the answer (a number for 0–10
    and 1–5 questions, a choice code, a list of codes, or text). A signed-in person is known by their
    account; anyone else (surveys for everyone) by `session_key`. Refused: a survey that is not open
    (409), a person who already answered (409; for a repeated survey, within `repeat_days`), bad answers
    (422, the question's field named); nothing is stored then."""
    now = now or timezone.now()
    city = survey.city
    signed_in = bool(getattr(actor, "is_authenticated", False))
    if survey.audience == Survey.Audience.CITIZENS or signed_in:
        if survey.audience == Survey.Audience.CITIZENS:
            require(actor, RESPOND, city)
        who = f"u:{actor.pk}"
    elif session_key:
        who = f"s:{session_key}"
    else:
        raise InvalidInput(_("Your browser must accept cookies to answer this survey."), code="no_session")
    if not survey.accepting(now):
        if survey.status == S.OPEN and survey.opens_at and now < survey.opens_at:
            raise Conflict(_("This survey is not open yet."), code="survey_not_open")
        raise Conflict(_("This survey is closed."), code="survey_closed")
    if not isinstance(answers, dict):
        raise InvalidInput(_("The answers must be an object of question ids and answers."), field="answers")
    questions = list(survey.questions.order_by("order", "pk"))
    by_id = {str(q.pk): q for q in questions}
    given: dict[str, Any] = {}
    for key, value in answers.items():
        qid = str(key)[1:] if str(key).startswith("q") else str(key)
        if qid not in by_id:
            raise InvalidInput(
                _("This survey has no question %(id)s.") % {"id": key},
                field="answers",
                code="unknown_question",
            )
        given[qid] = value
    rows = [a for q in questions if (a := _clean_answer(q, given.get(str(q.pk)))) is not None]
    if not rows:
        raise InvalidInput(_("Please answer at least one question."), field="answers", code="empty")
    place = _commune(city, commune)
    channel = _choice(channel, Response.Channel, "channel")
    key = respondent_key(city, survey.code, who)
    try:
        with transaction.atomic():
            last = (
                Response.objects.select_for_update()
                .filter(survey=survey, respondent_key=key)
                .order_by("-wave")
                .first()
            )
            wave = 1
            if last is not None:
                again = last.submitted_at + dt.timedelta(days=survey.repeat_days)
                if not survey.repeat_days:
                    raise Conflict(
                        _("You have already answered this survey. Thank you!"), code="already_answered"
                    )
                if now < again:
                    raise Conflict(
                        _("You have already answered this survey. You can answer again from %(date)s.")
                        % {"date": timezone.localtime(again).date().strftime("%d/%m/%Y")},
                        code="already_answered",
                    )
                wave = last.wave + 1
            response = Response.objects.create(
                city=city,
                survey=survey,
                respondent_key=key,
                wave=wave,
                commune=place,
                submitted_at=now,
                channel=channel,
                respondent=actor if signed_in and not survey.anonymous_results else None,
            )
            for answer in rows:
                answer.response = response
            Answer.objects.bulk_create(rows)
            # The audit trail says who took part, not which response is theirs.
            audit.record(
                actor=actor if signed_in else None,
                action=AuditEvent.Action.CREATE,
                object_type="surveys.response",
                city=city,
                summary=survey.title_vi,
                details={"survey": survey.code, "channel": channel},
                request=request,
            )
    except IntegrityError:
        raise Conflict(_("You have already answered this survey. Thank you!"), code="already_answered")
    return response
