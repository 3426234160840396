"""`synthgen sample statements`: production's hot statements as query files, with their weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from synthgen.cli.common import DomainCommand, emit_json, json_option
from synthgen.cli.dboptions import production_dsn_option, production_schema_option
from synthgen.mapping import load_mapping
from synthgen.sample.statement_files import StatementOptions, StatementResult, capture_statements
from synthgen.sample.statements import DEFAULT_LIMIT


@click.command("statements", cls=DomainCommand)
@production_dsn_option
@production_schema_option
@click.option(
    "--mapping",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON mapping the contract's tables and columns to production's [default: synthgen's "
    "own table names].",
)
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True,
              help="How many statements to keep, after ranking.")  # fmt: skip
@click.option("--by", type=click.Choice(["total", "calls"]), default="total", show_default=True,
              help="Rank by total execution time or by calls.")  # fmt: skip
@click.option(
    "--default-limit",
    type=click.IntRange(min=1),
    default=DEFAULT_LIMIT,
    show_default=True,
    help="What stands for a LIMIT $n whose constant pg_stat_statements did not keep.",
)
@click.option(
    "--statement-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    help="Seconds any one statement may run.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="A new (or empty) directory for the query files and the audit record.",
)
@click.option("--dry-run", is_flag=True, help="Capture and check, print the plan, write nothing.")
@json_option()
def statements(
    dsn: str,
    schema: str | None,
    mapping: Path | None,
    top: int,
    by: str,
    default_limit: int,
    statement_timeout: float,
    out: Path,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Capture production's hottest statements from pg_stat_statements as query files.

    Keeps the statements that name the mapped tables, ranks them, and writes one file per
    statement (reads in OUT, writes in OUT/writes) with production's calls, mean and total time
    and rows per call, and each $n's kind inferred through the mapping. Only normalized text and
    numbers leave production: a statement holding a string literal is dropped and counted. A
    parameter that cannot be inferred gets a `-- todo:` line; that file stays out of runs until
    edited.

    \b
    Example: synthgen sample statements --dsn postgresql://reader@db/app --mapping app.json \\
                 --top 10 --out captured/
    """
    options = StatementOptions(
        dsn=dsn,
        out=out,
        mapping=load_mapping(mapping, schema),
        top=top,
        by=by,
        default_limit=default_limit,
        statement_timeout_s=statement_timeout,
        dry_run=dry_run,
    )
    result = capture_statements(options)
    if as_json:
        emit_json(_summary(result))
        return
    _print(result, out, dry_run)


def _print(result: StatementResult, out: Path, dry_run: bool) -> None:
    """One line per file (production's calls and time, shares, todo), then the counts."""
    for f in result.files:
        w = f.weight
        todo = (
            "  TODO: " + "; ".join(f"${n}" for n in sorted(f.statement.todo))
            if f.statement.todo
            else ""
        )
        click.echo(
            f"{f.key.upper():<4} {f.statement.kind:<5} calls {w['calls']:>10,} "
            f"({w['share_calls']:.1%})  total {w['total_ms']:>12,.1f} ms "
            f"({w['share_time']:.1%})  {f.path}{todo}"
        )
    s = result.audit["statements"]
    click.echo(
        f"{s['read']} statements read; {s['dropped_literal']} dropped for holding a literal, "
        f"{s['other_tables']} on other tables, {s['not_queries']} not queries, "
        f"{s['not_visible']} not visible to this role, {s['beyond_top']} beyond --top"
    )
    if s["todo"]:
        click.echo(
            f"{s['todo']} file(s) have a -- todo: line and are left out of runs until edited"
        )
    verb = "would write" if dry_run else "wrote"
    click.echo(f"{verb} {len(result.files)} query files and {out}/statements.audit.json")


def _summary(result: StatementResult) -> dict[str, Any]:
    return {
        "out": str(result.out),
        "written": result.written,
        "statements": result.audit["statements"],
        "files": [
            {
                "file": str(f.path),
                "key": f.key,
                "kind": f.statement.kind,
                "production": f.weight,
                "params": {str(n): list(p) for n, p in f.statement.params.items()},
                "todo": {str(n): why for n, why in f.statement.todo.items()},
            }
            for f in result.files
        ],
    }
