"""Open311 GeoReport v2 at /open311/v2/: every endpoint in both formats, the errors, and submissions."""

from __future__ import annotations

import datetime as dt
import io
import json
import xml.etree.ElementTree as ET

import pytest
from django.core.cache import cache
from django.utils import timezone
from PIL import Image

from dothi.core.models import Commune
from dothi.reports import services
from dothi.reports.models import (
    Category,
    CategoryAttribute,
    Open311Key,
    Report,
    ReportEvent,
    ReportPhoto,
    RoutingRule,
    Status,
)
from tests import factories
from tests.reports.open311_schemas.check import errors as schema_errors

pytestmark = pytest.mark.django_db

BASE = "/open311/v2"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


# --- Fixtures -------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _clear_rate_limits():
    cache.clear()


@pytest.fixture
def pothole(danang, agency):
    category = Category.objects.create(
        city=danang, code="pothole", name_vi="Ổ gà", name_en="Pothole", description_en="Holes in the road",
        group="roads", keywords="road,hole",
    )
    CategoryAttribute.objects.create(
        category=category, code="depth", label_vi="Độ sâu", label_en="How deep?", datatype="singlevaluelist",
        required=True, order=1,
        values=[{"key": "shallow", "name_vi": "Nông", "name_en": "Shallow"},
                {"key": "deep", "name_vi": "Sâu", "name_en": "Deep"}],
    )
    CategoryAttribute.objects.create(
        category=category, code="hazards", label_vi="Nguy hiểm", label_en="Hazards",
        datatype="multivaluelist", order=2,
        values=[{"key": "water", "name_en": "Water"}, {"key": "traffic", "name_en": "Traffic"},
                {"key": "night", "name_en": "Dark at night"}],
    )
    RoutingRule.objects.create(city=danang, category=category, agency=agency)
    return category


@pytest.fixture
def neighbours(danang, agency):
    """A confidential category (reports about a neighbour): never public."""
    category = Category.objects.create(city=danang, code="neighbour", name_vi="Hàng xóm", name_en="Neighbour",
                                       confidential=True)
    RoutingRule.objects.create(city=danang, category=category, agency=agency)
    return category


@pytest.fixture
def lights(danang, agency):
    category = Category.objects.create(city=danang, code="light", name_vi="Đèn", name_en="Street light")
    RoutingRule.objects.create(city=danang, category=category, agency=agency)
    return category


@pytest.fixture
def point(danang):
    """(lat, lon) inside Đà Nẵng: a commune's centre (inside its own approximate cell)."""
    communes = Commune.objects.filter(province_id=danang.province_code, centre_lat__isnull=False)
    commune = communes.order_by("code")[0]
    return commune.centre_lat, commune.centre_lon


@pytest.fixture
def api_key(danang):
    _key, plaintext = services.open311_key_issue(actor=None, city=danang, name="Civic app")
    return plaintext


_seq = iter(range(1, 10_000))


def make_report(category, *, status=Status.RECEIVED, confidential=None, hidden=False, updated=None, **extra):
    commune = Commune.objects.filter(province_id=category.city.province_code).order_by("code")[0]
    n = next(_seq)
    report = Report.objects.create(
        city=category.city, reference=f"DAN-260101-T{n:05d}", category=category, commune=commune,
        agency=category.routing_rules.first().agency, status=status,
        confidential=category.confidential if confidential is None else confidential, hidden=hidden,
        lat=16.05, lon=108.2, description=extra.pop("description", f"report {n}"), **extra,
    )
    if updated is not None:
        Report.objects.filter(pk=report.pk).update(updated_at=updated)
        report.refresh_from_db()
    return report


def get(client, path, **params):
    return client.get(f"{BASE}/{path}", params, **EN)


def as_json(response):
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    return json.loads(response.content)


def as_xml(response):
    assert response["Content-Type"].startswith("text/xml"), response["Content-Type"]
    assert response.content.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    return ET.fromstring(response.content)


