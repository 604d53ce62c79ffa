"""The surveys' pages and API per role: citizens list and answer surveys (bad answers: 422 with the
question's error, nothing stored), a survey for signed-in citizens sends others to sign in, a survey
for everyone takes anonymous answers; staff read the list and results, managers build and open a
survey; the CSV export; the API's reads, answers (409 on a second one) and results; no inline code."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from dothi.core.models import AuditEvent
from dothi.surveys.models import Response, Survey
from tests.security.harness import inline_code
from tests.surveys.conftest import good_answers

pytestmark = pytest.mark.django_db

STAFF = ["agency_staff", "agency_manager", "operator", "council_member", "city_admin", "platform_admin"]
MANAGERS = {"agency_manager", "council_member", "city_admin", "platform_admin"}


def client_for(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    if user is not None:
        client.force_login(user)
    return client


def form_data(q, **override) -> dict:
    return {f"q{pk}": value for pk, value in good_answers(q, **override).items()}


def test_the_list_shows_open_surveys_only(cast, survey):
    Survey.objects.create(city=survey.city, code="nhap", title_vi="Bản nháp", status="draft")
    body = client_for(cast["citizen"]).get(reverse("surveys:list")).content.decode()
    assert "Service survey" in body and "Bản nháp" not in body
    assert not inline_code(body)


def test_a_citizen_answers_on_the_page(cast, survey, q):
    client = client_for(cast["citizen"])
    page = client.get(reverse("surveys:survey", args=[survey.code]))
    body = page.content.decode()
    assert page.status_code == 200 and not inline_code(body)
    assert body.count('type="radio"') == 11 + 5 + 3 and "<legend" in body
    response = client.post(reverse("surveys:survey", args=[survey.code]), form_data(q))
    assert response.status_code == 302 and response["Location"] == reverse(
        "surveys:thanks", args=[survey.code]
    )
    assert Response.objects.filter(survey=survey).count() == 1
    again = client.post(reverse("surveys:survey", args=[survey.code]), form_data(q))
    assert again.status_code == 409 and "already answered" in again.content.decode()
    assert client.get(reverse("surveys:thanks", args=[survey.code])).status_code == 200


def test_a_bad_answer_is_shown_on_its_question(cast, survey, q):
    client = client_for(cast["citizen"])
    data = form_data(q)
    data[f"q{q['nps_0_10'].pk}"] = "11"
    response = client.post(reverse("surveys:survey", args=[survey.code]), data)
    body = response.content.decode()
    assert response.status_code == 422
    assert f'id="q{q["nps_0_10"].pk}_error"' in body and "Choose a score from 0 to 10." in body
    assert 'value="4" autocomplete="off" checked' in body  # the other answers are kept
    assert not Response.objects.exists()


def test_a_survey_for_citizens_asks_others_to_sign_in(cast, survey, q):
    anonymous = client_for(None)
    page = anonymous.get(reverse("surveys:survey", args=[survey.code])).content.decode()
    assert "Sign in to answer" in page and '<form method="post" novalidate>' not in page
    post = anonymous.post(reverse("surveys:survey", args=[survey.code]), form_data(q))
    assert post.status_code == 302 and post["Location"].startswith(reverse("identity:signin"))
    staff = client_for(cast["agency_staff"]).post(reverse("surveys:survey", args=[survey.code]), form_data(q))
    assert staff.status_code == 403
    assert not Response.objects.exists()


def test_a_survey_for_everyone_takes_anonymous_answers(survey, q):
    survey.audience = Survey.Audience.EVERYONE
    survey.save()
    client = client_for(None)
    assert client.post(reverse("surveys:survey", args=[survey.code]), form_data(q)).status_code == 302
    assert client.post(reverse("surveys:survey", args=[survey.code]), form_data(q)).status_code == 409
    assert (
        client_for(None).post(reverse("surveys:survey", args=[survey.code]), form_data(q)).status_code == 302
    )
    assert Response.objects.count() == 2


def test_drafts_are_not_public(cast, city):
    Survey.objects.create(city=city, code="nhap", title_vi="Bản nháp", status="draft")
    assert client_for(cast["citizen"]).get(reverse("surveys:survey", args=["nhap"])).status_code == 404


@pytest.mark.parametrize("role", ["anonymous", "citizen", *STAFF])
def test_staff_pages_per_role(cast, survey, q, role):
    client = client_for(cast[role])
    pages = [
        reverse("surveys:staff_list"),
        reverse("surveys:staff_survey", args=[survey.code]),
        reverse("surveys:staff_results", args=[survey.code]),
        reverse("surveys:staff_export", args=[survey.code]),
    ]
    statuses = [client.get(page).status_code for page in pages]
    if role == "anonymous":
        assert statuses == [302] * 4
    elif role == "citizen":
        assert statuses == [403] * 4
    else:
        assert statuses == [200] * 4
        body = client.get(pages[0]).content.decode()
        assert ("Create the survey" in body) == (role in MANAGERS)
        assert not inline_code(body)


def test_a_manager_builds_opens_and_reads_a_survey(cast, city, q, survey):
    client = client_for(cast["agency_manager"])
    created = client.post(
        reverse("surveys:staff_list"),
        {
            "code": "cong-vien",
            "kind": "custom",
            "title_vi": "Công viên",
            "audience": "citizens",
            "anonymous_results": "on",
        },
    )
    assert created.status_code == 302
    new = Survey.objects.get(code="cong-vien")
    add = reverse("surveys:staff_question_add", args=[new.code])
    assert (
        client.post(add, {"kind": "rating_1_5", "text_vi": "Hài lòng?", "required": "on"}).status_code == 302
    )
    bad = client.post(add, {"kind": "single", "text_vi": "Nơi?", "choices": "chi-mot | Chỉ một"})
    assert bad.status_code == 422 and "between 2 and 30 choices" in bad.content.decode()
    ok = client.post(add, {"kind": "single", "text_vi": "Nơi?", "choices": "a | Biển\nb | Núi | Mountains"})
    assert ok.status_code == 302
    assert list(new.questions.order_by("order").values_list("kind", flat=True)) == ["rating_1_5", "single"]
    second = new.questions.get(kind="single")
    assert second.choices[1] == {"code": "b", "label_vi": "Núi", "label_en": "Mountains"}
    client.post(reverse("surveys:staff_question_move", args=[new.code, second.pk]), {"direction": "up"})
    assert list(new.questions.order_by("order").values_list("kind", flat=True)) == ["single", "rating_1_5"]
    status = reverse("surveys:staff_status", args=[new.code])
    assert client.post(status, {"action": "open"}).status_code == 302
    new.refresh_from_db()
    assert new.status == "open"
    # Open: questions are frozen.
    frozen = client.post(add, {"kind": "text", "text_vi": "Thêm?"})
    assert frozen.status_code == 409 and new.questions.count() == 2
    # Staff without surveys.manage read but do not build.
    staff = client_for(cast["agency_staff"])
    assert staff.post(status, {"action": "close"}).status_code == 403
    assert staff.post(reverse("surveys:staff_list"), {"code": "x", "title_vi": "X"}).status_code == 403
    # Results with a chart, and the export.
    client_for(cast["citizen"]).post(reverse("surveys:survey", args=[survey.code]), form_data(q))
    results = client.get(reverse("surveys:staff_results", args=[survey.code])).content.decode()
    assert "<svg" in results and "NPS 100.0" in results and "CSAT 100.0 %" in results
    assert not inline_code(results)
    export = client.get(reverse("surveys:staff_export", args=[survey.code]))
    assert export["Content-Type"].startswith("text/csv") and export.content.decode().count("\n") == 2
    assert AuditEvent.objects.filter(action="export", object_id=str(survey.pk)).exists()


# --- API -----------------------------------------------------------------------------------------------


def test_api_reads(survey, q):
    client = client_for(None)
    listed = client.get("/api/v1/surveys/").json()
    assert [s["code"] for s in listed] == [survey.code] and listed[0]["accepting"] is True
    detail = client.get(f"/api/v1/surveys/{survey.code}").json()
    assert [x["kind"] for x in detail["questions"]] == [
        "nps_0_10",
        "rating_1_5",
        "single",
        "multiple",
        "text",
    ]
    assert detail["questions"][2]["choices"][0] == {"code": "web", "label": "Website"}
    assert client.get("/api/v1/surveys/khong-co").status_code == 404


def _post(client, code, body):
    return client.post(f"/api/v1/surveys/{code}/responses", json.dumps(body), content_type="application/json")


def test_api_answers(cast, survey, q):
    client = client_for(cast["citizen"])
    bad = _post(client, survey.code, {"answers": good_answers(q, rating_1_5=9)})
    assert bad.status_code == 422 and bad.json()["field"] == f"q{q['rating_1_5'].pk}"
    ok = _post(client, survey.code, {"answers": good_answers(q)})
    assert ok.status_code == 201 and ok.json()["wave"] == 1
    assert Response.objects.get().channel == "api"
    assert _post(client, survey.code, {"answers": good_answers(q)}).json()["code"] == "already_answered"
    assert _post(client_for(None), survey.code, {"answers": good_answers(q)}).status_code == 401
    assert _post(client_for(cast["operator"]), survey.code, {"answers": good_answers(q)}).status_code == 403
    survey.status = "closed"
    survey.save()
    closed = _post(client_for(cast["visitor"]), survey.code, {"answers": good_answers(q)})
    assert closed.status_code in (403, 409)


@pytest.mark.parametrize("role", ["citizen", "agency_staff", "council_member"])
def test_api_results(cast, survey, q, role):
    client_for(cast["citizen"]).post(reverse("surveys:survey", args=[survey.code]), form_data(q))
    response = client_for(cast[role]).get(f"/api/v1/surveys/{survey.code}/results")
    if role == "citizen":
        assert response.status_code == 403
    else:
        body = response.json()
        assert body["responses"] == 1 and body["questions"][0]["nps"] == 100.0


def test_the_home_page_asks_citizens_the_nps_question(cast, city):
    from dothi.surveys import services

    services.ensure_app_nps(city)
    home = client_for(cast["citizen"]).get(reverse("web:home")).content.decode()
    assert "Would you recommend the app?" in home and reverse("surveys:survey", args=["app-nps"]) in home
    assert "Would you recommend the app?" not in client_for(None).get(reverse("web:home")).content.decode()
