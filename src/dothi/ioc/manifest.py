"""What the control centre contributes: its operations, the staff navigation entry and the alarm sweep.
It reads every other module through the registry (panels, alarm sources, ward summaries)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from dothi.core.manifests import Manifest, NavEntry
from dothi.ioc.tasks import sweep_all


def _seed(**kwargs) -> None:
    from dothi.ioc import demo

    demo.seed(**kwargs)


manifest = Manifest(
    name="ioc",
    label=_("Control centre"),
    description=_("The live screen of the city: sensors, reports, warnings and alarms on one map."),
    permissions={
        "ioc.view": frozenset({"operator", "city_admin", "council_member", "agency_manager"}),
        "ioc.alarm.handle": frozenset({"operator", "city_admin"}),
        "ioc.log.write": frozenset({"operator", "city_admin"}),
        "ioc.handover": frozenset({"operator", "city_admin"}),
    },
    navigation=(
        NavEntry(label=_("Control centre"), url_name="ioc:screen", icon="map", area="staff", order=10,
                 roles=frozenset({"operator", "city_admin", "council_member", "agency_manager"}),
                 description=_("Sensors, reports, warnings and alarms live on one map.")),
    ),
    schedules={"sweep": (60, sweep_all)},
    seeder=_seed,
    seed_order=200,
)
