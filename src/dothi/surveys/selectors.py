"""Reads of the surveys module, always scoped by city: open surveys, one survey, a survey's results (per
question distribution, mean, NPS, CSAT, by commune with small groups suppressed), the CSV export of the
answers (without identities) and the NPS prompt of the home page.

NPS = % promoters (9–10) − % detractors (0–6) of the 0–10 answers, from −100 to 100.
CSAT = % of the 1–5 answers that are 4 or 5.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter as Tally
from typing import Any

from django.db.models import Avg, Count, Exists, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from dothi.core.errors import NotFound
from dothi.core.models import City, Commune
from dothi.surveys.models import APP_NPS_CODE, Answer, Question, Response, Survey
from dothi.surveys.services import user_key

MIN_GROUP = 5  # groups (communes) with fewer responses are not shown
QK = Question.Kind


def nps(promoters: int, detractors: int, total: int) -> float | None:
    """Net Promoter Score from the counts, rounded to one decimal; None without answers."""
    if not total:
        return None
    return round(100.0 * (promoters - detractors) / total, 1)


def csat(satisfied: int, total: int) -> float | None:
    """Share (%) of 1–5 answers that are 4 or 5, one decimal; None without answers."""
    if not total:
        return None
    return round(100.0 * satisfied / total, 1)


def _accepting(qs, now):
    return qs.filter(status=Survey.Status.OPEN).filter(
        Q(opens_at__isnull=True) | Q(opens_at__lte=now), Q(closes_at__isnull=True) | Q(closes_at__gt=now)
    )


def open_surveys(city: City, *, now: dt.datetime | None = None) -> list[Survey]:
    """The surveys people may answer now, newest first."""
    now = now or timezone.now()
    return list(_accepting(Survey.objects.for_city(city), now).annotate(question_count=Count("questions")))


def answered_codes(city: City, user, surveys: list[Survey]) -> set[str]:
    """Of `surveys`, the codes of those the signed-in `user` answered (one query)."""
    if not getattr(user, "is_authenticated", False) or not surveys:
        return set()
    keys = {user_key(city, s.code, user): s.code for s in surveys}
    found = Response.objects.filter(survey__in=surveys, respondent_key__in=list(keys)).values_list(
        "respondent_key", flat=True
    )
    return {keys[k] for k in found}


def public_survey(city: City, code: str) -> Survey:
    """A survey people can see (open or closed; drafts are NotFound), with its questions."""
    survey = (
        Survey.objects.for_city(city)
        .exclude(status=Survey.Status.DRAFT)
        .prefetch_related("questions")
        .filter(code=code)
        .first()
    )
    if survey is None:
        raise NotFound(_("No such survey."))
    return survey


def survey_of(city: City, code: str) -> Survey:
    """Any survey of the city (staff)."""
    survey = Survey.objects.for_city(city).filter(code=code).prefetch_related("questions").first()
    if survey is None:
        raise NotFound(_("No such survey."))
    return survey


def surveys(city: City) -> list[Survey]:
    """Every survey of the city with its response count, newest first (staff)."""
    return list(
        Survey.objects.for_city(city).annotate(
            response_count=Count("responses", distinct=True), question_count=Count("questions", distinct=True)
        )
    )


def next_nps_prompt(city: City, user, *, now: dt.datetime | None = None) -> Survey | None:
    """The app NPS survey when the signed-in citizen should be asked it: open, and not answered by them in
    its repeat interval. One query."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_citizen", False):
        return None
    now = now or timezone.now()
    key = user_key(city, APP_NPS_CODE, user)
    qs = _accepting(Survey.objects.filter(city=city, code=APP_NPS_CODE), now)
    recent = Response.objects.filter(
        survey=OuterRef("pk"), respondent_key=key, submitted_at__gt=now - dt.timedelta(days=90)
    )
    survey = (
        qs.annotate(recent=Exists(recent)).only("pk", "code", "title_vi", "title_en", "repeat_days").first()
    )
    if survey is None or survey.recent:
        return None
    if survey.repeat_days != 90:  # changed by the city: check its own interval (rare)
        since = now - dt.timedelta(days=survey.repeat_days or 36500)
        if Response.objects.filter(survey=survey, respondent_key=key, submitted_at__gt=since).exists():
            return None
    return survey


# --- Results --------------------------------------------------------------------------------------------


def _bars(counts: list[tuple[str, int]], total: int) -> list[dict[str, Any]]:
    top = max((n for _label, n in counts), default=0)
    return [
        {
            "label": label,
            "count": n,
            "pct": round(100.0 * n / total, 1) if total else 0.0,
            "width": round(100.0 * n / top, 1) if top else 0.0,
        }
        for label, n in counts
    ]


