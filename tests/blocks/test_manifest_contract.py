"""The module manifest contract, exercised by tests/sample_module (installed only here)."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.test import override_settings
from django.utils import timezone

from dothi.core.manifests import KpiValue, Manifest, Period, registry
from dothi.core.models import Feedback, Organisation
from dothi.core.permissions import can


def test_installed_app_is_discovered_by_django_app_loading(settings):
    assert "sample" not in [m.name for m in registry.all()]
    try:
        with override_settings(INSTALLED_APPS=[*settings.INSTALLED_APPS, "tests.sample_module"]):
            assert registry.get("sample").label == "Sample"
    finally:
        registry.unregister("sample")
    assert "sample" not in [m.name for m in registry.all()]


def test_registry_aggregates_every_contribution(sample_manifest):
    assert "sample.visit_satisfaction" in [k.code for k in registry.kpis()]
    assert "sample-visit-ratings" in [d.code for d in registry.datasets()]
    assert "sample-organisations" in [p.code for p in registry.panels()]
    assert "sample.widget.inspect" in registry.permissions()
    assert "sample.heartbeat" in registry.schedules()
    assert "sample.visit" in registry.feedback_subjects()
    staff_nav = registry.navigation("staff")
    assert [n.label for n in staff_nav][-1] == "Sample"  # order 500 sorts last
    assert "Sample" not in [n.label for n in registry.navigation("citizen")]
    seeders = [name for name, _ in registry.seeders()]
    assert seeders.index("sample") == len(seeders) - 1  # seed_order 900


def test_unregistered_after_the_fixture():
    assert "sample.widget.inspect" not in registry.permissions()
    assert "sample.visit" not in registry.feedback_subjects()


@pytest.mark.django_db
def test_declared_permissions_drive_can(sample_manifest, cast, city):
    assert can(cast["agency_staff"], "sample.widget.inspect", city)
    assert not can(cast["citizen"], "sample.widget.inspect", city)
    assert can(cast["platform_admin"], "sample.widget.inspect", city)
    with pytest.raises(KeyError):
        can(cast["agency_staff"], "sample.widget.undeclared", city)


def test_duplicate_operations_are_rejected(sample_manifest):
    thief = Manifest(name="thief", permissions={"sample.widget.inspect": frozenset({"citizen"})})
    with pytest.raises(ValueError, match="sample.widget.inspect"):
        registry.register(thief)
    core_thief = Manifest(name="thief", permissions={"core.audit.view": frozenset({"citizen"})})
    with pytest.raises(ValueError, match="core.audit.view"):
        registry.register(core_thief)
    assert "thief" not in [m.name for m in registry.all()]


def test_two_manifests_with_one_name_are_rejected(sample_manifest):
    with pytest.raises(ValueError, match="sample"):
        registry.register(Manifest(name="sample"))
    registry.register(sample_manifest)  # the same object again is harmless (apps re-populated)
    assert registry.get("sample") is sample_manifest


def test_period_validation():
    Period(dt.date(2025, 1, 1), dt.date(2025, 1, 2))
    with pytest.raises(ValueError):
        Period(dt.date(2025, 1, 1), dt.date(2025, 1, 1))
    with pytest.raises(ValueError):
        Period(dt.date(2025, 2, 1), dt.date(2025, 1, 1))


@pytest.mark.django_db
def test_kpi_value_carries_numerator_denominator_and_sample_size(sample_manifest, city):
    kpi = next(k for k in registry.kpis() if k.code == "sample.visit_satisfaction")
    period = Period(dt.date(2025, 6, 1), dt.date(2025, 7, 1))
    empty = kpi.compute(city, period)
    assert empty == KpiValue(value=None, numerator=0, denominator=0, sample_size=0,
                             note="no ratings in the period")
    at = dt.datetime(2025, 6, 15, 3, tzinfo=dt.UTC)
    for n, rating in enumerate([5, 4, 4, 2]):
        Feedback.objects.create(city=city, subject_type="sample.visit", subject_id=str(n), rating=rating,
                                created_at=at)
    value = kpi.compute(city, period)
    assert (value.value, value.numerator, value.denominator, value.sample_size) == (75.0, 3, 4, 4)
    assert (kpi.unit, kpi.higher_is_better) == ("%", True)


@pytest.mark.django_db
def test_open_dataset_is_aggregate_with_a_suppression_rule(sample_manifest, city):
    dataset = next(d for d in registry.datasets() if d.code == "sample-visit-ratings")
    assert dataset.min_group_size == 5
    assert dataset.count_field == "count"
    for n in range(6):
        Feedback.objects.create(city=city, subject_type="sample.visit", subject_id=str(n), rating=5)
    Feedback.objects.create(city=city, subject_type="sample.visit", subject_id="x", rating=1)
    rows = list(dataset.rows(city))
    assert {"rating": 5, "count": 6} in rows and {"rating": 1, "count": 1} in rows
    # Applying the declared rule leaves only groups of at least min_group_size.
    published = [r for r in rows if r[dataset.count_field] >= dataset.min_group_size]
    assert published == [{"rating": 5, "count": 6}]
    assert all(set(r) == {"rating", "count"} for r in rows)  # no identifiers


@pytest.mark.django_db
def test_panel_returns_geojson(sample_manifest, city):
    panel = next(p for p in registry.panels() if p.code == "sample-organisations")
    data = panel.data(city)
    assert panel.kind == "geojson"
    assert data == {"type": "FeatureCollection", "features": []}


@pytest.mark.django_db
def test_seeder_is_deterministic_and_city_scoped(sample_manifest, city, other_city):
    seed = dict(registry.seeders())["sample"]
    now = timezone.now()
    seed(city, random.Random(7), now)
    first = sorted(Feedback.objects.filter(city=city).values_list("rating", flat=True))
    assert Organisation.objects.filter(city=city, code="sample-lab").exists()
    assert not Organisation.objects.filter(city=other_city).exists()
    seed(other_city, random.Random(7), now)
    assert sorted(Feedback.objects.filter(city=other_city).values_list("rating", flat=True)) == first


def test_nav_entries_resolve(sample_manifest):
    from django.urls import reverse

    for area in ("citizen", "staff"):
        for entry in registry.navigation(area):
            if entry.url_name.startswith("core:"):
                assert reverse(entry.url_name)
