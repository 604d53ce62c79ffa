"""A retried submission is one report, even when the retries race each other."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from dothi.reports import services
from dothi.reports.models import Report


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
