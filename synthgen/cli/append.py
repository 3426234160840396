"""`synthgen load DELTA --append`: an extension into the live contract tables."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from synthgen.cli.common import emit_json
from synthgen.cli.progress import StepBar
from synthgen.postgres.connect import DEFAULT_SCHEMA, resolve_dsn
from synthgen.postgres.guard import GuardSettings


def append_command(
    dataset: str,
    dsn: str | None,
    schema: str | None,
    days_per_minute: float | None,
    as_fast_as_possible: bool,
    excluded: tuple[Any, ...],
    guard: GuardSettings,
    quiet: bool,
    as_json: bool,
) -> None:
    """Refuse what does not apply, then append day by day with a bar in simulated days."""
    from synthgen.load.append import AppendOptions, append_delta

    if days_per_minute is not None and as_fast_as_possible:
        raise click.UsageError("--days-per-minute and --as-fast-as-possible exclude each other")
    mapping_path, *others = excluded
    if any(others):
        raise click.UsageError(
            "--append does not take --resume (it resumes by itself), --replace or --unlogged"
        )
    if mapping_path is not None:
        from synthgen.load.mapped.append import MappedAppendOptions, append_mapped

        mapped = MappedAppendOptions(
            delta=Path(dataset),
            dsn=resolve_dsn(dsn),
            mapping_path=Path(mapping_path),
            schema=schema,
            days_per_minute=days_per_minute,
            guard=guard,
        )
        with StepBar(quiet=quiet or as_json) as bar:
            report = append_mapped(
                mapped, lambda done, total: bar("simulated days", done, total, "d")
            )
        _show(dataset, report, as_json)
        return
    opts = AppendOptions(
        delta=Path(dataset),
        dsn=resolve_dsn(dsn),
        schema=schema or DEFAULT_SCHEMA,
        days_per_minute=days_per_minute,
        guard=guard,
    )
    with StepBar(quiet=quiet or as_json) as bar:
        report = append_delta(opts, lambda done, total: bar("simulated days", done, total, "d"))
    _show(dataset, report, as_json)


def _show(dataset: str, report: Any, as_json: bool) -> None:
    if as_json:
        emit_json(asdict(report))
        return
    click.echo(
        f"appended {dataset} into schema {report.schema}: {report.days_applied} days "
        f"({report.days_skipped} already there) in {report.seconds:.1f} s"
    )
    for table, rows in report.counts.items():
        click.echo(f"  {table:<20} {rows:>12,} rows")
