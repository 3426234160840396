"""`rehearse.html` (and the run report's rehearsal section): the verdict, the workload's p99 per
script over time with each statement's span shaded, and a table per statement (locks, waits,
WAL, temp files, index size and validity)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from synthgen.fidelity.html import STYLE, decision_badge
from synthgen.fidelity.svg import HEIGHT, LEFT, RIGHT, TOP, WIDTH, _label, _scale, _ticks
from synthgen.files import write_text_atomic
from synthgen.loadtest.charts import COLOURS

BOTTOM = 40


@dataclass(frozen=True)
class _Frame:
    """The plot's coordinates: seconds since the load started (x), p99 ms on a log scale (y)."""

    x_hi: float
    y_lo: float
    y_hi: float
    plot_w: float = WIDTH - LEFT - RIGHT
    base: float = HEIGHT - BOTTOM

    def sx(self, x: float) -> float:
        return LEFT + self.plot_w * min(max(x, 0.0), self.x_hi) / self.x_hi

    def sy(self, y: float) -> float:
        return _scale(max(y, self.y_lo), self.y_lo, self.y_hi, True, self.base, TOP)


def _spans(doc: dict[str, Any], f: _Frame) -> str:
    """Each statement's span, shaded (red when it failed) and numbered."""
    t0, parts = doc["load"]["started"], []
    for st in (s for s in doc["statements"] if not s.get("skipped")):
        a, b = f.sx(st["started"] - t0), f.sx(st["ended"] - t0)
        colour = "#cf222e" if not st["ok"] else "#9a6700"
        parts.append(
            f'<g class="span" data-statement="{st["number"]}"><rect x="{a:.1f}" y="{TOP}" '
            f'width="{max(b - a, 1.5):.1f}" height="{f.base - TOP}" fill="{colour}" '
            f'fill-opacity="0.15"><title>statement {st["number"]}: {escape(st["sql"])} '
            f'({st["seconds"]:.2f} s)</title></rect><text x="{a + 2:.1f}" y="{TOP + 10}" '
            f'font-size="10" fill="{colour}">{st["number"]}</text></g>'
        )
    return "".join(parts)


def _axes(f: _Frame) -> str:
    base, mid = f.base, (TOP + f.base) / 2
    parts = [
        f'<g class="axes" stroke="#444" font-size="10" fill="#333">'
        f'<line x1="{LEFT}" y1="{base}" x2="{LEFT + f.plot_w}" y2="{base}"/>'
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{base}"/>'
    ]
    for t in _ticks(f.y_lo, f.y_hi, True) or [f.y_lo, f.y_hi]:
        parts.append(
            f'<text x="{LEFT - 6}" y="{f.sy(t) + 3:.1f}" text-anchor="end" '
            f'stroke="none">{_label(t)}</text>'
        )
    for x in range(0, int(f.x_hi) + 1, max(1, round(f.x_hi / 10))):
        parts.append(
            f'<text x="{f.sx(x):.1f}" y="{base + 14}" text-anchor="middle" stroke="none">{x}</text>'
        )
    parts.append(
        f'<text x="{LEFT + f.plot_w / 2:.0f}" y="{HEIGHT - 6}" text-anchor="middle" '
        f'stroke="none">seconds since the load started</text><text x="14" y="{mid:.0f}" '
        f'text-anchor="middle" stroke="none" transform="rotate(-90 14 {mid:.0f})">'
        "p99 ms (log)</text></g>"
    )
    return "".join(parts)


