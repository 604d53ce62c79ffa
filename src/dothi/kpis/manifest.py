"""What the KPI module contributes: its operations, navigation, schedules and demo data."""

from __future__ import annotations

from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

from dothi.core.manifests import Manifest, NavEntry
from dothi.kpis.tasks import compute_current

STAFF = frozenset({"agency_staff", "agency_manager", "operator", "council_member", "city_admin"})
COUNCIL = frozenset({"council_member", "city_admin"})


def _seed(**kwargs) -> None:
    from dothi.kpis import demo

    demo.seed(**kwargs)


def _sync_catalogue(sender, **kwargs) -> None:
    from dothi.kpis import catalogue

    catalogue.on_post_migrate(sender, **kwargs)


# A fresh database gets the shared catalogue after `migrate` (and after a test database is flushed).
post_migrate.connect(_sync_catalogue, dispatch_uid="dothi.kpis.catalogue.sync")

manifest = Manifest(
    name="kpis",
    label=_("Indicators and evaluation"),
    description=_("The indicator catalogue, values measured from the platform's data or entered by hand, "
                  "evaluation against the master plan's targets and return on investment."),
    permissions={
        "kpis.view": STAFF,  # the dashboard, values with their inputs, ward drill-down, exports
        "kpis.compute": COUNCIL,  # recompute values on demand
        "kpis.enter": STAFF,  # enter a manual value with its source and evidence
        "kpis.approve": COUNCIL,  # approve or reject manual values; publish indicators; issue reports
        "kpis.manage": COUNCIL,  # the city's own indicators, benefits of projects
    },
    navigation=(
        NavEntry(label=_("City indicators"), url_name="kpis:public", icon="default", order=85,
                 description=_("How the city is doing: the indicators it publishes, with their trends.")),
        NavEntry(label=_("Indicators"), url_name="kpis:dashboard", icon="default", area="staff", order=85,
                 roles=STAFF, description=_("Evaluation against the master plan's targets: traffic lights, "
                                            "trends and drill-down to wards.")),
        NavEntry(label=_("Indicator catalogue"), url_name="kpis:catalogue", icon="default", area="staff",
                 order=86, roles=STAFF,
                 description=_("The U4SSC and platform indicators, their latest values and publication.")),
        NavEntry(label=_("Manual values"), url_name="kpis:manual", icon="default", area="staff", order=87,
                 roles=STAFF, description=_("Enter figures the platform cannot measure, with their source.")),
    ),
    seeder=_seed,
    seed_order=90,
    schedules={"compute_current": (3600, compute_current)},
)
