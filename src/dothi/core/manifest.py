from django.utils.translation import gettext_lazy as _

from dothi.core.manifests import Manifest, NavEntry
from dothi.core.tasks import purge_read_notifications

STAFF = frozenset({"agency_staff", "agency_manager", "operator", "council_member", "city_admin"})

manifest = Manifest(
    name="core",
    label=_("Platform"),
    permissions={
        "core.audit.view": frozenset({"city_admin"}),
        "core.city.configure": frozenset({"city_admin"}),
        "core.organisation.manage": frozenset({"city_admin"}),
        "core.agreement.manage": frozenset({"city_admin"}),
        "core.feedback.give": frozenset({"citizen"}),
        "core.feedback.view": STAFF,
        "core.notifications.read_own": frozenset({"citizen", *STAFF}),
        "core.staff_area.view": STAFF,
    },
    navigation=(
        NavEntry(label=_("Notifications"), url_name="core:notifications", icon="bell", order=90,
                 description=_("Messages from the city and its agencies")),
    ),
    # Daily: delete read notifications older than the city's retention (City.settings["notifications"]).
    schedules={"housekeeping": (24 * 3600, purge_read_notifications)},
)
