"""What the reports module contributes: its operations and roles, schedules and rateable subjects."""

from django.utils.translation import gettext_lazy as _

from dothi.core.manifests import Manifest, NavEntry
from dothi.reports.demo import seed
from dothi.reports.stats import DATASETS, KPIS
from dothi.reports.tasks import dispatch_pull, dispatch_sweep, escalate_overdue


def _validate_rating(**kwargs) -> None:
    from dothi.reports.services import validate_rating

    validate_rating(**kwargs)


STAFF_HANDLING = frozenset({"agency_staff", "agency_manager", "operator", "city_admin"})

manifest = Manifest(
    name="reports",
    encrypted_fields=("reports.Report.reporter_contact_enc", "reports.Dispatch.api_key_enc"),
    label=_("Citizen reports"),
    description=_("Problems and violations citizens report on the spot, routed to the responsible agency."),
    permissions={
        "reports.submit": frozenset({"citizen"}),
        "reports.follow": frozenset({"citizen", *STAFF_HANDLING}),
        "reports.file_on_behalf": frozenset({"agency_staff", "agency_manager", "operator"}),
        "reports.handle": STAFF_HANDLING,
        "reports.assign": frozenset({"agency_manager", "operator", "city_admin"}),
        "reports.reroute": frozenset({"agency_manager", "operator", "city_admin"}),
        "reports.moderate": frozenset({"operator", "city_admin"}),
        "reports.view_contact": frozenset({"agency_staff", "agency_manager", "city_admin"}),
        "reports.stats": frozenset({"agency_manager", "operator", "council_member", "city_admin"}),
        "reports.configure": frozenset({"city_admin"}),
        "reports.open311_keys": frozenset({"city_admin"}),
    },
    navigation=(
        # The first citizen entry is the home page's "Report a problem" tile.
        NavEntry(
            label=_("Report a problem"),
            url_name="reports:new",
            icon="pin",
            order=10,
            description=_("Report violations and problems on the spot."),
        ),
        NavEntry(
            label=_("Reports near you"),
            url_name="reports:map",
            icon="pin",
            order=11,
            description=_("See what others reported and how agencies answered."),
        ),
        NavEntry(
            label=_("Report queue"),
            url_name="reports:queue",
            icon="pin",
            area="staff",
            order=10,
            roles=STAFF_HANDLING,
            description=_("Reports your agency must answer, with their deadlines."),
        ),
        NavEntry(
            label=_("File a report for a caller"),
            url_name="reports:on_behalf",
            icon="pin",
            area="staff",
            order=11,
            roles=frozenset({"agency_staff", "agency_manager", "operator"}),
            description=_("Hotline calls and walk-ins: file the report on the person's behalf."),
        ),
    ),
    # Hourly: escalate overdue reports to the agency's managers and close reports resolved 14 days ago.
    # Dispatch (reports.dispatch): every minute, send due and retried tickets; every five minutes,
    # pull status updates from the agencies' own Open311 systems.
    schedules={
        "escalate_overdue": (3600, escalate_overdue),
        "dispatch_sweep": (60, dispatch_sweep),
        "dispatch_pull": (300, dispatch_pull),
    },
    feedback_subjects=("reports.report",),
    feedback_validators={"reports.report": _validate_rating},
    # Statistics for the KPI and open-data modules: see dothi.reports.stats.
    kpis=KPIS,
    datasets=DATASETS,
    # Demo data: categories, routing, templates and ~400 reports of the last 90 days (reports.demo).
    seeder=seed,
    seed_order=30,
)
