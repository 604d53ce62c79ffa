"""The fan-out of a CAP message (dothi.alerts.delivery.fanout_run): who gets it, in which language,
on which channels, exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from dothi.alerts import delivery
from dothi.alerts.models import (
    SEVERITY_RANK,
    AlertCategory,
    CapMessage,
    Fanout,
    PublicWarning,
    Subscription,
    SubscriptionArea,
)
from dothi.core import services as core_services
from dothi.core.models import AuditEvent, Delivery, Notification
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def db_tasks(settings):
    """The real database task backend (the alerts conftest runs tasks immediately)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SMS_GATEWAY_URL = ""


@pytest.fixture
def run_worker(monkeypatch):
    """Run the django-tasks-db worker once over every ready task (its connection recycling is off: it
    would close the test's connection)."""
    from django_tasks_db.management.commands import db_worker

    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)

    def run() -> None:
        db_worker.Worker(
            queue_names=["*"], interval=0, batch=True, backend_name="default", startup_delay=False,
            max_tasks=None, worker_id="alerts-test-worker", excluded_queue_names=[],
        ).run()

    return run


# --- helpers: warnings, messages and subscriptions written directly, so these tests depend on the fan-out
# alone (one test at the end goes through the services) --------------------------------------------------


def subscribe(user, city, *, communes=(), categories=(), min_severity="Unknown", active=True):
    sub = Subscription.objects.create(
        city=city, user=user, categories="".join(f",{c}" for c in categories) + ("," if categories else ""),
        min_severity=min_severity, min_rank=SEVERITY_RANK[min_severity], is_active=active,
    )
    for code in dict.fromkeys(communes):
        SubscriptionArea.objects.create(city=city, subscription=sub, commune_code=code)
    return sub


def person(city, *, language="vi", email=""):
    user = factories.make_citizen(city)
    user.language, user.email = language, email
    user.save(update_fields=["language", "email"])
    return user


def make_warning(ax, *, category=None, severity="Severe", communes=None, **extra):
    fields = {
        "city": ax.city, "category": category or ax.flood, "status": PublicWarning.Status.PUBLISHED,
        "severity": severity, "headline_vi": "Cảnh báo ngập lụt", "headline_en": "Flood warning",
        "description_vi": "Mực nước sông dâng cao.\nChi tiết thêm.",
        "description_en": "The river is rising.\nMore.",
        "instruction_vi": "Di chuyển lên chỗ cao.", "instruction_en": "Move to higher ground.",
        "commune_codes": [ax.commune_a.code] if communes is None else communes,
        "expires_at": timezone.now() + timedelta(hours=6), "published_at": timezone.now(),
    }
    fields.update(extra)
    return PublicWarning.objects.create(**fields)


def publish(warning, msg_type="Alert", **changes) -> Fanout:
    """The next CAP message of the warning (optionally changing it first) and its Fanout."""
    for name, value in changes.items():
        setattr(warning, name, value)
    warning.version += 1
    warning.save()
    message = CapMessage.objects.create(
        city=warning.city, warning=warning, version=warning.version, msg_type=msg_type,
        identifier=f"test-{warning.uid}-{warning.version}", sender="test@dothi", sent_at=timezone.now(),
        xml="<alert/>",
    )
    return Fanout.objects.create(city=warning.city, message=message)


def inbox(fanout=None, **filters):
    qs = Notification.objects.filter(topic__startswith="alerts.", **filters)
    if fanout is not None:
        message = fanout.message
        qs = qs.filter(created_at=delivery.stamp_for(message), url=delivery.url_for(message.warning))
    return qs


def recipients(fanout) -> set[int]:
    return set(inbox(fanout).values_list("recipient_id", flat=True))


# --- who gets it ---------------------------------------------------------------------------------------


