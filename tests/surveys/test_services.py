"""The surveys' writes: who may build a survey, what a builder may change and when, and answering —
validation per question kind (nothing stored on a refusal), one response per person, closed and
not-yet-open surveys, the app NPS survey asked again only after 90 days, anonymity."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone, translation

from dothi.core.errors import Conflict, InvalidInput
from dothi.core.models import AuditEvent
from dothi.surveys import services
from dothi.surveys.models import APP_NPS_CODE, Answer, Question, Response, Survey
from tests.surveys.conftest import CHOICES, good_answers

pytestmark = pytest.mark.django_db


def _stored() -> tuple[int, int]:
    return Response.objects.count(), Answer.objects.count()


# --- Building -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["agency_manager", "council_member", "city_admin", "platform_admin"])
def test_managers_create_a_survey(cast, city, role):
    s = services.survey_create(actor=cast[role], city=city, code="y-te", title_vi="Khảo sát y tế")
    assert (s.status, s.kind, s.audience, s.anonymous_results) == ("draft", "custom", "citizens", True)
    assert AuditEvent.objects.filter(
        action="create", object_type="surveys.survey", object_id=str(s.pk)
    ).exists()


@pytest.mark.parametrize("role", ["anonymous", "citizen", "visitor", "agency_staff", "operator"])
def test_others_may_not_create_a_survey(cast, city, role):
    with pytest.raises(PermissionDenied):
        services.survey_create(actor=cast[role], city=city, code="y-te", title_vi="Khảo sát y tế")
    assert not Survey.objects.exists()


def test_survey_input_is_checked(cast, city, survey):
    actor = cast["council_member"]
    with translation.override("en"):
        with pytest.raises(InvalidInput) as bad_code:
            services.survey_create(actor=actor, city=city, code="Khảo sát", title_vi="X")
        with pytest.raises(InvalidInput) as no_title:
            services.survey_create(actor=actor, city=city, code="ok", title_vi="  ")
        with pytest.raises(InvalidInput) as window:
            now = timezone.now()
            services.survey_create(
                actor=actor,
                city=city,
                code="ok",
                title_vi="X",
                opens_at=now,
                closes_at=now - dt.timedelta(hours=1),
            )
        with pytest.raises(Conflict) as dup:
            services.survey_create(actor=actor, city=city, code="dich-vu", title_vi="X")
    assert (bad_code.value.field, no_title.value.field, window.value.field, dup.value.field) == (
        "code",
        "title_vi",
        "closes_at",
        "code",
    )
    assert "close after it opens" in window.value.message
    assert Survey.objects.count() == 1


def test_questions_change_only_while_draft(cast, city):
    actor = cast["council_member"]
    s = services.survey_create(actor=actor, city=city, code="y-te", title_vi="Y tế")
    with pytest.raises(InvalidInput) as no_questions:
        services.survey_open(actor=actor, survey=s)
    assert no_questions.value.field == "questions"
    a = services.question_add(actor=actor, survey=s, kind="rating_1_5", text_vi="Hài lòng?")
    b = services.question_add(actor=actor, survey=s, kind="single", text_vi="Nơi?", choices=CHOICES)
    c = services.question_add(actor=actor, survey=s, kind="text", text_vi="Góp ý?", required=False)
    assert [a.order, b.order, c.order] == [1, 2, 3]
    services.questions_reorder(actor=actor, survey=s, order=[c.pk, a.pk, b.pk])
    assert list(s.questions.order_by("order").values_list("pk", flat=True)) == [c.pk, a.pk, b.pk]
    with pytest.raises(InvalidInput):
        services.questions_reorder(actor=actor, survey=s, order=[c.pk, a.pk])
    services.question_delete(actor=actor, question=c)
    assert list(s.questions.order_by("order").values_list("order", "pk")) == [(1, a.pk), (2, b.pk)]
    services.survey_open(actor=actor, survey=s)
    with pytest.raises(Conflict):
        services.question_add(actor=actor, survey=s, kind="text", text_vi="Thêm?")
    with pytest.raises(Conflict):
        services.question_delete(actor=actor, question=a)
    with pytest.raises(Conflict):
        services.survey_update(actor=actor, survey=s, audience="everyone")
    services.survey_update(actor=actor, survey=s, title_en="Health")
    services.survey_close(actor=actor, survey=s)
    s.refresh_from_db()
    assert (s.status, s.title_en, s.questions.count()) == ("closed", "Health", 2)
    with pytest.raises(Conflict):
        services.survey_close(actor=actor, survey=s)


def test_question_input_is_checked(cast, city):
    actor = cast["agency_manager"]
    s = services.survey_create(actor=actor, city=city, code="y-te", title_vi="Y tế")
    cases = [
        dict(kind="scale", text_vi="?"),
        dict(kind="single", text_vi="?", choices=[{"code": "a", "label_vi": "A"}]),  # one choice
        dict(
            kind="single",
            text_vi="?",
            choices=[{"code": "a", "label_vi": "A"}, {"code": "a", "label_vi": "B"}],
        ),
        dict(kind="multiple", text_vi="?", choices="a,b"),
        dict(kind="text", text_vi="?", choices=CHOICES),
        dict(kind="text", text_vi="?", indicator_code="x.y"),  # text measures nothing
        dict(kind="rating_1_5", text_vi=""),
    ]
    fields = []
    for case in cases:
        with pytest.raises(InvalidInput) as exc:
            services.question_add(actor=actor, survey=s, **case)
        fields.append(exc.value.field)
    assert fields == ["kind", "choices", "choices", "choices", "choices", "indicator_code", "text_vi"]
    services.question_add(actor=actor, survey=s, kind="rating_1_5", text_vi="?", indicator_code="x.y")
    with pytest.raises(Conflict):  # one indicator, one kind of question
        services.question_add(actor=actor, survey=s, kind="nps_0_10", text_vi="?", indicator_code="x.y")
    assert s.questions.count() == 1


def test_an_nps_survey_needs_a_0_to_10_question(cast, city):
    actor = cast["city_admin"]
    s = services.survey_create(actor=actor, city=city, code="nps-2", title_vi="NPS", kind="nps")
    services.question_add(actor=actor, survey=s, kind="rating_1_5", text_vi="?")
    with pytest.raises(InvalidInput):
        services.survey_open(actor=actor, survey=s)
    services.question_add(actor=actor, survey=s, kind="nps_0_10", text_vi="?")
    assert services.survey_open(actor=actor, survey=s).status == "open"


def test_ensure_app_nps_is_idempotent(city):
    s = services.ensure_app_nps(city)
    again = services.ensure_app_nps(city)
    assert again.pk == s.pk and s.code == APP_NPS_CODE and s.kind == "nps" and s.status == "open"
    assert s.repeat_days == 90
    assert list(s.questions.values_list("kind", "required")) == [("nps_0_10", True), ("text", False)]
    assert Survey.objects.filter(city=city).count() == 1


# --- Answering -----------------------------------------------------------------------------------------


def test_a_citizen_answers(cast, survey, q, communes):
    r = services.respond(actor=cast["citizen"], survey=survey, answers=good_answers(q), commune="20194")
    got = {a.question.kind: (a.number, a.text, a.choices) for a in r.answers.select_related("question")}
    assert got == {
        "nps_0_10": (9, "", []),
        "rating_1_5": (4, "", []),
        "single": (None, "", ["web"]),
        "multiple": (None, "", ["app", "office"]),
        "text": (None, "Tốt", []),
    }
    assert r.commune_id == "20194" and r.respondent_id is None and r.wave == 1
    assert r.respondent_key == services.user_key(survey.city, survey.code, cast["citizen"])
    # The audit trail names the survey, not the response.
    event = AuditEvent.objects.get(object_type="surveys.response")
    assert (event.object_id, event.actor_id, event.details["survey"]) == ("", cast["citizen"].pk, "dich-vu")


def test_numbers_may_come_as_digits_and_optional_questions_may_be_skipped(cast, survey, q):
    answers = {
        f"q{q['nps_0_10'].pk}": "10",
        str(q["rating_1_5"].pk): "1",
        str(q["single"].pk): "app",
        str(q["multiple"].pk): [],
        str(q["text"].pk): "   ",
    }
    r = services.respond(actor=cast["citizen"], survey=survey, answers=answers)
    assert sorted(r.answers.values_list("number", flat=True), key=lambda n: (n is None, n)) == [1, 10, None]
    assert r.answers.count() == 3


BAD = [
    ("nps_0_10", 11, "Choose a score from 0 to 10."),
    ("nps_0_10", -1, "Choose a score from 0 to 10."),
    ("nps_0_10", 7.5, "Choose a score from 0 to 10."),
    ("nps_0_10", True, "Choose a score from 0 to 10."),
    ("nps_0_10", "bảy", "Choose a score from 0 to 10."),
    ("nps_0_10", None, "Please answer this question."),
    ("rating_1_5", 0, "Choose a rating from 1 to 5."),
    ("rating_1_5", 6, "Choose a rating from 1 to 5."),
    ("rating_1_5", "", "Please answer this question."),
    ("single", "phone", "Choose one of the answers offered."),
    ("single", ["web", "app"], "Choose one of the answers offered."),
    ("multiple", ["web", "web"], "Choose only among the answers offered, each at most once."),
    ("multiple", ["fax"], "Choose only among the answers offered, each at most once."),
    ("text", "x" * 2001, "The text must be at most 2000 characters."),
    ("text", 12, "This must be text."),
]


@pytest.mark.parametrize(("kind", "value", "message"), BAD)
def test_bad_answers_are_refused_and_nothing_is_stored(cast, survey, q, kind, value, message):
    with translation.override("en"), pytest.raises(InvalidInput) as exc:
        services.respond(actor=cast["citizen"], survey=survey, answers=good_answers(q, **{kind: value}))
    assert exc.value.field == f"q{q[kind].pk}"
    assert exc.value.message == message
    assert _stored() == (0, 0)
    assert not AuditEvent.objects.filter(object_type="surveys.response").exists()


def test_unknown_question_commune_and_empty_answers_are_refused(cast, survey, q, communes):
    citizen = cast["citizen"]
    with pytest.raises(InvalidInput) as unknown:
        services.respond(actor=citizen, survey=survey, answers={**good_answers(q), "999999": 1})
    with pytest.raises(InvalidInput) as commune:
        services.respond(actor=citizen, survey=survey, answers=good_answers(q), commune="79000")
    with pytest.raises(InvalidInput) as not_dict:
        services.respond(actor=citizen, survey=survey, answers=[9, 4])
    assert (unknown.value.field, commune.value.field, not_dict.value.field) == (
        "answers",
        "commune",
        "answers",
    )
    assert _stored() == (0, 0)


def test_one_response_per_person(cast, survey, q):
    services.respond(actor=cast["citizen"], survey=survey, answers=good_answers(q))
    with pytest.raises(Conflict) as exc:
        services.respond(actor=cast["citizen"], survey=survey, answers=good_answers(q, nps_0_10=0))
    assert exc.value.code == "already_answered"
    services.respond(actor=_another_citizen(survey.city), survey=survey, answers=good_answers(q))
    assert _stored() == (2, 10)
    # Two people get two different keys.
    assert Response.objects.values("respondent_key").distinct().count() == 2


def _another_citizen(city):
    from tests import factories

    return factories.make_citizen(city)


@pytest.mark.parametrize("state", ["closed", "draft", "ended", "not_yet"])
def test_a_survey_that_is_not_open_refuses_answers(cast, survey, q, state):
    now = timezone.now()
    if state in ("closed", "draft"):
        survey.status = state
    elif state == "ended":
        survey.closes_at = now - dt.timedelta(minutes=1)
    else:
        survey.opens_at = now + dt.timedelta(days=1)
    survey.save()
    with pytest.raises(Conflict) as exc:
        services.respond(actor=cast["citizen"], survey=survey, answers=good_answers(q), now=now)
    assert exc.value.code == ("survey_not_open" if state == "not_yet" else "survey_closed")
    assert _stored() == (0, 0)


@pytest.mark.parametrize("role", ["anonymous", "agency_staff", "city_admin"])
def test_a_survey_for_citizens_refuses_others(cast, survey, q, role):
    with pytest.raises(PermissionDenied):
        services.respond(actor=cast[role], survey=survey, answers=good_answers(q))
    assert _stored() == (0, 0)


def test_a_survey_for_everyone_takes_one_answer_per_browser_session(cast, survey, q):
    survey.audience = Survey.Audience.EVERYONE
    survey.save()
    services.respond(actor=None, survey=survey, answers=good_answers(q), session_key="abc123")
    with pytest.raises(Conflict):
        services.respond(actor=None, survey=survey, answers=good_answers(q), session_key="abc123")
    with pytest.raises(InvalidInput):
        services.respond(actor=None, survey=survey, answers=good_answers(q), session_key="")
    services.respond(actor=cast["agency_staff"], survey=survey, answers=good_answers(q))
    assert Response.objects.count() == 2
    actors = list(
        AuditEvent.objects.filter(object_type="surveys.response").values_list("actor_id", flat=True)
    )
    assert actors == [None, cast["agency_staff"].pk] or actors == [cast["agency_staff"].pk, None]


def test_named_results_keep_the_account(cast, survey, q):
    survey.anonymous_results = False
    survey.save()
    r = services.respond(actor=cast["citizen"], survey=survey, answers=good_answers(q))
    assert r.respondent_id == cast["citizen"].pk


def test_the_app_nps_survey_is_asked_again_after_90_days(cast, city):
    s = services.ensure_app_nps(city)
    nps_q = s.questions.get(kind=Question.Kind.NPS)
    start = timezone.now() - dt.timedelta(days=200)
    citizen = cast["citizen"]
    first = services.respond(actor=citizen, survey=s, answers={str(nps_q.pk): 6}, now=start)
    with pytest.raises(Conflict) as exc:
        services.respond(
            actor=citizen, survey=s, answers={str(nps_q.pk): 8}, now=start + dt.timedelta(days=89)
        )
    assert exc.value.code == "already_answered"
    second = services.respond(
        actor=citizen, survey=s, answers={str(nps_q.pk): 8}, now=start + dt.timedelta(days=90)
    )
    assert (first.wave, second.wave, first.respondent_key == second.respondent_key) == (1, 2, True)
