"""Inline SVG charts: a measured histogram (bars) against the spec's expected curve (a line).

No scripts, no fonts or styles from the network: each chart is one <svg> element with two
series groups, `series measured` and `series expected`, so a page of them works offline.
"""

from __future__ import annotations

import math
from html import escape

from synthgen.fidelity.results import Chart

WIDTH, HEIGHT = 600, 280
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 28, 52


def _axis(lo: float, hi: float, log: bool) -> tuple[float, float]:
    return (math.log10(lo), math.log10(hi)) if log else (lo, hi)


def _scale(value: float, lo: float, hi: float, log: bool, a: float, b: float) -> float:
    v = math.log10(value) if log else value
    lo_t, hi_t = _axis(lo, hi, log)
    return a + (v - lo_t) / ((hi_t - lo_t) or 1.0) * (b - a)


def _ticks(lo: float, hi: float, log: bool, count: int = 5) -> list[float]:
    if log:
        first, last = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
        every = max(1, (last - first) // 6)
        return [10.0**k for k in range(first, last + 1, every) if lo <= 10.0**k <= hi]
    step = (hi - lo) / count
    return [lo + i * step for i in range(count + 1)]


def _label(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000 or abs(value) < 0.01:
        return f"{value:.0e}".replace("e+0", "e").replace("e-0", "e-")
    return f"{value:.3g}"


def chart_svg(chart: Chart) -> str:
    """One <svg> for a chart: bars for the measured shares, a polyline for the expected ones."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    values = [v for v in chart.measured + chart.expected if v > 0]
    y_hi = max(values, default=1.0) * (1.6 if chart.log_y else 1.1)
    y_lo = max(min(values, default=1e-6) / 2, y_hi * 1e-7) if chart.log_y else 0.0
    n = len(chart.measured)
    if chart.labels is not None or chart.edges is None:
        lefts = [LEFT + plot_w * i / n for i in range(n)]
        rights = [LEFT + plot_w * (i + 1) / n for i in range(n)]
    else:
        e = chart.edges
        lefts = [_scale(e[i], e[0], e[-1], chart.log_x, LEFT, LEFT + plot_w) for i in range(n)]
        rights = [_scale(e[i + 1], e[0], e[-1], chart.log_x, LEFT, LEFT + plot_w) for i in range(n)]

    def y(value: float) -> float:
        clipped = min(max(value, y_lo if chart.log_y else 0.0), y_hi)
        if chart.log_y and clipped <= 0:
            clipped = y_lo
        return _scale(clipped, y_lo, y_hi, chart.log_y, TOP + plot_h, TOP)

    base = TOP + plot_h
    bars = "".join(
        f'<rect x="{lft + 0.5:.1f}" y="{y(v):.1f}" width="{max(rgt - lft - 1, 0.5):.1f}" '
        f'height="{max(base - y(v), 0):.1f}" data-value="{v:.6g}"><title>{v:.4g}</title></rect>'
        for lft, rgt, v in zip(lefts, rights, chart.measured, strict=True)
        if v > 0
    )
    centres = [(lft + rgt) / 2 for lft, rgt in zip(lefts, rights, strict=True)]
    points = " ".join(f"{x:.1f},{y(v):.1f}" for x, v in zip(centres, chart.expected, strict=True))
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y(v):.1f}" r="2.5" data-value="{v:.6g}"/>'
        for x, v in zip(centres, chart.expected, strict=True)
    )
    return (
        f'<svg class="chart" data-chart="{escape(chart.name)}" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="{escape(chart.title)}">'
        f'<g class="series measured" fill="#7aa6d8">{bars}</g>'
        f'<g class="series expected" fill="#c0392b"><polyline points="{points}" fill="none" '
        f'stroke="#c0392b" stroke-width="2"/>{dots}</g>'
        f"{_axes(chart, lefts, rights, y_lo, y_hi, plot_w, plot_h)}"
        f'<g class="legend" font-size="11"><rect x="{LEFT + 8}" y="8" width="10" height="10" '
        f'fill="#7aa6d8"/><text x="{LEFT + 22}" y="17">measured</text>'
        f'<line x1="{LEFT + 90}" y1="13" x2="{LEFT + 106}" y2="13" stroke="#c0392b" '
        f'stroke-width="2"/><text x="{LEFT + 110}" y="17">expected (spec)</text></g></svg>'
    )


def _axes(
    chart: Chart,
    lefts: list[float],
    rights: list[float],
    y_lo: float,
    y_hi: float,
    plot_w: float,
    plot_h: float,
) -> str:
    base = TOP + plot_h
    parts = [
        f'<g class="axes" stroke="#444" font-size="10" fill="#333">'
        f'<line x1="{LEFT}" y1="{base}" x2="{LEFT + plot_w}" y2="{base}"/>'
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{base}"/>'
    ]
    for t in _ticks(y_lo if chart.log_y else 0.0, y_hi, chart.log_y):
        ty = _scale(t, y_lo, y_hi, chart.log_y, base, TOP)
        parts.append(
            f'<line x1="{LEFT - 4}" y1="{ty:.1f}" x2="{LEFT}" y2="{ty:.1f}"/>'
            f'<text x="{LEFT - 6}" y="{ty + 3:.1f}" text-anchor="end" stroke="none">'
            f"{_label(t)}</text>"
        )
    if chart.labels is not None:
        every = max(1, len(chart.labels) // 12)
        for i, label in enumerate(chart.labels):
            if i % every == 0:
                x = (lefts[i] + rights[i]) / 2
                parts.append(
                    f'<text x="{x:.1f}" y="{base + 14}" text-anchor="middle" '
                    f'stroke="none">{escape(label)}</text>'
                )
    elif chart.edges:
        e = chart.edges
        for t in _ticks(e[0], e[-1], chart.log_x) if chart.log_x else e[:: max(1, len(e) // 8)]:
            x = _scale(t, e[0], e[-1], chart.log_x, LEFT, LEFT + plot_w)
            parts.append(
                f'<line x1="{x:.1f}" y1="{base}" x2="{x:.1f}" y2="{base + 4}"/>'
                f'<text x="{x:.1f}" y="{base + 15}" text-anchor="middle" stroke="none">'
                f"{_label(t)}</text>"
            )
    y_note = "share (log)" if chart.log_y else "share"
    x_note = f"{chart.x_label} (log)" if chart.log_x else chart.x_label
    parts.append(
        f'<text x="{LEFT + plot_w / 2:.0f}" y="{HEIGHT - 8}" text-anchor="middle" '
        f'stroke="none">{escape(x_note)}</text>'
        f'<text x="14" y="{TOP + plot_h / 2:.0f}" text-anchor="middle" stroke="none" '
        f'transform="rotate(-90 14 {TOP + plot_h / 2:.0f})">{y_note}</text></g>'
    )
    return "".join(parts)
