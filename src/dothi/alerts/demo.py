"""Demo data of the warnings module (the manifest's seeder, after sensing's): Đà Nẵng's categories in
Vietnamese and English, the rules, subscriptions of the demo citizens, five months of past warnings
for the statistics, and always three active warnings:

- an **automatic** flood warning, raised by the rule engine itself: readings of a street flood gauge
  are fed through `sensing.ingestion.ingest`, exactly as a device's would be;
- a **manual** storm forecast of the hydro-meteorological station, drafted by its forecaster and
  approved by its manager (four eyes), with an onset tomorrow;
- a **security bulletin** (news) of the city police, for the next three days.

Why the automatic warning comes from a street flood gauge (quantity `flood_depth`, the depth of water
on the road) and not from a river station: while `dothi demo` runs, `dothi simulate-sensors` sends a
reading of every water-level station every ten seconds, and its normal model (no `--flood`) keeps the
rivers between about 0.2 and 1.6 m. A river warning seeded at 2 m would get its all-clear within
seconds, and no believable threshold is breached by the simulator's normal readings all day long. The
simulator has no model for street flood depth (it sends nothing for quantities it does not know), so
the gauge's breach stands until the gauge itself reports the water gone — as a real one would. The
river rule (≥ 1.5 m for 10 minutes at the flood-prone communes' stations) is seeded too, and the
simulator's high tides may raise and end it live, which is the rule doing its job.

Past warnings are written as rows (each with its CAP messages rendered by `cap.render`, its fan-out
log and the inbox notifications it wrote): publishing them through the services would stamp them
with today's time and send their deliveries again. Deterministic for a given `rng`; dates move with
`now`. Fast: a few hundred rows in bulk (about 0.5 s).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Q
from shapely.geometry import Point, shape

from dothi.alerts.models import (
    SEVERITY_RANK,
    AlertCategory,
    AlertRule,
    CapCategory,
    CapMessage,
    Fanout,
    PublicWarning,
    Subscription,
    SubscriptionArea,
)
from dothi.core.models import City, CommuneArea, Notification, Organisation

H = dt.timedelta(hours=1)
MIN = dt.timedelta(minutes=1)
DAY = dt.timedelta(days=1)
SUBSCRIBED_SHARE = 0.7

# code, Vietnamese, English, CAP category, news, asks "are you safe?"
CATEGORIES = [
    ("flood", "Ngập lụt", "Flood", CapCategory.MET, False, True),
    ("storm", "Bão, áp thấp nhiệt đới", "Storm", CapCategory.MET, False, True),
    ("heavy-rain", "Mưa lớn", "Heavy rain", CapCategory.MET, False, False),
    ("air-quality", "Chất lượng không khí", "Air quality", CapCategory.ENV, False, False),
    ("heat", "Nắng nóng", "Heat", CapCategory.MET, False, False),
    ("security", "An ninh trật tự", "Security bulletin", CapCategory.SECURITY, True, False),
    ("traffic", "Phân luồng, cấm đường", "Traffic closure", CapCategory.TRANSPORT, True, False),
    ("health", "Thông báo y tế", "Health notice", CapCategory.HEALTH, False, False),
]

# Communes of the sensing demo (dothi.sensing.demo): the urban wards along the Hàn and Cẩm Lệ rivers
# whose stations the river rule watches, and the wards whose streets flood first in a downpour.
RIVER_WARDS = ["Phường Hải Châu", "Phường An Hải", "Phường Hòa Cường", "Phường Cẩm Lệ", "Phường Hòa Xuân",
               "Phường Ngũ Hành Sơn", "Phường Liên Chiểu", "Phường Hòa Khánh", "Phường Thanh Khê",
               "Phường An Khê"]
STREET_FLOOD_WARDS = ["Phường Hải Châu", "Phường Thanh Khê", "Phường An Khê", "Phường Hòa Cường"]
CITY_WARDS = ["Phường Hải Châu", "Phường Thanh Khê", "Phường An Khê", "Phường Hòa Cường", "Phường An Hải",
              "Phường Sơn Trà", "Phường Ngũ Hành Sơn", "Phường Cẩm Lệ", "Phường Hòa Xuân",
              "Phường Liên Chiểu", "Phường Hòa Khánh", "Phường Hải Vân"]

FLOOD_GAUGE = "DN-FD-001"
# The gauge's readings (minutes before now, metres of water on the road): past 0.3 m (Moderate) for
# ten minutes, then past 0.5 m (Severe) for ten more: the rule raises a Severe warning at once.
GAUGE_READINGS = [(24, 0.34), (19, 0.45), (14, 0.56), (9, 0.61), (4, 0.63)]

# The hydro-meteorological station issues the weather forecasts; it has no staff in the core demo.
KTTV = ("dai-kttv", "Đài Khí tượng Thủy văn khu vực Trung Trung Bộ",
        "Mid-Central Regional Hydro-Meteorological Station")
KTTV_STAFF = [("canbo.kttv", "agency_staff", "Trịnh Văn Hưng"), ("truongphong.kttv", "agency_manager",
                                                                     "Châu Thị Diễm")]

NEED_HELP_NOTES = [
    "Nước vào nhà khoảng nửa mét, nhà có người già không tự di chuyển được.",
    "Xe máy chết máy giữa đường ngập, cần hỗ trợ.",
    "Mất điện, nước đang lên, có trẻ nhỏ.",
]


@dataclass
class _Ctx:
    city: City
    rng: random.Random
    now: dt.datetime
    communes: dict[str, str]  # name -> code
    cells: dict[str, object]  # code -> shapely geometry
    categories: dict[str, AlertCategory] = field(default_factory=dict)
    orgs: dict[str, Organisation] = field(default_factory=dict)
    staff: dict[str, object] = field(default_factory=dict)
    rules: dict[str, AlertRule] = field(default_factory=dict)
    subscriptions: list[tuple[int, str, frozenset[str], frozenset[str], int]] = field(default_factory=list)

    def codes(self, names) -> list[str]:
        return sorted(self.communes[n] for n in names if n in self.communes)

    def point_in(self, code: str) -> tuple[float, float]:
        """A random point (lat, lon) inside the commune's cell."""
        cell = self.cells[code]
        min_lon, min_lat, max_lon, max_lat = cell.bounds
        for _ in range(100):
            lon, lat = self.rng.uniform(min_lon, max_lon), self.rng.uniform(min_lat, max_lat)
            if cell.contains(Point(lon, lat)):
                return round(lat, 6), round(lon, 6)
        centre = cell.representative_point()
        return round(centre.y, 6), round(centre.x, 6)


