"""What the appointments module contributes: its operations and roles, navigation, schedules, KPIs,
open dataset, rateable subject, demo data, and the control centre's panel and ward summary."""

from django.utils.translation import gettext_lazy as _

from dothi.appointments.demo import seed
from dothi.appointments.stats import DATASETS, FACT_SOURCES, KPIS
from dothi.appointments.tasks import generate_slots, send_reminders
from dothi.core.manifests import Manifest, NavEntry, Panel, PointSet


def _validate_rating(**kwargs) -> None:
    from dothi.appointments.services import validate_rating

    validate_rating(**kwargs)


def _today_panel(city):
    from dothi.appointments import selectors

    return selectors.ioc_today_panel(city)


def _ward_summary(city, commune):
    from dothi.appointments import selectors

    return selectors.ioc_ward_summary(city, getattr(commune, "code", commune))


STAFF_SERVING = frozenset({"agency_staff", "agency_manager", "operator", "city_admin"})


def _point_rows(city):
    from dothi.appointments import selectors

    return selectors.office_point_rows(city)


def _points_assign(city, changes) -> int:
    from dothi.appointments import services

    return services.office_points_assign(city=city, changes=changes)


manifest = Manifest(
    name="appointments",
    encrypted_fields=("appointments.Booking.walk_in_phone_enc",),
    label=_("Appointments"),
    description=_("Booking a time at a public-service office, and the office's queue."),
    permissions={
        "appointments.book": frozenset({"citizen"}),
        "appointments.serve": STAFF_SERVING,
        "appointments.configure": frozenset({"city_admin"}),
        "appointments.stats": frozenset({"agency_manager", "operator", "council_member", "city_admin"}),
    },
    navigation=(
        NavEntry(
            label=_("Book an appointment"),
            url_name="appointments:home",
            icon="calendar",
            order=20,
            description=_("Book a time at a public-service office instead of queueing."),
        ),
        NavEntry(
            label=_("Counter"),
            url_name="appointments:desk",
            icon="calendar",
            area="staff",
            order=20,
            roles=STAFF_SERVING,
            description=_("Today's appointments, check-in, calling the next person, walk-ins."),
        ),
    ),
    # Slots for the coming days every hour (idempotent); reminders of tomorrow's appointments every
    # 30 minutes (each person once).
    schedules={"generate_slots": (3600, generate_slots), "send_reminders": (1800, send_reminders)},
    feedback_subjects=("appointments.booking",),
    feedback_validators={"appointments.booking": _validate_rating},
    kpis=KPIS,
    # Daily facts the KPIs read (core.facts): waits from arrival to call, served visits booked online.
    fact_sources=FACT_SOURCES,
    datasets=DATASETS,
    seeder=seed,
    seed_order=40,
    # The control centre (docs/modules/ioc.md): today's bookings, served and waiting; a ward's bookings.
    panels=(
        Panel(
            code="appointments.today",
            title=_("Appointments today"),
            data=_today_panel,
            kind="counts",
            order=40,
            refresh_seconds=30,
        ),
    ),
    ward_summary=_ward_summary,
    point_sets=(
        PointSet(code="appointments.office", label=_("Offices"), rows=_point_rows, assign=_points_assign),
    ),
)
