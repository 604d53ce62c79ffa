"""The staff pages of spatial layers: who may open each, creating and editing a layer through the form
(errors shown, nothing stored), uploading an import (the counts, or the line/feature and reason of a
rejection, the layer unchanged), agency managers importing only their agency's layers, population upload
and the imports log."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from dothi.core.models import Commune
from dothi.layers.models import CommunePopulation, Feature, Layer, LayerImport
from tests.layers.conftest import FEATURE_ORIGIN

pytestmark = pytest.mark.django_db
STAFF_AREA = {"agency_manager", "operator", "city_admin", "platform_admin"}
MANAGERS = {"operator", "city_admin", "platform_admin"}


def client_for(user=None, language: str = "en") -> Client:
    client = Client()
    client.cookies["dothi_language"] = language
    if user is not None:
        client.force_login(user)
    return client


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


FORM = {
    "code": "trees",
    "name_vi": "Cây xanh",
    "name_en": "Trees",
    "sector": "trees",
    "role": "",
    "owner": "",
    "cadence": "yearly",
    "licence": "CC-BY-4.0",
    "is_public": "on",
    "geometry_kind": "point",
    "schema": '[{"code": "ten", "label_vi": "Tên", "label_en": "Name", "type": "str"}]',
    "name_attribute": "ten",
    "colour": "#228833",
}


def test_who_opens_the_staff_pages(layers_city, cast, make_layer):
    make_layer(layers_city, code="schools")
    for role, user in cast.items():
        home = client_for(user).get("/layers/staff/")
        if user is None:
            assert home.status_code == 302 and "/account/" in home["Location"], role
            continue
        assert home.status_code == (200 if role in STAFF_AREA else 403), role
        assert client_for(user).get("/layers/staff/new/").status_code == (200 if role in MANAGERS else 403), (
            role
        )
        population = client_for(user).get("/layers/staff/population/").status_code
        assert population == (200 if role in {"city_admin", "platform_admin"} else 403), role


def test_create_and_edit_a_layer_through_the_form(layers_city, cast, agency):
    client = client_for(cast["operator"])
    bad = client.post("/layers/staff/new/", {**FORM, "schema": "[not json"})
    assert bad.status_code == 422 and "The schema is not valid JSON." in bad.content.decode()
    assert not Layer.objects.filter(code="trees").exists()
    created = client.post("/layers/staff/new/", {**FORM, "owner": agency.code})
    assert created.status_code == 302 and created["Location"] == "/layers/staff/trees/import/"
    layer = Layer.objects.get(city=layers_city, code="trees")
    assert (layer.owner, layer.colour, layer.schema[0]["code"], layer.is_public) == (
        agency,
        "#228833",
        "ten",
        True,
    )
    taken = client.post("/layers/staff/new/", FORM)
    assert taken.status_code in (409, 422) and Layer.objects.filter(code="trees").count() == 1
    edit = client.get("/layers/staff/trees/edit/")
    assert edit.status_code == 200 and "Cây xanh" in edit.content.decode()
    data = {k: v for k, v in FORM.items() if k not in ("code", "is_public")}
    saved = client.post(
        "/layers/staff/trees/edit/", {**data, "owner": agency.code, "name_en": "Street trees", "order": "5"}
    )
    assert saved.status_code == 302
    layer.refresh_from_db()
    assert (layer.name_en, layer.is_public, layer.order) == ("Street trees", False, 5)
    assert client_for(cast["agency_manager"]).post("/layers/staff/trees/edit/", data).status_code == 403


def test_import_upload_shows_counts_or_the_rejection(layers_city, cast, make_layer):
    trees = make_layer(layers_city, code="trees")
    lon, lat = FEATURE_ORIGIN
    client = client_for(cast["operator"])
    assert client.get("/layers/staff/trees/import/").status_code == 200
    good = client.post(
        "/layers/staff/trees/import/",
        {
            "file": SimpleUploadedFile("trees.geojson", _geojson([(lon, lat), (lon + 0.001, lat)])),
            "mode": "replace",
        },
    )
    assert good.status_code == 302
    result = client.get(good["Location"]).content.decode()
    assert "The file is imported." in result and "2 features added" in result
    bad = client.post(
        "/layers/staff/trees/import/",
        {
            "file": SimpleUploadedFile("more.geojson", _geojson([(lon, lat), (105.85, 21.03)])),
            "mode": "upsert",
        },
    )
    assert bad.status_code == 302
    row = LayerImport.objects.filter(layer=trees).first()
    assert row.status == "rejected" and bad["Location"] == f"/layers/staff/imports/{row.pk}/"
    rejected = client.get(bad["Location"]).content.decode()
    assert "The file is rejected: the layer is unchanged." in rejected and row.error_at in rejected
    assert Feature.objects.filter(layer=trees).count() == 2
    missing = client.post("/layers/staff/trees/import/", {"mode": "replace"})
    assert missing.status_code == 422
    log = client.get("/layers/staff/imports/").content.decode()
    assert "more.geojson" in log and "trees.geojson" in log


def test_agency_managers_import_their_agencys_layers_only(layers_city, cast, agency, make_layer):
    make_layer(layers_city, code="own", owner=agency)
    make_layer(layers_city, code="other")
    manager = client_for(cast["agency_manager"])
    home = manager.get("/layers/staff/").content.decode()
    assert 'href="/layers/staff/own/import/"' in home and 'href="/layers/staff/other/import/"' not in home
    assert manager.get("/layers/staff/own/import/").status_code == 200
    assert manager.get("/layers/staff/other/import/").status_code == 403
    lon, lat = FEATURE_ORIGIN
    done = manager.post(
        "/layers/staff/own/import/",
        {"file": SimpleUploadedFile("a.geojson", _geojson([(lon, lat)])), "mode": "replace"},
    )
    assert done.status_code == 302 and Feature.objects.filter(layer__code="own").count() == 1


def test_population_upload(layers_city, cast):
    codes = list(Commune.objects.filter(province_id="48").order_by("code").values_list("code", flat=True)[:2])
    client = client_for(cast["city_admin"])
    assert "No population has been imported yet." in client.get("/layers/staff/population/").content.decode()
    csv = f"ma_xa;dan_so\n{codes[0]};1200\n{codes[1]};800\n".encode()
    done = client.post(
        "/layers/staff/population/", {"file": SimpleUploadedFile("p.csv", csv), "year": "2024"}
    )
    assert done.status_code == 302
    page = client.get("/layers/staff/population/").content.decode()
    assert "2000" in page and CommunePopulation.objects.filter(year=2024).count() == 2
    bad = client.post(
        "/layers/staff/population/",
        {"file": SimpleUploadedFile("p.csv", b"ma_xa;dan_so\n1;x\n"), "year": "2024"},
    )
    assert bad.status_code == 422 and CommunePopulation.objects.count() == 2
