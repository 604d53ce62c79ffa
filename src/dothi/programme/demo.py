"""Demo data of the programme module (the manifest's seeder, seed_order 80, after the layers'): Đà Nẵng's
smart-city programme 2026–2030 (Đề án phát triển đô thị thông minh), approved by the city People's
Committee with a decision reference, with everything the council's pages show:

- the steering team (chair, vice-chair, standing agency, the innovation manager, advisers, secretary),
  the SWOT board, the current-state assessment (scored, with evidence), the risk register;
- stakeholders (government, enterprises, the university, experts, a citizen group, an NGO) with their
  participation mechanisms, and their commitments;
- five goals, each with targets on real indicator codes: U4SSC codes of the catalogue
  (`../shared/data/u4ssc_kpis.csv`, e.g. "EN: EN: AQ: 1C", "EC: ICT: D: 1A") and the platform's own KPIs
  declared in the modules' manifests (`reports.resolved_on_time`, `sensing.data_availability`,
  `appointments.online_share`);
- six projects: the flood-warning pilot and its scale-up, the smart-lighting pilot, citizen reports (the
  platform itself), the IOC and data platform, the air-quality network; each with budget lines by year,
  source and kind (disbursed up to now), phases, milestones whose progress follows `now` (what was due
  is done), partners on the core demo's organisations (VNPT, Viettel, the University of Đà Nẵng) with
  agreements carrying a value — VNPT holds most of the data-platform domain, so the vendor-concentration
  warning has something to say;
- an innovation challenge, training courses and their completions by the demo staff, the ASEAN Smart
  Cities Network and a sister-city cooperation, lessons learned (one shared with other cities).

Rows are written in bulk; the derived values go through the real code: `services.recompute_progress`
rolls milestones up to projects and goals, and `services.programme_transition` walks the plan from draft
to approved, which takes version 1 of the plan (its snapshot). Deterministic for a given `rng`; only
what depends on today (milestones done, money disbursed) moves with `now`. Fast (a few hundred rows).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.utils import timezone

from dothi.core.models import Agreement, City, Organisation
from dothi.identity.models import Membership
from dothi.programme import models as m
from dothi.programme import selectors

D = dt.date
CODE = "dtm-2026-2030"
PERIOD = (2026, 2030)
DECISION = ("1868/QĐ-UBND", D(2026, 5, 12), "Ủy ban nhân dân thành phố Đà Nẵng")
COUNCIL_USERNAME = "hoidong"  # the council member of the core demo, who moves the plan to approval
MILLION = 1_000_000

# --- The steering team: name, position, organisation code, role, username (a staff account) ------------
TEAM = [
    ("Lê Trung Chinh", "Phó Chủ tịch UBND thành phố, Chủ tịch Hội đồng điều phối", None, "chair", None),
    (
        "Bùi Thị Mai",
        "Phó Giám đốc Sở Khoa học và Công nghệ",
        "so-khoa-hoc-cong-nghe",
        "vice_chair",
        "canbo.khcn",
    ),
    (
        "Sở Khoa học và Công nghệ",
        "Cơ quan thường trực của Hội đồng",
        "so-khoa-hoc-cong-nghe",
        "standing_agency",
        None,
    ),
    (
        "Phạm Minh Đức",
        "Quản lý đổi mới sáng tạo (nhạc trưởng) của chương trình",
        None,
        "innovation_manager",
        COUNCIL_USERNAME,
    ),
    ("Lê Quang Huy", "Giám đốc vận hành IOC", "ioc", "member", "vanhanh"),
    (
        "Nguyễn Thị Hồng Nhung",
        "Trưởng phòng Hạ tầng kỹ thuật, Sở Xây dựng",
        "so-xay-dung",
        "member",
        "truongphong",
    ),
    (
        "PGS.TS. Nguyễn Hữu Hiếu",
        "Chuyên gia hệ thống thông tin, Đại học Đà Nẵng",
        "dai-hoc-da-nang",
        "adviser",
        None,
    ),
    ("Võ Thị Thu Hà", "Thư ký Hội đồng", None, "secretary", "quantri"),
]

SWOT = [
    (
        "S",
        "Trung tâm IOC đã vận hành từ 2019, có đội ngũ giám sát 24/7.",
        "The IOC has run since 2019 with a 24/7 monitoring team.",
    ),
    ("S", "Hạ tầng cáp quang phủ 100% phường, xã.", "Fibre reaches every ward and commune."),
    (
        "S",
        "Lãnh đạo thành phố cam kết mạnh mẽ với chuyển đổi số.",
        "Strong commitment of the city's leadership to digital transformation.",
    ),
    (
        "W",
        "Dữ liệu phân tán ở các sở, chưa có danh mục dữ liệu dùng chung.",
        "Data scattered across departments, no shared data catalogue.",
    ),
    ("W", "Thiếu cán bộ chuyên trách về dữ liệu ở cấp phường.", "Too few data officers at ward level."),
    ("W", "Một số hệ thống phụ thuộc vào một nhà cung cấp.", "Some systems depend on a single vendor."),
    (
        "O",
        "Nghị định 269/2025/NĐ-CP tạo khung pháp lý cho đô thị thông minh.",
        "Decree 269/2025 gives smart cities a legal framework.",
    ),
    (
        "O",
        "Mạng lưới đô thị thông minh ASEAN và các đối tác phát triển hỗ trợ kỹ thuật.",
        "The ASEAN Smart Cities Network and development partners offer technical support.",
    ),
    (
        "O",
        "Doanh nghiệp viễn thông sẵn sàng hợp tác theo hình thức PPP.",
        "Telecom operators are ready for public-private partnerships.",
    ),
    ("T", "Bão, lũ ngày càng cực đoan do biến đổi khí hậu.", "Storms and floods grow more extreme."),
    ("T", "Rủi ro an toàn thông tin và tấn công mạng.", "Information-security risks and cyber attacks."),
    ("T", "Ngân sách đầu tư công hạn chế, giải ngân chậm.", "Limited public investment, slow disbursement."),
]

# area, question (vi), question (en), score, evidence
ASSESSMENT = [
    (
        "ict",
        "Mạng truyền dẫn chuyên dùng kết nối các cơ quan?",
        "Is there a dedicated network linking agencies?",
        4,
        "Mạng WAN thành phố kết nối 56 cơ quan cấp sở và 94 phường, xã.",
    ),
    (
        "ict",
        "Trung tâm dữ liệu đạt chuẩn Tier III?",
        "Is the data centre Tier III?",
        3,
        "Trung tâm dữ liệu thành phố đạt Tier II; phương án nâng cấp trong dự án IOC.",
    ),
    (
        "data",
        "Có danh mục dữ liệu dùng chung và dữ liệu mở?",
        "Is there a shared and open data catalogue?",
        2,
        "Danh mục mới có 40 bộ dữ liệu mở; chưa có quy trình cập nhật.",
    ),
    (
        "data",
        "Dữ liệu cảm biến được lưu trữ tập trung?",
        "Is sensor data stored centrally?",
        3,
        "Dữ liệu quan trắc môi trường và mực nước về IOC; camera chưa.",
    ),
    (
        "systems",
        "Các hệ thống trao đổi qua nền tảng tích hợp (LGSP)?",
        "Do systems exchange data through the LGSP?",
        3,
        "18 hệ thống đã kết nối LGSP.",
    ),
    (
        "systems",
        "Hệ thống phản ánh hiện trường dùng chung toàn thành phố?",
        "Is there one city-wide system for citizen reports?",
        4,
        "Ứng dụng Danang Smart City và Góp ý Đà Nẵng.",
    ),
    (
        "legal",
        "Hợp đồng thuê dịch vụ quy định quyền sở hữu dữ liệu của thành phố?",
        "Do service contracts state that the city owns the data?",
        2,
        "Hai trong năm hợp đồng thuê dịch vụ chưa có điều khoản về dữ liệu.",
    ),
    (
        "legal",
        "Có điều khoản chuyển giao khi kết thúc hợp đồng (tránh phụ thuộc nhà cung cấp)?",
        "Do contracts provide for hand-over at their end (no vendor lock-in)?",
        2,
        "Chưa có mẫu điều khoản; cần bổ sung trong hợp đồng mới.",
    ),
    (
        "organisation",
        "Có đầu mối chuyển đổi số tại mỗi sở, ngành?",
        "Does every department have a digital focal point?",
        4,
        "Quyết định phân công cán bộ đầu mối năm 2025.",
    ),
    (
        "organisation",
        "Cơ chế phối hợp liên ngành được vận hành?",
        "Does cross-department coordination work?",
        3,
        "Hội đồng điều phối họp hằng quý.",
    ),
    (
        "people",
        "Cán bộ đầu mối được đào tạo về dữ liệu và an toàn thông tin?",
        "Are focal officers trained in data and security?",
        2,
        "Khoảng 35% cán bộ đầu mối đã qua đào tạo.",
    ),
    (
        "people",
        "Người dân có kỹ năng sử dụng dịch vụ số?",
        "Do residents have the skills to use digital services?",
        3,
        "Tổ công nghệ số cộng đồng hoạt động ở 94/94 phường, xã.",
    ),
]

# code, vi, en, description vi, targets: (kpi code, vi, en, unit, baseline, year, target, deadline, higher)
GOALS = [
    (
        "G1",
        "Chủ động ứng phó thiên tai, ngập lụt",
        "Prepared for disasters and floods",
        "Cảnh báo sớm ngập lụt cho mọi phường ven sông và ven biển.",
        [
            (
                "EC: ICT: D: 1A",
                "Hệ thống thoát nước được giám sát bằng ICT",
                "Drainage monitored by ICT",
                "%",
                12.0,
                2025,
                60.0,
                D(2030, 12, 31),
                True,
            ),
            (
                "SC: SH: SA: 2C",
                "Thiệt hại kinh tế do thiên tai trên GRDP",
                "Disaster economic losses (share of GDP)",
                "%",
                0.8,
                2025,
                0.4,
                D(2030, 12, 31),
                False,
            ),
        ],
    ),
    (
        "G2",
        "Chính quyền phục vụ, lắng nghe người dân",
        "A government that listens and serves",
        "Phản ánh của người dân được xử lý đúng hạn; dịch vụ công trực tuyến toàn trình.",
        [
            (
                "reports.resolved_on_time",
                "Phản ánh được xử lý đúng hạn",
                "Reports resolved by their deadline",
                "%",
                72.0,
                2025,
                92.0,
                D(2028, 12, 31),
                True,
            ),
            (
                "appointments.online_share",
                "Lượt hẹn đặt trực tuyến",
                "Appointments booked online",
                "%",
                20.0,
                2025,
                60.0,
                D(2028, 12, 31),
                True,
            ),
            (
                "EC: ICT: PS: 2A",
                "Dịch vụ công cung cấp trực tuyến",
                "Public services delivered online",
                "services",
                850.0,
                2025,
                1500.0,
                D(2030, 12, 31),
                True,
            ),
        ],
    ),
    (
        "G3",
        "Dữ liệu là tài nguyên dùng chung",
        "Data as a shared resource",
        "Trung tâm IOC và nền tảng dữ liệu kết nối mọi ngành; dữ liệu mở cho người dân và doanh nghiệp.",
        [
            (
                "EC: ICT: PS: 1A",
                "Bộ dữ liệu được mở trên tổng số kiểm kê",
                "Open datasets of those inventoried",
                "%",
                15.0,
                2025,
                60.0,
                D(2030, 12, 31),
                True,
            ),
            (
                "sensing.data_availability",
                "Độ sẵn sàng dữ liệu cảm biến",
                "Sensor data availability",
                "%",
                85.0,
                2025,
                98.0,
                D(2027, 12, 31),
                True,
            ),
        ],
    ),
    (
        "G4",
        "Không khí trong lành",
        "Clean air",
        "Mạng lưới quan trắc không khí phủ khắp đô thị, cảnh báo khi ô nhiễm.",
        [
            (
                "EN: EN: AQ: 1C",
                "Nồng độ bụi PM2.5 trung bình năm",
                "Annual mean PM2.5",
                "µg/m³",
                28.0,
                2025,
                20.0,
                D(2030, 12, 31),
                False,
            )
        ],
    ),
    (
        "G5",
        "Hạ tầng đô thị tiết kiệm năng lượng",
        "Energy-efficient urban infrastructure",
        "Chiếu sáng công cộng thông minh, giám sát hệ thống điện.",
        [
            (
                "EC: ICT: ES: 2A",
                "Hệ thống cấp điện được giám sát bằng ICT",
                "Electricity supply monitored by ICT",
                "%",
                30.0,
                2025,
                70.0,
                D(2030, 12, 31),
                True,
            ),
            (
                "EN: EN: AQ: 2C",
                "Phát thải khí nhà kính bình quân đầu người",
                "GHG emissions per capita",
                "t CO2e",
                2.1,
                2025,
                1.8,
                D(2030, 12, 31),
                False,
            ),
        ],
    ),
]


@dataclass
class ProjectSpec:
    code: str
    title_vi: str
    title_en: str
    kind: str
    domain: str
    agency: str
    investment: str
    starts: dt.date
    ends: dt.date
    solution_vi: str
    solution_en: str
    goals: list[tuple[str, float]]
    # (year, source, kind, planned in million VND)
    budget: list[tuple[int, str, str, int]]
    # (kind, name vi, name en, start, end, [(milestone vi, en, due, weight)])
    phases: list[tuple[str, str, str, dt.date, dt.date, list[tuple[str, str, dt.date, float]]]]
    # (organisation code, role, value in million VND, services, agreement key)
    partners: list[tuple[str, str, int, str, str | None]]
    alternatives: list[dict] = field(default_factory=list)
    published: bool = True
    scaled_from: str | None = None


PROJECTS = [
    ProjectSpec(
        "canh-bao-ngap-thi-diem",
        "Thí điểm cảnh báo sớm ngập lụt đô thị",
        "Urban flood early-warning pilot",
        "pilot",
        "disaster",
        "ban-chi-huy-pctt",
        "state_budget",
        D(2026, 3, 1),
        D(2027, 3, 31),
        "40 trạm đo mực nước và 12 cảm biến ngập đường phố ở 6 phường ven sông Hàn; "
        "cảnh báo CAP tới người dân.",
        "40 water-level stations and 12 street-flood gauges in 6 wards along the Hàn river; CAP warnings.",
        [("G1", 1.0)],
        [
            (2026, "local_budget", "capex", 9_500),
            (2026, "central_budget", "capex", 4_000),
            (2027, "local_budget", "opex", 1_200),
        ],
        [
            (
                "agreement",
                "Ký thỏa thuận dữ liệu với Đại học Đà Nẵng",
                "Data agreement with the university",
                D(2026, 3, 1),
                D(2026, 4, 30),
                [("Ký thỏa thuận nghiên cứu", "Research agreement signed", D(2026, 4, 15), 1.0)],
            ),
            (
                "pilot",
                "Lắp đặt và vận hành thí điểm",
                "Install and run the pilot",
                D(2026, 5, 1),
                D(2027, 3, 31),
                [
                    ("Lắp đặt 40 trạm đo", "40 stations installed", D(2026, 7, 31), 3.0),
                    (
                        "Kết nối IOC và phát cảnh báo CAP",
                        "Connected to the IOC, CAP warnings",
                        D(2026, 9, 30),
                        2.0,
                    ),
                    ("Vận hành qua mùa mưa bão", "Run through the storm season", D(2026, 12, 31), 2.0),
                    ("Đánh giá thí điểm", "Pilot evaluated", D(2027, 3, 31), 1.0),
                ],
            ),
        ],
        [
            (
                "viettel-da-nang",
                "vendor",
                8_600,
                "Cung cấp và lắp đặt trạm đo, truyền dẫn NB-IoT",
                "viettel-flood",
            ),
            ("dai-hoc-da-nang", "research", 1_500, "Mô hình dự báo ngập theo lượng mưa", "university"),
        ],
        [
            {
                "option": "Trạm đo radar không tiếp xúc",
                "pros": "Ít bảo trì",
                "cons": "Giá cao",
                "chosen": True,
            },
            {
                "option": "Cảm biến áp suất chìm",
                "pros": "Rẻ",
                "cons": "Dễ hỏng khi lũ mang bùn",
                "chosen": False,
            },
        ],
    ),
    ProjectSpec(
        "canh-bao-ngap-mo-rong",
        "Mở rộng cảnh báo ngập lụt toàn thành phố",
        "Flood warning city-wide",
        "full",
        "disaster",
        "ban-chi-huy-pctt",
        "ppp",
        D(2027, 4, 1),
        D(2029, 12, 31),
        "Mở rộng lên 200 trạm đo phủ 40 phường, xã; bản đồ ngập theo thời gian thực.",
        "200 stations in 40 wards and communes; a real-time flood map.",
        [("G1", 2.0)],
        [
            (2027, "local_budget", "capex", 22_000),
            (2027, "ppp", "capex", 15_000),
            (2028, "local_budget", "capex", 18_000),
            (2028, "ppp", "opex", 4_000),
            (2029, "local_budget", "opex", 4_500),
        ],
        [
            (
                "funding",
                "Bố trí vốn trung hạn 2026–2030",
                "Medium-term funding",
                D(2027, 1, 1),
                D(2027, 6, 30),
                [("Phê duyệt chủ trương đầu tư", "Investment approved", D(2027, 6, 30), 1.0)],
            ),
            (
                "scale_up",
                "Triển khai mở rộng",
                "Scale-up",
                D(2027, 7, 1),
                D(2029, 12, 31),
                [
                    ("Lắp đặt 100 trạm (giai đoạn 1)", "100 stations (stage 1)", D(2028, 6, 30), 2.0),
                    ("Lắp đặt 100 trạm (giai đoạn 2)", "100 stations (stage 2)", D(2029, 6, 30), 2.0),
                    ("Nghiệm thu", "Accepted", D(2029, 12, 31), 1.0),
                ],
            ),
        ],
        [("viettel-da-nang", "vendor", 30_000, "Trạm đo và vận hành theo hợp đồng PPP", None)],
        published=False,
        scaled_from="canh-bao-ngap-thi-diem",
    ),
    ProjectSpec(
        "chieu-sang-thong-minh",
        "Thí điểm chiếu sáng công cộng thông minh",
        "Smart street-lighting pilot",
        "pilot",
        "lighting",
        "so-xay-dung",
        "enterprise",
        D(2026, 6, 1),
        D(2027, 6, 30),
        "3.000 đèn LED có bộ điều khiển từ xa trên các trục đường chính; điều chỉnh độ sáng theo giờ.",
        "3,000 LED lights with remote control on main roads; dimmed by the hour.",
        [("G5", 1.0)],
        [
            (2026, "enterprise", "capex", 12_000),
            (2026, "local_budget", "capex", 3_000),
            (2027, "local_budget", "opex", 1_800),
        ],
        [
            (
                "policy",
                "Cơ chế khuyến khích đầu tư chiếu sáng tiết kiệm",
                "Incentives for efficient lighting",
                D(2026, 6, 1),
                D(2026, 8, 31),
                [
                    (
                        "Ban hành cơ chế chia sẻ tiết kiệm điện",
                        "Energy-savings sharing adopted",
                        D(2026, 8, 31),
                        1.0,
                    )
                ],
            ),
            (
                "pilot",
                "Lắp đặt và vận hành",
                "Install and run",
                D(2026, 9, 1),
                D(2027, 6, 30),
                [
                    ("Lắp đặt 1.500 đèn", "1,500 lights installed", D(2026, 11, 30), 2.0),
                    ("Lắp đặt 1.500 đèn còn lại", "Remaining 1,500 lights", D(2027, 2, 28), 2.0),
                    ("Đo kiểm tiết kiệm điện năng", "Energy savings measured", D(2027, 6, 30), 1.0),
                ],
            ),
        ],
        [
            ("viettel-da-nang", "vendor", 9_800, "Bộ điều khiển đèn và phần mềm quản lý", None),
            ("dien-luc", "operator", 0, "Cấp điện, đo đếm", None),
        ],
        [
            {
                "option": "Điều khiển qua NB-IoT",
                "pros": "Phủ sóng sẵn",
                "cons": "Phí thuê bao",
                "chosen": True,
            },
            {
                "option": "Mạng LoRaWAN riêng",
                "pros": "Không phí thuê bao",
                "cons": "Phải đầu tư gateway",
                "chosen": False,
            },
        ],
    ),
    ProjectSpec(
        "phan-anh-hien-truong",
        "Nền tảng phản ánh hiện trường và dịch vụ công",
        "Citizen reports and services",
        "full",
        "public_services",
        "so-khoa-hoc-cong-nghe",
        "state_budget",
        D(2026, 1, 15),
        D(2027, 12, 31),
        "Nền tảng dothi: phản ánh hiện trường, đặt lịch hẹn, cảnh báo; mã nguồn mở, dữ liệu thuộc thành phố.",
        "The dothi platform: citizen reports, appointments, warnings; open source, the city owns the data.",
        [("G2", 2.0), ("G3", 0.5)],
        [
            (2026, "local_budget", "capex", 6_500),
            (2026, "local_budget", "opex", 1_200),
            (2027, "local_budget", "opex", 1_500),
        ],
        [
            (
                "pilot",
                "Thí điểm tại 3 phường",
                "Pilot in 3 wards",
                D(2026, 1, 15),
                D(2026, 6, 30),
                [
                    (
                        "Vận hành thí điểm tại Hải Châu, Thanh Khê, Sơn Trà",
                        "Pilot in three wards",
                        D(2026, 6, 30),
                        1.0,
                    )
                ],
            ),
            (
                "scale_up",
                "Toàn thành phố",
                "City-wide",
                D(2026, 7, 1),
                D(2027, 12, 31),
                [
                    ("94 phường, xã sử dụng", "All 94 wards and communes", D(2026, 10, 31), 2.0),
                    (
                        "Kết nối Cổng dịch vụ công quốc gia",
                        "Linked to the national services portal",
                        D(2027, 6, 30),
                        1.0,
                    ),
                    ("Đánh giá hài lòng của người dân", "Satisfaction survey", D(2027, 12, 31), 1.0),
                ],
            ),
        ],
        [("dai-hoc-da-nang", "research", 800, "Khảo sát người dùng, đào tạo", "university")],
    ),
    ProjectSpec(
        "ioc-nen-tang-du-lieu",
        "Nâng cấp IOC và nền tảng dữ liệu dùng chung",
        "IOC upgrade and data platform",
        "full",
        "data_platform",
        "ioc",
        "state_budget",
        D(2026, 2, 1),
        D(2028, 12, 31),
        "Nâng cấp trung tâm điều hành, kho dữ liệu dùng chung, danh mục dữ liệu mở.",
        "Upgrade of the operations centre, a shared data warehouse, the open-data catalogue.",
        [("G3", 2.0), ("G2", 1.0)],
        [
            (2026, "local_budget", "capex", 18_000),
            (2026, "central_budget", "capex", 10_000),
            (2027, "local_budget", "capex", 14_000),
            (2027, "local_budget", "opex", 3_000),
            (2028, "local_budget", "opex", 3_200),
        ],
        [
            (
                "agreement",
                "Hợp đồng thuê dịch vụ hạ tầng",
                "Infrastructure service contract",
                D(2026, 2, 1),
                D(2026, 5, 31),
                [("Ký hợp đồng thuê dịch vụ", "Service contract signed", D(2026, 5, 15), 1.0)],
            ),
            (
                "funding",
                "Vốn đầu tư công 2026–2027",
                "Public investment 2026–2027",
                D(2026, 1, 1),
                D(2027, 12, 31),
                [],
            ),
            (
                "pilot",
                "Triển khai",
                "Roll-out",
                D(2026, 6, 1),
                D(2028, 12, 31),
                [
                    (
                        "Kho dữ liệu dùng chung vận hành",
                        "Shared data warehouse running",
                        D(2026, 12, 15),
                        3.0,
                    ),
                    ("40 bộ dữ liệu mở mới", "40 new open datasets", D(2027, 6, 30), 1.0),
                    ("Kết nối dữ liệu camera", "Camera data connected", D(2028, 6, 30), 2.0),
                ],
            ),
        ],
        [
            ("vnpt-da-nang", "vendor", 38_000, "Hạ tầng IOC, kho dữ liệu, vận hành", "vnpt-ioc"),
            ("viettel-da-nang", "vendor", 6_000, "Đường truyền dự phòng", None),
        ],
    ),
    ProjectSpec(
        "mang-quan-trac-khong-khi",
        "Mạng lưới quan trắc chất lượng không khí",
        "Air-quality monitoring network",
        "full",
        "environment",
        "so-tai-nguyen-moi-truong",
        "state_budget",
        D(2026, 9, 1),
        D(2028, 6, 30),
        "20 trạm đo bụi mịn PM2.5, PM10 tự động; công bố chỉ số AQI hằng giờ.",
        "20 automatic PM2.5 and PM10 stations; the AQI published hourly.",
        [("G4", 1.0)],
        [
            (2026, "local_budget", "capex", 5_000),
            (2027, "oda", "capex", 7_500),
            (2027, "local_budget", "opex", 900),
            (2028, "local_budget", "opex", 900),
        ],
        [
            (
                "pilot",
                "Lắp đặt trạm",
                "Stations installed",
                D(2026, 9, 1),
                D(2027, 6, 30),
                [
                    ("10 trạm đầu tiên", "First 10 stations", D(2026, 11, 30), 1.0),
                    ("10 trạm còn lại", "Remaining 10 stations", D(2027, 6, 30), 1.0),
                ],
            ),
            (
                "scale_up",
                "Công bố AQI và cảnh báo",
                "AQI published, warnings",
                D(2027, 7, 1),
                D(2028, 6, 30),
                [("Cảnh báo ô nhiễm tự động", "Automatic pollution warnings", D(2028, 3, 31), 1.0)],
            ),
        ],
        [("vnpt-da-nang", "vendor", 7_200, "Trạm đo và chia sẻ dữ liệu", "vnpt-air")],
    ),
]

# key, organisation, kind, title, value in million VND, starts, ends
AGREEMENTS = [
    (
        "vnpt-ioc",
        "vnpt-da-nang",
        "service",
        "Hợp đồng thuê dịch vụ hạ tầng IOC và kho dữ liệu",
        38_000,
        D(2026, 5, 15),
        D(2030, 12, 31),
    ),
    (
        "viettel-flood",
        "viettel-da-nang",
        "service",
        "Hợp đồng cung cấp trạm đo mực nước thí điểm",
        8_600,
        D(2026, 5, 1),
        D(2027, 12, 31),
    ),
]
# Agreements of the core demo given a value (key, organisation, title).
VALUED = [
    ("vnpt-air", "vnpt-da-nang", 7_200),
    ("university", "dai-hoc-da-nang", 2_300),
    ("viettel-cameras", "viettel-da-nang", 24_000),
]

RISKS = [
    (
        "Chậm bố trí vốn đối ứng",
        "Counterpart funding late",
        3,
        4,
        "so-khoa-hoc-cong-nghe",
        None,
        "Đăng ký kế hoạch vốn trung hạn sớm; ưu tiên dự án thí điểm.",
        "mitigating",
    ),
    (
        "Phụ thuộc một nhà cung cấp nền tảng IOC",
        "Lock-in to one IOC vendor",
        4,
        4,
        "ioc",
        "ioc-nen-tang-du-lieu",
        "Điều khoản chuyển giao dữ liệu, chuẩn mở NGSI-LD, mã nguồn mở.",
        "mitigating",
    ),
    (
        "Trạm đo hư hỏng trong lũ lớn",
        "Stations damaged in a big flood",
        3,
        3,
        "ban-chi-huy-pctt",
        "canh-bao-ngap-thi-diem",
        "Lắp đặt trên cao trình an toàn, dự phòng 10% thiết bị.",
        "open",
    ),
    (
        "Tấn công mạng vào hệ thống điều hành",
        "Cyber attack on the operations centre",
        2,
        5,
        "cong-an",
        None,
        "Giám sát an toàn thông tin 24/7, diễn tập hằng năm.",
        "open",
    ),
    (
        "Người dân ít sử dụng ứng dụng",
        "Low uptake of the app",
        2,
        3,
        "so-khoa-hoc-cong-nghe",
        "phan-anh-hien-truong",
        "Truyền thông qua tổ công nghệ số cộng đồng.",
        "mitigating",
    ),
    (
        "Tiết kiệm điện thấp hơn dự kiến",
        "Energy savings below plan",
        2,
        2,
        "so-xay-dung",
        "chieu-sang-thong-minh",
        "Đo kiểm độc lập trước khi mở rộng.",
        "open",
    ),
]

# name, organisation code, kind, influence, interest, mechanisms, published, commitments
STAKEHOLDERS = [
    (
        "Sở Khoa học và Công nghệ",
        "so-khoa-hoc-cong-nghe",
        "government",
        5,
        5,
        ["forum", "workshop"],
        True,
        [("Chủ trì xây dựng danh mục dữ liệu mở", D(2026, 6, 1), D(2027, 6, 30), "in_progress", None)],
    ),
    (
        "VNPT Đà Nẵng",
        "vnpt-da-nang",
        "enterprise",
        4,
        5,
        ["association", "workshop"],
        True,
        [
            (
                "Bàn giao toàn bộ dữ liệu khi kết thúc hợp đồng",
                D(2026, 5, 15),
                D(2030, 12, 31),
                "pledged",
                "ioc-nen-tang-du-lieu",
            )
        ],
    ),
    (
        "Viettel Đà Nẵng",
        "viettel-da-nang",
        "enterprise",
        4,
        4,
        ["association"],
        True,
        [
            (
                "Hỗ trợ miễn phí truyền dẫn NB-IoT năm đầu thí điểm",
                D(2026, 4, 1),
                D(2027, 3, 31),
                "fulfilled",
                "canh-bao-ngap-thi-diem",
            )
        ],
    ),
    (
        "Đại học Đà Nẵng",
        "dai-hoc-da-nang",
        "university",
        3,
        5,
        ["advisory", "workshop"],
        True,
        [("Đào tạo 200 cán bộ đầu mối về dữ liệu", D(2026, 3, 1), D(2027, 12, 31), "in_progress", None)],
    ),
    ("Hiệp hội Doanh nghiệp CNTT Đà Nẵng", None, "enterprise", 3, 4, ["association", "forum"], False, []),
    (
        "Câu lạc bộ Sống xanh phường Hải Châu",
        "clb-xanh-hai-chau",
        "citizen_group",
        2,
        4,
        ["consultation", "survey"],
        True,
        [
            (
                "Vận động người dân cài đặt ứng dụng phản ánh",
                D(2026, 2, 1),
                D(2026, 12, 31),
                "fulfilled",
                "phan-anh-hien-truong",
            )
        ],
    ),
    (
        "Trung tâm Hỗ trợ phát triển cộng đồng bền vững",
        "trung-tam-phat-trien-cong-dong",
        "ngo",
        2,
        3,
        ["workshop"],
        False,
        [],
    ),
    ("TS. Trần Văn Nam (chuyên gia đô thị)", None, "expert", 2, 3, ["advisory"], False, []),
]

COURSES = [
    (
        "Quản trị dữ liệu cho cán bộ đầu mối",
        "Data governance for focal officers",
        "dai-hoc-da-nang",
        "Dữ liệu",
        D(2026, 4, 6),
        D(2026, 4, 10),
        40,
        ["canbo", "canbo.tnmt", "canbo.khcn", "canbo.pctt", "canbo.ioc"],
    ),
    (
        "An toàn thông tin cơ bản",
        "Information security basics",
        "vnpt-da-nang",
        "An toàn thông tin",
        D(2026, 8, 17),
        D(2026, 8, 19),
        24,
        ["canbo", "truongphong", "canbo.congan", "canbo.ioc", "vanhanh"],
    ),
    (
        "Vận hành hệ thống cảnh báo sớm",
        "Running the early-warning system",
        "dai-hoc-da-nang",
        "Cảnh báo sớm",
        D(2026, 10, 5),
        D(2026, 10, 6),
        16,
        ["canbo.pctt", "vanhanh", "canbo.haichau", "canbo.thanhkhe"],
    ),
    (
        "Đổi mới sáng tạo mở trong khu vực công",
        "Open innovation in the public sector",
        "dai-hoc-da-nang",
        "Đổi mới sáng tạo",
        D(2027, 3, 8),
        D(2027, 3, 12),
        40,
        [],
    ),
]

LESSONS = [
    (
        "canh-bao-ngap-thi-diem",
        "Đặt trạm đo theo bản đồ ngập lịch sử, không theo ranh giới hành chính",
        "Dữ liệu ngập năm 2022 giúp chọn 40 vị trí có ý nghĩa.",
        "Hai trạm đặt dưới cầu bị mất tín hiệu trong mưa lớn.",
        "Khảo sát sóng di động tại vị trí trước khi lắp; dùng bản đồ ngập lịch sử.",
        ["ngập", "cảm biến", "IoT"],
        True,
    ),
    (
        "phan-anh-hien-truong",
        "Thí điểm ở ba phường trước khi mở rộng",
        "Cán bộ phường góp ý sớm, quy trình chuyển phản ánh được sửa trước khi mở rộng.",
        "Thời hạn xử lý ban đầu quá ngắn với phản ánh cần nhiều đơn vị.",
        "Định tuyến phản ánh bằng dữ liệu, điều chỉnh không cần sửa phần mềm.",
        ["phản ánh", "thí điểm"],
        False,
    ),
    (
        "chieu-sang-thong-minh",
        "Cơ chế chia sẻ tiết kiệm điện thu hút doanh nghiệp đầu tư",
        "Doanh nghiệp bỏ vốn lắp đặt, thu hồi từ phần điện tiết kiệm.",
        "",
        "Đo kiểm độc lập mức tiết kiệm làm căn cứ thanh toán.",
        ["chiếu sáng", "PPP"],
        False,
    ),
]


def _money(million: int) -> int:
    return million * MILLION


def _progress_now(
    rng: random.Random, due: dt.date, start: dt.date, today: dt.date
) -> tuple[int, dt.date | None]:
    """A milestone's progress today: done (a few days before it was due) once its date has passed,
    under way between its phase's start and its date, not begun before."""
    if due < today:
        return 100, due - dt.timedelta(days=rng.randint(0, 10))
    if start <= today:
        span = max((due - start).days, 1)
        share = (today - start).days / span
        return max(5, min(95, int(share * 100) + rng.randint(-10, 10))), None
    return 0, None


