"""The layers API under /api/v1/layers/ over HTTP: the catalogue and internal layers (404 to the public),
features by bounding box with a cursor, by page, by commune and attribute, one feature, the export, the
search, the changelog; staff: create, edit, import a file (accepted and rejected), import population."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from dothi.core.models import Commune
from dothi.layers.models import CommunePopulation, Feature, Layer, LayerImport
from tests.layers.conftest import FEATURE_ORIGIN

pytestmark = pytest.mark.django_db
BASE = "/api/v1/layers/"


def api_client(user=None, language: str = "en") -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE=language)
    if user is not None:
        client.force_login(user)
    token = client.get("/api/v1/identity/csrf").json()["csrf_token"]
    return client, token


def send(client, token, method: str, path: str, data=None):
    return client.generic(
        method, BASE + path, json.dumps(data or {}), content_type="application/json", HTTP_X_CSRFTOKEN=token
    )


@pytest.fixture
def layers(layers_city, make_layer, make_features):
    schools = make_layer(
        layers_city,
        code="schools",
        name_vi="Trường học",
        name_en="Schools",
        schema=[
            {"code": "ten", "label_vi": "Tên", "label_en": "Name", "type": "str"},
            {"code": "so_hs", "label_vi": "Số học sinh", "label_en": "Pupils", "type": "int"},
        ],
    )
    pipes = make_layer(layers_city, code="pipes", is_public=False, geometry_kind="line", sector="water")
    make_features(schools, 12, properties=lambda i: {"ten": f"Trường {i}", "so_hs": 100 * i})
    make_features(pipes, 2)
    return schools, pipes


def test_catalogue_and_layer(layers, cast):
    anonymous = Client(HTTP_ACCEPT_LANGUAGE="en")
    body = anonymous.get(BASE).json()
    assert [layer["code"] for layer in body] == ["schools"]
    schools = body[0]
    assert (
        schools["name"] == "Schools"
        and schools["feature_count"] == 12
        and schools["schema"][1]["type"] == "int"
    )
    assert schools["features_url"] == "/layers/schools/features.geojson" and len(schools["bbox"]) == 4
    assert anonymous.get(BASE + "pipes").status_code == 404
    assert anonymous.get(BASE + "pipes/features").status_code == 404
    assert anonymous.get(BASE + "pipes/export.geojson").status_code == 404
    staff, _token = api_client(cast["agency_staff"])
    assert {layer["code"] for layer in staff.get(BASE).json()} == {"schools", "pipes"}
    assert staff.get(BASE + "pipes").json()["is_public"] is False
    assert [layer["code"] for layer in anonymous.get(BASE, {"sector": "water"}).json()] == []
    assert anonymous.get(BASE, {"sector": "nope"}).status_code == 422


def test_features_by_bbox_with_cursor(layers):
    client = Client()
    lon, lat = FEATURE_ORIGIN
    bbox = f"{lon - 0.01},{lat - 0.01},{lon + 0.01},{lat + 0.01}"
    first = client.get(BASE + "schools/features", {"bbox": bbox, "limit": 5})
    assert first.status_code == 200 and first["Content-Type"] == "application/geo+json"
    body = first.json()
    assert body["type"] == "FeatureCollection" and body["count"] == 5 and "cursor=" in body["next"]
    seen = [f["id"] for f in body["features"]]
    while body["next"]:
        body = client.get(body["next"]).json()
        seen += [f["id"] for f in body["features"]]
    assert len(seen) == 12 and len(set(seen)) == 12
    assert client.get(BASE + "schools/features", {"bbox": "1,2,3"}).json()["field"] == "bbox"
    assert client.get(BASE + "schools/features", {"bbox": bbox, "limit": 6000}).status_code == 422


def test_features_by_page_attribute_and_commune(layers):
    client = Client()
    body = client.get(BASE + "schools/features", {"page_size": 5, "page": 3}).json()
    assert (body["total"], body["page"], body["num_pages"], body["count"], body["next"]) == (
        12,
        3,
        3,
        2,
        None,
    )
    assert "page=2" in client.get(BASE + "schools/features", {"page_size": 5}).json()["next"]
    filtered = client.get(BASE + "schools/features", {"attr.so_hs__gte": "1000"}).json()
    assert [f["properties"]["so_hs"] for f in filtered["features"]] == [1000, 1100]
    refused = client.get(BASE + "schools/features", {"attr.nope": "1"})
    assert refused.status_code == 422 and refused.json()["field"] == "attr.nope"
    commune = Commune.objects.filter(province_id="48").order_by("code").first()
    Feature.objects.filter(layer=layers[0], fid__in=["f1", "f2"]).update(commune=commune)
    by_commune = client.get(BASE + "schools/features", {"commune": commune.code}).json()
    assert [f["id"] for f in by_commune["features"]] == ["f1", "f2"]


def test_one_feature_and_export(layers):
    client = Client()
    feature = client.get(BASE + "schools/features/f3").json()
    assert feature["type"] == "Feature" and feature["properties"] == {"ten": "Trường 2", "so_hs": 200}
    assert client.get(BASE + "schools/features/nope").status_code == 404
    export = client.get(BASE + "schools/export.geojson")
    assert export.streaming and "attachment" in export["Content-Disposition"]
    collection = json.loads(b"".join(export.streaming_content))
    assert len(collection["features"]) == 12 and collection["licence"] == "CC-BY-4.0"


def test_search(layers, cast):
    hits = Client().get(BASE + "search", {"q": "TRUONG 1"}).json()
    assert [h["label"] for h in hits][:3] == ["Trường 1", "Trường 10", "Trường 11"]
    assert hits[0]["layer"] == "schools" and hits[0]["kind"] == "feature"
    assert Client().get(BASE + "search").status_code == 422


def test_changelog(layers):
    schools = layers[0]
    LayerImport.objects.create(
        city=schools.city,
        layer=schools,
        format="csv",
        status="rejected",
        error_at="line 3",
        error="The longitude is missing.",
    )
    body = Client().get(BASE + "schools/imports").json()
    assert body["count"] == 1 and body["results"][0]["error_at"] == "line 3"
    assert Client().get(BASE + "pipes/imports").status_code == 404


LAYER = {
    "code": "trees",
    "name_vi": "Cây xanh",
    "name_en": "Trees",
    "sector": "trees",
    "cadence": "yearly",
    "licence": "CC-BY-4.0",
    "is_public": True,
    "geometry_kind": "point",
    "name_attribute": "ten",
    "schema": [{"code": "ten", "label_vi": "Tên", "label_en": "Name", "type": "str", "required": True}],
}


def test_staff_create_and_edit(layers_city, cast, agency):
    for role in ("anonymous", "citizen", "agency_staff", "agency_manager", "council_member"):
        client, token = api_client(cast[role])
        assert send(client, token, "POST", "", LAYER).status_code in (401, 403), role
    assert not Layer.objects.filter(code="trees").exists()
    client, token = api_client(cast["operator"])
    created = send(client, token, "POST", "", {**LAYER, "owner": agency.code})
    assert created.status_code == 201, created.content
    assert created.json()["owner"] == {"code": agency.code, "name": agency.name}
    assert send(client, token, "POST", "", LAYER).status_code in (409, 422)  # the code is taken
    assert (
        send(client, token, "POST", "", {**LAYER, "code": "x", "owner": "nobody"}).json()["field"] == "owner"
    )
    patched = send(client, token, "PATCH", "trees", {"name_en": "Street trees", "is_public": False})
    assert patched.status_code == 200 and patched.json()["name_en"] == "Street trees"
    layer = Layer.objects.get(code="trees")
    assert (layer.is_public, layer.name_vi, layer.sector) == (False, "Cây xanh", "trees")
    citizen, ctoken = api_client(cast["citizen"])
    assert send(citizen, ctoken, "PATCH", "trees", {"name_en": "x"}).status_code == 404  # internal now


def _geojson(points) -> bytes:
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "id": f"t{i}",
                    "geometry": {"type": "Point", "coordinates": list(p)},
                    "properties": {"ten": f"Cây {i}"},
                }
                for i, p in enumerate(points, start=1)
            ],
        }
    ).encode()


def test_staff_import_accepted_and_rejected(layers_city, cast, make_layer):
    trees = make_layer(layers_city, code="trees", schema=LAYER["schema"])
    lon, lat = FEATURE_ORIGIN
    client, token = api_client(cast["operator"])
    good = client.post(
        BASE + "trees/imports",
        {"file": _file("trees.geojson", _geojson([(lon, lat), (lon + 0.001, lat)]))},
        HTTP_X_CSRFTOKEN=token,
    )
    assert good.status_code == 201, good.content
    assert (good.json()["status"], good.json()["added"]) == ("accepted", 2)
    assert Feature.objects.filter(layer=trees).count() == 2
    # The second feature lies in Hà Nội: rejected whole, the layer as it was, the row in the changelog.
    bad = client.post(
        BASE + "trees/imports",
        {"file": _file("more.geojson", _geojson([(lon, lat), (105.85, 21.03)])), "mode": "upsert"},
        HTTP_X_CSRFTOKEN=token,
    )
    assert bad.status_code == 422, bad.content
    body = bad.json()
    assert body["where"] == body["rejected"]["error_at"] and "2" in body["where"]
    assert body["rejected"]["status"] == "rejected" and body["message"]
    assert Feature.objects.filter(layer=trees).count() == 2
    assert [r["status"] for r in client.get(BASE + "trees/imports").json()["results"]] == [
        "rejected",
        "accepted",
    ]
    citizen, ctoken = api_client(cast["citizen"])
    denied = citizen.post(
        BASE + "trees/imports", {"file": _file("t.geojson", _geojson([(lon, lat)]))}, HTTP_X_CSRFTOKEN=ctoken
    )
    assert denied.status_code == 403
    assert LayerImport.objects.filter(layer=trees).count() == 2


def _file(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def test_population_import(layers_city, cast):
    codes = list(Commune.objects.filter(province_id="48").order_by("code").values_list("code", flat=True)[:2])
    csv = f"ma_xa,nam,dan_so,so_ho\n{codes[0]},2024,12000,3000\n{codes[1]},2024,8000,\n".encode()
    operator, otoken = api_client(cast["operator"])
    assert (
        operator.post(BASE + "population", {"file": _file("p.csv", csv)}, HTTP_X_CSRFTOKEN=otoken).status_code
        == 403
    )
    client, token = api_client(cast["city_admin"])
    response = client.post(BASE + "population", {"file": _file("p.csv", csv)}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201 and response.json() == {"imported": 2}
    assert CommunePopulation.objects.get(commune_id=codes[0]).households == 3000
    bad = client.post(
        BASE + "population", {"file": _file("p.csv", b"ma_xa,nam\n1,2\n")}, HTTP_X_CSRFTOKEN=token
    )
    assert bad.status_code == 422 and CommunePopulation.objects.count() == 2
