"""The warnings' KPIs and open dataset, against values computed by hand from a small, known history.

The history (period: March 2026 in Đà Nẵng's local days, UTC+7; communes A and B):

| warning | category | source | first published (UTC) | onset | status | area | in March? |
|---|---|---|---|---|---|---|---|
| w1 | flood | manual | 03-05 01:00 | +90 min | ended | A, B | yes |
| w2 | storm | manual | 03-10 01:00 | −30 min (late) | published | A | yes |
| w3 | flood | rule | 03-12 01:00 | — | ended | B | yes |
| w4 | storm | manual | 03-15 01:00 | — | cancelled | A | yes |
| w5 | security (news) | manual | 03-20 01:00 | +60 min | published | A | yes |
| w6 | flood | manual | draft | | draft | A | no |
| w7 | storm | manual | 02-28 17:30 (03-01 00:30 local) | +30 min | ended | B | yes |
| w8 | storm | manual | 03-31 17:30 (04-01 00:30 local) | +10 min | published | B | no |
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from dothi.alerts import stats
from dothi.alerts.models import (
    AlertCategory,
    CapMessage,
    Fanout,
    PublicWarning,
    Subscription,
    SubscriptionArea,
)
from dothi.core.manifests import Period, registry
from tests import factories

pytestmark = pytest.mark.django_db

UTC = dt.UTC
MARCH = Period(dt.date(2026, 3, 1), dt.date(2026, 4, 1))
A, B = "20242", "20209"
_ids = itertools.count(1)


def _t(month, day, hour, minute=0):
    return dt.datetime(2026, month, day, hour, minute, tzinfo=UTC)


def _category(city, code, **extra):
    return AlertCategory.objects.create(
        city=city, code=code, name_vi=code.upper(), name_en=code.title(), **extra
    )


def _warning(city, category, *, published, onset=None, status="published", source="manual", area=(A,)):
    return PublicWarning.objects.create(
        city=city, category=category, source=source, status=status, headline_vi=f"w {category.code}",
        commune_codes=list(area), published_at=published, onset_at=onset,
        effective_at=published or _t(3, 1, 0), version=0 if published is None else 1,
    )


def _message(warning, version, sent_at, *, fanout=None):
    message = CapMessage.objects.create(
        city=warning.city, warning=warning, version=version, msg_type="Alert" if version == 1 else "Update",
        identifier=f"test-{next(_ids)}", sender="test@dothi", sent_at=sent_at, xml="<alert/>",
    )
    if fanout is not None:
        status, targeted, inbox, channels, seconds = fanout
        Fanout.objects.create(
            city=warning.city, message=message, status=status, targeted=targeted, inbox=inbox,
            channel_deliveries=channels, started_at=sent_at,
            finished_at=sent_at + dt.timedelta(seconds=seconds) if seconds is not None else None,
        )
    return message


def _subscribe(city, communes, *, active=True):
    user = factories.make_citizen(city)
    sub = Subscription.objects.create(city=city, user=user, is_active=active)
    SubscriptionArea.objects.bulk_create(
        SubscriptionArea(city=city, subscription=sub, commune_code=c) for c in communes
    )
    return sub


@pytest.fixture
def history(city, other_city):
    flood = _category(city, "flood", asks_safety=True)
    storm = _category(city, "storm")
    security = _category(city, "security", is_news=True)
    minutes = dt.timedelta(minutes=1)

    w1 = _warning(city, flood, published=_t(3, 5, 1), onset=_t(3, 5, 1) + 90 * minutes, status="ended",
                  area=(A, B))
    _message(w1, 1, _t(3, 5, 1), fanout=("done", 3, 2, {"email": 3, "sms": 2}, 4))
    _message(w1, 2, _t(3, 5, 3), fanout=("done", 3, 3, {"email": 1}, 10))
    w2 = _warning(city, storm, published=_t(3, 10, 1), onset=_t(3, 10, 1) - 30 * minutes)
    _message(w2, 1, _t(3, 10, 1), fanout=("done", 2, 1, {}, 1))
    w3 = _warning(city, flood, published=_t(3, 12, 1), status="ended", source="rule", area=(B,))
    _message(w3, 1, _t(3, 12, 1), fanout=("running", 2, 1, {}, None))
    w4 = _warning(city, storm, published=_t(3, 15, 1), status="cancelled")
    _message(w4, 1, _t(3, 15, 1))  # no fan-out row: it reached nobody
    w5 = _warning(city, security, published=_t(3, 20, 1), onset=_t(3, 20, 2))
    _message(w5, 1, _t(3, 20, 1), fanout=("done", 50, 50, {"sms": 50}, 2))  # news: in deliveries only
    _warning(city, flood, published=None, status="draft")
    w7 = _warning(city, storm, published=_t(2, 28, 17, 30), onset=_t(2, 28, 18), status="ended", area=(B,))
    _message(w7, 1, _t(2, 28, 17, 30), fanout=("done", 1, 1, {}, 20))
    w8 = _warning(city, storm, published=_t(3, 31, 17, 30), onset=_t(3, 31, 17, 40), area=(B,))
    _message(w8, 1, _t(3, 31, 17, 30), fanout=("done", 100, 100, {"email": 7}, 3))

    # Another city's warning in March counts nowhere here.
    elsewhere = _category(other_city, "flood")
    w9 = _warning(other_city, elsewhere, published=_t(3, 6, 1), onset=_t(3, 6, 9), area=(A,))
    _message(w9, 1, _t(3, 6, 1), fanout=("done", 1000, 1000, {"sms": 1000}, 600))

    # People subscribed: s1 to A and B, s2 to A, s3 to B; s4 (A) has switched warnings off; one person
    # in the other city (A).
    _subscribe(city, [A, B])
    _subscribe(city, [A])
    _subscribe(city, [B])
    _subscribe(city, [A], active=False)
    _subscribe(other_city, [A])
    return city


def test_warnings_and_news_published(history):
    value = stats.kpi_warnings_published(history, MARCH)
    # w1, w2, w3, w4, w7: not the draft, not the news, not w8 (April, local time), not the other city.
    assert (value.value, value.numerator, value.sample_size) == (5, 5, 5)
    assert "1 raised by sensor rules" in value.note
    assert stats.kpi_news_published(history, MARCH).value == 1


def test_mean_lead_time(history):
    value = stats.kpi_mean_lead_time(history, MARCH)
    # w1 90, w2 late → 0, w3 rule → 0, w7 30; w4 has no onset, w5 is news: (90 + 0 + 0 + 30) / 4.
    assert (value.value, value.numerator, value.denominator, value.sample_size) == (30.0, 120.0, 4, 4)


def test_median_fanout_duration(history):
    value = stats.kpi_median_fanout_seconds(history, MARCH)
    # Finished fan-outs of March's messages: 4, 10, 1, 2 (news counts: it was delivered), 20 → median 4.
    assert (value.value, value.denominator, value.sample_size) == (4.0, 5, 5)


def test_deliveries(history):
    value = stats.kpi_deliveries(history, MARCH)
    # inbox 2 + 3 + 1 + 1 + 50 + 1 = 58; e-mail 3 + 1 = 4; SMS 2 + 50 = 52.
    assert (value.value, value.numerator, value.sample_size) == (114, 114, 6)
    assert value.note == "inbox 58, email 4, sms 52 over 6 messages"


def test_delivery_reach(history):
    value = stats.kpi_delivery_reach(history, MARCH)
    # Finished fan-outs only (w3's is still running): inbox 2 + 3 + 1 + 50 + 1 = 57 of 3 + 3 + 2 + 50 + 1.
    assert (value.numerator, value.denominator, value.sample_size) == (57, 59, 5)
    assert value.value == round(100 * 57 / 59, 2)


def test_area_reach(history):
    value = stats.kpi_area_reach(history, MARCH)
    # People in the area / reached by the first message: w1 {s1, s2, s3} 3 / 2; w2 {s1, s2} 2 / 1;
    # w3 {s1, s3} 2 / 1; w4 {s1, s2} 2 / 0 (no fan-out); w7 {s1, s3} 2 / 1. News (w5) is left out.
    assert (value.numerator, value.denominator, value.sample_size) == (5, 11, 5)
    assert value.value == round(100 * 5 / 11, 2)


def test_an_empty_period_has_no_values(history):
    quiet = Period(dt.date(2025, 1, 1), dt.date(2025, 2, 1))
    for kpi in stats.KPIS:
        value = kpi.compute(history, quiet)
        if kpi.code in ("alerts.warnings_published", "alerts.news_published"):
            assert value.value == 0, kpi.code
        else:
            assert value.value is None and value.note, kpi.code


def test_open_dataset(history):
    rows = list(stats.open_dataset_rows(history))
    got = [(r["month"], r["category_code"], r["commune_code"], r["count"], r["automatic"], r["cancelled"])
           for r in rows]
    assert got == [
        # by month, category code, commune code (B = 20209 before A = 20242)
        ("2026-03", "flood", B, 2, 1, 0),
        ("2026-03", "flood", A, 1, 0, 0),
        ("2026-03", "security", A, 1, 0, 0),
        ("2026-03", "storm", B, 1, 0, 0),  # w7: 28 February in UTC, 1 March in Đà Nẵng
        ("2026-03", "storm", A, 2, 0, 1),
        ("2026-04", "storm", B, 1, 0, 0),
    ]
    security = rows[2]
    assert security["is_news"] is True and security["category_en"] == "Security"
    # Counts only: nothing about people.
    assert set(rows[0]) == {"month", "category_code", "category", "category_en", "is_news", "commune_code",
                            "commune", "count", "automatic", "cancelled"}


def test_the_manifest_declares_them():
    manifest = registry.get("alerts")
    assert {k.code for k in manifest.kpis} == {k.code for k in stats.KPIS}
    assert manifest.datasets == stats.DATASETS
    assert stats.DATASETS[0].min_group_size == 5
