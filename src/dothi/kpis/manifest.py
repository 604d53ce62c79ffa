"""What the KPI module contributes: its operations, navigation, schedules and demo data."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from dothi.core.manifests import Manifest

STAFF = frozenset({"agency_staff", "agency_manager", "operator", "council_member", "city_admin"})
COUNCIL = frozenset({"council_member", "city_admin"})

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
)
