"""The demo seeder on a database of its own: deterministic across a reset, loading the administrative
units when they are missing, calling every module's seeder (tests/cli/test_seed_demo.py reads one
seeded demo)."""

import pytest
from django.core.management import call_command

from dothi.core import demo
from dothi.core.models import City, CommuneArea, Organisation
from dothi.identity.models import User

pytestmark = pytest.mark.django_db


def _citizen_hashes():
    return sorted(User.objects.filter(kind=User.Kind.CITIZEN).values_list("id_number_hash", flat=True))


@pytest.fixture
def seeded_fresh(admin_units, capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out
    return City.objects.get(slug="danang"), out


# `--reset` flushes the database, which PostgreSQL refuses inside a test's transaction.
@pytest.mark.django_db(transaction=True)
def test_deterministic(seeded_fresh):
    city, _ = seeded_fresh
    first = (
        _citizen_hashes(),
        sorted(User.objects.values_list("username", "display_name")),
        sorted(Organisation.objects.values_list("code", flat=True)),
    )
    call_command("seed_demo", reset=True)
    second = (
        _citizen_hashes(),
        sorted(User.objects.values_list("username", "display_name")),
        sorted(Organisation.objects.values_list("code", flat=True)),
    )
    assert first == second
    assert City.objects.count() == 1 and User.objects.count() == len(first[1])


def test_seeding_an_empty_database_without_admin_units(db):
    """A brand-new database: seed-demo loads the administrative units itself."""
    from dothi.core.models import Commune

    Commune.objects.all().delete()
    call_command("seed_demo")
    assert Commune.objects.count() == 3321
    assert CommuneArea.objects.count() == 94


def test_module_seeders_run_with_the_city_a_generator_and_now(admin_units):
    import random

    from dothi.core.manifests import Manifest, registry

    calls = []

    def seeder(*, city, rng, now):
        calls.append((city.slug, rng.random(), now))

    registry.register(Manifest(name="sample_seeded", seeder=seeder, seed_order=1))
    try:
        call_command("seed_demo")
    finally:
        registry.unregister("sample_seeded")
    assert len(calls) == 1
    slug, value, now = calls[0]
    assert slug == "danang" and now is not None
    assert value == random.Random(f"{demo.DEMO_SEED}:sample_seeded").random()  # deterministic per module
