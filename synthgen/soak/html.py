"""The soak's section of the run report: the verdict and its thresholds, a chart per figure over
the simulated days (day 0: right after the phase-2 indexes), the post-index and post-soak p50s."""

from __future__ import annotations

from html import escape
from typing import Any

from synthgen.fidelity.html import decision_badge
from synthgen.verdict import NO_GO

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 520, 220, 70, 150, 24, 36
COLOURS = ("#0969da", "#1a7f37", "#bf3989", "#9a6700", "#cf222e", "#8c959f", "#6639ba")


def line_chart(title: str, unit: str, series: dict[str, list[tuple[float, float]]]) -> str:
    """A small linear chart: one polyline per series, x the day, y from 0 to the largest."""
    points = [p for s in series.values() for p in s]
    if not points:
        return ""
    x_hi = max(1.0, max(x for x, _ in points))
    y_hi = max(1e-9, max(y for _, y in points)) * 1.1
    width, height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def at(x: float, y: float) -> str:
        return f"{LEFT + x / x_hi * width:.1f},{TOP + height - y / y_hi * height:.1f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img"><title>{escape(title)}</title>',
        f'<text x="{LEFT}" y="14" font-size="12" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{LEFT}" y1="{TOP + height}" x2="{LEFT + width}" y2="{TOP + height}" '
        'stroke="#444"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + height}" stroke="#444"/>',
        f'<text x="{LEFT - 4}" y="{TOP + 4}" font-size="10" text-anchor="end">'
        f"{_short(y_hi / 1.1)} {escape(unit)}</text>",
        f'<text x="{LEFT - 4}" y="{TOP + height}" font-size="10" text-anchor="end">0</text>',
        f'<text x="{LEFT + width}" y="{HEIGHT - 8}" font-size="10" text-anchor="end">'
        f"day {x_hi:g}</text>",
        f'<text x="{LEFT}" y="{HEIGHT - 8}" font-size="10">day 0</text>',
    ]
    for i, (name, pts) in enumerate(series.items()):
        colour = COLOURS[i % len(COLOURS)]
        line = " ".join(at(x, y) for x, y in pts)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{line}"/>')
        parts.append(
            f'<text x="{LEFT + width + 8}" y="{TOP + 10 + 13 * i}" font-size="10" '
            f'fill="{colour}">{escape(name)}</text>'
        )
    return "".join(parts) + "</svg>"


def _short(value: float) -> str:
    for factor, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.3g}{suffix}"
    return f"{value:.3g}"


def figures(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, list[tuple[float, float]]]]]:
    """(title, unit, series) of every chart of the soak."""
    days = doc["days"]

    def per(kind: str, field: str, scale: float = 1.0) -> dict[str, list[tuple[float, float]]]:
        names = sorted({n for d in days for n in d[kind]})
        return {
            n: [
                (float(d["day"]), float(d[kind][n][field]) * scale)
                for d in days
                if n in d[kind] and d[kind][n][field] is not None
            ]
            for n in names
        }

    method = doc.get("bloat_method", "statistics")
    w1 = {"W1 p50": [(float(d["day"]), float(d["w1_p50_ms"])) for d in days]}
    wal = {"WAL": [(float(d["day"]), d["wal_bytes"] / 1e6) for d in days if "wal_bytes" in d]}
    charts = [
        ("Table size", "MB", per("tables", "bytes", 1e-6)),
        ("Index size", "MB", per("indexes", "bytes", 1e-6)),
        (f"Table bloat ({method})", "share", per("tables", "bloat")),
        ("Dead tuples", "rows", per("tables", "dead")),
        ("Autovacuum runs (cumulative)", "runs", per("tables", "autovacuums")),
        ("Autoanalyze runs (cumulative)", "runs", per("tables", "autoanalyzes")),
        ("WAL written per day", "MB", wal),
        ("W1 send latency (p50, rolled back)", "ms", w1),
    ]
    if method == "pgstattuple":
        charts.insert(3, ("Index bloat (pgstatindex: 1 - leaf density / 90 %)", "share",
                          per("indexes", "bloat")))  # fmt: skip
    return charts


def soak_section(doc: dict[str, Any]) -> str:
    verdict = doc.get("verdict", {})
    charts = "".join(
        f"<figure>{line_chart(title, unit, series)}</figure>"
        for title, unit, series in figures(doc)
    )
    post_index, post_soak = doc.get("post_index", {}), doc.get("post_soak", {})
    both = [k for k in post_index if k in post_soak]  # the soak re-measures one plan mode
    rows = "".join(
        f"<tr><td>{escape(k)}</td><td>{post_index[k]:.3f}</td><td>{post_soak[k]:.3f}</td>"
        f"<td>{post_soak[k] / post_index[k]:.2f}x</td></tr>"
        for k in both
        if post_index[k] > 0
    )
    unmeasured = len(post_index) - len(both)
    have = "result has" if unmeasured == 1 else "results have"
    left = f"<p>{unmeasured} post-index {have} no post-soak measurement (another plan mode).</p>"
    days = len(doc["days"]) - 1
    return (
        f"<h2>Soak: {days} simulated days after the indexes "
        f"{decision_badge(verdict.get('decision', 'NO-GO'))}</h2>"
        f"<p>{escape('; '.join(verdict.get('reasons', [])))}</p>"
        f"<p>{escape(verdict.get('thresholds', ''))}. Bloat: "
        f"{escape(doc.get('bloat_method', 'statistics'))}.</p>"
        f"<div class=charts>{charts}</div>"
        "<h3>p50 (ms): post-index and post-soak baselines</h3>"
        "<table><tr><th>query class plan</th><th>post-index</th><th>post-soak</th>"
        f"<th>post-soak / post-index</th></tr>{rows}</table>{left if unmeasured else ''}"
    )


def soak_page(doc: dict[str, Any]) -> str:
    """The soak's section as a page of its own (`synthgen soak`)."""
    from synthgen.fidelity.html import STYLE

    decision = doc.get("verdict", {}).get("decision", NO_GO)
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        f"<title>synthgen soak: {escape(decision)}</title><style>{STYLE}</style></head><body>"
        f"{soak_section(doc)}</body></html>\n"
    )
