"""The shared indicator catalogue: the 91 U4SSC KPIs and one platform indicator per `KpiCalculator`.

`sync()` loads `data/u4ssc_kpis.csv` (code, dimension, sub-dimension, category, core/advanced, unit,
definition) with `data/u4ssc_kpis_vi.csv` (Vietnamese name and method, ISO 37120/37122 number), and one
row per calculator every manifest declares (names and methods in both languages from the calculator's
translated texts). It is idempotent: it creates and updates the shared rows, never deletes one (values
hang on them) and marks inactive those whose calculator or U4SSC row disappeared. It runs after every
`migrate` (post-migrate signal, connected in manifest.py), in `dothi kpi sync` and in the demo.

U4SSC stores dimension, sub-dimension and category names in English; `label(text)` translates them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from dothi.core.manifests import registry
from dothi.kpis.models import Indicator

DATA = Path(__file__).resolve().parent / "data"
U4SSC_CSV = DATA / "u4ssc_kpis.csv"
U4SSC_VI_CSV = DATA / "u4ssc_kpis_vi.csv"

PLATFORM_DIMENSION = "Platform"
PLATFORM_ORDER = 10_000

DIMENSIONS = {
    "Economy": _("Economy"),
    "Environment": _("Environment"),
    "Society and Culture": _("Society and Culture"),
    PLATFORM_DIMENSION: _("Platform"),
}
SUB_DIMENSIONS = {
    "ICT": _("ICT"),
    "Productivity": _("Productivity"),
    "Infrastructure": _("Infrastructure"),
    "Environment": _("Environment"),
    "Energy": _("Energy"),
    "Education, Health and Culture": _("Education, Health and Culture"),
    "Safety, Housing and Social Inclusion": _("Safety, Housing and Social Inclusion"),
}
CATEGORIES = {
    "ICT Infrastructure": _("ICT Infrastructure"),
    "Water and Sanitation": _("Water and Sanitation"),
    "Drainage": _("Drainage"),
    "Electricity Supply": _("Electricity Supply"),
    "Transport": _("Transport"),
    "Public Sector": _("Public Sector"),
    "Innovation": _("Innovation"),
    "Employment": _("Employment"),
    "Waste": _("Waste"),
    "Buildings": _("Buildings"),
    "Urban Planning": _("Urban Planning"),
    "Air Quality": _("Air Quality"),
    "Environmental Quality": _("Environmental Quality"),
    "Public Space and Nature": _("Public Space and Nature"),
    "Energy": _("Energy"),
    "Education": _("Education"),
    "Health": _("Health"),
    "Culture": _("Culture"),
    "Housing": _("Housing"),
    "Social Inclusion": _("Social Inclusion"),
    "Safety": _("Safety"),
    "Food Security": _("Food Security"),
}

# U4SSC KPIs where a lower value is better (losses, outages, pollution, poverty, deaths...).
LOWER_IS_BETTER = frozenset({
    "EC: P: EM: 1C", "EC: P: EM: 2C", "EC: I: WS: 3C", "EC: I: ES: 1C", "EC: I: ES: 2C", "EC: I: T: 5A",
    "EN: EN: AQ: 1C", "EN: EN: AQ: 2C", "EN: EN: WS: 2C", "EN: EN: EQ: 2A", "EN: E: E: 2C", "EN: E: E: 3C",
    "EN: E: E: 4A", "SC: EH: H: 2C", "SC: SH: HO: 1C", "SC: SH: HO: 2A", "SC: SH: SI: 2C", "SC: SH: SI: 3C",
    "SC: SH: SA: 1C", "SC: SH: SA: 2C", "SC: SH: SA: 4A", "SC: SH: SA: 5A", "SC: SH: SA: 8C",
    "SC: SH: SA: 9C",
})

FIELDS = ("source", "kind", "dimension", "sub_dimension", "category", "name_vi", "name_en", "unit",
          "higher_is_better", "method_vi", "method_en", "iso_code", "standard_code", "component",
          "calculator", "per_ward", "is_active", "order")


def label(text: str) -> str:
    """The translated name of a U4SSC dimension, sub-dimension or category (or of a module, for the
    platform indicators' sub-dimension); the text itself when unknown."""
    if not text:
        return ""
    for table in (DIMENSIONS, SUB_DIMENSIONS, CATEGORIES):
        if text in table:
            return str(table[text])
    for m in registry.all():
        if m.label and _english(m.label) == text:
            return str(m.label)
    return text


def _english(text) -> str:
    with translation.override("en"):
        return str(text)


def _vietnamese(text) -> str:
    with translation.override("vi"):
        return str(text)


@dataclass(frozen=True)
class SyncResult:
    created: int
    updated: int
    deactivated: int
    u4ssc: int
    platform: int


def u4ssc_rows() -> list[dict]:
    """The U4SSC KPIs with their Vietnamese columns, in the order of the CSV."""
    with U4SSC_CSV.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    with U4SSC_VI_CSV.open(encoding="utf-8") as f:
        vi = {r["code"]: r for r in csv.DictReader(f)}
    out = []
    for i, r in enumerate(rows):
        v = vi.get(r["code"], {})
        out.append({
            "code": r["code"],
            "source": Indicator.Source.U4SSC,
            "kind": Indicator.Kind.ADVANCED if r["kpi_type"] == "advanced" else Indicator.Kind.CORE,
            "dimension": r["dimension"],
            "sub_dimension": r["sub_dimension"],
            "category": r["category"],
            "name_vi": v.get("name_vi") or r["name"],
            "name_en": r["name"],
            "unit": r["unit"],
            "higher_is_better": r["code"] not in LOWER_IS_BETTER,
            "method_vi": v.get("method_vi", ""),
            "method_en": r["definition"],
            "iso_code": v.get("iso_code", ""),
            "standard_code": "",
            "component": "",
            "calculator": "",
            "per_ward": False,
            "is_active": True,
            "order": (i + 1) * 10,
        })
    return out


def platform_rows(u4ssc: list[dict] | None = None) -> list[dict]:
    """One row per calculator of every manifest, placed under its standard code's U4SSC dimension,
    sub-dimension and category when it has one, else under "Platform" / the module's name."""
    by_code = {r["code"]: r for r in (u4ssc if u4ssc is not None else u4ssc_rows())}
    out = []
    i = 0
    for m in registry.all():
        for calc in m.kpis:
            i += 1
            std = by_code.get(calc.standard_code)
            if std:
                place = {"dimension": std["dimension"], "sub_dimension": std["sub_dimension"],
                         "category": std["category"]}
            else:
                place = {"dimension": PLATFORM_DIMENSION, "sub_dimension": _english(m.label or m.name),
                         "category": ""}
            out.append({
                "code": calc.code,
                "source": Indicator.Source.PLATFORM,
                "kind": Indicator.Kind.PLATFORM,
                **place,
                "name_vi": _vietnamese(calc.name)[:200],
                "name_en": _english(calc.name)[:200],
                "unit": str(calc.unit)[:40],
                "higher_is_better": bool(calc.higher_is_better),
                "method_vi": _vietnamese(calc.method) if calc.method else "",
                "method_en": _english(calc.method) if calc.method else "",
                "iso_code": std["iso_code"] if std else "",
                "standard_code": calc.standard_code,
                "component": calc.component,
                "calculator": calc.code,
                "per_ward": calc.compute_wards is not None,
                "is_active": True,
                "order": PLATFORM_ORDER + i * 10,
            })
    return out


def sync(*, using: str = "default") -> SyncResult:
    """Create or update the shared catalogue (see the module docstring)."""
    u4ssc = u4ssc_rows()
    platform = platform_rows(u4ssc)
    wanted = {r["code"]: r for r in u4ssc + platform}
    created = updated = 0
    with transaction.atomic(using=using):
        shared = Indicator.objects.using(using).filter(city__isnull=True)
        existing = {i.code: i for i in shared}
        new, changed = [], []
        for code, row in wanted.items():
            ind = existing.get(code)
            if ind is None:
                new.append(Indicator(code=code, **{k: row[k] for k in FIELDS}))
                continue
            dirty = False
            for k in FIELDS:
                if getattr(ind, k) != row[k]:
                    setattr(ind, k, row[k])
                    dirty = True
            if dirty:
                changed.append(ind)
        if new:
            Indicator.objects.using(using).bulk_create(new)
            created = len(new)
        if changed:
            Indicator.objects.using(using).bulk_update(changed, FIELDS)
            updated = len(changed)
        deactivated = shared.filter(is_active=True).exclude(code__in=list(wanted)).update(is_active=False)
    return SyncResult(created=created, updated=updated, deactivated=deactivated, u4ssc=len(u4ssc),
                      platform=len(platform))


def on_post_migrate(sender, using="default", **kwargs) -> None:
    """post_migrate: give a fresh database its catalogue (once the kpis app has migrated)."""
    if getattr(sender, "label", "") != "kpis":
        return
    sync(using=using)