def _status(spec: ProjectSpec, milestones_done: bool, today: dt.date) -> str:
    if milestones_done and spec.ends < today:
        return m.Project.Status.COMPLETED
    if spec.starts <= today:
        return m.Project.Status.IN_PROGRESS
    return m.Project.Status.APPROVED


def seed(*, city: City, rng: random.Random, now: dt.datetime) -> None:
    from dothi.programme import services

    today = timezone.localtime(now).date()
    orgs = {o.code: o for o in Organisation.objects.filter(city=city)}
    users = {u.username: u for u in get_user_model().objects.filter(memberships__city=city).distinct()}
    council = users[COUNCIL_USERNAME]
    agency_of = dict(
        Membership.objects.filter(city=city, organisation__isnull=False).values_list(
            "user__username", "organisation"
        )
    )

    programme = m.Programme.objects.create(
        city=city,
        code=CODE,
        title_vi="Đề án xây dựng và phát triển đô thị thông minh thành phố Đà Nẵng giai đoạn 2026–2030",
        title_en="Da Nang smart-city master plan 2026–2030",
        vision_vi="Đà Nẵng là đô thị thông minh, đáng sống, chủ động ứng phó thiên tai; chính quyền "
        "lắng nghe và phục vụ người dân bằng dữ liệu.",
        vision_en="A smart, liveable Da Nang, prepared for disasters, with a government that listens "
        "and serves its people with data.",
        principles_vi="Lấy người dân làm trung tâm; dữ liệu thuộc về thành phố; thí điểm trước, mở rộng sau; "
        "không phụ thuộc một nhà cung cấp; ưu tiên chuẩn mở và mã nguồn mở.",
        principles_en="People first; the city owns its data; pilot before scaling up; no dependence on "
        "a single vendor; open standards and open source first.",
        scope_vi="Toàn bộ 94 phường, xã của thành phố; các lĩnh vực: phòng chống thiên tai, chính quyền "
        "số, dữ liệu, môi trường, hạ tầng.",
        scope_en="All 94 wards and communes; disaster prevention, digital government, data, environment, "
        "infrastructure.",
        period_start=PERIOD[0],
        period_end=PERIOD[1],
        is_published=True,
    )

    # The team, SWOT and assessment.
    m.TeamMember.objects.bulk_create(
        m.TeamMember(
            city=city,
            programme=programme,
            name=name,
            position=position,
            organisation=orgs.get(org) if org else None,
            role=role,
            user=users.get(username) if username else None,
            order=(i + 1) * 10,
        )
        for i, (name, position, org, role, username) in enumerate(TEAM)
    )
    m.SwotItem.objects.bulk_create(
        m.SwotItem(city=city, programme=programme, quadrant=q, text_vi=vi, text_en=en, order=(i + 1) * 10)
        for i, (q, vi, en) in enumerate(SWOT)
    )
    assessed_at = dt.datetime(2026, 2, 20, 2, 0, tzinfo=dt.UTC)
    m.AssessmentItem.objects.bulk_create(
        m.AssessmentItem(
            city=city,
            programme=programme,
            area=area,
            question_vi=vi,
            question_en=en,
            score=score,
            evidence=evidence,
            assessed_by=users.get("canbo.khcn"),
            assessed_at=assessed_at,
            order=(i + 1) * 10,
        )
        for i, (area, vi, en, score, evidence) in enumerate(ASSESSMENT)
    )

    # Goals and their targets.
    goals = {}
    for i, (code, vi, en, desc, _targets) in enumerate(GOALS):
        goals[code] = m.Goal(
            city=city,
            programme=programme,
            code=code,
            title_vi=vi,
            title_en=en,
            description_vi=desc,
            order=(i + 1) * 10,
        )
    m.Goal.objects.bulk_create(goals.values())
    m.Target.objects.bulk_create(
        m.Target(
            city=city,
            goal=goals[code],
            kpi_code=kpi,
            label_vi=vi,
            label_en=en,
            unit=unit,
            baseline_value=base,
            baseline_year=year,
            target_value=target,
            deadline=deadline,
            higher_is_better=higher,
        )
        for code, _vi, _en, _desc, targets in GOALS
        for kpi, vi, en, unit, base, year, target, deadline, higher in targets
    )

    # Agreements with a value: new service contracts, and the core demo's agreements valued.
    agreements: dict[str, Agreement] = {}
    for key, org, kind, title, value, starts, ends in AGREEMENTS:
        agreements[key] = Agreement.objects.create(
            city=city,
            organisation=orgs[org],
            kind=kind,
            title=title,
            value_vnd=_money(value),
            starts_on=starts,
            ends_on=ends,
            scope=title,
        )
    for key, org, value in VALUED:
        found = (
            Agreement.objects.filter(city=city, organisation=orgs[org])
            .exclude(pk__in=[a.pk for a in agreements.values()])
            .order_by("pk")
            .first()
        )
        if found is not None:
            found.value_vnd = _money(value)
            found.save(update_fields=["value_vnd"])
            agreements[key] = found

    # Projects with their contributions, budget, phases, milestones and partners.
    projects: dict[str, m.Project] = {}
    for spec in PROJECTS:
        project = m.Project.objects.create(
            city=city,
            programme=programme,
            code=spec.code,
            title_vi=spec.title_vi,
            title_en=spec.title_en,
            kind=spec.kind,
            domain=spec.domain,
            solution_vi=spec.solution_vi,
            solution_en=spec.solution_en,
            alternatives=spec.alternatives,
            agency=orgs[spec.agency],
            investment_model=spec.investment,
            starts_on=spec.starts,
            ends_on=spec.ends,
            scaled_from=projects.get(spec.scaled_from or ""),
            is_published=spec.published,
        )
        projects[spec.code] = project
        m.GoalProject.objects.bulk_create(
            m.GoalProject(goal=goals[g], project=project, weight=w) for g, w in spec.goals
        )
        m.BudgetLine.objects.bulk_create(
            m.BudgetLine(
                city=city,
                project=project,
                year=year,
                source=source,
                kind=kind,
                planned_vnd=_money(planned),
                disbursed_vnd=_disbursed(rng, planned, year, today),
            )
            for year, source, kind, planned in spec.budget
        )
        all_done = True
        for order, (kind, vi, en, start, end, milestones) in enumerate(spec.phases, start=1):
            phase = m.Phase.objects.create(
                city=city,
                project=project,
                name_vi=vi,
                name_en=en,
                kind=kind,
                starts_on=start,
                ends_on=end,
                order=order * 10,
            )
            rows = []
            for title_vi, title_en, due, weight in milestones:
                progress, done_on = _progress_now(rng, due, start, today)
                all_done = all_done and done_on is not None
                rows.append(
                    m.Milestone(
                        city=city,
                        project=project,
                        phase=phase,
                        title_vi=title_vi,
                        title_en=title_en,
                        due_on=due,
                        done_on=done_on,
                        weight=weight,
                        progress=progress,
                    )
                )
            m.Milestone.objects.bulk_create(rows)
        project.status = _status(spec, all_done, today)
        project.save(update_fields=["status"])
        m.ProjectPartner.objects.bulk_create(
            m.ProjectPartner(
                city=city,
                project=project,
                organisation=orgs[org],
                role=role,
                value_vnd=_money(value),
                services=services_text,
                agreement=agreements.get(key) if key else None,
            )
            for org, role, value, services_text, key in spec.partners
        )

    # Risks, stakeholders and their commitments.
    m.Risk.objects.bulk_create(
        m.Risk(
            city=city,
            programme=programme,
            project=projects.get(project) if project else None,
            title_vi=vi,
            title_en=en,
            likelihood=likelihood,
            impact=impact,
            owner=orgs.get(owner),
            mitigation=mitigation,
            status=status,
        )
        for vi, en, likelihood, impact, owner, project, mitigation, status in RISKS
    )
    for name, org, kind, influence, interest, mechanisms, published, commitments in STAKEHOLDERS:
        stakeholder = m.Stakeholder.objects.create(
            city=city,
            programme=programme,
            organisation=orgs.get(org) if org else None,
            name=name,
            kind=kind,
            influence=influence,
            interest=interest,
            mechanisms=mechanisms,
            is_published=published,
        )
        m.Commitment.objects.bulk_create(
            m.Commitment(
                city=city,
                stakeholder=stakeholder,
                project=projects.get(project) if project else None,
                text_vi=text,
                made_on=made,
                due_on=due,
                status=status,
            )
            for text, made, due, status, project in commitments
        )

    # The innovation lab's challenge.
    challenge = m.Challenge.objects.create(
        city=city,
        programme=programme,
        code="giam-ngap-cuc-bo",
        title_vi="Giải pháp cảnh báo ngập cục bộ cho từng tuyến phố",
        title_en="Street-by-street flash-flood warnings",
        description_vi="Thành phố tìm giải pháp dự báo ngập cục bộ theo lượng mưa cho từng tuyến phố, "
        "dùng dữ liệu trạm đo mực nước và bản đồ thoát nước; người dân, doanh nghiệp khởi nghiệp và nhà "
        "nghiên cứu cùng tham gia.",
        description_en="The city seeks street-level flash-flood forecasts from rainfall, using the "
        "water-level stations and the drainage map; residents, start-ups and researchers are welcome.",
        opens_on=D(2026, 10, 1),
        closes_on=D(2027, 1, 31),
        status=m.Challenge.Status.OPEN,
    )
    challenge.projects.set([projects["canh-bao-ngap-thi-diem"], projects["canh-bao-ngap-mo-rong"]])

    # Capacity building: courses and who completed them.
    for vi, en, provider, topic, starts, ends, hours, attendees in COURSES:
        course = m.TrainingCourse.objects.create(
            city=city,
            programme=programme,
            title_vi=vi,
            title_en=en,
            provider=orgs.get(provider),
            topic=topic,
            starts_on=starts,
            ends_on=ends,
            hours=hours,
        )
        if ends < today:
            m.TrainingCompletion.objects.bulk_create(
                m.TrainingCompletion(
                    city=city,
                    course=course,
                    user=users[username],
                    completed_on=ends,
                    organisation_id=agency_of.get(username),
                )
                for username in attendees
                if username in users
            )

    # International cooperation.
    m.Cooperation.objects.bulk_create(
        [
            m.Cooperation(
                city=city,
                programme=programme,
                kind=m.Cooperation.Kind.ASEAN,
                partner="Mạng lưới đô thị thông minh ASEAN (ASCN)",
                title_vi="Thành viên Mạng lưới đô thị thông minh ASEAN",
                title_en="Member of the ASEAN Smart Cities Network",
                since=D(2018, 4, 28),
                description="Đà Nẵng là một trong 26 thành phố thí điểm đầu tiên của ASCN; chia sẻ kinh "
                "nghiệm về cảnh báo thiên tai và giao thông.",
            ),
            m.Cooperation(
                city=city,
                programme=programme,
                kind=m.Cooperation.Kind.BILATERAL,
                partner="Thành phố Yokohama (Nhật Bản)",
                title_vi="Hợp tác kỹ thuật về đô thị bền vững",
                title_en="Technical cooperation on sustainable urban development",
                since=D(2013, 6, 1),
                description="Chia sẻ kinh nghiệm quản lý thoát nước và chất thải.",
            ),
        ]
    )

    # Lessons learned (one shared with the other cities of the platform).
    lessons = [
        m.Lesson(
            city=city,
            project=projects[code],
            title=title,
            worked=worked,
            did_not_work=not_work,
            good_practice=practice,
            tags=tags,
            is_shared=shared,
            created_by=council,
        )
        for code, title, worked, not_work, practice, tags, shared in LESSONS
    ]
    for lesson in lessons:
        lesson.search_key = selectors.lesson_key(lesson)
    m.Lesson.objects.bulk_create(lessons)

    # Derived values through the real code: progress rolled up, the plan approved (version 1).
    for project in projects.values():
        services.recompute_progress(project)
    number, date, authority = DECISION
    for status in ("consultation", "submitted"):
        services.programme_transition(actor=council, programme=programme, status=status)
    services.programme_transition(
        actor=council,
        programme=programme,
        status="approved",
        decision_number=number,
        decision_date=date,
        decision_authority=authority,
    )


def _disbursed(rng: random.Random, planned_million: int, year: int, today: dt.date) -> int:
    """Money paid out of a budget line so far: most of a past year's, part of this year's, none ahead."""
    if year < today.year:
        share = rng.uniform(0.82, 1.0)
    elif year == today.year:
        share = rng.uniform(0.45, 0.8) * (today.timetuple().tm_yday / 366)
    else:
        share = 0.0
    return int(planned_million * share) * MILLION
