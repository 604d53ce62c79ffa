"""Shared fixtures: the city, a second city, and the named cast of users."""

from __future__ import annotations

import os

import pytest

from tests import factories

ROLES = ["citizen", "visitor", "agency_staff", "agency_manager", "operator", "council_member", "city_admin",
         "platform_admin"]


def pytest_collection_modifyitems(config, items):
    on_postgres = os.environ.get("DOTHI_DATABASE_URL", "").startswith("postgres")
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (DOTHI_DATABASE_URL=postgresql://...)")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip_pg)


@pytest.fixture
def city(db):
    return factories.make_city("danang")


@pytest.fixture
def other_city(db):
    return factories.make_city("hcm", name_vi="Thành phố Hồ Chí Minh", name_en="Ho Chi Minh City",
                               province_code="79")


@pytest.fixture
def agency(city):
    return factories.make_agency(
        city, "so-xay-dung", name_vi="Sở Xây dựng", name_en="Department of Construction"
    )


@pytest.fixture
def cast(city, agency):
    """One user per role in `city` (`cast["anonymous"]` is None)."""
    from dothi.identity.models import User

    people = {
        "anonymous": None,
        "citizen": factories.make_citizen(city),
        "visitor": factories.make_citizen(city, kind=User.Kind.VISITOR),
        "platform_admin": factories.make_platform_admin(),
    }
    for role in ["agency_staff", "agency_manager", "operator", "council_member", "city_admin"]:
        people[role] = factories.make_staff(city, role, organisation=agency if "agency" in role else None)
    return people


@pytest.fixture
def citizen(cast):
    return cast["citizen"]


# --- Administrative units and commune cells (geo) ----------------------------------------------


@pytest.fixture(scope="session")
def _admin_units_loaded(django_db_setup, django_db_blocker):
    """Load the 34 provinces and 3,321 communes once per test session, outside any test transaction."""
    from dothi.core import geo

    with django_db_blocker.unblock():
        geo.load_admin_units()


@pytest.fixture
def admin_units(_admin_units_loaded, db):
    """The national administrative units (reloaded if a transactional test flushed them)."""
    from dothi.core import geo
    from dothi.core.models import Commune

    if Commune.objects.count() < 3321:
        geo.load_admin_units()


@pytest.fixture
def danang(city, admin_units):
    """The `city` fixture (Đà Nẵng) with its 94 communes' approximate cells."""
    from dothi.core import geo

    geo.city_build_approximate_boundaries(city)
    city.refresh_from_db()
    return city


@pytest.fixture(autouse=True)
def _fresh_process_memos():
    # A rolled-back test leaves no signal behind: start every test without in-process copies (cities,
    # report categories and routing).
    from dothi.core.memo import ProcessMemo

    ProcessMemo.clear_all()
    yield
    ProcessMemo.clear_all()


@pytest.fixture(autouse=True)
def _short_sensing_demo(monkeypatch):
    """The sensing demo seeds a year of hourly readings (about 10 s); the demo tests of other modules
    need its sensors, not its year: two weeks there. tests/sensing/test_demo.py seeds the full year, and
    the `dothi demo` test (a subprocess) runs the real thing."""
    monkeypatch.setattr("dothi.sensing.demo.YEAR_DAYS", 14)


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language (Vietnamese): a request in an earlier test leaves its
    language active in the thread, which would make direct service calls order-dependent."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)