def _numeric(question: Question, base) -> dict[str, Any]:
    rows = dict(base.filter(question=question).values_list("number").annotate(n=Count("id")))
    lo, hi = (0, 10) if question.kind == QK.NPS else (1, 5)
    counts = [(str(v), rows.get(v, 0)) for v in range(lo, hi + 1)]
    total = sum(n for _v, n in counts)
    mean = round(sum(v * n for v, n in rows.items()) / total, 2) if total else None
    out: dict[str, Any] = {"answered": total, "bars": _bars(counts, total), "mean": mean}
    if question.kind == QK.NPS:
        promoters = rows.get(9, 0) + rows.get(10, 0)
        detractors = sum(rows.get(v, 0) for v in range(0, 7))
        out.update(
            nps=nps(promoters, detractors, total),
            promoters=promoters,
            detractors=detractors,
            passives=total - promoters - detractors,
        )
    else:
        satisfied = rows.get(4, 0) + rows.get(5, 0)
        out.update(csat=csat(satisfied, total), satisfied=satisfied)
    return out


def _by_commune(question: Question, base, min_group: int) -> dict[str, Any]:
    """Per commune: responses, mean and NPS or CSAT; communes with fewer than `min_group` answers are left
    out (counted in `suppressed`), answers without a commune are not a group."""
    agg = (
        base.filter(question=question, response__commune__isnull=False)
        .values("response__commune")
        .annotate(
            n=Count("id"),
            mean=Avg("number"),
            high=Count("id", filter=Q(number__gte=9) if question.kind == QK.NPS else Q(number__gte=4)),
            low=Count("id", filter=Q(number__lte=6)),
        )
    )
    rows, suppressed = [], 0
    shown = []
    for row in agg:
        if row["n"] < min_group:
            suppressed += 1
        else:
            shown.append(row)
    names = dict(
        Commune.objects.filter(pk__in=[r["response__commune"] for r in shown]).values_list("pk", "name")
    )
    for row in shown:
        rows.append(
            {
                "commune": names.get(row["response__commune"], row["response__commune"]),
                "count": row["n"],
                "mean": round(row["mean"], 2),
                "score": nps(row["high"], row["low"], row["n"])
                if question.kind == QK.NPS
                else csat(row["high"], row["n"]),
            }
        )
    rows.sort(key=lambda r: (-r["count"], r["commune"]))
    return {"rows": rows, "suppressed": suppressed, "min_group": min_group}


def _choice_counts(question: Question, base) -> dict[str, Any]:
    tally: Tally[str] = Tally()
    answered = 0
    for chosen in base.filter(question=question).values_list("choices", flat=True).iterator():
        answered += 1
        tally.update(chosen or [])
    counts = [(label, tally.get(code, 0)) for code, label in question.localised_choices()]
    return {"answered": answered, "bars": _bars(counts, answered)}


def results(
    survey: Survey, *, start: dt.date | None = None, end: dt.date | None = None, min_group: int = MIN_GROUP
) -> dict[str, Any]:
    """The survey's results, optionally for responses submitted in the city's local dates [start, end)."""
    responses = Response.objects.filter(city=survey.city, survey=survey)
    base = Answer.objects.filter(response__survey=survey, response__city=survey.city)
    if start or end:
        from zoneinfo import ZoneInfo

        tz = ZoneInfo(survey.city.time_zone)
        if start:
            since = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
            responses, base = (
                responses.filter(submitted_at__gte=since),
                base.filter(response__submitted_at__gte=since),
            )
        if end:
            until = dt.datetime.combine(end, dt.time.min, tzinfo=tz)
            responses, base = (
                responses.filter(submitted_at__lt=until),
                base.filter(response__submitted_at__lt=until),
            )
    questions = []
    for question in survey.questions.order_by("order", "pk"):
        item: dict[str, Any] = {
            "question": question,
            "id": question.pk,
            "kind": question.kind,
            "text": question.text,
            "indicator_code": question.indicator_code,
        }
        if question.is_numeric:
            item.update(_numeric(question, base))
            item["by_commune"] = _by_commune(question, base, min_group)
        elif question.kind in (QK.SINGLE, QK.MULTIPLE):
            item.update(_choice_counts(question, base))
        else:
            item["answered"] = base.filter(question=question).exclude(text="").count()
        questions.append(item)
    return {"survey": survey, "responses": responses.count(), "questions": questions}


