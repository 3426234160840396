"""One self-contained HTML page for a `synthgen run`: both gates, fidelity charts, latency bars
(pre vs post, per query and parameter class), the plan change of each query and, with
`--suggest`, the suggested indexes' estimated vs measured gains. No network."""

from __future__ import annotations

import math
from html import escape
from pathlib import Path
from typing import Any

from synthgen.fidelity.html import STYLE, decision_badge
from synthgen.fidelity.results import Chart
from synthgen.fidelity.svg import chart_svg
from synthgen.files import write_text_atomic
from synthgen.report.per_query import per_query_html
from synthgen.report.proven_html import proven_section
from synthgen.resultfiles import read_result
from synthgen.soak.html import soak_section
from synthgen.verify.findings import BRIEF_NOTE
from synthgen.verify.gains import gain_lines

BAR_W, ROW_H, PLOT_W, LEGEND_H = 14, 40, 520, 28
CHAR_W = 7.2  # a generous width of one 12 px sans-serif character: labels are never cut
SERIES = (("pre_p50_ms", "#8c959f", "pre"), ("post_p50_ms", "#1a7f37", "post"))
LEGEND = {"pre": "pre: before the indexes", "post": "post: after the indexes"}


def _internal(index: dict[str, Any]) -> bool:
    """synthgen's own objects (audit keys, the load test's draw tables): not the user's."""
    return str(index["table"]).startswith("synthgen_") or str(index["name"]).startswith("synthgen_")


