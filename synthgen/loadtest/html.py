"""`loadtest.html`: latency-vs-clients and throughput-vs-clients per query, one line per run
(pre / post, direct / pooled), plus the comparison's decision. One self-contained page.

The axes, ticks and labels are the fidelity report's (`synthgen.fidelity.svg`), the page style
and badges the run report's, so every synthgen page reads the same way.
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path
from typing import Any

from synthgen.fidelity.html import STYLE, decision_badge
from synthgen.fidelity.svg import HEIGHT, LEFT, RIGHT, TOP, WIDTH, _label, _scale, _ticks

BOTTOM = 52
LEGEND_COLUMNS, LEGEND_W, LEGEND_ROW = 2, 250, 14  # two columns: four series fit the width
COLOURS = ("#8c959f", "#1a7f37", "#0969da", "#bf3989", "#9a6700", "#cf222e")


def series_name(result: dict[str, Any]) -> str:
    pool = "direct" if result["pool"] == "none" else f"pgbouncer ({result['pool_size']})"
    return f"{result['label']}, {pool}"


def line_chart(title: str, y_label: str, series: dict[str, list[tuple[float, float]]]) -> str:
    """One <svg>: a polyline per series over clients (log x) and a log y axis."""
    points = [p for values in series.values() for p in values if p[1] > 0]
    if not points:
        return f"<p>{escape(title)}: no data</p>"
    x_lo, x_hi = min(p[0] for p in points), max(p[0] for p in points)
    x_hi = x_hi if x_hi > x_lo else x_lo * 2
    y_lo, y_hi = min(p[1] for p in points) / 1.5, max(p[1] for p in points) * 1.5
    # the legend takes a row per two series above the plot
    top = TOP + LEGEND_ROW * ((len(series) - 1) // LEGEND_COLUMNS)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - top - BOTTOM
    base = top + plot_h

    def xy(x: float, y: float) -> str:
        sx = _scale(x, x_lo, x_hi, True, LEFT, LEFT + plot_w)
        return f"{sx:.1f},{_scale(max(y, y_lo), y_lo, y_hi, True, base, top):.1f}"

    parts = [
        f'<svg class="chart" data-chart="{escape(title)}" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="{escape(title)}"><g class="axes" stroke="#444" font-size="10" fill="#333">'
        f'<line x1="{LEFT}" y1="{base}" x2="{LEFT + plot_w}" y2="{base}"/>'
        f'<line x1="{LEFT}" y1="{top}" x2="{LEFT}" y2="{base}"/>'
    ]
    for t in _ticks(y_lo, y_hi, True) or [y_lo, y_hi]:
        ty = _scale(t, y_lo, y_hi, True, base, top)
        parts.append(
            f'<text x="{LEFT - 6}" y="{ty + 3:.1f}" text-anchor="end" stroke="none">'
            f"{_label(t)}</text>"
        )
    for x in sorted({p[0] for p in points}):
        sx = _scale(x, x_lo, x_hi, True, LEFT, LEFT + plot_w)
        parts.append(
            f'<text x="{sx:.1f}" y="{base + 15}" text-anchor="middle" stroke="none">{x:g}</text>'
        )
    parts.append(
        f'<text x="{LEFT + plot_w / 2:.0f}" y="{HEIGHT - 8}" text-anchor="middle" '
        f'stroke="none">clients (log)</text><text x="14" y="{top + plot_h / 2:.0f}" '
        f'text-anchor="middle" stroke="none" transform="rotate(-90 14 {top + plot_h / 2:.0f})">'
        f"{escape(y_label)} (log)</text></g>"
    )
    for i, (name, values) in enumerate(series.items()):
        colour = COLOURS[i % len(COLOURS)]
        lx = LEFT + LEGEND_W * (i % LEGEND_COLUMNS)
        ly = 13 + LEGEND_ROW * (i // LEGEND_COLUMNS)
        good = [(x, y) for x, y in values if y > 0]
        line = " ".join(xy(x, y) for x, y in good)
        dots = "".join(
            f'<circle cx="{xy(x, y).split(",")[0]}" cy="{xy(x, y).split(",")[1]}" r="3" '
            f'data-clients="{x:g}" data-value="{y:.6g}"><title>{escape(name)}: {x:g} clients, '
            f"{y:.4g}</title></circle>"
            for x, y in good
        )
        parts.append(
            f'<g class="series" data-series="{escape(name)}" fill="{colour}">'
            f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>{dots}</g>'
            f'<g class="legend" font-size="11"><line x1="{lx + 8}" y1="{ly}" '
            f'x2="{lx + 24}" y2="{ly}" stroke="{colour}" stroke-width="2"/>'
            f'<text x="{lx + 28}" y="{ly + 4}">{escape(name)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _step_table(result: dict[str, Any]) -> str:
    head = (
        "<tr><th>clients</th><th>query</th><th>TPS</th><th>p50 ms</th><th>p95 ms</th>"
        "<th>p99 ms</th><th>max ms</th><th>errors</th></tr>"
    )
    rows = "".join(
        f"<tr><td>{s['clients']}</td><td>{escape(k)}</td><td>{q.get('tps', 0):.1f}</td>"
        f"<td>{q.get('p50_ms', 0):.2f}</td><td>{q.get('p95_ms', 0):.2f}</td>"
        f"<td>{q.get('p99_ms', 0):.2f}</td><td>{q.get('max_ms', 0):.2f}</td>"
        f"<td>{s['errors']}</td></tr>"
        for s in result["steps"]
        for k, q in sorted(s["queries"].items())
    )
    return f"<table>{head}{rows}</table>"


def loadtest_body(
    results: list[dict[str, Any]], comparison: dict[str, Any] | None = None, level: int = 2
) -> str:
    """The page's content (also a section of the run report): the decision (if any), the
    per-query charts, then each run's knee and table; headings from <h{level}> down."""
    keys = sorted({k for r in results for s in r["steps"] for k in s["queries"]})
    charts = []
    for key in keys:
        for metric, label in (("p95_ms", "p95 latency, ms"), ("tps", "throughput, tx/s")):
            series = {
                series_name(r): [
                    (float(s["clients"]), float(s["queries"][key].get(metric, 0.0)))
                    for s in r["steps"]
                    if key in s["queries"]
                ]
                for r in results
            }
            name = next((r["scripts"][key]["name"] for r in results if key in r["scripts"]), key)
            # query files are often named after their key ("Q1 message history")
            shown = name if name.upper().startswith(key) else f"{key} {name}"
            title = f"{shown}: {label} vs clients"
            charts.append(
                f"<figure><figcaption><b>{escape(title)}</b></figcaption>"
                f"{line_chart(title, label, series)}</figure>"
            )
    head = ""
    if comparison is not None:
        reasons = "".join(f"<li>{escape(r)}</li>" for r in comparison["reasons"])
        head = (
            f"<p>Decision {decision_badge(comparison['decision'])}</p>"
            f"<p>{escape(comparison['rule'])}</p>"
            f"<ul>{reasons}</ul>"
        )
    runs = "".join(
        f"<h3>{escape(series_name(r))}</h3><p>knee: {escape(r['knee']['reason'])}; "
        f"indexes: {escape(', '.join(r['indexes']))}</p>{_step_table(r)}"
        for r in results
    )
    h, sub = f"h{level}", f"h{level + 1}"
    runs = runs.replace("<h3>", f"<{sub}>").replace("</h3>", f"</{sub}>")
    return (
        f"{head}<{h}>Per query</{h}><div class=charts>{''.join(charts)}</div><{h}>Runs</{h}>{runs}"
    )


def render_loadtest_html(
    results: list[dict[str, Any]], comparison: dict[str, Any] | None = None
) -> str:
    """The page: decision (if any), per-query charts, then each run's knee and table."""
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        f"<title>synthgen load test</title><style>{STYLE}</style></head><body>"
        f"<h1>synthgen load test</h1>{loadtest_body(results, comparison)}</body></html>\n"
    )


def write_loadtest_html(
    path: Path, results: list[dict[str, Any]], comparison: dict[str, Any] | None = None
) -> Path:
    """Write the page atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    tmp.write_text(render_loadtest_html(results, comparison))
    tmp.replace(path)
    return path
