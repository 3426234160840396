"""`synthgen plan`: rows, disk, memory and time of a band before building it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from synthgen.cli.common import (
    DomainCommand,
    band_option,
    emit_json,
    json_option,
    scale_option,
    spec_option,
)
from synthgen.errors import SynthgenError
from synthgen.preview import DEFAULT_MIN_FREE, Preview, make_preview
from synthgen.preview.figures import human_bytes, parse_size
from synthgen.spec import load_spec

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_SEED = "0"  # generate's default too
SEED_WARNING = (
    f"no --seed given: this plans seed '{DEFAULT_SEED}', the one generate uses without --seed; "
    "another seed builds another skeleton (members, attachments, receipts differ), so pass "
    "plan the --seed you will pass generate"
)


class SizeType(click.ParamType):
    """A size: 500MB, 2GiB or plain bytes; anything else is a usage error naming the flag."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        """Bytes."""
        if isinstance(value, int):
            return value
        try:
            return parse_size(str(value), param.opts[0] if param else "size")
        except SynthgenError as exc:
            self.fail(str(exc).split(": ", 1)[-1], param, ctx)


def min_free_option() -> Callable[[F], F]:
    """--min-free SIZE: free space each disk must keep after the run."""
    return click.option(
        "--min-free",
        type=SizeType(),
        default=DEFAULT_MIN_FREE,
        show_default=True,
        help="Free space each disk must still have after the run (e.g. 500MB, 10GiB).",
    )


def print_preview(preview: Preview, as_json: bool, err: bool = False) -> None:
    """The plan on stdout (or stderr), then one warning line if a disk will not hold it."""
    if as_json:
        emit_json(preview.to_dict())
    else:
        click.echo(preview.render(), err=err)
    if preview.short:
        click.echo(f"warning: {disk_shortfall(preview)}", err=True)


def disk_shortfall(preview: Preview) -> str:
    """One line naming every place whose free disk will not hold the run."""
    parts = [
        f"{d.what} {d.path} needs {human_bytes(d.needs)} and {human_bytes(d.min_free)} kept "
        f"free (--min-free), but has {human_bytes(d.free or 0)}"
        for d in preview.short
    ]
    return "the disk will not hold this run: " + "; ".join(parts)


@click.command(cls=DomainCommand)
@band_option()
@scale_option()
@click.option(
    "--seed",
    default=None,
    help="Seed text, as for generate [default: 0, generate's default]: the rooms' members, "
    "the attachments and the receipts depend on it, so plan with the --seed you generate with.",
)
@spec_option()
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("out"),
    show_default=True,
    help="Where the dataset would go: its free disk is checked.",
)
@click.option(
    "--dsn",
    help="The server it would load into: its data directory's free disk is checked (default "
    "$SYNTHGEN_DSN, else the local cluster's directory).",
)
@min_free_option()
@click.option(
    "--memory-limit",
    type=SizeType(),
    default="2GiB",
    show_default=True,
    help="The fidelity gate's DuckDB memory cap, for its expected peak.",
)
@json_option("Print the plan as JSON.")
def plan(
    band: str,
    scale: float,
    seed: str | None,
    spec_path: Path | None,
    out: Path,
    dsn: str | None,
    min_free: int,
    memory_limit: int,
    as_json: bool,
) -> None:
    """Print each table's rows, Parquet and PostgreSQL size, the expected stage times and the
    gate's memory, without generating anything; warn when a disk will not hold it.

    Example: synthgen plan --band staging --out /data/staging
    """
    spec = load_spec(spec_path)
    spec.band(band)
    preview = make_preview(
        spec, band, scale, seed or DEFAULT_SEED, out, dsn=dsn, min_free=min_free,
        memory_limit=memory_limit,
    )  # fmt: skip
    print_preview(preview, as_json)
    if seed is None:
        click.echo(f"warning: {SEED_WARNING}", err=True)
