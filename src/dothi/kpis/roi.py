"""Return on investment of the programme's projects (docs/modules/kpis.md, "Return on investment").

Pure functions first. Rates are fractions here (0.08 for 8 %); pages and services take percent.

- `npv(flows, rate)` = Σ flowₜ / (1 + rate)ᵗ, t = 0, 1, … the year index from the first cost year;
- `bcr(costs, benefits, rate)` = PV(benefits) / PV(costs); None when PV(costs) is 0;
- `irr(flows)`: the rate where NPV = 0, by bisection on [−0.99, 10]; None when the NPV has the same sign
  at both ends (no sign change, e.g. only costs), so there is no root to find there;
- `sensitivity(costs, benefits, rate)`: NPV for each benefit factor (0.8, 1.0, 1.2) × rate (rate − 2,
  rate, rate + 2 points); a rate that would fall below 0 is left out (a negative discount rate is not
  a useful case to show), so at 0 % and 1 % the table has two rate columns.

Flows by year: from the first cost year (t = 0) to the last year with a cost or a benefit; years in
between with neither count as 0. A project without costs starts at its first benefit year. A benefit
before the first cost year (unusual) is compounded forward (t < 0) so the NPV stays the value at t = 0.

`project_roi(city, code, rate)` reads the costs through `registry.provided("programme.project_costs")`
(a year's disbursed amount when any was recorded for it, else its planned amount) and the benefits
from `kpis.models.Benefit`. The default rate is `DEFAULT_DISCOUNT_RATE` (8 %), which a city overrides
with its policy `kpis.discount_rate` (City.settings["kpis"]["discount_rate"], in percent).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from dothi.core.cities import policy
from dothi.core.errors import InvalidInput, NotFound
from dothi.core.manifests import registry
from dothi.core.models import City, localised
from dothi.kpis.models import Benefit

DEFAULT_DISCOUNT_RATE = 8.0  # percent; a city's policy kpis.discount_rate overrides it
RATE_MIN, RATE_MAX = 0.0, 50.0  # percent
SENSITIVITY_STEP = 0.02  # ± 2 points
BENEFIT_FACTORS = (0.8, 1.0, 1.2)
IRR_LOW, IRR_HIGH = -0.99, 10.0


# --- Pure functions ------------------------------------------------------------------------------------


def npv(flows: Sequence[float], rate: float, *, start: int = 0) -> float:
    """Σ flowₜ / (1 + rate)^(t + start) over the flows by year index."""
    return sum(f / (1.0 + rate) ** (t + start) for t, f in enumerate(flows))


def present_value(by_year: Mapping[int, float], rate: float, first_year: int) -> float:
    return sum(v / (1.0 + rate) ** (y - first_year) for y, v in by_year.items())


def irr(flows: Sequence[float], *, low: float = IRR_LOW, high: float = IRR_HIGH) -> float | None:
    """The internal rate of return by bisection on [low, high]; None when the NPV does not change sign
    (no flows, or all zero, included)."""
    if not any(flows):
        return None
    f_low, f_high = npv(flows, low), npv(flows, high)
    if f_low == 0:
        return low
    if f_high == 0:
        return high
    if (f_low > 0) == (f_high > 0):
        return None
    for _i in range(200):
        mid = (low + high) / 2.0
        f_mid = npv(flows, mid)
        if f_mid == 0 or high - low < 1e-12:
            return mid
        if (f_mid > 0) == (f_low > 0):
            low, f_low = mid, f_mid
        else:
            high = mid
    return (low + high) / 2.0


def _years(costs: Mapping[int, float], benefits: Mapping[int, float]) -> tuple[int, int] | None:
    if not costs and not benefits:
        return None
    first = min(costs) if costs else min(benefits)
    last = max([*costs, *benefits])
    return first, last


def net_flows(costs: Mapping[int, float], benefits: Mapping[int, float]) -> tuple[int, list[float]]:
    """(first cost year, [benefit − cost for each year from it to the last year with a flow])."""
    span = _years(costs, benefits)
    if span is None:
        return 0, []
    first, last = span
    return first, [benefits.get(y, 0.0) - costs.get(y, 0.0) for y in range(first, last + 1)]


def npv_of(costs: Mapping[int, float], benefits: Mapping[int, float], rate: float) -> float:
    """NPV at the first cost year of the yearly benefits minus costs."""
    span = _years(costs, benefits)
    if span is None:
        return 0.0
    first = span[0]
    return present_value(benefits, rate, first) - present_value(costs, rate, first)


def bcr(costs: Mapping[int, float], benefits: Mapping[int, float], rate: float) -> float | None:
    """PV(benefits) / PV(costs), both at the first cost year; None when PV(costs) is 0."""
    span = _years(costs, benefits)
    if span is None:
        return None
    pv_costs = present_value(costs, rate, span[0])
    if pv_costs == 0:
        return None
    return present_value(benefits, rate, span[0]) / pv_costs


def irr_of(costs: Mapping[int, float], benefits: Mapping[int, float]) -> float | None:
    early = [y for y in benefits if costs and y < min(costs)]
    if early:  # fold benefits before the first cost year into the flows from their own year
        first = min(early)
        last = max([*costs, *benefits])
        flows = [benefits.get(y, 0.0) - costs.get(y, 0.0) for y in range(first, last + 1)]
    else:
        _first, flows = net_flows(costs, benefits)
    return irr(flows)


def sensitivity_rates(rate: float) -> list[float]:
    return [r for r in (rate - SENSITIVITY_STEP, rate, rate + SENSITIVITY_STEP) if r >= -1e-12]


def sensitivity(
    costs: Mapping[int, float],
    benefits: Mapping[int, float],
    rate: float,
    *,
    rates: Iterable[float] | None = None,
    benefit_factors: Iterable[float] = BENEFIT_FACTORS,
) -> dict:
    """{"rates": [...], "factors": [...], "rows": [[NPV for each rate] for each factor]}."""
    rate_list = list(rates if rates is not None else sensitivity_rates(rate))
    factors = list(benefit_factors)
    rows = [
        [npv_of(costs, {y: v * f for y, v in benefits.items()}, r) for r in rate_list] for f in factors
    ]
    return {"rates": rate_list, "factors": factors, "rows": rows}


# --- Rates ---------------------------------------------------------------------------------------------


def default_rate(city: City | None) -> float:
    """The city's discount rate in percent: its policy kpis.discount_rate, else 8 %."""
    try:
        value = float(policy(city, "kpis").get("discount_rate", DEFAULT_DISCOUNT_RATE))
    except (TypeError, ValueError):
        return DEFAULT_DISCOUNT_RATE
    return value if math.isfinite(value) and RATE_MIN <= value <= RATE_MAX else DEFAULT_DISCOUNT_RATE