def seed(*, city: City, rng: random.Random, now: dt.datetime) -> None:
    """Seed the warnings module's demo data into `city` (see the module docstring)."""
    areas = CommuneArea.objects.for_city(city).select_related("commune")
    ctx = _Ctx(
        city=city, rng=rng, now=now,
        communes={a.commune.name: a.commune_id for a in areas},
        cells={a.commune_id: shape(a.geometry) for a in areas},
    )
    _categories(ctx)
    _organisation_and_staff(ctx)
    _rules(ctx)
    _subscriptions(ctx)
    _history(ctx)
    flood = _automatic_flood_warning(ctx)
    _manual_storm_warning(ctx)
    _security_bulletin(ctx)
    if flood is not None:
        _safety_replies(ctx, flood)


# --- Configuration ---------------------------------------------------------------------------------


def _categories(ctx: _Ctx) -> None:
    AlertCategory.objects.bulk_create(
        AlertCategory(city=ctx.city, code=code, name_vi=vi, name_en=en, cap_category=cap, is_news=news,
                      asks_safety=asks, order=10 * (i + 1))
        for i, (code, vi, en, cap, news, asks) in enumerate(CATEGORIES)
    )
    ctx.categories = {c.code: c for c in AlertCategory.objects.for_city(ctx.city)}


def _organisation_and_staff(ctx: _Ctx) -> None:
    from dothi.identity.models import Membership

    User = get_user_model()
    code, name_vi, name_en = KTTV
    kttv, _created = Organisation.objects.get_or_create(
        city=ctx.city, code=code,
        defaults={"kind": "agency", "agency_type": "department", "name_vi": name_vi, "name_en": name_en,
                  "email": f"{code}@danang.demo.dothi.invalid"},
    )
    # The demo's shared password, hashed once by the core demo: copied, not hashed again (argon2 is
    # slow by design).
    model = User.objects.filter(username="canbo").only("password").first()
    password = model.password if model else "!"
    for username, role, display in KTTV_STAFF:
        user, _created = User.objects.get_or_create(
            username=username,
            defaults={"password": password, "kind": User.Kind.STAFF, "display_name": display,
                      "email": f"{username}@danang.demo.dothi.invalid", "home_city": ctx.city},
        )
        Membership.objects.get_or_create(city=ctx.city, user=user, role=role, organisation=kttv)
    ctx.orgs = {o.code: o for o in Organisation.objects.filter(city=ctx.city)}
    names = ["canbo.kttv", "truongphong.kttv", "canbo.pctt", "canbo.congan", "canbo.gtvt", "canbo.tnmt",
             "vanhanh", "quantri"]
    ctx.staff = {u.username: u for u in User.objects.filter(username__in=names)}


