"""Evaluation of the master plan against its targets (docs/modules/kpis.md, "Evaluation").

Pure functions first (`progress`, `points`, `projection`, `on_track`, `light`, `score`), then
`evaluate(city, year)`, which reads the programme's targets through `registry.provided("programme.targets")`
and the effective values through `kpis.selectors`, and returns an `Evaluation` (dataclasses, turned into
JSON by `Evaluation.to_dict()` for a frozen report and back by `Evaluation.from_dict()`).

Decisions on the edge cases (the contract leaves them open):

- **Progress** = 100·(current − baseline)/(target − baseline), not clipped; `None` when the target equals
  the baseline or the current value is missing. It works unchanged for lower-is-better targets (target
  below baseline) and for negative baselines.
- **Points** (U4SSC: share of target = progress): < 33 → 1, < 66 → 2, < 95 → 3, else 4; `None` without
  a progress.
- **Projection** to the deadline's year by compound annual growth from (baseline_year, baseline) to
  (year, current): current · (current/baseline)^((deadline_year − year)/(year − baseline_year)); linear
  when either value is ≤ 0; `None` with less than one year between the baseline and the evaluation year
  or when the current value is missing. A deadline in or before the evaluation year projects the
  current value itself (the trend is not extrapolated backwards).
- **On track** when the projection reaches the target in the direction the target's `higher_is_better`
  says (≥ the target, or ≤ it), with a relative tolerance of 1e-9; `None` when there is no projection.
- **Traffic light**: grey when the current value is missing; green when the points are 4 or the target
  is on track; amber for points 2–3, red for 1 (not on track). A "maintain" target (target = baseline)
  has no points: green when on track, red when not, grey when unknown.
- **Roll-ups** (by dimension, sub-dimension, category and goal): sum of points / (4 × scored targets) in
  percent; missing targets (and maintain targets, which have no points) are counted but left out of
  the score. A roll-up's light rounds the mean points (score / 25) half up: 4 green, 2–3 amber, 1 red,
  grey when nothing is scored.
- **Current value** = the effective yearly value of the evaluation year; when the year has none (or it
  is missing), the latest quarter of that year with a value, then the latest month.
- **Which indicator a target's code names**: the city's (or shared) indicator of that code. A U4SSC code
  measured by several platform components (EN: EN: AQ: 1C by PM2.5, PM10 and NO2: indicators whose
  `standard_code` is the code) resolves to the U4SSC indicator itself when it has a current value (an
  approved manual value), else to the component the target's label names ("PM2.5", also written
  "PM2,5"; the longest name that matches wins), else to the first component in catalogue order.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from dothi.core.manifests import registry
from dothi.core.models import City, localised
from dothi.kpis import periods, selectors
from dothi.kpis.models import Grain, Indicator, Value

GREEN, AMBER, RED, GREY = "green", "amber", "red", "grey"
LIGHTS = (GREEN, AMBER, RED, GREY)
LIGHT_LABELS = {
    GREEN: pgettext_lazy("traffic light", "On track"),
    AMBER: pgettext_lazy("traffic light", "Needs attention"),
    RED: pgettext_lazy("traffic light", "Off track"),
    GREY: pgettext_lazy("traffic light", "No data"),
}
# U4SSC's thresholds on the share of target (percent) for 2, 3 and 4 points.
POINT_THRESHOLDS = (33.0, 66.0, 95.0)
TOLERANCE = 1e-9
UNCLASSIFIED = ""


# --- Pure functions ------------------------------------------------------------------------------------


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def progress(current: float | None, baseline: float, target: float) -> float | None:
    """100·(current − baseline)/(target − baseline); None when current is missing or target = baseline."""
    if current is None or target == baseline:
        return None
    return 100.0 * (current - baseline) / (target - baseline)


def points(share: float | None) -> int | None:
    """U4SSC points 1–4 from the share of target (the progress, in percent); None when it is None."""
    if share is None:
        return None
    for n, threshold in enumerate(POINT_THRESHOLDS, start=1):
        if share < threshold:
            return n
    return 4


def projection(
    *, baseline: float, baseline_year: int, current: float | None, year: int, deadline_year: int
) -> float | None:
    """The value the trend from (baseline_year, baseline) to (year, current) reaches in deadline_year:
    compound annual growth, linear when either value is ≤ 0. None with less than a year of history."""
    if current is None:
        return None
    span = year - baseline_year
    if span < 1:
        return None
    ahead = deadline_year - year
    if ahead <= 0:
        return current
    if baseline > 0 and current > 0:
        try:
            return current * (current / baseline) ** (ahead / span)
        except OverflowError:
            return math.inf
    return current + (current - baseline) / span * ahead


def on_track(projected: float | None, target: float, higher_is_better: bool) -> bool | None:
    """Whether the projection reaches the target in the right direction; None without a projection."""
    if projected is None or math.isnan(projected):
        return None
    slack = TOLERANCE * max(1.0, abs(target))
    return projected >= target - slack if higher_is_better else projected <= target + slack


def light(pts: int | None, track: bool | None, *, missing: bool) -> str:
    """The traffic light of one target (see the module's docstring)."""
    if missing:
        return GREY
    if pts is None:  # a maintain target (target = baseline): no points
        return GREY if track is None else (GREEN if track else RED)
    if pts == 4 or track:
        return GREEN
    return AMBER if pts >= 2 else RED


def score(all_points: list[int | None]) -> float | None:
    """Sum of points / (4 × count) in percent, over the targets that have points; None when none has."""
    scored = [p for p in all_points if p is not None]
    if not scored:
        return None
    return 100.0 * sum(scored) / (4 * len(scored))


def score_light(pct: float | None) -> str:
    """A roll-up's light: the mean points (pct / 25) rounded half up; 4 green, 2–3 amber, 1 red."""
    if pct is None:
        return GREY
    mean = math.floor(pct / 25.0 + 0.5)
    if mean >= 4:
        return GREEN
    return AMBER if mean >= 2 else RED


# --- Results -----------------------------------------------------------------------------------------


@dataclass
class TargetRow:
    target_id: int | None
    kpi_code: str
    label_vi: str
    label_en: str
    unit: str
    baseline_value: float
    baseline_year: int
    target_value: float
    deadline: date
    higher_is_better: bool
    goal_id: int | None = None
    goal_code: str = ""
    goal_title_vi: str = ""
    goal_title_en: str = ""
    programme_code: str = ""
    # The indicator measuring it (None: no indicator of that code in the catalogue).
    found: bool = False
    indicator_code: str = ""
    indicator_name_vi: str = ""
    indicator_name_en: str = ""
    dimension: str = UNCLASSIFIED
    sub_dimension: str = UNCLASSIFIED
    category: str = UNCLASSIFIED
    # The current value and its period (grain "" when missing).
    current: float | None = None
    grain: str = ""
    period_start: date | None = None
    value_note: str = ""
    progress: float | None = None
    points: int | None = None
    on_track: bool | None = None
    projected: float | None = None
    light: str = GREY

    @property
    def label(self) -> str:
        return localised(self.label_vi, self.label_en)

    @property
    def goal_title(self) -> str:
        return localised(self.goal_title_vi, self.goal_title_en)

    @property
    def indicator_name(self) -> str:
        return localised(self.indicator_name_vi, self.indicator_name_en)

    @property
    def missing(self) -> bool:
        return self.current is None

    @property
    def period_label(self) -> str:
        return periods.label(self.grain, self.period_start) if self.grain and self.period_start else ""

    @property
    def light_label(self) -> str:
        return str(LIGHT_LABELS[self.light])

    @property
    def deadline_year(self) -> int:
        return self.deadline.year

    @property
    def progress_bar(self) -> float:
        """The progress clipped to 0–100, for a progress bar."""
        return max(0.0, min(100.0, self.progress)) if self.progress is not None else 0.0


@dataclass
class Rollup:
    kind: str  # "dimension" | "sub_dimension" | "category" | "goal"
    key: str  # the English name (dimension…) or the goal's code
    name_vi: str = ""
    name_en: str = ""
    count: int = 0
    reported: int = 0
    missing: int = 0
    scored: int = 0
    points_sum: int = 0
    score: float | None = None
    light: str = GREY
    dimension: str = ""  # the parent dimension (sub-dimensions, categories)

    @property
    def name(self) -> str:
        return localised(self.name_vi, self.name_en) or str(_("Unclassified"))

    @property
    def light_label(self) -> str:
        return str(LIGHT_LABELS[self.light])


@dataclass
class Evaluation:
    year: int
    targets: list[TargetRow] = field(default_factory=list)
    by_dimension: list[Rollup] = field(default_factory=list)
    by_sub_dimension: list[Rollup] = field(default_factory=list)
    by_category: list[Rollup] = field(default_factory=list)
    by_goal: list[Rollup] = field(default_factory=list)
    overall: Rollup | None = None

    @property
    def is_empty(self) -> bool:
        return not self.targets

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable (dates as ISO text, non-finite numbers as None)."""
        return _jsonable(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evaluation:
        def row(d: dict) -> TargetRow:
            d = dict(d)
            d["deadline"] = date.fromisoformat(d["deadline"])
            d["period_start"] = date.fromisoformat(d["period_start"]) if d.get("period_start") else None
            known = TargetRow.__dataclass_fields__
            return TargetRow(**{k: v for k, v in d.items() if k in known})

        def roll(d: dict | None) -> Rollup | None:
            if d is None:
                return None
            known = Rollup.__dataclass_fields__
            return Rollup(**{k: v for k, v in d.items() if k in known})

        return cls(
            year=int(data["year"]),
            targets=[row(d) for d in data.get("targets", [])],
            by_dimension=[roll(d) for d in data.get("by_dimension", [])],
            by_sub_dimension=[roll(d) for d in data.get("by_sub_dimension", [])],
            by_category=[roll(d) for d in data.get("by_category", [])],
            by_goal=[roll(d) for d in data.get("by_goal", [])],
            overall=roll(data.get("overall")),
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# --- Reading the targets and values --------------------------------------------------------------------


def targets_of(city: City) -> list[dict]:
    """The programme's targets (`programme.targets`), or [] when no module provides them or the city has
    the programme module disabled."""
    provider = registry.provided("programme.targets")
    if provider is None or not city.module_enabled("programme"):
        return []
    return list(provider(city))


def _goal_titles(city: City) -> dict[int | None, tuple[str, str]]:
    """{goal id: (Vietnamese title, English title)}: `programme.targets` gives the title in the active
    language, so it is read once in each."""
    titles: dict[str, dict] = {}
    for lang in ("vi", "en"):
        with translation.override(lang):
            titles[lang] = {t["goal"]["id"]: t["goal"]["title"] for t in targets_of(city) if t.get("goal")}
    return {gid: (titles["vi"].get(gid, ""), titles["en"].get(gid, "")) for gid in titles["vi"]}


_SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", (text or "").translate(_SUBSCRIPTS).replace(",", ".").upper())


def resolve(city: City, code: str, label_text: str, year: int) -> tuple[Indicator | None, Value | None]:
    """The indicator a target's code names and its current value for `year` (see the docstring)."""
    direct = selectors.indicator_by_code(city, code)
    components = [i for i in selectors.indicator_by_standard_code(city, code) if i.code != code]
    if not components:
        return direct, (current_value(city, direct, year) if direct is not None else None)
    if direct is not None:
        own = current_value(city, direct, year)
        if own is not None:
            return direct, own
    text = _norm(label_text)
    named = [c for c in components if c.component and _norm(c.component) in text]
    chosen = max(named, key=lambda c: len(_norm(c.component))) if named else components[0]
    return chosen, current_value(city, chosen, year)


def current_value(city: City, indicator: Indicator, year: int) -> Value | None:
    """The effective value of the year; else the latest quarter of the year with a value, else the
    latest month. None when there is none (missing, never zero)."""
    start = date(year, 1, 1)
    found = selectors.effective_value(city, indicator, Grain.YEAR, start)
    if found is not None and found.value is not None:
        return found
    for grain in (Grain.QUARTER, Grain.MONTH):
        rows = selectors.series(city, indicator, grain, since=start, until=date(year, 12, 31))
        with_value = [v for v in rows if v.value is not None]
        if with_value:
            return with_value[-1]
    return None


def yearly_values(city: City, row: TargetRow, until: int | None = None) -> dict[int, float | None]:
    """{year: effective yearly value} of a target's indicator from the year after its baseline (to
    `until` included), for its chart."""
    if not row.found:
        return {}
    ind = selectors.indicator_by_code(city, row.indicator_code)
    if ind is None:
        return {}
    values = selectors.series(city, ind, Grain.YEAR, since=date(row.baseline_year + 1, 1, 1),
                              until=date(until, 1, 1) if until else None)
    return {v.period_start.year: v.value for v in values}


# --- The evaluation ----------------------------------------------------------------------------------------


def evaluate_target(city: City, t: dict, year: int, goal_titles: dict | None = None) -> TargetRow:
    goal = t.get("goal") or {}
    titles = (goal_titles or {}).get(goal.get("id"), (goal.get("title", ""), ""))
    deadline = t["deadline"]
    deadline = date.fromisoformat(deadline) if isinstance(deadline, str) else deadline
    row = TargetRow(
        target_id=t.get("id"),
        kpi_code=t["kpi_code"],
        label_vi=t.get("label_vi") or t.get("label", ""),
        label_en=t.get("label_en", ""),
        unit=t.get("unit", ""),
        baseline_value=float(t["baseline_value"]),
        baseline_year=int(t["baseline_year"]),
        target_value=float(t["target_value"]),
        deadline=deadline,
        higher_is_better=bool(t.get("higher_is_better", True)),
        goal_id=goal.get("id"),
        goal_code=goal.get("code", ""),
        goal_title_vi=titles[0],
        goal_title_en=titles[1],
        programme_code=(t.get("programme") or {}).get("code", ""),
    )
    indicator, value = resolve(city, row.kpi_code, f"{row.label_vi} {row.label_en}", year)
    if indicator is not None:
        row.found = True
        row.indicator_code = indicator.code
        row.indicator_name_vi, row.indicator_name_en = indicator.name_vi, indicator.name_en
        row.dimension, row.sub_dimension = indicator.dimension, indicator.sub_dimension
        row.category = indicator.category
    if value is not None:
        row.current = value.value
        row.grain, row.period_start, row.value_note = value.grain, value.period_start, value.note
    row.progress = _finite(progress(row.current, row.baseline_value, row.target_value))
    row.points = points(row.progress)
    row.projected = projection(
        baseline=row.baseline_value, baseline_year=row.baseline_year, current=row.current, year=year,
        deadline_year=row.deadline.year,
    )
    row.on_track = on_track(row.projected, row.target_value, row.higher_is_better)
    row.projected = _finite(row.projected)
    row.light = light(row.points, row.on_track, missing=row.missing)
    return row


def _rollups(rows: list[TargetRow], kind: str, key_of, names_of, parent_of=None) -> list[Rollup]:
    groups: dict[str, list[TargetRow]] = {}
    for r in rows:
        groups.setdefault(key_of(r), []).append(r)
    out = []
    for key, members in groups.items():
        vi, en = names_of(key, members[0])
        pts = [r.points for r in members]
        roll = Rollup(
            kind=kind, key=key, name_vi=vi, name_en=en, count=len(members),
            reported=sum(1 for r in members if not r.missing), missing=sum(1 for r in members if r.missing),
            scored=sum(1 for p in pts if p is not None), points_sum=sum(p for p in pts if p is not None),
            score=score(pts), dimension=parent_of(members[0]) if parent_of else "",
        )
        roll.light = score_light(roll.score)
        out.append(roll)
    return out


def _both(text) -> tuple[str, str]:
    """A lazy translation in Vietnamese and in English."""
    with translation.override("vi"):
        vi = str(text)
    with translation.override("en"):
        en = str(text)
    return vi, en


def _catalogue_label(name: str) -> tuple[str, str]:
    """A U4SSC dimension / sub-dimension / category name in Vietnamese and English."""
    if not name:
        return "", ""
    from dothi.kpis import catalogue

    out = []
    for lang in ("vi", "en"):
        with translation.override(lang):
            out.append(catalogue.label(name))
    return out[0], out[1]


def rollup(rows: list[TargetRow]) -> dict[str, Any]:
    """The roll-ups of evaluated targets by dimension, sub-dimension, category and goal, and overall."""

    def cat_names(key, r):
        return _catalogue_label(key.split(" / ")[-1]) if key else ("", "")

    by_dim = _rollups(rows, "dimension", lambda r: r.dimension, lambda k, r: _catalogue_label(k))
    by_sub = _rollups(
        rows, "sub_dimension", lambda r: f"{r.dimension} / {r.sub_dimension}" if r.sub_dimension else "",
        cat_names, lambda r: r.dimension,
    )
    by_cat = _rollups(
        rows, "category",
        lambda r: f"{r.dimension} / {r.sub_dimension} / {r.category}" if r.category else "",
        cat_names, lambda r: r.dimension,
    )
    by_goal = _rollups(rows, "goal", lambda r: r.goal_code, lambda k, r: (r.goal_title_vi, r.goal_title_en))
    overall = _rollups(rows, "overall", lambda r: "all", lambda k, r: _both(_("All targets")))
    for group in (by_dim, by_sub, by_cat):
        group.sort(key=lambda g: (g.key == UNCLASSIFIED, g.key))
    return {
        "by_dimension": by_dim, "by_sub_dimension": by_sub, "by_category": by_cat, "by_goal": by_goal,
        "overall": overall[0] if overall else None,
    }


def evaluate(city: City, year: int) -> Evaluation:
    """Every programme target of the city evaluated for `year`, with the roll-ups."""
    targets = targets_of(city)
    titles = _goal_titles(city) if targets else {}
    rows = [evaluate_target(city, t, year, titles) for t in targets]
    return Evaluation(year=year, targets=rows, **rollup(rows))


def years(city: City, today: date) -> list[int]:
    """Years the year picker offers: from the earliest baseline year of the targets to this year."""
    first = min((int(t["baseline_year"]) for t in targets_of(city)), default=today.year - 1)
    first = max(first, today.year - 15)
    return list(range(today.year, first - 1, -1))
