from django.utils.translation import gettext_lazy as _

from dothi.core.manifests import Manifest

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
)
