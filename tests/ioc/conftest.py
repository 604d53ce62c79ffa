"""Fixtures for the control centre: a test-only module registered in the manifest registry for the
test (its alarm sources, panels and ward summary are plain functions reading `Conditions`), so the IOC is
tested through exactly the contract the real modules use, without importing any of them.

`conditions.items` is what the test module's alarm source reports now; `conditions.fail = True` makes
it raise (as a broken module would). `ioc_module` registers the manifest for the test and removes it
after; `alarm(**fields)` stores an alarm directly (for the tests of the actions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.utils import timezone

from dothi.core.manifests import AlarmCandidate, Manifest, Panel, registry

MODULE = "iocprobe"


@dataclass
class Conditions:
    items: list[AlarmCandidate] = field(default_factory=list)
    fail: bool = False
    calls: int = 0

    def candidate(self, key: str, *, level: str = "warning", minutes_ago: int = 5, **extra) -> AlarmCandidate:
        defaults = {"kind": "breach", "title": f"Condition {key}"}
        defaults.update(extra)
        return AlarmCandidate(
            key=f"{MODULE}.breach:{key}",
            raised_at=timezone.now() - timedelta(minutes=minutes_ago),
            level=level,
            **defaults,
        )


@pytest.fixture
def conditions():
    return Conditions()


@pytest.fixture
def ioc_module(conditions):
    def source(city, now):
        conditions.calls += 1
        if conditions.fail:
            raise RuntimeError("the probe's database is down")
        return list(conditions.items)

    def points(city):
        return {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [108.22, 16.07]},
                    "properties": {
                        "id": "P-1",
                        "title": "Probe 1",
                        "level": "danger",
                        "meta": "62 µg/m³",
                        "url": "/sensors/P-1/",
                        "fragment": "/sensors/P-1/",
                    },
                }
            ],
        }

    def counts(city):
        return {
            "items": [{"label": "Online", "value": 3}, {"label": "Silent", "value": 1, "level": "warning"}]
        }

    def series(city):
        return {
            "unit": "",
            "labels": ["2026-01-01", "2026-01-02"],
            "series": [{"label": "n", "values": [1, 2]}],
        }

    def broken(city):
        raise RuntimeError("panel down")

    def ward(city, commune):
        return [{"label": "Probes", "value": 7}, {"label": "Silent", "value": 1, "level": "warning"}]

    manifest = Manifest(
        name=MODULE,
        panels=(
            Panel(code=f"{MODULE}.points", title="Probe points", data=points, order=1),
            Panel(code=f"{MODULE}.counts", title="Probe counts", data=counts, kind="counts", order=2),
            Panel(code=f"{MODULE}.trend", title="Probe trend", data=series, kind="series", order=3),
            Panel(
                code=f"{MODULE}.secret",
                title="Admins only",
                data=counts,
                kind="counts",
                roles=frozenset({"city_admin"}),
                order=4,
            ),
            Panel(code=f"{MODULE}.broken", title="Broken", data=broken, kind="counts", order=5),
        ),
        alarm_sources=(source,),
        ward_summary=ward,
    )
    registry.register(manifest)
    yield manifest
    registry.unregister(MODULE)


@pytest.fixture
def ioc_city(city, admin_units):
    return city


@pytest.fixture
def alarm(ioc_city):
    from dothi.ioc.models import Alarm

    def _alarm(key: str = "iocprobe.breach:A", **fields):
        now = timezone.now()
        values = {
            "module": MODULE,
            "kind": "breach",
            "level": "warning",
            "title": f"Alarm {key}",
            "raised_at": now - timedelta(minutes=3),
            "seen_at": now,
        }
        values.update(fields)
        return Alarm.objects.create(city=ioc_city, key=key, **values)

    return _alarm
