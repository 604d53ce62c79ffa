"""Demo data of the reports module (the manifest's seeder): Đà Nẵng's report categories with their
questions, deadlines and routing to the demo agencies, dispatch settings, response templates, a demo
Open311 app, and about 400 reports of the last 90 days spread over the city's communes, in every
status a real queue holds (new, in progress, waiting for information, overdue and escalated, resolved
with a response and evidence, closed, rejected, duplicates, reopened), with a few ratings.

The reports are written in bulk rather than through `services.report_submit` and
`services.report_transition`: the seeder must run in a few seconds and place each step in the past.
It keeps the invariants the services guarantee: every resolved (or later closed) report has a public
response and an evidence image; confidential categories give confidential reports; timestamps, the
timeline and the due dates agree; duplicates point at an earlier report. Deterministic for a given
`rng` and `now`: only the dates move with `now`.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import random
from dataclasses import dataclass, field
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from shapely.geometry import Point, shape

from dothi.core import geo
from dothi.core.calendar import calendar_for
from dothi.core.models import City, CommuneArea, Feedback, Organisation
from dothi.reports.models import (
    Category,
    CategoryAttribute,
    Channel,
    Dispatch,
    Follower,
    Open311Key,
    Priority,
    Report,
    ReportEvent,
    ReportPhoto,
    ResponseTemplate,
    RoutingRule,
    Status,
    photo_path,
)

REPORT_COUNT = 400
DAYS = 90
CONFIRM_WINDOW_DAYS = 14  # as services.CONFIRM_WINDOW_DAYS: resolved reports close by themselves after it
DEMO_APP_NAME = "Ứng dụng Đà Nẵng Xanh (demo)"
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

# The core city's urban wards: most reports come from where most people live.
URBAN_WARDS = {
    "Phường Hải Châu", "Phường Hòa Cường", "Phường Thanh Khê", "Phường An Khê", "Phường An Hải",
    "Phường Sơn Trà", "Phường Ngũ Hành Sơn", "Phường Hòa Khánh", "Phường Hải Vân", "Phường Liên Chiểu",
    "Phường Cẩm Lệ", "Phường Hòa Xuân",
}


# Recurring problems in the same place (a low street that floods at every downpour, a vacant lot
# used as a dump): a quarter of the reports come from these, which is also what makes some groups of
# the open dataset (category × commune × month) large enough to publish.
HOT_SPOTS = (
    ("flooding", "Phường Hải Châu"),
    ("flooding", "Phường Hòa Xuân"),
    ("illegal-dumping", "Phường Liên Chiểu"),
    ("pavement-encroachment", "Phường Hải Châu"),
    ("pothole", "Phường Thanh Khê"),
)
HOT_SPOT_SHARE = 0.25


def _choice_values(*pairs: tuple[str, str, str]) -> list[dict[str, str]]:
    return [{"key": key, "name_vi": vi, "name_en": en} for key, vi, en in pairs]


YES_NO = _choice_values(("yes", "Có", "Yes"), ("no", "Không", "No"))


@dataclass(frozen=True)
class Question:
    code: str
    label_vi: str
    label_en: str
    datatype: str
    required: bool = False
    values: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class CategorySpec:
    code: str
    name_vi: str
    name_en: str
    description_vi: str
    description_en: str
    group: str
    agency: str  # the default agency's code
    weight: int  # how often it is reported, relative to the others
    icon: str = ""
    keywords: str = ""
    deadline: int = 3
    confidential: bool = False
    # commune name -> agency code: the ward committees handle some categories in their own wards
    commune_agencies: tuple[tuple[str, str], ...] = ()
    questions: tuple[Question, ...] = ()
    descriptions: tuple[str, ...] = ()
    priority: int = Priority.NORMAL


WARD_COMMITTEES = (
    ("Phường Hải Châu", "phuong-hai-chau"),
    ("Phường Thanh Khê", "phuong-thanh-khe"),
    ("Phường Sơn Trà", "phuong-son-tra"),
)

CATEGORIES: tuple[CategorySpec, ...] = (
    CategorySpec(
        "pothole", "Ổ gà, hư hỏng mặt đường", "Pothole or damaged road",
        "Ổ gà, sụt lún, nứt vỡ mặt đường, nắp hố ga hư hỏng.",
        "Potholes, subsidence, cracked road surface, broken manhole covers.",
        "Giao thông", "so-giao-thong-van-tai", 16, icon="cone-striped", keywords="ổ gà, mặt đường, hố ga",
        questions=(
            Question("size", "Kích thước ổ gà", "Size of the pothole", CategoryAttribute.Datatype.SINGLE,
                     True,
                     _choice_values(("small", "Nhỏ (dưới 30 cm)", "Small (under 30 cm)"),
                                    ("medium", "Vừa (30–100 cm)", "Medium (30–100 cm)"),
                                    ("large", "Lớn (trên 1 m)", "Large (over 1 m)"))),
        ),
        descriptions=(
            "Ổ gà lớn giữa làn đường, xe máy phải lách qua rất nguy hiểm.",
            "Mặt đường bị sụt lún sau mưa, nước đọng che mất ổ gà.",
            "Nắp hố ga bị vỡ, bánh xe có thể sụp xuống.",
            "Đường nứt toác một đoạn dài khoảng 10 mét.",
        ),
    ),
    CategorySpec(
        "flooding", "Ngập úng", "Flooding",
        "Đường ngập nước, cống thoát nước bị tắc, nước tràn vào nhà dân.",
        "Flooded streets, blocked drains, water entering homes.",
        "Thoát nước", "so-xay-dung", 10, icon="water", keywords="ngập, cống, thoát nước", deadline=1,
        priority=Priority.HIGH,
        questions=(
            Question("depth_cm", "Độ sâu nước ngập (cm)", "Depth of the water (cm)",
                     CategoryAttribute.Datatype.NUMBER, True),
            Question("passable", "Xe máy còn đi qua được không?", "Can motorbikes still get through?",
                     CategoryAttribute.Datatype.SINGLE, False, YES_NO),
        ),
        descriptions=(
            "Mưa chưa đến một giờ mà đường đã ngập sâu, nước tràn lên vỉa hè.",
            "Miệng cống bị rác bịt kín, nước không thoát được.",
            "Nước ngập vào nhà dân trong kiệt, cần nạo vét cống gấp.",
            "Đoạn đường trũng ngập mỗi khi triều cường kết hợp mưa lớn.",
        ),
    ),
    CategorySpec(
        "street-light", "Đèn đường hỏng", "Broken street light",
        "Đèn chiếu sáng công cộng không sáng, chập chờn hoặc sáng cả ngày.",
        "Public lighting that is off, flickering or on all day.",
        "Chiếu sáng", "dien-luc", 10, icon="lightbulb", keywords="đèn đường, chiếu sáng",
        questions=(
            Question("pole_number", "Số hiệu cột đèn (nếu thấy)", "Number on the pole (if visible)",
                     CategoryAttribute.Datatype.STRING, False),
        ),
        descriptions=(
            "Cả dãy đèn đường tắt từ ba hôm nay, buổi tối rất tối.",
            "Đèn đường chập chờn, lúc sáng lúc tắt.",
            "Đèn sáng cả ban ngày, lãng phí điện.",
            "Cột đèn bị nghiêng sau va chạm, có nguy cơ đổ.",
        ),
    ),
    CategorySpec(
        "illegal-dumping", "Xả rác trái phép", "Illegal dumping",
        "Đổ rác, xà bần, chất thải không đúng nơi quy định.",
        "Rubbish, rubble or waste dumped where it is not allowed.",
        "Môi trường", "moi-truong-do-thi", 14, icon="trash", keywords="rác, xà bần, chất thải",
        questions=(
            Question("waste_type", "Loại rác", "Kind of waste", CategoryAttribute.Datatype.MULTI, True,
                     _choice_values(("household", "Rác sinh hoạt", "Household rubbish"),
                                    ("construction", "Xà bần, vật liệu xây dựng", "Construction rubble"),
                                    ("hazardous", "Chất thải nguy hại", "Hazardous waste"))),
        ),
        descriptions=(
            "Bãi đất trống bị đổ xà bần thành đống lớn.",
            "Có người đổ rác sinh hoạt ra bờ sông vào ban đêm.",
            "Rác tràn ra khỏi điểm tập kết, bốc mùi hôi thối.",
            "Phát hiện thùng chứa dầu thải bị vứt bên đường.",
        ),
    ),
    CategorySpec(
        "pavement-encroachment", "Lấn chiếm vỉa hè", "Pavement encroachment",
        "Buôn bán, để xe, vật liệu chiếm vỉa hè và lòng đường.",
        "Stalls, parking or materials occupying the pavement or the road.",
        "Trật tự đô thị", "so-giao-thong-van-tai", 14, icon="shop", keywords="vỉa hè, lấn chiếm, buôn bán",
        commune_agencies=WARD_COMMITTEES,
        questions=(
            Question("kind", "Hình thức lấn chiếm", "What occupies the pavement",
                     CategoryAttribute.Datatype.SINGLE, True,
                     _choice_values(("stall", "Buôn bán", "Stalls"), ("parking", "Để xe", "Parking"),
                                    ("materials", "Vật liệu xây dựng", "Building materials"))),
        ),
        descriptions=(
            "Quán ăn bày bàn ghế kín vỉa hè, người đi bộ phải xuống lòng đường.",
            "Ô tô đỗ trên vỉa hè cả ngày trước cửa hàng.",
            "Vật liệu xây dựng để tràn ra vỉa hè nhiều ngày.",
            "Hàng rong chiếm hết lối đi trước cổng trường.",
        ),
    ),
    CategorySpec(
        "construction-violation", "Vi phạm trật tự xây dựng", "Construction violation",
        "Xây dựng không phép, sai phép, gây mất an toàn cho xung quanh.",
        "Building without or against a permit, or unsafely for the neighbours.",
        "Trật tự đô thị", "so-xay-dung", 7, icon="building", keywords="xây dựng, không phép",
        questions=(
            Question("permit_sign", "Có biển báo giấy phép xây dựng không?",
                     "Is a building permit sign shown?", CategoryAttribute.Datatype.SINGLE, False,
                     _choice_values(("yes", "Có", "Yes"), ("no", "Không", "No"),
                                    ("unknown", "Không rõ", "Not sure"))),
        ),
        descriptions=(
            "Công trình đang xây thêm tầng, không thấy biển giấy phép.",
            "Công trình không che chắn, vật liệu rơi xuống đường.",
            "Nhà bên cạnh đào móng làm nứt tường nhà tôi.",
        ),
    ),
    CategorySpec(
        "noise", "Tiếng ồn", "Noise",
        "Tiếng ồn kéo dài từ karaoke, công trình, cơ sở sản xuất.",
        "Lasting noise from karaoke, building sites or workshops.",
        "Môi trường", "so-tai-nguyen-moi-truong", 8, icon="volume-up", keywords="ồn, karaoke",
        questions=(
            Question("source", "Nguồn gây ồn", "Source of the noise", CategoryAttribute.Datatype.SINGLE, True,
                     _choice_values(("karaoke", "Karaoke", "Karaoke"),
                                    ("construction", "Công trình xây dựng", "Building site"),
                                    ("workshop", "Cơ sở sản xuất", "Workshop"),
                                    ("other", "Khác", "Other"))),
            Question("when", "Thời điểm gây ồn", "When the noise happens",
                     CategoryAttribute.Datatype.DATETIME, False),
        ),
        descriptions=(
            "Hát karaoke bằng loa kẹo kéo đến gần nửa đêm.",
            "Công trình đổ bê tông lúc 1 giờ sáng, cả khu không ngủ được.",
            "Xưởng cơ khí hoạt động ồn ào suốt cả ngày chủ nhật.",
        ),
    ),
    CategorySpec(
        "security", "An ninh trật tự", "Security and public order",
        "Hành vi gây mất an ninh trật tự. Phản ánh được bảo mật: không hiển thị công khai.",
        "Threats to security and public order. Confidential: never shown publicly.",
        "An ninh", "cong-an", 4, icon="shield-lock", keywords="an ninh, trật tự, công an",
        confidential=True, priority=Priority.HIGH,
        descriptions=(
            "Nhóm thanh niên tụ tập đua xe, gây ồn ào vào ban đêm.",
            "Có dấu hiệu đánh bạc tại quán nước đầu hẻm.",
            "Người lạ thường xuyên lảng vảng, nghi trộm cắp xe máy.",
        ),
    ),
    CategorySpec(
        "fallen-tree", "Cây xanh gãy đổ", "Fallen or dangerous tree",
        "Cây xanh gãy, đổ, nghiêng nguy hiểm hoặc cần cắt tỉa.",
        "Trees fallen, broken, leaning dangerously or needing pruning.",
        "Cây xanh", "moi-truong-do-thi", 6, icon="tree", keywords="cây xanh, gãy đổ", priority=Priority.HIGH,
        questions=(
            Question("blocking", "Cây có chắn đường không?", "Is the tree blocking the road?",
                     CategoryAttribute.Datatype.SINGLE, True, YES_NO),
        ),
        descriptions=(
            "Cây gãy nhánh lớn sau cơn giông, đè lên dây điện.",
            "Cây nghiêng hẳn về phía đường, có nguy cơ đổ.",
            "Cành cây che khuất đèn tín hiệu giao thông.",
        ),
    ),
    CategorySpec(
        "water-supply", "Cấp nước", "Water supply",
        "Mất nước, rò rỉ đường ống, nước sinh hoạt có màu hoặc mùi lạ.",
        "No water, leaking pipes, tap water with an odd colour or smell.",
        "Cấp nước", "cap-nuoc", 7, icon="droplet", keywords="nước sạch, đường ống",
        questions=(
            Question("issue", "Vấn đề gặp phải", "What is wrong", CategoryAttribute.Datatype.SINGLE, True,
                     _choice_values(("no_water", "Mất nước", "No water"),
                                    ("leak", "Rò rỉ đường ống", "Leaking pipe"),
                                    ("quality", "Nước có màu, mùi lạ", "Odd colour or smell"))),
        ),
        descriptions=(
            "Đường ống vỡ, nước chảy tràn ra đường từ sáng.",
            "Khu dân cư mất nước hai ngày chưa có thông báo.",
            "Nước máy có màu vàng đục và mùi clo nồng.",
        ),
    ),
)

TEMPLATES = (
    ("Đã tiếp nhận", "Acknowledged",
     "Cơ quan đã tiếp nhận phản ánh và đang phân công cán bộ kiểm tra hiện trường.",
     "We have received your report and are sending an officer to check the site."),
    ("Đã xử lý xong", "Resolved",
     "Cơ quan đã kiểm tra và xử lý xong vấn đề. Hình ảnh sau xử lý được đính kèm. "
     "Cảm ơn anh/chị đã phản ánh.",
     "We checked the site and fixed the problem; a photo after the work is attached. "
     "Thank you for reporting."),
    ("Cần thêm thông tin", "More information needed",
     "Đề nghị anh/chị cung cấp thêm vị trí cụ thể (số nhà, kiệt/hẻm) hoặc hình ảnh để cơ quan xác minh.",
     "Please tell us the exact place (house number, lane) or send a photo so we can check."),
    ("Không thuộc thẩm quyền", "Not our responsibility",
     "Nội dung phản ánh không thuộc thẩm quyền của cơ quan; đã chuyển đến đơn vị có thẩm quyền.",
     "This is not our responsibility; we have passed it to the agency that handles it."),
    ("Đã xử phạt vi phạm", "Violation fined",
     "Lực lượng chức năng đã kiểm tra, lập biên bản và xử phạt hành vi vi phạm theo quy định.",
     "Officers inspected the site, recorded the violation and fined it as the law provides."),
)

RESOLUTIONS = {
    "pothole": "Đơn vị quản lý đường đã vá ổ gà và hoàn trả mặt đường.",
    "flooding": "Đã nạo vét cống, khơi thông dòng chảy; nước đã rút.",
    "street-light": "Đã thay bóng đèn và kiểm tra lại tủ điện chiếu sáng.",
    "illegal-dumping": "Đã thu gom toàn bộ rác, xà bần và tăng cường kiểm tra khu vực.",
    "pavement-encroachment": "Đã yêu cầu các hộ kinh doanh trả lại vỉa hè và lập biên bản vi phạm.",
    "construction-violation": "Đã kiểm tra công trình, lập biên bản và đình chỉ thi công phần sai phép.",
    "noise": "Đã kiểm tra, nhắc nhở và xử phạt cơ sở gây ồn vượt quy chuẩn.",
    "security": "Công an phường đã xác minh và xử lý theo quy định.",
    "fallen-tree": "Đã cắt bỏ cây gãy, dọn sạch mặt đường.",
    "water-supply": "Đã sửa chữa đường ống; việc cấp nước đã bình thường trở lại.",
}
REJECTIONS = (
    "Nội dung phản ánh không chính xác: kiểm tra hiện trường không phát hiện vấn đề.",
    "Phản ánh không đủ thông tin để xác minh, người phản ánh không phản hồi.",
)
QUESTIONS_ASKED = (
    "Đề nghị anh/chị cho biết số nhà hoặc tên kiệt/hẻm cụ thể.",
    "Anh/chị vui lòng gửi thêm hình ảnh hiện trường.",
)
REOPEN_TEXTS = ("Vấn đề vẫn chưa được khắc phục, ổ gà lại xuất hiện sau mưa.", "Chưa xử lý triệt để.")
CALLER_NAMES = ("Nguyễn Thị Lài", "Trần Văn Tư", "Lê Thị Sương", "Phạm Văn Tâm", "Hoàng Thị Mận", "Võ Văn Ba")
APP_USERS = ("Nguyễn Hải Đăng", "Trần Mỹ Linh", "Lê Quốc Việt", "Đỗ Thu Trang")


# --- The data the reports hang on ----------------------------------------------------------------


def _evidence_png(colour: tuple[int, int, int]) -> bytes:
    """A small generated picture standing in for a photo of the finished work."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (160, 120), colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((8, 8, 151, 111), outline=(255, 255, 255), width=3)
    draw.line((45, 62, 70, 88, 118, 34), fill=(255, 255, 255), width=9)  # a tick: done
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _seed_categories(city: City, orgs: dict[str, Organisation], communes_by_name: dict[str, str]):
    categories = Category.objects.bulk_create(
        Category(
            city=city, code=spec.code, name_vi=spec.name_vi, name_en=spec.name_en,
            description_vi=spec.description_vi, description_en=spec.description_en, group=spec.group,
            keywords=spec.keywords, icon=spec.icon, confidential=spec.confidential,
            deadline_working_days=spec.deadline, order=10 * (index + 1),
        )
        for index, spec in enumerate(CATEGORIES)
    )
    by_code = {c.code: c for c in categories}
    CategoryAttribute.objects.bulk_create(
        CategoryAttribute(
            category=by_code[spec.code], code=q.code, label_vi=q.label_vi, label_en=q.label_en,
            datatype=q.datatype, required=q.required, values=q.values, order=10 * (n + 1),
        )
        for spec in CATEGORIES
        for n, q in enumerate(spec.questions)
    )
    rules = []
    for spec in CATEGORIES:
        rules.append(RoutingRule(city=city, category=by_code[spec.code], agency=orgs[spec.agency]))
        for commune_name, agency_code in spec.commune_agencies:
            if commune_name in communes_by_name and agency_code in orgs:
                rules.append(RoutingRule(city=city, category=by_code[spec.code],
                                         commune_id=communes_by_name[commune_name], agency=orgs[agency_code]))
    RoutingRule.objects.bulk_create(rules)
    return by_code