def parse_rate(text, *, city: City | None = None, field: str = "rate") -> float:
    """A discount rate in percent from a form or query ("8", "8.5", "8,5"); empty: the city's default.
    InvalidInput when it is not a number from 0 to 50."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return default_rate(city)
    try:
        value = float(str(text).strip().replace("%", "").replace(",", "."))
    except ValueError:
        raise InvalidInput(_("The discount rate must be a number, e.g. 8 or 8,5."), field=field) from None
    if not math.isfinite(value) or not RATE_MIN <= value <= RATE_MAX:
        raise InvalidInput(
            _("The discount rate must be between %(min)d %% and %(max)d %%.")
            % {"min": RATE_MIN, "max": RATE_MAX},
            field=field,
        )
    return value


# --- Projects ------------------------------------------------------------------------------------------


@dataclass
class YearFlow:
    year: int
    cost: float
    benefit: float
    net: float
    factor: float  # 1 / (1 + rate)^t
    pv_net: float
    cumulative_pv: float


@dataclass
class ProjectRoi:
    code: str
    title_vi: str
    title_en: str
    rate: float  # percent
    costs: dict[int, float] = field(default_factory=dict)
    benefits: dict[int, float] = field(default_factory=dict)
    flows: list[YearFlow] = field(default_factory=list)
    total_cost: float = 0.0
    total_benefit: float = 0.0
    pv_costs: float = 0.0
    pv_benefits: float = 0.0
    npv: float = 0.0
    bcr: float | None = None
    irr: float | None = None  # a fraction
    payback_year: int | None = None  # the first year the cumulative discounted net turns ≥ 0
    sensitivity: dict = field(default_factory=dict)

    @property
    def title(self) -> str:
        return localised(self.title_vi, self.title_en)

    @property
    def irr_percent(self) -> float | None:
        return None if self.irr is None else 100.0 * self.irr

    @property
    def has_benefits(self) -> bool:
        return bool(self.benefits)

    def summary(self) -> dict:
        """JSON-serialisable figures for a frozen evaluation."""
        return {
            "code": self.code, "title_vi": self.title_vi, "title_en": self.title_en, "rate": self.rate,
            "total_cost": self.total_cost, "total_benefit": self.total_benefit, "pv_costs": self.pv_costs,
            "pv_benefits": self.pv_benefits, "npv": self.npv, "bcr": self.bcr, "irr": self.irr,
            "payback_year": self.payback_year,
        }


def compute(code: str, title_vi: str, title_en: str, costs: Mapping, benefits: Mapping, rate_pct: float,
            *, with_sensitivity: bool = True) -> ProjectRoi:
    """The figures of one project from its yearly costs and benefits (VND) at `rate_pct` percent."""
    costs = {int(y): float(v) for y, v in costs.items() if v}
    benefits = {int(y): float(v) for y, v in benefits.items() if v}
    rate = rate_pct / 100.0
    result = ProjectRoi(code=code, title_vi=title_vi, title_en=title_en, rate=rate_pct, costs=costs,
                        benefits=benefits)
    span = _years(costs, benefits)
    if span is None:
        return result
    first, last = span
    cumulative = 0.0
    for y in range(min(first, *benefits) if benefits else first, last + 1):
        cost, benefit = costs.get(y, 0.0), benefits.get(y, 0.0)
        factor = 1.0 / (1.0 + rate) ** (y - first)
        cumulative += (benefit - cost) * factor
        result.flows.append(YearFlow(y, cost, benefit, benefit - cost, factor, (benefit - cost) * factor,
                                     cumulative))
        if result.payback_year is None and cumulative >= 0 and benefit > 0 and y >= first:
            result.payback_year = y
    result.total_cost, result.total_benefit = sum(costs.values()), sum(benefits.values())
    result.pv_costs = present_value(costs, rate, first)
    result.pv_benefits = present_value(benefits, rate, first)
    result.npv = result.pv_benefits - result.pv_costs
    result.bcr = bcr(costs, benefits, rate)
    result.irr = irr_of(costs, benefits)
    if with_sensitivity:
        result.sensitivity = sensitivity(costs, benefits, rate)
    return result


def project_costs(city: City) -> list[dict]:
    """`programme.project_costs`, or [] when no module provides it or the programme is disabled."""
    provider = registry.provided("programme.project_costs")
    if provider is None or not city.module_enabled("programme"):
        return []
    return list(provider(city))


def benefits_by_project(city: City, codes: Iterable[str] | None = None) -> dict[str, dict[int, float]]:
    """{project code: {year: VND}} from the city's Benefit rows (summed per year)."""
    qs = Benefit.objects.for_city(city)
    if codes is not None:
        qs = qs.filter(project_code__in=list(codes))
    out: dict[str, dict[int, float]] = {}
    for code, year, amount in qs.values_list("project_code", "year", "amount_vnd"):
        by_year = out.setdefault(code, {})
        by_year[year] = by_year.get(year, 0.0) + float(amount)
    return out


