"""deliver_many: a chunk of deliveries in one task run, each handled exactly as `deliver` handles one."""

from __future__ import annotations

import pytest
from django.core import mail
from django_tasks_db.models import DBTaskResult

from dothi.core import tasks
from dothi.core.models import Delivery, Notification
from dothi.core.notifications import ChannelError, Outcome, channels
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mail_and_tasks(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def flaky_zalo():
    """The "zalo" channel replaced by one that fails for the users listed in `failing`."""
    failing: set[int] = set()

    class Flaky:
        name = "zalo"

        def deliver(self, notification, user):
            if user.pk in failing:
                raise ChannelError("gateway busy")
            return Outcome.sent("zalo ok")

    original = channels._factories["zalo"]
    channels.register("zalo")(Flaky)
    yield failing
    channels._factories["zalo"] = original


def _queued(city, channel, n, *, email=True):
    ids = []
    for i in range(n):
        user = factories.make_citizen(city)
        if email:
            user.email = f"p{i}@example.vn"
            user.save(update_fields=["email"])
        note = Notification.objects.create(city=city, recipient=user, topic="alerts.flood",
                                           title=f"Warning {i}")
        ids.append(Delivery.objects.create(notification=note, channel=channel).pk)
    return ids


def test_delivers_every_delivery_of_the_chunk_and_counts_outcomes(city):
    ids = _queued(city, "email", 3)
    no_address = _queued(city, "email", 1, email=False)
    outcomes = tasks.deliver_many.call([*ids, *no_address])
    assert outcomes == {"sent": 3, "skipped": 1}
    assert sorted(m.to[0] for m in mail.outbox) == ["p0@example.vn", "p1@example.vn", "p2@example.vn"]
    assert set(Delivery.objects.filter(pk__in=ids).values_list("status", "attempts")) == {("sent", 1)}
    # A second run (a task delivered twice) sends nothing again.
    assert tasks.deliver_many.call(ids) == {"sent": 3}
    assert len(mail.outbox) == 3


def test_a_failing_delivery_is_retried_on_its_own_and_the_rest_go_out(city, flaky_zalo):
    ids = _queued(city, "zalo", 3)
    flaky_zalo.add(Delivery.objects.get(pk=ids[1]).notification.recipient_id)
    assert tasks.deliver_many.call(ids) == {"sent": 2, "queued": 1}
    failed = Delivery.objects.get(pk=ids[1])
    assert (failed.status, failed.attempts, failed.detail) == ("queued", 1, "ChannelError: gateway busy")
    retry = DBTaskResult.objects.get()
    assert retry.task_path == "dothi.core.tasks.deliver"
    assert retry.args_kwargs["args"] == [ids[1]]


def test_an_unexpected_error_does_not_strand_the_rest_of_the_chunk(city, monkeypatch):
    ids = _queued(city, "email", 3)
    real = tasks._deliver_one

    def broken_on_second(delivery_id):
        if delivery_id == ids[1]:
            raise RuntimeError("row unreadable")
        return real(delivery_id)

    monkeypatch.setattr(tasks, "_deliver_one", broken_on_second)
    assert tasks.deliver_many.call(ids) == {"sent": 2, "retried": 1}
    assert Delivery.objects.get(pk=ids[1]).status == "queued"
    assert DBTaskResult.objects.get().args_kwargs["args"] == [ids[1]]
