import pytest

pytestmark = pytest.mark.django_db


def test_openapi_is_served(client):
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/cities" in spec["paths"]


def test_cities_lists_only_active(client, city, other_city):
    other_city.is_active = False
    other_city.save()
    slugs = [c["slug"] for c in client.get("/api/v1/cities").json()]
    assert slugs == ["danang"]


def test_city_lookup_is_cached_and_refreshed(city, other_city, monkeypatch, django_assert_num_queries):
    from dothi.core import cities
    from dothi.core.models import City

    assert cities.city_by_slug("hcm") == other_city
    with django_assert_num_queries(0):  # served from the in-process copy
        assert cities.city_by_slug("danang") == city
    City.objects.filter(pk=other_city.pk).update(is_active=False)  # no signal: another process did it
    assert cities.city_by_slug("hcm") == other_city  # still cached
    monkeypatch.setattr(cities._memo, "seconds", 0.0)
    assert cities.city_by_slug("hcm") is None  # refreshed after the time-to-live
    monkeypatch.setattr(cities._memo, "seconds", 10.0)
    city.hosts = ["dothi.danang.gov.vn"]
    city.save()  # a save in this process clears the copy at once
    assert cities.city_by_host("dothi.danang.gov.vn:443") == city
