"""The load-test page's SVG charts: lines over clients or offered load, and the capacity bars.

Series are told apart by colour and by stroke: direct runs solid with round markers, pooled
runs dashed with square markers, so a pooled line lying on a direct one still shows. Log axes
carry at least three labelled ticks (1-2-5 steps, finer when the range is narrow).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape

from synthgen.fidelity.svg import HEIGHT, LEFT, RIGHT, TOP, WIDTH, _label, _scale

BOTTOM = 52
LEGEND_COLUMNS, LEGEND_W, LEGEND_ROW = 2, 250, 14  # two columns: four series fit the width
COLOURS = ("#8c959f", "#1a7f37", "#0969da", "#bf3989", "#9a6700", "#cf222e")
Points = list[tuple[float, float]]


def log_ticks(lo: float, hi: float) -> list[float]:
    """Tick values inside [lo, hi] on a log axis: 1-2-5 per decade, or finer steps when that
    gives fewer than three (1-2-3-5, then every integer), or lo, the geometric middle and hi
    as the last resort."""
    first, last = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    for mantissas in ((1,), (1, 2, 5), (1, 2, 3, 5), (1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9)):
        ticks = [m * 10.0**k for k in range(first, last + 1) for m in mantissas]
        inside = [t for t in ticks if lo <= t <= hi]
        if 3 <= len(inside) <= 12:
            return inside
    middle = math.sqrt(lo * hi)
    return [float(f"{v:.2g}") for v in (lo * 1.05, middle, hi / 1.05)]


def linear_ticks(hi: float) -> list[float]:
    """0 up to `hi` in 4 to 8 round steps (1, 2 or 5 times a power of ten)."""
    raw = hi / 5 if hi > 0 else 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return [i * step for i in range(int(hi / step) + 1)]


@dataclass(frozen=True)
class Marker:
    """A vertical line at x (a run's capacity, the knee), with its label."""

    x: float
    label: str
    colour: str = "#444"


@dataclass(frozen=True)
class LineChart:
    """A chart of series over x: clients (log) or offered load (linear), log y."""

    title: str
    y_label: str
    series: dict[str, Points]
    x_label: str = "clients (log)"
    x_log: bool = True
    markers: list[Marker] = field(default_factory=list)


def series_style(name: str, index: int) -> tuple[str, str, str]:
    """Colour, stroke-dasharray and marker shape of a series (pooled runs: dashed, squares)."""
    pooled = "pgbouncer" in name
    return (
        COLOURS[index % len(COLOURS)],
        ("6 4" if pooled else ""),
        ("square" if pooled else "circle"),
    )


def _marker_shape(shape: str, x: float, y: float, colour: str, tip: str) -> str:
    if shape == "square":
        return (
            f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="white" '
            f'stroke="{colour}" stroke-width="2"><title>{tip}</title></rect>'
        )
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3"><title>{tip}</title></circle>'


def line_svg(chart: LineChart) -> str:
    """One <svg>: a polyline per series, the markers as dashed verticals, a legend above."""
    points = [p for values in chart.series.values() for p in values if p[1] > 0]
    if not points:
        return f"<p>{escape(chart.title)}: no data</p>"
    xs = [p[0] for p in points] + [m.x for m in chart.markers]
    x_lo = min(xs) if chart.x_log else 0.0
    x_hi = max(xs) * (1.0 if chart.x_log else 1.08)
    x_hi = x_hi if x_hi > x_lo else (x_lo * 2 or 1.0)
    y_lo, y_hi = min(p[1] for p in points) / 1.5, max(p[1] for p in points) * 1.5
    rows = (len(chart.series) + len(chart.markers) - 1) // LEGEND_COLUMNS
    top = TOP + LEGEND_ROW * rows
    plot_w, base = WIDTH - LEFT - RIGHT, HEIGHT - BOTTOM

    def sx(x: float) -> float:
        return _scale(x, x_lo, x_hi, chart.x_log, LEFT, LEFT + plot_w)

    def sy(y: float) -> float:
        return _scale(max(y, y_lo), y_lo, y_hi, True, base, top)

    parts = [
        f'<svg class="chart" data-chart="{escape(chart.title)}" '
        f'xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" role="img" aria-label="{escape(chart.title)}">'
        f'<g class="axes" stroke="#444" font-size="10" fill="#333">'
        f'<line x1="{LEFT}" y1="{base}" x2="{LEFT + plot_w}" y2="{base}"/>'
        f'<line x1="{LEFT}" y1="{top}" x2="{LEFT}" y2="{base}"/>'
    ]
    for t in log_ticks(y_lo, y_hi):
        parts.append(
            f'<text class="ytick" x="{LEFT - 6}" y="{sy(t) + 3:.1f}" text-anchor="end" '
            f'stroke="none">{_label(t)}</text>'
        )
    x_ticks = sorted({p[0] for p in points}) if chart.x_log else linear_ticks(x_hi)
    for x in x_ticks:
        parts.append(
            f'<text class="xtick" x="{sx(x):.1f}" y="{base + 15}" text-anchor="middle" '
            f'stroke="none">{x:g}</text>'
        )
    mid = (top + base) / 2
    parts.append(
        f'<text x="{LEFT + plot_w / 2:.0f}" y="{HEIGHT - 8}" text-anchor="middle" stroke="none">'
        f'{escape(chart.x_label)}</text><text x="14" y="{mid:.0f}" text-anchor="middle" '
        f'stroke="none" transform="rotate(-90 14 {mid:.0f})">{escape(chart.y_label)} (log)'
        "</text></g>"
    )
    slots = list(range(len(chart.series) + len(chart.markers)))
    for i, (name, values) in enumerate(chart.series.items()):
        colour, dash, shape = series_style(name, i)
        good = [(x, y) for x, y in values if y > 0]
        line = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in good)
        dots = "".join(
            _marker_shape(shape, sx(x), sy(y), colour, f"{escape(name)}: {x:g}, {y:.4g}")
            for x, y in good
        )
        parts.append(
            f'<g class="series" data-series="{escape(name)}" fill="{colour}">'
            f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2" '
            f'stroke-dasharray="{dash}"/>{dots}</g>'
            + _legend(slots.pop(0), escape(name), colour, dash)
        )
    for marker in chart.markers:
        x = sx(marker.x)
        parts.append(
            f'<g class="marker" data-marker="{escape(marker.label)}"><line x1="{x:.1f}" '
            f'y1="{top}" x2="{x:.1f}" y2="{base}" stroke="{marker.colour}" stroke-width="1.5" '
            f'stroke-dasharray="2 3"/></g>'
            + _legend(slots.pop(0), escape(marker.label), marker.colour, "2 3")
        )
    parts.append("</svg>")
    return "".join(parts)


