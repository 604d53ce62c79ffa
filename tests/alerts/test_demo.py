"""The warnings demo seeder: three active warnings of the right kinds (the automatic one raised by the
rule engine through ingestion, and kept by the live simulator), history for the statistics, safety
replies inside the city, fast and deterministic."""

from __future__ import annotations

import datetime as dt
import random
import time

import pytest
from django.db import transaction
from django.utils import timezone

from dothi.alerts import demo, selectors, stats
from dothi.alerts.models import (
    AlertCategory,
    AlertRule,
    CapMessage,
    Fanout,
    PublicWarning,
    SafetyReply,
    Subscription,
)
from dothi.core.demo import DEMO_SEED, _seed_organisations, _seed_people
from dothi.core.manifests import Period, registry
from dothi.core.memo import ProcessMemo
from dothi.core.models import Notification

pytestmark = pytest.mark.django_db

# The whole demo must start within its budget; this seeder's share is about half a second. Generous
# for a loaded machine, yet seeding row by row through the services would not fit.
SEED_BUDGET_S = 5


@pytest.fixture
def demo_city(danang):
    """Đà Nẵng with the core demo's people and the sensing demo's sensors (two weeks: conftest)."""
    from dothi.sensing import demo as sensing_demo

    now = timezone.now()
    orgs = _seed_organisations(danang, now)
    _seed_people(danang, orgs, random.Random(DEMO_SEED), now)
    sensing_demo.seed(city=danang, rng=random.Random(f"{DEMO_SEED}:sensing"), now=now)
    return danang


def _seed(city, now=None):
    demo.seed(city=city, rng=random.Random(f"{DEMO_SEED}:alerts"), now=now or timezone.now())


def _fingerprint(city):
    warnings = PublicWarning.objects.for_city(city)
    # Everything but the random uids (and the times the services stamp with the clock).
    return (
        sorted(AlertCategory.objects.for_city(city).values_list("code", "name_vi", "is_news", "asks_safety")),
        sorted(
            AlertRule.objects.for_city(city).values_list("name", "quantity_code", "levels", "commune_codes")
        ),
        sorted(
            (s.user.username, s.home_commune_id or "", s.work_commune_id or "", s.categories, s.min_severity,
             tuple(sorted(s.areas.values_list("commune_code", flat=True))))
            for s in Subscription.objects.for_city(city).select_related("user")
        ),
        sorted(
            warnings.values_list("headline_vi", "status", "source", "severity", "version", "commune_codes")
        ),
        sorted(
            SafetyReply.objects.for_city(city).values_list("user__username", "status", "lat", "lon", "note")
        ),
        sorted(
            Fanout.objects.filter(city=city, status="done").values_list(
                "message__warning__headline_vi", "message__version", "targeted"
            )
        ),
        sorted(Notification.objects.filter(city=city).values_list("recipient__username", "title", "read_at")),
    )


def test_three_active_warnings_of_the_right_kinds(demo_city):
    started = time.perf_counter()
    _seed(demo_city)
    elapsed = time.perf_counter() - started
    assert elapsed < SEED_BUDGET_S, f"the alerts demo took {elapsed:.2f} s"

    active = list(selectors.active_warnings(demo_city))
    assert len(active) == 3, [(w.headline_vi, w.source) for w in active]
    by_kind = {("rule" if w.source == "rule" else w.category.code): w for w in active}
    assert set(by_kind) == {"rule", "storm", "security"}

    automatic = by_kind["rule"]
    assert automatic.category.code == "flood" and automatic.severity == "Severe"
    assert automatic.rule.quantity_code == "flood_depth" and automatic.trigger["sensor"] == demo.FLOOD_GAUGE
    assert automatic.asks_safety and automatic.expires_at is None
    assert CapMessage.objects.filter(warning=automatic, msg_type="Alert").count() == 1

    storm = by_kind["storm"]
    assert storm.source == "manual" and storm.issuer.code == "dai-kttv"
    assert storm.created_by.username == "canbo.kttv" and storm.approved_by.username == "truongphong.kttv"
    now = timezone.now()
    assert now < storm.onset_at < storm.expires_at
    assert storm.headline_en and storm.description_en and storm.instruction_en

    bulletin = by_kind["security"]
    assert bulletin.category.is_news and bulletin.issuer.code == "cong-an"
    assert now + dt.timedelta(days=2) < bulletin.expires_at < now + dt.timedelta(days=4)

    # Each published message is a rendered CAP document with its delivery log.
    for warning in active:
        message = CapMessage.objects.get(warning=warning, version=1)
        assert message.xml.startswith("<?xml") and "urn:oasis:names:tc:emergency:cap:1.2" in message.xml
        assert Fanout.objects.filter(message=message).exists()


