"""Which language a person sees: their choice, else the city's default; API clients ask by header."""

import pytest

pytestmark = pytest.mark.django_db


def test_pages_default_to_the_city_language_not_the_browser(client, city):
    response = client.get("/account/signin/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert 'lang="vi"' in response.content.decode()
    city.default_language = "en"
    city.save()
    response = client.get("/account/signin/", HTTP_ACCEPT_LANGUAGE="vi")
    assert 'lang="en"' in response.content.decode()
    client.cookies["dothi_language"] = "vi"
    assert 'lang="vi"' in client.get("/account/signin/").content.decode()


def test_api_errors_follow_accept_language(client, city):
    body = {"challenge": "x", "code": "1"}
    vi = client.post("/api/v1/identity/signin/confirm", body, content_type="application/json",
                     HTTP_ACCEPT_LANGUAGE="vi").json()["message"]
    en = client.post("/api/v1/identity/signin/confirm", body, content_type="application/json",
                     HTTP_ACCEPT_LANGUAGE="en").json()["message"]
    assert vi != en
