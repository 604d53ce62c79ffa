import contextlib
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from dothi.core import demo
from dothi.core.models import Agreement, City, CommuneArea, Organisation
from dothi.identity import cccd, crypto
from dothi.identity.models import Consent, Membership, User

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def seeded(_admin_units_loaded, django_db_blocker):
    """The demo seeded once for the tests that only read it (a full seed takes 10–20 s): inside a
    transaction rolled back after the module's last such test, each test in its own savepoint within it,
    as Django's `setUpTestData` does."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                call_command("seed_demo", stdout=out)
            yield City.objects.get(slug="danang"), out.getvalue()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def _citizen_hashes():
    return sorted(User.objects.filter(kind=User.Kind.CITIZEN).values_list("id_number_hash", flat=True))


def test_city_and_communes(seeded):
    city, _ = seeded
    assert (city.name_vi, city.name_en, city.province_code) == ("Thành phố Đà Nẵng", "Da Nang", "48")
    assert city.bbox is not None
    assert CommuneArea.objects.filter(city=city, approximate=True).count() == 94


def test_organisations_and_agreements(seeded):
    city, _ = seeded
    agencies = Organisation.objects.filter(city=city, kind="agency")
    assert agencies.count() >= 12
    assert {"Sở Xây dựng", "Công an thành phố Đà Nẵng"} <= set(agencies.values_list("name_vi", flat=True))
    assert agencies.get(code="phuong-hai-chau").commune_id == "20242"
    other_kinds = set(
        Organisation.objects.filter(city=city).exclude(kind="agency").values_list("kind", flat=True)
    )
    assert {"vendor", "university", "ngo", "resident_group"} <= other_kinds
    assert Agreement.objects.filter(city=city).count() >= 2
    assert Agreement.objects.filter(city=city, shared_with__code="ioc").exists()


def test_documented_staff_accounts_sign_in(seeded, client):
    city, out = seeded
    expected = {
        "canbo": "agency_staff",
        "truongphong": "agency_manager",
        "vanhanh": "operator",
        "hoidong": "council_member",
        "quantri": "city_admin",
    }
    for username, role in expected.items():
        user = User.objects.get(username=username)
        assert user.check_password(demo.DEMO_PASSWORD)
        assert Membership.objects.filter(user=user, city=city, role=role).exists()
        assert username in out
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(demo.DEMO_PASSWORD)
    assert client.login(username="canbo", password=demo.DEMO_PASSWORD)
    # every agency has someone to route work to
    staffed = set(Membership.objects.filter(city=city).values_list("organisation__code", flat=True))
    assert (
        set(Organisation.objects.filter(city=city, kind="agency").values_list("code", flat=True)) <= staffed
    )
    assert demo.DEMO_PASSWORD in out


def test_citizens_are_valid_and_encrypted(seeded):
    city, out = seeded
    citizens = User.objects.filter(kind=User.Kind.CITIZEN)
    assert citizens.count() == demo.CITIZEN_COUNT
    assert len(set(_citizen_hashes())) == demo.CITIZEN_COUNT
    for user in citizens:
        number = crypto.decrypt(user.id_number_enc)
        assert number not in user.id_number_enc
        info = cccd.validate_cccd(number, user.birth_year)
        assert info.sex == user.sex and number.startswith("048")
        assert user.id_number_hash == crypto.lookup_hash("cccd", number)
        phone = crypto.decrypt(user.phone_enc)
        assert cccd.normalise_phone(phone) == phone
        assert user.verification_level == User.Level.CITIZEN_ID and user.home_city == city
    assert Consent.objects.filter(user__kind=User.Kind.CITIZEN).count() == demo.CITIZEN_COUNT
    for known in demo.KNOWN_CITIZENS:
        assert known["id_number"] in out


def test_known_citizens_can_be_found_to_sign_in(seeded):
    from dothi.identity.services import find_citizen

    for known in demo.KNOWN_CITIZENS:
        assert find_citizen(known["id_number"]).display_name == known["name"]
        assert find_citizen("0" + known["phone"][3:]).display_name == known["name"]
    visitor = find_citizen(demo.KNOWN_VISITOR["passport"])
    assert visitor.kind == User.Kind.VISITOR and visitor.verification_level == User.Level.PHONE


def test_refuses_a_non_empty_database_unless_reset(seeded):
    with pytest.raises(CommandError, match="already holds data"):
        call_command("seed_demo")
    assert City.objects.count() == 1
