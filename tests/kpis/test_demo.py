"""The KPI demo seeder: the catalogue, every automatic indicator over 12 months, 4 quarters and 2 years,
manual values entered and approved by someone else, about ten published indicators; quick."""

from __future__ import annotations

import datetime as dt
import random
import time

import pytest

from dothi.core.demo import DEMO_SEED, _seed_organisations, _seed_people
from dothi.core.manifests import registry
from dothi.kpis import demo, selectors
from dothi.kpis.models import Value

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 8, 4, 9, 0, tzinfo=dt.UTC)
SEED_BUDGET_S = 20


@pytest.fixture
def demo_city(city):
    orgs = _seed_organisations(city, NOW)
    _seed_people(city, orgs, random.Random(DEMO_SEED), NOW)
    from dothi.programme import demo as programme_demo

    programme_demo.seed(city=city, rng=random.Random("p"), now=NOW)
    return city


def test_seed(demo_city):
    city = demo_city
    assert dict(registry.seeders())["kpis"] is not None
    assert registry.get("kpis").seed_order == 90
    began = time.monotonic()
    demo.seed(city=city, rng=random.Random("kpis"), now=NOW)
    assert time.monotonic() - began < SEED_BUDGET_S
    automatic = selectors.indicators(city, automatic=True).count()
    auto = Value.objects.filter(city=city, method="auto", commune__isnull=True)
    # 12 + 1 months, 4 + 1 quarters, 2 + 1 years per automatic indicator.
    assert auto.count() == automatic * (13 + 5 + 3)
    assert auto.filter(grain="month", period_start=dt.date(2025, 8, 1)).count() == automatic
    assert auto.filter(grain="year", period_start=dt.date(2024, 1, 1)).count() == automatic
    hia = selectors.indicator_by_code(city, "EC: ICT: ICT: 1C")
    assert [(v.period_start.year, v.value) for v in selectors.series(city, hia, "year")] == [
        (2025, 78.4), (2026, 83.1)
    ]
    approved = Value.objects.filter(city=city, method="manual", status="approved")
    assert approved.count() == 6
    assert all(v.entered_by_id != v.decided_by_id and v.source for v in approved)
    assert selectors.pending_manual(city).count() == 1
    assert 8 <= selectors.published(city).count() <= 12
