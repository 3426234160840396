"""``synthgen calibrate``: fit a spec to production's shape metrics (from ``synthgen sample``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from synthgen.calibrate.calibrate import Calibration, load_base, write_spec
from synthgen.calibrate.calibrate import calibrate as calibrate_metrics
from synthgen.cli.common import DomainCommand, emit_json, json_option
from synthgen.gate import DEFAULT_TOLERANCE
from synthgen.sample.metrics import load_metrics
from synthgen.shipped import DEFAULT_SPEC_PATH


def _show(value: Any, width: int = 44) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return text if len(text) <= width else text[: width - 3] + "..."


def _print_calibration(calibration: Calibration) -> None:
    click.echo(f"{'parameter':<52} {'fitted':<44} {'base':<24} {'fit':<10} {'n':>8}")
    for p in calibration.params:
        fit = "-" if p.gof is None else f"{p.gof_kind} {p.gof:.3f}"
        if p.gof_kind == "exact":
            fit = "exact"
        n = f"{p.n:,.0f}" if p.n else ""
        click.echo(f"{p.path:<52} {_show(p.value):<44} {_show(p.base, 24):<24} {fit:<10} {n:>8}")
    moved = calibration.moved()
    if moved:
        click.echo(f"moved beyond {DEFAULT_TOLERANCE:.0%} of the base spec:")
        for line in moved:
            click.echo(f"  {line}")
    for note in calibration.notes:
        click.echo(f"note: {note}")


@click.command("calibrate", cls=DomainCommand)
@click.argument("metrics", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--base",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"Spec to start from (its bands are kept) [default: {DEFAULT_SPEC_PATH}].",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the calibrated spec.",
)
@json_option("Print the fitted values as JSON.")
def calibrate(metrics: Path, base: Path | None, out: Path, as_json: bool) -> None:
    """Fit a spec to production's shape metrics (from `synthgen sample`).

    Power-law exponents, geometric p, log-normal mu/sigma and the heavy-room tail by maximum
    likelihood on the binned counts; shares, an explicit 24-hour profile, the weekday ratio and
    the receipt-delay mixture from the histograms. Prints each fitted value with its goodness of
    fit (KS distance for fitted distributions, TV for shares).

    \b
    Example: synthgen calibrate shape-metrics.json --out my-spec.json
    """
    calibration = calibrate_metrics(load_metrics(metrics), load_base(base))
    write_spec(calibration, out)
    if as_json:
        emit_json(
            {
                "out": str(out),
                "params": [p.__dict__ for p in calibration.params],
                "notes": calibration.notes,
                "moved": calibration.moved(),
            }
        )
        return
    _print_calibration(calibration)
    click.echo(f"wrote {out}")