def _rules(ctx: _Ctx) -> None:
    """The river rule the issue describes, the street flood rule of the automatic demo warning, PM2.5
    and heavy rain. Each is checked by the rule engine's own validation before it is stored."""
    from dothi.alerts import rules
    from dothi.sensing.models import Quantity

    Quantity.objects.get_or_create(
        city=ctx.city, code="flood_depth",
        defaults={"name_vi": "Độ sâu ngập đường phố", "name_en": "Street flood depth", "unit": "m",
                  "min_value": 0, "max_value": 5, "decimals": 2, "order": 35},
    )
    pctt, tnmt = ctx.orgs.get("ban-chi-huy-pctt"), ctx.orgs.get("so-tai-nguyen-moi-truong")
    specs = {
        "river": dict(
            name="Nước sông dâng cao (≥ 1,5 m trong 10 phút)", category=ctx.categories["flood"],
            quantity_code="water_level", levels=[
                {"threshold": 1.5, "severity": "Moderate"}, {"threshold": 2.0, "severity": "Severe"},
                {"threshold": 2.5, "severity": "Extreme"}],
            hysteresis=0.1, duration_minutes=10, commune_codes=ctx.codes(RIVER_WARDS),
            area_desc_vi="Các phường ven sông Hàn, sông Cẩm Lệ và sông Cu Đê",
            area_desc_en="Wards along the Hàn, Cẩm Lệ and Cu Đê rivers",
            headline_vi="Cảnh báo lũ: mực nước {value} m tại {sensor}",
            headline_en="Flood warning: water at {value} m at {sensor}",
            instruction_vi="Không đi qua ngầm, tràn, khu vực nước chảy xiết. Di chuyển tài sản lên cao; "
                           "chuẩn bị sơ tán theo hướng dẫn của chính quyền địa phương.",
            instruction_en="Do not cross flooded roads or fast water. Move belongings upstairs; be ready "
                           "to evacuate when the local authorities say so.",
            issuer=pctt,
        ),
        "street": dict(
            name="Ngập đường phố (≥ 0,3 m trong 10 phút)", category=ctx.categories["flood"],
            quantity_code="flood_depth", levels=[
                {"threshold": 0.3, "severity": "Moderate"}, {"threshold": 0.5, "severity": "Severe"},
                {"threshold": 0.8, "severity": "Extreme"}],
            hysteresis=0.05, duration_minutes=10, commune_codes=ctx.codes(STREET_FLOOD_WARDS),
            area_desc_vi="Các tuyến đường trũng thấp ở Hải Châu, Thanh Khê, An Khê, Hòa Cường",
            area_desc_en="Low-lying streets of Hải Châu, Thanh Khê, An Khê and Hòa Cường",
            headline_vi="Ngập đường phố: nước sâu {value} m tại {sensor}",
            headline_en="Street flooding: water {value} m deep at {sensor}",
            instruction_vi="Hạn chế ra đường; không đi xe qua đoạn ngập sâu; tránh xa cột điện, hố ga.",
            instruction_en="Stay off the roads; do not drive through deep water; keep away from power "
                           "poles and drains.",
            issuer=pctt,
        ),
        "pm25": dict(
            # "> 55 µg/m³": PM2.5 is measured to 0.1 µg/m³, so "≥ 55.1" is the same condition.
            name="Bụi mịn PM2.5 trung bình giờ > 55 µg/m³", category=ctx.categories["air-quality"],
            quantity_code="pm25", statistic=AlertRule.Statistic.HOURLY_MEAN, levels=[
                {"threshold": 55.1, "severity": "Moderate"}, {"threshold": 150.5, "severity": "Severe"},
                {"threshold": 250.5, "severity": "Extreme"}],
            hysteresis=5, duration_minutes=0, commune_codes=[],
            area_desc_vi="Toàn thành phố", area_desc_en="The whole city",
            urgency="Expected", certainty="Observed",
            headline_vi="Chất lượng không khí kém: PM2.5 {value} µg/m³ tại {sensor}",
            headline_en="Poor air quality: PM2.5 at {value} µg/m³ at {sensor}",
            instruction_vi="Hạn chế hoạt động ngoài trời, nhất là người già, trẻ nhỏ; đeo khẩu trang.",
            instruction_en="Limit time outdoors, above all for the elderly and children; wear a mask.",
            issuer=tnmt,
        ),
        "rain": dict(
            # The demo's gauges send the rain of every ten minutes: 10 mm in ten minutes is 60 mm/h.
            name="Mưa lớn (≥ 10 mm trong 10 phút, kéo dài 30 phút)", category=ctx.categories["heavy-rain"],
            quantity_code="rainfall", levels=[
                {"threshold": 10, "severity": "Moderate"}, {"threshold": 20, "severity": "Severe"}],
            hysteresis=2, duration_minutes=30, commune_codes=[],
            area_desc_vi="Toàn thành phố", area_desc_en="The whole city",
            headline_vi="Mưa lớn: {value} mm trong 10 phút tại {sensor}",
            headline_en="Heavy rain: {value} mm in ten minutes at {sensor}",
            instruction_vi="Đề phòng ngập úng cục bộ và sạt lở đất ở vùng núi.",
            instruction_en="Expect local flooding, and landslides in the hills.",
            issuer=pctt,
        ),
    }
    for key, spec in specs.items():
        rule = AlertRule(city=ctx.city, **spec)
        rules.rule_clean(rule)
        rule.save()
        ctx.rules[key] = rule


