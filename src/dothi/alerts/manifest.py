"""What the warnings module contributes: operations and roles, navigation, the observation listener
(rules), schedules, KPIs, open dataset, the control centre's panels, alarm sources and ward summary,
and demo data."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from dothi.alerts.demo import seed
from dothi.alerts.stats import DATASETS, KPIS
from dothi.alerts.tasks import expire
from dothi.core.manifests import Manifest, NavEntry, Panel, PointSet

# Other modules' code is reached through small wrappers that import it when first called: rules,
# selectors and tasks import the models and services, which must not load while the app registry is
# still reading manifests.


def _on_observations(batch) -> None:
    from dothi.alerts import rules

    rules.on_observations(batch)


def _active_warnings_panel(city) -> dict[str, Any]:
    """The active warnings' areas (geojson), coloured by their CAP severity."""
    from dothi.alerts import selectors

    return selectors.ioc_active_geojson(city)


def _need_help_panel(city) -> dict[str, Any]:
    """The active warnings with "I need help" replies nobody has handled yet (a list), with the totals
    of every warning that asks: counts only (who and where is on the audited staff map,
    alerts:staff_replies)."""
    from dothi.alerts import selectors

    return selectors.ioc_need_help_panel(city)


def _rule_warnings(city, now=None):
    from dothi.alerts import selectors

    return selectors.ioc_rule_warnings(city, now=now)


def _need_help_alarms(city, now=None):
    from dothi.alerts import selectors

    return selectors.ioc_need_help_alarms(city, now=now)


def _ward_summary(city, commune) -> list[dict[str, Any]]:
    from dothi.alerts import selectors

    return selectors.ioc_ward_summary(city, getattr(commune, "code", commune))


# A warning's CAP severity → the home page's notice level.
_LEVELS = {"Extreme": "danger", "Severe": "danger", "Moderate": "warning"}


def _home_notices(request, city) -> list[dict[str, Any]]:
    """The warnings active where the signed-in person lives (their subscription's home commune), else
    in the whole city, for the citizen home page: one query through selectors.home_summary."""
    from django.urls import reverse
    from django.utils import timezone
    from django.utils.formats import date_format
    from django.utils.translation import gettext

    from dothi.alerts import selectors

    summary = selectors.home_summary(getattr(request, "user", None), city)
    if summary["scope"] == "home":
        group = gettext("Warnings in %(commune)s") % {"commune": summary["commune"].name}
    else:
        group = gettext("Warnings in the city")
    notices = []
    for w in summary["warnings"]:
        meta = w.category.name
        if w.expires_at:
            until = date_format(timezone.localtime(w.expires_at), "SHORT_DATETIME_FORMAT")
            meta = gettext("%(category)s · until %(time)s") % {"category": meta, "time": until}
        notices.append(
            {
                "title": w.headline,
                "url": reverse("alerts:detail", args=[w.uid]),
                "level": "info" if w.category.is_news else _LEVELS.get(w.severity, "info"),
                "text": w.area_desc,
                "meta": meta,
                "group": group,
            }
        )
    if summary["more"]:
        notices.append({"title": gettext("All active warnings"), "url": reverse("alerts:list"),
                        "level": "info", "group": group})
    return notices


DRAFTERS = frozenset({"agency_staff", "agency_manager", "operator", "city_admin"})
APPROVERS = frozenset({"agency_manager", "operator", "city_admin"})


def _point_rows(city):
    from dothi.alerts import selectors

    return selectors.safety_reply_point_rows(city)


def _points_assign(city, changes) -> int:
    from dothi.alerts import services

    return services.safety_reply_points_assign(city=city, changes=changes)


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
    navigation=(
        # The home page's tile takes this label: "and news", as the module publishes both.
        NavEntry(
            label=_("Warnings and news"),
            url_name="alerts:list",
            icon="warning",
            order=30,
            description=_("Weather, flood and security warnings and news, and where they apply."),
        ),
        NavEntry(
            label=_("Warnings desk"),
            url_name="alerts:staff_home",
            icon="warning",
            area="staff",
            order=30,
            roles=DRAFTERS,
            description=_("Draft, approve, update and cancel warnings; follow their delivery and replies."),
        ),
    ),
    # Rules are evaluated on every accepted batch of observations, inside the ingestion transaction.
    observation_listeners=(_on_observations,),
    # Every minute: published warnings past their expiry end (rule warnings end by their all-clear).
    schedules={"expire": (60, expire)},
    # Statistics for the KPI and open-data modules: see dothi.alerts.stats.
    kpis=KPIS,
    datasets=DATASETS,
    # The control centre (docs/modules/ioc.md): the active warnings' areas, the "need help" replies
    # nobody handled, an alarm per active automatic warning and per warning with such replies.
    panels=(
        Panel(code="alerts.active", title=_("Active warnings"), data=_active_warnings_panel, order=30),
        Panel(
            code="alerts.need_help",
            title=_('"I need help" replies'),
            data=_need_help_panel,
            kind="list",
            order=31,
        ),
    ),
    alarm_sources=(_rule_warnings, _need_help_alarms),
    ward_summary=_ward_summary,
    point_sets=(
        PointSet(
            code="alerts.safetyreply",
            label=_('"Are you safe?" replies'),
            rows=_point_rows,
            assign=_points_assign,
        ),
    ),
    home_notices=_home_notices,
    # Demo data: categories, rules, subscriptions, past warnings and three active ones (alerts.demo),
    # after the sensing demo, whose sensors and communes it uses.
    seeder=seed,
    seed_order=60,
)
