"""The public pages of spatial layers: the map (switcher grouped by sector, config for the script,
internal layers for staff only), the catalogue with filters and pages, a layer's page with its
changelog, the features and export GeoJSON, the search JSON, empty states and both languages."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from dothi.layers.models import LayerImport
from tests.layers.conftest import FEATURE_ORIGIN

pytestmark = pytest.mark.django_db


def client_for(user=None, language: str = "en") -> Client:
    client = Client()
    client.cookies["dothi_language"] = language
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def layers(layers_city, make_layer, make_features):
    schools = make_layer(
        layers_city, code="schools", name_vi="Trường học", name_en="Schools", sector="schools"
    )
    clinics = make_layer(layers_city, code="clinics", name_vi="Trạm y tế", name_en="Clinics", sector="health")
    pipes = make_layer(
        layers_city,
        code="pipes",
        name_vi="Ống nước",
        name_en="Water pipes",
        sector="water",
        is_public=False,
        geometry_kind="line",
    )
    make_features(schools, 3, properties=lambda i: {"ten": f"Trường {i}"})
    make_features(pipes, 1)
    return schools, clinics, pipes


def _config(response) -> dict:
    html = response.content.decode()
    start = html.index('<script id="layers-config" type="application/json">') + len(
        '<script id="layers-config" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


def test_map_page_switcher_and_config(layers, cast):
    response = client_for().get("/layers/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Schools" in html and "Clinics" in html and "Water pipes" not in html
    assert html.index("Health facilities") < html.index("Schools") or html.index("Schools") < html.index(
        "Clinics"
    )
    config = _config(response)
    assert [layer["code"] for layer in config["layers"]] == ["clinics", "schools"] or {
        layer["code"] for layer in config["layers"]
    } == {"clinics", "schools"}
    schools = next(layer for layer in config["layers"] if layer["code"] == "schools")
    assert schools["attributes"] == [{"code": "ten", "label": "Name", "type": "str"}]
    assert schools["features_url"] == "/layers/schools/features.geojson"
    assert len(config["shown"]) == 1
    assert _config(client_for().get("/layers/?layers=schools,pipes"))["shown"] == ["schools"]
    staff = client_for(cast["council_member"]).get("/layers/?layers=pipes")
    assert "Water pipes" in staff.content.decode() and _config(staff)["shown"] == ["pipes"]
    # Vietnamese by default: the schema's Vietnamese labels.
    vi = _config(client_for(language="vi").get("/layers/"))
    assert next(x for x in vi["layers"] if x["code"] == "schools")["attributes"][0]["label"] == "Tên"


def test_map_page_empty_state(layers_city):
    response = client_for().get("/layers/")
    assert response.status_code == 200 and "No map layers are published" in response.content.decode()


def test_catalogue_filters_and_pagination(layers, make_layer, cast):
    page = client_for().get("/layers/catalogue/").content.decode()
    assert "Schools" in page and "Clinics" in page and "Water pipes" not in page
    health = client_for().get("/layers/catalogue/", {"sector": "health"}).content.decode()
    assert 'href="/layers/clinics/"' in health and 'href="/layers/schools/"' not in health
    none = client_for().get("/layers/catalogue/", {"q": "zzz"}).content.decode()
    assert "No layer matches these filters." in none
    for i in range(25):
        make_layer(layers[0].city, code=f"extra-{i:02d}", name_en=f"Extra {i:02d}", order=500)
    first = client_for().get("/layers/catalogue/").content.decode()
    assert "Page 1 of 2" in first and "Extra 24" not in first
    assert "Extra 24" in client_for().get("/layers/catalogue/", {"page": 2}).content.decode()
    assert "Water pipes" in client_for(cast["agency_staff"]).get("/layers/catalogue/").content.decode()


def test_layer_page_metadata_changelog_and_export(layers, cast):
    schools, _clinics, pipes = layers
    LayerImport.objects.create(
        city=schools.city,
        layer=schools,
        format="geojson",
        status="accepted",
        added=3,
        filename="schools.geojson",
    )
    LayerImport.objects.create(
        city=schools.city,
        layer=schools,
        format="csv",
        status="rejected",
        error_at="line 7",
        error="The latitude is missing.",
        filename="bad.csv",
    )
    html = client_for().get("/layers/schools/").content.decode()
    assert "Schools" in html and "schools.geojson" in html and "3 added, 0 updated, 0 removed" in html
    assert "line 7: The latitude is missing." in html and "/layers/schools/export.geojson" in html
    assert "/api/v1/layers/schools" in html
    assert client_for().get("/layers/pipes/").status_code == 404
    assert client_for(cast["citizen"]).get("/layers/pipes/").status_code == 404
    assert client_for(cast["operator"]).get("/layers/pipes/").status_code == 200
    empty = client_for().get("/layers/clinics/").content.decode()
    assert "Nothing has been imported into this layer yet." in empty
    export = client_for().get("/layers/schools/export.geojson")
    assert len(json.loads(b"".join(export.streaming_content))["features"]) == 3
    assert client_for().get("/layers/pipes/export.geojson").status_code == 404


def test_features_geojson_and_search_json(layers, cast):
    lon, lat = FEATURE_ORIGIN
    bbox = f"{lon - 0.01},{lat - 0.01},{lon + 0.01},{lat + 0.01}"
    body = client_for().get("/layers/schools/features.geojson", {"bbox": bbox}).json()
    assert body["count"] == 3 and body["next"] is None
    assert body["features"][0]["properties"] == {"ten": "Trường 0"}
    bad = client_for().get("/layers/schools/features.geojson", {"bbox": "nope"})
    assert bad.status_code == 422 and bad.json()["field"] == "bbox"
    assert client_for().get("/layers/pipes/features.geojson", {"bbox": bbox}).status_code == 404
    assert (
        client_for(cast["operator"]).get("/layers/pipes/features.geojson", {"bbox": bbox}).json()["count"]
        == 1
    )
    results = client_for().get("/layers/search.json", {"q": "truong 2"}).json()["results"]
    assert [r["label"] for r in results] == ["Trường 2"] and results[0]["layer"] == "schools"
    assert client_for().get("/layers/search.json").json() == {"results": []}
    assert client_for().post("/layers/search.json", {"q": "x"}).status_code == 405
