"""Demo data of the KPI module (the manifest's seeder, seed_order 90, after the programme's):

- the shared catalogue (`catalogue.sync`);
- every automatic indicator computed through the real services for the last 12 months, 4 quarters and
  2 years before `now` plus the current ones (the current month, quarter and year per ward too), from
  what the other modules' demos seeded;
- manual values the platform cannot see, entered by agency staff with a source and approved by the
  council (four eyes): household Internet access 2025 and 2026, e-government services, fixed broadband,
  disaster-related economic losses; one left pending for the council's review page;
- about ten indicators published on the public page;
- then `dothi.kpis.demo_evaluation.seed` when that module exists (benefits and an issued evaluation).

Deterministic for a given `rng`; only the periods move with `now`.
"""

from __future__ import annotations

import datetime as dt
import importlib
import random

from django.contrib.auth import get_user_model
from django.utils import timezone

from dothi.core.models import City
from dothi.kpis import catalogue, periods, services
from dothi.kpis.models import Grain, Indicator, Value

ENTERER = "canbo.khcn"  # agency staff of the Department of Science and Technology
COUNCIL = "hoidong"  # the council member who approves

# code, period, value, source (all approved unless marked pending)
MANUAL = [
    ("EC: ICT: ICT: 1C", "2025", 78.4, "Cục Thống kê thành phố Đà Nẵng, Niên giám thống kê 2025", True),
    ("EC: ICT: ICT: 1C", "2026", 83.1, "Cục Thống kê thành phố Đà Nẵng, điều tra hộ gia đình 2026", True),
    ("EC: ICT: ICT: 2C", "2025", 71.2, "Sở Khoa học và Công nghệ, báo cáo viễn thông 2025", True),
    ("EC: ICT: PS: 2A", "2025", 1672, "Cổng dịch vụ công thành phố, thống kê dịch vụ công trực tuyến", True),
    ("EC: ICT: PS: 2A", "2026", 1845, "Cổng dịch vụ công thành phố, thống kê dịch vụ công trực tuyến", True),
    ("SC: SH: SA: 2C", "2025", 0.42, "Ban Chỉ huy Phòng chống thiên tai, báo cáo thiệt hại năm 2025", True),
    ("EC: ICT: ICT: 5C", "2026", 412, "Sở Khoa học và Công nghệ, danh sách điểm Wi-Fi công cộng", False),
]

PUBLISHED = [
    "EC: ICT: ICT: 1C", "EC: ICT: PS: 2A", "EC: ICT: D: 1A", "reports.resolved_on_time",
    "reports.median_hours_to_resolve", "reports.mean_satisfaction", "appointments.online_share",
    "appointments.mean_wait", "sensing.data_availability", "alerts.mean_lead_time",
    "layers.drainage_monitored",
    "layers.flood_exposure",
]

MONTHS, QUARTERS, YEARS = 12, 4, 2


def _periods(today: dt.date) -> list[tuple[Grain, dt.date, bool]]:
    """(grain, start, per ward) to compute: the current periods (per ward) and the previous ones."""
    out: list[tuple[Grain, dt.date, bool]] = []
    for grain, n in ((Grain.MONTH, MONTHS), (Grain.QUARTER, QUARTERS), (Grain.YEAR, YEARS)):
        current = periods.containing(grain, today)
        out += [(grain, p.start, False) for p in periods.previous(grain, current.start, n)]
        out.append((grain, current.start, True))
    return out


def seed(*, city: City, rng: random.Random, now: dt.datetime) -> None:
    catalogue.sync()
    today = timezone.localtime(now).date()
    for grain, start, wards in _periods(today):
        services.compute(actor=None, city=city, grain=grain, start=start, wards=wards)
    users = {u.username: u for u in get_user_model().objects.filter(memberships__city=city).distinct()}
    enterer, council = users.get(ENTERER), users.get(COUNCIL)
    if enterer is not None and council is not None:
        for code, period, value, source, approve in MANUAL:
            if not Indicator.objects.filter(code=code, is_active=True).exists():
                continue
            row = services.enter_manual(actor=enterer, city=city, indicator=code, period=period, value=value,
                                        source=source)
            Value.objects.filter(pk=row.pk).update(computed_at=now - dt.timedelta(days=rng.randint(3, 40)))
            if approve:
                services.decide_manual(actor=council, value=row, approve=True,
                                       note="Đã đối chiếu với số liệu gốc.")
        for code in PUBLISHED:
            if Indicator.objects.filter(code=code, is_active=True).exists():
                services.set_publication(actor=council, city=city, indicator=code, published=True)
    try:
        evaluation = importlib.import_module("dothi.kpis.demo_evaluation")
    except ModuleNotFoundError as exc:
        if exc.name != "dothi.kpis.demo_evaluation":
            raise
        return
    evaluation.seed(city=city, rng=rng, now=now)
