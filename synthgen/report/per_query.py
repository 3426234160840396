"""The compare report's per-query part: production's weights, the change, what indexes bought."""

from __future__ import annotations

from html import escape
from typing import Any

from synthgen.verify.compare import Comparison


def _calls(value: float | None) -> str:
    return "-" if value is None else f"{int(value):,}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def per_query_lines(result: Comparison) -> list[str]:
    """The thresholds the verdict used, the weighted improvement, and one line per query."""
    lines = [result.thresholds] if result.thresholds else []
    if result.weighted_improvement is not None:
        lines.append(
            f"improvement weighted by production's time {result.weighted_improvement:.0%} "
            f"(unweighted {result.average_improvement:.0%})"
        )
    if not result.queries:
        return lines
    lines.append(
        f"{'query':<5} {'prod. calls':>12} {'% calls':>8} {'% time':>7} {'change':>8} "
        f"{'speedup':>8}  bought by"
    )
    for row in result.queries:
        calls = _calls(row["calls"])
        mark = " (target)" if row["targeted"] else ""
        bought = ", ".join(row["indexes"]) or "no new index"
        degraded = f"  DEGRADED {', '.join(row['degraded'])}" if row["degraded"] else ""
        lines.append(
            f"{row['query'].upper():<5} {calls:>12} {_share(row['share_calls']):>8} "
            f"{_share(row['share_time']):>7} {-row['improvement']:>+8.0%} "
            f"{row['speedup']:>7.1f}x  {bought}{mark}{degraded}"
        )
    return lines


def per_query_html(comparison: dict[str, Any]) -> str:
    """The report's table: each query's change beside production's weights (when captured)."""
    rows = comparison.get("queries") or []
    if not rows:
        return ""
    body = "".join(
        f'<tr data-query="{escape(r["query"])}"><td>{escape(r["query"].upper())}</td>'
        f"<td>{escape(r['name'])}</td>"
        f"<td>{_calls(r['calls'])}</td>"
        f"<td>{_share(r['share_calls'])}</td><td>{_share(r['share_time'])}</td>"
        f"<td>{-r['improvement']:+.0%}</td><td>{r['speedup']:.1f}x</td>"
        f"<td>{escape(', '.join(r['indexes']) or 'no new index')}</td>"
        f"<td>{'target' if r['targeted'] else ''}"
        f"{' degraded: ' + escape(', '.join(r['degraded'])) if r['degraded'] else ''}</td></tr>"
        for r in rows
    )
    weighted = comparison.get("weighted_improvement")
    summary = (
        f"<p>Improvement weighted by each query's share of production's time: "
        f"{weighted:.0%} (unweighted {comparison['average_improvement']:.0%}).</p>"
        if weighted is not None
        else "<p>No production weights: the query files were not captured from production "
        "(synthgen sample statements).</p>"
    )
    return (
        "<h2>Per query: production's weights and the change</h2>"
        f"<p>{escape(comparison.get('thresholds', ''))}</p>{summary}"
        "<table><tr><th>key</th><th>query</th><th>production calls</th><th>% of captured calls</th>"
        "<th>% of these queries' time</th><th>p50 change</th><th>speedup</th><th>bought by</th>"
        "<th></th></tr>"
        f"{body}</table>"
    )