def _seed_agency_setup(city: City, orgs: dict[str, Organisation]) -> None:
    handling = {spec.agency for spec in CATEGORIES}
    handling |= {agency for spec in CATEGORIES for _commune, agency in spec.commune_agencies}
    handling.add("ioc")  # the control centre runs the 1022 hotline and takes what nobody else does
    dispatch = []
    for code in sorted(handling):
        if code not in orgs:
            continue
        if code == "cap-nuoc":
            # The water company works in its own ticket system; until it connects through Open311,
            # it gets every report by e-mail.
            dispatch.append(Dispatch(city=city, agency=orgs[code], method=Dispatch.Method.EMAIL,
                                     email=orgs[code].email or "cap-nuoc@danang.demo.dothi.invalid"))
        else:
            dispatch.append(Dispatch(city=city, agency=orgs[code], method=Dispatch.Method.QUEUE))
    Dispatch.objects.bulk_create(dispatch)
    ResponseTemplate.objects.bulk_create(
        ResponseTemplate(city=city, title=title_vi, text_vi=text_vi, text_en=text_en)
        for title_vi, _title_en, text_vi, text_en in TEMPLATES
    )


def _seed_open311_key(city: City, rng: random.Random) -> Open311Key:
    """A third-party app's key. Its plaintext is drawn from `rng` and thrown away: the demo app's
    reports are already in the data, and a city administrator issues real keys."""
    from dothi.reports.services import hash_key

    plaintext = "d311_" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(32))
    return Open311Key.objects.create(
        city=city, name=DEMO_APP_NAME, contact="doi-tac@danangxanh.demo.dothi.invalid",
        prefix=plaintext[:8], key_hash=hash_key(plaintext), rate="600/h",
    )


