"""The control centre's reads: panels by role and module, panel data (and a failing panel), alarms by
status and level in the order operators need, counts, log, handovers and a ward's summary."""

from __future__ import annotations

import pytest

from dothi.core.errors import InvalidInput, NotFound
from dothi.core.manifests import Manifest, registry
from dothi.core.models import Commune
from dothi.ioc import selectors, services
from tests.ioc.conftest import MODULE

pytestmark = pytest.mark.django_db


def _codes(panels):
    return [p.code for p in panels if p.code.startswith(MODULE)]


def test_panels_by_role_and_order(ioc_city, ioc_module, cast):
    everyone = [f"{MODULE}.points", f"{MODULE}.counts", f"{MODULE}.trend", f"{MODULE}.broken"]
    assert _codes(selectors.panels_for(cast["operator"], ioc_city)) == everyone
    # A panel with roles: only those roles (and platform administrators).
    admin = _codes(selectors.panels_for(cast["city_admin"], ioc_city))
    assert admin == [*everyone[:3], f"{MODULE}.secret", everyone[3]]
    assert f"{MODULE}.secret" in _codes(selectors.panels_for(cast["platform_admin"], ioc_city))
    with pytest.raises(NotFound):
        selectors.panel_data(cast["operator"], ioc_city, f"{MODULE}.secret")
    with pytest.raises(NotFound):
        selectors.panel_data(cast["operator"], ioc_city, "nope.nothing")


def test_panels_of_a_disabled_module_are_left_out(ioc_city, ioc_module, cast):
    ioc_city.enabled_modules = ["ioc"]
    ioc_city.save()
    assert _codes(selectors.panels_for(cast["operator"], ioc_city)) == []


def test_panel_data_and_a_failing_panel(ioc_city, ioc_module, cast):
    body = selectors.panel_data(cast["operator"], ioc_city, f"{MODULE}.points")
    assert body["ok"] is True and body["kind"] == "geojson" and body["refresh_seconds"] == 15
    assert body["data"]["features"][0]["properties"]["level"] == "danger"
    broken = selectors.panel_data(cast["operator"], ioc_city, f"{MODULE}.broken")
    assert broken["ok"] is False and broken["data"] == {"items": []}


def test_alarms_order_filters_and_counts(ioc_city, alarm, cast):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    info = alarm("i", level="info", raised_at=now - timedelta(minutes=1))
    old_danger = alarm("d1", level="danger", raised_at=now - timedelta(hours=2))
    new_danger = alarm("d2", level="danger", raised_at=now - timedelta(minutes=5))
    acked_danger = alarm("d3", level="danger", raised_at=now, status="acknowledged")
    warn = alarm("w", level="warning", cleared_at=now)
    closed = alarm("c", level="danger", status="closed", closed_at=now)
    page = selectors.alarms(ioc_city)
    # Worst first; among equals the new (unacknowledged) ones, then the newest.
    assert list(page.object_list) == [new_danger, old_danger, acked_danger, warn, info]
    assert list(selectors.alarms(ioc_city, status="closed").object_list) == [closed]
    assert len(selectors.alarms(ioc_city, status="all").object_list) == 6
    assert list(selectors.alarms(ioc_city, level="warning").object_list) == [warn]
    with pytest.raises(InvalidInput):
        selectors.alarms(ioc_city, status="bogus")
    with pytest.raises(InvalidInput):
        selectors.alarms(ioc_city, level="bogus")
    assert selectors.alarm_counts(ioc_city) == {
        "active": 5,
        "open": 4,
        "acknowledged": 1,
        "assigned": 0,
        "danger": 3,
        "warning": 1,
        "info": 1,
        "cleared": 1,
    }
    with pytest.raises(NotFound):
        selectors.alarm(ioc_city, closed.pk + 1000)


def test_alarms_are_scoped_by_city(ioc_city, other_city, alarm, cast):
    alarm("mine")
    from django.utils import timezone

    from dothi.ioc.models import Alarm

    theirs = Alarm.objects.create(
        city=other_city,
        key="theirs",
        module="m",
        kind="k",
        title="t",
        raised_at=timezone.now(),
        seen_at=timezone.now(),
    )
    assert [a.key for a in selectors.alarms(ioc_city, status="all").object_list] == ["mine"]
    assert selectors.alarm_counts(other_city)["active"] == 1
    with pytest.raises(NotFound):
        selectors.alarm(ioc_city, theirs.pk)


def test_pages(ioc_city, cast):
    for n in range(30):
        services.log_add(actor=cast["operator"], city=ioc_city, kind="note", text=f"entry {n}")
    first = selectors.log(ioc_city)
    assert first.paginator.count == 30 and len(first.object_list) == selectors.PAGE_SIZE
    assert first.object_list[0].text == "entry 29"
    assert len(selectors.log(ioc_city, page=2).object_list) == 5
    assert selectors.latest_handover(ioc_city) is None
    services.handover_create(actor=cast["operator"], city=ioc_city, notes="one")
    h = services.handover_create(actor=cast["operator"], city=ioc_city, notes="two")
    assert selectors.latest_handover(ioc_city) == h
    assert selectors.handovers(ioc_city).paginator.count == 2


def test_who_may_be_assigned_or_take_over(ioc_city, cast):
    staff = set(selectors.assignable_staff(ioc_city))
    assert {
        cast[r] for r in ("agency_staff", "agency_manager", "operator", "council_member", "city_admin")
    } == staff
    assert set(selectors.operators(ioc_city)) == {cast["operator"], cast["city_admin"]}


def test_ward_summary_composes_the_modules(ioc_city, ioc_module, alarm, caplog):
    commune = Commune.objects.filter(province_id=ioc_city.province_code).first()
    alarm("here", commune=commune)

    def broken(city, c):
        raise RuntimeError("ward down")

    registry.register(Manifest(name="iocprobe_ward", ward_summary=broken))
    try:
        summary = selectors.ward_summary(ioc_city, commune.code)
    finally:
        registry.unregister("iocprobe_ward")
    assert summary["name"] == commune.name and summary["code"] == commune.code
    probe = next(s for s in summary["sections"] if s["module"] == MODULE)
    assert probe["items"][0] == {"label": "Probes", "value": 7}
    assert all(s["module"] != "iocprobe_ward" for s in summary["sections"])
    assert "ward down" in caplog.text
    assert [a.key for a in summary["alarms"]] == ["here"]
    # No population imported for the commune: none shown (layers.population answers None or 0).
    assert not summary["population"]
    with pytest.raises(NotFound):
        selectors.ward_summary(ioc_city, "79999")


def test_population_shapes(ioc_city):
    assert selectors._population(12) == 12
    assert selectors._population({"population": 30}) == 30
    assert selectors._population(None) is None
    assert selectors._population("many") is None


def test_layer_catalogue_from_the_provider(ioc_city, cast):
    if registry.provided("layers.catalogue") is not None:
        # An installed layers module answers first: its shape is checked in its own tests.
        assert isinstance(selectors.layer_catalogue(ioc_city, cast["operator"]), list)
        return
    registry.register(
        Manifest(
            name="iocprobe_layers",
            provides={
                "layers.catalogue": lambda city, user: [
                    {
                        "code": "schools",
                        "name": "Schools",
                        "sector": "education",
                        "colour": "#123456",
                        "geometry_kind": "point",
                        "features_url": "/layers/schools/features.geojson",
                    },
                    {"code": "broken"},
                ]
            },
        )
    )
    try:
        found = selectors.layer_catalogue(ioc_city, cast["operator"])
    finally:
        registry.unregister("iocprobe_layers")
    assert [i["code"] for i in found] == ["schools"]