def latency_chart(doc: dict[str, Any]) -> str:
    """p99 per workload script per second (log y), statement spans shaded and numbered."""
    rows, keys = doc["per_second"], doc["load"]["scripts"]
    values = [r[k]["p99_ms"] for r in rows for k in keys if r[k].get("transactions")]
    if not values:
        return "<p>workload latency: no transactions logged</p>"
    x_hi = float(max(doc["load"]["seconds"], rows[-1]["second"] + 1))
    f = _Frame(x_hi, max(min(values) / 1.5, 0.01), max(values) * 1.5)
    parts = [
        f'<svg class="chart" data-chart="rehearsal latency" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="workload p99 per second with the statements shaded">',
        _spans(doc, f),
        _axes(f),
    ]
    for i, key in enumerate(keys):
        colour = COLOURS[i % len(COLOURS)]
        pts = [(r["second"] + 0.5, r[key]["p99_ms"]) for r in rows if r[key].get("transactions")]
        line = " ".join(f"{f.sx(x):.1f},{f.sy(y):.1f}" for x, y in pts)
        lx = LEFT + 8 + 70 * i
        parts.append(
            f'<g class="series" data-series="{escape(key)}"><polyline points="{line}" '
            f'fill="none" stroke="{colour}" stroke-width="1.5"/></g><g class="legend" '
            f'font-size="11"><line x1="{lx}" y1="10" x2="{lx + 14}" y2="10" stroke="{colour}" '
            f'stroke-width="2"/><text x="{lx + 18}" y="14">{escape(key)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _mb(value: int | None) -> str:
    return "" if value is None else f"{value / 1e6:.2f}"


def _statement_rows(doc: dict[str, Any]) -> str:
    out = []
    for st in doc["statements"]:
        if st.get("skipped"):
            out.append(
                f"<tr><td>{st['number']}</td><td>{escape(st['sql'])}</td>"
                "<td colspan=8>not run</td></tr>"
            )
            continue
        locks = "<br>".join(
            f"{escape(lk['mode'])} {escape(lk['relation'])}"
            f"{'' if lk['granted'] else ' (waiting)'} {lk['held_s']:.2f} s"
            for lk in st["locks"]
        )
        blocked = "<br>".join(
            f"{escape(b['script'])} pid {b['pid']} {b['waited_s']:.2f} s"
            f" ({escape(b['wait_event'])})"
            for b in st["blocked"][:8]
        ) + (f"<br>... {len(st['blocked']) - 8} more" if len(st["blocked"]) > 8 else "")
        waited = "<br>".join(
            f"pid {w['pid']} {escape(w['script'])} {w['seconds']:.2f} s"
            for w in st["waited_on"][:5]
        )
        index = st.get("index") or {}
        valid = (
            {True: "valid", False: "INVALID", None: "absent"}[index.get("valid")] if index else ""
        )
        status = "ok" if st["ok"] else f"FAILED: {escape(st['error'] or '')}"
        out.append(
            f"<tr><td>{st['number']}</td><td><code>{escape(st['sql'])}</code><br>{status}</td>"
            f"<td>{st['seconds']:.2f}</td><td>{locks}</td><td>{blocked}</td><td>{waited}</td>"
            f"<td>{_mb(st['wal_bytes'])}</td>"
            f"<td>{st['temp_files']} / {_mb(st['temp_bytes'])}</td>"
            f"<td>{escape(index.get('name') or '')} {_mb(index.get('size_bytes'))} {valid}</td>"
            "</tr>"
        )
    return "".join(out)


def rehearsal_body(doc: dict[str, Any], level: int = 2) -> str:
    """The verdict, the chart, the statements and the static findings."""
    h = f"h{level}"
    reasons = "".join(f"<li>{escape(r)}</li>" for r in doc["reasons"])
    findings = "".join(f"<li>{escape(f['message'])}</li>" for f in doc["findings"])
    notes = "".join(f"<li>{escape(n)}</li>" for n in doc["notes"])
    load = doc["load"]
    head = (
        "<tr><th>#</th><th>statement</th><th>s</th><th>locks held (sampled)</th>"
        "<th>workload blocked</th><th>it waited on</th><th>WAL MB</th><th>temp files / MB</th>"
        "<th>index MB</th></tr>"
    )
    return (
        f"<p>Decision {decision_badge(doc['decision'])}</p><p>{escape(doc['rule'])}</p>"
        f"<ul>{reasons}</ul><p>{escape(doc['file'])} on {escape(doc['schema'])}, under "
        f"{load['clients']} clients at {load['rate'] or 'full'} tx/s ({load['pool']}), "
        f"{load['transactions']} transactions, {load['errors']} errors.</p>"
        f"{f'<ul>{notes}</ul>' if notes else ''}"
        f"<{h}>Workload p99 per second, statements shaded</{h}>{latency_chart(doc)}"
        f"<{h}>Statements</{h}><table>{head}{_statement_rows(doc)}</table>"
        f"<{h}>Static checks</{h}>{f'<ul>{findings}</ul>' if findings else '<p>none</p>'}"
    )


def write_rehearse_html(path: Path, doc: dict[str, Any]) -> Path:
    page = (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        f"<title>synthgen rehearsal</title><style>{STYLE}</style></head><body>"
        f"<h1>synthgen rehearsal</h1>{rehearsal_body(doc)}</body></html>\n"
    )
    return write_text_atomic(path, page)
