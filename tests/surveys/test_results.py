"""Results and calculators against hand-computed values: NPS, CSAT, means, distributions, small communes
suppressed, the CSV export without identities, the KPI calculators (app NPS, CSAT over core.Feedback,
per subject type) and the indicator values, with empty periods missing (None), never zero; the home
page's NPS prompt in one query."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.test import RequestFactory

from dothi.core.manifests import Period, registry
from dothi.core.models import Feedback
from dothi.surveys import kpis, selectors, services
from dothi.surveys.models import Answer, Question, Response
from tests import factories
from tests.surveys.conftest import good_answers

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MARCH = Period(dt.date(2026, 3, 1), dt.date(2026, 4, 1))
APRIL = Period(dt.date(2026, 4, 1), dt.date(2026, 5, 1))


def at(day: int, hour: int = 10, month: int = 3) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=TZ)


def test_nps_and_csat_formulas():
    # 4 promoters, 2 detractors of 8: 50 % − 25 % = 25.
    assert selectors.nps(4, 2, 8) == 25.0
    assert selectors.nps(0, 3, 3) == -100.0
    assert selectors.nps(1, 2, 3) == -33.3
    assert selectors.nps(0, 0, 0) is None
    assert selectors.csat(3, 5) == 60.0
    assert selectors.csat(0, 0) is None


def _answer(survey, q, answers_by_kind: dict, *, when=None, commune=None):
    """Store one response directly (scores placed in the past), as the demo does."""
    n = Response.objects.filter(survey=survey).count()
    r = Response.objects.create(
        city=survey.city,
        survey=survey,
        respondent_key=f"k{n}",
        commune_id=commune,
        submitted_at=when or at(10),
    )
    for kind, value in answers_by_kind.items():
        question = q[kind]
        if question.is_numeric:
            Answer.objects.create(response=r, question=question, number=value)
        elif kind == "text":
            Answer.objects.create(response=r, question=question, text=value)
        else:
            Answer.objects.create(response=r, question=question, choices=value)
    return r


def test_results_per_question(survey, q, communes):
    a, b = communes
    scores = [10, 10, 9, 8, 7, 6, 0, 9]  # promoters 4, passives 2, detractors 2
    ratings = [5, 4, 4, 3, 2, 5, 1, 4]  # 4–5: 5 of 8
    for i, (s, r) in enumerate(zip(scores, ratings, strict=True)):
        _answer(
            survey,
            q,
            {
                "nps_0_10": s,
                "rating_1_5": r,
                "single": ["web" if i < 5 else "app"],
                "multiple": ["app", "office"] if i % 2 else ["office"],
            },
            commune=a.code if i < 6 else b.code,
        )
    found = selectors.results(survey)
    assert found["responses"] == 8
    nps_item, rating_item, single, multiple, text = found["questions"]
    assert (
        nps_item["answered"],
        nps_item["nps"],
        nps_item["promoters"],
        nps_item["detractors"],
        nps_item["passives"],
    ) == (8, 25.0, 4, 2, 2)
    assert nps_item["mean"] == 7.38  # 59 / 8
    assert [bar["count"] for bar in nps_item["bars"]] == [1, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2]
    assert rating_item["csat"] == 62.5 and rating_item["mean"] == 3.5  # 28 / 8
    assert [(bar["label"], bar["count"], bar["pct"]) for bar in rating_item["bars"]] == [
        ("1", 1, 12.5),
        ("2", 1, 12.5),
        ("3", 1, 12.5),
        ("4", 3, 37.5),
        ("5", 2, 25.0),
    ]
    assert [(bar["label"], bar["count"]) for bar in single["bars"]] == [
        ("Trang web", 5),
        ("Ứng dụng", 3),
        ("Tại quầy", 0),
    ]
    assert [(bar["count"], bar["pct"]) for bar in multiple["bars"]] == [(0, 0.0), (4, 50.0), (8, 100.0)]
    assert text["answered"] == 0
    # By commune: Hải Châu has 6 answers (shown), Thanh Khê 2 (suppressed).
    by = nps_item["by_commune"]
    assert by["suppressed"] == 1
    # Hải Châu: 10, 10, 9, 8, 7, 6 -> promoters 3, detractors 1 of 6 -> 33.3; mean 50/6.
    assert by["rows"] == [{"commune": "Phường Hải Châu", "count": 6, "mean": 8.33, "score": 33.3}]
    # CSAT in Hải Châu: 5, 4, 4, 3, 2, 5 -> 4 of 6.
    assert rating_item["by_commune"]["rows"][0]["score"] == 66.7


def test_results_of_a_period(survey, q):
    _answer(survey, q, {"nps_0_10": 10}, when=at(31, 23))  # 31 March, 23:00 local
    _answer(survey, q, {"nps_0_10": 0}, when=at(1, 0, month=4))  # 1 April, 00:00 local
    march = selectors.results(survey, start=MARCH.start, end=MARCH.end)
    assert march["responses"] == 1 and march["questions"][0]["nps"] == 100.0


def test_csv_export_has_no_identities(cast, survey, q, communes):
    citizen = cast["citizen"]
    survey.anonymous_results = False
    survey.save()
    services.respond(
        actor=citizen, survey=survey, answers=good_answers(q, text="Rất tốt, cảm ơn"), commune="20194"
    )
    rows = list(csv.reader(io.StringIO(selectors.export_csv(survey))))
    assert rows[0] == [
        "response",
        "date",
        "commune",
        "channel",
        "q1_nps_0_10",
        "q2_rating_1_5",
        "q3_single",
        "q4_multiple",
        "q5_text",
    ]
    assert rows[1][0] == "1" and rows[1][2:] == [
        "20194",
        "web",
        "9",
        "4",
        "web",
        "app|office",
        "Rất tốt, cảm ơn",
    ]
    body = selectors.export_csv(survey)
    key = Response.objects.get().respondent_key
    for secret in (key, citizen.username, citizen.display_name):
        assert secret not in body
    assert Response.objects.get().respondent_id == citizen.pk  # kept in the database, not exported


# --- Calculators ---------------------------------------------------------------------------------------


def _app_nps_answers(city, scores_and_times):
    s = services.ensure_app_nps(city)
    nps_q = s.questions.get(kind=Question.Kind.NPS)
    for i, (score, when) in enumerate(scores_and_times):
        r = Response.objects.create(city=city, survey=s, respondent_key=f"nps{i}", submitted_at=when)
        Answer.objects.create(response=r, question=nps_q, number=score)
    return s


def test_app_nps_calculator(city):
    # March: 9, 10, 7, 3, 6 -> promoters 2, detractors 2 of 5 -> 0; April: 10 -> 100.
    _app_nps_answers(
        city, [(9, at(2)), (10, at(15)), (7, at(20)), (3, at(28)), (6, at(31, 23)), (10, at(1, 0, month=4))]
    )
    march = kpis.app_nps(city, MARCH)
    assert (march.value, march.numerator, march.denominator, march.sample_size) == (0.0, 0, 5, 5)
    april = kpis.app_nps(city, APRIL)
    assert april.value == 100.0 and april.sample_size == 1
    empty = kpis.app_nps(city, Period(dt.date(2025, 1, 1), dt.date(2025, 2, 1)))
    assert empty.value is None and empty.sample_size == 0 and empty.note


def test_app_nps_per_ward(city, communes):
    a, b = communes
    s = _app_nps_answers(city, [])
    nps_q = s.questions.get(kind=Question.Kind.NPS)
    for i, (score, commune) in enumerate([(10, a), (9, a), (2, a), (8, b)]):
        r = Response.objects.create(
            city=city, survey=s, respondent_key=f"w{i}", submitted_at=at(5), commune=commune
        )
        Answer.objects.create(response=r, question=nps_q, number=score)
    wards = kpis.app_nps_wards(city, MARCH)
    assert wards[a.code].value == 33.3 and wards[a.code].sample_size == 3
    assert wards[b.code].value == 0.0


def test_app_nps_ignores_other_surveys_and_cities(city, other_city, survey, q):
    _answer(survey, q, {"nps_0_10": 10}, when=at(5))
    _app_nps_answers(other_city, [(10, at(5))])
    assert kpis.app_nps(city, MARCH).value is None


def _feedback(city, subject_type, rating, when, n=[0]):
    n[0] += 1
    Feedback.objects.create(
        city=city, subject_type=subject_type, subject_id=f"S{n[0]}", rating=rating, created_at=when
    )


def test_csat_calculators(city, other_city):
    for rating in (5, 4, 3):  # reports: 2 of 3
        _feedback(city, "reports.report", rating, at(3))
    for rating in (5, 2):  # appointments: 1 of 2
        _feedback(city, "appointments.booking", rating, at(4))
    _feedback(city, "reports.report", 1, at(2, month=4))  # April
    _feedback(other_city, "reports.report", 1, at(3))  # another city
    overall = kpis.csat_all(city, MARCH)
    assert (overall.value, overall.numerator, overall.denominator, overall.sample_size) == (60.0, 3, 5, 5)
    assert kpis.csat_reports(city, MARCH).value == 66.7
    assert kpis.csat_appointments(city, MARCH).value == 50.0
    assert kpis.csat_reports(city, APRIL).value == 0.0  # one rating, a 1: measured, and it is zero
    for calc in (kpis.csat_all, kpis.csat_reports, kpis.csat_appointments):
        empty = calc(city, Period(dt.date(2025, 1, 1), dt.date(2025, 2, 1)))
        assert empty.value is None and empty.note
    assert kpis.csat_appointments(city, APRIL).value is None


def test_indicator_values(city, survey, q):
    services.ensure_app_nps(city)
    other = q["nps_0_10"]
    other.indicator_code = "surveys.recommend"
    other.save()
    for nps_score, rating in [(10, 5), (9, 4), (3, 3)]:
        _answer(survey, q, {"nps_0_10": nps_score, "rating_1_5": rating}, when=at(8))
    values = registry.provided("surveys.indicator_values")(city, MARCH)
    assert set(values) == {"surveys.service_rating", "surveys.recommend"}
    assert values["surveys.service_rating"].value == 4.0  # 12 / 3
    assert values["surveys.service_rating"].sample_size == 3
    assert values["surveys.recommend"].value == 33.3  # (2 − 1) / 3
    empty = registry.provided("surveys.indicator_values")(city, APRIL)
    assert {code: v.value for code, v in empty.items()} == {
        "surveys.service_rating": None,
        "surveys.recommend": None,
    }


def test_calculators_are_declared():
    codes = {k.code: k for k in registry.kpis() if k.code.startswith("surveys.")}
    assert set(codes) == {
        "surveys.app_nps",
        "surveys.csat",
        "surveys.csat_reports",
        "surveys.csat_appointments",
    }
    assert codes["surveys.app_nps"].unit == "NPS" and codes["surveys.csat"].unit == "%"
    assert all(str(k.method) for k in codes.values())


# --- The home page's prompt ------------------------------------------------------------------------------


def _request(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def test_nps_prompt_for_citizens_who_have_not_answered(cast, city, django_assert_num_queries):
    from django.contrib.auth.models import AnonymousUser

    s = services.ensure_app_nps(city)
    notices = registry.get("surveys").home_notices
    citizen = cast["citizen"]
    with django_assert_num_queries(1):
        found = notices(_request(citizen), city)
    assert [n["url"] for n in found] == ["/surveys/app-nps/"]
    for user in (AnonymousUser(), cast["agency_staff"], cast["city_admin"]):
        assert notices(_request(user), city) == []
    nps_q = s.questions.get(kind=Question.Kind.NPS)
    services.respond(actor=citizen, survey=s, answers={str(nps_q.pk): 8})
    assert notices(_request(citizen), city) == []
    # 91 days later, asked again.
    Response.objects.update(submitted_at=dt.datetime.now(TZ) - dt.timedelta(days=91))
    assert len(notices(_request(citizen), city)) == 1
    assert len(notices(_request(factories.make_citizen(city)), city)) == 1
    s.status = "closed"
    s.save()
    assert notices(_request(citizen), city) == []
