"""Demo data of the sensing module (the manifest's seeder): about 225 sensors for Đà Nẵng with a year
of hourly readings and a week of raw ones, so the map, the sensor pages, the KPIs and the open dataset
have something true-looking to show.

- Air quality stations of the Department of Natural Resources and Environment (PM2.5, PM10, some
  NO₂), VNPT's sensors under its data-sharing agreement (core demo), and a resident group's low-cost
  PM2.5 sensors under an agreement made here; water level stations on the rivers and canals of
  flood-prone communes (with their warning levels I, II, III) and rain gauges of the disaster
  prevention command; weather stations; traffic counters on the main roads; noise meters; a couple of
  cameras (location and view, never video), one of them privately owned and shared with agencies only.
- Signals with daily and weekly cycles, seasons (the rainy season is September to December), rain
  events, and one storm two days before `now`: heavy rain, wind and a pressure dip, rivers rising past
  their warning levels and still receding, fewer vehicles. A few sensors are offline, two retired.

Speed (the whole demo must start within 60 s): the values are generated with numpy, a whole array
per quantity at once, and written with SQL, not through the ingestion service (which checks each item
and is measured on its own): one `executemany` per table on SQLite, binary COPY built by numpy on
PostgreSQL. The rows keep ingestion's invariants: the raw week's hourly rollups are exactly its
readings' count, sum, minimum and maximum; the daily rollups are their hours'; the latest values are
the last readings, and each sensor's `last_seen_at` its newest reading. Deterministic for a given
`rng` and `now`.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from datetime import UTC
from zoneinfo import ZoneInfo

import numpy as np
from django.db import connection
from shapely.geometry import Point, shape

from dothi.core.models import Agreement, City, CommuneArea, Organisation
from dothi.sensing import catalogue
from dothi.sensing.models import DailyRollup, HourlyRollup, Latest, Observation, Quantity, Sensor
from dothi.sensing.quantities import ensure_global_catalogue

YEAR_DAYS = 365
RAW_DAYS = 7
STEP_MINUTES = 10  # the demo's devices send a reading every ten minutes
PER_HOUR = 60 // STEP_MINUTES
STORM_HOURS_AGO = 48  # the storm's peak
RELATIVE_NOISE = {"pm25": 0.08, "pm10": 0.08, "no2": 0.1, "rainfall": 0.15, "vehicle_count": 0.1}
ABSOLUTE_NOISE = {
    "water_level": 0.01,
    "temperature": 0.25,
    "humidity": 1.2,
    "wind_speed": 0.5,
    "pressure": 0.2,
    "average_speed": 2.0,
    "noise": 1.2,
}

URBAN = [
    "Phường Hải Châu",
    "Phường Thanh Khê",
    "Phường An Khê",
    "Phường Hòa Cường",
    "Phường An Hải",
    "Phường Sơn Trà",
    "Phường Ngũ Hành Sơn",
    "Phường Cẩm Lệ",
    "Phường Hòa Xuân",
    "Phường Liên Chiểu",
    "Phường Hòa Khánh",
    "Phường Hải Vân",
]
TOWNS = ["Phường Hội An", "Phường Tam Kỳ", "Phường Điện Bàn", "Phường An Thắng", "Phường Hương Trà"]
HIGHLANDS = [
    "Xã Bà Nà",
    "Xã Hòa Vang",
    "Xã Đại Lộc",
    "Xã Thượng Đức",
    "Xã Tây Giang",
    "Xã Đông Giang",
    "Xã Nông Sơn",
    "Xã Hiệp Đức",
    "Xã Tiên Phước",
    "Xã Trà My",
    "Xã Nam Giang",
    "Xã Khâm Đức",
    "Xã Phước Hiệp",
    "Xã Trà Đốc",
]
LOWLANDS = [
    "Xã Hòa Tiến",
    "Xã Vu Gia",
    "Xã Duy Xuyên",
    "Xã Thu Bồn",
    "Xã Gò Nổi",
    "Xã Nam Phước",
    "Xã Thăng Bình",
    "Xã Quế Sơn",
    "Xã Núi Thành",
    "Xã Phú Ninh",
    "Phường Điện Bàn Đông",
    "Phường Hội An Tây",
    "Phường Bàn Thạch",
]
# Water level stations: (commune, river or canal, tidal, slow river). Flood-prone places first.
WATER_STATIONS = [
    ("Phường Hải Châu", "sông Hàn", True, False),
    ("Phường An Hải", "sông Hàn", True, False),
    ("Phường Hòa Cường", "sông Hàn", True, False),
    ("Phường Cẩm Lệ", "sông Cẩm Lệ", False, True),
    ("Phường Hòa Xuân", "sông Cẩm Lệ", False, True),
    ("Phường Ngũ Hành Sơn", "sông Cổ Cò", True, False),
    ("Phường Liên Chiểu", "sông Cu Đê", True, False),
    ("Phường Hòa Khánh", "kênh thoát nước Hòa Khánh", False, False),
    ("Phường Thanh Khê", "kênh Phần Lăng", False, False),
    ("Phường An Khê", "kênh Phần Lăng", False, False),
    ("Xã Hòa Vang", "sông Túy Loan", False, True),
    ("Xã Hòa Tiến", "sông Yên", False, True),
    ("Xã Đại Lộc", "sông Vu Gia", False, True),
    ("Xã Vu Gia", "sông Vu Gia", False, True),
    ("Xã Thượng Đức", "sông Vu Gia", False, True),
    ("Phường Hội An", "sông Hoài", True, True),
    ("Phường Hội An Tây", "sông Thu Bồn", True, True),
    ("Xã Duy Xuyên", "sông Thu Bồn", False, True),
    ("Xã Thu Bồn", "sông Thu Bồn", False, True),
    ("Xã Nông Sơn", "sông Thu Bồn", False, True),
    ("Xã Gò Nổi", "sông Thu Bồn", False, True),
    ("Phường Điện Bàn", "sông Vĩnh Điện", False, True),
    ("Phường Điện Bàn Đông", "sông Cổ Cò", True, False),
    ("Phường Tam Kỳ", "sông Tam Kỳ", True, False),
    ("Phường Bàn Thạch", "sông Bàn Thạch", True, False),
    ("Xã Tiên Phước", "sông Tiên", False, True),
    ("Xã Trà My", "sông Tranh", False, True),
    ("Xã Hiệp Đức", "sông Tranh", False, True),
]
ROADS = [
    "Nguyễn Văn Linh",
    "Điện Biên Phủ",
    "Ngô Quyền",
    "Võ Nguyên Giáp",
    "Nguyễn Tất Thành",
    "Hùng Vương",
    "Lê Duẩn",
    "Trần Hưng Đạo",
    "2 Tháng 9",
    "Phạm Văn Đồng",
    "Tôn Đức Thắng",
    "Nguyễn Hữu Thọ",
    "Cách Mạng Tháng 8",
    "Lê Văn Hiến",
    "Trường Chinh",
    "Hoàng Sa",
    "Bạch Đằng",
    "Nguyễn Lương Bằng",
    "Âu Cơ",
    "Quốc lộ 1A",
    "Hà Huy Tập",
    "Nguyễn Sinh Sắc",
    "Ông Ích Khiêm",
    "Lê Thanh Nghị",
]
RESIDENT_AGREEMENT = (
    "Thỏa thuận chia sẻ dữ liệu cảm biến bụi mịn cộng đồng",
    "Câu lạc bộ đặt 4 cảm biến PM2.5 giá rẻ tại nhà hội viên; số liệu 10 phút một lần được công khai "
    "trên bản đồ của thành phố và chia sẻ cho Sở Tài nguyên và Môi trường. Không thu thập dữ liệu cá nhân.",
)
CAMERA_AGREEMENT = (
    "Thỏa thuận chia sẻ hình ảnh camera quan sát sông Hàn và bờ biển",
    "Doanh nghiệp cho phép IOC và Ban Chỉ huy PCTT xem trực tiếp 2 camera khi có mưa bão; thành phố "
    "không lưu video, chỉ công khai vị trí và hướng quan sát.",
)


@dataclass
class Spec:
    code: str
    name: str
    kind: str
    commune: str
    quantities: tuple[str, ...]
    owner: str
    agreement: str = ""  # "vnpt", "resident", "camera"
    is_public: bool = True
    properties: dict = field(default_factory=dict)
    view: str = ""
    stream: str = ""
    # Signal parameters (see _signals)
    params: dict = field(default_factory=dict)
    # Installed after the start of the demo's year (days before now): no readings before that.
    installed_days_ago: int | None = None


# --- Places ----------------------------------------------------------------------------------------


class _Cells:
    def __init__(self, city: City, rng: random.Random) -> None:
        self.rng = rng
        self.cells = {
            area.commune.name: (area.commune, shape(area.geometry))
            for area in CommuneArea.objects.filter(city=city).select_related("commune")
        }

    def point(self, name: str) -> tuple[object | None, float, float]:
        found = self.cells.get(name)
        if found is None:  # a city without this commune's cell: near the centre of Đà Nẵng
            return (
                None,
                round(16.06 + self.rng.uniform(-0.04, 0.04), 6),
                round(108.2 + self.rng.uniform(-0.04, 0.04), 6),
            )
        commune, cell = found
        min_lon, min_lat, max_lon, max_lat = cell.bounds
        for _ in range(200):
            lon, lat = self.rng.uniform(min_lon, max_lon), self.rng.uniform(min_lat, max_lat)
            if cell.contains(Point(lon, lat)):
                return commune, round(lat, 6), round(lon, 6)
        centre = cell.representative_point()
        return commune, round(centre.y, 6), round(centre.x, 6)


# --- The sensors -----------------------------------------------------------------------------------


def _specs(rng: random.Random) -> list[Spec]:
    specs: list[Spec] = []
    short = {name: name.split(" ", 1)[1] for name in URBAN + TOWNS + HIGHLANDS + LOWLANDS}

    # Air quality: the department's stations, VNPT's sensors, the resident group's low-cost ones.
    air_places = URBAN * 2 + ["Phường Hòa Khánh", "Phường Liên Chiểu"] + TOWNS[:3] + ["Phường Hải Châu"]
    for i, commune in enumerate(air_places[:24], start=1):
        quantities = ("pm25", "pm10", "no2") if i <= 8 else ("pm25", "pm10")
        industrial = commune in ("Phường Hòa Khánh", "Phường Liên Chiểu")
        specs.append(
            Spec(
                f"DN-AQ-{i:03d}",
                f"Trạm quan trắc không khí {short[commune]} {1 + (i - 1) // len(URBAN)}",
                "air",
                commune,
                quantities,
                "so-tai-nguyen-moi-truong",
                params={"base": rng.uniform(30, 40) if industrial else rng.uniform(11, 26)},
            )
        )
    for i in range(1, 21):
        commune = rng.choice(URBAN)
        specs.append(
            Spec(
                f"VNPT-AQ-{i:02d}",
                f"Cảm biến bụi VNPT {short[commune]} {i:02d}",
                "air",
                commune,
                ("pm25", "pm10"),
                "vnpt-da-nang",
                agreement="vnpt",
                params={"base": rng.uniform(13, 30), "bias": 1.1},
                installed_days_ago=195,  # when the agreement with VNPT started
            )
        )
    for i in range(1, 5):
        specs.append(
            Spec(
                f"CLB-PM-{i:02d}",
                f"Cảm biến cộng đồng Hải Châu {i:02d}",
                "air",
                "Phường Hải Châu",
                ("pm25",),
                "clb-xanh-hai-chau",
                agreement="resident",
                params={"base": rng.uniform(15, 24), "bias": 1.2},
                installed_days_ago=235,
            )
        )

    # Water: level stations with their warning levels, rain gauges.
    for i, (commune, river, tidal, slow) in enumerate(WATER_STATIONS, start=1):
        normal = round(rng.uniform(0.3, 1.2), 2)
        level_1 = round(normal + rng.uniform(0.9, 1.5), 1)
        levels = [level_1, round(level_1 + 1.0, 1), round(level_1 + 2.0, 1)]
        specs.append(
            Spec(
                f"DN-WL-{i:03d}",
                f"Trạm đo mực nước {river} – {short[commune]}",
                "water",
                commune,
                ("water_level",),
                "ban-chi-huy-pctt",
                properties={"alert_levels": levels, "river": river},
                params={
                    "normal": normal,
                    "levels": levels,
                    "tidal": tidal,
                    "slow": slow,
                    # how high the storm takes it: some stations past level III, most past I
                    "peak": (levels[2] - normal) * rng.uniform(0.7, 1.2),
                },
            )
        )
    gauges = URBAN + TOWNS + HIGHLANDS + LOWLANDS[:9]
    for i, commune in enumerate(gauges[:40], start=1):
        specs.append(
            Spec(
                f"DN-RG-{i:03d}",
                f"Trạm đo mưa {short[commune]}",
                "water",
                commune,
                ("rainfall",),
                "ban-chi-huy-pctt",
                params={"wet": 1.5 if commune in HIGHLANDS else 1.0},
            )
        )

    # Weather stations.
    for i, commune in enumerate(
        [
            "Phường Hải Châu",
            "Phường Sơn Trà",
            "Phường Ngũ Hành Sơn",
            "Phường Liên Chiểu",
            "Phường Cẩm Lệ",
            "Xã Bà Nà",
            "Phường Hội An",
            "Phường Tam Kỳ",
            "Xã Đại Lộc",
            "Xã Trà My",
        ],
        start=1,
    ):
        specs.append(
            Spec(
                f"DN-WS-{i:02d}",
                f"Trạm khí tượng {short[commune]}",
                "weather",
                commune,
                ("temperature", "humidity", "wind_speed", "pressure"),
                "so-tai-nguyen-moi-truong",
                params={
                    "mountain": commune == "Xã Bà Nà",
                    "coastal": commune
                    in ("Phường Sơn Trà", "Phường Ngũ Hành Sơn", "Phường Hội An", "Phường Liên Chiểu"),
                },
            )
        )

    # Traffic counters on the main roads.
    for i in range(1, 76):
        road = ROADS[(i - 1) % len(ROADS)]
        commune = URBAN[(i * 7) % len(URBAN)] if i <= 66 else TOWNS[i % len(TOWNS)]
        quantities = ("vehicle_count", "average_speed") if i <= 24 else ("vehicle_count",)
        specs.append(
            Spec(
                f"DN-TC-{i:03d}",
                f"Đếm xe đường {road} ({short[commune]})",
                "traffic",
                commune,
                quantities,
                "so-giao-thong-van-tai",
                params={"capacity": rng.uniform(1200, 5400)},
                installed_days_ago=None if i <= 40 else 120,  # the second phase of the counters
            )
        )

    # Noise.
    for i in range(1, 21):
        commune = URBAN[(i * 5) % len(URBAN)] if i <= 16 else TOWNS[i % len(TOWNS)]
        specs.append(
            Spec(
                f"DN-NS-{i:03d}",
                f"Đo tiếng ồn {short[commune]} {i:02d}",
                "noise",
                commune,
                ("noise",),
                "so-tai-nguyen-moi-truong",
                params={"base": rng.uniform(50, 60)},
                installed_days_ago=None if i <= 16 else 150,
            )
        )

    # Cameras: location and view, never video.
    specs += [
        Spec(
            "CAM-SH-01",
            "Camera quan sát sông Hàn – cầu Rồng",
            "camera",
            "Phường An Hải",
            (),
            "du-lich-song-han",
            agreement="camera",
            properties={"heading": 200},
            view="Mặt sông Hàn và chân cầu Rồng, hướng về phía nam; dùng theo dõi mực nước khi mưa bão.",
            stream="rtsp://camera.demo.dothi.invalid/song-han-1",
        ),
        Spec(
            "CAM-BB-02",
            "Camera bãi biển Mỹ Khê",
            "camera",
            "Phường An Hải",
            (),
            "du-lich-song-han",
            agreement="camera",
            is_public=False,
            properties={"heading": 90},
            view="Bãi biển và sóng, hướng ra biển; chỉ chia sẻ cho cơ quan khi có bão.",
            stream="rtsp://camera.demo.dothi.invalid/my-khe-2",
        ),
        Spec(
            "CAM-GT-03",
            "Camera nút giao Điện Biên Phủ – Nguyễn Tri Phương",
            "camera",
            "Phường Thanh Khê",
            (),
            "so-giao-thong-van-tai",
            properties={"heading": 45},
            view="Nút giao, hướng đông bắc; đếm xe bằng phần mềm, không nhận dạng biển số.",
            stream="rtsp://camera.demo.dothi.invalid/dbp-ntp-3",
        ),
    ]
    return specs


def _organisations(city: City, now: dt.datetime) -> tuple[dict[str, Organisation], dict[str, Agreement]]:
    orgs = {o.code: o for o in Organisation.objects.filter(city=city)}
    if "du-lich-song-han" not in orgs:
        orgs["du-lich-song-han"] = Organisation.objects.create(
            city=city,
            code="du-lich-song-han",
            kind=Organisation.Kind.ENTERPRISE,
            name_vi="Công ty Cổ phần Du lịch Sông Hàn (demo)",
            name_en="Song Han Tourism JSC (demo)",
        )
    today = now.date()
    agreements: dict[str, Agreement] = {}
    vnpt = Agreement.objects.filter(
        city=city, organisation__code="vnpt-da-nang", kind=Agreement.Kind.DATA_SHARING
    ).first()
    if vnpt is not None:
        agreements["vnpt"] = vnpt
    for key, org_code, (title, scope), shared in (
        ("resident", "clb-xanh-hai-chau", RESIDENT_AGREEMENT, ["so-tai-nguyen-moi-truong"]),
        ("camera", "du-lich-song-han", CAMERA_AGREEMENT, ["ioc", "ban-chi-huy-pctt"]),
    ):
        if org_code not in orgs:
            continue
        agreement = Agreement.objects.create(
            city=city,
            organisation=orgs[org_code],
            kind=Agreement.Kind.DATA_SHARING,
            title=title,
            scope=scope,
            starts_on=today - dt.timedelta(days=240),
            ends_on=today + dt.timedelta(days=490),
        )
        agreement.shared_with.set([orgs[c] for c in shared if c in orgs])
        agreements[key] = agreement
    return orgs, agreements


# --- Signals ---------------------------------------------------------------------------------------


class _Clock:
    """The time grids: hourly for the year before the raw week, ten-minute steps for the raw week."""

    def __init__(self, now: dt.datetime, time_zone: str, days: int) -> None:
        now = now.astimezone(UTC)
        self.now = now
        hour = now.replace(minute=0, second=0, microsecond=0)
        self.raw_start = hour - dt.timedelta(days=RAW_DAYS)
        self.year_start = hour - dt.timedelta(days=days)
        start_s = int(self.year_start.timestamp())
        raw_s = int(self.raw_start.timestamp())
        # Hourly buckets before the raw week (the bucket's centre is where signals are evaluated).
        self.hours = np.arange(start_s, raw_s, 3600, dtype=np.int64)
        last = int(now.timestamp()) - 1
        self.steps = np.arange(
            raw_s, last - (last - raw_s) % (STEP_MINUTES * 60) + 1, STEP_MINUTES * 60, dtype=np.int64
        )
        self.storm = int(now.timestamp()) - STORM_HOURS_AGO * 3600
        self.offset = ZoneInfo(time_zone).utcoffset(now.replace(tzinfo=None)).total_seconds()

    def local(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Hour of day (float), day of year (float) and day of week (0 = Monday) in local time."""
        lt = t + self.offset
        hour = (lt % 86400) / 3600.0
        days = lt // 86400
        weekday = (days + 3) % 7  # 1 January 1970 was a Thursday
        # Day of year from the date: cheap enough over unique days.
        unique_days, inverse = np.unique(days, return_inverse=True)
        doy = np.array([dt.date.fromordinal(719163 + int(d)).timetuple().tm_yday for d in unique_days])[
            inverse
        ]
        return hour, doy.astype(float), weekday


