"""Demo data of the appointments module (the manifest's seeder): Đà Nẵng's public-service offices —
the city's Public Administration Service Centre, two commune one-stop desks and a police residence
office — with their counters and nine real procedures, slots for the coming days, and six weeks of
past visits (booked and walk-in, served, missed, cancelled) with arrival, call and finish times, so
the statistics and KPIs have something to show; a few upcoming bookings and ratings.

Past visits are written in bulk rather than through the services (the seeder must be fast and place
each step in the past), keeping the invariants the services guarantee: a slot's `booked` equals its
active-or-done bookings and never exceeds its capacity; one active booking per person and service;
wait = called − arrived ≥ 0; codes unique per city. Deterministic for a given `rng` and `now`.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from zoneinfo import ZoneInfo

from dothi.appointments import services
from dothi.appointments.models import (
    Booking,
    BookingChannel,
    BookingStatus,
    Counter,
    Office,
    Service,
    Slot,
)
from dothi.core.calendar import WorkingCalendar
from dothi.core.models import City, Feedback, Organisation

PAST_DAYS = 42
B = BookingStatus

# code, Vietnamese name, English name, minutes, documents (vi), documents (en), agency code,
# cancel cut-off hours
SERVICES = [
    (
        "cap-doi-cccd",
        "Cấp, cấp đổi thẻ căn cước",
        "Issuing or renewing the citizen ID card",
        15,
        [
            "Thẻ căn cước công dân hoặc chứng minh nhân dân cũ",
            "Giấy tờ chứng minh thông tin thay đổi (nếu có)",
        ],
        ["The old citizen ID card or identity card", "Documents proving changed details (if any)"],
        "cong-an",
        2,
    ),
    (
        "dang-ky-thuong-tru",
        "Đăng ký thường trú",
        "Permanent residence registration",
        20,
        ["Tờ khai thay đổi thông tin cư trú (mẫu CT01)", "Giấy tờ, tài liệu chứng minh chỗ ở hợp pháp"],
        ["Residence information change form (CT01)", "Proof of lawful accommodation"],
        "cong-an",
        4,
    ),
    (
        "dang-ky-tam-tru",
        "Đăng ký tạm trú",
        "Temporary residence registration",
        15,
        ["Tờ khai thay đổi thông tin cư trú (mẫu CT01)", "Giấy tờ chứng minh chỗ ở hợp pháp"],
        ["Residence information change form (CT01)", "Proof of lawful accommodation"],
        "cong-an",
        2,
    ),
    (
        "chung-thuc-ban-sao",
        "Chứng thực bản sao từ bản chính",
        "Certified copies of original documents",
        10,
        ["Bản chính giấy tờ cần chứng thực", "Bản sao cần chứng thực"],
        ["The original document", "The copies to certify"],
        None,
        1,
    ),
    (
        "dang-ky-khai-sinh",
        "Đăng ký khai sinh",
        "Birth registration",
        15,
        ["Giấy chứng sinh", "Thẻ căn cước của cha hoặc mẹ", "Giấy chứng nhận kết hôn (nếu có)"],
        [
            "Birth certificate from the hospital",
            "A parent's citizen ID card",
            "Marriage certificate (if any)",
        ],
        None,
        2,
    ),
    (
        "dang-ky-ket-hon",
        "Đăng ký kết hôn",
        "Marriage registration",
        30,
        ["Tờ khai đăng ký kết hôn", "Thẻ căn cước của hai bên", "Giấy xác nhận tình trạng hôn nhân"],
        ["Marriage registration form", "Both partners' citizen ID cards", "Certificate of marital status"],
        None,
        24,
    ),
    (
        "cap-giay-phep-xay-dung",
        "Cấp giấy phép xây dựng nhà ở riêng lẻ",
        "Building permit for a private house",
        30,
        ["Đơn đề nghị cấp giấy phép xây dựng", "Giấy chứng nhận quyền sử dụng đất", "Hai bộ bản vẽ thiết kế"],
        ["Building permit application", "Land-use right certificate", "Two sets of design drawings"],
        "so-xay-dung",
        24,
    ),
    (
        "dang-ky-ho-kinh-doanh",
        "Đăng ký hộ kinh doanh",
        "Household business registration",
        20,
        ["Giấy đề nghị đăng ký hộ kinh doanh", "Thẻ căn cước của chủ hộ"],
        ["Household business registration form", "The owner's citizen ID card"],
        None,
        4,
    ),
    (
        "xac-nhan-tinh-trang-hon-nhan",
        "Cấp giấy xác nhận tình trạng hôn nhân",
        "Certificate of marital status",
        15,
        ["Tờ khai cấp giấy xác nhận tình trạng hôn nhân"],
        ["Application form for a certificate of marital status"],
        None,
        2,
    ),
]

HCC_AGENCY = (
    "trung-tam-phuc-vu-hcc",
    "Trung tâm Phục vụ hành chính công thành phố Đà Nẵng",
    "Da Nang Public Administration Service Centre",
)

# code, Vietnamese name, English name, address, lat, lon, agency code, opening hours (Mon–Fri, and
# Saturday morning at the centre), counters: [(number, name, service codes)]
OFFICES = [
    (
        "hcc-da-nang",
        HCC_AGENCY[1],
        HCC_AGENCY[2],
        "Tầng 1–2, Trung tâm Hành chính thành phố, 24 Trần Phú, Hải Châu",
        16.0771,
        108.2232,
        HCC_AGENCY[0],
        True,
        [
            (1, "Xây dựng", ["cap-giay-phep-xay-dung"]),
            (2, "Xây dựng", ["cap-giay-phep-xay-dung"]),
            (3, "Đăng ký kinh doanh", ["dang-ky-ho-kinh-doanh"]),
            (4, "Chứng thực", ["chung-thuc-ban-sao", "dang-ky-ho-kinh-doanh"]),
            (5, "Chứng thực", ["chung-thuc-ban-sao"]),
        ],
    ),
    (
        "mot-cua-hai-chau",
        "Bộ phận Một cửa UBND phường Hải Châu",
        "Hải Châu Ward one-stop desk",
        "270 Trưng Nữ Vương, Hải Châu",
        16.0607,
        108.2204,
        "phuong-hai-chau",
        False,
        [
            (1, "Hộ tịch", ["dang-ky-khai-sinh", "dang-ky-ket-hon", "xac-nhan-tinh-trang-hon-nhan"]),
            (2, "Hộ tịch", ["dang-ky-khai-sinh", "xac-nhan-tinh-trang-hon-nhan"]),
            (3, "Chứng thực", ["chung-thuc-ban-sao"]),
        ],
    ),
    (
        "mot-cua-thanh-khe",
        "Bộ phận Một cửa UBND phường Thanh Khê",
        "Thanh Khê Ward one-stop desk",
        "40 Hà Huy Tập, Thanh Khê",
        16.0646,
        108.1905,
        "phuong-thanh-khe",
        False,
        [
            (1, "Hộ tịch", ["dang-ky-khai-sinh", "dang-ky-ket-hon", "xac-nhan-tinh-trang-hon-nhan"]),
            (2, "Chứng thực", ["chung-thuc-ban-sao", "dang-ky-ho-kinh-doanh"]),
        ],
    ),
    (
        "cong-an-son-tra",
        "Công an phường Sơn Trà — Đăng ký cư trú và căn cước",
        "Sơn Trà Ward Police — residence and ID cards",
        "1 Ngô Quyền, Sơn Trà",
        16.0860,
        108.2436,
        "cong-an",
        False,
        [
            (1, "Căn cước", ["cap-doi-cccd"]),
            (2, "Căn cước", ["cap-doi-cccd"]),
            (3, "Cư trú", ["dang-ky-thuong-tru", "dang-ky-tam-tru"]),
        ],
    ),
]

COMMENTS = [
    "Cán bộ hướng dẫn tận tình, không phải chờ lâu.",
    "Đặt lịch trước nên vào làm ngay, rất tiện.",
    "Phải chờ hơi lâu dù đã đặt lịch.",
    "",
    "Thủ tục nhanh gọn.",
]


def _commune(city: City, lat: float, lon: float):
    from dothi.core.errors import DomainError

    try:
        return services._commune_for(city, lat, lon)
    except DomainError:
        return None


def _seed_config(city: City, orgs: dict[str, Organisation]) -> tuple[list[Office], dict[str, Service]]:
    if HCC_AGENCY[0] not in orgs:
        orgs[HCC_AGENCY[0]] = Organisation.objects.create(
            city=city,
            code=HCC_AGENCY[0],
            kind=Organisation.Kind.AGENCY,
            agency_type=Organisation.AgencyType.DEPARTMENT,
            name_vi=HCC_AGENCY[1],
            name_en=HCC_AGENCY[2],
        )
    by_code: dict[str, Service] = {}
    for order, (code, vi, en, minutes, docs_vi, docs_en, agency, cutoff) in enumerate(SERVICES):
        by_code[code] = Service.objects.create(
            city=city,
            code=code,
            name_vi=vi,
            name_en=en,
            duration_minutes=minutes,
            documents_vi=docs_vi,
            documents_en=docs_en,
            agency=orgs.get(agency) if agency else None,
            cancel_cutoff_hours=cutoff,
            order=order,
        )
    offices = []
    for code, vi, en, address, lat, lon, agency, saturday, counters in OFFICES:
        hours = {str(d): ["07:30", "17:00"] for d in range(5)}
        if saturday:
            hours["5"] = ["07:30", "11:30"]
        office = Office.objects.create(
            city=city,
            code=code,
            name_vi=vi,
            name_en=en,
            address=address,
            lat=lat,
            lon=lon,
            commune=_commune(city, lat, lon),
            agency=orgs.get(agency),
            opening_hours=hours,
        )
        for number, name, codes in counters:
            counter = Counter.objects.create(city=city, office=office, number=number, name=name)
            counter.services.set([by_code[c] for c in codes])
        offices.append(office)
    return offices, by_code


def _staff_at_the_centre(city: City, orgs: dict[str, Organisation]) -> None:
    """The demo's main agency officer ("canbo") also works at the service centre's counters."""
    from dothi.identity.models import Membership, User

    officer = User.objects.filter(username="canbo").first()
    if officer is not None:
        Membership.objects.get_or_create(
            city=city, user=officer, role="agency_staff", organisation=orgs[HCC_AGENCY[0]]
        )


def _code(rng: random.Random, taken: set[str]) -> str:
    while True:
        code = "".join(rng.choice(services.CODE_ALPHABET) for _ in range(services.CODE_LENGTH))
        if code not in taken:
            taken.add(code)
            return code


def _wait_minutes(rng: random.Random, busy: bool) -> float:
    # Most people are called within a quarter of an hour; busy mornings have a long tail.
    return min(rng.lognormvariate(1.8 if not busy else 2.4, 0.6), 90.0)


def _past_visit(city, rng, taken, office, service, start, now, others, counter_ids, busy) -> Booking | None:
    """One visit around a past (or today's) slot: booked or walk-in, and how it went."""
    walk_in = rng.random() < 0.25
    person = None if walk_in else rng.choice(others)
    roll = rng.random()
    status = B.SERVED
    if not walk_in and roll < 0.07:
        status = B.NO_SHOW
    elif not walk_in and roll < 0.12:
        status = B.CANCELLED
    early = dt.timedelta(minutes=rng.randint(0, 15))
    arrived = start + dt.timedelta(minutes=rng.randint(0, 10)) if walk_in else start - early
    tz = ZoneInfo(city.time_zone)
    b = Booking(
        city=city,
        code=_code(rng, taken),
        citizen=person,
        service=service,
        office=office,
        day=start.astimezone(tz).date(),
        walk_in=walk_in,
        status=status,
        channel=BookingChannel.COUNTER if walk_in else BookingChannel.APP,
        created_at=arrived
        if walk_in
        else start - dt.timedelta(days=rng.randint(1, 10), hours=rng.randint(0, 8)),
        walk_in_name=rng.choice(["", "Ông Ba", "Bà Tư"]) if walk_in else "",
    )
    if status == B.NO_SHOW:
        b.no_show_at = start + dt.timedelta(minutes=30)
        return b if b.no_show_at <= now else None
    if status == B.CANCELLED:
        b.cancelled_at = min(b.created_at + dt.timedelta(hours=rng.randint(1, 20)), now)
        return b
    if arrived > now:
        return None  # a walk-in who has not come yet
    called = arrived + dt.timedelta(minutes=_wait_minutes(rng, busy))
    b.arrived_at = arrived
    if called > now:  # still waiting right now
        b.status = B.CHECKED_IN
        return b
    b.called_at = called
    b.counter_id = rng.choice(counter_ids)
    b.served_at = called + dt.timedelta(minutes=1)
    finished = called + dt.timedelta(minutes=rng.randint(5, service.duration_minutes + 10))
    if finished > now:  # at the counter right now
        b.status = B.SERVING
        return b
    b.finished_at = finished
    return b


def seed(city: City, rng: random.Random, now: dt.datetime) -> None:
    from dothi.identity.models import User

    tz = ZoneInfo(city.time_zone)
    orgs = {o.code: o for o in Organisation.objects.for_city(city)}
    offices, by_code = _seed_config(city, orgs)
    _staff_at_the_centre(city, orgs)
    calendar = WorkingCalendar.for_city(city)
    citizens = list(
        User.objects.filter(kind=User.Kind.CITIZEN, home_city=city, is_active=True).order_by("username")
    )
    if not citizens:
        services.slots_generate(city=city, now=now)
        return
    known, others = citizens[:3], citizens[3:] or citizens
    capacities = {o.pk: services._capacities(o) for o in offices}
    taken: set[str] = set(Booking.objects.for_city(city).values_list("code", flat=True))
    today = now.astimezone(tz).date()
    slots: list[Slot] = []
    bookings: list[Booking] = []
    booked_count: dict[tuple[int, int, dt.datetime], int] = defaultdict(int)
    active: set[tuple[int, int]] = set()

    # Past visits: each open day, each office fills part of its slots; a quarter come without booking.
    for back in range(PAST_DAYS, -1, -1):
        day = today - dt.timedelta(days=back)
        for office in offices:
            if not services.opening_intervals(office, day, calendar):
                continue
            counter_ids = list(office.counters.values_list("pk", flat=True))
            busy = day.weekday() == 0
            for service_id, capacity in capacities[office.pk].items():
                service = next(s for s in by_code.values() if s.pk == service_id)
                starts = [s for s in services.slot_starts(office, service, day, calendar) if s < now]
                length = dt.timedelta(minutes=services._slot_length(office, service))
                for start in starts:
                    slots.append(
                        Slot(
                            city=city,
                            office=office,
                            service=service,
                            start=start,
                            end=start + length,
                            capacity=capacity,
                        )
                    )
                    demand = rng.random()
                    for _place in range(capacity):
                        if demand < 0.45 or rng.random() < 0.35:
                            continue
                        b = _past_visit(
                            city, rng, taken, office, service, start, now, others, counter_ids, busy
                        )
                        if b is None:
                            continue
                        if b.citizen is not None and b.status in (B.CHECKED_IN, B.SERVING):
                            if (b.citizen.pk, service_id) in active:
                                continue
                            active.add((b.citizen.pk, service_id))
                        if not b.walk_in:
                            b.slot_start = start  # resolved to the Slot row below
                            booked_count[(office.pk, service_id, start)] += int(b.status != B.CANCELLED)
                        bookings.append(b)

    Slot.objects.bulk_create(slots, batch_size=2000)
    # Coming days: slots from the configuration, then a few bookings (the known citizens among them).
    services.slots_generate(city=city, now=now)
    slot_ids = {
        (s.office_id, s.service_id, s.start): s.pk
        for s in Slot.objects.for_city(city).only("pk", "office_id", "service_id", "start")
    }
    future = list(Slot.objects.for_city(city).filter(start__gt=now + dt.timedelta(hours=3)).order_by("start"))
    upcoming_people = known + rng.sample(others, min(40, len(others)))
    for i, person in enumerate(upcoming_people):
        if not future:
            break
        slot = (
            future[rng.randrange(min(len(future), 400))] if i >= len(known) else future[i * 7 % len(future)]
        )
        if (person.pk, slot.service_id) in active or booked_count[
            (slot.office_id, slot.service_id, slot.start)
        ] >= (slot.capacity):
            continue
        active.add((person.pk, slot.service_id))
        booked_count[(slot.office_id, slot.service_id, slot.start)] += 1
        b = Booking(
            city=city,
            code=_code(rng, taken),
            citizen=person,
            service_id=slot.service_id,
            office_id=slot.office_id,
            day=slot.start.astimezone(tz).date(),
            status=B.BOOKED,
            channel=BookingChannel.APP,
            created_at=now - dt.timedelta(hours=rng.randint(1, 72)),
        )
        b.slot_start = slot.start
        bookings.append(b)
    for b in bookings:
        start = getattr(b, "slot_start", None)
        if start is not None:
            b.slot_id = slot_ids[(b.office_id, b.service_id, start)]
    Booking.objects.bulk_create(bookings, batch_size=2000)
    for (office_id, service_id, start), n in booked_count.items():
        if n:
            Slot.objects.filter(office_id=office_id, service_id=service_id, start=start).update(booked=n)

    # Ratings from a fifth of the people served with a booking.
    served = Booking.objects.for_city(city).filter(status=B.SERVED, citizen__isnull=False).order_by("code")
    Feedback.objects.bulk_create(
        [
            Feedback(
                city=city,
                subject_type="appointments.booking",
                subject_id=b.code,
                author_id=b.citizen_id,
                rating=rng.choices([5, 4, 3, 2, 1], weights=[45, 30, 13, 7, 5])[0],
                comment=rng.choice(COMMENTS),
                created_at=min(b.finished_at + dt.timedelta(hours=rng.randint(1, 30)), now),
            )
            for b in served
            if rng.random() < 0.2
        ],
        ignore_conflicts=True,
    )
    # The bookings were bulk-inserted past the services: derive the KPIs' daily facts from them.
    from dothi.appointments.stats import FACT_SOURCES
    from dothi.core import facts

    until = now.astimezone(tz).date() + dt.timedelta(days=2)
    facts.rebuild_city(city=city, keys=[s.key for s in FACT_SOURCES], until=until)
