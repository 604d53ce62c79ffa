"""Factories and the named cast of users every test can ask for."""

from __future__ import annotations

import itertools

from dothi.core.models import City, Organisation
from dothi.identity import crypto
from dothi.identity.models import Membership, User

_seq = itertools.count(1)


def make_city(slug: str = "danang", **extra) -> City:
    defaults = {
        "name_vi": "Thành phố Đà Nẵng" if slug == "danang" else f"Thành phố {slug}",
        "name_en": "Da Nang" if slug == "danang" else slug.title(),
        "province_code": "48" if slug == "danang" else "79",
    }
    defaults.update(extra)
    city, _ = City.objects.get_or_create(slug=slug, defaults=defaults)
    return city


def make_agency(city: City, code: str | None = None, **extra) -> Organisation:
    code = code or f"agency-{next(_seq)}"
    defaults = {"name_vi": f"Cơ quan {code}", "name_en": f"Agency {code}", "agency_type": "department"}
    defaults.update(extra)
    org, _ = Organisation.objects.get_or_create(city=city, code=code, defaults=defaults)
    return org


def make_citizen(
    city: City | None = None,
    id_number: str | None = None,
    phone: str | None = None,
    birth_year: int = 1990,
    kind: str = User.Kind.CITIZEN,
) -> User:
    n = next(_seq)
    # A valid 12-digit ID: Đà Nẵng prefix 048, male born 19xx -> century digit 0, year 90.
    id_number = id_number or f"0480{birth_year % 100:02d}{n:06d}"
    phone = phone or f"+8490{n:07d}"
    level = User.Level.CITIZEN_ID if kind == User.Kind.CITIZEN else User.Level.PHONE
    id_kind = "cccd" if kind == User.Kind.CITIZEN else "passport"
    return User.objects.create_user(
        username=f"citizen-{n}",
        kind=kind,
        display_name=f"Citizen {n}",
        id_number_enc=crypto.encrypt(id_number),
        id_number_hash=crypto.lookup_hash(id_kind, id_number),
        phone_enc=crypto.encrypt(phone),
        phone_hash=crypto.lookup_hash("phone", phone),
        birth_year=birth_year,
        verification_level=level,
        home_city=city,
    )


def make_staff(city: City, role: str, organisation: Organisation | None = None, password: str = "") -> User:
    n = next(_seq)
    user = User.objects.create_user(
        username=f"{role}-{city.slug}-{n}",
        password=password or None,
        kind=User.Kind.STAFF,
        display_name=f"{role} {n}",
        is_staff=role == "city_admin",
    )
    if role in ("agency_staff", "agency_manager") and organisation is None:
        organisation = make_agency(city)
    Membership.objects.create(user=user, city=city, role=role, organisation=organisation)
    return user


def make_platform_admin(password: str = "") -> User:
    return User.objects.create_superuser(username=f"root-{next(_seq)}", password=password or None)
