"""The work of each stage of `synthgen run`, one function per stage over the run's context
(`RunContext`); `synthgen.workflow` lists them in order and walks the list."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthgen.appschema.migrate import run_migrations
from synthgen.errors import SynthgenError
from synthgen.fidelity import validate_dataset
from synthgen.fidelity.html import write_html
from synthgen.fidelity.report import REPORT_NAME, write_json
from synthgen.files import write_json_atomic
from synthgen.generate.build import BuildOptions, build_dataset
from synthgen.load.contract import LoadOptions, load_dataset
from synthgen.load.keys import VACUUM_STEP
from synthgen.load.mapped.loader import MappedLoadOptions, load_mapped
from synthgen.load.mapped.params import mapped_parameters
from synthgen.loadtest.stage import LoadTestStage, build_stage_workload, judge_stage, sweep_stage
from synthgen.loadtest.stage import read_stage as read_loadtest
from synthgen.loadtest.suggest_stage import suggest_and_prove
from synthgen.mapping import Mapping
from synthgen.postgres.connect import connect, execute
from synthgen.postgres.mapped import audit_schema_for
from synthgen.progress import Ticker, index_ticks
from synthgen.rehearse.stage import read_stage as read_rehearsal
from synthgen.rehearse.stage import run_rehearsal_stage
from synthgen.report.gate_text import plan_change_lines
from synthgen.report.run_html import write_run_report
from synthgen.resultfiles import read_baseline_parameters, read_result
from synthgen.schema import quote_ident
from synthgen.shipped import DEFAULT_SPEC_PATH
from synthgen.soak.run import SoakOptions, run_soak, soak_doc
from synthgen.spec import Spec
from synthgen.verify.baseline import DEFAULT_EXPLAIN_RUNS, run_baseline
from synthgen.verify.compare import compare_baselines
from synthgen.verify.indexes import DEFAULT_APPLY, run_script
from synthgen.verify.plan_shapes import compare_plan_docs
from synthgen.verify.queries import Query
from synthgen.verify.targets import script_targets
from synthgen.workflow.options import GateFailed, RunOptions, Say
from synthgen.workflow.state import RunState

Info = dict[str, Any]
Work = Callable[["RunContext"], Info]

# the run directory's files, by the name the stages and the summary use
FILES = {
    "fidelity_json": f"dataset/{REPORT_NAME}",
    "fidelity_html": "fidelity.html",
    "pre": "baseline-pre.json",
    "post": "baseline-post.json",
    "compare": "compare.json",
    "report": "report.html",
}


@dataclass
class RunContext:
    """What every stage may read: the spec, the options, the state and the run's files."""

    spec: Spec
    opts: RunOptions
    say: Say
    tick: Ticker | None
    state: RunState
    queries: list[Query]
    names: Mapping | None

    @property
    def dataset(self) -> Path:
        return self.opts.out / "dataset"

    @property
    def files(self) -> dict[str, Path]:
        return {key: self.opts.out / name for key, name in FILES.items()}


def generate(ctx: RunContext) -> Info:
    opts = ctx.opts
    report = build_dataset(
        ctx.spec,
        BuildOptions(
            opts.band,
            opts.scale,
            opts.seed,
            ctx.dataset,
            workers=opts.workers,
            overwrite=opts.overwrite,
            spec_path=opts.spec_path,
        ),
    )
    counts = report.manifest["counts"]
    return {"summary": f"{counts['messages']:,} messages in {report.manifest['shards']} shards"}


def validate(ctx: RunContext) -> Info:
    opts, files = ctx.opts, ctx.files
    report = validate_dataset(
        ctx.dataset, ctx.spec, opts.tolerance, spec_path=opts.spec_path or str(DEFAULT_SPEC_PATH)
    )
    write_json(report, files["fidelity_json"])
    write_html(report, files["fidelity_html"])
    verdict = report.decision.verdict
    if not report.decision.go and not opts.force:
        raise GateFailed(
            f"fidelity gate: NO-GO ({'; '.join(report.decision.reasons)}); "
            f"see {files['fidelity_html']} (or pass --force)"
        )
    return {"summary": f"fidelity {verdict}", "verdict": verdict}


