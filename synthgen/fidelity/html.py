"""The self-contained HTML report: decision, every metric, and one chart per distribution with
its check's status beside it. Inline CSS and SVG only; nothing is fetched to view it."""

from __future__ import annotations

from html import escape
from pathlib import Path

from synthgen.fidelity.report import fmt, write_text_atomically
from synthgen.fidelity.results import CheckResult, Status
from synthgen.fidelity.runner import FidelityReport
from synthgen.fidelity.svg import chart_svg
from synthgen.verdict import GO

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#222}
h1{margin:0 0 4px}h2{margin-top:28px;border-bottom:1px solid #ddd}
.badge{display:inline-block;padding:2px 8px;border-radius:4px;font-weight:600;color:#fff}
.PASS,.GO{background:#2e8b57}.WARN{background:#d4a017}.FAIL,.NO-GO{background:#c0392b}
.SKIP{background:#888}table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.charts{display:flex;flex-wrap:wrap;gap:16px}
figure{margin:0;border:1px solid #ddd;padding:8px;border-radius:6px}
figcaption{margin-bottom:4px}pre{white-space:pre-wrap;font-size:12px;background:#f6f6f6;padding:6px}
.meta td:first-child{color:#555}
"""


def decision_badge(verdict: str) -> str:
    """A verdict as a badge: green for GO / PASS, red otherwise (run and load-test pages)."""
    colour = "#1a7f37" if verdict in (GO, "PASS") else "#cf222e"
    return f'<span class="badge" style="background:{colour};color:#fff">{escape(verdict)}</span>'


def _badge(status: str) -> str:
    return f'<span class="badge {escape(status)}">{escape(status)}</span>'


def _meta(report: FidelityReport) -> str:
    data = report.to_dict()
    keys = (
        "dataset",
        "band",
        "scale",
        "seed",
        "manifest_sha256",
        "dataset_sha256",
        "spec",
        "spec_sha256",
        "tolerance",
        "seconds",
    )
    rows = "".join(f"<tr><td>{k}</td><td>{escape(str(data[k]))}</td></tr>" for k in keys)
    return f'<table class="meta">{rows}</table>'


def _metrics_table(results: list[CheckResult]) -> str:
    head = (
        "<tr><th>check</th><th>metric</th><th>expected</th><th>measured</th>"
        "<th>deviation</th><th>allowed</th><th>status</th><th>note</th></tr>"
    )
    rows = []
    for r in results:
        role = "integrity" if r.kind == "integrity" else ("critical" if r.critical else "warn")
        for i, m in enumerate(r.outcome.metrics):
            check = (
                f"{r.number} {escape(r.name)} ({role}) {_badge(r.status.value)}" if i == 0 else ""
            )
            dev = "" if m.deviation is None or m.rule != "relative" else f"{m.deviation:.2%}"
            allowed = "" if m.tolerance is None else f"±{m.tolerance:.0%}"
            if m.noise and max(m.noise) > (m.tolerance or 0):
                allowed += f" (noise ±{max(m.noise):.0%})"
            rows.append(
                f"<tr><td>{check}</td><td>{escape(m.name)}</td><td class=n>{fmt(m.expected)}</td>"
                f"<td class=n>{fmt(m.measured)}</td><td class=n>{dev}</td><td>{allowed}</td>"
                f"<td>{_badge(m.status.value)}</td><td>{escape(m.note)}</td></tr>"
            )
    return f"<table>{head}{''.join(rows)}</table>"


def _charts(results: list[CheckResult]) -> str:
    figures = []
    for r in results:
        for chart in r.outcome.charts:
            figures.append(
                f'<figure data-check="{escape(r.name)}" data-status="{r.status.value}">'
                f"<figcaption>{_badge(r.status.value)} <b>{escape(chart.title)}</b> "
                f"— check {r.number} {escape(r.name)}</figcaption>{chart_svg(chart)}</figure>"
            )
    return f'<div class="charts">{"".join(figures)}</div>'


def _details(results: list[CheckResult]) -> str:
    parts = []
    for r in results:
        findings = "".join(
            f"<li>{escape(f.rule)}: {escape(f.table)}.{escape(f.column)} row {escape(f.row_id)} "
            f"<code>{escape(f.detail)}</code></li>"
            for f in r.outcome.findings
        )
        notes = "".join(f"<li>{escape(n)}</li>" for n in r.outcome.notes)
        sql = "".join(f"<pre>-- {q['seconds']} s\n{escape(q['sql'])}</pre>" for q in r.sql)
        parts.append(
            f"<details><summary>{r.number} {escape(r.name)} {_badge(r.status.value)} "
            f"({r.seconds:.2f} s)</summary><ul>{findings}{notes}</ul>{sql}</details>"
        )
    return "".join(parts)


def _brief_table(report: FidelityReport) -> str:
    head = (
        "<tr><th>figure</th><th>brief</th><th>spec model</th><th>measured</th>"
        "<th>why the model departs</th></tr>"
    )
    rows = "".join(
        f"<tr><td>{escape(b.figure.label)}</td><td>{fmt(b.figure.brief)}</td>"
        f"<td>{fmt(b.model)}</td><td>{fmt(b.measured)}</td><td>{escape(b.note)}</td></tr>"
        for b in report.brief
    )
    return (
        "<h2>The product brief's figures</h2><p>For information, not judged: the gate judges "
        f"the dataset against the spec.</p><table>{head}{rows}</table>"
    )


def render_html(report: FidelityReport) -> str:
    """The whole page as one string."""
    d = report.decision
    reasons = "".join(f"<li>{escape(x)}</li>" for x in d.reasons)
    unconfirmed = "".join(f"<li>{escape(x)}</li>" for x in d.unconfirmed)
    notes = "".join(f"<li>{escape(x)}</li>" for x in report.notes)
    failing = sum(r.status is Status.FAIL for r in report.results)

    def section(title: str, items: str) -> str:
        return f"<h3>{title}</h3><ul>{items}</ul>" if items else ""

    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        f"<title>synthgen fidelity: {d.verdict}</title><style>{STYLE}</style></head><body>"
        f"<h1>Fidelity gate {_badge(d.verdict)}</h1>"
        f"<p>{len(report.results)} checks, {failing} failing, {d.warnings} warning(s) of "
        f"{d.max_warnings} allowed.</p>"
        f"{section('Reasons', reasons)}{section('Not confirmed at this scale', unconfirmed)}"
        f"{section('Notes', notes)}"
        f"{_meta(report)}<h2>Distributions</h2>{_charts(report.results)}"
        f"<h2>All checks</h2>{_metrics_table(report.results)}{_brief_table(report)}"
        f"<h2>Findings and SQL</h2>{_details(report.results)}</body></html>\n"
    )


def write_html(report: FidelityReport, path: Path) -> Path:
    """Write the HTML report."""
    return write_text_atomically(path, render_html(report))