def test_reaches_home_work_and_other_communes_once_and_nobody_else(ax, other_city):
    a, b = ax.commune_a.code, ax.commune_b.code
    home, work, extra, everywhere = (person(ax.city) for _ in range(4))
    subscribe(home, ax.city, communes=[a])
    subscribe(work, ax.city, communes=[b, a])
    subscribe(extra, ax.city, communes=[b, a, "99999"])
    subscribe(everywhere, ax.city, communes=[a, b])
    elsewhere, paused, unsubscribed, stranger = (person(ax.city) for _ in range(4))
    subscribe(elsewhere, ax.city, communes=[b])
    subscribe(paused, ax.city, communes=[a], active=False)
    # Another city's subscriber whose area row carries the same code is never reached.
    stranger.home_city = other_city
    stranger.save()
    subscribe(stranger, other_city, communes=[a])
    gone = person(ax.city)
    subscribe(gone, ax.city, communes=[a])
    gone.is_active = False
    gone.save()

    fanout = delivery.fanout_run(publish(make_warning(ax)).pk)

    assert recipients(fanout) == {home.pk, work.pk, extra.pk, everywhere.pk}
    assert inbox(fanout).count() == 4  # one each, whatever the number of matching communes
    assert (fanout.status, fanout.targeted, fanout.inbox) == ("done", 4, 4)
    assert not Notification.objects.filter(city=other_city).exists()
    assert {n.city_id for n in inbox(fanout)} == {ax.city.pk}


def test_a_warning_over_several_communes_reaches_each_commune(ax):
    a, b = ax.commune_a.code, ax.commune_b.code
    in_a, in_b = person(ax.city), person(ax.city)
    subscribe(in_a, ax.city, communes=[a])
    subscribe(in_b, ax.city, communes=[b])
    fanout = delivery.fanout_run(publish(make_warning(ax, communes=[a, b])).pk)
    assert recipients(fanout) == {in_a.pk, in_b.pk}


def test_categories_filter(ax):
    a = ax.commune_a.code
    heat = AlertCategory.objects.create(city=ax.city, code="heat_wave", name_vi="Nắng nóng")
    every, flood_and_storm, storm_only, look_alike, heat_fan = (person(ax.city) for _ in range(5))
    subscribe(every, ax.city, communes=[a])
    subscribe(flood_and_storm, ax.city, communes=[a], categories=["storm", "flood"])
    subscribe(storm_only, ax.city, communes=[a], categories=["storm"])
    # "_" is a LIKE wildcard: it must not let "heatxwave" match "heat_wave".
    subscribe(look_alike, ax.city, communes=[a], categories=["heatxwave", "floods"])
    subscribe(heat_fan, ax.city, communes=[a], categories=["heat_wave"])

    flood = delivery.fanout_run(publish(make_warning(ax)).pk)
    assert recipients(flood) == {every.pk, flood_and_storm.pk}
    assert set(inbox(flood).values_list("topic", flat=True)) == {"alerts.flood"}

    hot = delivery.fanout_run(publish(make_warning(ax, category=heat)).pk)
    assert recipients(hot) == {every.pk, heat_fan.pk}
    assert set(inbox(hot).values_list("topic", flat=True)) == {"alerts.heat_wave"}


@pytest.mark.parametrize(("severity", "reached"), [
    ("Minor", {"unknown", "minor"}),
    ("Severe", {"unknown", "minor", "severe"}),
    ("Extreme", {"unknown", "minor", "severe", "extreme"}),
])
def test_severity_filter(ax, severity, reached):
    people = {}
    for name in ("unknown", "minor", "severe", "extreme"):
        people[name] = person(ax.city)
        subscribe(people[name], ax.city, communes=[ax.commune_a.code], min_severity=name.title())
    fanout = delivery.fanout_run(publish(make_warning(ax, severity=severity)).pk)
    assert recipients(fanout) == {people[name].pk for name in reached}


def test_a_warning_without_communes_reaches_nobody(ax):
    subscribe(person(ax.city), ax.city, communes=[ax.commune_a.code])
    fanout = delivery.fanout_run(publish(make_warning(ax, communes=[])).pk)
    assert (fanout.status, fanout.targeted, fanout.inbox) == ("done", 0, 0)
    assert not inbox().exists()


# --- what they get -------------------------------------------------------------------------------------


def test_title_and_body_in_the_recipients_language(ax):
    vi, en, en_us = person(ax.city), person(ax.city, language="en"), person(ax.city, language="en-us")
    for user in (vi, en, en_us):
        subscribe(user, ax.city, communes=[ax.commune_a.code])
    warning = make_warning(ax)
    fanout = delivery.fanout_run(publish(warning).pk)
    got = {n.recipient_id: n for n in inbox(fanout)}
    assert got[vi.pk].title == "Cảnh báo ngập lụt"
    assert got[vi.pk].body == "Mực nước sông dâng cao.\nDi chuyển lên chỗ cao."
    assert got[en.pk].title == got[en_us.pk].title == "Flood warning"
    assert got[en.pk].body == "The river is rising.\nMove to higher ground."
    assert {n.url for n in got.values()} == {f"/alerts/{warning.uid}/"}
    assert {n.read_at for n in got.values()} == {None}
    # The inbox is dated when the message was sent.
    assert abs((got[vi.pk].created_at - fanout.message.sent_at).total_seconds()) < 1


