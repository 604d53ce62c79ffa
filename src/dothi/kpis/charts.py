"""Server-side SVG charts for the evaluation pages and the printed report: no script needed.

`series_chart(...)` draws a series as a line (or columns) over its period labels; `None` values are
gaps (the line breaks, a small cross marks the period on the axis). Optionally: the target as a dashed
horizontal line with its label, the baseline as a hollow square, and the trend projected to the
deadline as a dotted line from the last value. Axis numbers use the active language's number format
(Vietnamese: decimal comma, dot grouping). Every chart is an accessible image: `role="img"`, a
`<title>` and a `<desc>` (a sentence listing the values when none is given), and each point has its
own `<title>` for a tooltip.

Colours are presentation attributes (no `style=`, allowed by the content-security policy) and classes
(`kpi-chart-*`, static/kpis/evaluation.css) so the chart prints the same with or without the sheet.

`light_badge(light)` is the traffic light as a badge: a dot and its words (never colour alone).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

LINE = "#0b5ed7"
TARGET = "#b02a37"
TREND = "#6c757d"
BASELINE = "#495057"
GRID = "#dee2e6"
TEXT = "#212529"
BADGE_CLASSES = {
    "green": "text-bg-success",
    "amber": "text-bg-warning",
    "red": "text-bg-danger",
    "grey": "text-bg-secondary",
}


def fmt(value: float | None, decimals: int | None = None) -> str:
    """A number in the active language's format ("12,5" in Vietnamese); "—" for None."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if decimals is None:
        magnitude = abs(value)
        decimals = 0 if magnitude >= 100 or float(value).is_integer() else (1 if magnitude >= 10 else 2)
    return number_format(round(value, decimals), decimals, use_l10n=True, force_grouping=True)