def latency_svg(changes: list[dict[str, Any]], metric: str) -> str:
    """Horizontal bars on a log scale: grey = pre, green = post, one pair per query x class,
    under a legend; the label column is as wide as the longest label."""
    values = [v for c in changes for v in (c["pre_p50_ms"], c["post_p50_ms"]) if v > 0]
    lo = 10 ** math.floor(math.log10(min(values, default=0.01)))
    hi = 10 ** math.ceil(math.log10(max(values, default=1.0)))
    span = math.log10(hi) - math.log10(lo) or 1.0
    labels = [f"{c['name']} ({c['param_class']}, {c.get('plan_mode', '-')})" for c in changes]
    label_w = math.ceil(max((len(t) for t in labels), default=10) * CHAR_W) + 12

    def x(v: float) -> float:
        return label_w + PLOT_W * (math.log10(max(v, lo)) - math.log10(lo)) / span

    height = LEGEND_H + ROW_H * len(changes) + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="latency" width="{label_w + PLOT_W + 90}" '
        f'height="{height}" role="img" aria-label="p50 latency before and after ({metric})">'
    ]
    for j, (_, colour, series) in enumerate(SERIES):
        lx = label_w + j * 200
        parts.append(
            f'<g class="legend" font-size="12"><rect x="{lx}" y="8" width="12" height="12" '
            f'fill="{colour}"/><text x="{lx + 18}" y="18">{LEGEND[series]}</text></g>'
        )
    for i, c in enumerate(changes):
        top = LEGEND_H + 10 + i * ROW_H
        parts.append(
            f'<text x="{label_w - 6}" y="{top + 18}" text-anchor="end" font-size="12">'
            f"{escape(labels[i])}</text>"
        )
        for j, (key, colour, series) in enumerate(SERIES):
            v = c[key]
            parts.append(
                f'<rect data-series="{series}" x="{label_w}" y="{top + j * (BAR_W + 2)}" '
                f'width="{x(v) - label_w:.1f}" height="{BAR_W}" fill="{colour}">'
                f"<title>{series} p50 {v:.3f} ms</title></rect>"
            )
            parts.append(
                f'<text x="{x(v) + 4:.1f}" y="{top + j * (BAR_W + 2) + 11}" font-size="10">'
                f"{v:.3g} ms</text>"
            )
    for k in range(int(span) + 1):
        tick = lo * 10**k
        parts.append(
            f'<text x="{x(tick):.1f}" y="{height - 8}" font-size="10" '
            f'text-anchor="middle">{tick:g} ms</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _ci(bounds: list[float] | None) -> str:
    return f"[{bounds[0]:.3f}, {bounds[1]:.3f}]" if bounds else ""


def _items(title: str, lines: list[str]) -> str:
    return (
        f"<h3>{escape(title)}</h3><ul>" + "".join(f"<li>{escape(x)}</li>" for x in lines) + "</ul>"
        if lines
        else ""
    )


def _findings(lines: list[str]) -> str:
    """The findings, folded under a one-line summary: information, often many lines."""
    if not lines:
        return ""
    items = "".join(f"<li>{escape(x)}</li>" for x in lines)
    return (
        f"<details><summary><b>Findings ({len(lines)}): plan modes, client vs EXPLAIN</b> "
        f"(information, not judged)</summary><ul>{items}</ul></details>"
    )


def _expectations(comparison: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{escape(e['name'])}</td><td>"
        + (f"{-e['expected_improvement']:+.0%}" if e["expected_improvement"] is not None else "")
        + f"</td><td>{-e['measured_improvement']:+.0%} (over {e.get('pairs', '?')} pairs)</td>"
        f"<td>{escape(', '.join(f'{k} {-v:+.0%}' for k, v in e.get('per_class', {}).items()))}"
        f"</td><td>{escape(e['slowest_class'])}: "
        f"{e['slowest_pre_p50_ms']:.2f} &rarr; {e['slowest_post_p50_ms']:.2f} ms</td></tr>"
        for e in comparison.get("expectations", [])
    )
    if not rows:
        return ""
    return (
        f"<h2>The brief's expectations beside the measured (information)</h2>"
        f"<p>{escape(BRIEF_NOTE)} Measured: p50 post/pre, geometric mean over the query's "
        "class x plan-mode pairs; per class: the same over its plan modes.</p>"
        "<table><tr><th>query</th><th>brief</th><th>measured</th><th>per class</th>"
        f"<th>slowest class p50</th></tr>{rows}</table>"
    )


def _plan_table(changes: list[dict[str, Any]]) -> str:
    head = (
        "<tr><th>query</th><th>class</th><th>plan</th><th>pre p50 ms [95 % CI]</th>"
        "<th>post p50 ms [95 % CI]</th><th>speedup</th><th>sorts</th><th>plan change</th></tr>"
    )
    rows = "".join(
        f"<tr><td>{escape(c['name'])}</td><td>{escape(c['param_class'])}</td>"
        f"<td>{escape(c.get('plan_mode', ''))}</td>"
        f"<td>{c['pre_p50_ms']:.3f} {_ci(c.get('pre_p50_ci'))}</td>"
        f"<td>{c['post_p50_ms']:.3f} {_ci(c.get('post_p50_ci'))}</td><td>{c['speedup']:.1f}x</td>"
        f"<td>{c['sorts_before']} &rarr; {c['sorts_after']}</td>"
        f"<td>{escape(c['plan_change'])}{' (degraded)' if c['degraded'] else ''}</td></tr>"
        for c in changes
    )
    return f"<table>{head}{rows}</table>"


def rehearsal_section(doc: dict[str, Any]) -> str:
    """The index script rehearsed under load: its verdict, chart and statements."""
    from synthgen.rehearse.html import rehearsal_body

    return (
        "<h2>Rehearsal: the index script under live load</h2><p>The phase-2 script ran "
        "statement by statement while the workload went on; the chart shades each statement's "
        "span over the workload's p99 per second.</p>"
        f"{rehearsal_body(doc, level=3)}"
    )


def render_run_report(
    fidelity: dict[str, Any],
    comparison: dict[str, Any],
    pre: dict[str, Any],
    post: dict[str, Any],
    state: dict[str, Any],
    loadtest: tuple[dict[str, Any], list[dict[str, Any]]] | None = None,
    rehearsal: dict[str, Any] | None = None,
    proven: dict[str, Any] | None = None,
    soak: dict[str, Any] | None = None,
) -> str:
    charts = "".join(
        f'<figure data-check="{escape(check["name"])}">'
        f"<figcaption>{decision_badge(check['status'])} "
        f"<b>{escape(chart['title'])}</b></figcaption>{chart_svg(Chart(**chart))}</figure>"
        for check in fidelity["checks"]
        for chart in check.get("charts", [])
    )
    stages = "".join(
        f"<tr><td>{escape(k)}</td><td>{v.get('seconds', 0):.1f} s</td>"
        f"<td>{escape(str(v.get('summary', '')))}</td></tr>"
        for k, v in state["done"].items()
    )
    mitigations = "".join(f"<li>{escape(m)}</li>" for m in comparison.get("mitigations", []))
    indexes = "".join(
        f"<li>{escape(i['name'])} on {escape(i['table'])}</li>"
        for i in post.get("indexes", [])
        if not _internal(i)
    )
    lt_badge, lt_section = "", ""
    if loadtest is not None:
        from synthgen.loadtest.html import loadtest_body

        lt_doc, lt_results = loadtest
        lt_badge = f" &nbsp; Load test {decision_badge(lt_doc['decision'])}"
        lt_section = (
            "<h2>Load test: capacity, and latency at equal offered load (pgbench, the data's "
            "skew)</h2><p>Pre and post the indexes, direct and through the pool, offered the "
            "same rates. The run exits 3 when any of the fidelity gate, the index gate or the "
            "load test says NO-GO.</p>"
            f"{loadtest_body(lt_results, lt_doc, level=3)}"
        )
    if rehearsal is not None:
        lt_badge += f" &nbsp; Rehearsal {decision_badge(rehearsal['decision'])}"
        lt_section += rehearsal_section(rehearsal)
    if soak is not None:  # `run --extend-days`
        lt_badge += f" &nbsp; Soak {decision_badge(soak['verdict']['decision'])}"
        lt_section += soak_section(soak)
    f_verdict = fidelity["decision"]["verdict"]
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        f"<title>synthgen run: fidelity {f_verdict}, indexes {comparison['decision']}</title>"
        f"<style>{STYLE}</style></head><body>"
        f"<h1>synthgen run</h1><p>Fidelity gate {decision_badge(f_verdict)} &nbsp; "
        f"Index gate {decision_badge(comparison['decision'])}{lt_badge}</p>"
        f"<p>{escape('; '.join(comparison['reasons']))}</p>"
        + (f"<h3>Mitigations</h3><ul>{mitigations}</ul>" if mitigations else "")
        + _items("Warnings", comparison.get("warnings", []))
        + f"<h2>Latency before and after (p50, {escape(comparison['metric'])}, log scale)</h2>"
        f"{latency_svg(comparison['changes'], comparison['metric'])}"
        + _findings(comparison.get("findings", []))
        + _items(
            "New indexes: size, build time, gain", gain_lines(comparison.get("new_indexes", []))
        )
        + (proven_section(proven) if proven is not None else "")
        + f"<h2>Plan change per query</h2>{_plan_table(comparison['changes'])}"
        f"{per_query_html(comparison)}"
        f"{_expectations(comparison)}"
        f"<h2>Indexes after</h2><ul>{indexes}</ul>{lt_section}"
        f"<h2>Fidelity: distributions</h2><div class=charts>{charts}</div>"
        f"<h2>Stages</h2><table>{stages}</table>"
        f"<p>dataset {escape(str(pre.get('dataset_sha256')))}, server "
        f"{escape(str(pre.get('server', {}).get('settings', {}).get('server_version')))}</p>"
        "</body></html>\n"
    )


def write_run_report(
    path: Path,
    fidelity_json: Path,
    pre_json: Path,
    post_json: Path,
    compare_json: Path,
    state: dict[str, Any],
    loadtest: tuple[dict[str, Any], list[dict[str, Any]]] | None = None,
    rehearsal: dict[str, Any] | None = None,
    proven: dict[str, Any] | None = None,
    soak: dict[str, Any] | None = None,
) -> Path:
    """Assemble the page from the stages' JSON artifacts (with `run --suggest`, prove's report
    too) and write it atomically."""
    kinds = ("fidelity report", "comparison", "baseline", "baseline")
    paths = (fidelity_json, compare_json, pre_json, post_json)
    docs = [read_result(p, kind) for p, kind in zip(paths, kinds, strict=True)]
    html = render_run_report(
        docs[0], docs[1], docs[2], docs[3], state, loadtest, rehearsal, proven, soak
    )
    return write_text_atomic(path, html)
