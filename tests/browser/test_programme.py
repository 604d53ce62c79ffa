"""The programme's pages in a real browser: the public transparency page and the staff Gantt timeline
render with a published programme (fixtures), the bars are placed by static/programme/gantt.js, and no
JS error or content-security-policy violation happens on the way."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.test import Client

from tests.programme.conftest import goal, programme, project  # noqa: F401 - the module's fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            },
            {"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": live_server.url},
        ]
    )


@pytest.fixture
def published(programme, project):  # noqa: F811 - the imported fixtures
    from dothi.programme.models import Milestone, Phase

    programme.is_published = True
    programme.save()
    project.is_published = True
    project.progress = 40
    project.save()
    Phase.objects.create(
        city=project.city,
        project=project,
        name_vi="Thí điểm",
        kind="pilot",
        starts_on=datetime.date(2026, 3, 1),
        ends_on=datetime.date(2026, 12, 31),
    )
    Milestone.objects.create(
        city=project.city,
        project=project,
        title_vi="Lắp cảm biến",
        due_on=datetime.date(2026, 9, 1),
        progress=40,
    )
    return programme


def _bar_box(page):
    page.wait_for_function("() => document.querySelector('[data-gantt]').dataset.ready === 'true'")
    return page.evaluate(
        """() => {
            const bar = document.querySelector('.gantt-project .gantt-bar');
            const track = bar.parentElement.getBoundingClientRect();
            const box = bar.getBoundingClientRect();
            return {left: (box.left - track.left) / track.width, width: box.width / track.width};
        }"""
    )


def test_public_page_and_staff_timeline(page, live_server, cast, published):
    page.goto("/programme/")
    page.wait_for_selector("text=Thí điểm cảnh báo ngập")
    box = _bar_box(page)
    # 1 March 2026 in a 2026–2030 period: about 1/30 from the left; 16 months wide: about 0.27.
    assert 0.02 < box["left"] < 0.05 and 0.2 < box["width"] < 0.3
    assert page.js_errors == []

    sign_in(page, live_server, cast["council_member"])
    page.goto("/programme/staff/timeline/")
    page.wait_for_selector(".gantt-phase-bar")
    box = _bar_box(page)
    assert 0.02 < box["left"] < 0.05
    assert page.locator(".gantt-milestone").count() == 1
    page.goto("/programme/staff/")
    page.wait_for_selector("text=Overview")
    assert page.js_errors == []
