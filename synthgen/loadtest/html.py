"""`loadtest.html`: the decision and the capacity first, then latency against offered load per
query (pre and post on one chart), the closed-loop client sweep, and each run's numbers.
One self-contained page.

The page style and badges are the run report's, so every synthgen page reads the same way.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from synthgen.fidelity.html import STYLE, decision_badge
from synthgen.files import write_text_atomic
from synthgen.loadtest.charts import LineChart, Marker, capacity_svg, line_svg, series_style

CLOSED_LOOP_NOTE = (
    "Closed loop: each client sends its next transaction as soon as the last returns, so a "
    "faster server is offered more load by the same clients; these curves find the capacity "
    "and the knee, they do not compare latency at equal load."
)


def series_name(result: dict[str, Any]) -> str:
    pool = "direct" if result["pool"] == "none" else f"pgbouncer ({result['pool_size']})"
    return f"{result['label']}, {pool}"


def line_chart(title: str, y_label: str, series: dict[str, list[tuple[float, float]]]) -> str:
    """One <svg>: a polyline per series over clients (log x) and a log y axis."""
    return line_svg(LineChart(title, y_label, series))


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


def _query_title(results: list[dict[str, Any]], key: str) -> str:
    name = next((r["scripts"][key]["name"] for r in results if key in r["scripts"]), key)
    # query files are often named after their key ("Q1 message history")
    return name if name.upper().startswith(key) else f"{key} {name}"


def _figure(title: str, svg: str) -> str:
    return f"<figure><figcaption><b>{escape(title)}</b></figcaption>{svg}</figure>"


def _offered_charts(results: list[dict[str, Any]], keys: list[str]) -> str:
    """p95 against offered load per query, every open-loop run on the same chart; a run's
    capacity (the knee) is marked where it falls within the offered range."""
    offered = [r for r in results if r.get("mode") == "offered" and r.get("rates")]
    if not offered:
        return ""
    top = max(s["offered_tps"] for r in offered for s in r["rates"])
    # each marker in its run's colour; a capacity far beyond the rates is left to the bars
    markers = [
        Marker(r["capacity"]["tps"], f"knee: {series_name(r)} capacity "
               f"{r['capacity']['tps']:.4g} tx/s", series_style(series_name(r), i)[0])
        for i, r in enumerate(offered)
        if 0 < r["capacity"]["tps"] <= 1.6 * top
    ]  # fmt: skip
    charts = []
    for key in keys:
        series = {
            series_name(r): [
                (float(s["offered_tps"]), float(s["queries"][key].get("p95_ms", 0.0)))
                for s in r["rates"]
                if key in s["queries"]
            ]
            for r in offered
        }
        title = f"{_query_title(results, key)}: p95 vs offered load"
        chart = LineChart(title, "p95 latency, ms", series, "offered tx/s (open loop)", False,
                          markers)  # fmt: skip
        charts.append(_figure(title, line_svg(chart)))
    return (
        "<h2>Latency at equal offered load (open loop)</h2><p>pgbench -R offers each rate on a "
        "Poisson schedule, the same rates before and after; latency counts from the scheduled "
        "start, so schedule lag is included.</p>"
        f"<div class=charts>{''.join(charts)}</div>"
    )


def _closed_charts(results: list[dict[str, Any]], keys: list[str], both: bool) -> str:
    metrics = (("p95_ms", "p95 latency, ms"), ("tps", "throughput, tx/s"))
    charts = []
    for key in keys:
        for metric, label in metrics if both else metrics[:1]:
            series = {
                series_name(r): [
                    (float(s["clients"]), float(s["queries"][key].get(metric, 0.0)))
                    for s in r["steps"]
                    if key in s["queries"]
                ]
                for r in results
            }
            title = f"{_query_title(results, key)}: {label} vs clients"
            charts.append(_figure(title, line_chart(title, label, series)))
    return (
        f"<h2>Closed loop: clients sweep</h2><p>{escape(CLOSED_LOOP_NOTE)}</p>"
        f"<div class=charts>{''.join(charts)}</div>"
    )


def _summary(results: list[dict[str, Any]]) -> str:
    """Each run's capacity and knee, one line each, and the capacity bars."""
    lines = []
    for r in results:
        cap = r.get("capacity")
        what = f"capacity {cap['reason']}; " if cap else "closed loop (no capacity measured); "
        partial = " <b>PARTIAL</b>: " + escape(r.get("error", "")) if r.get("partial") else ""
        lines.append(
            f"<li><b>{escape(series_name(r))}</b>: {escape(what)}knee: "
            f"{escape(r.get('knee', {}).get('reason', 'not measured'))}{partial}</li>"
        )
    bars = {series_name(r): r["capacity"]["tps"] for r in results if r.get("capacity")}
    return f"<ul>{''.join(lines)}</ul>" + capacity_svg(bars)


def loadtest_body(
    results: list[dict[str, Any]], comparison: dict[str, Any] | None = None, level: int = 2
) -> str:
    """The page's content (also a section of the run report): the decision (if any), capacity
    and knee, the per-query charts, then each run's tables; headings from <h{level}> down."""
    keys = sorted({k for r in results for s in r["steps"] for k in s["queries"]})
    head = ""
    if comparison is not None:
        reasons = "".join(f"<li>{escape(r)}</li>" for r in comparison["reasons"])
        head = (
            f"<p>Decision {decision_badge(comparison['decision'])}</p><ul>{reasons}</ul>"
            f"<p>Rule: {escape(comparison['rule'])}</p>"
        )
    offered = _offered_charts(results, keys)
    closed = _closed_charts(results, keys, both=not offered)
    runs = "".join(
        f"<h3>{escape(series_name(r))}</h3><p>indexes: {escape(', '.join(r['indexes']))}</p>"
        f"{_step_table(r)}{_rate_table(r)}"
        for r in results
    )
    body = (
        f"{head}<h2>Capacity and knee</h2>{_summary(results)}{offered}{closed}<h2>Runs</h2>{runs}"
    )
    if level != 2:  # nested in the run report: every heading one level down
        for n in (3, 2):
            body = body.replace(f"<h{n}>", f"<h{n + level - 2}>")
            body = body.replace(f"</h{n}>", f"</h{n + level - 2}>")
    return body


def _rate_table(result: dict[str, Any]) -> str:
    if not result.get("rates"):
        return ""
    head = (
        "<tr><th>offered tx/s</th><th>pgbench ran tx/s</th><th>seconds</th><th>query</th>"
        "<th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>lag avg ms</th><th>errors</th></tr>"
    )
    rows = "".join(
        f"<tr><td>{s['offered_tps']:g}{' (' + s['script'] + ' alone)' if 'script' in s else ''}"
        f"</td><td>{s['achieved_tps']:.1f}</td>"
        f"<td>{s['duration_s']}</td><td>{escape(k)}</td><td>{q.get('p50_ms', 0):.2f}</td>"
        f"<td>{q.get('p95_ms', 0):.2f}</td><td>{q.get('p99_ms', 0):.2f}</td>"
        f"<td>{s.get('lag_avg_ms') or 0:.2f}</td><td>{s['errors']}</td></tr>"
        for s in result["rates"] + result.get("write_steps", [])
        for k, q in sorted(s["queries"].items())
    )
    return f"<table>{head}{rows}</table>"


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
    return write_text_atomic(path, render_loadtest_html(results, comparison), parents=True)
