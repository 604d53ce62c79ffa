"""The sensing admin: city administrators see their city's rows (and the global quantities, read-only),
sensors get their commune from the point, and an ingestion key issued in the admin is shown once."""

import re

import pytest
from django.urls import reverse

from dothi.sensing import keys
from dothi.sensing.ingestion import ingest
from dothi.sensing.models import IngestKey, Quantity, Sensor

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_for(client):
    def login(user):
        client.force_login(user)
        client.cookies["dothi_language"] = "en"
        return client

    return login


def test_changelists_render(cast, city, source, air_sensor, admin_client_for):
    ingest(city=city, source=source, items=[("NOPE", "pm25", "2026-11-20T10:00:00Z", 1.0)])
    client = admin_client_for(cast["city_admin"])
    for model in ("quantity", "sensor", "datasource", "ingestkey", "rejectioncount"):
        response = client.get(reverse(f"admin:sensing_{model}_changelist"))
        assert response.status_code == 200, model
    assert client.get(reverse("admin:sensing_sensor_change", args=[air_sensor.pk])).status_code == 200
    assert client.get(reverse("admin:sensing_sensor_add")).status_code == 200


def test_city_admin_sees_only_their_city(cast, city, other_city, air_sensor, admin_client_for):
    from dothi.sensing import services

    services.sensor_register(
        actor=None, city=other_city, code="HCM-ONLY", name="hcm", kind="air", lat=10.8, lon=106.7
    )
    body = (
        admin_client_for(cast["city_admin"]).get(reverse("admin:sensing_sensor_changelist")).content.decode()
    )
    assert "AQ-1" in body and "HCM-ONLY" not in body


def test_global_quantities_are_read_only_for_city_admins(cast, city, quantities, admin_client_for):
    client = admin_client_for(cast["city_admin"])
    pm25 = quantities["pm25"]
    response = client.post(
        reverse("admin:sensing_quantity_change", args=[pm25.pk]),
        {
            "code": "pm25",
            "name_vi": "changed",
            "min_value": 0,
            "max_value": 5,
            "unit": "x",
            "decimals": 1,
            "order": 1,
        },
    )
    assert response.status_code == 403
    assert Quantity.objects.get(pk=pm25.pk).max_value == 1000
    # Their own quantity for their city is fine.
    response = client.post(
        reverse("admin:sensing_quantity_add"),
        {
            "city": city.pk,
            "code": "salinity",
            "name_vi": "Độ mặn",
            "name_en": "Salinity",
            "unit": "‰",
            "min_value": 0,
            "max_value": 50,
            "decimals": 1,
            "order": 100,
        },
    )
    assert response.status_code == 302
    assert Quantity.objects.get(code="salinity").city == city


def test_sensor_added_in_the_admin_gets_its_commune(cast, danang, quantities, admin_client_for):
    from dothi.core.models import CommuneArea

    area = CommuneArea.objects.filter(city=danang).select_related("commune").first()
    client = admin_client_for(cast["city_admin"])
    response = client.post(
        reverse("admin:sensing_sensor_add"),
        {
            "city": danang.pk,
            "code": "AD-1",
            "name": "Admin sensor",
            "kind": "noise",
            "quantities": [quantities["noise"].pk],
            "status": "active",
            "is_public": "on",
            "expected_interval_seconds": 300,
            "lat": area.commune.centre_lat,
            "lon": area.commune.centre_lon,
            "properties": "{}",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Sensor.objects.get(code="AD-1").commune == area.commune


def test_issue_key_in_admin_shows_plaintext_once(cast, city, source, air_sensor, admin_client_for):
    client = admin_client_for(cast["city_admin"])
    response = client.post(
        reverse("admin:sensing_ingestkey_add"), {"city": city.pk, "source": source.pk}, follow=True
    )
    assert response.status_code == 200
    shown = re.search(r"dsk_[A-Za-z0-9_-]{43}", response.content.decode())
    assert shown
    key = IngestKey.objects.get()
    assert key.prefix == shown.group(0)[:10] and key.key_hash == keys.hash_key(shown.group(0))
    page = client.get(reverse("admin:sensing_ingestkey_change", args=[key.pk])).content.decode()
    assert shown.group(0) not in page
    assert keys.lookup(shown.group(0)).source == source
