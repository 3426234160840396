"""`synthgen indexes rehearse`: run a migration script under the load-test workload and judge
what happened while it ran."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from synthgen.cli.ci import ci_options, write_ci
from synthgen.cli.common import DomainCommand, DomainFailure, exit_for_verdict, json_option
from synthgen.cli.dboptions import dsn_option, pool_options, schema_option
from synthgen.cli.guarding import guard_options, guarded_dsn
from synthgen.postgres.guard import GuardSettings
from synthgen.shipped import DEFAULT_INDEX_SCRIPT


@click.command("rehearse", cls=DomainCommand)
@click.option(
    "--file",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"The migration script [default: {DEFAULT_INDEX_SCRIPT}].",
)
@dsn_option
@schema_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("rehearsal"),
    show_default=True,
    help="Directory for rehearse.json, rehearse.html and the logs.",
)
@click.option(
    "--workload",
    "workload_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="A `synthgen workload` directory [default: build one in OUT/workload].",
)
@click.option(
    "--mix",
    default=None,
    help="Script weights for the load, e.g. Q1=40,W1=20,W2=10 [default: the workload's].",
)
@click.option(
    "--clients", type=click.IntRange(1, 256), default=4, show_default=True, help="pgbench clients."
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    default=20.0,
    show_default=True,
    help="Transactions per second the workload offers (pgbench -R).",
)
@click.option(
    "--settle",
    type=click.IntRange(1, 600),
    default=5,
    show_default=True,
    help="Seconds of load before the script starts (its baseline).",
)
@click.option(
    "--load-seconds",
    type=click.IntRange(1, 3600),
    default=120,
    show_default=True,
    help="Longest the load goes on after the settle: it stops a few seconds after the script "
    "ends, at the latest then.",
)
@pool_options(
    "The workload connects directly or through a PgBouncer.",
    "With --pool pgbouncer: its server connections.",
)
@click.option(
    "--hold-transaction",
    "hold",
    type=click.FloatRange(0, 600),
    default=0.0,
    help="Keep a transaction with an open snapshot this many seconds as the script "
    "starts (CONCURRENTLY waits for it).",
)
@click.option(
    "--block-threshold",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="NO-GO when a statement blocks a workload transaction longer (seconds).",
)
@click.option(
    "--p99-factor",
    type=click.FloatRange(min=1),
    default=3.0,
    show_default=True,
    help="NO-GO when a script's p99 during the migration exceeds its baseline x this.",
)
@click.option(
    "--p99-floor-ms",
    type=click.FloatRange(min=0),
    default=20.0,
    show_default=True,
    help="A p99 rise smaller than this never counts.",
)
@click.option(
    "--large-table-rows",
    type=click.IntRange(min=0),
    default=1_000_000,
    show_default=True,
    help="Static check: a table from this many rows is large.",
)
@guard_options
@ci_options
@json_option("Print the result as JSON.")
def rehearse(
    file: Path | None,
    dsn: str | None,
    schema: str,
    guard: GuardSettings,
    ci: tuple[Path | None, Path | None],
    as_json: bool,
    **kw: Any,
) -> None:
    """Rehearse a migration under live load: locks, waits, WAL and latency per statement.

    Exit 0 GO, 3 NO-GO (a statement blocked the workload, p99 rose, a statement failed or left
    an INVALID index), 1 when the script is refused before running (e.g. CONCURRENTLY inside
    BEGIN/COMMIT) or cannot run.

    Example: synthgen indexes rehearse --file phase-2.sql --schema perf_synthetic --out reh
    """
    from synthgen.cli.ci import refusal_ci, rehearsal_ci
    from synthgen.rehearse.run import Refused, check_refusals
    from synthgen.rehearse.static import read_script

    path = file or DEFAULT_INDEX_SCRIPT
    try:  # before the guard, the load, anything: a refused script never touches a database
        check_refusals(read_script(path))
    except Refused as exc:
        write_ci(refusal_ci(str(exc)), *ci)
        raise DomainFailure(str(exc)) from None
    target = guarded_dsn(dsn, schema, guard)
    doc = run_rehearsal(target, schema, path, kw)
    out: Path = kw["out"]
    write_ci(rehearsal_ci(doc, [("rehearsal", out / "rehearse.html")]), *ci)
    if as_json:
        from synthgen.cli.common import emit_json

        emit_json(doc)
    else:
        for line in summary_lines(doc):
            click.echo(line)
    exit_for_verdict(doc["decision"])


def run_rehearsal(target: str, schema: str, path: Path, kw: dict[str, Any]) -> dict[str, Any]:
    """Build the workload if none was given, then rehearse."""
    from synthgen.loadtest.workload import parse_mix
    from synthgen.rehearse.run import RehearseOptions, rehearse
    from synthgen.rehearse.verdict import Limits

    out: Path = kw["out"]
    mix = parse_mix(kw["mix"]) if kw["mix"] else None  # a bad --mix: before any work
    workload = kw["workload_dir"] or ensure_workload(target, schema, out)
    opts = RehearseOptions(
        target,
        schema,
        path,
        out,
        workload,
        kw["clients"],
        kw["rate"],
        kw["settle"],
        kw["load_seconds"],
        kw["pool"],
        kw["pool_size"],
        mix,
        kw["hold"],
        Limits(kw["block_threshold"], kw["p99_factor"], kw["p99_floor_ms"]),
        kw["large_table_rows"],
    )
    return rehearse(opts, lambda line: click.echo(line, err=True))


def ensure_workload(target: str, schema: str, out: Path) -> Path:
    from synthgen.loadtest.stage import LoadTestStage, build_stage_workload

    build_stage_workload(target, schema, out, LoadTestStage(), None, None)
    return out / "workload"


def summary_lines(doc: dict[str, Any]) -> list[str]:
    lines = []
    for st in doc["statements"]:
        if st.get("skipped"):
            lines.append(f"{st['number']:>3}  not run          {st['sql']}")
            continue
        worst = max((b["waited_s"] for b in st["blocked"]), default=0.0)
        lines.append(
            f"{st['number']:>3}  {st['seconds']:7.2f} s  {'ok    ' if st['ok'] else 'FAILED'}"
            f"  blocked {len(st['blocked'])} (max {worst:.2f} s)  WAL {st['wal_bytes'] / 1e6:.1f}"
            f" MB  {st['sql']}"
        )
    for name in doc["invalid_indexes"]:
        lines.append(f"INVALID index {name} left by a failed build: dropped")
    lines.append(f"rehearsal: {doc['decision']} — {'; '.join(doc['reasons'])}")
    return lines
