"""`synthgen indexes suggest` (candidate indexes asked of the planner with HypoPG) and
`synthgen indexes prove` (built for real, measured, kept when they pay for themselves)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from synthgen.cli.common import DomainCommand, exit_for_verdict, with_options
from synthgen.cli.dboptions import (
    dsn_option,
    mapped_dataset_option,
    mapped_schema_option,
    queries_option,
)
from synthgen.cli.guarding import guard_options, guarded_dsn
from synthgen.errors import VerifyError
from synthgen.mapping import Mapping
from synthgen.postgres.connect import (
    DEFAULT_SCHEMA,
    Connection,
    connect,
    execute,
    fetch_value,
    validate_schema_name,
)
from synthgen.postgres.guard import GuardSettings
from synthgen.schema import quote_ident
from synthgen.verify.queries import Query, load_queries


def _stderr(message: str) -> None:
    click.echo(message, err=True)


def _target(
    schema: str | None, mapping_path: Path | None, queries_dir: Path | None
) -> tuple[str, Mapping | None, list[Query]]:
    names = None
    if mapping_path is not None:
        from synthgen.mapping import load_mapping

        names = load_mapping(mapping_path, schema)
        schema = names.schema
        if queries_dir is None:
            raise click.UsageError("--mapping needs --queries (the application's own queries)")
    schema = schema or DEFAULT_SCHEMA
    validate_schema_name(schema, allow_public=True)
    return schema, names, load_queries(queries_dir)


def _parameters(
    conn: Connection, schema: str, names: Mapping | None, dataset_dir: Path | None
) -> Any:
    if not fetch_value(conn, "SELECT count(*) FROM pg_namespace WHERE nspname = $1", (schema,)):
        raise VerifyError(
            f"--schema {schema}: no such schema in this database (load a dataset first)"
        )
    execute(conn, f"SET search_path TO {quote_ident(schema)}, public")
    if names is not None:
        from synthgen.load.mapped.params import mapped_parameters

        return mapped_parameters(conn, names, dataset_dir)
    from synthgen.verify.params import sample_parameters

    return sample_parameters(conn)


_common = with_options(
    queries_option,
    dsn_option,
    mapped_schema_option,
    click.option(
        "--mapping",
        "mapping_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="An application's own schema (loaded with `synthgen load --mapping`); needs "
        "--queries.",
    ),
    mapped_dataset_option,
    guard_options,
)


@click.command("suggest", cls=DomainCommand)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Phase-2 script to write (its rollback and JSON beside it).",
)
@click.option(
    "--threshold",
    type=click.FloatRange(0.0, 1.0, min_open=True),
    default=0.3,
    show_default=True,
    help="Keep a candidate that cuts the estimated cost by this share (or removes a sort).",
)
@_common
def suggest(
    out: Path,
    threshold: float,
    queries_dir: Path | None,
    dsn: str | None,
    schema: str | None,
    mapping_path: Path | None,
    dataset_dir: Path | None,
    guard: GuardSettings,
) -> None:
    """Suggest phase-2 indexes from the queries' own plans, asking the planner about each
    candidate with HypoPG (hypothetical indexes: nothing is built).

    Example: synthgen indexes suggest --schema perf_synthetic --out phase-2.sql
    """
    from synthgen.verify.hypo import require_hypopg
    from synthgen.verify.suggest import suggest as run_suggest
    from synthgen.verify.suggest_script import write_suggestion

    schema, names, queries = _target(schema, mapping_path, queries_dir)
    target = guarded_dsn(dsn, schema, guard)  # CREATE EXTENSION and ANALYZE write
    conn = connect(target, autocommit=True)
    try:
        hypopg = require_hypopg(conn)
        params = _parameters(conn, schema, names, dataset_dir)
        doc = run_suggest(conn, schema, queries, params, hypopg, threshold)
    finally:
        conn.close()
    paths = write_suggestion(doc, out)
    for line in suggestion_lines(doc):
        click.echo(line)
    click.echo(f"written: {', '.join(map(str, paths))}")


def suggestion_lines(doc: dict[str, Any]) -> list[str]:
    """What suggest found, one line per index, per query an existing index serves, and per
    query no candidate helps."""
    from synthgen.verify.suggest_script import estimate_text

    lines = []
    for index in doc["indexes"]:
        lines.append(f"suggest {index['name']}: {index['sql'].split(chr(10))[-1].strip()}")
        for e in index["serves"]:
            lines.append(f"  {e['name']} {estimate_text(e)}")
    for served in doc["served_by_existing"]:
        lines.append(
            f"{served['name']} ({served['table']}): served by existing index {served['index']}; "
            "nothing proposed"
        )
    for none in doc["unhelped"]:
        lines.append(f"{none['name']} ({none['table']}): no candidate cuts the estimated cost")
    return lines


@click.command("prove", cls=DomainCommand)
@click.option(
    "--file",
    "script",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The suggested script (from `indexes suggest`; its JSON beside it gives the planner's "
    "estimates and the parameters).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The proven script to write (the kept indexes; rollback and report JSON beside it).",
)
@click.option("--runs", type=click.IntRange(min=3), default=15, show_default=True)
@click.option("--write-seconds", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--min-gain", type=click.FloatRange(0.0, 1.0), default=0.2, show_default=True)
@click.option("--max-write-cost", type=click.FloatRange(0.0, 1.0), default=0.25, show_default=True)
@_common
def prove(
    script: Path,
    out: Path,
    runs: int,
    write_seconds: int,
    min_gain: float,
    max_write_cost: float,
    queries_dir: Path | None,
    dsn: str | None,
    schema: str | None,
    mapping_path: Path | None,
    dataset_dir: Path | None,
    guard: GuardSettings,
) -> None:
    """Build each suggested index for real, measure reads and writes with and without it, keep
    those that pay for themselves, and judge the kept set with the index gate (exit 3: NO-GO).

    Example: synthgen indexes prove --file phase-2.sql --out phase-2-proven.sql
    """
    from synthgen.loadtest.prove import ProveOptions
    from synthgen.loadtest.prove import prove as run_prove
    from synthgen.loadtest.proven import table_lines, write_proven

    if not script.is_file():
        raise VerifyError(f"--file {script}: not found")
    sidecar = script.with_suffix(".json")
    suggestion = json.loads(sidecar.read_text()) if sidecar.is_file() else None
    schema, names, queries = _target(schema, mapping_path, queries_dir)
    target = guarded_dsn(dsn, schema, guard)  # it builds and drops indexes, and writes rows
    conn = connect(target, autocommit=True)
    try:
        params = (suggestion or {}).get("parameters") or _parameters(
            conn, schema, names, dataset_dir
        )
        estimates = {i["name"]: i["estimates"] for i in (suggestion or {}).get("indexes", [])}
        opts = ProveOptions(
            target, schema, script, out.parent / f"{out.stem}-work", queries, params,
            queries_dir, names, estimates, runs, write_seconds, min_gain, max_write_cost,
        )  # fmt: skip
        report = run_prove(conn, opts, _stderr)
    finally:
        conn.close()
    paths = write_proven(report, suggestion or {"indexes": []}, out)
    for line in table_lines(report):
        click.echo(line)
    click.echo(f"written: {', '.join(map(str, paths))}")
    if report["together"] is not None:
        exit_for_verdict(report["together"]["decision"])
