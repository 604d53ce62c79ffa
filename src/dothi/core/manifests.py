"""The module manifest contract.

Every module declares what it contributes in `<module>/manifest.py` as a module-level `manifest`.
The KPI, open-data and control-centre modules read manifests through `registry`; they never import
another module's internals. See docs/modules/core.md for the contract.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.apps import AppConfig

    from dothi.core.models import City


@dataclass(frozen=True)
class Period:
    """A half-open reporting period [start, end) in the city's local dates."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError("A period must end after it starts.")


@dataclass(frozen=True)
class KpiValue:
    """A computed indicator value with what it was computed from, so it can be checked."""

    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    sample_size: int = 0
    note: str = ""


@dataclass(frozen=True)
class KpiCalculator:
    code: str  # e.g. "reports.resolved_within_deadline"; may map to a U4SSC/ISO code
    name: str
    unit: str
    compute: Callable[[City, Period], KpiValue]
    standard_code: str = ""
    higher_is_better: bool = True
    # How it is computed, in words (translated), shown on the indicator page.
    method: str = ""
    # The part of a standard indicator with several parts it measures ("PM2.5" of EN: EN: AQ: 1C).
    component: str = ""
    # compute_wards(city, period) -> {commune pk: KpiValue} for indicators meaningful per ward; communes
    # with no data may be left out (they show as missing).
    compute_wards: Callable[[City, Period], dict[int, KpiValue]] | None = None


@dataclass(frozen=True)
class FactSource:
    """A daily fact rollup a module keeps for its KPIs (core.facts): per city, local day and commune, the
    count and sum of a value and a histogram for quantiles. The module adds to it in the transaction of
    the write (core.facts.add); `rows(city, start, end)` re-derives the facts of the local days
    [start, end) from the raw rows as (day, commune pk or None, value), for `dothi rebuild-facts`."""

    key: str  # "reports.resolution_hours"
    label: str
    rows: Callable[[City, date, date], Iterable[tuple[date, int | None, float]]]


@dataclass(frozen=True)
class OpenDataset:
    """An aggregate, de-identified dataset. `rows` returns dicts; groups smaller than
    `min_group_size` are suppressed by the open-data module before publication."""

    code: str
    title: str
    description: str
    rows: Callable[[City], Iterable[dict[str, Any]]]
    count_field: str = "count"
    min_group_size: int = 5
    licence: str = "CC-BY-4.0"


@dataclass(frozen=True)
class Panel:
    """A control-centre panel the IOC module draws; `data(city)` returns one of these shapes by `kind`:

    - "geojson": a FeatureCollection drawn on the map; each feature's properties carry `id`, `title`,
      `level` ("normal" | "info" | "warning" | "danger" | "muted": the colour), optional `meta` (one line,
      e.g. "PM2.5 62 µg/m³ · 3 min ago"), `url` (the module's page, opened in a new tab) and `fragment`
      (an HTML fragment the IOC loads into its side drawer: a sensor's chart, a report's timeline).
    - "counts": {"items": [{"label", "value", "level"?, "url"?}]}: figures in a side panel.
    - "series": {"unit", "labels": [ISO dates or times], "series": [{"label", "values": [number | None]}]}:
      a trend chart.
    - "list": {"items": [{"title", "meta"?, "level"?, "url"?, "at"? (ISO time)}]}.

    Called on every refresh of the control centre (every `refresh_seconds`): a query or two, bounded."""

    code: str
    title: str
    data: Callable[[City], dict[str, Any]]
    kind: str = "geojson"  # "geojson" | "counts" | "series" | "list"
    # Roles that may see it; empty: every role allowed to open the control centre (ioc.view).
    roles: frozenset[str] = frozenset()
    order: int = 100
    refresh_seconds: int = 15
    default_on: bool = True  # a map layer shown when the screen opens


@dataclass(frozen=True)
class AlarmCandidate:
    """A condition an operator should see (a breach, an overdue report, a sensor gone silent), as a
    module's alarm source reports it. `key` identifies the condition ("sensing.silent:DN-AQ-004"): the
    IOC keeps one alarm per key until an operator closes it."""

    key: str
    kind: str  # "breach" | "overdue" | "silent" | ...
    title: str
    raised_at: datetime
    level: str = "warning"  # "info" | "warning" | "danger"
    detail: str = ""
    url: str = ""
    lon: float | None = None
    lat: float | None = None
    commune_code: str = ""