def _smooth_noise(gen: np.random.Generator, n_series: int, t: np.ndarray, hours: float) -> np.ndarray:
    """Correlated noise (about unit variance) varying over `hours`: a sum of random sinusoids, so the
    same function can be evaluated on any grid (the hourly year and the raw week agree)."""
    k = 6
    periods = hours * gen.uniform(0.6, 3.0, size=(n_series, k, 1)) * 3600
    phases = gen.uniform(0, 2 * np.pi, size=(n_series, k, 1))
    return np.sin(2 * np.pi * t[None, None, :] / periods + phases).sum(axis=1) / math.sqrt(k / 2)


def _bell(t: np.ndarray, centre: float, sd_hours: float) -> np.ndarray:
    return np.exp(-0.5 * ((t - centre) / (sd_hours * 3600.0)) ** 2)


class _Weather:
    """The city's shared weather: rain events over the year (more from September to December) and the
    storm, evaluated on any grid."""

    MONTH_RATE = [0.25, 0.12, 0.1, 0.12, 0.2, 0.22, 0.2, 0.25, 0.45, 0.6, 0.6, 0.45]  # events a day

    def __init__(self, gen: np.random.Generator, clock: _Clock) -> None:
        self.clock = clock
        start, end = int(clock.year_start.timestamp()), int(clock.now.timestamp())
        centres, widths, peaks = [], [], []
        day = start
        while day < end:
            month = dt.datetime.fromtimestamp(day, UTC).month
            for _ in range(gen.poisson(self.MONTH_RATE[month - 1])):
                centres.append(day + gen.uniform(0, 86400))
                widths.append(gen.uniform(0.7, 5.0))
                peaks.append(gen.exponential(6.0 if month >= 9 else 3.5))
            day += 86400
        self.centres = np.array(centres)
        self.widths = np.array(widths)
        self.peaks = np.array(peaks)

    def events(self, t: np.ndarray) -> np.ndarray:
        """[events, len(t)] rain rate of each event (mm/h) before each gauge's own factor."""
        return self.peaks[:, None] * np.exp(
            -0.5 * ((t[None, :] - self.centres[:, None]) / (self.widths[:, None] * 3600.0)) ** 2
        )

    def storm(self, t: np.ndarray, sd_hours: float = 14.0) -> np.ndarray:
        return _bell(t, self.clock.storm, sd_hours)

    def city_rain(self, t: np.ndarray) -> np.ndarray:
        return self.events(t).sum(axis=0) + 22.0 * self.storm(t)


