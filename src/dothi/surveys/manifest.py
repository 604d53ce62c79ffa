"""What the surveys module contributes: its operations, navigation, the home page's NPS prompt, KPI
calculators (app NPS, CSAT from core.Feedback), the indicator values its questions measure
(`surveys.indicator_values`) and demo data."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from dothi.core.manifests import Manifest, NavEntry
from dothi.surveys.kpis import KPIS, indicator_values

STAFF = frozenset({"agency_staff", "agency_manager", "operator", "council_member", "city_admin"})
MANAGERS = frozenset({"council_member", "city_admin", "agency_manager"})


def _seed(**kwargs) -> None:
    from dothi.surveys import demo

    demo.seed(**kwargs)


def _home_notices(request, city) -> list[dict[str, Any]]:
    """The app NPS question, for a signed-in citizen who has not answered it in 90 days (one query)."""
    from django.urls import reverse
    from django.utils.translation import gettext

    from dothi.surveys import selectors

    survey = selectors.next_nps_prompt(city, getattr(request, "user", None))
    if survey is None:
        return []
    return [
        {
            "title": survey.title,
            "url": reverse("surveys:survey", args=[survey.code]),
            "level": "info",
            "text": gettext("One question, less than a minute: how likely are you to recommend the app?"),
            "group": gettext("Your opinion"),
        }
    ]


manifest = Manifest(
    name="surveys",
    label=_("Satisfaction surveys"),
    description=_(
        "The app's NPS survey, CSAT and the city's own surveys; their results feed the indicators."
    ),
    permissions={
        "surveys.view": STAFF,  # survey results and the CSV export of answers (no identities)
        "surveys.manage": MANAGERS,  # create, edit, open and close surveys; their questions
        "surveys.respond": frozenset({"citizen"}),  # answer a survey for signed-in citizens
    },
    navigation=(
        NavEntry(
            label=_("Surveys"),
            url_name="surveys:list",
            icon="bulb",
            order=85,
            description=_("Tell the city what you think of its services."),
        ),
        NavEntry(
            label=_("Surveys"),
            url_name="surveys:staff_list",
            icon="bulb",
            area="staff",
            order=85,
            roles=STAFF,
            description=_("Satisfaction surveys, their questions and results."),
        ),
    ),
    kpis=KPIS,
    home_notices=_home_notices,
    # (city, period) -> {indicator code: KpiValue}: what the city's survey questions measure.
    provides={"surveys.indicator_values": indicator_values},
    seeder=_seed,
    seed_order=95,
)
