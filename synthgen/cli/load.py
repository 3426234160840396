"""``synthgen load``: a dataset into a PostgreSQL schema (``cli/teardown.py`` takes it out)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from synthgen.cli.common import (
    DomainCommand,
    dataset_argument,
    emit_json,
    json_option,
    open_dataset_dir,
    quiet_option,
    storage_options_option,
)
from synthgen.cli.dboptions import dsn_option, mapped_schema_option, public_option
from synthgen.cli.guarding import guard_options
from synthgen.cli.progress import StepBar
from synthgen.load.driver import ORDERS
from synthgen.machine import default_workers
from synthgen.postgres.connect import DEFAULT_SCHEMA, resolve_dsn
from synthgen.postgres.guard import GuardSettings, check_environment

if TYPE_CHECKING:
    from synthgen.storage import DatasetPath


T = TypeVar("T")


def _with_progress(work: Callable[[Callable[[int, int], None] | None], T], quiet: bool) -> T:
    """Run a load with a rows bar on stderr (none when quiet), shown from the first count on: a
    load refused before it has rows to count (bad input, the guard) prints its error alone."""
    if quiet:
        return work(None)
    with StepBar() as bar:
        return work(lambda done, total: bar("rows", done, total, ""))


@click.command(cls=DomainCommand)
@dataset_argument()
@storage_options_option()
@dsn_option
@mapped_schema_option
@click.option(
    "--mapping",
    "mapping_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Load into the application's own tables (made by its migrations) through this mapping "
    "(the format `synthgen sample --mapping` reads, plus ids, fills and derived tables).",
)
@click.option(
    "--plan",
    "plan_only",
    is_flag=True,
    help="With --mapping: print the load plan (every column's source, cast, fill) and stop.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Parallel connections [default: all cores].",
)
@click.option("--resume", is_flag=True, help="Continue a load: skip shards already recorded.")
@click.option("--replace", is_flag=True, help="Drop the schema's previous load first.")
@click.option("--unlogged", is_flag=True, help="Create UNLOGGED tables (fast; lost on a crash).")
@click.option(
    "--order",
    type=click.Choice(ORDERS),
    default="arrival",
    show_default=True,
    help="Rows in each table's arrival order, as production's heap (arrival), or shard after "
    "shard, room group by room group (room: the older layout, unrealistic for plans).",
)
@click.option(
    "--append",
    is_flag=True,
    help="DATASET is an extension (`synthgen extend`): write it into the loaded schema (with "
    "--mapping: the application's tables) with its "
    "indexes and constraints in place, day by day in time order (resumable).",
)
@click.option(
    "--days-per-minute",
    type=float,
    default=None,
    help="With --append: simulated days applied per minute of wall time.",
)
@click.option(
    "--as-fast-as-possible",
    is_flag=True,
    help="With --append: no pacing (the default).",
)
@public_option
@guard_options
@quiet_option()
@json_option()
def load(
    dataset: str,
    storage_options: tuple[str, ...],
    dsn: str | None,
    schema: str | None,
    mapping_path: Path | None,
    plan_only: bool,
    jobs: int | None,
    resume: bool,
    replace: bool,
    unlogged: bool,
    order: str,
    append: bool,
    days_per_minute: float | None,
    as_fast_as_possible: bool,
    allow_public: bool,
    guard: GuardSettings,
    quiet: bool,
    as_json: bool,
) -> None:
    """Load a generated dataset into a PostgreSQL schema (binary COPY over ADBC).

    Tables are created bare, each table's rows load in arrival order (a merge of its shards,
    in units over parallel connections, each unit and its audit record in one transaction), then
    primary keys, phase-1 indexes, foreign keys and ANALYZE follow.

    With --mapping the shards go into the existing tables of the application's schema instead:
    its keys and indexes are dropped for the bulk load and recreated exactly as its
    migrations made them.

    Example: synthgen load out/dev --dsn postgresql://me@localhost/scratch --jobs 2

    Example: synthgen load out/dev --mapping examples/prisma-chat/mapping.json --plan
    """
    from synthgen.load.contract import LoadOptions, load_dataset

    check_environment(guard)  # before starting a local cluster on demand
    if plan_only and mapping_path is None:
        raise click.UsageError("--plan needs --mapping")
    if append:
        from synthgen.cli.append import append_command

        append_command(
            dataset,
            dsn,
            schema,
            days_per_minute,
            as_fast_as_possible,
            (mapping_path, resume, replace, unlogged),
            guard,
            quiet,
            as_json,
        )
        return
    if days_per_minute is not None or as_fast_as_possible:
        raise click.UsageError("--days-per-minute and --as-fast-as-possible need --append")
    dataset_dir = open_dataset_dir(dataset, storage_options)
    if mapping_path is not None:
        if unlogged or allow_public:
            raise click.UsageError("--unlogged and --allow-public do not apply with --mapping")
        _load_mapped(
            dataset_dir, resolve_dsn(dsn), schema, mapping_path, plan_only,
            jobs or default_workers(), resume, replace, guard, quiet, as_json, order,
        )  # fmt: skip
        return
    opts = LoadOptions(
        dataset_dir=dataset_dir,
        dsn=resolve_dsn(dsn),
        schema=schema or DEFAULT_SCHEMA,
        jobs=jobs or default_workers(),
        resume=resume,
        replace=replace,
        unlogged=unlogged,
        allow_public=allow_public,
        guard=guard,
        order=order,
    )
    report = _with_progress(lambda update: load_dataset(opts, update), quiet or as_json)
    if as_json:
        emit_json(report.to_dict())
        return
    load_seconds = report.steps.get("load shards", 0.0)
    click.echo(
        f"loaded {dataset_dir} into schema {report.schema} of {report.dsn} "
        f"in {report.seconds:.1f} s (load #{report.load_id})"
    )
    rate = ""
    if report.rows_loaded and load_seconds > 0:
        rate = (
            f"; {report.rows_loaded:,} rows at {report.rows_loaded / load_seconds:,.0f} rows/s, "
            f"{report.bytes_loaded / 1e6 / load_seconds:.1f} MB/s of Parquet"
        )
    click.echo(
        f"  {'shards' if order == 'room' else 'units'}: {report.shards_loaded} loaded, "
        f"{report.shards_skipped} already there{rate}"
    )
    for table, rows in report.counts.items():
        click.echo(f"  {table:<22} {rows:>14,} rows")
    for step, seconds in report.steps.items():
        click.echo(f"  {step:<26} {seconds:>8.2f} s")


def _load_mapped(
    dataset_dir: DatasetPath,
    dsn: str,
    schema: str | None,
    mapping_path: Path,
    plan_only: bool,
    jobs: int,
    resume: bool,
    replace: bool,
    guard: GuardSettings,
    quiet: bool,
    as_json: bool,
    order: str = "arrival",
) -> None:
    from synthgen.load.mapped.loader import MappedLoadOptions, load_mapped
    from synthgen.load.mapped.loader import plan_only as describe_plan

    opts = MappedLoadOptions(
        dataset_dir, dsn, mapping_path, schema, jobs, resume, replace, guard=guard, order=order
    )
    if plan_only:
        for line in describe_plan(opts):
            click.echo(line)
        return
    report = _with_progress(lambda update: load_mapped(opts, update), quiet or as_json)
    if as_json:
        emit_json(report.__dict__)
        return
    click.echo(
        f"loaded {dataset_dir} into the application schema {report.schema} of {report.dsn} in "
        f"{report.seconds:.1f} s (audit trail in schema {report.audit_schema})"
    )
    click.echo(f"  shards: {report.shards_loaded} loaded, {report.shards_skipped} already there")
    for table, rows in report.counts.items():
        click.echo(f"  {table:<26} {rows:>14,} rows")
    for step, seconds in report.steps.items():
        click.echo(f"  {step:<26} {seconds:>8.2f} s")