def _traffic_profile(hour: np.ndarray, weekday: np.ndarray) -> np.ndarray:
    """Share of the road's hourly capacity in use: morning and evening peaks, quiet nights."""
    p = (
        0.08
        + 0.55 * np.exp(-0.5 * ((hour - 7.5) / 1.3) ** 2)
        + 0.65 * np.exp(-0.5 * ((hour - 17.5) / 1.5) ** 2)
        + 0.35 * np.exp(-0.5 * ((hour - 12.5) / 3.5) ** 2)
        + 0.15 * np.exp(-0.5 * ((hour - 20.5) / 1.5) ** 2)
    )
    return p * np.where(weekday == 6, 0.8, np.where(weekday == 5, 0.9, 1.0))


def _signals(
    group: list[Spec],
    quantity: str,
    t: np.ndarray,
    clock: _Clock,
    weather: _Weather,
    gen: np.random.Generator,
    seeds: dict,
) -> np.ndarray:
    """[len(group), len(t)] values of `quantity` for these sensors at times t (mean over the reading's
    interval; for rainfall and vehicle counts the rate per hour). Deterministic per sensor: the random
    parameters come from `seeds`, drawn once per sensor and quantity."""
    hour, doy, weekday = clock.local(t)
    storm = weather.storm(t)
    p = [s.params for s in group]
    noise = seeds["noise"]  # [n, len(t)] smooth noise, unit variance
    if quantity in ("pm25", "pm10", "no2"):
        base = np.array([x.get("base", 20.0) * x.get("bias", 1.0) for x in p])[:, None]
        season = 1 + 0.35 * np.cos(2 * np.pi * (doy - 20) / 365.0)
        rush = (
            1
            + 0.35 * np.exp(-0.5 * ((hour - 7.5) / 1.5) ** 2)
            + 0.45 * np.exp(-0.5 * ((hour - 19) / 2.0) ** 2)
            - 0.15
        )
        washout = 1.0 / (1.0 + 0.12 * weather.city_rain(t))
        pm25 = base * season * rush * washout * np.exp(0.3 * noise)
        if quantity == "pm25":
            return pm25
        if quantity == "pm10":
            return pm25 * seeds["ratio"][:, None]
        return (12 + base * 0.9) * (0.6 + 0.5 * _traffic_profile(hour, weekday)) * np.exp(0.25 * noise)
    if quantity == "rainfall":
        wet = np.array([x.get("wet", 1.0) for x in p])[:, None]
        rate = (seeds["event_factor"] @ weather.events(t)) * wet + 22.0 * storm * wet * seeds["storm_factor"][
            :, None
        ]
        rate = rate * np.exp(0.2 * noise)
        return np.where(rate < 0.25, 0.0, rate)
    if quantity == "water_level":
        normal = np.array([x["normal"] for x in p])[:, None]
        peak = np.array([x["peak"] for x in p])[:, None]
        slow = np.array([x["slow"] for x in p])[:, None]
        tidal = np.array([x["tidal"] for x in p])[:, None]
        response = seeds["response"](t)  # [2, len(t)]: fast and slow catchment response, storm peak = 1
        level = normal + peak * np.where(slow, response[1][None, :], response[0][None, :])
        tide = tidal * (
            0.35 * np.sin(2 * np.pi * t / (12.42 * 3600)) + 0.12 * np.sin(2 * np.pi * t / (24.84 * 3600))
        )
        return level + tide + 0.03 * noise
    if quantity == "temperature":
        mountain = np.array([8.0 if x.get("mountain") else 0.0 for x in p])[:, None]
        coastal = np.array([0.7 if x.get("coastal") else 1.0 for x in p])[:, None]
        season = 25.7 + 4.2 * np.sin(2 * np.pi * (doy - 105) / 365.0)
        daily = 3.5 * coastal * np.cos(2 * np.pi * (hour - 14) / 24.0)
        return (
            season
            + daily
            - mountain
            + 0.9 * noise
            - 3.0 * storm
            - 0.15 * np.minimum(weather.city_rain(t), 10)
        )
    if quantity == "humidity":
        daily = -9.0 * np.cos(2 * np.pi * (hour - 14) / 24.0)
        season = 78 + 6 * np.cos(2 * np.pi * (doy - 300) / 365.0)
        return np.clip(
            season + daily + 4 * noise + 2.0 * np.minimum(weather.city_rain(t), 8) + 12 * storm, 35, 100
        )
    if quantity == "wind_speed":
        coastal = np.array([1.4 if x.get("coastal") else 1.0 for x in p])[:, None]
        breeze = 1.3 * np.exp(-0.5 * ((hour - 15) / 3.0) ** 2)
        return np.clip(
            (2.3 + breeze + 0.8 * noise) * coastal + 19.0 * coastal * weather.storm(t, 9.0), 0, None
        )
    if quantity == "pressure":
        season = 1010.5 + 4.5 * np.cos(2 * np.pi * (doy - 15) / 365.0)
        tide = 1.1 * np.cos(4 * np.pi * (hour - 10) / 24.0)
        return season + tide + 1.5 * noise - 24.0 * weather.storm(t, 10.0)
    if quantity == "vehicle_count":
        capacity = np.array([x["capacity"] for x in p])[:, None]
        return capacity * _traffic_profile(hour, weekday) * (1 - 0.7 * storm) * np.exp(0.08 * noise)
    if quantity == "average_speed":
        load = _traffic_profile(hour, weekday) * (1 - 0.7 * storm)
        return np.clip(48 - 30 * load**2 + 2.5 * noise - 12 * storm, 5, 70)
    if quantity == "noise":
        base = np.array([x["base"] for x in p])[:, None]
        return base - 8 + 17 * np.minimum(_traffic_profile(hour, weekday), 1.0) + 1.5 * noise + 6 * storm
    raise ValueError(quantity)


