"""Server-side SVG charts: gaps for missing values, target line, baseline, trend, accessible markup,
Vietnamese number format, escaping; and the traffic-light badge."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest
from django.utils import translation

from dothi.kpis import charts

NS = {"s": "http://www.w3.org/2000/svg"}


def _parse(svg: str):
    return ElementTree.fromstring(str(svg))


def test_gaps_break_the_line_and_are_marked():
    svg = charts.series_chart(labels=["2022", "2023", "2024", "2025", "2026"],
                              values=[10.0, 12.0, None, 14.0, 15.5], title="PM2.5", unit="µg/m³")
    root = _parse(svg)
    lines = root.findall("s:polyline[@class='kpi-chart-line']", NS)
    assert len(lines) == 2  # 2022–2023 and 2025–2026: the missing 2024 is a gap, not a zero
    assert [len(pl.get("points").split()) for pl in lines] == [2, 2]
    assert len(root.findall("s:circle[@class='kpi-chart-point']", NS)) == 4
    gaps = root.findall("s:g[@class='kpi-chart-gap']", NS)
    assert len(gaps) == 1


def test_accessible_and_escaped():
    svg = charts.series_chart(labels=["<b>"], values=[1.0], title='A "chart" <script>', desc="D & E")
    root = _parse(svg)
    assert root.get("role") == "img"
    cid = root.get("aria-labelledby").split()[0][:-2]
    assert root.find("s:title", NS).get("id") == f"{cid}-t"
    assert root.find("s:title", NS).text == 'A "chart" <script>'
    assert root.find("s:desc", NS).text.startswith("D & E")
    assert "<script>" not in str(svg) and "style=" not in str(svg)


def test_target_baseline_and_trend():
    with translation.override("en"):
        svg = charts.series_chart(labels=["2025", "2026"], values=[27.0, 25.0], title="PM2.5",
                                  target=20.0, target_label="Target", baseline=("2023", 30.0),
                                  trend=[("2030", 21.5)])
    root = _parse(svg)
    target = root.find("s:g[@class='kpi-chart-target']/s:line", NS)
    assert target.get("stroke-dasharray") == "6 4"
    assert root.find("s:g[@class='kpi-chart-target']/s:text", NS).text == "Target"
    assert root.find("s:rect[@class='kpi-chart-baseline']/s:title", NS).text == "Baseline 2023: 30"
    trend = root.find("s:polyline[@class='kpi-chart-trend']", NS)
    assert trend.get("stroke-dasharray") == "2 4"
    assert len(trend.get("points").split()) == 2  # from the last value (2026) to the projection (2030)
    labels = [t.text for t in root.findall("s:text[@class='kpi-chart-label']", NS)]
    assert labels == ["2023", "2025", "2026", "2030"]  # baseline first, trend after
    assert "Target: 20." in root.find("s:desc", NS).text


def test_vietnamese_number_format_on_the_axis():
    with translation.override("vi"):
        svg = charts.series_chart(labels=["a", "b"], values=[0.5, 1.75], title="t")
        assert charts.fmt(12.5) == "12,5"
        assert charts.fmt(1234567) == "1.234.567"
    ticks = [t.text for t in _parse(svg).findall("s:text[@class='kpi-chart-tick']", NS)]
    # Span 1.25 → step 0.5 (a round step for about 4 intervals), from 0.5 up to 2.
    assert ticks == ["0,5", "1,0", "1,5", "2,0"]
    with translation.override("en"):
        assert charts.fmt(12.5) == "12.5"
        assert charts.fmt(None) == "—"


def test_columns_include_zero_and_empty_chart():
    root = _parse(charts.series_chart(labels=["a", "b"], values=[5.0, None], title="t", kind="column"))
    bars = root.findall("s:rect[@class='kpi-chart-bar']", NS)
    assert len(bars) == 1
    ticks = [t.text for t in root.findall("s:text[@class='kpi-chart-tick']", NS)]
    assert ticks[0] == "0"
    empty = _parse(charts.series_chart(labels=[], values=[], title="t"))
    assert empty.find("s:text[@class='kpi-chart-empty']", NS) is not None


@pytest.mark.parametrize(("span", "step"), [(10, 2.5), (4, 1), (0.3, 0.1), (900, 250), (0, 1.0)])
def test_nice_step(span, step):
    assert charts.nice_step(span) == pytest.approx(step)


def test_light_badge():
    with translation.override("en"):
        badge = str(charts.light_badge("green"))
        assert "text-bg-success" in badge and "On track" in badge
        assert "No data" in str(charts.light_badge("bogus"))
