"""What the reports module contributes: its operations and roles, schedules, rateable subjects, and the
control centre's panels, alarm source and ward summary."""

from django.utils.translation import gettext_lazy as _

from dothi.core.manifests import Manifest, NavEntry, Panel, PointSet
from dothi.reports.demo import seed
from dothi.reports.stats import DATASETS, FACT_SOURCES, KPIS
from dothi.reports.tasks import dispatch_pull, dispatch_sweep, escalate_overdue


def _validate_rating(**kwargs) -> None:
    from dothi.reports.services import validate_rating

    validate_rating(**kwargs)


# The control centre's hooks import the selectors when first called (this file stays a declaration).


def _open_panel(city):
    from dothi.reports import selectors

    return selectors.ioc_open_geojson(city)


def _counts_panel(city):
    from dothi.reports import selectors

    return selectors.ioc_counts_panel(city)


def _trend_panel(city):
    from dothi.reports import selectors

    return selectors.ioc_trend(city)


def _overdue_reports(city, now=None):
    from dothi.reports import selectors

    return selectors.ioc_overdue(city, now=now)


def _ward_summary(city, commune):
    from dothi.reports import selectors

    return selectors.ioc_ward_summary(city, getattr(commune, "code", commune))


STAFF_HANDLING = frozenset({"agency_staff", "agency_manager", "operator", "city_admin"})


def _point_rows(city):
    from dothi.reports import selectors

    return selectors.report_point_rows(city)


def _points_assign(city, changes) -> int:
    from dothi.reports import services

    return services.report_points_assign(city=city, changes=changes)


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
    # Daily facts the KPIs read (core.facts): resolution hours, resolved on time, acknowledged in time.
    fact_sources=FACT_SOURCES,
    datasets=DATASETS,
    # Demo data: categories, routing, templates and ~400 reports of the last 90 days (reports.demo).
    seeder=seed,
    seed_order=30,
    # The control centre (docs/modules/ioc.md): open reports on the map (overdue: danger; confidential
    # ones at their commune's centre, without text), counts and the 14-day trend, an alarm per overdue
    # report, a ward's figures.
    panels=(
        Panel(code="reports.open", title=_("Open reports"), data=_open_panel, order=20, refresh_seconds=30),
        Panel(
            code="reports.counts",
            title=_("Reports"),
            data=_counts_panel,
            kind="counts",
            order=21,
            refresh_seconds=30,
        ),
        Panel(
            code="reports.trend",
            title=_("Reports received per day"),
            data=_trend_panel,
            kind="series",
            order=22,
            refresh_seconds=300,
        ),
    ),
    alarm_sources=(_overdue_reports,),
    ward_summary=_ward_summary,
    point_sets=(
        PointSet(code="reports.report", label=_("Reports"), rows=_point_rows, assign=_points_assign),
    ),
)
