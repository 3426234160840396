"""Inline SVG charts: both series present, log axes safe with zeros, nothing external."""

from __future__ import annotations

import re

from synthgen.fidelity.results import Chart
from synthgen.fidelity.svg import chart_svg


def test_categorical_chart_has_both_series() -> None:
    chart = Chart("types", "Types", "type", None, ["A", "B", "C"], [0.5, 0.3, 0.2], [0.6, 0.3, 0.1])
    svg = chart_svg(chart)
    assert svg.count("<svg") == 1 and svg.endswith("</svg>")
    measured = re.search(r'<g class="series measured"[^>]*>(.*?)</g>', svg)
    expected = re.search(r'<g class="series expected"[^>]*>(.*?)</g>', svg)
    assert measured and expected
    assert measured.group(1).count("<rect") == 3
    assert len(re.search(r'points="([^"]*)"', expected.group(1)).group(1).split()) == 3
    assert ">A<" in svg and ">C<" in svg


def test_log_chart_with_empty_bins() -> None:
    chart = Chart(
        "sizes",
        "Sizes",
        "members",
        [1, 2, 4, 8, 16],
        None,
        [0.9, 0.0, 0.1, 0.0],
        [0.8, 0.15, 0.05, 1e-9],
        log_x=True,
        log_y=True,
    )
    svg = chart_svg(chart)
    assert "nan" not in svg.lower() and "inf" not in svg.lower()
    assert svg.count("<rect") - svg.count('class="legend"') == 2  # bars for non-empty bins + legend
    assert "<script" not in svg and "href" not in svg