def _catchment(weather: _Weather, clock: _Clock):
    """The rivers' response to rain: the city's rain rate through a fast (8 h) and a slow (30 h)
    exponential store, scaled so that the storm's peak is 1. Computed hourly over the year, then read
    at any time by interpolation."""
    grid = np.arange(
        int(clock.year_start.timestamp()) - 7 * 86400, int(clock.now.timestamp()) + 3600, 3600, dtype=np.int64
    )
    rain = weather.city_rain(grid)
    out = []
    for tau in (8.0, 30.0):
        kernel = np.exp(-np.arange(0, int(tau * 8)) / tau)
        kernel /= kernel.sum()
        response = np.convolve(rain, kernel)[: len(grid)]
        near = np.abs(grid - clock.storm) < 4 * 86400
        out.append(response / response[near].max())
    stack = np.vstack(out)
    return lambda t: np.vstack([np.interp(t, grid, row) for row in stack])


# --- Writing ---------------------------------------------------------------------------------------

_PG_EPOCH = int(dt.datetime(2000, 1, 1, tzinfo=UTC).timestamp())
# Column kinds: bigint, integer, a time (unix seconds in the arrays), double precision.
_PG_TYPES = {"i8": (">i8", 8), "i4": (">i4", 4), "ts": (">i8", 8), "f8": (">f8", 8)}