def _subscriptions(ctx: _Ctx) -> None:
    """About 70 % of the demo citizens choose where (home, often work, sometimes another commune) and
    what; the three known citizens and the visitor always do, so signing in as one shows the warnings
    where they live."""
    User = get_user_model()
    rng, codes = ctx.rng, ctx.codes(CITY_WARDS)
    if not codes:
        return
    people = list(
        User.objects.filter(home_city=ctx.city, kind__in=[User.Kind.CITIZEN, User.Kind.VISITOR])
        .filter(Q(username__startswith="demo-citizen-") | Q(username__startswith="demo-visitor-"))
        .order_by("username").values_list("pk", "username")
    )
    known = {
        "demo-citizen-0001": ("Phường Hải Châu", "Phường Thanh Khê", (), "Unknown"),
        "demo-citizen-0002": ("Phường An Hải", None, ("flood", "storm", "security"), "Unknown"),
        "demo-citizen-0003": ("Phường Thanh Khê", "Phường Hải Châu", (), "Moderate"),
        "demo-visitor-0001": ("Phường Sơn Trà", None, (), "Unknown"),
    }
    optional = [c for c in ctx.categories if c not in ("flood", "storm")]
    subs, wanted = [], []
    for pk, username in people:
        if username in known:
            home_name, work_name, cats, floor = known[username]
            home = ctx.communes.get(home_name)
            work = ctx.communes.get(work_name) if work_name else None
            extra: list[str] = []
        else:
            if rng.random() >= SUBSCRIBED_SHARE:
                continue
            home = rng.choice(codes)
            work = rng.choice(codes) if rng.random() < 0.4 else None
            extra = [rng.choice(codes)] if rng.random() < 0.1 else []
            cats = () if rng.random() < 0.6 else ("flood", "storm", *rng.sample(optional, 2))
            floor = rng.choices(["Unknown", "Moderate", "Severe"], weights=[80, 15, 5])[0]
        joined = ctx.now - dt.timedelta(days=rng.randint(160, 400), minutes=rng.randint(0, 1439))
        subs.append(Subscription(
            city=ctx.city, user_id=pk, home_commune_id=home, work_commune_id=work,
            extra_communes=sorted(set(extra) - {home, work}),
            categories=f",{','.join(sorted(cats))}," if cats else "", min_severity=floor,
            min_rank=SEVERITY_RANK[floor], created_at=joined,
        ))
        wanted.append({c for c in (home, work, *extra) if c})
    Subscription.objects.bulk_create(subs, batch_size=500)
    ids = dict(Subscription.objects.for_city(ctx.city).values_list("user_id", "pk"))
    SubscriptionArea.objects.bulk_create(
        (SubscriptionArea(city=ctx.city, subscription_id=ids[s.user_id], commune_code=code)
         for s, areas in zip(subs, wanted, strict=True) for code in sorted(areas)),
        batch_size=1000,
    )
    languages = dict(User.objects.filter(pk__in=[s.user_id for s in subs]).values_list("pk", "language"))
    ctx.subscriptions = [
        (s.user_id, languages.get(s.user_id) or "vi", frozenset(areas), frozenset(s.category_codes()),
         s.min_rank)
        for s, areas in zip(subs, wanted, strict=True)
    ]


# --- Past warnings ---------------------------------------------------------------------------------


@dataclass
class _Past:
    category: str
    days_ago: float  # first published
    hours: float  # until it ended (or was cancelled)
    severity: str
    wards: list[str]
    headline_vi: str
    headline_en: str
    description_vi: str = ""
    description_en: str = ""
    instruction_vi: str = ""
    instruction_en: str = ""
    lead_hours: float | None = None  # onset after publication
    rule: str = ""  # the rule that raised it
    status: str = PublicWarning.Status.ENDED
    expires: bool = True  # a manual warning ends at its expiry; a rule's by an all-clear
    drafter: str = "canbo.pctt"
    approver: str = "vanhanh"
    issuer: str = "ban-chi-huy-pctt"
    urgency: str = "Expected"
    certainty: str = "Likely"
    reason: str = ""


