"""What the sensing module contributes: its operations and roles, navigation, schedules, KPIs, the
open dataset, and the control centre's panels, alarm source, ward summary and published
`sensing.sensor_points`. Other modules react to incoming observations by adding
`observation_listeners` to their own manifests (see dothi.sensing.ingestion.AcceptedBatch)."""

from django.utils.translation import gettext_lazy as _

from dothi.core.manifests import Manifest, NavEntry, Panel, PointSet
from dothi.sensing.demo import seed
from dothi.sensing.stats import DATASETS, KPIS
from dothi.sensing.tasks import mark_offline, partitions_ahead, purge_raw

# The control centre's hooks import the selectors when first called (this file stays a declaration).


def _latest_panel(city):
    from dothi.sensing import selectors

    return selectors.ioc_latest_geojson(city)


def _online_panel(city):
    from dothi.sensing import selectors

    return selectors.ioc_online_panel(city)


def _silent_sensors(city, now=None):
    from dothi.sensing import selectors

    return selectors.ioc_silent_sensors(city, now=now)


def _ward_summary(city, commune):
    from dothi.sensing import selectors

    return selectors.ioc_ward_summary(city, getattr(commune, "code", commune))


def _sensor_points(city, quantities=None):
    from dothi.sensing import selectors

    return selectors.sensor_points(city, quantities)


def _sensors_by_owner(city):
    from dothi.sensing import selectors

    return selectors.sensors_by_owner(city)


STAFF = frozenset({"agency_staff", "agency_manager", "operator", "council_member", "city_admin"})


def _point_rows(city):
    from dothi.sensing import selectors

    return selectors.sensor_point_rows(city)


def _points_assign(city, changes) -> int:
    from dothi.sensing import services

    return services.sensor_points_assign(city=city, changes=changes)


manifest = Manifest(
    name="sensing",
    label=_("Sensors"),
    description=_("The city's live data: air quality, water level and rainfall, weather, traffic and noise."),
    permissions={
        # Register and edit sensors, quantities, data sources and ingestion keys; read rejection counters.
        "sensing.configure": frozenset({"city_admin"}),
        # See sensors that are not public (privately owned, shared with the city's agencies only).
        "sensing.read_private": STAFF,
    },
    navigation=(
        NavEntry(
            label=_("City sensors"),
            url_name="sensing:map",
            icon="default",
            order=40,
            description=_("Air quality, water levels, rainfall and weather, live."),
        ),
    ),
    # Every minute: sensors silent for longer than their expected interval become offline. Daily: raw
    # observations older than the city's retention (default 400 days) are deleted; rollups are kept.
    # Daily too: on a partitioned raw table (PostgreSQL, `dothi sensing-partition`), the coming months.
    schedules={
        "mark_offline": (60, mark_offline),
        "purge_raw": (24 * 3600, purge_raw),
        "partitions_ahead": (24 * 3600, partitions_ahead),
    },
    kpis=KPIS,
    datasets=DATASETS,
    # Demo data: ~225 sensors of Đà Nẵng, a year of hourly rollups and a week of raw readings (sensing.demo).
    seeder=seed,
    seed_order=50,
    # The control centre (docs/modules/ioc.md): every monitored sensor coloured by its latest values
    # (muted when silent), the online / silent counts, an alarm per silent sensor, a ward's sensors.
    panels=(
        Panel(code="sensing.latest", title=_("Sensors"), data=_latest_panel, order=10),
        Panel(
            code="sensing.online",
            title=_("Sensors online"),
            data=_online_panel,
            kind="counts",
            order=11,
            refresh_seconds=30,
        ),
    ),
    alarm_sources=(_silent_sensors,),
    ward_summary=_ward_summary,
    point_sets=(
        PointSet(code="sensing.sensor", label=_("Sensors"), rows=_point_rows, assign=_points_assign),
    ),
    # (city, quantities=None) -> [(lon, lat)] of active sensors measuring any of the quantity codes.
    # (city) -> {organisation id: sensors it owns}: the programme's vendor concentration.
    provides={"sensing.sensor_points": _sensor_points, "sensing.sensors_by_owner": _sensors_by_owner},
)