def test_english_readers_get_the_vietnamese_text_when_there_is_no_english(ax):
    en = person(ax.city, language="en")
    subscribe(en, ax.city, communes=[ax.commune_a.code])
    fanout = delivery.fanout_run(publish(make_warning(ax, headline_en="", description_en="")).pk)
    note = inbox(fanout).get()
    assert note.title == "Cảnh báo ngập lụt"
    assert note.body == "Mực nước sông dâng cao.\nMove to higher ground."


# --- channels ------------------------------------------------------------------------------------------


def test_extra_channels_are_queued_in_bulk_and_delivered_by_the_worker(ax, db_tasks, run_worker):
    a = ax.commune_a.code
    by_topic = person(ax.city, email="topic@example.vn")
    by_star = person(ax.city, email="star@example.vn")
    topic_beats_star = person(ax.city, email="quiet@example.vn")
    inbox_only = person(ax.city, email="inbox@example.vn")
    not_reached = person(ax.city, email="far@example.vn")
    for user in (by_topic, by_star, topic_beats_star, inbox_only):
        subscribe(user, ax.city, communes=[a])
    subscribe(not_reached, ax.city, communes=[ax.commune_b.code])
    core_services.set_notification_preferences(user=by_topic, topic="alerts.flood", channels=["email"])
    core_services.set_notification_preferences(user=by_star, topic="*", channels=["email", "sms"])
    core_services.set_notification_preferences(user=topic_beats_star, topic="*", channels=["email"])
    core_services.set_notification_preferences(user=topic_beats_star, topic="alerts.flood", channels=[])
    core_services.set_notification_preferences(user=not_reached, topic="*", channels=["email"])

    fanout = delivery.fanout_run(publish(make_warning(ax)).pk)

    assert fanout.channel_deliveries == {"email": 2, "sms": 1}
    assert sorted(Delivery.objects.values_list("notification__recipient_id", "channel", "status")) == sorted([
        (by_topic.pk, "email", "queued"), (by_star.pk, "email", "queued"), (by_star.pk, "sms", "queued"),
    ])
    assert DBTaskResult.objects.count() == 1  # one task for the chunk, not one per delivery
    assert mail.outbox == []

    run_worker()

    log = {(d.notification.recipient_id, d.channel): (d.status, d.detail) for d in Delivery.objects.all()}
    assert log == {
        (by_topic.pk, "email"): ("sent", "e-mail accepted"),
        (by_star.pk, "email"): ("sent", "e-mail accepted"),
        (by_star.pk, "sms"): ("skipped", "not configured"),
    }
    assert sorted(m.to[0] for m in mail.outbox) == ["star@example.vn", "topic@example.vn"]
    assert {m.subject for m in mail.outbox} == {"Cảnh báo ngập lụt"}
    assert all(f"/alerts/{fanout.message.warning.uid}/" in m.body for m in mail.outbox)


def test_deliveries_are_enqueued_in_chunks(ax, db_tasks, monkeypatch):
    monkeypatch.setattr(delivery, "CHUNK", 2)
    for i in range(5):
        user = person(ax.city, email=f"p{i}@example.vn")
        subscribe(user, ax.city, communes=[ax.commune_a.code])
        core_services.set_notification_preferences(user=user, topic="*", channels=["email"])
    fanout = delivery.fanout_run(publish(make_warning(ax)).pk)
    assert fanout.channel_deliveries == {"email": 5}
    chunks = sorted(len(r.args_kwargs["args"][0]) for r in DBTaskResult.objects.all())
    assert chunks == [1, 2, 2]
    queued = sorted(i for r in DBTaskResult.objects.all() for i in r.args_kwargs["args"][0])
    assert queued == sorted(Delivery.objects.values_list("pk", flat=True))


# --- exactly once --------------------------------------------------------------------------------------


