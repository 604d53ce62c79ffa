"""A survey question bound to an indicator code feeds that indicator when the KPI module computes."""

from __future__ import annotations

import datetime as dt

import pytest

from dothi.kpis import catalogue, services
from dothi.kpis.models import Grain, Indicator, Value
from tests.surveys.test_results import _answer, at

pytestmark = pytest.mark.django_db


def test_a_bound_question_feeds_the_citys_indicator(city, survey, q):
    catalogue.sync()
    own = Indicator.objects.create(
        city=city, code="surveys.service_rating", source=Indicator.Source.CITY, kind=Indicator.Kind.PLATFORM,
        name_vi="Mức độ hài lòng với dịch vụ", name_en="Satisfaction with the service", unit="1–5",
    )
    for rating in (5, 4, 4, 2):
        _answer(survey, q, {"nps_0_10": 8, "rating_1_5": rating}, when=at(8))
    services.compute(actor=None, city=city, grain=Grain.MONTH, start=dt.date(2026, 3, 1))
    value = Value.objects.get(city=city, indicator=own, grain="month", period_start=dt.date(2026, 3, 1))
    assert value.method == Value.Method.AUTO
    assert (value.value, value.sample_size) == (3.75, 4)  # (5 + 4 + 4 + 2) / 4

    services.compute(actor=None, city=city, grain=Grain.MONTH, start=dt.date(2026, 4, 1))
    april = Value.objects.get(city=city, indicator=own, grain="month", period_start=dt.date(2026, 4, 1))
    assert april.value is None  # no answer in April: missing, not zero


def test_an_unbound_manual_indicator_is_left_alone(city, survey, q):
    catalogue.sync()
    _answer(survey, q, {"nps_0_10": 8, "rating_1_5": 5}, when=at(8))
    services.compute(actor=None, city=city, grain=Grain.MONTH, start=dt.date(2026, 3, 1))
    manual = Indicator.objects.get(city=None, code="EC: ICT: ICT: 1C")  # household internet: by hand
    assert not Value.objects.filter(city=city, indicator=manual).exists()