# --- Where reports come from ------------------------------------------------------------------------


class _Places:
    """Random points inside the city's communes, most of them in the urban wards."""

    def __init__(self, city: City, rng: random.Random) -> None:
        self.rng = rng
        self.cells = []
        weights = []
        areas = CommuneArea.objects.filter(city=city).select_related("commune").order_by("commune_id")
        for area in areas:
            commune = area.commune
            if commune.kind == "đặc khu":
                continue  # Hoàng Sa: no residents to report anything
            weight = 12 if commune.name in URBAN_WARDS else 3 if commune.kind == "phường" else 1
            self.cells.append((commune, shape(area.geometry)))
            weights.append(weight)
        self.cumulative = []
        total = 0
        for w in weights:
            total += w
            self.cumulative.append(total)

    def point(self, commune_name: str | None = None) -> tuple[Any, float, float]:
        import bisect

        index = bisect.bisect_right(self.cumulative, self.rng.uniform(0, self.cumulative[-1]))
        if commune_name is not None:
            index = next((i for i, (c, _cell) in enumerate(self.cells) if c.name == commune_name), index)
        commune, cell = self.cells[min(index, len(self.cells) - 1)]
        min_lon, min_lat, max_lon, max_lat = cell.bounds
        for _ in range(200):
            lon, lat = self.rng.uniform(min_lon, max_lon), self.rng.uniform(min_lat, max_lat)
            if cell.contains(Point(lon, lat)):
                return commune, round(lat, 6), round(lon, 6)
        centre = cell.representative_point()
        return commune, round(centre.y, 6), round(centre.x, 6)


