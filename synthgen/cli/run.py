"""`synthgen run`: the whole workflow in one command, resumable stage by stage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from synthgen.cli.ci import ci_options
from synthgen.cli.common import (
    DomainCommand,
    DomainFailure,
    band_option,
    emit_json,
    exit_for_verdict,
    json_option,
    scale_option,
    spec_option,
    workers_option,
)
from synthgen.cli.dboptions import dsn_option, plan_mode_option, pool_options
from synthgen.cli.guarding import guard_options
from synthgen.cli.plan import disk_shortfall, min_free_option
from synthgen.cli.validate import tolerance_option
from synthgen.errors import SynthgenError
from synthgen.machine import default_workers
from synthgen.postgres.connect import DEFAULT_SCHEMA, resolve_dsn
from synthgen.postgres.guard import GuardSettings, check_dsn, check_environment
from synthgen.preview import make_preview
from synthgen.preview.disk import bytes_under
from synthgen.spec import load_spec
from synthgen.verdict import NO_GO
from synthgen.verify.baseline import DEFAULT_RUNS
from synthgen.verify.queries import load_queries
from synthgen.workflow import RunOptions, finished_stages, run_workflow

if TYPE_CHECKING:
    from synthgen.rehearse.stage import RehearseStage
    from synthgen.spec import Spec


def _rehearse_stage(on: bool, rate: float, seconds: int) -> RehearseStage | None:
    if not on:
        return None
    from synthgen.rehearse.stage import RehearseStage

    return RehearseStage(rate=rate, load_seconds=seconds)


def _run_with_ci(
    spec: Spec, opts: RunOptions, ci: tuple[Path | None, Path | None]
) -> dict[str, Any]:
    """Run the workflow; write the CI summary of every gate it ran (or, when a statement failed
    under the rehearsal and stopped the run, of the rehearsal)."""
    from synthgen.cli.ci import rehearsal_ci, run_ci, write_ci
    from synthgen.cli.progress import StepBar

    try:
        with StepBar() as bar:
            summary = run_workflow(spec, opts, lambda line: click.echo(line, err=True), bar)
    except SynthgenError:
        rehearsal = opts.out / "rehearse.json"
        if any(ci) and opts.rehearse is not None and rehearsal.is_file():
            doc = json.loads(rehearsal.read_text())
            write_ci(rehearsal_ci(doc, [("rehearsal", opts.out / "rehearse.html")]), *ci)
        raise
    if any(ci):
        write_ci(run_ci(summary), *ci)
    return summary


@click.command(cls=DomainCommand)
@band_option()
@scale_option()
@click.option("--seed", default="0", show_default=True, help="Seed text.")
@spec_option()
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("out/run"),
    show_default=True,
    help="Run directory: dataset, reports, baselines; a rerun resumes here.",
)
@dsn_option
@click.option(
    "--schema", default=DEFAULT_SCHEMA, show_default=True, help="Target schema (replaced)."
)
@click.option(
    "--runs",
    type=click.IntRange(min=1),
    default=DEFAULT_RUNS,
    show_default=True,
    help="Timed runs per query x class x plan mode.",
)
@plan_mode_option("plan_cache_mode(s) the index gate measures and decides on.")
@click.option(
    "--compare-plans-with",
    type=click.Path(path_type=Path, file_okay=False),
    help="An earlier run's --out (e.g. the dev band's): report which plan shapes changed.",
)
@workers_option("Processes / connections (default: cores).")
@tolerance_option("The fidelity gate's relative tolerance, as for `synthgen validate`.")
@guard_options
@click.option(
    "--force",
    is_flag=True,
    help="Go on after a fidelity NO-GO (the run still exits 3), and when the plan says a disk "
    "will not hold the run.",
)
@min_free_option()
@click.option(
    "--mapping",
    "mapping_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Run on an application's own schema through this mapping (needs --queries and "
    "--indexes; the schema is the mapping's unless --schema).",
)
@click.option(
    "--migrations",
    help="With --mapping: an SQL file or a command that creates the application's tables in the "
    "(dropped and recreated) scratch schema before the load.",
)
@click.option("--queries", "queries_dir", type=click.Path(path_type=Path), help="Query directory.")
@click.option(
    "--indexes",
    "indexes_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The index script to prove (default specs/indexes/phase-2.sql).",
)
@click.option(
    "--loadtest",
    is_flag=True,
    help="Add load tests: pgbench sweeps with the data's skew before and after the indexes, "
    "judged by `loadtest compare`'s rule (a NO-GO exits 3 like the gates).",
)
@click.option(
    "--loadtest-clients",
    default="1,4,16",
    show_default=True,
    help="With --loadtest: client counts to sweep.",
)
@click.option(
    "--loadtest-duration",
    type=click.IntRange(min=1, max=3600),
    default=10,
    show_default=True,
    help="With --loadtest: seconds per client count.",
)
@click.option(
    "--loadtest-mix",
    default=None,
    help="With --loadtest: script weights [default: the brief's mix, Q1=40,...,W1=5].",
)
@click.option(
    "--loadtest-write-budget",
    type=click.FloatRange(min=0),
    default=0.20,
    show_default=True,
    help="With --loadtest: largest accepted p95 growth of a write.",
)
@click.option(
    "--loadtest-closed-loop",
    is_flag=True,
    help="With --loadtest: a closed-loop client sweep only (labelled; its verdict compares "
    "runs that were offered different loads). Default: capacity, then equal offered rates.",
)
@pool_options(
    "With --loadtest: direct, through a PgBouncer, or both.",
    "With --loadtest: server connections of the PgBouncer pool.",
    both=True,
)
@click.option(
    "--rehearse",
    is_flag=True,
    help="Build the index script under the load-test workload (as `synthgen indexes rehearse`): "
    "locks, waits, WAL and latency per statement; a NO-GO exits 3 like the gates.",
)
@click.option(
    "--rehearse-rate",
    type=click.FloatRange(min=0, min_open=True),
    default=20.0,
    show_default=True,
    help="With --rehearse: transactions per second the workload offers.",
)
@click.option(
    "--rehearse-seconds",
    type=click.IntRange(1, 3600),
    default=120,
    show_default=True,
    help="With --rehearse: longest the load goes on after its 5 s settle (it stops a few "
    "seconds after the script).",
)
@ci_options
@click.option(
    "--suggest",
    is_flag=True,
    help="Instead of --indexes: suggest indexes from the queries' plans (HypoPG), prove each "
    "for real (at most 15 runs per query x class), and gate the kept set (phase-2.sql and "
    "prove.txt in --out).",
)
@click.option(
    "--extend-days",
    type=click.IntRange(0, 366),
    default=0,
    help="After the phase-2 indexes, soak N simulated days (extend, append, measure each day; "
    "then a post-soak baseline): does the phase-2 gain hold? A NO-GO exits 3 like the gates.",
)
@click.option("--overwrite", is_flag=True, help="Start over, replacing an earlier run in --out.")
@json_option("Print the final summary as JSON.")
def run(
    band: str,
    scale: float,
    seed: str,
    spec_path: Path | None,
    out: Path,
    dsn: str | None,
    schema: str,
    runs: int,
    plan_mode: str,
    compare_plans_with: Path | None,
    workers: int | None,
    tolerance: float,
    guard: GuardSettings,
    force: bool,
    min_free: int,
    mapping_path: Path | None,
    migrations: str | None,
    queries_dir: Path | None,
    indexes_file: Path | None,
    loadtest: bool,
    loadtest_clients: str,
    loadtest_duration: int,
    loadtest_mix: str | None,
    loadtest_write_budget: float,
    loadtest_closed_loop: bool,
    pool: str,
    pool_size: int,
    rehearse: bool,
    rehearse_rate: float,
    rehearse_seconds: int,
    ci: tuple[Path | None, Path | None],
    suggest: bool,
    extend_days: int,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Generate, validate, load, baseline, apply phase-2 indexes, baseline, compare, report.

    Exit 0 when both gates (and with --loadtest the load-test verdict) say GO, 3 when any says
    NO-GO (also with --force). Rerunning resumes after the last finished stage.

    Example: synthgen run --band dev --scale 0.1 --out out/run-dev

    Example: synthgen run --band dev --mapping app.json --migrations schema.sql --queries
    app/queries --indexes app/phase-2.sql --out out/run-app
    """
    if extend_days and (suggest or mapping_path is not None):
        raise click.UsageError(
            "--extend-days soaks the contract tables after --indexes: not with --suggest or "
            "--mapping"
        )
    if suggest and indexes_file is not None:
        raise click.UsageError("--suggest writes the index script: drop --indexes")
    if mapping_path is not None:
        if queries_dir is None or (indexes_file is None and not suggest):
            raise click.UsageError(
                "--mapping needs --queries and --indexes or --suggest (the app's own)"
            )
        from synthgen.mapping import load_mapping

        schema = load_mapping(mapping_path, None if schema == DEFAULT_SCHEMA else schema).schema
    elif migrations is not None:
        raise click.UsageError("--migrations applies with --mapping only")
    load_queries(queries_dir)  # a query file that cannot run is refused before anything starts
    stage = None
    lt_flags = ("loadtest_clients", "loadtest_duration", "loadtest_mix", "loadtest_write_budget",
                "loadtest_closed_loop", "pool", "pool_size")  # fmt: skip
    ctx = click.get_current_context()
    given = [f for f in lt_flags if ctx.get_parameter_source(f) != ParameterSource.DEFAULT]
    if given and not loadtest:
        raise click.UsageError(f"--{given[0].replace('_', '-')} applies with --loadtest only")
    rh_given = [
        f
        for f in ("rehearse_rate", "rehearse_seconds")
        if ctx.get_parameter_source(f) != ParameterSource.DEFAULT
    ]
    if rh_given and not rehearse:
        raise click.UsageError(f"--{rh_given[0].replace('_', '-')} applies with --rehearse only")
    if loadtest:
        from synthgen.cli.loadtest import _clients
        from synthgen.loadtest.stage import LoadTestStage, check_mix
        from synthgen.loadtest.workload import parse_mix

        try:
            clients = _clients(loadtest_clients)
        except click.BadParameter as exc:
            raise click.BadParameter(str(exc), param_hint="--loadtest-clients") from None
        try:
            mix = parse_mix(loadtest_mix) if loadtest_mix else {}
        except SynthgenError as exc:
            raise DomainFailure(str(exc).replace("--mix", "--loadtest-mix", 1)) from None
        check_mix(mix, queries_dir)
        stage = LoadTestStage(
            tuple(clients),
            loadtest_duration,
            pool,
            pool_size,
            loadtest_write_budget,
            mix,
            loadtest_closed_loop,
        )
    spec = load_spec(spec_path)
    spec.band(band)
    check_environment(guard)  # before starting a local cluster on demand
    resolved = resolve_dsn(dsn)
    # the guard first: a refused database gets its one-line refusal, not a plan to read
    check_dsn(guard, resolved, schema)
    dataset = out / "dataset"
    done = set() if overwrite else finished_stages(out)
    preview = make_preview(
        spec,
        band,
        scale,
        seed,
        dataset,
        dsn=resolved,
        loads="load" not in done,  # a resumed run whose load finished adds nothing to the server
        min_free=min_free,
        written=0 if overwrite else bytes_under(dataset),
    )
    click.echo(preview.render(), err=True)
    if preview.short:
        if not force:
            raise DomainFailure(f"{disk_shortfall(preview)}; pass --force to run anyway")
        click.echo(f"warning: {disk_shortfall(preview)}; going on (--force)", err=True)
    opts = RunOptions(
        band=band,
        scale=scale,
        seed=seed,
        out=out,
        dsn=resolved,
        schema=schema,
        runs=runs,
        plan_mode=plan_mode,
        compare_plans_with=compare_plans_with,
        workers=workers or default_workers(),
        force=force,
        tolerance=tolerance,
        spec_path=str(spec_path) if spec_path else None,
        overwrite=overwrite,
        guard=guard,
        mapping_path=mapping_path,
        migrations=migrations,
        queries_dir=queries_dir,
        indexes_file=indexes_file,
        loadtest=stage,
        rehearse=_rehearse_stage(rehearse, rehearse_rate, rehearse_seconds),
        suggest=suggest,
        extend_days=extend_days,
    )
    summary = _run_with_ci(spec, opts, ci)
    if as_json:
        emit_json(summary)
    else:
        lt = f"; load test: {summary['loadtest']}" if summary["loadtest"] else ""
        lt += f"; rehearsal: {summary['rehearsal']}" if summary["rehearsal"] else ""
        lt += f"; soak: {summary['soak']}" if summary["soak"] else ""
        click.echo(
            f"fidelity gate: {summary['fidelity']}; index gate: {summary['index_gate']}{lt} — "
            f"{'; '.join(summary['reasons'])}"
        )
        for line in summary["plan_changes"]:
            click.echo(f"  plans: {line}")
        for m in summary["mitigations"]:
            click.echo(f"  mitigation: {m}")
        click.echo(f"report: {summary['artifacts']['report']}")
    # --force only lets the run go on (past a fidelity NO-GO or a full disk); verdicts count.
    verdicts = ("index_gate", "fidelity", "loadtest", "rehearsal", "soak")
    exit_for_verdict(NO_GO not in (summary[v] for v in verdicts))