def nice_step(span: float, ticks: int = 4) -> float:
    """A round step (1, 2, 2.5 or 5 × 10ⁿ) dividing `span` into about `ticks` intervals."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * power:
            return m * power
    return 10 * power  # pragma: no cover - the loop always returns


def _decimals(step: float) -> int:
    """The decimals a tick step needs (2.5 → 1, 0.25 → 2, 5 → 0)."""
    for d in range(5):
        if abs(round(step, d) - step) < 1e-9 * max(1.0, step):
            return d
    return 4


def _scale(values: list[float], *, include_zero: bool) -> tuple[float, float, float]:
    lo, hi = min(values), max(values)
    if include_zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if lo == hi:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    step = nice_step(hi - lo)
    return math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step, step


SVG_END = SafeString("</svg>")
G_END = SafeString("</g>")


def _join(parts: list[SafeString]) -> SafeString:
    """Safe parts joined (each was built by format_html, which escaped its text)."""
    return format_html_join("", "{}", ((p,) for p in parts))


def _chart_id(*parts) -> str:
    return "kc" + hashlib.blake2s(repr(parts).encode("utf-8"), digest_size=5).hexdigest()


def _with_unit(text: str, unit: str) -> str:
    return f"{text} {unit}".strip() if unit else text


def describe(labels: Sequence[str], values: Sequence[float | None], unit: str = "") -> str:
    """A sentence listing the values ("2024: 12,5 µg/m³; 2025: no data; …") for screen readers."""
    parts = [
        f"{label}: {_with_unit(fmt(v), unit) if v is not None else _('no data')}"
        for label, v in zip(labels, values, strict=False)
    ]
    return "; ".join(parts) + ("." if parts else "")


def series_chart(
    *,
    labels: Sequence[str],
    values: Sequence[float | None],
    title: str,
    desc: str = "",
    unit: str = "",
    target: float | None = None,
    target_label: str = "",
    baseline: tuple[str, float] | None = None,
    trend: Sequence[tuple[str, float]] | None = None,
    kind: str = "line",
    width: int = 640,
    height: int = 260,
    compact: bool = False,
    chart_id: str | None = None,
) -> SafeString:
    """An SVG chart (see the module's docstring); `kind` is "line" or "column"."""
    labels, values = list(labels), [None if v is None or not math.isfinite(v) else float(v) for v in values]
    trend = [(lab, float(v)) for lab, v in (trend or []) if v is not None and math.isfinite(v)]
    # The x axis: the baseline's period first when it is not among the labels, then the labels, then
    # the trend's periods that come after them.
    axis: list[str] = []
    if baseline is not None and baseline[0] not in labels:
        axis.append(baseline[0])
    axis += labels
    axis += [lab for lab, _v in trend if lab not in axis]
    cid = chart_id or _chart_id(title, labels, values, target, baseline, trend, kind, width, height)
    description = desc or describe(labels, values, unit)
    if target is not None:
        description += " " + _("Target: %(value)s.") % {"value": _with_unit(fmt(target), unit)}
    head = format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="kpi-chart{}" viewBox="0 0 {} {}" width="{}" '
        'height="{}" role="img" aria-labelledby="{}-t {}-d" preserveAspectRatio="xMidYMid meet">'
        '<title id="{}-t">{}</title><desc id="{}-d">{}</desc>',
        " kpi-chart-compact" if compact else "", width, height, width, height, cid, cid, cid, title, cid,
        description,
    )
    known = [v for v in values if v is not None]
    known += [v for _lab, v in trend]
    if target is not None:
        known.append(float(target))
    if baseline is not None and baseline[1] is not None:
        known.append(float(baseline[1]))
    if not axis or not known:
        empty = format_html(
            '<text x="{}" y="{}" text-anchor="middle" class="kpi-chart-empty" fill="{}">{}</text>',
            width / 2, height / 2, TREND, _("No data yet"),
        )
        return _join([head, empty, SVG_END])

    left, right = (8, 8) if compact else (60, 16 + (64 if target is not None and target_label else 0))
    top, bottom = (8, 8) if compact else (14, 34)
    plot_w, plot_h = max(width - left - right, 10), max(height - top - bottom, 10)
    lo, hi, step = _scale(known, include_zero=(kind == "column"))
    slot = plot_w / len(axis)

    def x(i: int) -> float:
        return round(left + (i + 0.5) * slot, 1)

    def y(v: float) -> float:
        return round(top + plot_h - (v - lo) / (hi - lo) * plot_h, 1)

    out: list[str] = [head]
    # Grid and y axis.
    if not compact:
        decimals = _decimals(step)
        n_ticks = int(round((hi - lo) / step))
        for k in range(n_ticks + 1):
            v = lo + k * step
            out.append(format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" stroke-width="1" class="kpi-chart-grid"/>'
                '<text x="{}" y="{}" text-anchor="end" font-size="11" fill="{}" class="kpi-chart-tick">'
                '{}</text>',
                left, left + plot_w, y(v), y(v), GRID, left - 6, y(v) + 4, TEXT, fmt(v, decimals),
            ))
        if unit:
            out.append(format_html(
                '<text x="{}" y="{}" font-size="11" fill="{}" class="kpi-chart-unit">{}</text>',
                4, top - 2 if top > 12 else 11, TEXT, unit,
            ))
        # X labels, thinned to about 12.
        every = max(1, math.ceil(len(axis) / 12))
        for i, lab in enumerate(axis):
            if i % every == 0 or i == len(axis) - 1:
                out.append(format_html(
                    '<text x="{}" y="{}" text-anchor="middle" font-size="11" fill="{}" '
                    'class="kpi-chart-label">{}</text>',
                    x(i), top + plot_h + 18, TEXT, lab,
                ))
    index = {lab: i for i, lab in enumerate(axis)}

    # Target line.
    if target is not None:
        ty = y(float(target))
        out.append(format_html(
            '<g class="kpi-chart-target"><title>{}</title><line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" '
            'stroke-width="1.5" stroke-dasharray="6 4"/>',
            _("Target: %(value)s") % {"value": _with_unit(fmt(target), unit)},
            left, left + plot_w, ty, ty, TARGET,
        ))
        if target_label and not compact:
            out.append(format_html(
                '<text x="{}" y="{}" font-size="11" fill="{}">{}</text>',
                left + plot_w + 4, ty + 4, TARGET, target_label,
            ))
        out.append(G_END)

    # The series.
    points: list[tuple[int, float]] = [(index[lab], v) for lab, v in zip(labels, values, strict=False)
                                       if v is not None]
    if kind == "column":
        bar = max(slot * 0.6, 1.0)
        zero = y(max(lo, min(0.0, hi)))
        for lab, v in zip(labels, values, strict=False):
            if v is None:
                continue
            i = index[lab]
            top_y, h = min(y(v), zero), abs(zero - y(v))
            out.append(format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}" class="kpi-chart-bar">'
                '<title>{}</title></rect>',
                round(x(i) - bar / 2, 1), top_y, round(bar, 1), round(max(h, 0.5), 1), LINE,
                f"{lab}: {_with_unit(fmt(v), unit)}",
            ))
    else:
        segment: list[str] = []
        segments: list[list[str]] = []
        for lab, v in zip(labels, values, strict=False):
            if v is None:
                if segment:
                    segments.append(segment)
                segment = []
            else:
                segment.append(f"{x(index[lab])},{y(v)}")
        if segment:
            segments.append(segment)
        for seg in segments:
            if len(seg) > 1:
                out.append(format_html(
                    '<polyline points="{}" fill="none" stroke="{}" stroke-width="2" class="kpi-chart-line"/>',
                    " ".join(seg), LINE,
                ))
        for lab, v in zip(labels, values, strict=False):
            if v is not None:
                out.append(format_html(
                    '<circle cx="{}" cy="{}" r="{}" fill="{}" class="kpi-chart-point">'
                    '<title>{}</title></circle>',
                    x(index[lab]), y(v), 2.5 if compact else 3.5, LINE, f"{lab}: {_with_unit(fmt(v), unit)}",
                ))
    # Gaps: a small cross on the axis for each period without a value.
    if not compact:
        base_y = top + plot_h
        for lab, v in zip(labels, values, strict=False):
            if v is None:
                cx = x(index[lab])
                out.append(format_html(
                    '<g class="kpi-chart-gap"><title>{}</title><path d="M{} {} L{} {} M{} {} L{} {}" '
                    'stroke="{}" stroke-width="1.5"/></g>',
                    f"{lab}: {_('no data')}", cx - 3, base_y - 3, cx + 3, base_y + 3,
                    cx - 3, base_y + 3, cx + 3, base_y - 3, TREND,
                ))

    # Baseline.
    if baseline is not None and baseline[1] is not None:
        bx, by = x(index[baseline[0]]), y(float(baseline[1]))
        out.append(format_html(
            '<rect x="{}" y="{}" width="8" height="8" fill="#fff" stroke="{}" stroke-width="2" '
            'class="kpi-chart-baseline"><title>{}</title></rect>',
            bx - 4, by - 4, BASELINE,
            _("Baseline %(period)s: %(value)s") % {"period": baseline[0],
                                                    "value": _with_unit(fmt(baseline[1]), unit)},
        ))

    # Trend: dotted from the last value through the projected points.
    if trend:
        start = points[-1] if points else None
        path = ([f"{x(start[0])},{y(start[1])}"] if start else [])
        path += [f"{x(index[lab])},{y(v)}" for lab, v in trend]
        if len(path) > 1:
            out.append(format_html(
                '<polyline points="{}" fill="none" stroke="{}" stroke-width="2" stroke-dasharray="2 4" '
                'class="kpi-chart-trend"/>',
                " ".join(path), TREND,
            ))
        for lab, v in trend:
            out.append(format_html(
                '<circle cx="{}" cy="{}" r="3" fill="#fff" stroke="{}" stroke-width="1.5" '
                'class="kpi-chart-projection"><title>{}</title></circle>',
                x(index[lab]), y(v), TREND,
                _("Projected %(period)s: %(value)s") % {"period": lab, "value": _with_unit(fmt(v), unit)},
            ))
    out.append(SVG_END)
    return _join(out)


def light_badge(light: str, label: str | None = None) -> SafeString:
    """The traffic light as a badge: a dot and its words (green/amber/red/grey)."""
    from dothi.kpis.evaluation import LIGHT_LABELS

    light = light if light in BADGE_CLASSES else "grey"
    return format_html(
        '<span class="badge kpi-light kpi-light-{} {}"><span aria-hidden="true">●</span> {}</span>',
        light, BADGE_CLASSES[light], label if label is not None else LIGHT_LABELS[light],
    )
