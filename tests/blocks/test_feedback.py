"""Feedback: validation, one per person per subject, permission, summary for the KPI module."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import translation

from dothi.core import selectors, services
from dothi.core.errors import Conflict, InvalidInput
from dothi.core.manifests import Period
from dothi.core.models import AuditEvent, Feedback

pytestmark = pytest.mark.django_db

SUBJECT = "sample.visit"


@pytest.fixture(autouse=True)
def _subjects(sample_manifest):
    """The sample module registers the subject type "sample.visit"."""


def _give(author, city, subject_id="1", rating=5, comment=""):
    return services.feedback_give(author=author, city=city, subject_type=SUBJECT, subject_id=subject_id,
                                  rating=rating, comment=comment)


def test_give_feedback_is_stored_and_audited(citizen, city):
    feedback = _give(citizen, city, rating=4, comment="  Quick and kind.  ")
    assert (feedback.rating, feedback.comment, feedback.city) == (4, "Quick and kind.", city)
    assert AuditEvent.objects.filter(object_type="core.feedback", object_id=str(feedback.pk)).exists()


def test_once_per_person_per_subject(citizen, city, cast):
    _give(citizen, city, subject_id="7")
    with translation.override("en"), pytest.raises(Conflict) as err:
        _give(citizen, city, subject_id="7", rating=1)
    assert "already rated" in err.value.message
    _give(cast["visitor"], city, subject_id="7")  # someone else may
    _give(citizen, city, subject_id="8")  # another subject may
    assert Feedback.objects.count() == 3


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"rating": 0}, "rating"), ({"rating": 6}, "rating"), ({"rating": True}, "rating"),
        ({"rating": 4.5}, "rating"), ({"comment": "x" * 2001}, "comment"), ({"subject_id": ""}, "subject_id"),
        ({"subject_id": "9" * 65}, "subject_id"), ({"subject_type": "reports.unknown"}, "subject_type"),
    ],
)
def test_bad_input_stores_nothing(citizen, city, kwargs, field):
    args = {"author": citizen, "city": city, "subject_type": SUBJECT, "subject_id": "1", "rating": 5,
            "comment": ""}
    args.update(kwargs)
    with pytest.raises(InvalidInput) as err:
        services.feedback_give(**args)
    assert err.value.field == field
    assert not Feedback.objects.exists()


@pytest.mark.parametrize("role", ["anonymous", "agency_staff", "operator"])
def test_only_citizens_give_feedback(cast, city, role):
    with pytest.raises(PermissionDenied):
        _give(cast[role], city)
    assert not Feedback.objects.exists()


def test_comment_at_limit_is_accepted(citizen, city):
    assert len(_give(citizen, city, comment="y" * 2000).comment) == 2000


def test_summary_counts_mean_and_distribution_in_period_and_city(city, other_city):
    now = dt.datetime(2025, 6, 10, 12, tzinfo=dt.UTC)
    for n, rating in enumerate([5, 5, 4, 2]):
        Feedback.objects.create(city=city, subject_type=SUBJECT, subject_id=str(n), rating=rating,
                                created_at=now)
    Feedback.objects.create(city=city, subject_type=SUBJECT, subject_id="old", rating=1,
                            created_at=now - dt.timedelta(days=40))
    Feedback.objects.create(city=other_city, subject_type=SUBJECT, subject_id="x", rating=1, created_at=now)
    Feedback.objects.create(city=city, subject_type="other.thing", subject_id="x", rating=1, created_at=now)
    summary = selectors.feedback_summary(city, SUBJECT, Period(dt.date(2025, 6, 1), dt.date(2025, 7, 1)))
    assert summary == {"count": 4, "mean": 4.0, "distribution": {1: 0, 2: 1, 3: 0, 4: 1, 5: 2}}
    empty = selectors.feedback_summary(city, SUBJECT, Period(dt.date(2024, 1, 1), dt.date(2024, 2, 1)))
    assert empty["count"] == 0 and empty["mean"] is None


def test_period_uses_the_city_local_date(city):
    # 23:30 on 31 May in Hà Nội time is 16:30 UTC: it belongs to May, not June.
    late = dt.datetime(2025, 5, 31, 16, 30, tzinfo=dt.UTC)
    Feedback.objects.create(city=city, subject_type=SUBJECT, subject_id="1", rating=3, created_at=late)
    june = selectors.feedback_summary(city, SUBJECT, Period(dt.date(2025, 6, 1), dt.date(2025, 7, 1)))
    may = selectors.feedback_summary(city, SUBJECT, Period(dt.date(2025, 5, 1), dt.date(2025, 6, 1)))
    assert (may["count"], june["count"]) == (1, 0)


def test_api_give_and_conflict(client, citizen, city):
    client.force_login(citizen)
    body = {"subject_type": SUBJECT, "subject_id": "42", "rating": 5, "comment": "Tốt"}
    response = client.post("/api/v1/feedback", body, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["rating"] == 5
    again = client.post("/api/v1/feedback", body, content_type="application/json")
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"


@pytest.mark.parametrize("body", [
    {"subject_type": SUBJECT, "subject_id": "1", "rating": 9},
    {"subject_type": SUBJECT, "subject_id": "1", "rating": "five"},
    {"subject_type": SUBJECT, "subject_id": "1"},
    {"subject_type": "nope", "subject_id": "1", "rating": 3},
    {"subject_type": SUBJECT, "subject_id": "1", "rating": 3, "comment": "z" * 2001},
])
def test_api_bad_input_is_422_and_stores_nothing(client, citizen, city, body):
    client.force_login(citizen)
    response = client.post("/api/v1/feedback", body, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["message"]
    assert not Feedback.objects.exists()


def test_api_summary_is_staff_only(client, cast, city):
    url = f"/api/v1/feedback/summary?subject_type={SUBJECT}&start=2025-01-01&end=2026-01-01"
    assert client.get(url).status_code == 401
    client.force_login(cast["citizen"])
    assert client.get(url).status_code == 403
    client.force_login(cast["operator"])
    response = client.get(url)
    assert response.status_code == 200
    assert response.json() == {"count": 0, "mean": None,
                               "distribution": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}}
    bad = client.get(f"/api/v1/feedback/summary?subject_type={SUBJECT}&start=2025-02-01&end=2025-01-01")
    assert bad.status_code == 422


def test_api_feedback_is_rate_limited_per_citizen(client, citizen, city):
    city.settings = {"ratelimits": {"scopes": {"core.feedback.give": {"citizen_write": "2/h"}}}}
    city.save()
    client.force_login(citizen)
    codes = [
        client.post("/api/v1/feedback", {"subject_type": SUBJECT, "subject_id": str(n), "rating": 4},
                    content_type="application/json").status_code
        for n in range(3)
    ]
    assert codes == [201, 201, 429]
    assert Feedback.objects.count() == 2