def test_running_a_fanout_twice_writes_nothing_twice(ax, db_tasks):
    for i in range(3):
        user = person(ax.city, email=f"p{i}@example.vn")
        subscribe(user, ax.city, communes=[ax.commune_a.code])
        core_services.set_notification_preferences(user=user, topic="*", channels=["email"])
    fanout = publish(make_warning(ax))
    first = delivery.fanout_run(fanout.pk)
    counts = (Notification.objects.count(), Delivery.objects.count(), DBTaskResult.objects.count())
    assert counts == (3, 3, 1)

    again = delivery.fanout_run(fanout.pk)
    assert (again.status, again.inbox, again.finished_at) == ("done", 3, first.finished_at)
    assert (Notification.objects.count(), Delivery.objects.count(), DBTaskResult.objects.count()) == counts

    # Even re-queued by hand, the guards keep the rows single.
    Fanout.objects.filter(pk=fanout.pk).update(status=Fanout.Status.QUEUED)
    third = delivery.fanout_run(fanout.pk)
    assert (third.status, third.targeted, third.inbox, third.channel_deliveries) == ("done", 3, 0, {})
    assert (Notification.objects.count(), Delivery.objects.count(), DBTaskResult.objects.count()) == counts

    # Re-queued after somebody subscribed: only the newcomer is written.
    newcomer = person(ax.city)
    subscribe(newcomer, ax.city, communes=[ax.commune_a.code])
    Fanout.objects.filter(pk=fanout.pk).update(status=Fanout.Status.QUEUED)
    fourth = delivery.fanout_run(fanout.pk)
    assert (fourth.targeted, fourth.inbox) == (4, 1)
    assert inbox(fourth).filter(recipient=newcomer).count() == 1
    assert Notification.objects.count() == 4


def test_a_failed_run_stores_nothing_and_can_be_retried(ax, monkeypatch):
    user = person(ax.city)
    subscribe(user, ax.city, communes=[ax.commune_a.code])
    fanout = publish(make_warning(ax))

    def broken(*args, **kwargs):
        raise RuntimeError("channel table unavailable")

    monkeypatch.setattr(delivery, "_write_deliveries", broken)
    with pytest.raises(RuntimeError):
        delivery.fanout_run(fanout.pk)
    fanout.refresh_from_db()
    assert (fanout.status, fanout.inbox) == ("failed", 0)
    assert "channel table unavailable" in fanout.detail
    assert not inbox().exists()

    monkeypatch.undo()
    done = delivery.fanout_run(fanout.pk)
    assert (done.status, done.inbox, done.detail) == ("done", 1, "")
    assert recipients(done) == {user.pk}


# --- updates and all-clears ----------------------------------------------------------------------------


def test_update_reaches_the_audience_of_the_warning_as_it_now_stands(ax):
    a = ax.commune_a.code
    any_level, severe_only = person(ax.city), person(ax.city, language="en")
    subscribe(any_level, ax.city, communes=[a])
    subscribe(severe_only, ax.city, communes=[a], min_severity="Severe")
    warning = make_warning(ax, severity="Moderate")
    alert = delivery.fanout_run(publish(warning).pk)
    assert recipients(alert) == {any_level.pk}

    update = delivery.fanout_run(publish(warning, "Update", severity="Severe").pk)
    assert recipients(update) == {any_level.pk, severe_only.pk}
    titles = {n.recipient_id: n.title for n in inbox(update)}
    assert titles[severe_only.pk] == "Update: Flood warning"
    assert "Cảnh báo ngập lụt" in titles[any_level.pk]
    assert inbox().count() == 3  # the Alert's notification stays; the Update is a new one


def test_all_clear_reaches_those_the_warning_reached(ax):
    a, b = ax.commune_a.code, ax.commune_b.code
    stays, unsubscribes, moves, newcomer = (person(ax.city) for _ in range(4))
    english = person(ax.city, language="en")
    for user in (stays, unsubscribes, moves, english):
        subscribe(user, ax.city, communes=[a])
    warning = make_warning(ax)
    alert = delivery.fanout_run(publish(warning).pk)
    assert alert.inbox == 4

    # Since the Alert: one unsubscribed, one moved, one newly subscribed in the area.
    Subscription.objects.filter(user=unsubscribes).update(is_active=False)
    SubscriptionArea.objects.filter(subscription__user=moves).update(commune_code=b)
    subscribe(newcomer, ax.city, communes=[a])

    cancel = delivery.fanout_run(publish(warning, "Cancel", status=PublicWarning.Status.ENDED).pk)
    assert recipients(cancel) == {stays.pk, unsubscribes.pk, moves.pk, english.pk}
    assert (cancel.targeted, cancel.inbox) == (4, 4)
    note = inbox(cancel).get(recipient=english)
    assert note.title == "All clear: Flood warning"
    assert note.body == "This warning has ended."


