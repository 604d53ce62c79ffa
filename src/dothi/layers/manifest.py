"""What the spatial-layers module contributes: its operations, navigation, KPIs (drainage monitored,
population in flood-prone zones), its features as a point set for re-assignment, the catalogue and
population as published selectors for the control centre, and the demo layers.

The hooks import their implementation when first called, so this file stays a declaration."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from dothi.core.manifests import KpiCalculator, Manifest, NavEntry, PointSet

STAFF = frozenset({"agency_staff", "agency_manager", "operator", "council_member", "city_admin"})


def _kpi_drainage_monitored(city, period):
    from dothi.layers import stats

    return stats.kpi_drainage_monitored(city, period)


def _kpi_flood_exposure(city, period):
    from dothi.layers import stats

    return stats.kpi_flood_exposure(city, period)


def _feature_rows(city):
    from dothi.layers import selectors

    return selectors.feature_points(city)


def _feature_assign(city, changes) -> int:
    from dothi.layers import services

    return services.feature_points_assign(city=city, changes=changes)


def _catalogue_for_ioc(city, user) -> list[dict[str, Any]]:
    from dothi.layers import selectors

    return selectors.ioc_catalogue(city, user)


def _population_of(city, commune_code: str):
    from dothi.layers import selectors

    return selectors.population_of(city, commune_code)


def _ward_summary(city, commune) -> list[dict[str, Any]]:
    from dothi.layers import selectors

    return selectors.ward_summary(city, commune)


def _seed(**kwargs) -> None:
    from dothi.layers import demo

    demo.seed(**kwargs)


manifest = Manifest(
    name="layers",
    label=_("Spatial layers"),
    description=_("The city's multi-sector spatial database: planning, infrastructure, services, hazards."),
    permissions={
        # See internal (non-public) layers and their changelog.
        "layers.view_internal": STAFF,
        # Create, edit and delete layers of the catalogue.
        "layers.manage": frozenset({"city_admin", "operator"}),
        # Import features into a layer (agency managers: the layers their agency owns).
        "layers.import": frozenset({"city_admin", "operator", "agency_manager"}),
        # Import population per commune.
        "layers.population": frozenset({"city_admin"}),
    },
    navigation=(
        NavEntry(label=_("City map"), url_name="layers:map", icon="map", order=45,
                 description=_("Schools, clinics, drainage, flood-prone areas and more on one map.")),
        NavEntry(label=_("Spatial layers"), url_name="layers:staff_home", icon="map", area="staff", order=40,
                 roles=frozenset({"city_admin", "operator", "agency_manager"}),
                 description=_("The layer catalogue, imports and population data.")),
    ),
    kpis=(
        KpiCalculator(code="layers.drainage_monitored", standard_code="EC: ICT: D: 1A",
                      name=_("Drainage network monitored by ICT"), unit="%", compute=_kpi_drainage_monitored),
        KpiCalculator(code="layers.flood_exposure", standard_code="SC: SH: SA: 4A",
                      name=_("Population living in flood-prone zones"), unit="%", compute=_kpi_flood_exposure,
                      higher_is_better=False),
    ),
    point_sets=(PointSet(code="layers.feature", label=_("Layer features"), rows=_feature_rows,
                         assign=_feature_assign),),
    provides={"layers.catalogue": _catalogue_for_ioc, "layers.population": _population_of},
    ward_summary=_ward_summary,
    seeder=_seed,
    seed_order=70,
)
