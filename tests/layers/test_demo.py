"""The spatial-layers demo seeder: a dozen believable layers of Đà Nẵng through the real import path
(public and internal, features inside the city with their communes), a drainage network partly
monitored by the sensing demo's water-level stations, flood-prone zones, population per commune summing
to the city's figures; fast and deterministic."""

from __future__ import annotations

import datetime as dt
import random
import time

import pytest
from django.db.models import Count, Sum
from django.utils import timezone

from dothi.core.demo import DEMO_SEED, _seed_organisations, _seed_people
from dothi.core.manifests import registry
from dothi.layers import demo, selectors
from dothi.layers.models import CommunePopulation, Feature, Layer, LayerImport

pytestmark = pytest.mark.django_db

# The whole demo must start within its budget (`make demo` is measured); this seeder's share is a
# second or two. Generous for a loaded machine, yet importing feature by feature would not fit.
SEED_BUDGET_S = 5

INTERNAL = {"giay-phep-xay-dung", "tru-cuu-hoa"}


@pytest.fixture
def demo_city(danang):
    """Đà Nẵng with the core demo's agencies and people and the sensing demo's sensors (two weeks)."""
    from dothi.sensing import demo as sensing_demo

    now = timezone.now()
    orgs = _seed_organisations(danang, now)
    _seed_people(danang, orgs, random.Random(DEMO_SEED), now)
    sensing_demo.seed(city=danang, rng=random.Random(f"{DEMO_SEED}:sensing"), now=now)
    return danang


def _seed(city, now=None):
    demo.seed(city=city, rng=random.Random(f"{DEMO_SEED}:layers"), now=now or timezone.now())


def test_layers_are_created_through_the_import_path_fast(demo_city):
    now = timezone.now()
    started = time.perf_counter()
    _seed(demo_city, now)
    elapsed = time.perf_counter() - started
    assert elapsed < SEED_BUDGET_S, f"seeding took {elapsed:.1f} s"

    layers = {layer.code: layer for layer in Layer.objects.filter(city=demo_city)}
    assert len(layers) == 12
    assert {c for c, layer in layers.items() if not layer.is_public} == INTERNAL
    counts = dict(Feature.objects.filter(city=demo_city).values_list("layer__code").annotate(n=Count("id")))
    for code, layer in layers.items():
        # The maintained count is the features' and every layer has some; each says it is demo data.
        assert layer.feature_count == counts.get(code, 0) > 0, code
        assert "demo" in layer.description_vi and "Demo" in layer.description_en, code
        assert layer.owner is not None and layer.owner.city_id == demo_city.pk, code
        assert layer.schema and layer.name_attribute in {a["code"] for a in layer.schema}, code
        assert layer.updated_at < now - dt.timedelta(hours=1), code  # last import back-dated by cadence
    assert counts["den-chieu-sang"] == 3000
    assert 1500 <= counts["cay-xanh"] <= 1800
    assert 250 <= counts["truong-hoc"] <= 450
    assert counts["co-so-y-te"] >= 93 + 15  # a health station per commune, the hospitals, clinics
    # One accepted import per layer, by the city administrator, as the changelog shows it.
    imports = LayerImport.objects.filter(city=demo_city)
    assert imports.count() == 12
    assert set(imports.values_list("status", flat=True)) == {LayerImport.Status.ACCEPTED}
    assert set(imports.values_list("actor__username", flat=True)) == {"quantri"}
    assert imports.aggregate(n=Sum("added"))["n"] == sum(counts.values())

    # Every feature is inside the city: the import located each in a commune.
    assert not Feature.objects.filter(city=demo_city, commune__isnull=True).exists()
    kinds = dict(Feature.objects.filter(city=demo_city).values_list("layer__code", "geom_type").distinct())
    assert kinds["cong-thoat-nuoc"] == "LineString"
    assert kinds["vung-ngap-ung"] == kinds["quy-hoach-phan-khu"] == kinds["nghia-trang"] == "Polygon"
    # Agency owners from the demo's organisations (and the two departments the seeder adds).
    assert layers["den-chieu-sang"].owner.code == "so-xay-dung"
    assert layers["truong-hoc"].owner.code == "so-giao-duc-dao-tao"
    assert layers["vung-ngap-ung"].owner.code == "ban-chi-huy-pctt"


def test_drainage_and_flood_measures_are_believable(demo_city):
    _seed(demo_city)
    drainage = Layer.objects.get(city=demo_city, role="drainage")
    flood = Layer.objects.get(city=demo_city, role="flood_prone")
    assert drainage.geometry_kind == "line" and flood.geometry_kind == "polygon"
    # Some kilometres long each, tens of kilometres in all.
    assert drainage.total_length_m > 40_000
    assert Feature.objects.filter(layer=drainage, length_m__gte=1000).count() >= 20

    measure = selectors.drainage_monitoring(demo_city)
    assert measure["sensors"] > 0
    assert 0 < measure["monitored_km"] < measure["total_km"]
    assert 0.005 < measure["share"] < 0.5

    exposure = selectors.flood_exposure(demo_city)
    assert exposure["zones"] >= 25
    assert 0.02 < exposure["share"] < 0.4
    exposed = {c["name"] for c in exposure["communes"] if c["exposed"] > 0}
    assert "Phường Hải Châu" in exposed and "Xã Trà My" not in exposed  # riverside yes, highlands no


def test_population_sums_to_the_city_figures(demo_city):
    now = timezone.now()
    _seed(demo_city, now)
    latest = selectors.population(demo_city)
    assert len(latest) == 93  # every commune but the offshore special zone (Hoàng Sa)
    assert {row.year for row in latest.values()} == {now.year - 1}
    urban = sum(row.population for row in latest.values() if row.commune.name in demo.URBAN)
    assert 1_100_000 < urban < 1_300_000  # the urban population of the former Đà Nẵng
    total = sum(row.population for row in latest.values())
    assert 2_500_000 < total < 3_400_000  # the merged city
    assert all(0 < row.households < row.population for row in latest.values())
    # The year before, slightly fewer people everywhere.
    earlier = CommunePopulation.objects.filter(city=demo_city, year=now.year - 2)
    assert earlier.count() == 93
    assert earlier.aggregate(n=Sum("population"))["n"] < total


def test_features_are_deterministic_for_the_same_seed(demo_city):
    now = timezone.now()

    def fingerprint():
        specs, population = demo.layer_specs(demo_city, random.Random(f"{DEMO_SEED}:layers"), now)
        return [
            (s.code, [(f["fid"], f["geometry"], f["properties"]) for f in s.features]) for s in specs
        ], population

    assert fingerprint() == fingerprint()


def test_seeder_is_declared_after_sensing():
    layers = registry.get("layers")
    assert layers.seeder is not None
    assert layers.seed_order > registry.get("sensing").seed_order
