"""What the sensing module contributes: its operations and roles, navigation, schedules, KPIs and the
open dataset. Other modules react to incoming observations by adding `observation_listeners` to their
own manifests (see dothi.sensing.ingestion.AcceptedBatch)."""

from django.utils.translation import gettext_lazy as _

from dothi.core.manifests import Manifest, NavEntry
from dothi.sensing.demo import seed
from dothi.sensing.stats import DATASETS, KPIS
from dothi.sensing.tasks import mark_offline, partitions_ahead, purge_raw

STAFF = frozenset({"agency_staff", "agency_manager", "operator", "council_member", "city_admin"})

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
)