def _pg_copy(table: str, columns: list[tuple[str, str]], arrays: list[np.ndarray]) -> None:
    """COPY rows in PostgreSQL's binary format, built as one numpy record array (no Python object per
    row): per row the field count, then each field's length and big-endian value."""
    n = len(arrays[0])
    fields: list[tuple[str, str]] = [("n", ">i2")]
    for i, (_name, kind) in enumerate(columns):
        fields += [(f"l{i}", ">i4"), (f"v{i}", _PG_TYPES[kind][0])]
    rows = np.empty(n, dtype=np.dtype(fields))
    rows["n"] = len(columns)
    for i, ((_name, kind), values) in enumerate(zip(columns, arrays, strict=True)):
        rows[f"l{i}"] = _PG_TYPES[kind][1]
        rows[f"v{i}"] = (values - _PG_EPOCH) * 1_000_000 if kind == "ts" else values
    names = ", ".join(f'"{name}"' for name, _kind in columns)
    sql = f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)"
    with connection.cursor() as wrapper, wrapper.cursor.copy(sql) as cp:
        cp.write(b"PGCOPY\n\xff\r\n\x00" + bytes(8))  # signature, flags, header extension
        for start in range(0, n, 500_000):
            cp.write(rows[start : start + 500_000].tobytes())
        cp.write(b"\xff\xff")  # end of data