def export_csv(survey: Survey) -> str:
    """Every response as one CSV row: a sequence number, the day, the commune, the channel and one column
    per question (a number, the chosen codes joined by "|", or the text). No account, no key, no time of
    day: nothing that names or singles out the person."""
    questions = list(survey.questions.order_by("order", "pk"))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "response",
            "date",
            "commune",
            "channel",
            *[f"q{n}_{q.kind}" for n, q in enumerate(questions, start=1)],
        ]
    )
    answers: dict[int, dict[int, Answer]] = {}
    for a in (
        Answer.objects.filter(response__survey=survey, response__city=survey.city)
        .only("response_id", "question_id", "number", "text", "choices")
        .iterator()
    ):
        answers.setdefault(a.response_id, {})[a.question_id] = a
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(survey.city.time_zone)
    rows = (
        Response.objects.filter(survey=survey, city=survey.city)
        .order_by("submitted_at", "pk")
        .values_list("pk", "submitted_at", "commune_id", "channel")
    )
    for n, (pk, at, commune, channel) in enumerate(rows, start=1):
        given = answers.get(pk, {})
        cells = []
        for q in questions:
            a = given.get(q.pk)
            if a is None:
                cells.append("")
            elif q.is_numeric:
                cells.append(a.number)
            elif q.kind == QK.TEXT:
                cells.append(a.text)
            else:
                cells.append("|".join(a.choices))
        writer.writerow([n, at.astimezone(tz).date().isoformat(), commune or "", channel, *cells])
    return out.getvalue()


# --- Calculators' reads (aggregated in SQL) ---------------------------------------------------------------


def _span(city: City, start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(city.time_zone)
    return dt.datetime.combine(start, dt.time.min, tzinfo=tz), dt.datetime.combine(
        end, dt.time.min, tzinfo=tz
    )


def nps_counts(city: City, start: dt.date, end: dt.date, *, by_commune: bool = False):
    """(promoters, detractors, total) of the app NPS survey's 0–10 answers submitted in [start, end); per
    commune pk with `by_commune`."""
    since, until = _span(city, start, end)
    qs = Answer.objects.filter(
        response__city=city,
        response__survey__code=APP_NPS_CODE,
        question__kind=QK.NPS,
        response__submitted_at__gte=since,
        response__submitted_at__lt=until,
        number__isnull=False,
    )
    aggregates = {
        "p": Count("id", filter=Q(number__gte=9)),
        "d": Count("id", filter=Q(number__lte=6)),
        "n": Count("id"),
    }
    if by_commune:
        rows = qs.filter(response__commune__isnull=False).values("response__commune").annotate(**aggregates)
        return {r["response__commune"]: (r["p"], r["d"], r["n"]) for r in rows}
    row = qs.aggregate(**aggregates)
    return row["p"], row["d"], row["n"]


def feedback_counts(
    city: City, start: dt.date, end: dt.date, subject_type: str | None = None
) -> tuple[int, int]:
    """(ratings 4–5, all ratings) of core.Feedback given in [start, end), of one subject type or all."""
    from dothi.core.models import Feedback

    since, until = _span(city, start, end)
    qs = Feedback.objects.for_city(city).filter(created_at__gte=since, created_at__lt=until)
    if subject_type:
        qs = qs.filter(subject_type=subject_type)
    row = qs.aggregate(high=Count("id", filter=Q(rating__gte=4)), n=Count("id"))
    return row["high"], row["n"]


def indicator_counts(city: City, start: dt.date, end: dt.date) -> dict[str, dict[str, Any]]:
    """Per indicator code measured by a question of the city's surveys: its kind, and over the answers
    submitted in [start, end) the count, sum, promoters and detractors (codes without answers too)."""
    since, until = _span(city, start, end)
    codes = dict(
        Question.objects.filter(survey__city=city)
        .exclude(indicator_code="")
        .values_list("indicator_code", "kind")
        .distinct()
    )
    out = {code: {"kind": kind, "n": 0, "sum": 0, "p": 0, "d": 0} for code, kind in codes.items()}
    if not codes:
        return out
    rows = (
        Answer.objects.filter(
            response__city=city,
            question__survey__city=city,
            question__indicator_code__in=list(codes),
            response__submitted_at__gte=since,
            response__submitted_at__lt=until,
            number__isnull=False,
        )
        .values("question__indicator_code")
        .annotate(
            n=Count("id"),
            total=Sum("number"),
            p=Count("id", filter=Q(number__gte=9)),
            d=Count("id", filter=Q(number__lte=6)),
        )
    )
    for r in rows:
        out[r["question__indicator_code"]].update(n=r["n"], sum=r["total"], p=r["p"], d=r["d"])
    return out
