"""CSV and XLSX of the KPI module: the values of a period or range (with their inputs) and, below, the
evaluation, as tables written by `dothi.core.tables` (UTF-8 CSV with a byte-order mark, typed XLSX,
formula-like cells as text).
"""

from __future__ import annotations

from datetime import date

from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from dothi.core.models import City
from dothi.core.tables import Columns, table_csv, table_xlsx
from dothi.kpis import periods, selectors

# --- Values ------------------------------------------------------------------------------------------

VALUE_COLUMNS: Columns = (
    ("code", _("code")),
    ("name", pgettext_lazy("kpis", "Indicator")),
    ("period", pgettext_lazy("kpis", "Period")),
    ("grain", _("period kind")),
    ("period_start", _("period start")),
    ("commune", _("commune")),
    ("value", pgettext_lazy("kpis", "Value")),
    ("unit", _("unit")),
    ("numerator", _("numerator")),
    ("denominator", _("denominator")),
    ("sample_size", _("sample size")),
    ("method", _("method")),
    ("source", _("source")),
    ("note", _("note")),
    ("computed_at", _("computed at")),
)


def value_rows(city: City, *, grain=None, since: date | None = None, until: date | None = None,
               wards: bool = False, indicator_ids=None) -> list[dict]:
    """The effective values of the city (city level; every commune too with `wards`)."""
    found = selectors.effective_values(city, grain=grain, since=since, until=until, wards=wards,
                                       indicator_ids=indicator_ids)
    return [
        {
            "code": v.indicator.code,
            "name": v.indicator.name,
            "period": periods.label(v.grain, v.period_start),
            "grain": v.get_grain_display(),
            "period_start": v.period_start,
            "commune": v.commune.name if v.commune else "",
            "value": v.value,
            "unit": v.indicator.unit,
            "numerator": v.numerator,
            "denominator": v.denominator,
            "sample_size": v.sample_size,
            "method": v.get_method_display(),
            "source": v.source,
            "note": v.note,
            "computed_at": timezone.localtime(v.computed_at).replace(tzinfo=None) if v.computed_at else None,
        }
        for v in found
    ]


def values_csv(city: City, **kwargs) -> str:
    return table_csv(value_rows(city, **kwargs), VALUE_COLUMNS)


def values_xlsx(city: City, **kwargs) -> bytes:
    return table_xlsx(value_rows(city, **kwargs), VALUE_COLUMNS, sheet=gettext("Indicator values"))


# --- Evaluation (engineer B appends below) -------------------------------------------------------------
# One row per programme target of an evaluation (live, or an issued one's frozen snapshot): the
# indicator measuring it, the current value and its period, progress, points, projection and light.

EVALUATION_COLUMNS: Columns = (
    ("goal", _("goal")),
    ("target", _("target")),
    ("kpi_code", _("indicator code")),
    ("indicator", pgettext_lazy("kpis", "Indicator")),
    ("dimension", _("dimension")),
    ("unit", _("unit")),
    ("baseline_year", _("baseline year")),
    ("baseline_value", _("baseline")),
    ("target_value", _("target value")),
    ("deadline", _("deadline")),
    ("direction", _("direction")),
    ("current", _("current value")),
    ("period", pgettext_lazy("kpis", "Period")),
    ("progress", _("progress (%)")),
    ("points", _("points (1–4)")),
    ("projected", _("projected at the deadline")),
    ("on_track", _("on track")),
    ("light", _("traffic light")),
)


def evaluation_rows(result) -> list[dict]:
    """The rows of an `evaluation.Evaluation` (missing values stay empty, never 0)."""
    from dothi.kpis import catalogue

    rows = []
    for r in result.targets:
        rows.append({
            "goal": f"{r.goal_code} {r.goal_title}".strip(),
            "target": r.label,
            "kpi_code": r.kpi_code,
            "indicator": (f"{r.indicator_code} {r.indicator_name}".strip() if r.found
                          else gettext("not found")),
            "dimension": catalogue.label(r.dimension),
            "unit": r.unit,
            "baseline_year": r.baseline_year,
            "baseline_value": r.baseline_value,
            "target_value": r.target_value,
            "deadline": r.deadline,
            "direction": gettext("higher is better") if r.higher_is_better else gettext("lower is better"),
            "current": r.current,
            "period": r.period_label,
            "progress": None if r.progress is None else round(r.progress, 1),
            "points": r.points,
            "projected": None if r.projected is None else round(r.projected, 3),
            "on_track": r.on_track,
            "light": r.light_label,
        })
    return rows


def evaluation_csv(result) -> str:
    return table_csv(evaluation_rows(result), EVALUATION_COLUMNS)


def evaluation_xlsx(result) -> bytes:
    return table_xlsx(evaluation_rows(result), EVALUATION_COLUMNS,
                      sheet=gettext("Evaluation %(year)d") % {"year": result.year})