def _past_warnings() -> list[_Past]:
    from dothi.sensing.demo import STORM_HOURS_AGO

    storm = STORM_HOURS_AGO / 24
    return [
        _Past("flood", storm + 0.1, 20, "Severe", RIVER_WARDS, "Cảnh báo lũ: mực nước 2,3 m tại DN-WL-001",
              "Flood warning: water at 2.3 m at DN-WL-001",
              "Cảm biến DN-WL-001 đo được 2,3 m (ngưỡng 2 m).",
              "Sensor DN-WL-001 measured 2.3 m (threshold 2 m).",
              rule="river", urgency="Immediate", certainty="Observed", drafter="", approver=""),
        _Past("heavy-rain", storm + 0.6, 22, "Severe", CITY_WARDS, "Mưa rất to trong 24 giờ tới",
              "Very heavy rain in the next 24 hours",
              "Tổng lượng mưa 150–250 mm, có nơi trên 300 mm.", "150–250 mm of rain, over 300 mm in places.",
              "Đề phòng ngập úng, sạt lở đất.", "Expect flooding and landslides.", lead_hours=10,
              drafter="canbo.kttv", approver="truongphong.kttv", issuer="dai-kttv"),
        _Past("air-quality", 12.3, 5, "Moderate", ["Phường Liên Chiểu", "Phường Hòa Khánh"],
              "Chất lượng không khí kém: PM2.5 61,2 µg/m³ tại DN-AQ-014",
              "Poor air quality: PM2.5 at 61.2 µg/m³ at DN-AQ-014", rule="pm25", urgency="Expected",
              certainty="Observed", drafter="", approver=""),
        _Past("storm", 25.2, 30, "Severe", CITY_WARDS, "Bão số 5 có khả năng ảnh hưởng Đà Nẵng",
              "Typhoon No. 5 may reach Da Nang",
              "Tâm bão cách Đà Nẵng khoảng 400 km, gió cấp 10, giật cấp 12.",
              "The storm's eye is about 400 km away, winds force 10 gusting 12.",
              "Tàu thuyền không ra khơi; gia cố nhà cửa.", "Boats stay in port; secure your home.",
              lead_hours=36, status=PublicWarning.Status.CANCELLED, drafter="canbo.kttv",
              approver="truongphong.kttv", issuer="dai-kttv",
              reason="Bão đổi hướng ra biển, không còn ảnh hưởng đất liền."),
        _Past("heat", 40.4, 72, "Moderate", CITY_WARDS, "Nắng nóng, nhiệt độ cao nhất 37–38 °C",
              "Heat: highs of 37–38 °C", "Độ ẩm thấp nhất 45–50 %.", "Humidity as low as 45–50 %.",
              "Uống đủ nước, tránh ra ngoài từ 11 đến 15 giờ.",
              "Drink enough; stay indoors from 11:00 to 15:00.",
              lead_hours=12, drafter="canbo.kttv", approver="truongphong.kttv", issuer="dai-kttv"),
        _Past("traffic", 55.3, 48, "Minor", ["Phường Hải Châu", "Phường An Hải"],
              "Cấm xe qua cầu Rồng dịp lễ hội pháo hoa",
              "Dragon Bridge closed to traffic for the fireworks festival",
              "Cấm các loại xe qua cầu Rồng từ 18 giờ đến 24 giờ.",
              "No vehicles on Dragon Bridge 18:00–24:00.",
              lead_hours=8, drafter="canbo.gtvt", issuer="so-giao-thong-van-tai", certainty="Observed"),
        _Past("health", 75.1, 24 * 10, "Moderate", CITY_WARDS, "Sốt xuất huyết gia tăng, chủ động phòng bệnh",
              "Dengue fever is rising: protect yourself",
              "Số ca mắc tăng 30 % so với cùng kỳ.", "Cases are up 30 % on last year.",
              "Diệt lăng quăng, ngủ màn; đến cơ sở y tế khi sốt cao.",
              "Remove standing water, sleep under a net; see a doctor for a high fever.",
              drafter="canbo.tnmt", issuer="so-tai-nguyen-moi-truong", urgency="Future",
              certainty="Observed"),
        _Past("flood", 100.2, 40, "Severe", ["Phường Cẩm Lệ", "Phường Hòa Xuân", "Phường Hòa Cường"],
              "Lũ trên sông Cẩm Lệ vượt báo động II", "Cẩm Lệ river flood above alarm level II",
              "Mực nước sông Cẩm Lệ tiếp tục lên.", "The Cẩm Lệ river is still rising.",
              "Sơ tán người dân vùng trũng thấp.", "Low-lying areas are being evacuated.", lead_hours=6,
              drafter="canbo.kttv", approver="truongphong.kttv", issuer="dai-kttv"),
        _Past("security", 130.4, 24 * 3, "Minor", CITY_WARDS, "Cảnh giác thủ đoạn lừa đảo qua điện thoại",
              "Beware of phone scams", "Đối tượng giả danh công an yêu cầu chuyển tiền.",
              "Callers pretending to be police ask for money transfers.",
              "Không chuyển tiền theo yêu cầu qua điện thoại; báo ngay cho công an.",
              "Never transfer money asked for on the phone; report it to the police.",
              drafter="canbo.congan", issuer="cong-an", urgency="Expected", certainty="Observed"),
    ]