def _weighted(rng: random.Random, items, weights):
    return rng.choices(items, weights=weights, k=1)[0]


def _answers(rng: random.Random, spec: CategorySpec, submitted: dt.datetime) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for q in spec.questions:
        if not q.required and rng.random() < 0.4:
            continue
        if q.datatype == CategoryAttribute.Datatype.NUMBER:
            answers[q.code] = rng.choice([10, 15, 20, 30, 40, 50, 70])
        elif q.datatype == CategoryAttribute.Datatype.STRING:
            answers[q.code] = f"DN-{rng.randint(100, 9999):04d}"
        elif q.datatype == CategoryAttribute.Datatype.DATETIME:
            heard = submitted - dt.timedelta(hours=rng.randint(1, 20))
            answers[q.code] = heard.replace(microsecond=0).isoformat()
        elif q.datatype == CategoryAttribute.Datatype.SINGLE:
            answers[q.code] = rng.choice(q.values)["key"]
        elif q.datatype == CategoryAttribute.Datatype.MULTI:
            keys = [v["key"] for v in q.values]
            answers[q.code] = sorted(rng.sample(keys, rng.randint(1, 2)), key=keys.index)
    return answers


def _reference(city: City, when: dt.datetime, rng: random.Random, taken: set[str]) -> str:
    prefix = "".join(c for c in city.slug.upper() if c.isalnum())[:3] or "RPT"
    while True:
        code = "".join(rng.choice(REFERENCE_ALPHABET) for _ in range(6))
        reference = f"{prefix}-{when:%y%m%d}-{code}"
        if reference not in taken and not Report.objects.filter(reference=reference).exists():
            taken.add(reference)
            return reference


