"""The control centre's demo seeder: one sweep, the demo operator's log entries and handover."""

from __future__ import annotations

import random

import pytest
from django.utils import timezone

from dothi.core.demo import DEMO_SEED, _seed_organisations, _seed_people
from dothi.ioc import demo
from dothi.ioc.models import Alarm, IncidentEntry, ShiftHandover

pytestmark = pytest.mark.django_db


def test_seed(danang, ioc_module, conditions):
    now = timezone.now()
    orgs = _seed_organisations(danang, now)
    _seed_people(danang, orgs, random.Random(DEMO_SEED), now)
    conditions.items = [conditions.candidate("A", level="danger"), conditions.candidate("B")]
    demo.seed(city=danang, rng=random.Random(f"{DEMO_SEED}:ioc"), now=now)
    alarms = Alarm.objects.for_city(danang).filter(module="iocprobe")
    assert alarms.count() == 2
    # The worst alarm is acknowledged by the demo operator, which the log records.
    worst = alarms.get(key="iocprobe.breach:A")
    assert worst.status == "acknowledged" and worst.acknowledged_by.username == demo.OPERATOR
    entries = IncidentEntry.objects.for_city(danang)
    assert entries.filter(kind="alarm").count() == 1 and entries.exclude(kind="alarm").count() == len(
        demo.LOG
    )
    handover = ShiftHandover.objects.get(city=danang)
    assert handover.handed_by.username == demo.OPERATOR and len(handover.open_alarms) == 2
    assert handover.accepted_at is None
