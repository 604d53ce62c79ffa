"""Organisations and agreements: permission, validation, audit, in-force selector, admin."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from dothi.core import selectors, services
from dothi.core.errors import Conflict, InvalidInput
from dothi.core.models import Agreement, AuditEvent, Organisation

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(cast):
    return cast["city_admin"]


def test_create_and_update_organisation_is_audited(admin_user, city):
    org = services.organisation_create(actor=admin_user, city=city, code="dnu", name_vi="Đại học Đà Nẵng",
                                       kind="university", website="https://udn.vn")
    assert org.kind == "university"
    services.organisation_update(actor=admin_user, organisation=org, name_en="University of Da Nang")
    org.refresh_from_db()
    assert org.name_en == "University of Da Nang"
    actions = list(AuditEvent.objects.filter(object_type="core.organisation", object_id=str(org.pk))
                   .order_by("at").values_list("action", flat=True))
    assert actions == ["create", "update"]


@pytest.mark.parametrize("role", ["citizen", "agency_manager", "operator", "anonymous"])
def test_only_city_admins_manage_organisations(cast, city, role):
    with pytest.raises(PermissionDenied):
        services.organisation_create(actor=cast[role], city=city, code="x", name_vi="X")
    assert not Organisation.objects.filter(code="x").exists()


def test_city_admin_of_another_city_is_refused(admin_user, other_city):
    with pytest.raises(PermissionDenied):
        services.organisation_create(actor=admin_user, city=other_city, code="x", name_vi="X")


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"code": "Bad Code!"}, InvalidInput), ({"name_vi": ""}, InvalidInput), ({"kind": "cult"}, InvalidInput),
    ({"email": "not-an-email"}, InvalidInput), ({"kind": "ngo", "agency_type": "police"}, InvalidInput),
    ({"colour": "red"}, InvalidInput), ({"code": "so-xay-dung"}, Conflict),
])
def test_bad_organisation_stores_nothing(admin_user, city, agency, kwargs, error):
    args = {"code": "new-org", "name_vi": "Tổ chức mới", **kwargs}
    before = Organisation.objects.count()
    with pytest.raises(error):
        services.organisation_create(actor=admin_user, city=city, **args)
    assert Organisation.objects.count() == before


def test_agreement_dates_and_in_force(admin_user, city, agency):
    vendor = services.organisation_create(actor=admin_user, city=city, code="vnpt", name_vi="VNPT",
                                          kind="vendor")
    today = dt.date(2025, 6, 15)
    current = services.agreement_create(actor=admin_user, city=city, organisation=vendor, kind="data_sharing",
                                        title="Camera data", starts_on=dt.date(2025, 1, 1),
                                        ends_on=dt.date(2025, 12, 31), shared_with=[agency])
    open_ended = services.agreement_create(actor=admin_user, city=city, organisation=vendor, kind="mou",
                                           title="MoU", starts_on=dt.date(2024, 1, 1))
    services.agreement_create(actor=admin_user, city=city, organisation=vendor, kind="ppp", title="Ended",
                              starts_on=dt.date(2020, 1, 1), ends_on=dt.date(2024, 12, 31))
    services.agreement_create(actor=admin_user, city=city, organisation=vendor, kind="service",
                              title="Future", starts_on=dt.date(2026, 1, 1))
    in_force = set(selectors.agreements_in_force(city, on=today))
    assert in_force == {current, open_ended}
    assert list(current.shared_with.all()) == [agency]
    one_day = services.agreement_create(actor=admin_user, city=city, organisation=vendor, kind="service",
                                        title="One day", starts_on=today, ends_on=today)
    assert one_day in selectors.agreements_in_force(city, on=today)
    assert AuditEvent.objects.filter(object_type="core.agreement").count() == 5


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"starts_on": dt.date(2025, 2, 1), "ends_on": dt.date(2025, 1, 31)}, "ends_on"),
    ({"kind": "handshake"}, "kind"), ({"title": " "}, "title"), ({"title": "t" * 201}, "title"),
    ({"starts_on": "2025-01-01"}, "starts_on"),
])
def test_bad_agreement_stores_nothing(admin_user, city, agency, kwargs, field):
    args = {"organisation": agency, "kind": "mou", "title": "MoU", "starts_on": dt.date(2025, 1, 1), **kwargs}
    with pytest.raises(InvalidInput) as err:
        services.agreement_create(actor=admin_user, city=city, **args)
    assert err.value.field == field
    assert not Agreement.objects.exists()


def test_agreement_with_another_citys_organisation_is_refused(admin_user, city, other_city):
    from tests.factories import make_agency

    foreign = make_agency(other_city, "foreign")
    with pytest.raises(InvalidInput):
        services.agreement_create(actor=admin_user, city=city, organisation=foreign, kind="mou", title="MoU",
                                  starts_on=dt.date(2025, 1, 1))
    assert not Agreement.objects.exists()


def test_agreement_needs_permission(cast, city, agency):
    with pytest.raises(PermissionDenied):
        services.agreement_create(actor=cast["council_member"], city=city, organisation=agency, kind="mou",
                                  title="MoU", starts_on=dt.date(2025, 1, 1))


def test_admin_screens_are_city_scoped_and_audited(client, city, other_city, agency):
    from tests.factories import make_agency, make_staff

    make_agency(other_city, "hcm-agency", name_vi="Cơ quan HCM")
    city_admin = make_staff(city, "city_admin", password="a-long-pass-phrase-1")
    client.force_login(city_admin)
    listing = client.get("/admin/core/organisation/")
    assert listing.status_code == 200
    assert "Sở Xây dựng" in listing.content.decode()
    assert "Cơ quan HCM" not in listing.content.decode()
    response = client.post("/admin/core/agreement/add/", {
        "city": city.pk, "organisation": agency.pk, "kind": "mou", "title": "Admin MoU", "scope": "",
        "starts_on": "2025-03-01", "ends_on": "2025-02-01",
    })
    assert response.status_code == 200  # form redisplayed with the date error
    assert not Agreement.objects.exists()
    response = client.post("/admin/core/agreement/add/", {
        "city": city.pk, "organisation": agency.pk, "kind": "mou", "title": "Admin MoU", "scope": "",
        "starts_on": "2025-03-01", "ends_on": "",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    agreement = Agreement.objects.get()
    assert AuditEvent.objects.filter(object_type="core.agreement", object_id=str(agreement.pk),
                                     action="create").exists()
    assert client.get("/admin/core/agreement/?in_force=yes").status_code == 200