def assert_valid(document, schema_name):
    problems = schema_errors(document, schema_name)
    assert not problems, problems


def assert_error(response, status, text=""):
    assert response.status_code == status, response.content
    fmt = "xml" if response["Content-Type"].startswith("text/xml") else "json"
    if fmt == "json":
        body = as_json(response)
        assert isinstance(body, list) and body[0]["code"] == status
        description = body[0]["description"]
    else:
        root = as_xml(response)
        assert root.tag == "errors"
        assert root.find("error/code").text == str(status)
        description = root.find("error/description").text
    assert text in description, description
    return description


def jpeg(size=(40, 30), exif_gps=True) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", size, (200, 50, 50))
    exif = Image.Exif()
    if exif_gps:
        exif[0x8825] = {1: "N", 2: (16.0, 3.0, 15.0)}  # GPS IFD: must not survive the re-encoding
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


# --- The schema check itself can fail --------------------------------------------------------------


def test_the_schema_check_catches_what_the_schemas_forbid():
    good = [{"service_request_id": "1", "status": "open", "service_code": "x",
             "requested_datetime": "2026-01-01T00:00:00Z", "lat": 1.5, "media_url": None}]
    assert schema_errors(good, "requests.json") == []
    assert schema_errors([{**good[0], "service_request_id": 1}], "requests.json")
    assert schema_errors([{**good[0], "status": "in_progress"}], "requests.json")
    assert schema_errors([{**good[0], "requested_datetime": "2026-01-01 00:00"}], "requests.json")
    assert schema_errors([{**good[0], "media_url": "/relative.jpg"}], "requests.json")
    assert schema_errors([{"service_code": "x", "service_name": "y", "metadata": "true", "type": "realtime"}],
                         "services.json")


# --- Discovery and services --------------------------------------------------------------------------


