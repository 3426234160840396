"""`synthgen validate BASE DELTA...`: the extension gate's table and verdict."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click

from synthgen.errors import EXIT_NO_GO, EXIT_OK
from synthgen.fidelity.extension import judge_chain
from synthgen.files import write_json_atomic


def validate_chain(base: Path, deltas: list[Path], json_path: Path | None, quiet: bool) -> int:
    """Judge the chain, print each figure and the decision; the exit code (0 GO, 3 NO-GO)."""
    report = judge_chain(base, deltas)
    if json_path is not None:
        findings = [{**asdict(f), "status": f.status} for f in report.findings]
        write_json_atomic(json_path, {"go": report.go, "findings": findings}, sort_keys=True)
    if not quiet:
        for f in report.findings:
            click.echo(
                f"  {f.status:<4}  {f.check:<62} {f.observed:>12.6g}  expected {f.expected:>12.6g}"
                f"  +/- {f.allowed:.3g}"
            )
    failed = [f.check for f in report.findings if f.status != "PASS"]
    if failed:
        click.echo(f"NO-GO: {len(failed)} of {len(report.findings)} figures fail: {failed[0]}")
        return EXIT_NO_GO
    click.echo(f"GO: {len(report.findings)} figures of {len(deltas)} extension(s) pass")
    return EXIT_OK
