"""Showing a comparison against production: the table of distances and the decision."""

from __future__ import annotations

from synthgen.sample.against import CALIBRATE_HINT, AgainstReport


def render_against(report: AgainstReport) -> str:
    """The comparison table (distribution, check, distance, score, noise, status)."""
    lines = [
        f"{'distribution':<26} {'check':<26} {'distance':>12} {'score':>6} {'noise':>6}  status",
    ]
    for c in report.comparisons:
        critical = "*" if c.check in report.critical else " "
        lines.append(
            f"{c.name:<26} {c.check + critical:<26} {c.distance_kind} {c.distance:>9.4f} "
            f"{c.score:>6.3f} {c.noise:>6.3f}  {c.status}{'  ' + c.note if c.note else ''}"
        )
    lines.append("(* critical check; score = 1 - distance; KS for ordered, TV for categorical)")
    return "\n".join(lines)


def render_verdict(report: AgainstReport) -> str:
    """The decision and its reasons, one per line."""
    head = (
        f"{report.verdict} against production (tolerance {report.tolerance:.0%}, "
        f"{report.warnings} of {report.max_warnings} warnings)"
    )
    hint = [] if report.go else [f"  next: {CALIBRATE_HINT}"]
    return "\n".join([head, *(f"  - {reason}" for reason in report.reasons), *hint])