def test_discovery_in_both_formats(client, danang):
    body = as_json(get(client, "discovery.json"))
    endpoint = body["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2/"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert body["changeset"] and body["key_service"]

    root = as_xml(get(client, "discovery.xml"))
    assert root.tag == "discovery"
    formats = root.findall("endpoints/endpoint/formats/format")
    assert [f.text for f in formats] == ["text/xml", "application/json"]
    assert root.find("endpoints/endpoint/type").text == "production"


def test_services_in_both_formats(client, pothole, lights):
    Category.objects.create(city=pothole.city, code="retired", name_vi="Cũ", is_active=False)
    body = as_json(get(client, "services.json"))
    assert_valid(body, "services.json")
    by_code = {s["service_code"]: s for s in body}
    assert set(by_code) == {"pothole", "light"}
    assert by_code["pothole"] == {
        "service_code": "pothole", "service_name": "Pothole", "description": "Holes in the road",
        "metadata": True, "type": "realtime", "keywords": "road,hole", "group": "roads",
    }
    assert by_code["light"]["metadata"] is False

    root = as_xml(get(client, "services.xml"))
    assert root.tag == "services"
    services_xml = {s.find("service_code").text: s for s in root.findall("service")}
    assert services_xml["pothole"].find("metadata").text == "true"
    assert services_xml["light"].find("metadata").text == "false"
    assert services_xml["pothole"].find("type").text == "realtime"


def test_services_follow_accept_language(client, pothole):
    body = json.loads(client.get(f"{BASE}/services.json", HTTP_ACCEPT_LANGUAGE="vi").content)
    assert body[0]["service_name"] == "Ổ gà"


def test_service_definition_in_both_formats(client, pothole):
    body = as_json(get(client, "services/pothole.json"))
    assert_valid(body, "service-definition.json")
    assert body["service_code"] == "pothole"
    depth, hazards = body["attributes"]
    assert depth == {
        "variable": True, "code": "depth", "datatype": "singlevaluelist", "required": True,
        "datatype_description": "One of the keys listed in values", "order": 1, "description": "How deep?",
        "values": [{"key": "shallow", "name": "Shallow"}, {"key": "deep", "name": "Deep"}],
    }
    assert hazards["required"] is False and hazards["datatype"] == "multivaluelist"

    root = as_xml(get(client, "services/pothole.xml"))
    assert root.tag == "service_definition"
    attributes = root.findall("attributes/attribute")
    assert [a.find("code").text for a in attributes] == ["depth", "hazards"]
    assert attributes[0].find("required").text == "true"
    assert [v.find("key").text for v in attributes[0].findall("values/value")] == ["shallow", "deep"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_service_code_is_404(client, pothole, fmt):
    assert_error(get(client, f"services/nope.{fmt}"), 404, "service_code")


# --- Jurisdictions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_jurisdiction_is_404(client, pothole, fmt):
    assert_error(get(client, f"services.{fmt}", jurisdiction_id="atlantis"), 404, "jurisdiction_id")


def test_jurisdiction_is_required_with_several_cities(client, pothole, other_city):
    assert_error(get(client, "services.json"), 400, "jurisdiction_id")
    body = as_json(get(client, "services.json", jurisdiction_id="danang"))
    assert [s["service_code"] for s in body] == ["pothole"]
    # The other city has no categories: its list is empty, never Đà Nẵng's.
    assert as_json(get(client, "services.json", jurisdiction_id="hcm")) == []
    # Under the city's path prefix the city is known.
    assert as_json(client.get(f"/c/danang{BASE}/services.json"))[0]["service_code"] == "pothole"


# --- Reading service requests ------------------------------------------------------------------------


def test_requests_list_in_both_formats_public_only(client, settings, tmp_path, pothole, neighbours, agency):
    settings.MEDIA_ROOT = tmp_path
    public = make_report(pothole, status=Status.IN_PROGRESS, address="12 Bạch Đằng",
                         due_at=timezone.now() + dt.timedelta(days=3))
    ReportPhoto.objects.create(report=public, token="tok1", extension="jpg", file="x.jpg",
                               content_type="image/jpeg", size=1, hidden=True)
    ReportPhoto.objects.create(report=public, token="tok2", extension="jpg", file="y.jpg",
                               content_type="image/jpeg", size=1)
    ReportEvent.objects.create(report=public, kind="response", text="Crew booked", public=True,
                               at=timezone.now() - dt.timedelta(hours=2))
    ReportEvent.objects.create(report=public, kind="response", text="Crew on site", public=True)
    ReportEvent.objects.create(report=public, kind="note", text="SECRET internal note", public=False)
    secret = make_report(neighbours, description="SECRET neighbour report")
    hidden = make_report(pothole, hidden=True, description="SECRET hidden report")

    response = get(client, "requests.json")
    body = as_json(response)
    assert_valid(body, "requests.json")
    assert [r["service_request_id"] for r in body] == [public.reference]
    item = body[0]
    assert item["status"] == "open"
    assert item["status_notes"] == "Crew on site"
    assert item["service_code"] == "pothole" and item["service_name"] == "Pothole"
    assert item["agency_responsible"] == "Department of Construction"
    assert item["address"] == "12 Bạch Đằng"
    assert item["lat"] == 16.05 and item["long"] == 108.2
    assert item["media_url"] == f"http://testserver/reports/{public.reference}/photos/tok2"
    assert item["requested_datetime"].endswith("Z") and item["expected_datetime"].endswith("Z")
    assert "detailed_status" not in item
    assert "SECRET" not in response.content.decode()
    text = response.content.decode()
    assert secret.reference not in text and hidden.reference not in text

    root = as_xml(get(client, "requests.xml"))
    assert root.tag == "service_requests"
    (request_xml,) = root.findall("request")
    assert request_xml.find("service_request_id").text == public.reference
    assert request_xml.find("status").text == "open"
    assert request_xml.find("long").text == "108.2"
    assert request_xml.find("zipcode").text is None  # present, empty


def test_extensions_add_the_detailed_status(client, pothole):
    make_report(pothole, status=Status.NEEDS_INFO)
    item = as_json(get(client, "requests.json", extensions="true"))[0]
    assert item["detailed_status"] == "NEEDS_INFO"
    assert item["status"] == "open"
    root = as_xml(get(client, "requests.xml", extensions="true"))
    assert root.find("request/detailed_status").text == "NEEDS_INFO"


@pytest.mark.parametrize(("status", "expected"), [
    (Status.RECEIVED, "open"), (Status.ASSIGNED, "open"), (Status.IN_PROGRESS, "open"),
    (Status.NEEDS_INFO, "open"), (Status.REOPENED, "open"), (Status.RESOLVED, "closed"),
    (Status.CLOSED, "closed"), (Status.REJECTED, "closed"), (Status.DUPLICATE, "closed"),
])
def test_rich_statuses_fold_into_open_and_closed(client, pothole, status, expected):
    make_report(pothole, status=status)
    assert as_json(get(client, "requests.json"))[0]["status"] == expected


def test_requests_filters(client, pothole, lights):
    now = timezone.now()
    a = make_report(pothole, status=Status.RESOLVED, submitted_at=now - dt.timedelta(days=10))
    b = make_report(pothole, submitted_at=now - dt.timedelta(days=2))
    c = make_report(lights, submitted_at=now - dt.timedelta(hours=1))

    def ids(**params):
        return [r["service_request_id"] for r in as_json(get(client, "requests.json", **params))]

    assert set(ids()) == {a.reference, b.reference, c.reference}
    assert set(ids(status="open")) == {b.reference, c.reference}
    assert ids(status="closed") == [a.reference]
    assert set(ids(status="open,closed")) == {a.reference, b.reference, c.reference}
    assert set(ids(service_code="pothole")) == {a.reference, b.reference}
    assert set(ids(service_code="pothole,light")) == {a.reference, b.reference, c.reference}
    assert ids(service_code="nope") == []
    since = (now - dt.timedelta(days=3)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert set(ids(start_date=since)) == {b.reference, c.reference}
    assert ids(end_date=since) == [a.reference]
    # An offset, as the spec allows (the + arrives as a space when not percent-encoded).
    local = (now - dt.timedelta(days=3)).astimezone(dt.timezone(dt.timedelta(hours=7))).isoformat()
    assert set(ids(start_date=local)) == {b.reference, c.reference}
    # A list of ids overrides every other filter.
    both = f"{a.reference},{c.reference}"
    assert set(ids(service_request_id=both, status="open")) == {a.reference, c.reference}


@pytest.mark.parametrize("params", [
    {"status": "pending"}, {"start_date": "yesterday"}, {"page": "0"}, {"page_size": "201"},
    {"page": "-1"}, {"page_size": "1e3"}, {"updated_after": "2026-13-45T00:00:00Z"},
    {"service_request_id": ",".join(str(i) for i in range(101))},
])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_list_parameters_are_400(client, pothole, params, fmt):
    assert_error(get(client, f"requests.{fmt}", **params), 400)


def test_paging_and_updated_after(client, pothole):
    base = timezone.now() - dt.timedelta(days=1)
    reports = [make_report(pothole, updated=base + dt.timedelta(minutes=i)) for i in range(5)]
    newest_first = [r.reference for r in reversed(reports)]

    def ids(**params):
        return [r["service_request_id"] for r in as_json(get(client, "requests.json", **params))]

    assert ids() == newest_first
    assert ids(page_size=2) == newest_first[:2]
    assert ids(page_size=2, page=2) == newest_first[2:4]
    assert ids(page_size=2, page=3) == newest_first[4:]
    assert ids(page_size=2, page=4) == []
    after = (base + dt.timedelta(minutes=2, seconds=30)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(updated_after=after) == newest_first[:2]
    assert ids(updated_before=after) == newest_first[2:]


def test_default_page_size_is_50(client, pothole):
    for _ in range(51):
        make_report(pothole)
    assert len(as_json(get(client, "requests.json"))) == 50
    assert len(as_json(get(client, "requests.json", page=2))) == 1


def test_list_page_takes_a_fixed_number_of_queries(client, pothole, django_assert_max_num_queries):
    for i in range(20):
        report = make_report(pothole)
        ReportEvent.objects.create(report=report, kind="response", text=f"answer {i}")
        ReportPhoto.objects.create(report=report, token=f"t{i}", extension="jpg", file="x.jpg",
                                   content_type="image/jpeg", size=1)
    # Reports (one joined query), photos, responses; plus session/city lookups by the middleware.
    with django_assert_max_num_queries(8):
        body = as_json(get(client, "requests.json"))
    assert len(body) == 20 and all(r["media_url"] and r["status_notes"] for r in body)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_single_request_public_only(client, pothole, neighbours, fmt):
    public = make_report(pothole)
    secret = make_report(neighbours)
    hidden = make_report(pothole, hidden=True)
    response = get(client, f"requests/{public.reference}.{fmt}")
    if fmt == "json":
        body = as_json(response)
        assert_valid(body, "requests.json")
        assert [r["service_request_id"] for r in body] == [public.reference]
    else:
        root = as_xml(response)
        assert root.tag == "service_requests"
        assert [r.find("service_request_id").text for r in root.findall("request")] == [public.reference]
    # Confidential, hidden and unknown all answer the same 404: existence is not disclosed.
    for reference in (secret.reference, hidden.reference, "DAN-000000-NOPE00"):
        description = assert_error(get(client, f"requests/{reference}.{fmt}"), 404)
        assert description == "Unknown service_request_id."


def test_another_citys_request_is_not_found(client, pothole, other_city):
    report = make_report(pothole)
    assert_error(get(client, f"requests/{report.reference}.json", jurisdiction_id="hcm"), 404)
    assert as_json(get(client, "requests.json", jurisdiction_id="hcm")) == []


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_tokens_are_never_issued(client, pothole, fmt):
    assert_error(get(client, f"tokens/abc123.{fmt}"), 404, "token")


def test_request_updates_public_events_only(client, pothole, neighbours):
    report = make_report(pothole, status=Status.RESOLVED)
    long_ago = timezone.now() - dt.timedelta(days=5)
    first = ReportEvent.objects.create(report=report, kind="status", from_status="received",
                                       to_status="in_progress", at=long_ago)
    fixed = ReportEvent.objects.create(report=report, kind="status", from_status="in_progress",
                                       to_status="resolved", text="Filled in")
    ReportEvent.objects.create(report=report, kind="note", text="SECRET note", public=False)
    ReportEvent.objects.create(report=report, kind="status", to_status="closed", text="SECRET private",
                               public=False)
    secret = make_report(neighbours)
    ReportEvent.objects.create(report=secret, kind="status", to_status="in_progress",
                               text="SECRET confidential")

    response = get(client, "servicerequestupdates.json")
    body = as_json(response)
    assert "SECRET" not in response.content.decode()
    assert [u["update_id"] for u in body] == [str(fixed.pk), str(first.pk)]
    assert body[0] == {
        "update_id": str(fixed.pk), "service_request_id": report.reference, "status": "fixed",
        "external_status_code": "RESOLVED", "updated_datetime": body[0]["updated_datetime"],
        "description": "Filled in", "media_url": None,
    }
    assert body[1]["status"] == "in_progress"
    since = (long_ago + dt.timedelta(days=1)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [u["update_id"] for u in as_json(get(client, "servicerequestupdates.json", start_date=since))] == [
        str(fixed.pk)
    ]
    root = as_xml(get(client, "servicerequestupdates.xml"))
    assert root.tag == "service_request_updates"
    updates = root.findall("request_update")
    assert [u.find("update_id").text for u in updates] == [str(fixed.pk), str(first.pk)]


# --- Submitting service requests -----------------------------------------------------------------------


def post(client, fmt="json", query="", headers=None, **data):
    return client.post(f"{BASE}/requests.{fmt}{query}", data, **EN, **(headers or {}))


def submission(point, api_key, **extra):
    lat, lon = point
    body = {"api_key": api_key, "service_code": "pothole", "lat": str(lat), "long": str(lon),
            "description": "A deep hole by the school gate", "attribute[depth]": "deep"}
    body.update(extra)
    return {k: v for k, v in body.items() if v is not None}


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post_creates_one_report(client, pothole, point, api_key, fmt):
    response = post(client, fmt, **submission(point, api_key, address_string="Trước cổng trường"))
    assert response.status_code == 200, response.content
    report = Report.objects.get()
    if fmt == "json":
        body = as_json(response)
        assert body == [{"service_request_id": report.reference, "service_notice": body[0]["service_notice"],
                         "account_id": None}]
        assert "Department of Construction" in body[0]["service_notice"]
    else:
        root = as_xml(response)
        assert root.tag == "service_requests"
        assert root.find("request/service_request_id").text == report.reference
    assert report.channel == "open311" and report.open311_key.name == "Civic app"
    assert report.reporter is None
    assert report.attributes == {"depth": "deep"}
    assert report.address == "Trước cổng trường"
    # And it is then listed, as any public report.
    assert as_json(get(client, f"requests/{report.reference}.json"))[0]["description"] == (
        "A deep hole by the school gate"
    )


def test_key_and_jurisdiction_in_the_query_string(client, pothole, point, api_key):
    data = submission(point, None)
    response = post(client, query=f"?api_key={api_key}&jurisdiction_id=danang", **data)
    assert response.status_code == 200, response.content
    assert Report.objects.count() == 1


def test_contact_details_are_stored_encrypted(client, pothole, point, api_key, cast):
    response = post(client, **submission(point, api_key, email="lan.nguyen@example.com", first_name="Lan",
                                         last_name="Nguyễn", phone="+84905123456", device_id="dev-1",
                                         account_id="acc-9"))
    assert response.status_code == 200, response.content
    report = Report.objects.get()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM reports_report WHERE id = %s", [report.pk])
        raw = " ".join(str(v) for v in cursor.fetchone())
    for clear in ("lan.nguyen@example.com", "+84905123456", "Nguyễn"):
        assert clear not in raw
    contact = services.selectors.reporter_contact(actor=cast["city_admin"], report=report)
    assert contact == {"name": "Lan Nguyễn", "phone": "+84905123456", "email": "lan.nguyen@example.com"}
    # Nothing of it is ever served.
    listing = get(client, "requests.json").content.decode()
    assert "lan.nguyen" not in listing and "84905123456" not in listing and "Lan" not in listing


def test_idempotency_header_makes_a_retry_the_same_report(client, pothole, point, api_key):
    headers = {"HTTP_IDEMPOTENCY_KEY": "retry-1"}
    first = as_json(post(client, headers=headers, **submission(point, api_key)))
    again = as_json(post(client, headers=headers, **submission(point, api_key)))
    assert first[0]["service_request_id"] == again[0]["service_request_id"]
    assert Report.objects.count() == 1
    other = as_json(post(client, headers={"HTTP_IDEMPOTENCY_KEY": "retry-2"}, **submission(point, api_key)))
    assert other[0]["service_request_id"] != first[0]["service_request_id"]
    assert Report.objects.count() == 2


def test_multi_value_attributes(client, pothole, point, api_key):
    data = submission(point, api_key)
    data["attribute[hazards][]"] = ["water", "night"]
    response = post(client, **data)
    assert response.status_code == 200, response.content
    assert Report.objects.get().attributes == {"depth": "deep", "hazards": ["water", "night"]}


def test_multipart_with_a_photo(client, settings, tmp_path, pothole, point, api_key):
    settings.MEDIA_ROOT = tmp_path
    media = io.BytesIO(jpeg())
    media.name = "hole.jpg"
    response = client.post(f"{BASE}/requests.json", {**submission(point, api_key), "media": media}, **EN)
    assert response.status_code == 200, response.content
    report = Report.objects.get()
    photo = report.photos.get()
    assert photo.content_type == "image/jpeg"
    with Image.open(photo.file.path) as stored:
        assert 0x8825 not in stored.getexif()  # the GPS location did not reach storage
    listed = as_json(get(client, f"requests/{report.reference}.json"))[0]
    assert listed["media_url"] == f"http://testserver/reports/{report.reference}/photos/{photo.token}"
    assert client.get(listed["media_url"]).status_code == 200


def test_oversize_photo_is_400_and_stores_nothing(client, settings, tmp_path, pothole, point, api_key):
    settings.MEDIA_ROOT = tmp_path
    settings.REPORT_PHOTO_MAX_BYTES = 1024
    media = io.BytesIO(jpeg(size=(400, 400)) + b"\0" * 2048)
    media.name = "big.jpg"
    response = client.post(f"{BASE}/requests.json", {**submission(point, api_key), "media": media}, **EN)
    assert_error(response, 400, "MB")
    assert Report.objects.count() == 0 and ReportPhoto.objects.count() == 0
    assert not any(tmp_path.rglob("*.jpg"))


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post_without_a_key_is_403(client, pothole, point, fmt):
    assert_error(post(client, fmt, **submission(point, None)), 403, "api_key")
    assert Report.objects.count() == 0


def test_bad_inactive_and_foreign_keys_are_403(client, pothole, point, api_key, other_city):
    assert_error(post(client, **submission(point, "d311_not-a-real-key", jurisdiction_id="danang")), 403,
                 "Invalid api_key")
    _hcm_key, hcm_plaintext = services.open311_key_issue(actor=None, city=other_city, name="HCM app")
    assert_error(post(client, **submission(point, hcm_plaintext, jurisdiction_id="danang")), 403)
    Open311Key.objects.filter(city__slug="danang").update(is_active=False)
    assert_error(post(client, **submission(point, api_key, jurisdiction_id="danang")), 403)
    assert Report.objects.count() == 0


def test_post_to_unknown_jurisdiction_is_404(client, pothole, point, api_key):
    response = post(client, **submission(point, api_key, jurisdiction_id="atlantis"))
    assert_error(response, 404, "jurisdiction_id")
    assert Report.objects.count() == 0


@pytest.mark.parametrize(("change", "status", "text"), [
    ({"lat": None, "long": None, "address_string": "12 Bạch Đằng"}, 400, "lat and long"),
    ({"lat": "abc"}, 400, "lat"),
    ({"service_code": None}, 400, "service_code"),
    ({"service_code": "nope"}, 400, "Unknown category"),
    ({"lat": "10.77", "long": "106.70"}, 400, ""),  # Hồ Chí Minh City: outside Đà Nẵng
    ({"attribute[depth]": None}, 400, "How deep?"),
    ({"attribute[depth]": "bottomless"}, 400, "How deep?"),
    ({"attribute[colour]": "red"}, 400, "colour"),
    ({"description": "  "}, 400, "Describe"),
    ({"email": "not-an-email"}, 400, "e-mail"),
])
def test_bad_submissions_are_400_and_store_nothing(client, pothole, point, api_key, change, status, text):
    assert_error(post(client, **submission(point, api_key, **change)), status, text)
    assert Report.objects.count() == 0


@pytest.mark.parametrize(("body", "content_type"), [
    (b"a=" + b"B" * 3_000_000, "application/x-www-form-urlencoded"),  # over DATA_UPLOAD_MAX_MEMORY_SIZE
    (b"&".join(b"f%d=1" % i for i in range(2_000)), "application/x-www-form-urlencoded"),  # too many fields
    (b"no boundary", "multipart/form-data"),
])
def test_unreadable_bodies_are_400_in_the_spec_shape(client, pothole, body, content_type):
    response = client.generic("POST", f"{BASE}/requests.xml", body, content_type=content_type, **EN)
    assert_error(response, 400)
    assert Report.objects.count() == 0


def test_errors_speak_the_clients_language(client, pothole, point):
    english = json.loads(client.post(f"{BASE}/requests.json", {}, HTTP_ACCEPT_LANGUAGE="en").content)
    assert english[0]["description"] == "An api_key is required to submit a service request."


def test_rate_limit_per_key_is_429(client, pothole, point, api_key):
    Open311Key.objects.update(rate="2/m")
    for i in range(2):
        response = post(client, headers={"HTTP_IDEMPOTENCY_KEY": f"k{i}"}, **submission(point, api_key))
        assert response.status_code == 200
    response = post(client, headers={"HTTP_IDEMPOTENCY_KEY": "k3"}, **submission(point, api_key))
    assert_error(response, 429)
    assert Report.objects.count() == 2


def test_post_needs_no_csrf_token(pothole, point, api_key):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post(f"{BASE}/requests.json", submission(point, api_key), **EN)
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("path", ["services.json", "discovery.xml", "requests/X.json",
                                  "servicerequestupdates.json"])
def test_read_only_endpoints_refuse_other_methods(client, pothole, path):
    response = client.post(f"{BASE}/{path}", {}, **EN)
    assert_error(response, 405)
    assert Report.objects.count() == 0


def test_confidential_submission_is_never_listed(client, neighbours, point, api_key):
    lat, lon = point
    response = post(client, api_key=api_key, service_code="neighbour", lat=str(lat), long=str(lon),
                    description="Loud parties every night")
    assert response.status_code == 200, response.content
    reference = as_json(response)[0]["service_request_id"]
    assert Report.objects.get(reference=reference).confidential
    assert as_json(get(client, "requests.json")) == []
    assert_error(get(client, f"requests/{reference}.json"), 404)


# --- Hostile input ------------------------------------------------------------------------------------


def test_hostile_input_never_breaks_the_surface(client, pothole, lights, point, api_key):
    from tests.security.hostile import STRINGS

    make_report(pothole)
    failures = []
    for name, value in STRINGS.items():
        for path, param in [("requests.json", "service_code"), ("requests.xml", "start_date"),
                            ("requests.json", "page"), ("requests.json", "service_request_id"),
                            ("services.xml", "jurisdiction_id"), ("servicerequestupdates.json", "end_date"),
                            ("requests.xml", "status")]:
            response = client.get(f"{BASE}/{path}", {param: value}, **EN)
            if response.status_code >= 500:
                failures.append(f"GET {path} {param}={name}: {response.status_code}")
            elif path.endswith(".xml"):
                ET.fromstring(response.content)  # always well-formed
        for field in ("service_code", "lat", "long", "description", "attribute[depth]", "email", "phone",
                      "first_name", "address_string", "media_url", "jurisdiction_id", "api_key"):
            cache.clear()
            before = Report.objects.count()
            response = post(client, "xml", **{**submission(point, api_key), field: value})
            if response.status_code >= 500:
                failures.append(f"POST {field}={name}: {response.status_code}")
            elif response.status_code >= 400 and Report.objects.count() != before:
                failures.append(f"POST {field}={name}: {response.status_code} but a report was stored")
            else:
                ET.fromstring(response.content)
    assert not failures, "\n".join(failures)


def test_text_that_xml_cannot_carry_is_dropped_not_fatal(client, pothole):
    make_report(pothole, description="bell\x07 and \x1b escape <b>bold</b> & more")
    root = as_xml(get(client, "requests.xml"))
    assert root.find("request/description").text == "bell and  escape <b>bold</b> & more"


def test_another_engineer_cannot_reach_another_citys_categories(client, pothole, other_city):
    hcm = factories.make_agency(other_city, "hcm-roads")
    category = Category.objects.create(city=other_city, code="flood", name_vi="Ngập", name_en="Flood")
    RoutingRule.objects.create(city=other_city, category=category, agency=hcm)
    assert_error(get(client, "services/flood.json", jurisdiction_id="danang"), 404)
    assert as_json(get(client, "services/flood.json", jurisdiction_id="hcm"))["service_code"] == "flood"
