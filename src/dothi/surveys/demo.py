"""Demo data of the surveys module (the manifest's seeder, seed_order 95): the app NPS survey
(`services.ensure_app_nps`) with about 200 answers from the demo citizens over the past year (some of
them answering again after 90 days, the score improving a little over the year), and the city's own
survey "Hài lòng với dịch vụ công trực tuyến" (satisfaction with online public services: a 1–5 rating
that measures an indicator, the service used, a suggestion) with about 120 answers.

Rows are written in bulk (the seeder places answers in the past), keeping what the services guarantee:
one response per person and wave, waves of the NPS survey at least 90 days apart, answers within their
question's range, respondent keys computed as the services compute them, no account kept (both surveys
promise anonymous results). Deterministic for a given `rng` and `now`.
"""

from __future__ import annotations

import datetime as dt
import random

from dothi.core.models import City
from dothi.core.selectors import communes_of_city
from dothi.surveys import services
from dothi.surveys.models import Answer, Question, Response, Survey

NPS_RESPONSES = 200
ONLINE_RESPONSES = 120
ONLINE_CODE = "dich-vu-cong-truc-tuyen"
ONLINE_INDICATOR = "surveys.online_services_satisfaction"
YEAR = 365

NPS_REASONS = [
    "Phản ánh hiện trường được xử lý nhanh.",
    "Đặt lịch hẹn tiện, không phải xếp hàng.",
    "Cảnh báo mưa lũ rất kịp thời.",
    "Ứng dụng đôi khi chậm.",
    "Muốn có thêm dịch vụ trên ứng dụng.",
    "Giao diện dễ dùng.",
    "Chưa nhận được phản hồi cho phản ánh của tôi.",
    "",
]
ONLINE_SERVICES = [
    ("cccd", "Cấp, đổi căn cước", "Citizen ID card"),
    ("ho-tich", "Hộ tịch (khai sinh, kết hôn)", "Civil status (birth, marriage)"),
    ("dat-dai", "Đất đai, xây dựng", "Land and construction"),
    ("kinh-doanh", "Đăng ký kinh doanh", "Business registration"),
    ("khac", "Khác", "Other"),
]
SUGGESTIONS = [
    "Rút ngắn thời gian trả kết quả.",
    "Hướng dẫn rõ hơn về hồ sơ cần nộp.",
    "Thanh toán lệ phí trực tuyến tiện hơn.",
    "Cổng dịch vụ công hay bị lỗi vào giờ cao điểm.",
    "Cán bộ hỗ trợ nhiệt tình.",
    "",
    "",
    "",
]


def _nps_score(rng: random.Random, progress: float) -> int:
    """A 0–10 score; promoters grow from about 40 % to 50 % over the year (NPS about 15 → 30)."""
    promoters = 0.40 + 0.10 * progress
    detractors = 0.25 - 0.05 * progress
    r = rng.random()
    if r < promoters:
        return rng.choice([9, 10, 10, 9, 10])
    if r < promoters + detractors:
        return rng.choice([0, 2, 3, 4, 5, 5, 6, 6, 6])
    return rng.choice([7, 8, 8])


def _online_survey(city: City, now: dt.datetime) -> tuple[Survey, list[Question]]:
    survey, _created = Survey.objects.get_or_create(
        city=city,
        code=ONLINE_CODE,
        defaults={
            "kind": Survey.Kind.CUSTOM,
            "status": Survey.Status.OPEN,
            "title_vi": "Hài lòng với dịch vụ công trực tuyến",
            "title_en": "Satisfaction with online public services",
            "intro_vi": (
                "Thành phố muốn biết bạn đánh giá thế nào về dịch vụ công trực tuyến. "
                "Ba câu hỏi, khoảng hai phút."
            ),
            "intro_en": (
                "The city would like to know what you think of its online public services. "
                "Three questions, about two minutes."
            ),
            "audience": Survey.Audience.CITIZENS,
            "anonymous_results": True,
            "opens_at": now - dt.timedelta(days=120),
            "closes_at": now + dt.timedelta(days=60),
            "created_at": now - dt.timedelta(days=125),
        },
    )
    if not survey.questions.exists():
        Question.objects.bulk_create(
            [
                Question(
                    survey=survey,
                    order=1,
                    kind=Question.Kind.RATING,
                    required=True,
                    indicator_code=ONLINE_INDICATOR,
                    text_vi="Nhìn chung, bạn hài lòng thế nào với dịch vụ công trực tuyến của thành phố?",
                    text_en="Overall, how satisfied are you with the city's online public services?",
                ),
                Question(
                    survey=survey,
                    order=2,
                    kind=Question.Kind.SINGLE,
                    required=True,
                    text_vi="Bạn đã dùng dịch vụ nào gần đây nhất?",
                    text_en="Which service did you use last?",
                    choices=[{"code": c, "label_vi": vi, "label_en": en} for c, vi, en in ONLINE_SERVICES],
                ),
                Question(
                    survey=survey,
                    order=3,
                    kind=Question.Kind.TEXT,
                    required=False,
                    text_vi="Bạn có góp ý gì để dịch vụ tốt hơn?",
                    text_en="What would make the service better?",
                ),
            ]
        )
    return survey, list(survey.questions.order_by("order"))


