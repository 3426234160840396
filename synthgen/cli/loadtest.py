"""``synthgen workload`` and ``synthgen loadtest [compare]``: skewed pgbench load tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from synthgen.cli.ci import ci_options, loadtest_ci, write_ci
from synthgen.cli.common import (
    DomainCommand,
    emit_json,
    exit_for_verdict,
    json_option,
    quiet_option,
)
from synthgen.cli.dboptions import dsn_option, mapped_schema_option, pool_options, public_option
from synthgen.cli.guarding import guard_options, guarded_dsn
from synthgen.cli.progress import StepBar
from synthgen.postgres.connect import DEFAULT_SCHEMA
from synthgen.postgres.guard import GuardSettings

_DEFAULT_MIX = "Q1=40,Q2=10,Q3=20,Q4=15,Q5=10,W1=5"
_MIX_HELP = (
    f"Script weights, e.g. {_DEFAULT_MIX} (W2 marks read), or `production`: the captured calls "
    "of `synthgen sample statements` files [default: production's calls when every query file "
    f"carries them, else {_DEFAULT_MIX}]."
)


def _clients(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"{text!r}: a comma-separated list of whole numbers") from None
    if not values or min(values) < 1:
        raise click.BadParameter(f"{text!r}: client counts must be >= 1")
    return sorted(set(values))


@click.command(cls=DomainCommand)
@dsn_option
@mapped_schema_option
@click.option(
    "--mapping",
    "mapping_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="An application's own schema (loaded with `synthgen load --mapping`): its tables, its "
    "queries (--queries), ids in its formats.",
)
@click.option("--queries", "queries_dir", type=click.Path(path_type=Path), help="Query files.")
@click.option("--mix", default=None, help=_MIX_HELP)
@click.option(
    "--record-draws",
    is_flag=True,
    help="Also log each drawn room/user into synthgen_lt_draws (to check the skew).",
)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Workload directory.")
@public_option
@guard_options
@json_option("Print workload.json.")
def workload(
    dsn: str | None,
    schema: str | None,
    mapping_path: Path | None,
    queries_dir: Path | None,
    mix: str | None,
    record_draws: bool,
    out: Path,
    allow_public: bool,
    guard: GuardSettings,
    as_json: bool,
) -> None:
    """Write pgbench scripts and draw tables that replay the data's own skew.

    Rooms are drawn by message volume, users by messages sent (running-sum tables in the
    schema); W1 sends a message, W2 marks a room read, with ids that cannot collide.

    Example: synthgen workload --schema perf_dev --out out/workload

    Example: synthgen workload --mapping app.json --queries app/queries --out out/workload-app
    """
    from synthgen.loadtest.workload import WorkloadOptions, build_workload, parse_mix
    from synthgen.mapping import load_mapping
    from synthgen.postgres.connect import connect, validate_schema_name

    mapping = None
    if mapping_path is not None:
        if queries_dir is None:
            raise click.UsageError("--mapping needs --queries (the application's own queries)")
        mapping = load_mapping(mapping_path, schema)
        schema = mapping.schema
    schema = schema or DEFAULT_SCHEMA
    validate_schema_name(schema, allow_public)
    from synthgen.loadtest.captured import required_production_mix, wants_production

    captured = required_production_mix(mix, queries_dir) if wants_production(mix) else None
    weights = captured or parse_mix(mix if mix and not wants_production(mix) else _DEFAULT_MIX)
    target = guarded_dsn(dsn, schema, guard)
    with connect(target, autocommit=True) as conn:
        doc = build_workload(conn, WorkloadOptions(target, schema, out, weights, queries_dir,
                                                   record_draws, mapping))  # fmt: skip
    from synthgen.verify.queries import skipped_queries

    for folder in (queries_dir, queries_dir / "writes") if queries_dir is not None else ():
        for path, todo in skipped_queries(folder):
            click.echo(f"skipped {path}: -- todo: {todo}", err=True)
    if as_json:
        emit_json(doc)
        return
    click.echo(
        f"workload in {out}: {len(doc['scripts'])} scripts, mix "
        + ", ".join(f"{k}={v}" for k, v in doc["mix"].items())
        + f"; {doc['rooms']:,} rooms weighted by {doc['totals']['room_weight']:,} messages"
    )


@click.group(cls=click.Group, invoke_without_command=True)
@click.option("--workload", "workload_dir", type=click.Path(path_type=Path),
              help="Directory written by `synthgen workload`.")  # fmt: skip
@dsn_option
@click.option("--clients", default="1,4,16,64", show_default=True, help="Client counts to sweep.")
@click.option("--duration", type=click.IntRange(min=1, max=3600), default=30, show_default=True,
              help="Seconds per client count; every step stops by itself.")  # fmt: skip
@pool_options(None, "Server connections of the PgBouncer pool.")
@click.option("--label", default="pre", show_default=True, help="pre, post or any name.")
@click.option("--mix", default=None, help="Override the workload's weights, e.g. W1=1.")
@click.option("--closed-loop", is_flag=True,
              help="Only the client sweep (each client sends when the last returns): no "
              "capacity, no offered rates; compared by the closed-loop rule, labelled.",
              )  # fmt: skip
@click.option("--baseline", "baseline_path", type=click.Path(path_type=Path),
              help="An earlier result (the pre run): offer its rates and judge by its SLOs, "
              "so both runs are measured at equal offered load.")  # fmt: skip
@click.option("--slo", default=None,
              help="p95 targets in ms, e.g. Q4=400,W1=50 [default: 5 x each query's p95 at "
              "the lightest step, at least 50 ms].")  # fmt: skip
@click.option("--fractions", default="0.25,0.5,0.8", show_default=True,
              help="Offered rates as fractions of the capacity.")  # fmt: skip
@click.option("--rate", default=None,
              help="Offered rates in tx/s instead of --fractions, e.g. 20,40 (pgbench -R: "
              "N users x 1/think time).")  # fmt: skip
@click.option("--out", type=click.Path(path_type=Path), help="Result JSON (HTML beside it).")
@guard_options
@json_option("Print the result JSON.")
@quiet_option("No progress bar (each step's seconds, on stderr).")
@click.pass_context
def loadtest(ctx: click.Context, workload_dir: Path | None, out: Path | None, **kw: Any) -> None:
    """Run a workload with pgbench once per client count; TPS, p50/p95/p99/max, the knee.

    Example: synthgen loadtest --workload out/w --clients 1,4,16 --duration 10 --out lt.json

    Then: synthgen loadtest compare lt-pre.json lt-post.json --html loadtest.html
    """
    if ctx.invoked_subcommand is not None:
        return
    from synthgen.cli.common import DomainFailure
    from synthgen.errors import SynthgenError

    if workload_dir is None or out is None:
        raise click.UsageError(
            "loadtest needs --workload and --out (or: loadtest compare PRE POST)"
        )
    try:
        _sweep(workload_dir, out, **kw)
    except SynthgenError as exc:
        if (ctx.find_root().obj or {}).get("debug"):
            raise
        raise DomainFailure(str(exc), exc.exit_code) from exc


def _sweep(workload_dir: Path, out: Path, **kw: Any) -> None:
    from synthgen.loadtest.html import write_loadtest_html
    from synthgen.loadtest.sweep import LoadTestOptions, run_loadtest
    from synthgen.loadtest.workload import parse_mix, read_workload

    schema = str(read_workload(workload_dir)["schema"])
    target = guarded_dsn(kw["dsn"], schema, kw["guard"])
    bar = StepBar(kw["quiet"])
    opts = LoadTestOptions(
        workload_dir, target, _clients(kw["clients"]), kw["duration"], out, kw["pool"],
        kw["pool_size"], kw["label"], parse_mix(kw["mix"]) if kw["mix"] else None,
        **_offered_options(kw), tick=bar,
    )  # fmt: skip
    with bar:
        result = run_loadtest(opts)
    html = write_loadtest_html(out.with_suffix(".html"), [result])
    if kw["as_json"]:
        emit_json(result)
        return
    for step in result["steps"]:
        click.echo(
            f"{step['clients']:>5} clients: {step['tps']:>9.1f} tx/s  p95 {step['p95_ms']:.2f} ms"
            f"  p99 {step['p99_ms']:.2f} ms  errors {step['errors']}"
        )
    click.echo(f"knee: {result['knee']['reason']}")
    if result["mode"] == "offered":
        click.echo(f"capacity: {result['capacity']['reason']}")
        for step in result["rates"]:
            click.echo(
                f"{step['offered_tps']:>7g} tx/s offered: pgbench ran {step['achieved_tps']:.1f} "
                f"tx/s in {step['duration_s']} s  p95 {step['p95_ms']:.2f} ms (schedule lag "
                f"included)  errors {step['errors']}"
            )
        for step in result["write_steps"]:
            click.echo(
                f"{step['offered_tps']:>7g} tx/s of {step['script']} alone: p95 "
                f"{step['p95_ms']:.2f} ms  errors {step['errors']}"
            )
    else:
        click.echo("closed loop: no capacity or offered rates measured")
    click.echo(f"wrote {out}, {html} and {result['logs']}/ (pgbench logs)")


def _offered_options(kw: dict[str, Any]) -> dict[str, Any]:
    """--closed-loop, --baseline, --slo, --fractions and --rate as LoadTestOptions fields."""
    from synthgen.loadtest.capacity import parse_numbers, parse_slo
    from synthgen.loadtest.sweep import read_result

    if kw["closed_loop"]:
        given = [f for f in ("baseline_path", "slo", "rate") if kw[f] is not None]
        if given:
            flag = "--" + given[0].replace("_path", "").replace("_", "-")
            raise click.UsageError(f"{flag} does not apply with --closed-loop")
        return {"closed_loop": True}
    baseline = None
    if kw["baseline_path"] is not None:
        if kw["slo"] is not None or kw["rate"] is not None:
            raise click.UsageError("--baseline brings its own SLOs and rates: drop --slo/--rate")
        baseline = read_result(kw["baseline_path"])
        if baseline.get("mode") != "offered":
            raise click.UsageError(f"--baseline {kw['baseline_path']}: a closed-loop result")
    return {
        "slo": parse_slo(kw["slo"]) if kw["slo"] else None,
        "rates": parse_numbers(kw["rate"], "--rate") if kw["rate"] else None,
        "fractions": tuple(parse_numbers(kw["fractions"], "--fractions", upper=1.0)),
        "baseline": baseline,
    }


@loadtest.command(cls=DomainCommand)
@click.argument("pre", type=click.Path(path_type=Path))
@click.argument("post", type=click.Path(path_type=Path))
@click.option("--write-budget", type=click.FloatRange(min=0), default=0.20, show_default=True,
              help="Largest accepted p95 growth of a write (0.20 = 20 %).")  # fmt: skip
@click.option("--html", "html_path", type=click.Path(path_type=Path), help="Write loadtest.html.")
@click.option("--out", type=click.Path(path_type=Path), help="Write the comparison JSON.")
@json_option("Print the comparison JSON.")
@ci_options
def compare(
    pre: Path, post: Path, write_budget: float, html_path: Path | None, out: Path | None,
    as_json: bool, ci: tuple[Path | None, Path | None] = (None, None),
) -> None:  # fmt: skip
    """Compare two load tests per query and client count, and the write overhead; exit 0/3.

    Example: synthgen loadtest compare out/lt-pre.json out/lt-post.json --html out/loadtest.html
    """
    from synthgen.loadtest.compare import compare_results
    from synthgen.loadtest.html import write_loadtest_html
    from synthgen.loadtest.sweep import read_result, write_json

    before, after = read_result(pre), read_result(post)
    result = compare_results(before, after, write_budget)
    if out is not None:
        write_json(out, result)
    if html_path is not None:
        write_loadtest_html(html_path, [before, after], result)
    if as_json:
        emit_json(result)
    else:
        _echo_comparison(result)
        written = [str(p) for p in (out, html_path) if p is not None]
        if written:
            click.echo(f"wrote {' and '.join(written)}")
    if any(ci):
        write_ci(loadtest_ci(result, [("load test", html_path)] if html_path else []), *ci)
    exit_for_verdict(result["decision"])


def _echo_comparison(result: dict[str, Any]) -> None:
    """The comparison as text: what was held equal, the rows, capacity, the decision."""
    offered = result.get("mode") == "offered"
    if offered:
        held = result["held_equal"]
        click.echo(
            f"held equal: offered {', '.join(f'{r:g}' for r in held['offered_tps'])} tx/s "
            f"(open loop, {held['clients']} clients), the mix and the SLOs of before"
        )
    else:
        click.echo(f"closed loop: {result['rule'].split(':')[0]}")
    for row in result["rows"] + result.get("pooled_rows", []) + result.get("write_rows", []):
        if row.get("pooled"):
            where = "all rates"
        elif row.get("alone"):
            where = f"{row['offered_tps']:g} tx/s alone"
        else:
            where = f"{row['offered_tps']:>7g} tx/s" if offered else f"{row['clients']:>5} clients"
        judged = "" if row.get("judged", True) else " (too few to judge)"
        click.echo(
            f"{row['query']:<3} {where}: p95 {row['pre_p95_ms']:.2f} → {row['post_p95_ms']:.2f} "
            f"ms ({row['change_p95_ms']:+.0%}), TPS {row['change_tps']:+.0%}{judged}"
        )
    for key, over in result["write_overhead"].items():
        change = over["p95_change"]
        click.echo(f"write overhead {key}: p95 " + (f"{change:+.1%}" if change is not None
                                                    else "not judged"))  # fmt: skip
    if offered:
        cap = result["capacity"]
        click.echo(
            f"capacity: {cap['pre']['tps']:.1f} → {cap['post']['tps']:.1f} tx/s "
            f"({cap['change']:+.0%})"
        )
    click.echo(f"decision: {result['decision']} ({'; '.join(result['reasons'])})")
