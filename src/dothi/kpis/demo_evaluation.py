"""Demo data of the evaluation: measured benefits of four programme projects and one evaluation report
issued for last year. Called by the KPI demo (`kpis.demo.seed`) once the values are computed.

Benefits are measured, so they are written only for the years from a project's first cost year up to
this year (the current year pro rata of the days gone). Each project's yearly benefit is a share of
its total cost, believable for its kind: avoided flood damage and response costs for the flood pilot,
staff time saved (valued) for the citizen-reports platform, electricity saved by smart lighting,
health costs avoided (valued) for the air-quality network; the first year counts half (a ramp-up).
"""

from __future__ import annotations

import random
from datetime import datetime

from django.db.models import Q

from dothi.core.models import City
from dothi.kpis import roi, services
from dothi.kpis.models import Benefit, Evaluation, Grain

MILLION = 1_000_000

# project code -> (kind, yearly benefit as a share of the total cost, description vi, en, indicator)
BENEFITS = {
    "canh-bao-ngap-thi-diem": (
        Benefit.Kind.SAVING, 0.30,
        "Thiệt hại do ngập và chi phí ứng phó tránh được nhờ cảnh báo sớm",
        "Flood damage and response costs avoided thanks to early warnings",
        "alerts.mean_lead_time",
    ),
    "phan-anh-hien-truong": (
        Benefit.Kind.TIME, 0.25,
        "Thời gian xử lý phản ánh của cán bộ tiết kiệm được (quy ra tiền)",
        "Staff time saved handling citizen reports (valued)",
        "reports.resolved_on_time",
    ),
    "chieu-sang-thong-minh": (
        Benefit.Kind.SAVING, 0.35,
        "Tiền điện chiếu sáng công cộng tiết kiệm được",
        "Street-lighting electricity saved",
        "",
    ),
    "mang-quan-trac-khong-khi": (
        Benefit.Kind.OTHER, 0.12,
        "Chi phí y tế tránh được nhờ cảnh báo ô nhiễm (ước tính)",
        "Health costs avoided thanks to pollution warnings (estimated)",
        "sensing.mean_pm25",
    ),
}


def seed(*, city: City, rng: random.Random, now: datetime) -> None:
    projects = {p["code"]: p for p in roi.project_costs(city)}
    rows = []
    year_share = (now.timetuple().tm_yday / 366.0)
    for code, (kind, share, vi, en, indicator) in BENEFITS.items():
        project = projects.get(code)
        if project is None or not project["costs"]:
            continue
        total = sum(project["costs"].values())
        first = min(project["costs"])
        for year in range(first, now.year + 1):
            ramp = 0.5 if year == first else 1.0 + 0.05 * (year - first - 1)
            part = year_share if year == now.year else 1.0
            amount = int(total * share * ramp * part * rng.uniform(0.9, 1.1)) // MILLION * MILLION
            if amount <= 0:
                continue
            rows.append(Benefit(
                city=city, project_code=code, year=year, kind=kind, amount_vnd=amount, description_vi=vi,
                description_en=en, indicator_code=indicator, created_at=now,
            ))
    Benefit.objects.bulk_create(rows)

    # One evaluation report issued for last year by a council member (frozen as it stands now).
    from django.contrib.auth import get_user_model

    council = (
        get_user_model().objects.filter(
            Q(memberships__city=city, memberships__role="council_member")
        ).order_by("pk").first()
    )
    year = now.year - 1
    snapshot = services.evaluation_snapshot(city, year)
    Evaluation.objects.create(
        city=city,
        title_vi=f"Báo cáo đánh giá thực hiện Đề án đô thị thông minh năm {year}",
        title_en=f"Evaluation of the smart-city master plan, {year}",
        grain=Grain.YEAR,
        period_start=datetime(year, 1, 1).date(),
        period_end=datetime(year + 1, 1, 1).date(),
        snapshot=snapshot,
        issued_by=council,
        issued_at=now,
    )
