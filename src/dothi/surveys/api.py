"""The surveys API under /api/v1/surveys/.

- `GET /` the surveys open now; `GET /{code}` one survey (open or closed) with its questions (public).
- `POST /{code}/responses` answer it (signed in: sessions and CSRF as in the other APIs, `GET
  /api/v1/identity/csrf` then `X-CSRFToken`); the body is `{"answers": {"<question id>": answer},
  "commune": "<code>"?}`: a number for 0–10 and 1–5 questions, a choice code, a list of codes, or text.
  Anonymous answers to surveys for everyone go through the web form (its session keeps one per person).
- `GET /{code}/results` (staff, `surveys.view`): distribution, mean, NPS or CSAT per question, per
  commune with groups under 5 left out.

Errors are `{"code", "message", "field"}` in the user's language; a closed survey or a second answer is
409, a bad answer 422 naming the question (`q<id>`); nothing is stored then.
"""

from __future__ import annotations

from typing import Any

from ninja import Field, Router, Schema, Status
from ninja.security import django_auth

from dothi.core.cities import request_city
from dothi.core.permissions import require
from dothi.core.ratelimit import limit_citizen_write
from dothi.surveys import selectors, services
from dothi.surveys.models import Response, Survey

router = Router(tags=["surveys"])


class Error(Schema):
    code: str
    message: str
    field: str | None = None


ERRORS: dict[int | str, Any] = {
    400: Error,
    401: Error,
    403: Error,
    404: Error,
    409: Error,
    422: Error,
    429: Error,
}


class ChoiceOut(Schema):
    code: str
    label: str


class QuestionOut(Schema):
    id: int
    order: int
    kind: str
    text: str
    required: bool
    choices: list[ChoiceOut]


class SurveyOut(Schema):
    code: str
    kind: str
    title: str
    intro: str
    status: str
    audience: str
    accepting: bool
    opens_at: str | None
    closes_at: str | None


class SurveyDetailOut(SurveyOut):
    questions: list[QuestionOut]


def _survey_out(s: Survey) -> dict[str, Any]:
    return {
        "code": s.code,
        "kind": s.kind,
        "title": s.title,
        "intro": s.intro,
        "status": s.status,
        "audience": s.audience,
        "accepting": s.accepting(),
        "opens_at": s.opens_at.isoformat() if s.opens_at else None,
        "closes_at": s.closes_at.isoformat() if s.closes_at else None,
    }


@router.get("/", response={200: list[SurveyOut], **ERRORS}, auth=None, summary="Surveys open now")
def open_surveys(request):
    return [_survey_out(s) for s in selectors.open_surveys(request_city(request))]


@router.get(
    "/{code}", response={200: SurveyDetailOut, **ERRORS}, auth=None, summary="A survey and its questions"
)
def survey(request, code: str):
    s = selectors.public_survey(request_city(request), code)
    questions = [
        {
            "id": q.pk,
            "order": q.order,
            "kind": q.kind,
            "text": q.text,
            "required": q.required,
            "choices": [{"code": c, "label": label} for c, label in q.localised_choices()],
        }
        for q in s.questions.all()
    ]
    return {**_survey_out(s), "questions": questions}


class ResponseIn(Schema):
    answers: dict[str, Any]
    commune: str | None = Field(None, max_length=5)


class ResponseOut(Schema):
    survey: str
    wave: int
    submitted_at: str


@router.post(
    "/{code}/responses", response={201: ResponseOut, **ERRORS}, auth=django_auth, summary="Answer a survey"
)
def respond(request, code: str, payload: ResponseIn):
    city = request_city(request)
    s = selectors.public_survey(city, code)
    limit_citizen_write(request, "surveys.respond")
    response = services.respond(
        actor=request.auth,
        survey=s,
        answers=payload.answers,
        commune=payload.commune,
        channel=Response.Channel.API,
        request=request,
    )
    return Status(
        201, ResponseOut(survey=s.code, wave=response.wave, submitted_at=response.submitted_at.isoformat())
    )


@router.get(
    "/{code}/results",
    response={200: dict[str, Any], **ERRORS},
    auth=django_auth,
    summary="A survey's results (staff)",
)
def results(request, code: str):
    city = request_city(request)
    require(request.auth, "surveys.view", city)
    s = selectors.survey_of(city, code)
    found = selectors.results(s)
    questions = []
    for item in found["questions"]:
        item = {k: v for k, v in item.items() if k != "question"}
        questions.append(item)
    return {"survey": _survey_out(s), "responses": found["responses"], "questions": questions}
