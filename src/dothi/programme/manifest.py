"""What the programme module contributes: its operations, navigation and demo data; its targets are
published for the KPI module (`programme.targets`)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from dothi.core.manifests import Manifest, NavEntry

STAFF = frozenset({"agency_staff", "agency_manager", "operator", "council_member", "city_admin"})
COUNCIL = frozenset({"council_member", "city_admin"})


def _seed(**kwargs) -> None:
    from dothi.programme import demo

    demo.seed(**kwargs)


def _targets(city):
    from dothi.programme import selectors

    return selectors.targets(city)


def _project_costs(city):
    from dothi.programme import selectors

    return selectors.project_costs(city)


manifest = Manifest(
    name="programme",
    label=_("Smart-city programme"),
    description=_("The master plan, its goals and targets, projects, partners and lessons learned."),
    permissions={
        # Read the whole programme, published or not (staff of the city).
        "programme.view": STAFF,
        # Edit the programme, master plan, team, SWOT, assessment, risks, stakeholders, goals, targets,
        # partners, challenges, courses, cooperation; approve and version the plan.
        "programme.edit": COUNCIL,
        # Update a project's progress, milestones, budget disbursement and lessons: the council, and
        # managers and staff of the project's responsible agency (checked per project in the service).
        "programme.project.update": frozenset(
            {"council_member", "city_admin", "agency_manager", "agency_staff"}
        ),
    },
    navigation=(
        NavEntry(
            label=_("Smart-city programme"),
            url_name="programme:public",
            icon="bulb",
            order=80,
            description=_("The city's smart-city programme: goals, projects, budget and progress."),
        ),
        NavEntry(
            label=_("Smart-city programme"),
            url_name="programme:staff_home",
            icon="bulb",
            area="staff",
            order=80,
            roles=STAFF,
            description=_("The master plan, goals and targets, projects, risks, partners and lessons."),
        ),
    ),
    seeder=_seed,
    seed_order=80,
    # (city) -> [target dicts with their goal]: what the KPI module measures (selectors.targets);
    # (city) -> [{"code", "title_vi", "title_en", "costs": {year: VND}}]: the costs of each project for
    # its return on investment (selectors.project_costs).
    provides={"programme.targets": _targets, "programme.project_costs": _project_costs},
)
