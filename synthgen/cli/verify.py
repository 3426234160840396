"""`synthgen verify baseline|compare` and `synthgen indexes apply|rollback`."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from synthgen.cli.ci import ci_options, comparison_ci, write_ci
from synthgen.cli.common import DomainCommand, exit_for_verdict, quiet_option
from synthgen.cli.dboptions import (
    MODES,
    dsn_option,
    mapped_dataset_option,
    mapped_schema_option,
    plan_mode_option,
    queries_option,
)
from synthgen.cli.guarding import guard_options, guarded_dsn
from synthgen.errors import VerifyError
from synthgen.files import write_json_atomic
from synthgen.postgres.connect import DEFAULT_SCHEMA, connect, validate_schema_name
from synthgen.postgres.guard import GuardSettings
from synthgen.report.gate_text import baseline_lines, comparison_lines, plan_change_lines
from synthgen.report.per_query import per_query_lines
from synthgen.resultfiles import read_baseline_parameters, read_result
from synthgen.verify.baseline import (
    DEFAULT_EXPLAIN_RUNS,
    DEFAULT_RUNS,
    DEFAULT_WARMUPS,
    baseline_files,
    run_baseline,
)
from synthgen.verify.compare import FLOOR_MS, Comparison, compare_baselines
from synthgen.verify.findings import mode_findings
from synthgen.verify.gains import read_builds
from synthgen.verify.plan_shapes import compare_plan_docs
from synthgen.verify.queries import load_queries, skipped_queries
from synthgen.verify.targets import MIN_TARGET_IMPROVEMENT, parse_targets, script_targets


def _stderr(message: str) -> None:
    click.echo(message, err=True)


def read_json(path: Path, what: str, kind: str = "baseline") -> dict[str, Any]:
    """A baseline, checked against its schema (one line naming the file and the field)."""
    return read_result(path, kind, what)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write atomically: a reader never sees half a baseline."""
    write_json_atomic(path, payload, default=str, parents=True)


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
    default=DEFAULT_RUNS,
    show_default=True,
    help="Timed runs of each query x parameter class x plan mode, per measurement.",
)
@click.option(
    "--explain-runs",
    type=click.IntRange(min=1),
    default=DEFAULT_EXPLAIN_RUNS,
    show_default=True,
    help="EXPLAIN ANALYZE runs (the explanation; at most --runs).",
)
@plan_mode_option("plan_cache_mode to measure: force_custom_plan, force_generic_plan, or both.")
@click.option(
    "--cache",
    type=click.Choice(["warm", "cold"]),
    default="warm",
    show_default=True,
    help="warm: prewarm heap and indexes, then untimed executions; cold: first executions.",
)
@click.option(
    "--warmups",
    type=click.IntRange(min=0),
    default=DEFAULT_WARMUPS,
    show_default=True,
    help="Untimed executions per query x class x plan mode before the timed ones (warm).",
)
@click.option(
    "--wait",
    is_flag=True,
    help="Wait while autovacuum, an index build or a load works on the tables (else refuse).",
)
@click.option(
    "--no-create-extension",
    is_flag=True,
    help="Never CREATE EXTENSION pg_prewarm (warm with index-ordered scans when it is missing).",
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
@queries_option
@dsn_option
@mapped_schema_option
@click.option(
    "--mapping",
    "mapping_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Measure an application's own schema (loaded with `synthgen load --mapping`): its "
    "queries (--queries) run with parameter ids in its formats.",
)
@mapped_dataset_option
@guard_options
@quiet_option("No progress lines.")
def baseline(
    label: str,
    runs: int,
    explain_runs: int,
    plan_mode: str,
    cache: str,
    warmups: int,
    wait: bool,
    no_create_extension: bool,
    out: Path | None,
    params_from: Path | None,
    queries_dir: Path | None,
    dsn: str | None,
    schema: str | None,
    mapping_path: Path | None,
    dataset_dir: Path | None,
    guard: GuardSettings,
    quiet: bool,
) -> None:
    """Record client timings and EXPLAIN (ANALYZE, BUFFERS) of every hot-path query, in custom
    and generic plan modes, on settled tables with warm heap and indexes.

    Example: synthgen verify baseline --label post --out baselines/post.json

    Example: synthgen verify baseline --label pre --mapping app.json --queries app/queries
    """
    names = None
    if mapping_path is not None:
        from synthgen.mapping import load_mapping

        names = load_mapping(mapping_path, schema)
        schema = names.schema
        if queries_dir is None:
            raise click.UsageError("--mapping needs --queries (the application's own queries)")
    elif dataset_dir is not None:
        raise click.UsageError("--dataset applies with --mapping only")
    schema = schema or DEFAULT_SCHEMA
    validate_schema_name(schema, allow_public=True)
    out, params_from = baseline_files(label, out, params_from)
    queries = load_queries(queries_dir)
    _report_skipped(queries_dir)
    parameters = read_baseline_parameters(params_from, "--params-from") if params_from else None
    target = guarded_dsn(dsn, schema, guard)  # it runs ANALYZE and pg_prewarm
    conn = connect(target, autocommit=True)
    try:
        if names is not None and parameters is None:
            from synthgen.load.mapped.params import mapped_parameters

            parameters = mapped_parameters(conn, names, dataset_dir)
        doc = run_baseline(
            conn,
            schema,
            label,
            queries,
            runs,
            parameters,
            progress=None if quiet else _stderr,
            plan_modes=MODES[plan_mode],
            cache=cache,
            warmups=warmups,
            wait=wait,
            create_extension=not no_create_extension,
            explain_runs=explain_runs,
            names=names,
        )
    finally:
        conn.close()
    write_json(out, doc)
    click.echo(
        f"baseline {label!r} written to {out} ({len(doc['results'])} query x class x plan "
        f"results, {doc['seconds']:.1f} s)"
    )
    for line in baseline_lines(doc):
        click.echo(line)
    for line in mode_findings(doc, FLOOR_MS):
        click.echo(f"  finding: {line}")


@verify.command("queries", cls=DomainCommand)
@queries_option
def list_queries(queries_dir: Path | None) -> None:
    """List the hot-path queries a baseline runs: key, name, parameters and file.

    Example: synthgen verify queries --queries my-queries/
    """
    for q in load_queries(queries_dir):
        params = ", ".join(f"${p.position} {p.type} {p.kind}" for p in q.params)
        click.echo(f"{q.key:<4} {q.name:<28} {params or 'no parameters'}  {q.path}")
    _report_skipped(queries_dir)


def _report_skipped(queries_dir: Path | None) -> None:
    """Name the captured files left out of runs until their `-- todo:` line is dealt with."""
    for path, todo in skipped_queries(queries_dir):
        _stderr(f"skipped {path}: -- todo: {todo}")


def print_comparison(result: Comparison) -> None:
    for line in comparison_lines(result):
        click.echo(line)
    for line in per_query_lines(result):
        click.echo(line)


@verify.command("compare", cls=DomainCommand)
@click.argument("pre", type=click.Path(path_type=Path))
@click.argument("post", type=click.Path(path_type=Path))
@click.option(
    "--json", "json_path", type=click.Path(path_type=Path), help="Write the comparison as JSON."
)
@click.option(
    "--metric",
    type=click.Choice(["client", "explain"]),
    default="client",
    show_default=True,
    help="Latency the decision uses: client-timed (what the application sees) or EXPLAIN "
    "ANALYZE execution time.",
)
@plan_mode_option("Plan modes the decision uses.")
@click.option(
    "--floor-ms",
    type=click.FloatRange(min=0),
    default=FLOOR_MS,
    show_default=True,
    help="A slowdown smaller than this (median, ms) is never a degradation.",
)
@click.option(
    "--allow-physical-change",
    is_flag=True,
    help="Compare (with a warning) baselines measured on tables of different physical order.",
)
@click.option("--force", is_flag=True, help="Compare baselines from different datasets or servers.")
@click.option(
    "--builds",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The JSON of `indexes apply --json`: each new index's build time in the report.",
)
@click.option(
    "--targets",
    default=None,
    help="Decide for these queries, e.g. Q1,Q4: GO when each improves by --min-improvement and "
    "no query degrades [default: the --indexes script's `-- targets:` line, else the average "
    "rule].",
)
@click.option(
    "--indexes",
    "indexes_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The phase-2 script: its `-- targets: Q1, Q4` line names the targeted queries.",
)
@click.option(
    "--min-improvement",
    type=click.FloatRange(min=0, max=1, max_open=True),
    default=MIN_TARGET_IMPROVEMENT,
    show_default=True,
    help="Improvement each targeted query needs (0.30 = 30 %).",
)
@ci_options
def compare(
    pre: Path,
    post: Path,
    json_path: Path | None,
    metric: str,
    plan_mode: str,
    floor_ms: float,
    allow_physical_change: bool,
    force: bool,
    builds: Path | None,
    targets: str | None,
    indexes_file: Path | None,
    min_improvement: float,
    ci: tuple[Path | None, Path | None] = (None, None),
) -> None:
    """Compare two baselines: GO (exit 0) or NO-GO (exit 3) with mitigations.

    Example: synthgen verify compare baselines/pre.json baselines/post.json --json compare.json
    """
    result = compare_baselines(
        read_json(pre, "PRE"),
        read_json(post, "POST"),
        metric,
        force,
        plan_mode=plan_mode,
        floor_ms=floor_ms,
        allow_physical_change=allow_physical_change,
        builds=read_builds(builds) if builds else None,
        targets=parse_targets(targets) or (script_targets(indexes_file) if indexes_file else []),
        min_improvement=min_improvement,
    )
    print_comparison(result)
    if json_path:
        write_json(json_path, result.to_dict())
    if any(ci):
        write_ci(comparison_ci(result.to_dict(), []), *ci)
    exit_for_verdict(result.go)


@verify.command("plans", cls=DomainCommand)
@click.argument("a", type=click.Path(path_type=Path))
@click.argument("b", type=click.Path(path_type=Path))
@click.option(
    "--json", "json_path", type=click.Path(path_type=Path), help="Write the changes as JSON."
)
def plans(a: Path, b: Path, json_path: Path | None) -> None:
    """Compare the plan shapes of two baselines (other band, other server version): join order,
    scan types, sorts, parallelism, with row counts. Exit 0 when every shape matches, 3 when
    some changed.

    Example: synthgen verify plans out/run-dev/baseline-post.json out/run-staging/baseline-post.json
    """
    plans = "baseline (plans)"
    changes, compared = compare_plan_docs(read_json(a, "A", plans), read_json(b, "B", plans))
    if compared == 0:
        raise VerifyError(f"{a} and {b} share no query x class x plan mode to compare")
    for line in plan_change_lines(changes, compared, str(a), str(b)):
        click.echo(line)
    if json_path:
        write_json(json_path, {"compared": compared, "changes": [asdict(c) for c in changes]})
    exit_for_verdict(not changes)
