"""``synthgen indexes``: show, apply or roll back an index script; ``rehearse``, ``suggest`` and
``prove`` join the group from their own modules."""

from __future__ import annotations

from pathlib import Path

import click

from synthgen.cli.common import DomainCommand, emit_json, json_option, quiet_option, with_options
from synthgen.cli.dboptions import dsn_option, schema_option
from synthgen.cli.guarding import guard_options, guarded_dsn
from synthgen.cli.progress import StepBar
from synthgen.postgres.connect import validate_schema_name
from synthgen.postgres.guard import GuardSettings
from synthgen.progress import index_ticks
from synthgen.verify.indexes import (
    DEFAULT_APPLY,
    DEFAULT_ROLLBACK,
    IndexStep,
    read_script,
    run_script,
)


@click.group()
def indexes() -> None:
    """Apply or roll back the phase-2 index script.

    Example: synthgen indexes apply --schema perf_synthetic
    """


def _report(steps: list[IndexStep], as_json: bool) -> None:
    if as_json:
        emit_json(
            [
                {
                    "index": s.index,
                    "seconds": round(s.seconds, 3),
                    "size_bytes": s.size_bytes,
                    "findings": s.findings,
                    "columns": s.columns,
                    "rows": s.rows,
                }
                for s in steps
            ]
        )
        return
    for s in steps:
        if s.index:
            size = f"{s.size_bytes / 1e6:.1f} MB" if s.size_bytes is not None else "dropped"
            click.echo(f"{s.index:<42} {s.seconds:7.2f} s  {size}")
        elif s.rows:
            click.echo("  " + " | ".join(s.columns))
            for row in s.rows:
                click.echo("  " + " | ".join(str(v) for v in row))


def _run(
    action: str,
    file: Path | None,
    dsn: str | None,
    schema: str,
    guard: GuardSettings,
    quiet: bool,
    as_json: bool,
) -> None:
    validate_schema_name(schema, allow_public=True)
    path = file or (DEFAULT_APPLY if action == "apply" else DEFAULT_ROLLBACK)
    # Any --file runs here, whatever it holds: the guard clears the database first.
    target = guarded_dsn(dsn, schema, guard)
    with StepBar(quiet) as bar:
        steps = run_script(
            target,
            schema,
            path,
            index_ticks(bar),
            None if as_json else lambda line: click.echo(f"finding: {line}"),
        )
    _report(steps, as_json)


_with_options = with_options(
    click.option(
        "--file",
        type=click.Path(path_type=Path),
        help=f"Index script [default: apply {DEFAULT_APPLY}, rollback {DEFAULT_ROLLBACK}].",
    ),
    dsn_option,
    schema_option,
    guard_options,
    quiet_option(),
    json_option("Machine-readable result on stdout."),
)


@indexes.command("show", cls=DomainCommand)
@click.option("--rollback", is_flag=True, help="Show the rollback script instead.")
@click.option("--file", type=click.Path(path_type=Path), help="Index script to show.")
def show(rollback: bool, file: Path | None) -> None:
    """Print the statements an index script runs (and its file), touching no database.

    Example: synthgen indexes show --rollback
    """
    path = file or (DEFAULT_ROLLBACK if rollback else DEFAULT_APPLY)
    steps = read_script(path)
    click.echo(f"-- {path}: {len(steps)} statements")
    for step in steps:
        click.echo(f"{step.sql.strip()};")


@indexes.command("apply", cls=DomainCommand)
@_with_options
def apply(
    file: Path | None,
    dsn: str | None,
    schema: str,
    guard: GuardSettings,
    quiet: bool,
    as_json: bool,
) -> None:
    """Build the phase-2 indexes concurrently, with progress, sizes and build times.

    Example: synthgen indexes apply --schema perf_synthetic
    """
    _run("apply", file, dsn, schema, guard, quiet, as_json)


@indexes.command("rollback", cls=DomainCommand)
@_with_options
def rollback(
    file: Path | None,
    dsn: str | None,
    schema: str,
    guard: GuardSettings,
    quiet: bool,
    as_json: bool,
) -> None:
    """Drop the phase-2 indexes concurrently.

    Example: synthgen indexes rollback --schema perf_synthetic
    """
    _run("rollback", file, dsn, schema, guard, quiet, as_json)


def _add_rehearse() -> None:
    from synthgen.cli.rehearse import rehearse

    indexes.add_command(rehearse)


_add_rehearse()


def _register_suggest() -> None:
    # suggest and prove live in their own module (cli/suggest.py); the group is this one
    from synthgen.cli.suggest import prove, suggest

    indexes.add_command(suggest)
    indexes.add_command(prove)


_register_suggest()