# --- The reports -----------------------------------------------------------------------------------------


@dataclass
class _Plan:
    """One report and what happened to it, before it is written."""

    report: Report
    events: list[ReportEvent] = field(default_factory=list)
    evidence: bool = False
    rating: tuple[int, dt.datetime] | None = None


def _officers(city: City) -> dict[int, list]:
    from dothi.identity.models import Membership

    officers: dict[int, list] = {}
    for m in (
        Membership.objects.filter(
            city=city, role__in=["agency_staff", "agency_manager"], organisation__isnull=False
        )
        .select_related("user")
        .order_by("role", "user__username")
    ):
        officers.setdefault(m.organisation_id, []).append(m.user)
    return officers


def _hotline_staff(city: City):
    from dothi.identity.models import Membership

    m = (
        Membership.objects.filter(city=city, role="operator")
        .select_related("user")
        .order_by("user__username")
        .first()
    )
    return m.user if m else None


def _plan_report(
    *, city: City, rng: random.Random, now: dt.datetime, spec: CategorySpec, category: Category,
    commune, lat: float, lon: float, agency: Organisation, officers: list, reporter, channel: str,
    filed_by, key: Open311Key | None, calendar, reference: str, submitted: dt.datetime, earlier: list[Report],
) -> _Plan:
    from dothi.identity import crypto

    contact = ""
    if channel == Channel.HOTLINE:
        contact = json.dumps({"name": rng.choice(CALLER_NAMES), "phone": f"+84905{rng.randrange(10**6):06d}"},
                             ensure_ascii=False)
    elif channel == Channel.OPEN311:
        name = rng.choice(APP_USERS)
        contact = json.dumps({"name": name, "email": f"nguoidung{rng.randrange(10**4)}@example.invalid"},
                             ensure_ascii=False)
    priority = spec.priority if rng.random() < 0.8 else _weighted(rng, list(Priority.values), [1, 5, 2, 1])
    due = calendar.add_working_days(submitted, category.deadline_working_days)
    report = Report(
        city=city, reference=reference, category=category, commune=commune, agency=agency,
        status=Status.RECEIVED, priority=priority, confidential=category.confidential, channel=channel,
        lat=lat, lon=lon, address=f"Tổ dân phố {rng.randint(1, 40)}, {commune.name}",
        description=rng.choice(spec.descriptions), attributes=_answers(rng, spec, submitted),
        reporter=reporter, filed_by=filed_by, open311_key=key,
        reporter_contact_enc=crypto.encrypt(contact) if contact else "",
        submitted_at=submitted, due_at=due,
    )
    plan = _Plan(report)
    officer = rng.choice(officers) if officers else None
    submitter = reporter or filed_by

    def event(kind, at, *, actor=None, text="", public=True, from_status="", to_status="", data=None):
        plan.events.append(ReportEvent(report=report, kind=kind, at=at, actor=actor, text=text, public=public,
                                       from_status=from_status, to_status=to_status, data=data or {}))

    def move(to_status, at, *, actor=officer, text="", data=None):
        event(ReportEvent.Kind.STATUS, at, actor=actor, text=text, from_status=report.status,
              to_status=to_status, data=data)
        report.status = to_status

    event(ReportEvent.Kind.SUBMITTED, submitted, actor=submitter, to_status=Status.RECEIVED,
          data={"channel": channel})

    # Acknowledgement: most within a working day, a few much later.
    ack_hours = _weighted(rng, [rng.uniform(0.2, 8), rng.uniform(8, 30), rng.uniform(30, 80)], [70, 25, 5])
    ack = submitted + dt.timedelta(hours=ack_hours)
    if ack > now:
        return plan  # still new, waiting in the queue
    report.acknowledged_at = ack
    report.assignee = officer
    if officer is not None:
        event(ReportEvent.Kind.ASSIGNED, ack, actor=officer, public=False,
              data={"assignee": officer.username})
        move(Status.ASSIGNED, ack)
    else:
        move(Status.IN_PROGRESS, ack)

    fate = rng.random()
    if fate < 0.05:
        at = ack + dt.timedelta(hours=rng.uniform(1, 24))
        if at <= now:
            reason = rng.choice(REJECTIONS)
            move(Status.REJECTED, at, text=reason, data={"reason": reason})
            report.closed_at = at
            return plan
    if fate > 0.97 and earlier:
        target = earlier[-1]
        at = ack + dt.timedelta(minutes=rng.randint(5, 120))
        if at <= now:
            move(Status.DUPLICATE, at, data={"duplicate_of": target.reference})
            report.duplicate_of = target
            report.closed_at = at
            return plan

    start_work = ack + dt.timedelta(hours=rng.uniform(0.5, 6))
    if start_work <= now and report.status != Status.IN_PROGRESS:
        move(Status.IN_PROGRESS, start_work)
    # Hours from submission to resolution: log-normal around the deadline; some reports get stuck.
    typical = 16 if category.deadline_working_days <= 1 else 40
    hours = rng.lognormvariate(math.log(typical), 0.8) * (6 if rng.random() < 0.15 else 1)
    resolved = max(submitted + dt.timedelta(hours=hours), start_work + dt.timedelta(hours=0.5))

    asked = None
    if rng.random() < 0.08 and start_work + dt.timedelta(hours=2) <= now:
        asked = start_work + dt.timedelta(hours=rng.uniform(1, 8))
        if asked <= now:
            move(Status.NEEDS_INFO, asked, text=rng.choice(QUESTIONS_ASKED))
            report.paused_at = asked
            answered = asked + dt.timedelta(hours=rng.uniform(4, 60))
            if answered > now:
                return plan  # still waiting for the reporter: the clock is paused
            event(ReportEvent.Kind.INFO, answered, actor=submitter,
                  text="Đã bổ sung vị trí: gần cột điện số 12.")
            report.due_at += answered - asked  # the deadline moves by the pause (deadlines.resume)
            report.paused_at = None
            move(Status.IN_PROGRESS, answered, data={"resumed": True})
            resolved = max(resolved, answered + dt.timedelta(hours=1))

    if resolved > now:
        if report.due_at < now:
            escalated = report.due_at + dt.timedelta(minutes=rng.randint(5, 60))
            if escalated <= now:
                report.escalated_at = escalated
                event(ReportEvent.Kind.ESCALATED, escalated, public=False,
                      data={"due_at": report.due_at.isoformat()})
        return plan  # open; overdue when past its due date

    report.resolved_at = resolved
    move(Status.RESOLVED, resolved, text=RESOLUTIONS[spec.code])
    plan.evidence = True

    # After resolution: the reporter confirms, reopens, or the report closes itself after 14 days.
    after = rng.random()
    if after < 0.04:
        at = resolved + dt.timedelta(hours=rng.uniform(12, 96))
        if at <= now:
            move(Status.REOPENED, at, actor=submitter if reporter else None, text=rng.choice(REOPEN_TEXTS))
            report.resolved_at = None
            report.reopen_count = 1
            report.due_at = calendar.add_working_days(at, category.deadline_working_days)
            plan.evidence = True  # the evidence of the first resolution stays on the timeline
            return plan
    if reporter is not None and after < 0.35:
        at = resolved + dt.timedelta(hours=rng.uniform(2, 72))
        if at <= now:
            event(ReportEvent.Kind.CONFIRMED, at, actor=reporter)
            move(Status.CLOSED, at, actor=reporter, data={"confirmed": True})
            report.closed_at = at
    elif resolved + dt.timedelta(days=CONFIRM_WINDOW_DAYS) <= now:
        at = resolved + dt.timedelta(days=CONFIRM_WINDOW_DAYS, minutes=rng.randint(1, 59))
        move(Status.CLOSED, at, actor=None, data={"automatic": True})
        report.closed_at = at

    if reporter is not None and rng.random() < 0.45:
        rated = resolved + dt.timedelta(hours=rng.uniform(1, 96))
        if rated <= now:
            on_time = report.resolved_at <= report.due_at
            stars = _weighted(rng, [1, 2, 3, 4, 5], [1, 2, 4, 10, 12] if on_time else [4, 6, 6, 4, 2])
            plan.rating = (stars, rated)
    return plan