def migrate(ctx: RunContext) -> Info:
    opts = ctx.opts
    assert opts.migrations is not None
    conn = connect(opts.dsn, autocommit=True)
    try:  # a scratch schema: made afresh by the application's own migrations
        for name in (opts.schema, audit_schema_for(opts.schema)):
            execute(conn, f"DROP SCHEMA IF EXISTS {quote_ident(name)} CASCADE")
    finally:
        conn.close()
    last = run_migrations(opts.dsn, opts.schema, opts.migrations)
    return {"summary": f"schema {opts.schema} migrated ({last or 'ok'})"}


def load(ctx: RunContext) -> Info:
    opts = ctx.opts
    resume = ctx.state.begin_once("load")  # an earlier attempt began it: this one resumes
    if opts.mapping_path is not None:
        mapped = load_mapped(
            MappedLoadOptions(
                ctx.dataset, opts.dsn, opts.mapping_path, opts.schema, opts.workers, resume,
                replace=not resume, guard=opts.guard,
            )
        )  # fmt: skip
        rows = sum(mapped.counts.values())
        return {"summary": f"{rows:,} rows into {opts.schema}'s own tables", "steps": mapped.steps}
    report = load_dataset(
        LoadOptions(
            ctx.dataset, opts.dsn, schema=opts.schema, jobs=opts.workers, resume=resume,
            replace=not resume, guard=opts.guard,
        )
    )  # fmt: skip
    vacuum = report.steps.get(VACUUM_STEP)
    settled = f", {VACUUM_STEP} {vacuum:.1f} s" if vacuum is not None else ""
    return {
        "summary": f"{report.rows_loaded:,} rows into {opts.schema}{settled}",
        "steps": report.steps,
    }


def workload(ctx: RunContext) -> Info:
    """The pgbench scripts, for the load test, the rehearsal, or both; before the pre baseline,
    so both baselines see its few writes."""
    opts = ctx.opts
    settings = opts.loadtest or LoadTestStage()
    doc = build_stage_workload(
        opts.dsn, opts.schema, opts.out, settings, opts.queries_dir, ctx.names
    )
    mix = ", ".join(f"{k}={v}" for k, v in doc["mix"].items())
    return {"summary": f"{len(doc['scripts'])} pgbench scripts, mix {mix}"}


def loadtest_sweep(label: str) -> Work:
    def sweep(ctx: RunContext) -> Info:
        assert ctx.opts.loadtest is not None
        return sweep_stage(ctx.opts.dsn, ctx.opts.out, ctx.opts.loadtest, label, ctx.tick)

    return sweep


def loadtest_compare(ctx: RunContext) -> Info:
    assert ctx.opts.loadtest is not None
    return judge_stage(ctx.opts.out, ctx.opts.loadtest)


def suggest(ctx: RunContext) -> Info:
    """Its baselines are prove's, without and with the kept indexes."""
    opts = ctx.opts
    return suggest_and_prove(
        opts.dsn, opts.schema, opts.out, ctx.queries, opts.queries_dir, ctx.names, ctx.dataset,
        opts.runs, ctx.say,
    )  # fmt: skip


def baseline(label: str) -> Work:
    def measure(ctx: RunContext) -> Info:
        opts, files = ctx.opts, ctx.files
        # the post baseline binds the pre baseline's parameters
        params = read_baseline_parameters(files["pre"], "baseline") if label == "post" else None
        conn = connect(opts.dsn, autocommit=True)
        try:
            if ctx.names is not None and params is None:
                params = mapped_parameters(conn, ctx.names, ctx.dataset)
            doc = run_baseline(
                conn,
                opts.schema,
                label,
                ctx.queries,
                opts.runs,
                params,
                plan_modes=("custom", "generic") if opts.plan_mode == "both" else (opts.plan_mode,),
                wait=True,  # a pipeline waits for autovacuum rather than failing
                explain_runs=DEFAULT_EXPLAIN_RUNS,
                names=ctx.names,
            )
        finally:
            conn.close()
        write_json_atomic(files[label], doc, default=str)
        return {"summary": f"{len(doc['results'])} query x class x plan mode results"}

    return measure