def _audience(ctx: _Ctx, category: str, codes: set[str], severity: str) -> list[tuple[int, str]]:
    """Who a message reached: the fan-out's rule (alerts.delivery), in Python for the demo's few people."""
    rank = SEVERITY_RANK[severity]
    return [
        (user_id, language)
        for user_id, language, areas, cats, floor in ctx.subscriptions
        if areas & codes and (not cats or category in cats) and floor <= rank
    ]


def _history(ctx: _Ctx) -> None:
    from dothi.alerts import area, cap
    from dothi.alerts.delivery import stamp_for, topic_for, url_for

    rng, city = ctx.rng, ctx.city
    messages: list[tuple[PublicWarning, CapMessage, list[tuple[int, str]]]] = []
    for past in _past_warnings():
        codes = ctx.codes(past.wards)
        if not codes:
            continue
        cleaned = area.clean_area(city, commune_codes=codes)
        box = cleaned.bbox or (None, None, None, None)
        published = ctx.now - dt.timedelta(days=past.days_ago)
        ended = published + dt.timedelta(hours=past.hours)
        rule = ctx.rules.get(past.rule)
        warning = PublicWarning.objects.create(
            city=city, category=ctx.categories[past.category],
            source=PublicWarning.Source.RULE if rule else PublicWarning.Source.MANUAL, status=past.status,
            rule=rule, issuer=ctx.orgs.get(past.issuer), urgency=past.urgency, severity=past.severity,
            certainty=past.certainty, headline_vi=past.headline_vi, headline_en=past.headline_en,
            description_vi=past.description_vi, description_en=past.description_en,
            instruction_vi=past.instruction_vi, instruction_en=past.instruction_en,
            area_desc_vi=", ".join(past.wards)[:300], area_desc_en=", ".join(past.wards)[:300],
            commune_codes=cleaned.commune_codes, min_lon=box[0], min_lat=box[1], max_lon=box[2],
            max_lat=box[3],
            onset_at=published + dt.timedelta(hours=past.lead_hours) if past.lead_hours is not None
            else (published if rule else None),
            effective_at=published, expires_at=ended if past.expires and not rule else None,
            asks_safety=ctx.categories[past.category].asks_safety and past.severity in ("Severe", "Extreme"),
            trigger={"sensor": past.headline_en.rsplit(" ", 1)[-1], "quantity": rule.quantity_code,
                     "level": 2 if past.severity == "Severe" else 1} if rule else {},
            triggered_at=published if rule else None,
            created_by=ctx.staff.get(past.drafter), approved_by=ctx.staff.get(past.approver),
            created_at=published - dt.timedelta(minutes=rng.randint(15, 90)) if not rule else published,
            published_at=published, ended_at=ended, reason=past.reason,
        )
        # An Alert; then a Cancel for an all-clear or a withdrawal (a manual warning that simply
        # reached its expiry ends without one, as in services.expire_warnings).
        kinds = [(CapMessage.MsgType.ALERT, published)]
        if rule or past.status == PublicWarning.Status.CANCELLED:
            kinds.append((CapMessage.MsgType.CANCEL, ended))
        reached = _audience(ctx, past.category, set(cleaned.commune_codes), past.severity)
        earlier: list[CapMessage] = []
        for version, (msg_type, sent) in enumerate(kinds, start=1):
            message = CapMessage(
                city=city, warning=warning, version=version, msg_type=msg_type,
                identifier=cap.identifier_for(city, warning, version), sender=cap.sender_for(city),
                sent_at=sent.replace(microsecond=0),
                references=" ".join(cap.reference_of(m, city) for m in earlier),
            )
            message.xml = cap.render(message)
            message.save()
            earlier.append(message)
            messages.append((warning, message, reached))
        warning.version = len(kinds)
        PublicWarning.objects.filter(pk=warning.pk).update(version=warning.version)

    fanouts, notifications = [], []
    for warning, message, reached in messages:
        took = dt.timedelta(seconds=round(rng.uniform(0.3, 3.0), 3))
        fanouts.append(Fanout(
            city=city, message=message, status=Fanout.Status.DONE, targeted=len(reached),
            inbox=len(reached), created_at=message.sent_at, started_at=message.sent_at + took / 3,
            finished_at=message.sent_at + took,
        ))
        stamp, topic, url = stamp_for(message), topic_for(warning), url_for(warning)
        cancel = message.msg_type == CapMessage.MsgType.CANCEL
        for user_id, language in reached:
            en = language == "en" and bool(warning.headline_en)
            headline = warning.headline_en if en else warning.headline_vi
            if cancel:
                withdrawn = warning.status == PublicWarning.Status.CANCELLED
                title = (("Withdrawn: " if withdrawn else "All clear: ") if en
                         else ("Đã hủy: " if withdrawn else "Hết cảnh báo: ")) + headline
            else:
                title = headline
            notifications.append(Notification(
                city=city, recipient_id=user_id, topic=topic, title=title[:200],
                body=(warning.description_en if en else warning.description_vi)[:600], url=url,
                created_at=stamp,
                read_at=stamp + dt.timedelta(minutes=rng.randint(1, 600)) if rng.random() < 0.8 else None,
            ))
    Fanout.objects.bulk_create(fanouts)
    Notification.objects.bulk_create(notifications, batch_size=1000)


