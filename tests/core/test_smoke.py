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