def _sqlite_insert(table: str, columns: list[tuple[str, str]], arrays: list[np.ndarray]) -> None:
    """One executemany; times as Django's SQLite backend stores them (naive UTC, str())."""
    lists = []
    for (_name, kind), values in zip(columns, arrays, strict=True):
        if kind == "ts":
            unique = np.unique(values)
            labels = dict(zip(unique.tolist(), _sqlite_time(unique), strict=True))
            lists.append([labels[v] for v in values.tolist()])
        else:
            lists.append(values.tolist())
    names = ", ".join(f'"{name}"' for name, _kind in columns)
    marks = ", ".join("?" for _ in columns)
    cur = connection.connection.cursor()
    try:
        cur.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", zip(*lists, strict=True))  # noqa: S608
    finally:
        cur.close()


def _sqlite_time(seconds: np.ndarray) -> list[str]:
    return [str(dt.datetime.fromtimestamp(s, UTC).replace(tzinfo=None)) for s in seconds.tolist()]


ROLLUP_COLUMNS = [
    ("sensor_id", "i8"),
    ("quantity_id", "i8"),
    ("bucket", "ts"),
    ("count", "i4"),
    ("sum", "f8"),
    ("min", "f8"),
    ("max", "f8"),
]
RAW_COLUMNS = [("sensor_id", "i8"), ("quantity_id", "i8"), ("time", "ts"), ("value", "f8")]


def _write(table: str, columns: list[tuple[str, str]], series: list[tuple[tuple[int, int], list]]) -> None:
    """Write each series' columns, in primary-key order (the key's index is then only appended to)."""
    if not series:
        return
    series.sort(key=lambda item: item[0])
    arrays = [np.concatenate([parts[i] for _key, parts in series]) for i in range(len(columns))]
    if not len(arrays[0]):
        return
    if connection.vendor == "postgresql":
        _pg_copy(table, columns, arrays)
    else:
        _sqlite_insert(table, columns, arrays)


@dataclass
class _Block:
    """One quantity of a group of sensors: hourly rollups of the year before the raw week, and the
    raw week's readings."""

    specs: list[Spec]
    quantity: str
    hourly_mean: np.ndarray  # [n, hours] mean per reading (for summed quantities: per reading too)
    hourly_min: np.ndarray
    hourly_max: np.ndarray
    raw: np.ndarray  # [n, steps]


