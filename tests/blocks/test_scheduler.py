"""The scheduler: due jobs are claimed once, enqueued, and run by the worker."""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from dothi.core import scheduler
from dothi.core.manifests import registry
from dothi.core.models import Notification, ScheduleRun

HOUSEKEEPING = "core.housekeeping"


@pytest.fixture
def housekeeping():
    return {HOUSEKEEPING: registry.schedules()[HOUSEKEEPING]}


def test_core_declares_the_housekeeping_job():
    interval, job = registry.schedules()[HOUSEKEEPING]
    assert interval == 24 * 3600
    assert job.module_path == "dothi.core.tasks.purge_read_notifications"


@pytest.mark.django_db
def test_due_job_fires_once_per_interval(housekeeping):
    now = timezone.now()
    assert scheduler.tick(now, housekeeping) == [HOUSEKEEPING]
    assert scheduler.tick(now, housekeeping) == []  # already claimed for this interval
    assert scheduler.tick(now + dt.timedelta(hours=23), housekeeping) == []
    assert scheduler.tick(now + dt.timedelta(hours=24), housekeeping) == [HOUSEKEEPING]
    run = ScheduleRun.objects.get(name=HOUSEKEEPING)
    assert run.runs == 2
    assert DBTaskResult.objects.filter(task_path="dothi.core.tasks.purge_read_notifications").count() == 2


@pytest.mark.django_db
def test_scheduled_job_fires_and_the_worker_runs_it(city, other_city, citizen, housekeeping, run_worker):
    now = timezone.now()
    other_city.settings = {"notifications": {"keep_read_days": 400}}
    other_city.save()

    def make(c, read_days_ago):
        return Notification.objects.create(
            city=c, recipient=citizen, topic="t", title="t",
            read_at=None if read_days_ago is None else now - dt.timedelta(days=read_days_ago),
        )

    old_read, recent_read, unread = make(city, 100), make(city, 10), make(city, None)
    kept_by_policy = make(other_city, 100)
    assert scheduler.tick(now, housekeeping) == [HOUSEKEEPING]
    run_worker()
    remaining = set(Notification.objects.values_list("pk", flat=True))
    assert remaining == {recent_read.pk, unread.pk, kept_by_policy.pk}
    assert old_read.pk not in remaining
    result = DBTaskResult.objects.get()
    assert result.status == "SUCCESSFUL"
    assert result.return_value == 1


@pytest.mark.django_db
def test_a_broken_job_does_not_stop_the_others(housekeeping):
    class Broken:
        def enqueue(self):
            raise RuntimeError("boom")

    schedules = {"a.broken": (60, Broken()), **housekeeping}
    assert scheduler.tick(timezone.now(), schedules) == [HOUSEKEEPING]
    # The broken job's claim rolled back with it, so it is tried again at the next tick.
    assert ScheduleRun.objects.filter(name="a.broken", runs__gt=0).count() == 0


@pytest.mark.django_db(transaction=True)  # the loop recycles connections, as a long-running process must
def test_scheduler_command_once(sample_manifest, run_worker):
    from dothi.core.models import AuditEvent

    saved = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    try:
        call_command("scheduler", "--once")
    finally:
        signal.signal(signal.SIGTERM, saved[0])
        signal.signal(signal.SIGINT, saved[1])
    assert ScheduleRun.objects.filter(name="sample.heartbeat", runs=1).exists()
    assert ScheduleRun.objects.filter(name=HOUSEKEEPING, runs=1).exists()
    run_worker()
    assert AuditEvent.objects.filter(object_type="sample.heartbeat").count() == 1


@pytest.mark.django_db(transaction=True)
def test_sigterm_stops_the_loop_gracefully(housekeeping, monkeypatch):
    monkeypatch.setattr(registry, "schedules", lambda: housekeeping)
    loop = scheduler.Scheduler(interval=3600)
    saved = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    loop.install_signal_handlers()
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM))
    try:
        timer.start()
        started = timezone.now()
        loop.run()  # would sleep an hour without the signal
        assert (timezone.now() - started).total_seconds() < 10
    finally:
        timer.cancel()
        signal.signal(signal.SIGTERM, saved[0])
        signal.signal(signal.SIGINT, saved[1])
    assert ScheduleRun.objects.get(name=HOUSEKEEPING).runs == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_schedulers_claim_a_job_exactly_once():
    """Eight schedulers on their own connections race for the same due job: one wins."""
    now = timezone.now()
    workers = 8
    barrier = threading.Barrier(workers)
    results: list[bool] = []
    errors: list[BaseException] = []

    def race():
        try:
            barrier.wait()
            with transaction.atomic():
                results.append(scheduler.claim("race.job", 60, now))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=race) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(results) == [False] * (workers - 1) + [True]
    assert ScheduleRun.objects.get(name="race.job").runs == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_claim_waits_for_the_other_scheduler_and_then_loses():
    """Deterministic interleaving: A claims and holds its transaction; B's claim blocks on the row,
    and once A commits, B re-checks the condition against A's row and does not fire."""
    now = timezone.now()
    ScheduleRun.objects.create(name="held.job")
    a_claimed = threading.Event()
    release_a = threading.Event()
    outcome = {}

    def scheduler_a():
        try:
            with transaction.atomic():
                outcome["a"] = scheduler.claim("held.job", 60, now)
                a_claimed.set()
                release_a.wait(10)
        finally:
            connection.close()

    def scheduler_b():
        try:
            a_claimed.wait(10)
            with transaction.atomic():
                outcome["b"] = scheduler.claim("held.job", 60, now + dt.timedelta(seconds=1))
        finally:
            connection.close()

    ta, tb = threading.Thread(target=scheduler_a), threading.Thread(target=scheduler_b)
    ta.start()
    tb.start()
    a_claimed.wait(10)
    tb.join(0.5)
    assert tb.is_alive(), "B should be blocked on A's row lock"
    release_a.set()
    ta.join(10)
    tb.join(10)
    assert outcome == {"a": True, "b": False}
    assert ScheduleRun.objects.get(name="held.job").runs == 1