def seed(city: City, rng: random.Random, now: dt.datetime) -> None:
    """The reports module's demo data for `city` (see the module docstring)."""
    from dothi.identity.models import User

    orgs = {o.code: o for o in Organisation.objects.for_city(city)}
    missing = {spec.agency for spec in CATEGORIES} - set(orgs)
    if missing:
        raise ValueError(f"The demo agencies are missing: {', '.join(sorted(missing))}.")
    places = _Places(city, rng)
    communes_by_name = {commune.name: commune.pk for commune, _cell in places.cells}
    categories = _seed_categories(city, orgs, communes_by_name)
    _seed_agency_setup(city, orgs)
    key = _seed_open311_key(city, rng)
    rules = {
        (r.category_id, r.commune_id): r.agency
        for r in RoutingRule.objects.filter(city=city).select_related("agency")
    }
    officers = _officers(city)
    hotline = _hotline_staff(city)
    citizens = list(
        User.objects.filter(kind=User.Kind.CITIZEN, home_city=city, is_active=True).order_by("username")
    )
    calendar = calendar_for(city)
    specs = list(CATEGORIES)
    weights = [spec.weight for spec in specs]
    taken: set[str] = set()
    earlier: dict[tuple[int, str], list[Report]] = {}

    # Submission times first, oldest first, so duplicates can point at earlier reports.
    # A few came in during the last hours, so the queues hold new, unacknowledged reports.
    fresh = REPORT_COUNT // 30
    moments = sorted(
        [now - dt.timedelta(seconds=rng.randint(600, DAYS * 86400)) for _ in range(REPORT_COUNT - fresh)]
        + [now - dt.timedelta(seconds=rng.randint(300, 12 * 3600)) for _ in range(fresh)]
    )
    plans: list[_Plan] = []
    for submitted in moments:
        submitted = submitted.replace(microsecond=0)
        if rng.random() < HOT_SPOT_SHARE:
            code, ward = rng.choice(HOT_SPOTS)
            spec = next(s for s in specs if s.code == code)
        else:
            spec, ward = _weighted(rng, specs, weights), None
        category = categories[spec.code]
        commune, lat, lon = places.point(ward)
        # The point's commune as the platform itself finds it (the cells may have been replaced).
        located = geo.locate(city, lon, lat)
        agency = rules.get((category.pk, located.pk)) or rules[(category.pk, None)]
        channel = _weighted(rng, [Channel.APP, Channel.HOTLINE, Channel.OPEN311], [75, 17, 8])
        if channel == Channel.APP and not citizens:
            channel = Channel.HOTLINE
        if channel == Channel.HOTLINE and hotline is None:
            channel = Channel.OPEN311
        reporter = rng.choice(citizens) if channel == Channel.APP else None
        bucket = earlier.setdefault((category.pk, located.pk), [])
        plan = _plan_report(
            city=city, rng=rng, now=now, spec=spec, category=category, commune=located, lat=lat, lon=lon,
            agency=agency, officers=officers.get(agency.pk, []), reporter=reporter, channel=channel,
            filed_by=hotline if channel == Channel.HOTLINE else None,
            key=key if channel == Channel.OPEN311 else None, calendar=calendar,
            reference=_reference(city, submitted.astimezone(calendar.tz), rng, taken), submitted=submitted,
            earlier=[r for r in bucket if r.status != Status.DUPLICATE],
        )
        bucket.append(plan.report)
        plans.append(plan)

    _write(city, rng, plans)
    _rebuild_facts(city, now)