@dataclass(frozen=True)
class PointSet:
    """Rows of a module that carry a location and the commune found from it (reports, sensors, offices,
    features). When official commune boundaries replace the approximate cells, core re-locates every
    point set: `rows(city)` yields (pk, lon, lat, current commune code or None); `assign(city, changes)`
    writes the new commune of each changed row in bulk and returns how many it wrote."""

    code: str  # "reports.report"
    label: str
    rows: Callable[[City], Iterable[tuple[Any, float, float, str | None]]]
    assign: Callable[[City, list[tuple[Any, str]]], int]


@dataclass(frozen=True)
class NavEntry:
    """A link in the citizen app or the staff area."""

    label: str
    url_name: str
    icon: str = ""
    area: str = "citizen"  # "citizen" | "staff"
    roles: frozenset[str] = frozenset()  # empty: everyone who can see the area
    order: int = 100
    description: str = ""


@dataclass(frozen=True)
class Manifest:
    name: str
    label: str = ""
    description: str = ""
    kpis: tuple[KpiCalculator, ...] = ()
    fact_sources: tuple[FactSource, ...] = ()
    datasets: tuple[OpenDataset, ...] = ()
    panels: tuple[Panel, ...] = ()
    navigation: tuple[NavEntry, ...] = ()
    # operation code -> roles allowed ("citizen", "agency_staff", ...); see dothi.core.permissions
    permissions: dict[str, frozenset[str]] = field(default_factory=dict)
    # seed(city, rng, now) adds the module's demo data relative to now; run in `order`.
    seeder: Callable[..., None] | None = None
    seed_order: int = 100
    # name -> (interval in seconds, task) for the scheduler
    schedules: dict[str, tuple[int, Any]] = field(default_factory=dict)
    # subject types people may rate through dothi.core.services.feedback_give, e.g. "reports.report"
    feedback_subjects: tuple[str, ...] = ()
    # subject type -> validator(author=, city=, subject_id=) that raises a DomainError or PermissionDenied
    # when this person may not rate this subject (e.g. only the reporter, once the report is resolved)
    feedback_validators: dict[str, Callable[..., None]] = field(default_factory=dict)
    # listener(batch) called with every batch of observations the sensing module accepts, inside the
    # ingestion transaction (a dothi.sensing.ingestion.AcceptedBatch); e.g. the warnings' rules
    observation_listeners: tuple[Callable[..., None], ...] = ()
    # "app_label.Model.field" of every field holding identity.crypto tokens (personal data, secrets):
    # `dothi rotate-field-keys` re-encrypts them all under the newest key
    encrypted_fields: tuple[str, ...] = ()
    # notices(request, city) -> list of dicts the citizen home page shows above its tiles (e.g. the
    # warnings active where the signed-in person lives): {"title", "url", "level" ("danger", "warning",
    # "info"), "text", "meta", "group"}; only "title" is required. Called on every home page view: keep
    # it to a query or two.
    home_notices: Callable[..., list[dict[str, Any]]] | None = None
    # source(city, now) -> the conditions operators should see now (AlarmCandidate); the IOC sweep calls
    # every source each minute. Keep it to a query or two.
    alarm_sources: tuple[Callable[..., Iterable[AlarmCandidate]], ...] = ()
    # summary(city, commune) -> [{"label", "value", "level"?, "url"?}]: the module's figures for one
    # commune, shown when an operator clicks a ward on the control centre's map.
    ward_summary: Callable[..., list[dict[str, Any]]] | None = None
    # Located rows re-assigned to communes when official boundaries are imported (core.geo.reassign_points).
    point_sets: tuple[PointSet, ...] = ()
    # Published read functions other modules may call by name through `registry.provided(name)`, e.g.
    # "sensing.sensor_points": (city, quantities=None) -> [(lon, lat)]. Names start with the module's.
    provides: dict[str, Callable[..., Any]] = field(default_factory=dict)