# --- The three active warnings ---------------------------------------------------------------------


def _automatic_flood_warning(ctx: _Ctx) -> PublicWarning | None:
    """Register the street flood gauge and feed it readings through ingestion: the rule engine raises
    the warning inside the ingestion transaction, as for any device (see the module docstring)."""
    from dothi.sensing import services as sensing_services
    from dothi.sensing.ingestion import ingest
    from dothi.sensing.keys import source_get_or_create

    code = ctx.communes.get("Phường Hải Châu")
    if code is None:
        return None
    lat, lon = ctx.point_in(code)
    pctt = ctx.orgs.get("ban-chi-huy-pctt")
    source = source_get_or_create(city=ctx.city, name="cam-bien-ngap", organisation=pctt,
                                  description="Cảm biến đo độ sâu ngập đường phố của Ban Chỉ huy PCTT")
    sensing_services.sensor_register(
        actor=None, city=ctx.city, code=FLOOD_GAUGE, source=source,
        name="Cảm biến đo ngập đường Hàm Nghi – Hải Châu", kind="water", lat=lat, lon=lon,
        quantities=["flood_depth"],
        # It reports every few minutes while there is water on the road, and once a day otherwise.
        expected_interval_seconds=86400, properties={"flood_spot": "Hàm Nghi – Điện Biên Phủ"},
        description="Cảm biến siêu âm đo độ sâu nước trên mặt đường tại điểm ngập thường xuyên.",
    )
    items = [(FLOOD_GAUGE, "flood_depth", ctx.now - m * MIN, depth) for m, depth in GAUGE_READINGS]
    result = ingest(city=ctx.city, source=source, items=items, now=ctx.now)
    if result.rejected:
        raise RuntimeError(f"The demo flood gauge's readings were rejected: {result.rejected}")
    return (
        PublicWarning.objects.for_city(ctx.city)
        .filter(rule=ctx.rules["street"], status=PublicWarning.Status.PUBLISHED).order_by("-pk").first()
    )


