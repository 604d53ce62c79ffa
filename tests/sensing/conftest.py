"""Fixtures for the sensing module: the global quantity catalogue, a data source with its ingestion
key, an air-quality sensor and a water sensor in Đà Nẵng (the `city` fixture, no commune boundaries:
sensors get no commune; use `danang` for communes)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest


@pytest.fixture(autouse=True)
def _immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def _global_quantities(request):
    """Every database test here starts with the global catalogue: migration 0002 seeds it, but a
    transactional test's flush empties the table for the tests after it."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        return
    request.getfixturevalue("transactional_db" if marker.kwargs.get("transaction") else "db")
    from dothi.sensing.models import Quantity
    from dothi.sensing.quantities import CATALOGUE, ensure_global_catalogue

    if Quantity.objects.filter(city__isnull=True).count() < len(CATALOGUE):
        ensure_global_catalogue()


@pytest.fixture
def quantities(db):
    """The global catalogue (seeded by migration 0002; re-created after a transactional flush)."""
    from dothi.sensing.models import Quantity
    from dothi.sensing.quantities import ensure_global_catalogue

    ensure_global_catalogue()
    return {q.code: q for q in Quantity.objects.filter(city__isnull=True)}


@pytest.fixture
def source(city):
    from dothi.sensing.keys import source_get_or_create

    return source_get_or_create(city=city, name="gateway")


@pytest.fixture
def ingest_key(city, source):
    """A key of `source` (the plaintext); `ingest_key.headers` for a client call."""
    from dothi.sensing.keys import ingest_key_issue

    key, plaintext = ingest_key_issue(actor=None, city=city, name=source.name)
    return SimpleNamespace(key=key, plaintext=plaintext, headers={"Authorization": f"Bearer {plaintext}"})


@pytest.fixture
def air_sensor(city, quantities):
    from dothi.sensing import services

    return services.sensor_register(
        actor=None,
        city=city,
        code="AQ-1",
        name="Air 1",
        kind="air",
        lat=16.06,
        lon=108.22,
        quantities=["pm25", "pm10", "temperature"],
        expected_interval_seconds=300,
    )


@pytest.fixture
def water_sensor(city, quantities):
    from dothi.sensing import services

    return services.sensor_register(
        actor=None,
        city=city,
        code="WL-1",
        name="Water 1",
        kind="water",
        lat=16.07,
        lon=108.21,
        quantities=["water_level", "rainfall"],
        expected_interval_seconds=600,
    )
