import pytest

from dothi.core.models import Commune

pytestmark = pytest.mark.django_db

HAI_CHAU = "20242"


def _centre(code):
    commune = Commune.objects.get(code=code)
    return commune.centre_lat, commune.centre_lon


def test_communes_list_is_paginated(client, danang):
    body = client.get("/api/v1/communes").json()
    assert body["count"] == 94 and len(body["items"]) == 94
    item = next(i for i in body["items"] if i["code"] == HAI_CHAU)
    assert item["name"] == "Phường Hải Châu" and item["kind"] == "phường" and item["approximate"] is True
    page = client.get("/api/v1/communes", {"page": 10, "page_size": 10}).json()
    assert page["count"] == 94 and len(page["items"]) == 4
    assert client.get("/api/v1/communes", {"page_size": 0}).status_code == 422


def test_communes_without_boundaries_say_so(client, city, admin_units):
    body = client.get("/api/v1/communes").json()
    assert body["count"] == 94
    assert {i["approximate"] for i in body["items"]} == {None}


def test_communes_geojson(client, danang):
    body = client.get("/api/v1/communes.geojson").json()
    assert body["type"] == "FeatureCollection"
    assert len(body["features"]) == 94
    feature = next(f for f in body["features"] if f["properties"]["code"] == HAI_CHAU)
    assert feature["geometry"]["type"] == "Polygon"
    assert feature["properties"]["approximate"] is True


def test_locate(client, danang):
    lat, lon = _centre(HAI_CHAU)
    response = client.get("/api/v1/locate", {"lat": lat, "lon": lon})
    assert response.status_code == 200
    assert response.json() == {"code": HAI_CHAU, "name": "Phường Hải Châu", "kind": "phường"}


def test_locate_outside_the_city_is_422(client, danang):
    response = client.get("/api/v1/locate", {"lat": 21.0285, "lon": 105.8542})
    assert response.status_code == 422
    assert response.json()["code"] == "outside_city"


@pytest.mark.parametrize(
    "params",
    [
        {"lat": "abc", "lon": "108.2"},
        {"lat": "91", "lon": "108.2"},
        {"lat": "16", "lon": "-181"},
        {"lat": "nan", "lon": "108.2"},
        {"lat": "16"},
        {},
        {"lat": "1e400", "lon": "108"},
    ],
)
def test_locate_bad_coordinates_is_422(client, danang, params):
    response = client.get("/api/v1/locate", params)
    assert response.status_code == 422
    assert response.json()["code"] in {"invalid", "coordinates_invalid"}


def test_no_city_is_404(client, admin_units):
    for url in ["/api/v1/communes", "/api/v1/communes.geojson", "/api/v1/locate?lat=16&lon=108"]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.json()["code"] == "not_found"


def test_scoped_to_the_city_of_the_request(client, danang, other_city):
    lat, lon = _centre(HAI_CHAU)
    assert client.get("/c/danang/api/v1/locate", {"lat": lat, "lon": lon}).json()["code"] == HAI_CHAU
    # Hồ Chí Minh City has no boundaries and Hải Châu is not in it.
    assert client.get("/c/hcm/api/v1/locate", {"lat": lat, "lon": lon}).status_code == 422
    assert client.get("/c/hcm/api/v1/communes.geojson").json()["features"] == []
    assert (
        client.get("/c/hcm/api/v1/communes").json()["count"]
        == Commune.objects.filter(province_id="79").count()
    )


def test_openapi_lists_the_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/communes", "/api/v1/communes.geojson", "/api/v1/locate"} <= set(paths)