def _manual_storm_warning(ctx: _Ctx) -> None:
    """The hydro-meteorological station's forecast of a tropical depression, approved by its manager."""
    from dothi.alerts import services

    drafter, approver = ctx.staff.get("canbo.kttv"), ctx.staff.get("truongphong.kttv")
    if drafter is None or approver is None:
        return
    onset = (ctx.now + DAY).replace(minute=0, second=0, microsecond=0)
    warning = services.warning_draft(
        actor=drafter, city=ctx.city, category="storm",
        headline_vi="Áp thấp nhiệt đới mạnh lên thành bão, ảnh hưởng trực tiếp Đà Nẵng từ chiều mai",
        headline_en="A tropical depression turning into a storm will reach Da Nang tomorrow afternoon",
        description_vi="Hồi 7 giờ, vị trí tâm áp thấp nhiệt đới ở khoảng 15,8° Bắc – 112,5° Đông, cách Đà "
                       "Nẵng khoảng 420 km về phía Đông. Sức gió mạnh nhất cấp 7, giật cấp 9. Trong 24 "
                       "giờ tới, áp thấp nhiệt đới di chuyển theo hướng Tây, mạnh lên thành bão. Từ chiều "
                       "mai, vùng biển và đất liền Đà Nẵng có gió mạnh cấp 8–9, giật cấp 11; mưa 150–250 mm.",
        description_en="At 07:00 the depression's centre was near 15.8° N 112.5° E, about 420 km east of Da "
                       "Nang, with winds of force 7 gusting 9. Over the next 24 hours it moves west and "
                       "strengthens into a storm. From tomorrow afternoon Da Nang's sea and coast get winds "
                       "of force 8–9 gusting 11, and 150–250 mm of rain.",
        instruction_vi="Tàu thuyền không ra khơi và vào nơi tránh trú an toàn. Chằng chống nhà cửa, cắt tỉa "
                       "cây xanh; chuẩn bị lương thực, nước uống, đèn pin. Theo dõi tin tức và chỉ dẫn của "
                       "chính quyền.",
        instruction_en="Boats stay in port or go to shelter. Secure roofs, trim trees; keep food, water and "
                       "a torch ready. Follow the news and the authorities' instructions.",
        urgency="Expected", severity="Severe", certainty="Likely",
        commune_codes=ctx.codes(CITY_WARDS),
        area_desc_vi="Đất liền và vùng biển thành phố Đà Nẵng",
        area_desc_en="Da Nang's land and coastal waters",
        onset_at=onset, effective_at=ctx.now - 30 * MIN, expires_at=onset + 2 * DAY,
    )
    services.warning_approve(actor=approver, warning=warning)


def _security_bulletin(ctx: _Ctx) -> None:
    """News of the city police for the next three days, published by the control centre's operator."""
    from dothi.alerts import services

    drafter, approver = ctx.staff.get("canbo.congan"), ctx.staff.get("vanhanh")
    if drafter is None or approver is None:
        return
    warning = services.warning_draft(
        actor=drafter, city=ctx.city, category="security",
        headline_vi="Tăng cường tuần tra, kiểm soát dịp cuối tuần; cảnh giác trộm cắp tại bãi biển",
        headline_en="More police patrols this weekend; beware of theft on the beaches",
        description_vi="Công an thành phố tăng cường tuần tra tại các bãi biển Mỹ Khê, Phạm Văn Đồng và khu "
                       "vực cầu Rồng. Gần đây xảy ra một số vụ trộm điện thoại, tài sản của du khách.",
        description_en="The city police are patrolling the Mỹ Khê and Phạm Văn Đồng beaches and the Dragon "
                       "Bridge area. Phones and belongings have been stolen from visitors lately.",
        instruction_vi="Giữ tư trang bên mình; báo ngay cho công an qua số 113 hoặc ứng dụng khi phát hiện "
                       "đối tượng khả nghi.",
        instruction_en="Keep your belongings with you; call 113 or report in the app if you see anything "
                       "suspicious.",
        urgency="Expected", severity="Minor", certainty="Observed",
        commune_codes=ctx.codes(
            ["Phường An Hải", "Phường Sơn Trà", "Phường Ngũ Hành Sơn", "Phường Hải Châu"]
        ),
        area_desc_vi="Các phường ven biển và khu vực cầu Rồng",
        area_desc_en="The coastal wards and the Dragon Bridge area",
        effective_at=ctx.now - 2 * H, expires_at=ctx.now + 3 * DAY,
    )
    services.warning_approve(actor=approver, warning=warning)


def _safety_replies(ctx: _Ctx, warning: PublicWarning) -> None:
    """Answers to the flood warning's "are you safe?" from people living in its area: most are safe,
    a few need help, at a point inside their commune."""
    from dothi.alerts import services

    if not warning.asks_safety:
        return
    User = get_user_model()
    codes = set(warning.commune_codes or [])
    homes = dict(
        Subscription.objects.for_city(ctx.city)
        .filter(home_commune_id__in=codes, user__kind=User.Kind.CITIZEN)
        .exclude(user__username__in=["demo-citizen-0001", "demo-citizen-0002", "demo-citizen-0003"])
        .order_by("user__username").values_list("user_id", "home_commune_id")
    )
    chosen = ctx.rng.sample(sorted(homes), min(12, len(homes)))
    people = {u.pk: u for u in User.objects.filter(pk__in=chosen)}
    for n, user_id in enumerate(chosen):
        if n < len(NEED_HELP_NOTES):
            lat, lon = ctx.point_in(homes[user_id])
            services.safety_reply(actor=people[user_id], warning=warning, status="need_help",
                                  note=NEED_HELP_NOTES[n], lat=lat, lon=lon)
        else:
            services.safety_reply(actor=people[user_id], warning=warning, status="safe")
