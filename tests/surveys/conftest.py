"""Fixtures of the surveys module: an open custom survey of the `city` with one question of each kind,
the app NPS survey, and two communes of the city's province (created by hand, without loading the
national units). Built with plain ORM calls, so nothing is audited before a test runs."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from dothi.core.models import Commune, Province
from dothi.surveys.models import Question, Survey

CHOICES = [
    {"code": "web", "label_vi": "Trang web", "label_en": "Website"},
    {"code": "app", "label_vi": "Ứng dụng", "label_en": "App"},
    {"code": "office", "label_vi": "Tại quầy", "label_en": "At the office"},
]


@pytest.fixture
def communes(city):
    province, _ = Province.objects.get_or_create(
        code="48", defaults={"name": "Thành phố Đà Nẵng", "kind": "thanh-pho", "codename": "da_nang"}
    )
    # The national units may be loaded already (another test's data): take them as they are.
    a, _ = Commune.objects.get_or_create(
        code="20194",
        defaults={"province": province, "name": "Phường Hải Châu", "kind": "phuong", "codename": "hai_chau"},
    )
    b, _ = Commune.objects.get_or_create(
        code="20197",
        defaults={
            "province": province, "name": "Phường Thanh Khê", "kind": "phuong", "codename": "thanh_khe"
        },
    )
    return a, b


@pytest.fixture
def survey(city):
    """An open custom survey for signed-in citizens: 0–10 (q1), 1–5 with an indicator (q2), one choice
    (q3), several choices (q4, optional), text (q5, optional)."""
    s = Survey.objects.create(
        city=city,
        code="dich-vu",
        kind=Survey.Kind.CUSTOM,
        status=Survey.Status.OPEN,
        title_vi="Khảo sát dịch vụ",
        title_en="Service survey",
        opens_at=timezone.now() - dt.timedelta(days=10),
    )
    Question.objects.bulk_create(
        [
            Question(survey=s, order=1, kind="nps_0_10", text_vi="Giới thiệu?", text_en="Recommend?"),
            Question(
                survey=s,
                order=2,
                kind="rating_1_5",
                text_vi="Hài lòng?",
                text_en="Satisfied?",
                indicator_code="surveys.service_rating",
            ),
            Question(survey=s, order=3, kind="single", text_vi="Kênh?", text_en="Channel?", choices=CHOICES),
            Question(
                survey=s,
                order=4,
                kind="multiple",
                text_vi="Kênh khác?",
                text_en="Other channels?",
                choices=CHOICES,
                required=False,
            ),
            Question(
                survey=s, order=5, kind="text", text_vi="Góp ý?", text_en="Suggestions?", required=False
            ),
        ]
    )
    return s


@pytest.fixture
def q(survey):
    """The survey's questions by kind."""
    return {question.kind: question for question in survey.questions.all()}


def good_answers(q, **override):
    answers = {
        str(q["nps_0_10"].pk): 9,
        str(q["rating_1_5"].pk): 4,
        str(q["single"].pk): "web",
        str(q["multiple"].pk): ["app", "office"],
        str(q["text"].pk): "Tốt",
    }
    for kind, value in override.items():
        answers[str(q[kind].pk)] = value
    return answers
