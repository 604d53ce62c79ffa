"""A retried submission is one report, even when the retries race each other."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from dothi.reports import services
from dothi.reports.models import Report
from tests import factories


def _skip_precheck(monkeypatch):
    """Make each caller miss the "already submitted?" look-up once, as when two requests pass it at
    the same moment: only the unique constraint can then keep the report single."""
    real = services._existing_idempotent
    seen = threading.local()

    def first_call_misses(**kwargs):
        if not getattr(seen, "done", False):
            seen.done = True
            return None
        return real(**kwargs)

    monkeypatch.setattr(services, "_existing_idempotent", first_call_misses)


@pytest.mark.django_db
def test_constraint_catches_a_missed_precheck(rx, submit, monkeypatch):
    first = submit(idempotency_key="retry-1")
    _skip_precheck(monkeypatch)
    again = submit(idempotency_key="retry-1")
    assert again.pk == first.pk
    assert Report.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_make_one_report(rx, submit, monkeypatch):
    _skip_precheck(monkeypatch)
    threads_n = 6
    barrier = threading.Barrier(threads_n)
    results: list[int] = []
    errors: list[BaseException] = []

    def worker():
        try:
            barrier.wait(timeout=10)
            results.append(submit(idempotency_key="race-1").pk)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert len(results) == threads_n
    assert len(set(results)) == 1
    assert Report.objects.filter(idempotency_key="race-1").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_through_the_rate_limits_never_deadlock(rx, submit, settings):
    """Many citizens behind one address submitting at once: the rate-limit counters (rows of the
    database cache, which culls old rows when it is full) are written outside the report's transaction,
    so no submission holds them locked while another waits. With the counters inside the transaction
    this drill deadlocks."""
    from django.test import RequestFactory

    # A small cache, culled on nearly every write, as a busy city's cache is.
    settings.CACHES = {"default": {**settings.CACHES["default"],
                                   "OPTIONS": {"MAX_ENTRIES": 4, "CULL_FREQUENCY": 2}}}

    rx.city.settings = {"ratelimits": {"scopes": {"reports.submit": {"citizen_write": "1000/h",
                                                                     "ip_write": "1000/h"}}}}
    rx.city.save(update_fields=["settings"])
    citizens = [factories.make_citizen(rx.city) for _ in range(8)]
    barrier = threading.Barrier(len(citizens))
    created: list[int] = []
    errors: list[BaseException] = []

    def worker(citizen):
        try:
            barrier.wait(timeout=10)
            for n in range(6):
                request = RequestFactory().post("/reports/new/", REMOTE_ADDR="203.0.113.7")
                request.user, request.city = citizen, rx.city
                lat, lon = rx.point_a
                report = submit(actor=citizen, request=request, idempotency_key=f"{citizen.pk}-{n}",
                                lat=lat + 0.0001 * n, lon=lon)
                created.append(report.pk)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(c,)) for c in citizens]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert len(set(created)) == 48 == Report.objects.count()
