"""Showing a comparison against production: a table, the decision, a JSON report, an exit code."""

from __future__ import annotations

import json
from pathlib import Path

import click

from synthgen.errors import EXIT_NO_GO, EXIT_OK
from synthgen.sample.against import AgainstReport, compare_against


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
    return "\n".join([head, *(f"  - {reason}" for reason in report.reasons)])


def run_against(
    dataset: Path, metrics: Path, tolerance: float, json_path: Path | None, quiet: bool
) -> int:
    """`synthgen validate DATASET --against METRICS`: compare, print, optionally save; exit code."""
    report = compare_against(dataset, metrics, tolerance)
    if json_path is not None:
        json_path.write_text(json.dumps(report.to_dict(), indent=2, sort_keys=True) + "\n")
    if not quiet:
        click.echo(render_against(report))
        click.echo()
    click.echo(render_verdict(report))
    return EXIT_OK if report.go else EXIT_NO_GO