def seed(city: City, rng: random.Random, now: dt.datetime) -> None:
    from dothi.identity.models import User

    nps_survey = services.ensure_app_nps(city)
    online, online_questions = _online_survey(city, now)
    if Response.objects.filter(survey__in=[nps_survey, online]).exists():
        return
    people = list(
        User.objects.filter(kind=User.Kind.CITIZEN, home_city=city, is_active=True)
        .order_by("username")
        .values_list("pk", flat=True)
    )
    if not people:
        return
    communes = list(communes_of_city(city).values_list("code", flat=True))
    home = {pk: (rng.choice(communes) if communes and rng.random() < 0.8 else None) for pk in people}
    nps_questions = list(nps_survey.questions.order_by("order"))
    nps_q = next(q for q in nps_questions if q.kind == Question.Kind.NPS)
    reason_q = next((q for q in nps_questions if q.kind == Question.Kind.TEXT), None)

    responses: list[Response] = []
    answers: list[tuple[int, list[Answer]]] = []
    # The app NPS: a quarter of the people answer again 95–200 days after their first answer.
    order = rng.sample(people, len(people))
    for pk in order:
        if len(responses) >= NPS_RESPONSES:
            break
        at = now - dt.timedelta(days=rng.uniform(0.5, YEAR), minutes=rng.randint(0, 600))
        responses.append(_response(city, nps_survey, pk, 1, at, home[pk]))
        answers.append((len(responses) - 1, _nps_answers(rng, nps_q, reason_q, 1 - (now - at).days / YEAR)))
        again = at + dt.timedelta(days=rng.randint(95, 200))
        if len(responses) < NPS_RESPONSES and rng.random() < 0.25 and again < now:
            responses.append(_response(city, nps_survey, pk, 2, again, home[pk]))
            answers.append(
                (len(responses) - 1, _nps_answers(rng, nps_q, reason_q, 1 - (now - again).days / YEAR))
            )
    # The online-services survey, over its 120 days so far.
    rating_q, service_q, text_q = online_questions
    for pk in rng.sample(people, min(ONLINE_RESPONSES, len(people))):
        at = now - dt.timedelta(days=rng.uniform(0.2, 119), minutes=rng.randint(0, 600))
        responses.append(_response(city, online, pk, 1, at, home[pk]))
        rows = [
            Answer(question=rating_q, number=rng.choices([5, 4, 3, 2, 1], weights=[30, 38, 18, 9, 5])[0]),
            Answer(
                question=service_q,
                choices=[rng.choices([c for c, *_ in ONLINE_SERVICES], weights=[30, 25, 20, 15, 10])[0]],
            ),
        ]
        suggestion = rng.choice(SUGGESTIONS)
        if suggestion:
            rows.append(Answer(question=text_q, text=suggestion))
        answers.append((len(responses) - 1, rows))
    Response.objects.bulk_create(responses, batch_size=500)
    flat = []
    for i, rows in answers:
        for a in rows:
            a.response = responses[i]
            flat.append(a)
    Answer.objects.bulk_create(flat, batch_size=1000)


def _response(city, survey, pk, wave, at, commune) -> Response:
    return Response(
        city=city,
        survey=survey,
        respondent_key=services.respondent_key(city, survey.code, f"u:{pk}"),
        wave=wave,
        submitted_at=at,
        commune_id=commune,
        channel=Response.Channel.WEB,
    )


def _nps_answers(rng, nps_q, reason_q, progress: float) -> list[Answer]:
    rows = [Answer(question=nps_q, number=_nps_score(rng, max(0.0, min(1.0, progress))))]
    reason = rng.choice(NPS_REASONS)
    if reason_q is not None and reason and rng.random() < 0.4:
        rows.append(Answer(question=reason_q, text=reason))
    return rows