def _block(
    specs: list[Spec],
    quantity: str,
    q: Quantity,
    clock: _Clock,
    weather: _Weather,
    gen: np.random.Generator,
    response,
) -> _Block:
    n = len(specs)
    summed = q.summed
    times_h = clock.hours + 1800
    seeds_common = {
        "ratio": gen.uniform(1.5, 1.9, size=n),
        "event_factor": gen.lognormal(0.0, 0.5, size=(n, len(weather.peaks))),
        "storm_factor": gen.uniform(0.7, 1.5, size=n),
        "response": response,
    }
    # The same smooth noise on both grids (a function of time), plus white noise per reading.
    hours_scale = {"water_level": 6.0, "rainfall": 3.0}.get(quantity, 30.0)
    state = gen.integers(0, 2**32)
    seeds_h = dict(seeds_common, noise=_smooth_noise(np.random.default_rng(state), n, times_h, hours_scale))
    seeds_r = dict(
        seeds_common, noise=_smooth_noise(np.random.default_rng(state), n, clock.steps, hours_scale)
    )
    rate_h = _signals(specs, quantity, times_h, clock, weather, gen, seeds_h)
    rate_r = _signals(specs, quantity, clock.steps, clock, weather, gen, seeds_r)
    # Reading-to-reading noise: relative for concentrations and counts, absolute for the rest.
    relative = RELATIVE_NOISE.get(quantity)
    if summed:
        # A reading is the amount in its ten minutes: the hourly rate shared over the hour's readings.
        mean_h = rate_h / PER_HOUR
        raw = rate_r / PER_HOUR * np.exp((relative or 0.1) * gen.standard_normal(rate_r.shape))
        sd_h = np.abs(mean_h) * (relative or 0.1)
    else:
        mean_h = rate_h
        if relative is not None:
            raw = rate_r * np.exp(relative * gen.standard_normal(rate_r.shape))
            sd_h = np.abs(mean_h) * relative
        else:
            raw = rate_r + ABSOLUTE_NOISE[quantity] * gen.standard_normal(rate_r.shape)
            sd_h = np.full(mean_h.shape, ABSOLUTE_NOISE[quantity])
    # An hour's lowest and highest of six readings: about ±1.3 standard deviations, plus the trend.
    trend = 0.5 * np.abs(np.gradient(mean_h, axis=1)) if mean_h.shape[1] > 1 else 0.0
    spread = sd_h * gen.uniform(0.9, 1.7, size=mean_h.shape) + trend
    low = np.maximum(mean_h - spread, q.min_value)
    high = np.minimum(mean_h + spread * gen.uniform(0.8, 1.3, size=mean_h.shape), q.max_value)
    mean_h = np.clip(mean_h, low, high)
    if summed:
        low = np.where(mean_h == 0, 0.0, low)
    digits = max(q.decimals, 1) + (1 if summed and quantity == "rainfall" else 0)
    if quantity == "vehicle_count":
        raw = np.round(raw)
    raw = np.clip(np.round(raw, digits), q.min_value, q.max_value)
    return _Block(
        specs=specs, quantity=quantity, hourly_mean=mean_h, hourly_min=low, hourly_max=high, raw=raw
    )


def _local_midnights(hours: np.ndarray, zone: ZoneInfo) -> tuple[np.ndarray, np.ndarray]:
    """For each hourly bucket, the index of its local day, and each day's midnight (unix seconds)."""
    midnights: list[int] = []
    index = np.empty(len(hours), dtype=np.int64)
    last_day = None
    for i, seconds in enumerate(hours.tolist()):
        day = dt.datetime.fromtimestamp(seconds, zone).date()
        if day != last_day:
            midnights.append(int(dt.datetime.combine(day, dt.time(0), tzinfo=zone).timestamp()))
            last_day = day
        index[i] = len(midnights) - 1
    return index, np.array(midnights, dtype=np.int64)


# --- The seeder ------------------------------------------------------------------------------------