def indexes(ctx: RunContext) -> Info:
    opts, say = ctx.opts, ctx.say
    if opts.rehearse is not None:
        script = opts.indexes_file or DEFAULT_APPLY
        return run_rehearsal_stage(opts.dsn, opts.schema, opts.out, script, opts.rehearse, say)
    found: list[str] = []

    def finding(line: str) -> None:
        found.append(line)
        say(f"  finding: {line}")

    building = index_ticks(ctx.tick) if ctx.tick is not None else None
    steps = run_script(opts.dsn, opts.schema, opts.indexes_file or DEFAULT_APPLY, building, finding)
    built = [
        {"index": s.index, "seconds": round(s.seconds, 2), "size_bytes": s.size_bytes}
        for s in steps
        if s.index
    ]
    return {"summary": f"{len(built)} indexes built", "indexes": built, "findings": found}


def soak(ctx: RunContext) -> Info:
    """`--extend-days`: the soak after the phase-2 indexes (synthgen.soak.run)."""
    opts, files = ctx.opts, ctx.files
    doc = run_soak(
        SoakOptions(
            opts.dsn, opts.schema, ctx.dataset, opts.out, opts.extend_days, files["pre"],
            files["post"], opts.runs, "custom" if opts.plan_mode == "both" else opts.plan_mode,
            opts.queries_dir, guard=opts.guard, fresh=opts.overwrite,
        ),
        ctx.say,
        ctx.tick,
    )  # fmt: skip
    verdict = doc["verdict"]["decision"]
    return {"summary": f"soak {verdict}: {doc['verdict']['reasons'][0]}", "verdict": verdict}


def compare(ctx: RunContext) -> Info:
    opts, files = ctx.opts, ctx.files
    pre = read_result(files["pre"], "baseline")
    post = read_result(files["post"], "baseline")
    built = ctx.state.done.get("indexes", {}).get("indexes", [])
    script = opts.indexes_file or DEFAULT_APPLY
    result = compare_baselines(
        pre,
        post,
        plan_mode="custom" if opts.suggest else opts.plan_mode,  # prove measures custom plans
        builds={b["index"]: b["seconds"] for b in built},
        # a `-- targets: Q1, Q4` line in the index script: the targeted decision
        targets=[] if opts.suggest else script_targets(Path(script)),
    )
    write_json_atomic(files["compare"], result.to_dict(), default=str)
    info: Info = {"summary": f"index gate {result.decision}", "verdict": result.decision}
    if opts.compare_plans_with is not None:
        other = opts.compare_plans_with / "baseline-post.json"
        if not other.exists():
            raise SynthgenError(f"--compare-plans-with {opts.compare_plans_with}: no {other.name}")
        changes, compared = compare_plan_docs(read_result(other, "baseline (plans)"), post)
        info["plan_changes"] = plan_change_lines(changes, compared, str(other), "this run")
        info["summary"] += f"; {len(changes)} of {compared} plans differ from {other}"
    return info


def report(ctx: RunContext) -> Info:
    opts, files = ctx.opts, ctx.files
    write_run_report(
        files["report"],
        files["fidelity_json"],
        files["pre"],
        files["post"],
        files["compare"],
        ctx.state.doc,
        read_loadtest(opts.out) if opts.loadtest is not None else None,
        read_rehearsal(opts.out) if opts.rehearse is not None else None,
        json.loads((opts.out / "phase-2.json").read_text()) if opts.suggest else None,
        soak_doc(opts.out) if opts.extend_days else None,
    )
    return {"summary": f"report at {files['report']}"}
