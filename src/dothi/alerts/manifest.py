"""What the warnings module contributes: operations and roles, navigation, the observation listener
(rules), schedules, KPIs, open dataset, control-centre panels and demo data."""

from django.utils.translation import gettext_lazy as _

from dothi.core.manifests import Manifest

DRAFTERS = frozenset({"agency_staff", "agency_manager", "operator", "city_admin"})
APPROVERS = frozenset({"agency_manager", "operator", "city_admin"})

manifest = Manifest(
    name="alerts",
    label=_("Warnings"),
    description=_("Weather, flood, air-quality and security warnings and news, where you live."),
    permissions={
        # Write a manual warning or news item (a draft) and edit one's drafts.
        "alerts.draft": DRAFTERS,
        # Approve (publish), reject, update and cancel warnings; end an automatic one by hand.
        "alerts.approve": APPROVERS,
        # Categories and rules.
        "alerts.configure": frozenset({"operator", "city_admin"}),
        # Choose areas and categories; answer "are you safe?".
        "alerts.subscribe": frozenset({"citizen"}),
        # See who answered "I need help" and where (personal data: every read is audited).
        "alerts.read_replies": frozenset({"operator", "agency_manager", "city_admin"}),
        # Delivery logs and statistics.
        "alerts.stats": frozenset({"agency_manager", "operator", "council_member", "city_admin"}),
    },
)
