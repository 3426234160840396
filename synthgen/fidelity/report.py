"""The gate's outputs: the JSON report (every figure, the decision, the hashes) and the text
table the command prints. The HTML page lives in synthgen.fidelity.html."""

from __future__ import annotations

import json
import math
from pathlib import Path

from synthgen.errors import DatasetError
from synthgen.fidelity.results import Metric, Status
from synthgen.fidelity.runner import FidelityReport
from synthgen.files import write_text_atomic
from synthgen.storage import DatasetPath, StoredPath

REPORT_NAME = "fidelity-report.json"
MAX_FINDINGS_SHOWN = 5


def write_text_atomically(path: Path, text: str) -> Path:
    """Write a report whole or not at all; a failure is one line naming the file."""
    path = Path(path)
    try:
        return write_text_atomic(path, text, parents=True)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot write the report ({exc.strerror or exc})") from None


def write_json(report: FidelityReport, path: DatasetPath) -> DatasetPath:
    """Write the full report as JSON (beside a stored dataset: one PUT, whole or absent)."""
    text = json.dumps(report.to_dict(), indent=2, sort_keys=False, allow_nan=False) + "\n"
    if isinstance(path, StoredPath):
        path.write_bytes(text.encode())
        return path
    return write_text_atomically(path, text)


def fmt(value: float | None) -> str:
    """A figure for the table: thousands separators for counts, 4 significant digits else."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if float(value).is_integer() and abs(value) >= 1:
        return f"{int(value):,}"
    return f"{value:.4g}"


def _deviation(m: Metric) -> str:
    if m.rule != "relative" or m.deviation is None:
        return "-"
    if not math.isfinite(m.deviation):
        return "inf"
    return f"{m.deviation:.1%}"


def render_table(report: FidelityReport) -> str:
    """The per-metric table: check, metric, expected, measured, deviation, status, critical."""
    header = ("check", "metric", "expected", "measured", "deviation", "status", "critical")
    rows: list[tuple[str, ...]] = []
    for r in report.results:
        critical = "integrity" if r.kind == "integrity" else ("yes" if r.critical else "no")
        for i, m in enumerate(r.outcome.metrics):
            label = f"{r.number} {r.name}" if i == 0 else ""
            rows.append(
                (
                    label,
                    m.name,
                    fmt(m.expected),
                    fmt(m.measured),
                    _deviation(m),
                    m.status.value,
                    critical if i == 0 else "",
                )
            )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    right = {2, 3, 4}

    def line(row: tuple[str, ...]) -> str:
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    return "\n".join([line(header), line(tuple("-" * w for w in widths)), *map(line, rows)])


def render_brief(report: FidelityReport) -> str:
    """The product brief's figures beside the spec model's and the measured ones (information,
    not judged), with a note where the model departs from the brief."""
    header = ("brief figure", "brief", "spec model", "measured")
    rows = [
        (b.figure.label, fmt(b.figure.brief), fmt(b.model), fmt(b.measured)) for b in report.brief
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        cells = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    out = [line(header), line(tuple("-" * w for w in widths)), *map(line, rows)]
    out += [f"  {b.figure.label}: {b.note}" for b in report.brief if b.note]
    return "\n".join(out)


def render_decision(report: FidelityReport) -> str:
    """The decision and its reasons, plus skipped figures and a few findings per failing check."""
    d = report.decision
    lines = [
        f"decision: {d.verdict} ({d.warnings} warning(s), {d.max_warnings} allowed; "
        f"tolerance ±{report.tolerance:.0%}; {report.seconds:.1f} s)"
    ]
    lines += [f"  reason: {reason}" for reason in d.reasons]
    if d.unconfirmed:
        lines.append(
            f"  not confirmed (insufficient data at this scale): {'; '.join(d.unconfirmed)}"
        )
    for r in report.results:
        if r.status is Status.FAIL:
            lines += [
                f"  finding: {f.rule}: {f.table}.{f.column} row {f.row_id} {f.detail}".rstrip()
                for f in r.outcome.findings[:MAX_FINDINGS_SHOWN]
            ]
    lines += [f"  note: {note}" for note in report.notes]
    return "\n".join(lines)