def test_history_feeds_the_statistics(demo_city):
    _seed(demo_city)
    city = demo_city
    past = PublicWarning.objects.for_city(city).filter(status__in=["ended", "cancelled"])
    assert past.filter(status="cancelled").exists() and past.filter(status="ended", source="rule").exists()
    assert past.filter(published_at__lt=timezone.now() - dt.timedelta(days=90)).exists()
    # The fan-out logs tell the truth: as many inbox notifications as they say.
    for fanout in Fanout.objects.filter(city=city, status="done").select_related("message__warning"):
        from dothi.alerts.delivery import stamp_for, url_for

        written = Notification.objects.filter(
            city=city, url=url_for(fanout.message.warning), created_at=stamp_for(fanout.message)
        ).count()
        assert written == fanout.inbox == fanout.targeted
    today = timezone.localdate()
    quarter = Period(today - dt.timedelta(days=90), today + dt.timedelta(days=1))
    for kpi in stats.KPIS:
        value = kpi.compute(city, quarter)
        assert value.value is not None and value.value > 0 or kpi.code == "alerts.median_fanout_seconds", kpi
    rows = list(stats.open_dataset_rows(city))
    assert {r["category_code"] for r in rows} >= {"flood", "storm", "security", "health", "traffic"}


def test_safety_replies_some_need_help_inside_the_city(demo_city):
    from dothi.core import geo

    _seed(demo_city)
    automatic = PublicWarning.objects.for_city(demo_city).get(source="rule", status="published")
    replies = SafetyReply.objects.filter(warning=automatic)
    need = replies.filter(status="need_help")
    assert need.count() == len(demo.NEED_HELP_NOTES) and replies.filter(status="safe").count() >= 3
    for reply in need:
        commune = geo.locate(demo_city, reply.lon, reply.lat)
        assert commune is not None and commune.code in automatic.commune_codes
    # The control centre's panel gives counts, no people.
    panel = registry.get("alerts").panels[1].data(demo_city)
    assert panel["need_help"] == len(demo.NEED_HELP_NOTES) and panel["open"] == len(demo.NEED_HELP_NOTES)
    assert "user" not in str(panel)


def test_known_citizens_are_subscribed_where_they_live(demo_city):
    from dothi.identity.models import User

    _seed(demo_city)
    an = User.objects.get(username="demo-citizen-0001")
    summary = selectors.home_summary(an, demo_city)
    assert summary["scope"] == "home" and summary["commune"].name == "Phường Hải Châu"
    assert {w.source for w in summary["warnings"]} == {"rule", "manual"}
    # The citizen home page's notices (the manifest's home_notices): the same warnings, worst first.
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user, request.city = an, demo_city
    notices = registry.get("alerts").home_notices(request, demo_city)
    assert [n["title"] for n in notices] == [w.headline for w in summary["warnings"]]
    assert notices[0]["level"] == "danger" and notices[0]["url"].startswith("/")
    assert all("Hải Châu" in n["group"] for n in notices)
    citizens = User.objects.filter(home_city=demo_city, kind="citizen").count()
    subscribed = Subscription.objects.for_city(demo_city).count()
    assert 0.5 * citizens < subscribed < 0.9 * citizens


def test_the_live_simulator_does_not_end_the_automatic_warning(demo_city):
    """`dothi demo` runs `dothi simulate-sensors --direct` (no storm, no flood): a round of its normal
    readings of every sensor, ingested, leaves the automatic warning active."""
    from dothi.sensing import catalogue
    from dothi.sensing.ingestion import ingest
    from dothi.sensing.keys import source_get_or_create
    from dothi.sensing.simulate import Model, Scenario

    _seed(demo_city)
    cat = catalogue.for_city(demo_city)
    model = Model(demo_city.time_zone, Scenario(), seed=0)
    source = source_get_or_create(city=demo_city, name="simulator")
    for minutes in (1, 2):  # two rounds, a minute apart
        when = timezone.now() + dt.timedelta(seconds=30 * minutes)
        items = []
        for (sensor, quantity), (_sid, qid, low, high) in sorted(cat.pairs.items()):
            if cat.sensors[sensor].kind == "camera":
                continue
            value = model.value(sensor, quantity, when, 10.0, low, high)
            if value is not None:
                items.append((sensor, quantity, when, round(value, 3)))
        ingest(city=demo_city, source=source, items=items)
    assert PublicWarning.objects.for_city(demo_city).filter(
        source="rule", rule__quantity_code="flood_depth", status="published"
    ).count() == 1


def test_seed_is_deterministic(demo_city):
    class Undo(Exception):
        pass

    now = timezone.now()
    try:
        with transaction.atomic():
            _seed(demo_city, now)
            first = _fingerprint(demo_city)
            raise Undo
    except Undo:
        pass
    ProcessMemo.clear_all()  # the rolled-back rows were cached (catalogue, compiled rules)
    assert not PublicWarning.objects.for_city(demo_city).exists()
    _seed(demo_city, now)
    assert _fingerprint(demo_city) == first


def test_seeder_is_declared_after_sensing():
    seeders = [name for name, _seed in registry.seeders()]
    assert seeders.index("sensing") < seeders.index("alerts")
    assert registry.get("alerts").seeder is demo.seed