def _rebuild_facts(city: City, now: dt.datetime) -> None:
    """The rows were bulk-inserted past the services: derive the KPIs' daily facts from them."""
    from zoneinfo import ZoneInfo

    from dothi.core import facts
    from dothi.reports.stats import FACT_SOURCES

    until = now.astimezone(ZoneInfo(city.time_zone)).date() + dt.timedelta(days=2)
    facts.rebuild_city(city=city, keys=[s.key for s in FACT_SOURCES], until=until)


def _write(city: City, rng: random.Random, plans: list[_Plan]) -> None:
    # Duplicates point at reports that have no primary key yet: save in submission order, then link.
    duplicate_targets = {id(p.report): p.report.duplicate_of for p in plans if p.report.duplicate_of}
    for plan in plans:
        plan.report.duplicate_of = None
    Report.objects.bulk_create([p.report for p in plans], batch_size=500)
    linked = []
    for plan in plans:
        target = duplicate_targets.get(id(plan.report))
        if target is not None:
            plan.report.duplicate_of = target
            linked.append(plan.report)
    if linked:
        Report.objects.bulk_update(linked, ["duplicate_of"])
    # bulk_create stamped updated_at with the wall clock; the last event is when a report last changed.
    for plan in plans:
        plan.report.updated_at = max(e.at for e in plan.events)
    Report.objects.bulk_update([p.report for p in plans], ["updated_at"], batch_size=500)

    for plan in plans:
        for e in plan.events:
            e.report = plan.report
    ReportEvent.objects.bulk_create([e for p in plans for e in p.events], batch_size=1000)
    Follower.objects.bulk_create(
        [Follower(report=p.report, user=p.report.reporter, created_at=p.report.submitted_at)
         for p in plans if p.report.reporter_id],
        batch_size=1000,
    )

    pictures: dict[str, bytes] = {}
    palette = [(46, 125, 50), (21, 101, 192), (239, 108, 0), (106, 27, 154), (0, 131, 143)]
    photos = []
    for plan in plans:
        if not plan.evidence:
            continue
        report = plan.report
        resolution = next(e for e in plan.events if e.to_status == Status.RESOLVED)
        code = report.category.code
        if code not in pictures:
            pictures[code] = _evidence_png(palette[len(pictures) % len(palette)])
        photo = ReportPhoto(
            report=report, kind=ReportPhoto.Kind.EVIDENCE, token=f"{rng.getrandbits(128):032x}",
            extension="png", content_type="image/png", size=len(pictures[code]), uploaded_by=resolution.actor,
            created_at=resolution.at,
        )
        photo.file.name = default_storage.save(photo_path(photo, ""), ContentFile(pictures[code]))
        photos.append(photo)
    ReportPhoto.objects.bulk_create(photos, batch_size=500)

    Feedback.objects.bulk_create(
        [Feedback(city=city, subject_type="reports.report", subject_id=p.report.reference,
                  author=p.report.reporter, rating=p.rating[0], created_at=p.rating[1],
                  comment="Xử lý nhanh, cảm ơn cán bộ." if p.rating[0] >= 4 else "")
         for p in plans if p.rating],
        batch_size=500,
    )