def test_withdrawal_reaches_everybody_an_earlier_version_reached(ax):
    a, b = ax.commune_a.code, ax.commune_b.code
    in_a, in_b = person(ax.city), person(ax.city)
    subscribe(in_a, ax.city, communes=[a])
    subscribe(in_b, ax.city, communes=[b])
    warning = make_warning(ax)
    delivery.fanout_run(publish(warning).pk)
    delivery.fanout_run(publish(warning, "Update", commune_codes=[a, b]).pk)
    cancel = delivery.fanout_run(publish(warning, "Cancel", status=PublicWarning.Status.CANCELLED,
                                         reason="Issued in error").pk)
    assert recipients(cancel) == {in_a.pk, in_b.pk}
    assert "Issued in error" in inbox(cancel).get(recipient=in_a).body


def test_a_message_run_after_a_newer_one_is_superseded(ax):
    user = person(ax.city)
    subscribe(user, ax.city, communes=[ax.commune_a.code])
    warning = make_warning(ax)
    late_alert = publish(warning)
    cancel = delivery.fanout_run(publish(warning, "Cancel", status=PublicWarning.Status.ENDED).pk)
    assert cancel.inbox == 0  # nobody had been warned yet
    late = delivery.fanout_run(late_alert.pk)
    assert (late.status, late.inbox, late.detail) == ("done", 0, "superseded by version 2")
    assert not inbox().exists()


def test_an_expired_warning_is_not_sent(ax):
    subscribe(person(ax.city), ax.city, communes=[ax.commune_a.code])
    warning = make_warning(ax, expires_at=timezone.now() - timedelta(minutes=1))
    fanout = delivery.fanout_run(publish(warning).pk)
    assert (fanout.status, fanout.inbox, fanout.detail) == ("done", 0, "warning expired")


# --- the log -------------------------------------------------------------------------------------------


def test_the_fanout_records_its_counts_times_and_an_audit_event(ax):
    for _ in range(3):
        subscribe(person(ax.city), ax.city, communes=[ax.commune_a.code])
    fanout = publish(make_warning(ax))
    before = timezone.now()
    done = delivery.fanout_run(fanout.pk)
    done.refresh_from_db()
    assert (done.status, done.targeted, done.inbox, done.channel_deliveries) == ("done", 3, 3, {})
    assert before <= done.started_at <= done.finished_at <= timezone.now()
    event = AuditEvent.objects.get(object_type="alerts.fanout", object_id=str(fanout.pk))
    assert (event.city_id, event.details["inbox"], event.details["targeted"]) == (ax.city.pk, 3, 3)


def test_through_the_services(ax, publish_warning):
    """A warning approved through the services has a Fanout that delivers it."""
    user = person(ax.city, language="en")
    core_services.set_notification_preferences(user=user, topic="*", channels=[])
    from dothi.alerts import services

    services.subscription_set(actor=user, city=ax.city, home_commune=ax.commune_a.code)
    warning = publish_warning()
    fanout = Fanout.objects.get(message__warning=warning, message__version=1)
    done = delivery.fanout_run(fanout.pk)
    assert (done.status, done.targeted, done.inbox) == ("done", 1, 1)
    note = Notification.objects.get(recipient=user)
    assert (note.topic, note.title, note.url) == ("alerts.flood", "Flood warning", f"/alerts/{warning.uid}/")


def test_a_failed_fanout_task_is_queued_again_with_back_off(ax, monkeypatch, settings):
    from dothi.alerts import tasks

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    fanout = publish(make_warning(ax))
    DBTaskResult.objects.all().delete()  # whatever publishing queued; this test runs the task by hand

    def broken(*args, **kwargs):
        raise RuntimeError("database restarting")

    monkeypatch.setattr(delivery, "_write_inbox", broken)
    before = timezone.now()
    with pytest.raises(RuntimeError):
        tasks.fanout.call(fanout.pk, 2)
    retry = DBTaskResult.objects.get(task_path="dothi.alerts.tasks.fanout")
    assert retry.args_kwargs["args"] == [fanout.pk, 3]
    expected = tasks.FANOUT_RETRY_BASE_SECONDS * 2**2
    assert expected - 1 <= (retry.run_after - before).total_seconds() <= expected + 5

    DBTaskResult.objects.all().delete()
    with pytest.raises(RuntimeError):
        tasks.fanout.call(fanout.pk, tasks.FANOUT_RETRIES)  # the last attempt: nothing more is queued
    assert not DBTaskResult.objects.exists()
    fanout.refresh_from_db()
    assert fanout.status == "failed"
