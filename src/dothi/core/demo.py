"""The demo city: Đà Nẵng with its real communes, agencies, staff for every role and a few hundred
citizens, all generated deterministically. Every module then adds its own demo data through its
manifest's seeder, placed relative to now so the demo looks alive whenever it is started.

The demo's accounts share one published password and the citizens' ID numbers are printed: a demo
database must never hold real people's data, and `dothi check-deploy` refuses the insecure keys it uses.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from dothi.core import geo
from dothi.core.models import Agreement, City, Commune, Organisation

DEMO_SEED = 48  # Đà Nẵng's province code: every random choice in the demo derives from it
DEMO_PASSWORD = "demo-dothi-2026"
CITY_SLUG = "danang"
CITIZEN_COUNT = 300

CITY = {
    "slug": CITY_SLUG,
    "name_vi": "Thành phố Đà Nẵng",
    "name_en": "Da Nang",
    "province_code": "48",
    "time_zone": "Asia/Ho_Chi_Minh",
    "default_language": "vi",
}

# code, kind, agency type, Vietnamese name, English name, commune code (for commune committees)
ORGANISATIONS: list[tuple[str, str, str, str, str, str | None]] = [
    ("so-xay-dung", "agency", "department", "Sở Xây dựng", "Department of Construction", None),
    ("so-tai-nguyen-moi-truong", "agency", "department", "Sở Tài nguyên và Môi trường",
     "Department of Natural Resources and Environment", None),
    ("so-giao-thong-van-tai", "agency", "department", "Sở Giao thông vận tải", "Department of Transport",
     None),
    ("so-khoa-hoc-cong-nghe", "agency", "department", "Sở Khoa học và Công nghệ",
     "Department of Science and Technology", None),
    ("ban-chi-huy-pctt", "agency", "department",
     "Ban Chỉ huy Phòng, chống thiên tai và Tìm kiếm cứu nạn thành phố",
     "City Command for Natural Disaster Prevention and Search and Rescue", None),
    ("ban-qlda", "agency", "department", "Ban Quản lý dự án đầu tư xây dựng các công trình dân dụng",
     "Civil Works Construction Project Management Board", None),
    ("cong-an", "agency", "police", "Công an thành phố Đà Nẵng", "Da Nang City Police", None),
    ("cap-nuoc", "agency", "utility", "Công ty Cổ phần Cấp nước Đà Nẵng", "Da Nang Water Supply Company",
     None),
    ("dien-luc", "agency", "utility", "Công ty TNHH MTV Điện lực Đà Nẵng", "Da Nang Power Company", None),
    ("moi-truong-do-thi", "agency", "contractor", "Công ty Cổ phần Môi trường đô thị Đà Nẵng",
     "Da Nang Urban Environment Company", None),
    ("so-giao-duc-dao-tao", "agency", "department", "Sở Giáo dục và Đào tạo",
     "Department of Education and Training", None),
    ("so-y-te", "agency", "department", "Sở Y tế", "Department of Health", None),
    ("ioc", "agency", "control_centre", "Trung tâm Giám sát điều hành đô thị thông minh (IOC)",
     "Smart City Intelligent Operations Centre (IOC)", None),
    ("phuong-hai-chau", "agency", "commune", "Ủy ban nhân dân phường Hải Châu",
     "People's Committee of Hải Châu Ward", "20242"),
    ("phuong-thanh-khe", "agency", "commune", "Ủy ban nhân dân phường Thanh Khê",
     "People's Committee of Thanh Khê Ward", "20209"),
    ("phuong-son-tra", "agency", "commune", "Ủy ban nhân dân phường Sơn Trà",
     "People's Committee of Sơn Trà Ward", "20263"),
    ("vnpt-da-nang", "vendor", "", "VNPT Đà Nẵng", "VNPT Da Nang", None),
    ("viettel-da-nang", "vendor", "", "Viettel Đà Nẵng", "Viettel Da Nang", None),
    ("dai-hoc-da-nang", "university", "", "Đại học Đà Nẵng", "The University of Da Nang", None),
    ("trung-tam-phat-trien-cong-dong", "ngo", "", "Trung tâm Hỗ trợ phát triển cộng đồng bền vững",
     "Centre for Sustainable Community Development", None),
    ("clb-xanh-hai-chau", "resident_group", "", "Câu lạc bộ Sống xanh phường Hải Châu",
     "Hải Châu Green Living Club", "20242"),
]

# username, role, organisation code, display name; every one signs in with DEMO_PASSWORD.
STAFF: list[tuple[str, str, str | None, str]] = [
    ("canbo", "agency_staff", "so-xay-dung", "Trần Văn Cường"),
    ("truongphong", "agency_manager", "so-xay-dung", "Nguyễn Thị Hồng Nhung"),
    ("vanhanh", "operator", "ioc", "Lê Quang Huy"),
    ("hoidong", "council_member", None, "Phạm Minh Đức"),
    ("quantri", "city_admin", None, "Võ Thị Thu Hà"),
    # one officer in every other agency, so each module has someone to route work to
    ("canbo.tnmt", "agency_staff", "so-tai-nguyen-moi-truong", "Huỳnh Ngọc Lan"),
    ("canbo.gtvt", "agency_staff", "so-giao-thong-van-tai", "Đặng Văn Toàn"),
    ("canbo.khcn", "agency_staff", "so-khoa-hoc-cong-nghe", "Bùi Thị Mai"),
    ("canbo.pctt", "agency_staff", "ban-chi-huy-pctt", "Hồ Văn Sơn"),
    ("canbo.qlda", "agency_staff", "ban-qlda", "Ngô Thị Kim Oanh"),
    ("canbo.congan", "agency_staff", "cong-an", "Đỗ Quốc Bảo"),
    ("canbo.capnuoc", "agency_staff", "cap-nuoc", "Phan Thị Thanh Thảo"),
    ("canbo.dienluc", "agency_staff", "dien-luc", "Trương Công Minh"),
    ("canbo.moitruong", "agency_staff", "moi-truong-do-thi", "Lý Thị Hạnh"),
    ("canbo.ioc", "agency_staff", "ioc", "Dương Văn Khoa"),
    ("canbo.gddt", "agency_staff", "so-giao-duc-dao-tao", "Mai Thị Ngọc Ánh"),
    ("canbo.yte", "agency_staff", "so-y-te", "Châu Văn Hiếu"),
    ("canbo.haichau", "agency_staff", "phuong-hai-chau", "Nguyễn Văn Phúc"),
    ("canbo.thanhkhe", "agency_staff", "phuong-thanh-khe", "Trần Thị Yến"),
    ("canbo.sontra", "agency_staff", "phuong-son-tra", "Lê Văn Tài"),
]
ADMIN_USERNAME = "admin"

# Well-known citizens whose numbers are printed, so a person can sign in by OTP. Each CCCD is
# valid: prefix 048 (Đà Nẵng), century/sex digit and year digits consistent with the birth year.
KNOWN_CITIZENS: list[dict[str, Any]] = [
    {"name": "Nguyễn Văn An", "id_number": "048085012345", "phone": "+84905123456", "birth_year": 1985,
     "sex": "M"},
    {"name": "Trần Thị Bình", "id_number": "048192067890", "phone": "+84935678910", "birth_year": 1992,
     "sex": "F"},
    {"name": "Lê Minh Châu", "id_number": "048201000246", "phone": "+84912000246", "birth_year": 2001,
     "sex": "M"},
]
# A foreign resident with a passport: the lower verification level each city decides about.
KNOWN_VISITOR = {"name": "Emma Schmidt", "passport": "C4F7K2M9", "phone": "+84707111222"}

_FAMILY = ["Nguyễn"] * 8 + ["Trần"] * 4 + ["Lê"] * 3 + ["Phạm"] * 2 + [
    "Huỳnh", "Hoàng", "Phan", "Võ", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Trương", "Đoàn",
]
_MIDDLE = {"M": ["Văn", "Hữu", "Đức", "Minh", "Quang", "Công", "Thanh", "Ngọc", "Anh"],
           "F": ["Thị", "Ngọc", "Thu", "Thanh", "Kim", "Mỹ", "Bảo", "Khánh", "Thị"]}
_GIVEN = {
    "M": ["An", "Bảo", "Cường", "Dũng", "Duy", "Hải", "Hiếu", "Hoàng", "Hùng", "Khang", "Khoa", "Long",
          "Minh", "Nam", "Nhân", "Phúc", "Quân", "Sơn", "Tài", "Thắng", "Thịnh", "Trung", "Tuấn", "Việt",
          "Vinh"],
    "F": ["Anh", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hoa", "Hương", "Lan", "Linh", "Mai", "My",
          "Ngân", "Nhung", "Oanh", "Phương", "Quyên", "Thảo", "Trang", "Tuyết", "Vy", "Yến", "Uyên"],
}
# Mobile prefixes in use after the 2018 renumbering (Viettel, Vinaphone, MobiFone, Vietnamobile).
_MOBILE_PREFIXES = ["905", "935", "914", "983", "988", "776", "799", "342", "388", "857", "869", "913", "932",
                    "708", "906", "339", "522"]


@dataclass(frozen=True)
class Account:
    role: str
    sign_in: str
    secret: str
    name: str


def demo_accounts() -> list[Account]:
    """The demo accounts to print: staff sign in with username and password; citizens with their ID
    number (or phone) and a one-time code written to DATA_DIR/outbox.log."""
    accounts = [Account("platform_admin", ADMIN_USERNAME, DEMO_PASSWORD, "Quản trị nền tảng")]
    accounts += [Account(role, username, DEMO_PASSWORD, name) for username, role, _org, name in STAFF[:5]]
    officers = [username for username, *_rest in STAFF[5:]]
    accounts.append(
        Account("agency_staff", f"{', '.join(officers[:3])}, … ({len(officers)})", DEMO_PASSWORD,
                "one officer in each other agency")
    )
    accounts += [
        Account("citizen", c["id_number"], f"OTP → {c['phone']}", c["name"]) for c in KNOWN_CITIZENS
    ]
    accounts.append(
        Account("visitor", KNOWN_VISITOR["passport"], f"OTP → {KNOWN_VISITOR['phone']}",
                KNOWN_VISITOR["name"])
    )
    return accounts


# --- Generation ----------------------------------------------------------------------------------


def _citizen_people(rng: random.Random, count: int) -> list[dict[str, Any]]:
    """Deterministic Vietnamese citizens with valid, unique CCCD numbers and mobile numbers."""
    taken_ids = {c["id_number"] for c in KNOWN_CITIZENS}
    taken_phones = {c["phone"] for c in KNOWN_CITIZENS} | {KNOWN_VISITOR["phone"]}
    people = []
    while len(people) < count:
        sex = rng.choice("MF")
        year = rng.randint(1950, 2007)
        century_digit = 2 * ((year - 1900) // 100) + (1 if sex == "F" else 0)
        id_number = f"048{century_digit}{year % 100:02d}{rng.randrange(1_000_000):06d}"
        phone = f"+84{rng.choice(_MOBILE_PREFIXES)}{rng.randrange(1_000_000):06d}"
        name = f"{rng.choice(_FAMILY)} {rng.choice(_MIDDLE[sex])} {rng.choice(_GIVEN[sex])}"
        joined_days_ago = rng.randint(1, 720)
        if id_number in taken_ids or phone in taken_phones:
            continue
        taken_ids.add(id_number)
        taken_phones.add(phone)
        people.append({"name": name, "id_number": id_number, "phone": phone, "birth_year": year, "sex": sex,
                       "joined_days_ago": joined_days_ago})
    return people


def _seed_organisations(city: City, now: dt.datetime) -> dict[str, Organisation]:
    communes = set(Commune.objects.filter(province_id=city.province_code).values_list("code", flat=True))
    orgs = [
        Organisation(
            city=city, code=code, kind=kind, agency_type=agency_type, name_vi=name_vi, name_en=name_en,
            commune_id=commune if commune in communes else None,
            email=f"{code}@danang.demo.dothi.invalid" if kind == "agency" else "",
        )
        for code, kind, agency_type, name_vi, name_en, commune in ORGANISATIONS
    ]
    Organisation.objects.bulk_create(orgs)
    by_code = {o.code: o for o in Organisation.objects.filter(city=city)}
    today = timezone.localtime(now).date()
    agreements = [
        (by_code["vnpt-da-nang"], Agreement.Kind.DATA_SHARING,
         "Thỏa thuận chia sẻ dữ liệu quan trắc chất lượng không khí",
         "Dữ liệu cảm biến bụi mịn PM2.5 và PM10 tại 20 điểm, cập nhật mỗi 5 phút, chia sẻ cho IOC.",
         today - dt.timedelta(days=200), today + dt.timedelta(days=530), ["ioc", "so-tai-nguyen-moi-truong"]),
        (by_code["viettel-da-nang"], Agreement.Kind.SERVICE,
         "Hợp đồng dịch vụ camera giám sát giao thông",
         "Thuê dịch vụ 120 camera tại các nút giao chính; dữ liệu thuộc về thành phố.",
         today - dt.timedelta(days=90), today + dt.timedelta(days=640), ["ioc", "cong-an"]),
        (by_code["dai-hoc-da-nang"], Agreement.Kind.RESEARCH,
         "Hợp tác nghiên cứu cảnh báo ngập lụt đô thị",
         "Mô hình dự báo ngập theo lượng mưa cho các phường ven sông Hàn.",
         today - dt.timedelta(days=400), None, ["ban-chi-huy-pctt"]),
        (by_code["trung-tam-phat-trien-cong-dong"], Agreement.Kind.MOU,
         "Biên bản ghi nhớ về phòng thí nghiệm đổi mới sáng tạo cộng đồng",
         "Người dân cùng thiết kế và thử nghiệm dịch vụ đô thị thông minh.",
         today - dt.timedelta(days=30), today + dt.timedelta(days=335), []),
    ]
    for org, kind, title, scope, starts_on, ends_on, shared in agreements:
        agreement = Agreement.objects.create(
            city=city, organisation=org, kind=kind, title=title, scope=scope, starts_on=starts_on,
            ends_on=ends_on,
        )
        if shared:
            agreement.shared_with.set([by_code[c] for c in shared])
    return by_code


def _seed_people(city: City, orgs: dict[str, Organisation], rng: random.Random, now: dt.datetime) -> None:
    from django.contrib.auth.hashers import make_password

    from dothi.identity import crypto
    from dothi.identity.models import Consent, Membership, User
    from dothi.identity.privacy import NOTICE_VERSION, PURPOSES
    from dothi.identity.verifiers import CCCD, PASSPORT

    # Hashing the one shared password once keeps seeding fast: argon2 is slow by design.
    password = make_password(DEMO_PASSWORD)
    staff = [
        User(username=username, password=password, kind=User.Kind.STAFF, display_name=name,
             is_staff=role == "city_admin", email=f"{username}@danang.demo.dothi.invalid", home_city=city)
        for username, role, _org, name in STAFF
    ]
    staff.append(User(username=ADMIN_USERNAME, password=password, kind=User.Kind.STAFF, is_staff=True,
                      is_superuser=True, display_name="Quản trị nền tảng"))
    User.objects.bulk_create(staff)
    users = {u.username: u for u in User.objects.filter(username__in=[s.username for s in staff])}
    Membership.objects.bulk_create(
        Membership(city=city, user=users[username], role=role, organisation=orgs[org] if org else None)
        for username, role, org, _name in STAFF
    )

    unusable = make_password(None)
    citizens = []
    people = [dict(c, joined_days_ago=400 + i) for i, c in enumerate(KNOWN_CITIZENS)]
    people += _citizen_people(rng, CITIZEN_COUNT - len(KNOWN_CITIZENS))
    for n, person in enumerate(people, start=1):
        citizens.append(User(
            username=f"demo-citizen-{n:04d}", password=unusable, kind=User.Kind.CITIZEN,
            display_name=person["name"],
            id_number_enc=crypto.encrypt(person["id_number"]),
            id_number_hash=crypto.lookup_hash(CCCD, person["id_number"]),
            phone_enc=crypto.encrypt(person["phone"]),
            phone_hash=crypto.lookup_hash("phone", person["phone"]),
            birth_year=person["birth_year"], sex=person["sex"],
            verification_level=User.Level.CITIZEN_ID, verified_by="format", home_city=city, language="vi",
            date_joined=now - dt.timedelta(days=person["joined_days_ago"]),
        ))
    visitor = KNOWN_VISITOR
    citizens.append(User(
        username="demo-visitor-0001", password=unusable, kind=User.Kind.VISITOR, display_name=visitor["name"],
        id_number_enc=crypto.encrypt(visitor["passport"]),
        id_number_hash=crypto.lookup_hash(PASSPORT, visitor["passport"]),
        phone_enc=crypto.encrypt(visitor["phone"]), phone_hash=crypto.lookup_hash("phone", visitor["phone"]),
        nationality="DE", verification_level=User.Level.PHONE, verified_by="format", home_city=city,
        language="en", date_joined=now - dt.timedelta(days=45),
    ))
    User.objects.bulk_create(citizens, batch_size=500)
    created = User.objects.filter(username__startswith="demo-").only("pk", "date_joined")
    Consent.objects.bulk_create(
        (Consent(user=u, notice_version=NOTICE_VERSION, purposes=list(PURPOSES), given_at=u.date_joined)
         for u in created),
        batch_size=500,
    )


def database_is_empty() -> bool:
    from dothi.identity.models import User

    return not City.objects.exists() and not User.objects.exists()


def seed_demo(*, now: dt.datetime | None = None, report: Callable[[str], None] | None = None) -> City:
    """Seed the demo city into an empty database (the caller checks emptiness). Deterministic: the same
    rows, ID numbers and phones every time; only dates move with `now`."""
    from dothi.core.manifests import registry

    now = now or timezone.now()
    report = report or (lambda message: None)
    if not Commune.objects.filter(province_id=CITY["province_code"]).exists():
        report("Loading the administrative units…")
        geo.load_admin_units()
    with transaction.atomic():
        report("Creating the city and its commune cells…")
        city = City.objects.create(**CITY)
        geo.city_build_approximate_boundaries(city)
        report("Creating organisations, staff and citizens…")
        orgs = _seed_organisations(city, now)
        _seed_people(city, orgs, random.Random(DEMO_SEED), now)
    for name, seeder in registry.seeders():
        report(f"Seeding module {name}…")
        # Each module gets its own generator, so adding data to one module never shifts another's.
        with transaction.atomic():
            seeder(city=city, rng=random.Random(f"{DEMO_SEED}:{name}"), now=now)
    return city