def project_roi(city: City, code: str, rate: float | None = None) -> ProjectRoi:
    """One project's return on investment at `rate` percent (default: the city's); NotFound when the
    programme has no project of that code."""
    rate = default_rate(city) if rate is None else rate
    project = next((p for p in project_costs(city) if p["code"] == code), None)
    if project is None:
        raise NotFound(_("The programme has no project with this code."))
    benefits = benefits_by_project(city, [code]).get(code, {})
    return compute(code, project.get("title_vi", ""), project.get("title_en", ""), project["costs"], benefits,
                   rate)


def portfolio(city: City, rate: float | None = None) -> list[ProjectRoi]:
    """Every project of the programme with its figures (without sensitivity tables), in the programme's
    order; two queries for the benefits and the costs."""
    rate = default_rate(city) if rate is None else rate
    projects = project_costs(city)
    benefits = benefits_by_project(city, [p["code"] for p in projects])
    return [
        compute(p["code"], p.get("title_vi", ""), p.get("title_en", ""), p["costs"],
                benefits.get(p["code"], {}), rate, with_sensitivity=False)
        for p in projects
    ]


def totals(rows: Sequence[ProjectRoi]) -> dict:
    """The portfolio's totals (PV at each project's own first cost year, summed)."""
    pv_costs = sum(r.pv_costs for r in rows)
    pv_benefits = sum(r.pv_benefits for r in rows)
    return {
        "total_cost": sum(r.total_cost for r in rows),
        "total_benefit": sum(r.total_benefit for r in rows),
        "pv_costs": pv_costs,
        "pv_benefits": pv_benefits,
        "npv": pv_benefits - pv_costs,
        "bcr": pv_benefits / pv_costs if pv_costs else None,
    }
