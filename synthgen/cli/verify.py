"""`synthgen verify baseline|compare` and `synthgen indexes apply|rollback`."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from synthgen.cli.common import DomainCommand, emit_json
from synthgen.cli.guarding import guard_options, guarded_dsn
from synthgen.errors import VerifyError
from synthgen.postgres.connect import DEFAULT_SCHEMA, connect, validate_schema_name
from synthgen.postgres.guard import GuardSettings
from synthgen.verify.baseline import run_baseline
from synthgen.verify.compare import Comparison, compare_baselines
from synthgen.verify.indexes import DEFAULT_APPLY, DEFAULT_ROLLBACK, IndexStep, run_script
from synthgen.verify.queries import load_queries

NO_GO_EXIT = 3


def _stderr(message: str) -> None:
    click.echo(message, err=True)


def read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise VerifyError(f"{what} {path}: not found") from None
    except json.JSONDecodeError as exc:
        raise VerifyError(f"{what} {path}: not valid JSON (line {exc.lineno})") from None
    if "results" not in loaded:
        raise VerifyError(f"{what} {path}: not a synthgen baseline (no 'results')")
    return loaded


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write atomically: a reader never sees half a baseline."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    os.replace(tmp, path)


@click.group()
def verify() -> None:
    """Measure hot-path queries before and after an index change, and decide.

    Example: synthgen verify baseline --label pre --out baselines/pre.json
    """


@verify.command("baseline", cls=DomainCommand)
@click.option("--label", required=True, help="pre or post (any short name).")
@click.option(
    "--runs",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Runs of each query x parameter class, per measurement.",
)
@click.option(
    "--out", type=click.Path(path_type=Path), help="Baseline JSON (default baseline-LABEL.json)."
)
@click.option(
    "--params-from",
    type=click.Path(path_type=Path),
    help="Reuse the parameter ids of an earlier baseline "
    "(default for post: baseline-pre.json beside --out).",
)
@click.option(
    "--queries",
    "queries_dir",
    type=click.Path(path_type=Path),
    help="Query directory (default specs/queries).",
)
@click.option("--dsn", help="libpq URI (default $SYNTHGEN_DSN, else the local cluster).")
@click.option("--schema", default=DEFAULT_SCHEMA, show_default=True, help="Target schema.")
@guard_options
@click.option("--quiet", is_flag=True, help="No progress lines.")
def baseline(
    label: str,
    runs: int,
    out: Path | None,
    params_from: Path | None,
    queries_dir: Path | None,
    dsn: str | None,
    schema: str,
    guard: GuardSettings,
    quiet: bool,
) -> None:
    """Record EXPLAIN (ANALYZE, BUFFERS) and client timings of every hot-path query.

    Example: synthgen verify baseline --label post --runs 20 --out baselines/post.json
    """
    validate_schema_name(schema, allow_public=True)
    out = out or Path(f"baseline-{label}.json")
    queries = load_queries(queries_dir)
    if params_from is None and label == "post" and (out.parent / "baseline-pre.json").exists():
        params_from = out.parent / "baseline-pre.json"
    parameters = read_json(params_from, "--params-from")["parameters"] if params_from else None
    target = guarded_dsn(dsn, schema, guard)  # it runs ANALYZE and pg_prewarm
    conn = connect(target, autocommit=True)
    try:
        doc = run_baseline(
            conn, schema, label, queries, runs, parameters, progress=None if quiet else _stderr
        )
    finally:
        conn.close()
    write_json(out, doc)
    click.echo(
        f"baseline {label!r} written to {out} ({len(doc['results'])} query x class results, "
        f"{doc['seconds']:.1f} s)"
    )
    for r in doc["results"]:
        click.echo(
            f"  {r['name']:<26} {r['class']:<7} client p50 {r['client_ms']['p50']:8.3f} ms  "
            f"explain p50 {r['explain_ms']['p50']:8.3f} ms  sorts {r['plan']['sort_count']}"
        )


def print_comparison(result: Comparison) -> None:
    click.echo(
        f"{'query':<26} {'class':<7} {'pre p50':>9} {'post p50':>9} {'speedup':>8}  plan change"
    )
    for c in result.changes:
        flag = "  DEGRADED" if c.degraded else ""
        click.echo(
            f"{c.name:<26} {c.param_class:<7} {c.pre_p50_ms:9.3f} {c.post_p50_ms:9.3f} "
            f"{c.speedup:7.1f}x  {c.plan_change}{flag}"
        )
    click.echo(
        f"average improvement {result.average_improvement:.0%} ({result.metric} p50); sorts "
        f"{result.sorts_before} -> {result.sorts_after} "
        f"({result.sorts_eliminated_share:.0%} eliminated); degraded: "
        f"{', '.join(result.degraded_queries) or 'none'}"
    )
    click.echo(f"decision: {result.decision} — {'; '.join(result.reasons)}")
    for m in result.mitigations:
        click.echo(f"  mitigation: {m}")


@verify.command("compare", cls=DomainCommand)
@click.argument("pre", type=click.Path(path_type=Path))
@click.argument("post", type=click.Path(path_type=Path))
@click.option(
    "--json", "json_path", type=click.Path(path_type=Path), help="Write the comparison as JSON."
)
@click.option(
    "--metric",
    type=click.Choice(["explain", "client"]),
    default="explain",
    show_default=True,
    help="Latency the decision uses: client-timed or EXPLAIN ANALYZE execution time.",
)
@click.option("--force", is_flag=True, help="Compare baselines from different datasets or servers.")
def compare(pre: Path, post: Path, json_path: Path | None, metric: str, force: bool) -> None:
    """Compare two baselines: GO (exit 0) or NO-GO (exit 3) with mitigations.

    Example: synthgen verify compare baselines/pre.json baselines/post.json --json compare.json
    """
    result = compare_baselines(read_json(pre, "PRE"), read_json(post, "POST"), metric, force)
    print_comparison(result)
    if json_path:
        write_json(json_path, result.to_dict())
    if not result.go:
        raise click.exceptions.Exit(NO_GO_EXIT)


@click.group()
def indexes() -> None:
    """Apply or roll back the phase-2 index script.

    Example: synthgen indexes apply --schema perf_synthetic
    """


def _progress_printer(quiet: bool) -> Any:
    last: dict[str, str] = {}

    def show(index: str, phase: str, fraction: float | None) -> None:
        text = f"{index}: {phase}" + (f" {fraction:.0%}" if fraction is not None else "")
        if last.get(index) != text:
            last[index] = text
            _stderr(f"  {text}")

    return None if quiet else show


def _report(steps: list[IndexStep], as_json: bool) -> None:
    if as_json:
        emit_json(
            [
                {
                    "index": s.index,
                    "seconds": round(s.seconds, 3),
                    "size_bytes": s.size_bytes,
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
    steps = run_script(guarded_dsn(dsn, schema, guard), schema, path, _progress_printer(quiet))
    _report(steps, as_json)


_options: list[Callable[[Any], Any]] = [
    click.option(
        "--file",
        type=click.Path(path_type=Path),
        help="Index script (default specs/indexes/phase-2*.sql).",
    ),
    click.option("--dsn", help="libpq URI (default $SYNTHGEN_DSN, else the local cluster)."),
    click.option("--schema", default=DEFAULT_SCHEMA, show_default=True, help="Target schema."),
    guard_options,
    click.option("--quiet", is_flag=True, help="No progress lines."),
    click.option("--json", "as_json", is_flag=True, help="Machine-readable result on stdout."),
]


def _with_options(fn: Any) -> Any:
    for option in reversed(_options):
        fn = option(fn)
    return fn


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
