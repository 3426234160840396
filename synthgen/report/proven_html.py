"""The run report's section for `synthgen run --suggest`: each suggested index kept or dropped and
why, its size, build time and write cost, and per query x class the planner's estimated gain
beside the measured one, with the cases where the planner was wrong marked (prove's phase-2.json,
see synthgen.loadtest.prove and prove_reads)."""

from __future__ import annotations

from html import escape
from typing import Any

from synthgen.fidelity.html import decision_badge
from synthgen.loadtest.prove_reads import weights_line

WRONG_STYLE = "color:#cf222e;font-weight:600"
NUM = '<td class="n" style="white-space:nowrap">'


def _name(index: str) -> str:
    """An index name that may wrap after its underscores: the tables fit the page."""
    return "<td>" + escape(index).replace("_", "_<wbr>") + "</td>"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _writes(writes: dict[str, Any]) -> str:
    return ", ".join(f"{k} {ms:.2f} ms" for k, ms in sorted(writes["p50_ms"].items()))


def _index_row(row: dict[str, Any]) -> str:
    verdict = "KEPT" if row["kept"] else "DROPPED"
    gain = row.get("weighted_gain")
    weighted = "unweighted" if gain is None else f"{gain:.0%}"
    colour = "#1a7f37" if row["kept"] else "#cf222e"
    return (
        f'<tr data-index="{escape(row["index"])}">'
        f'<td><span class="badge" style="background:{colour};color:#fff">{verdict}</span></td>'
        f"{_name(row['index'])}<td>{escape(row['why'])}</td>"
        f"{NUM}{row['size_bytes'] / 1e6:.1f} MB</td>{NUM}{row['build_seconds']:.2f} s</td>"
        f"{NUM}{row['write_cost']:+.0%}</td>"
        f"<td>{escape(_writes(row['writes_without']))} &rarr; {escape(_writes(row['writes']))}</td>"
        f"{NUM}{weighted}</td></tr>"
    )


def _planner(read: dict[str, Any]) -> str:
    verdict = read.get("planner") or ""
    if verdict in ("", "right"):
        return "right" if verdict else "no estimate"
    return f'<span class="wrong" style="{WRONG_STYLE}">PLANNER WRONG: {escape(verdict)}</span>'


def _read_rows(report: dict[str, Any]) -> str:
    rows = []
    for row in report["indexes"]:
        for r in row["reads"]:
            if not r["suggested_for"] and report.get("estimated"):
                continue
            sort = " (sort removed)" if r.get("sort_removed") else ""
            rows.append(
                f'<tr data-index="{escape(row["index"])}" data-read="{escape(r["query"])} '
                f'{escape(r["class"])}">{_name(row["index"])}'
                f"<td>{escape(r['query'].upper())}</td><td>{escape(r['class'])}</td>"
                f"{NUM}{r['p50_before_ms']:.3f} &rarr; {r['p50_after_ms']:.3f}</td>"
                f'<td class="n">{_pct(r["estimated_gain"])}{sort}</td>'
                f'<td class="n">{_pct(r["measured_gain"])}</td>'
                f'<td class="n">{_pct(r.get("share_time"))}</td><td>{_planner(r)}</td></tr>'
            )
    return "".join(rows)


def proven_section(report: dict[str, Any]) -> str:
    """The section's HTML: the index table, then the estimated vs measured table."""
    rule = report["rule"]
    together = report.get("together")
    verdict = (
        f"The kept set together: index gate {decision_badge(together['decision'])}, write "
        f"cost {together['write_cost']:+.0%}"
        if together
        else "No index paid for itself: the proven script builds nothing"
    )
    line = weights_line(report.get("production_shares") or {})
    weights = escape(line[0].upper() + line[1:])
    wrong = sum(
        1
        for row in report["indexes"]
        for r in row["reads"]
        if r.get("planner") not in (None, "", "right")
    )
    return (
        "<h2>Suggested indexes: estimated vs measured</h2>"
        "<p>Each index suggested by the planner (HypoPG) was built for real, alone, and timed: "
        f"kept when some query x class it serves reads at least {rule['min_gain']:.0%} faster "
        f"(client p50) and no write transaction's p50 rises more than "
        f"{rule['max_write_cost']:.0%}.</p><p>{verdict}.</p><p>{weights}.</p>"
        "<table><tr><th></th><th>index</th><th>why</th><th>size</th><th>build</th>"
        "<th>write cost</th><th>write p50 without &rarr; with</th>"
        f"<th>production-weighted read gain</th></tr>"
        + "".join(_index_row(r) for r in report["indexes"])
        + "</table>"
        f"<p>The planner expected a gain where its hypothetical plan used the index and removed a "
        f"sort or cut the estimated cost by {rule['min_gain']:.0%}, and a gain was measured "
        f"where the p50 fell by {rule['min_gain']:.0%}; the planner was wrong where the two "
        f"differ ({wrong} of the rows below).</p>"
        "<table><tr><th>index</th><th>query</th><th>class</th><th>p50 ms before &rarr; after</th>"
        "<th>estimated gain (planner cost)</th><th>measured gain (p50)</th>"
        "<th>% of production's time</th><th>planner</th></tr>"
        f"{_read_rows(report)}</table>"
    )