def _legend(slot: int, text: str, colour: str, dash: str) -> str:
    lx = LEFT + LEGEND_W * (slot % LEGEND_COLUMNS)
    ly = 13 + LEGEND_ROW * (slot // LEGEND_COLUMNS)
    return (
        f'<g class="legend" font-size="11"><line x1="{lx + 8}" y1="{ly}" x2="{lx + 24}" '
        f'y2="{ly}" stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}"/>'
        f'<text x="{lx + 28}" y="{ly + 4}">{text}</text></g>'
    )


def capacity_svg(capacities: dict[str, float], knee_label: str = "") -> str:
    """Horizontal bars: each run's capacity (tx/s, linear axis), the value at the bar's end."""
    if not capacities:
        return ""
    bar, gap, left, right = 18, 8, 190, 90
    height = 30 + len(capacities) * (bar + gap) + 24
    hi = max(max(capacities.values()), 1e-9)
    scale = (WIDTH - left - right) / hi
    parts = [
        f'<svg class="chart" data-chart="capacity" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" '
        f'aria-label="capacity"><g font-size="11" fill="#333">'
        f'<text x="{left}" y="16">capacity: highest tx/s with every p95 under its SLO'
        f"{escape(knee_label)}</text>"
    ]
    for i, (name, tps) in enumerate(capacities.items()):
        y = 30 + i * (bar + gap)
        colour, _, _ = series_style(name, i)
        parts.append(
            f'<g class="bar" data-series="{escape(name)}" data-value="{tps:.6g}">'
            # the bar's own label is its legend (the browser test reads .legend text)
            f'<g class="legend"><text x="{left - 6}" y="{y + 13}" text-anchor="end">'
            f"{escape(name)}</text></g>"
            f'<rect x="{left}" y="{y}" width="{max(tps * scale, 1):.1f}" height="{bar}" '
            f'fill="{colour}"/><text x="{left + tps * scale + 4:.1f}" y="{y + 13}">'
            f"{tps:,.1f} tx/s</text></g>"
        )
    parts.append("</g></svg>")
    return "".join(parts)