class ManifestRegistry:
    def __init__(self) -> None:
        self._manifests: dict[str, Manifest] = {}

    def discover(self, app_config: AppConfig) -> None:
        try:
            module = importlib.import_module(f"{app_config.name}.manifest")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app_config.name}.manifest":
                raise
            return
        self.register(module.manifest)

    def register(self, manifest: Manifest) -> None:
        clash = self._manifests.get(manifest.name)
        if clash is not None and clash is not manifest:
            raise ValueError(f"Two manifests are named {manifest.name!r}.")
        for code in manifest.permissions:
            for other in self._manifests.values():
                if other.name != manifest.name and code in other.permissions:
                    raise ValueError(
                        f"Operation {code!r} is declared by {other.name!r} and {manifest.name!r}."
                    )
        self._manifests[manifest.name] = manifest

    def unregister(self, name: str) -> None:
        self._manifests.pop(name, None)

    def all(self) -> list[Manifest]:
        return list(self._manifests.values())

    def get(self, name: str) -> Manifest:
        return self._manifests[name]

    def kpis(self) -> list[KpiCalculator]:
        return [k for m in self.all() for k in m.kpis]

    def kpi(self, code: str) -> KpiCalculator | None:
        return next((k for k in self.kpis() if k.code == code), None)

    def fact_sources(self) -> list[FactSource]:
        return [f for m in self.all() for f in m.fact_sources]

    def datasets(self) -> list[OpenDataset]:
        return [d for m in self.all() for d in m.datasets]

    def panels(self) -> list[Panel]:
        return [p for m in self.all() for p in m.panels]

    def navigation(self, area: str) -> list[NavEntry]:
        return sorted((n for m in self.all() for n in m.navigation if n.area == area), key=lambda n: n.order)

    def permissions(self) -> dict[str, frozenset[str]]:
        return {code: roles for m in self.all() for code, roles in m.permissions.items()}

    def seeders(self) -> list[tuple[str, Callable[..., None]]]:
        ordered = sorted((m for m in self.all() if m.seeder), key=lambda m: m.seed_order)
        return [(m.name, m.seeder) for m in ordered if m.seeder]

    def schedules(self) -> dict[str, tuple[int, Any]]:
        return {f"{m.name}.{name}": spec for m in self.all() for name, spec in m.schedules.items()}

    def observation_listeners(self) -> list[Callable[..., None]]:
        return [listener for m in self.all() for listener in m.observation_listeners]

    def home_notices(self, request: Any, city: City) -> list[dict[str, Any]]:
        """The home page's notices from every module enabled in the city, in manifest order."""
        found: list[dict[str, Any]] = []
        for m in self.all():
            if m.home_notices is not None and city.module_enabled(m.name):
                found.extend({"module": m.name, **notice} for notice in m.home_notices(request, city))
        return found

    def alarm_sources(self, city: City) -> list[tuple[str, Callable[..., Iterable[AlarmCandidate]]]]:
        """(module name, source) of every module enabled in the city."""
        return [(m.name, s) for m in self.all() if city.module_enabled(m.name) for s in m.alarm_sources]

    def ward_summaries(self, city: City) -> list[tuple[Manifest, Callable[..., list[dict[str, Any]]]]]:
        return [(m, m.ward_summary) for m in self.all() if m.ward_summary and city.module_enabled(m.name)]

    def point_sets(self) -> list[PointSet]:
        return [p for m in self.all() for p in m.point_sets]

    def provided(self, name: str) -> Callable[..., Any] | None:
        """The read function published under `name`, or None when no installed module provides it."""
        for m in self.all():
            if name in m.provides:
                return m.provides[name]
        return None

    def provided_names(self, suffix: str = "") -> list[str]:
        """The names of every published read ending with `suffix` (e.g. ".indicator_values")."""
        return sorted(name for m in self.all() for name in m.provides if name.endswith(suffix))

    def feedback_subjects(self) -> set[str]:
        return {s for m in self.all() for s in m.feedback_subjects}

    def feedback_validator(self, subject_type: str) -> Callable[..., None] | None:
        for m in self.all():
            if subject_type in m.feedback_validators:
                return m.feedback_validators[subject_type]
        return None


registry = ManifestRegistry()