def seed(*, city: City, rng: random.Random, now: dt.datetime, days: int | None = None) -> None:
    """Seed the demo sensors and their readings into `city` (see the module docstring): `days` of
    hourly rollups, YEAR_DAYS unless given."""
    days = YEAR_DAYS if days is None else days
    gen = np.random.default_rng(rng.getrandbits(64))
    zone = ZoneInfo(city.time_zone)
    orgs, agreements = _organisations(city, now)
    specs = _specs(rng)
    cells = _Cells(city, rng)
    ensure_global_catalogue()  # a flushed database (`seed_demo --reset`) lost migration 0002's rows
    quantities = {q.code: q for q in Quantity.objects.filter(city__isnull=True)}
    quantities.update({q.code: q for q in Quantity.objects.filter(city=city)})

    clock = _Clock(now, city.time_zone, days)
    # A few sensors fell silent in the last days; two were retired a few months ago.
    offline = set(rng.sample([s.code for s in specs if s.kind not in ("camera", "water")], 6))
    old_ones = [
        s.code
        for s in specs
        if s.kind in ("traffic", "noise") and s.code not in offline and s.installed_days_ago is None
    ]
    retired = set(rng.sample(old_ones, 2))
    cutoff: dict[str, int] = {}
    for code in offline:
        cutoff[code] = int(now.timestamp()) - rng.randint(3, 96) * 3600
    for code in retired:
        cutoff[code] = int(now.timestamp()) - rng.randint(90, 200) * 86400

    sensors = []
    for spec in specs:
        commune, lat, lon = cells.point(spec.commune)
        agreement = agreements.get(spec.agreement) if spec.agreement else None
        status = (
            Sensor.Status.RETIRED
            if spec.code in retired
            else Sensor.Status.OFFLINE
            if spec.code in offline
            else Sensor.Status.ACTIVE
        )
        camera = spec.kind == "camera"
        sensors.append(
            Sensor(
                city=city,
                code=spec.code,
                name=spec.name,
                kind=spec.kind,
                lat=lat,
                lon=lon,
                commune=commune,
                owner=orgs.get(spec.owner) or (agreement.organisation if agreement else None),
                agreement=agreement,
                is_public=spec.is_public,
                status=status,
                expected_interval_seconds=86400 if camera else STEP_MINUTES * 60,
                last_seen_at=now - dt.timedelta(minutes=3) if camera else None,
                view_description=spec.view,
                stream_url=spec.stream,
                properties=spec.properties,
                created_at=now - dt.timedelta(days=(spec.installed_days_ago or days + 30) + 1),
            )
        )
    Sensor.objects.bulk_create(sensors)
    by_code = {s.code: s for s in Sensor.objects.filter(city=city, code__in=[x.code for x in specs])}
    through = Sensor.quantities.through
    through.objects.bulk_create(
        through(sensor_id=by_code[s.code].pk, quantity_id=quantities[q].pk)
        for s in specs
        for q in s.quantities
    )

    weather = _Weather(gen, clock)
    response = _catchment(weather, clock)
    # Every hourly bucket of the year, the raw week's included, with its local day.
    all_hours = np.arange(
        int(clock.hours[0]) if len(clock.hours) else int(clock.raw_start.timestamp()),
        int(clock.steps[-1]) + 1,
        3600,
        dtype=np.int64,
    )
    day_index, midnights = _local_midnights(all_hours, zone)
    n_hist = len(clock.hours)
    # Where each raw reading's hour starts among the raw week's readings.
    raw_hour = (clock.steps - int(clock.raw_start.timestamp())) // 3600
    hour_starts = np.flatnonzero(np.r_[True, raw_hour[1:] != raw_hour[:-1]])

    by_quantity: dict[str, list[Spec]] = {}
    for spec in specs:
        for q in spec.quantities:
            by_quantity.setdefault(q, []).append(spec)

    hourly: list[tuple[tuple[int, int], list[np.ndarray]]] = []
    daily: list[tuple[tuple[int, int], list[np.ndarray]]] = []
    raw: list[tuple[tuple[int, int], list[np.ndarray]]] = []
    latest_rows: list[Latest] = []
    last_seen: dict[int, int] = {}

    def add(target, sensor_id: int, quantity_id: int, *columns: np.ndarray) -> None:
        size = len(columns[0])
        ids = [np.full(size, sensor_id, dtype=np.int64), np.full(size, quantity_id, dtype=np.int64)]
        target.append(((sensor_id, quantity_id), [*ids, *columns]))

    for code in sorted(by_quantity):
        group = by_quantity[code]
        q = quantities[code]
        block = _block(group, code, q, clock, weather, gen, response)
        for i, spec in enumerate(group):
            sensor_id = by_code[spec.code].pk
            end = cutoff.get(spec.code)
            # The year before the raw week: synthetic hourly rollups of PER_HOUR readings each.
            keep_h = np.ones(n_hist, dtype=bool) if end is None else clock.hours + 3600 <= end
            if spec.installed_days_ago is not None:
                keep_h &= clock.hours >= int(now.timestamp()) - spec.installed_days_ago * 86400
            h_count = np.full(int(keep_h.sum()), PER_HOUR, dtype=np.int64)
            h_sum = block.hourly_mean[i][keep_h] * PER_HOUR
            h_min, h_max = block.hourly_min[i][keep_h], block.hourly_max[i][keep_h]
            h_bucket = clock.hours[keep_h]
            h_index = np.flatnonzero(keep_h)
            # The raw week: the readings, and their hourly rollups (exactly what ingestion would keep).
            keep_r = np.ones(len(clock.steps), dtype=bool) if end is None else clock.steps <= end
            if keep_r.any():
                times, values = clock.steps[keep_r], block.raw[i][keep_r]
                add(raw, sensor_id, q.pk, times, values)
                starts = hour_starts[hour_starts < keep_r.sum()]
                w_count = np.diff(np.r_[starts, len(values)])
                h_count = np.r_[h_count, w_count]
                h_sum = np.r_[h_sum, np.add.reduceat(values, starts)]
                h_min = np.r_[h_min, np.minimum.reduceat(values, starts)]
                h_max = np.r_[h_max, np.maximum.reduceat(values, starts)]
                h_bucket = np.r_[h_bucket, int(clock.raw_start.timestamp()) + 3600 * raw_hour[starts]]
                h_index = np.r_[h_index, n_hist + raw_hour[starts]]
                last_time, last_value = int(times[-1]), float(values[-1])
            elif len(h_bucket):
                last_time, last_value = (
                    int(h_bucket[-1]) + 3000,
                    round(float(h_sum[-1] / PER_HOUR), q.decimals),
                )
            else:
                continue
            add(hourly, sensor_id, q.pk, h_bucket, h_count, h_sum, h_min, h_max)
            # Daily rollups of those hours (in order, so each local day is one run).
            days_of = day_index[h_index]
            d_starts = np.flatnonzero(np.r_[True, days_of[1:] != days_of[:-1]])
            add(
                daily,
                sensor_id,
                q.pk,
                midnights[days_of[d_starts]],
                np.add.reduceat(h_count, d_starts),
                np.add.reduceat(h_sum, d_starts),
                np.minimum.reduceat(h_min, d_starts),
                np.maximum.reduceat(h_max, d_starts),
            )
            latest_rows.append(
                Latest(
                    sensor_id=sensor_id,
                    quantity_id=q.pk,
                    time=dt.datetime.fromtimestamp(last_time, UTC),
                    value=last_value,
                )
            )
            last_seen[sensor_id] = max(last_seen.get(sensor_id, 0), last_time)

    _write(HourlyRollup._meta.db_table, ROLLUP_COLUMNS, hourly)
    _write(DailyRollup._meta.db_table, ROLLUP_COLUMNS, daily)
    _write(Observation._meta.db_table, RAW_COLUMNS, raw)
    Latest.objects.bulk_create(latest_rows)
    by_pk = {s.pk: s for s in by_code.values()}
    for sensor_id, seconds in last_seen.items():
        by_pk[sensor_id].last_seen_at = dt.datetime.fromtimestamp(seconds, UTC)
    Sensor.objects.bulk_update([by_pk[pk] for pk in last_seen], ["last_seen_at"], batch_size=500)
    catalogue.clear()
