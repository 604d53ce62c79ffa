"""The layers admin: city administrators see their own city's layers, imports, populations and
features; a layer's schema is edited as JSON and checked with messages naming the attribute; imports
and features are read-only; a population row is for a commune of the city."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from dothi.core.models import AuditEvent, Commune
from dothi.layers.models import CommunePopulation, Feature, Layer, LayerImport

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_for(client):
    def login(user):
        client.force_login(user)
        client.cookies["dothi_language"] = "en"
        return client

    return login


def _layer_form(city, **overrides):
    data = {
        "city": city.pk,
        "code": "truong-hoc",
        "name_vi": "Trường học",
        "name_en": "Schools",
        "description_vi": "",
        "description_en": "",
        "sector": "schools",
        "role": "",
        "owner": "",
        "cadence": "yearly",
        "licence": "CC-BY-4.0",
        "is_public": "on",
        "geometry_kind": "point",
        "schema": json.dumps(
            [
                {"code": "ten", "label_vi": "Tên", "label_en": "Name", "type": "str", "required": True},
                {"code": "cap_hoc", "label_vi": "Cấp học", "type": "str", "choices": ["tiểu học", "THCS"]},
                {"code": "so_hoc_sinh", "label_vi": "Số học sinh", "type": "int"},
            ]
        ),
        "name_attribute": "ten",
        "colour": "#E6A100",
        "order": 10,
    }
    data.update(overrides)
    return data


def test_changelists_and_pages_render(cast, layers_city, make_layer, make_features, admin_client_for):
    layer = make_layer(layers_city, code="schools")
    feature = make_features(layer, 3, names=["Trường Tiểu học Lê Lợi", "Trường THCS Nguyễn Huệ", "x"])[0]
    row = LayerImport.objects.create(
        city=layers_city, layer=layer, format="geojson", status="accepted", added=3
    )
    CommunePopulation.objects.create(city=layers_city, commune_id="20242", year=2025, population=95400)
    client = admin_client_for(cast["city_admin"])
    for model in ("layer", "layerimport", "communepopulation", "feature"):
        assert client.get(reverse(f"admin:layers_{model}_changelist")).status_code == 200, model
    page = client.get(reverse("admin:layers_layer_change", args=[layer.pk]))
    assert page.status_code == 200
    assert f"?layer__id__exact={layer.pk}" in page.content.decode()  # links to its features and imports
    assert client.get(reverse("admin:layers_layer_add")).status_code == 200
    assert client.get(reverse("admin:layers_layerimport_change", args=[row.pk])).status_code == 200
    assert client.get(reverse("admin:layers_feature_change", args=[feature.pk])).status_code == 200
    assert client.get(reverse("admin:layers_communepopulation_add")).status_code == 200


def test_city_admin_sees_only_their_city(cast, layers_city, other_city, make_layer, admin_client_for):
    make_layer(layers_city, code="da-nang-only")
    theirs = make_layer(other_city, code="hcm-only")
    client = admin_client_for(cast["city_admin"])
    body = client.get(reverse("admin:layers_layer_changelist")).content.decode()
    assert "da-nang-only" in body and "hcm-only" not in body
    response = client.get(reverse("admin:layers_layer_change", args=[theirs.pk]))
    assert response.status_code == 302  # Django's answer for an object outside the queryset


def test_a_valid_schema_is_saved_as_the_services_store_it_and_audited(cast, layers_city, admin_client_for):
    client = admin_client_for(cast["city_admin"])
    response = client.post(reverse("admin:layers_layer_add"), _layer_form(layers_city))
    assert response.status_code == 302, response.content.decode()[:2000]
    layer = Layer.objects.get(city=layers_city, code="truong-hoc")
    assert [a["code"] for a in layer.schema] == ["ten", "cap_hoc", "so_hoc_sinh"]
    assert layer.schema[1]["label_en"] == "" and layer.schema[1]["required"] is False  # filled in
    assert layer.colour == "#e6a100"
    assert AuditEvent.objects.filter(
        object_type="layers.layer", object_id=str(layer.pk), action="create"
    ).exists()


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ('{"code": "ten"}', "must be a JSON list"),
        ('[{"code": "ten", "label_vi": "Tên", "type": "text"}]', "the type must be one of"),
        (
            '[{"code": "ten", "label_vi": "Tên", "type": "str"}, '
            '{"code": "ten", "label_vi": "Tên 2", "type": "int"}]',
            "used by an earlier attribute",
        ),
        (
            '[{"code": "so", "label_vi": "Số", "type": "int", "choices": [1, "hai"]}]',
            "are not of the type int",
        ),
        ('[{"code": "so__ho", "label_vi": "Số hộ", "type": "int"}]', "without spaces at its ends"),
        ('[{"code": "ten", "type": "str"}]', "label_vi"),
        ('[{"code": "ten", "label_vi": "Tên", "type": "str", "required": "yes"}]', "must be true or false"),
        ('[{"code": "ten", "label_vi": "Tên", "type": "str", "colour": "red"}]', "unknown keys colour"),
        ("[{", "Enter a valid JSON"),
    ],
)
def test_a_bad_schema_is_refused_with_a_clear_message(cast, layers_city, admin_client_for, schema, message):
    client = admin_client_for(cast["city_admin"])
    response = client.post(
        reverse("admin:layers_layer_add"), _layer_form(layers_city, schema=schema, name_attribute="")
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Layer.objects.filter(city=layers_city).exists()


def test_name_attribute_role_and_existing_features_are_checked(
    cast, layers_city, make_layer, make_features, admin_client_for
):
    client = admin_client_for(cast["city_admin"])
    body = client.post(
        reverse("admin:layers_layer_add"), _layer_form(layers_city, name_attribute="ten_truong")
    ).content.decode()
    assert "must be one of the schema" in body
    body = client.post(
        reverse("admin:layers_layer_add"), _layer_form(layers_city, role="drainage")
    ).content.decode()
    assert "holds Lines" in body
    assert not Layer.objects.filter(city=layers_city).exists()

    layer = make_layer(layers_city, code="schools")
    make_features(layer, 2, properties={"ten": "A"})
    url = reverse("admin:layers_layer_change", args=[layer.pk])
    schema = [
        {"code": "ten", "label_vi": "Tên", "type": "str"},
        {"code": "so", "label_vi": "Số", "type": "int", "required": True},
    ]
    body = client.post(
        url, _layer_form(layers_city, code="schools", schema=json.dumps(schema))
    ).content.decode()
    assert "cannot become required: 2 features" in body
    body = client.post(
        url, _layer_form(layers_city, code="schools", geometry_kind="polygon")
    ).content.decode()
    assert "its geometry cannot change" in body
    layer.refresh_from_db()
    assert layer.geometry_kind == "point" and [a["code"] for a in layer.schema] == ["ten"]


def test_an_owner_from_another_city_is_refused(cast, layers_city, other_city, admin_client_for):
    from tests import factories

    elsewhere = factories.make_agency(other_city, "so-xay-dung-hcm")
    client = admin_client_for(cast["platform_admin"])
    body = client.post(
        reverse("admin:layers_layer_add"), _layer_form(layers_city, owner=elsewhere.pk)
    ).content.decode()
    assert "belongs to another city" in body
    assert not Layer.objects.exists()


def test_imports_and_features_are_read_only(cast, layers_city, make_layer, make_features, admin_client_for):
    layer = make_layer(layers_city)
    feature = make_features(layer, 1, names=["A"])[0]
    row = LayerImport.objects.create(city=layers_city, layer=layer, format="geojson", status="accepted")
    for user in (cast["city_admin"], cast["platform_admin"]):
        client = admin_client_for(user)
        assert client.get(reverse("admin:layers_layerimport_add")).status_code == 403
        assert (
            client.post(
                reverse("admin:layers_layerimport_delete", args=[row.pk]), {"post": "yes"}
            ).status_code
            == 403
        )
        assert client.get(reverse("admin:layers_feature_add")).status_code == 403
        assert (
            client.post(
                reverse("admin:layers_feature_delete", args=[feature.pk]), {"post": "yes"}
            ).status_code
            == 403
        )
        page = client.post(reverse("admin:layers_feature_change", args=[feature.pk]), {"name": "changed"})
        assert page.status_code == 403
    assert Feature.objects.get(pk=feature.pk).name == "A"
    assert LayerImport.objects.filter(pk=row.pk).exists()


def test_features_are_found_by_name_with_or_without_accents_and_by_layer(
    cast, layers_city, make_layer, make_features, admin_client_for
):
    schools = make_layer(layers_city, code="schools")
    clinics = make_layer(layers_city, code="clinics")
    make_features(schools, 2, names=["Trường Tiểu học Lê Lợi", "Trường THCS Nguyễn Huệ"], fid_prefix="s")
    make_features(clinics, 1, names=["Trạm Y tế Lê Lợi"], fid_prefix="c", origin=(108.22, 16.07))
    client = admin_client_for(cast["city_admin"])
    url = reverse("admin:layers_feature_changelist")
    body = client.get(url, {"q": "truong tieu hoc le loi"}).content.decode()
    assert "Trường Tiểu học Lê Lợi" in body and "Nguyễn Huệ" not in body
    body = client.get(url, {"q": "Lê Lợi", "layer__id__exact": clinics.pk}).content.decode()
    assert "Trạm Y tế Lê Lợi" in body and "Trường Tiểu học" not in body
    body = client.get(url, {"q": "s2"}).content.decode()
    assert "Nguyễn Huệ" in body and "Lê Lợi" not in body


def test_population_is_for_a_commune_of_the_city(cast, layers_city, admin_client_for):
    client = admin_client_for(cast["city_admin"])
    hanoi_commune = Commune.objects.exclude(province_id="48").order_by("code").first()
    base = {
        "city": layers_city.pk,
        "year": 2025,
        "population": 95400,
        "households": 26000,
        "source": "Cục Thống kê",
    }
    response = client.post(
        reverse("admin:layers_communepopulation_add"), {**base, "commune": hanoi_commune.pk}
    )
    assert response.status_code == 200  # not a choice for this administrator's cities
    assert not CommunePopulation.objects.exists()
    response = client.post(
        reverse("admin:layers_communepopulation_add"), {**base, "commune": "20242", "households": 200000}
    )
    assert "more households than people" in response.content.decode()
    response = client.post(reverse("admin:layers_communepopulation_add"), {**base, "commune": "20242"})
    assert response.status_code == 302
    assert CommunePopulation.objects.get(city=layers_city, commune_id="20242").population == 95400
