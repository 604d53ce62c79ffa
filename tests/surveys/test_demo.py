"""The surveys demo seeder: the app NPS survey with 200 answers over the past year from the demo
citizens (second answers at least 90 days after the first), the online public services survey with
120 answers and three questions; what the services guarantee holds; the calculators and the indicator
values have data; idempotent and deterministic."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db.models import Count, Max, Min

from dothi.core.demo import DEMO_SEED, _seed_organisations, _seed_people
from dothi.core.manifests import Period, registry
from dothi.surveys import demo, kpis, selectors, services
from dothi.surveys.models import APP_NPS_CODE, Answer, Response, Survey

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def demo_city(city, communes):
    orgs = _seed_organisations(city, NOW)
    _seed_people(city, orgs, random.Random(DEMO_SEED), NOW)
    return city


def _seed(city):
    demo.seed(city=city, rng=random.Random(f"{DEMO_SEED}:surveys"), now=NOW)


def test_demo_seeds_believable_surveys(demo_city):
    city = demo_city
    _seed(city)
    nps = Survey.objects.get(city=city, code=APP_NPS_CODE)
    online = Survey.objects.get(city=city, code=demo.ONLINE_CODE)
    assert (nps.status, online.status, online.title_vi) == (
        "open",
        "open",
        "Hài lòng với dịch vụ công trực tuyến",
    )
    assert online.questions.count() == 3
    assert Response.objects.filter(survey=nps).count() == demo.NPS_RESPONSES
    assert Response.objects.filter(survey=online).count() == demo.ONLINE_RESPONSES
    span = Response.objects.filter(survey=nps).aggregate(first=Min("submitted_at"), last=Max("submitted_at"))
    assert span["last"] <= NOW and NOW - span["first"] <= dt.timedelta(days=366)
    assert NOW - span["first"] > dt.timedelta(days=300)  # spread over the year
    # One response per person and wave; second waves at least 90 days after the first.
    per_key = {}
    for key, wave, at in Response.objects.filter(survey=nps).values_list(
        "respondent_key", "wave", "submitted_at"
    ):
        per_key.setdefault(key, {})[wave] = at
    assert any(2 in waves for waves in per_key.values())
    for waves in per_key.values():
        assert set(waves) <= {1, 2}
        if 2 in waves:
            assert waves[2] - waves[1] >= dt.timedelta(days=90)
    assert not Response.objects.filter(respondent__isnull=False).exists()
    # Every response answers its required questions, within range.
    numbers = Answer.objects.filter(response__survey=nps, question__kind="nps_0_10")
    assert numbers.count() == demo.NPS_RESPONSES and not numbers.exclude(number__range=(0, 10)).exists()
    assert not Answer.objects.filter(question__kind="rating_1_5").exclude(number__range=(1, 5)).exists()
    assert Response.objects.filter(survey=online).annotate(n=Count("answers")).filter(n__lt=2).count() == 0
    found = selectors.results(nps)
    assert -20 < found["questions"][0]["nps"] < 60
    year = Period(dt.date(2025, 12, 1), dt.date(2026, 12, 5))
    value = kpis.app_nps(city, year)
    assert value.sample_size == demo.NPS_RESPONSES and value.value == found["questions"][0]["nps"]
    indicators = registry.provided("surveys.indicator_values")(city, year)
    assert indicators[demo.ONLINE_INDICATOR].sample_size == demo.ONLINE_RESPONSES
    assert 3.0 < indicators[demo.ONLINE_INDICATOR].value < 4.5
    # Some answers carry a commune.
    assert Response.objects.filter(commune__isnull=False).exists()


def test_demo_keys_match_the_services(demo_city):
    from dothi.core.errors import Conflict

    _seed(demo_city)
    nps = Survey.objects.get(city=demo_city, code=APP_NPS_CODE)
    recent = Response.objects.filter(survey=nps).order_by("-submitted_at").first()
    from dothi.identity.models import User

    people = User.objects.filter(kind="citizen", home_city=demo_city)
    person = next(p for p in people if services.user_key(demo_city, nps.code, p) == recent.respondent_key)
    question = nps.questions.get(kind="nps_0_10")
    with pytest.raises(Conflict):
        services.respond(
            actor=person,
            survey=nps,
            answers={str(question.pk): 9},
            now=recent.submitted_at + dt.timedelta(days=1),
        )


def test_demo_is_idempotent_and_deterministic(demo_city):
    _seed(demo_city)

    def fingerprint():
        return sorted(Response.objects.values_list("survey__code", "respondent_key", "wave", "submitted_at"))

    first = fingerprint()
    _seed(demo_city)
    assert fingerprint() == first
    Answer.objects.all().delete()
    Response.objects.all().delete()
    _seed(demo_city)
    assert fingerprint() == first
