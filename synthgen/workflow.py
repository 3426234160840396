"""`synthgen run`: generate -> fidelity gate -> load -> pre baseline -> phase-2 indexes ->
post baseline -> compare -> one HTML report. Every stage's artifact stays in DIR, and a rerun
with the same parameters picks up after the last completed stage (DIR/run-state.json).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from synthgen.appschema.migrate import run_migrations
from synthgen.errors import EXIT_NO_GO, SynthgenError
from synthgen.fidelity import validate_dataset
from synthgen.fidelity.html import write_html
from synthgen.fidelity.report import REPORT_NAME, write_json
from synthgen.files import write_json_atomic
from synthgen.gate import DEFAULT_TOLERANCE
from synthgen.generate.build import BuildOptions, build_dataset
from synthgen.generate.resume import describe_differences
from synthgen.load.contract import LoadOptions, load_dataset
from synthgen.load.keys import VACUUM_STEP
from synthgen.load.mapped.loader import MappedLoadOptions, load_mapped
from synthgen.load.mapped.params import mapped_parameters
from synthgen.loadtest.stage import (
    LoadTestStage,
    build_stage_workload,
    judge_stage,
    read_stage,
    sweep_stage,
)
from synthgen.loadtest.suggest_stage import suggest_and_prove
from synthgen.mapping import load_mapping
from synthgen.postgres.connect import connect, execute, validate_schema_name
from synthgen.postgres.guard import GuardSettings, check_dsn
from synthgen.postgres.mapped import audit_schema_for
from synthgen.progress import Ticker, index_ticks
from synthgen.rehearse.stage import RehearseStage, run_rehearsal_stage
from synthgen.rehearse.stage import read_stage as read_rehearsal
from synthgen.report.gate_text import plan_change_lines
from synthgen.report.run_html import write_run_report
from synthgen.resultfiles import read_baseline_parameters, read_result
from synthgen.schema import quote_ident
from synthgen.shipped import DEFAULT_SPEC_PATH
from synthgen.soak.run import SoakOptions, run_soak, soak_doc
from synthgen.spec import Spec
from synthgen.verify.baseline import DEFAULT_EXPLAIN_RUNS, DEFAULT_RUNS, run_baseline
from synthgen.verify.compare import compare_baselines
from synthgen.verify.indexes import DEFAULT_APPLY, run_script
from synthgen.verify.plan_shapes import compare_plan_docs
from synthgen.verify.queries import load_queries
from synthgen.verify.targets import script_targets

STAGES = (
    "generate",
    "validate",
    "load",
    "baseline_pre",
    "indexes",
    "baseline_post",
    "compare",
    "report",
)
# with --loadtest (synthgen.loadtest.stage): the workload and the pre sweep after the load, the
# post sweep after the post baseline, the load-test verdict after the index gate's
LOADTEST_STAGES = (
    *STAGES[:3],
    "workload",
    "loadtest_pre",
    *STAGES[3:6],
    "loadtest_post",
    "compare",
    "loadtest_compare",
    "report",
)
STATE_NAME = "run-state.json"


class GateFailed(SynthgenError):
    """A gate said NO-GO: exit code 3, like `validate` and `verify compare`."""

    exit_code = EXIT_NO_GO


@dataclass(frozen=True)
class RunOptions:
    band: str
    scale: float
    seed: str
    out: Path
    dsn: str
    schema: str = "perf_synthetic"
    runs: int = DEFAULT_RUNS
    plan_mode: str = "both"
    compare_plans_with: Path | None = None  # an earlier run's directory (e.g. the dev band's)
    workers: int = 1
    force: bool = False
    tolerance: float = DEFAULT_TOLERANCE
    spec_path: str | None = None
    overwrite: bool = False  # start over, replacing what an earlier run left in `out`
    guard: GuardSettings = field(default_factory=GuardSettings)
    # an application's own schema: its migrations, the mapping, its queries and index script
    mapping_path: Path | None = None
    migrations: str | None = None
    queries_dir: Path | None = None
    indexes_file: Path | None = None
    # `--loadtest`: pgbench sweeps before and after the indexes (None: no load-test stages)
    loadtest: LoadTestStage | None = None
    # `--rehearse`: the indexes stage builds the script under the workload (synthgen.rehearse)
    rehearse: RehearseStage | None = None
    # `--suggest`: suggest indexes and prove them instead of applying a given script
    suggest: bool = False
    # `--extend-days N`: after the phase-2 indexes, soak N simulated days (synthgen.soak)
    extend_days: int = 0

    def identity(self, spec: Spec) -> dict[str, Any]:
        """What must match for a rerun to continue this run rather than start another."""
        return {
            "band": self.band,
            "scale": self.scale,
            "seed": self.seed,
            "spec_sha256": spec.digest,
            "schema": self.schema,
            "tolerance": self.tolerance,
            **({"mapping": str(self.mapping_path)} if self.mapping_path else {}),
            **({"loadtest": self.loadtest.identity()} if self.loadtest else {}),
            **({"rehearse": self.rehearse.identity()} if self.rehearse else {}),
            **({"suggest": True} if self.suggest else {}),
            **({"extend_days": self.extend_days} if self.extend_days else {}),
        }


Say = Callable[[str], None]


def soak_stage(
    opts: RunOptions, dataset: Path, files: dict[str, Path], say: Say, tick: Ticker | None
) -> dict[str, Any]:
    """`--extend-days`: the soak after the phase-2 indexes (synthgen.soak.run)."""
    doc = run_soak(
        SoakOptions(
            opts.dsn, opts.schema, dataset, opts.out, opts.extend_days, files["pre"],
            files["post"], opts.runs, "custom" if opts.plan_mode == "both" else opts.plan_mode,
            opts.queries_dir, guard=opts.guard, fresh=opts.overwrite,
        ),
        say,
        tick,
    )  # fmt: skip
    verdict = doc["verdict"]["decision"]
    return {"summary": f"soak {verdict}: {doc['verdict']['reasons'][0]}", "verdict": verdict}


def _write_json(path: Path, payload: Any) -> None:
    write_json_atomic(path, payload, default=str)


def _load_state(path: Path, identity: dict[str, Any], overwrite: bool) -> dict[str, Any]:
    if overwrite or not path.exists():
        return {"identity": identity, "done": {}}
    state: dict[str, Any] = json.loads(path.read_text())
    if state.get("identity") != identity:
        differs = describe_differences(state.get("identity"), identity)
        raise SynthgenError(
            f"--out {path.parent}: holds a run with other parameters ({differs}); "
            "choose another --out, or pass --overwrite to start over"
        )
    return state


def run_workflow(
    spec: Spec, opts: RunOptions, say: Say, tick: Ticker | None = None
) -> dict[str, Any]:
    """Run (or resume) every stage; returns the final summary (its index_gate says GO or NO-GO).
    `tick` hears the index builds' shares and the load-test steps' seconds as they run.

    A fidelity NO-GO stops the run (GateFailed) unless opts.force.
    """
    validate_schema_name(opts.schema)
    # The production guard clears the database before anything is written, here or there:
    # the load, both baselines (ANALYZE, pg_prewarm) and the index build all write to it.
    check_dsn(opts.guard, opts.dsn, opts.schema)
    opts.out.mkdir(parents=True, exist_ok=True)
    state_path = opts.out / STATE_NAME
    state = _load_state(state_path, opts.identity(spec), opts.overwrite)
    if opts.overwrite:
        state_path.unlink(missing_ok=True)  # nothing of the earlier run counts as done
    dataset = opts.out / "dataset"
    files = {
        "fidelity_json": dataset / REPORT_NAME,
        "fidelity_html": opts.out / "fidelity.html",
        "pre": opts.out / "baseline-pre.json",
        "post": opts.out / "baseline-post.json",
        "compare": opts.out / "compare.json",
        "report": opts.out / "report.html",
    }

    def stage(name: str, work: Callable[[], dict[str, Any]]) -> None:
        if name in state["done"]:
            say(f"[{name}] done earlier, skipped")
            return
        say(f"[{name}] ...")
        started = time.perf_counter()
        try:
            info = work()
        finally:
            if tick is not None:
                tick.stop()
        info["seconds"] = round(time.perf_counter() - started, 2)
        state["done"][name] = info
        _write_json(state_path, state)
        say(f"[{name}] {info.get('summary', 'ok')} ({info['seconds']:.1f} s)")

    def generate() -> dict[str, Any]:
        report = build_dataset(
            spec,
            BuildOptions(
                opts.band,
                opts.scale,
                opts.seed,
                dataset,
                workers=opts.workers,
                overwrite=opts.overwrite,
                spec_path=opts.spec_path,
            ),
        )
        counts = report.manifest["counts"]
        return {"summary": f"{counts['messages']:,} messages in {report.manifest['shards']} shards"}

    def fidelity() -> dict[str, Any]:
        report = validate_dataset(
            dataset,
            spec,
            opts.tolerance,
            spec_path=opts.spec_path or str(DEFAULT_SPEC_PATH),
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

    def migrate() -> dict[str, Any]:
        assert opts.migrations is not None
        conn = connect(opts.dsn, autocommit=True)
        try:  # a scratch schema: made afresh by the application's own migrations
            for name in (opts.schema, audit_schema_for(opts.schema)):
                execute(conn, f"DROP SCHEMA IF EXISTS {quote_ident(name)} CASCADE")
        finally:
            conn.close()
        last = run_migrations(opts.dsn, opts.schema, opts.migrations)
        return {"summary": f"schema {opts.schema} migrated ({last or 'ok'})"}

    def load_started_before() -> bool:
        """Whether an earlier attempt began the load (then this one resumes it); records that
        this one has begun."""
        resume = "load" in state.get("started", [])
        state.setdefault("started", []).append("load")
        _write_json(state_path, state)
        return resume

    def load_mapped_stage(resume: bool) -> dict[str, Any]:
        assert opts.mapping_path is not None
        report = load_mapped(
            MappedLoadOptions(
                dataset,
                opts.dsn,
                opts.mapping_path,
                opts.schema,
                opts.workers,
                resume,
                replace=not resume,
                guard=opts.guard,
            )
        )
        rows = sum(report.counts.values())
        return {"summary": f"{rows:,} rows into {opts.schema}'s own tables", "steps": report.steps}

    def load() -> dict[str, Any]:
        resume = load_started_before()
        if opts.mapping_path is not None:
            return load_mapped_stage(resume)
        report = load_dataset(
            LoadOptions(
                dataset,
                opts.dsn,
                schema=opts.schema,
                jobs=opts.workers,
                resume=resume,
                replace=not resume,
                guard=opts.guard,
            )
        )
        vacuum = report.steps.get(VACUUM_STEP)
        settled = f", {VACUUM_STEP} {vacuum:.1f} s" if vacuum is not None else ""
        return {
            "summary": f"{report.rows_loaded:,} rows into {opts.schema}{settled}",
            "steps": report.steps,
        }

    queries = load_queries(opts.queries_dir)
    names = load_mapping(opts.mapping_path, opts.schema) if opts.mapping_path else None

    def baseline(label: str, params_from: Path | None) -> dict[str, Any]:
        params = read_baseline_parameters(params_from, "baseline") if params_from else None
        conn = connect(opts.dsn, autocommit=True)
        try:
            if names is not None and params is None:
                params = mapped_parameters(conn, names, dataset)
            doc = run_baseline(
                conn,
                opts.schema,
                label,
                queries,
                opts.runs,
                params,
                plan_modes=("custom", "generic") if opts.plan_mode == "both" else (opts.plan_mode,),
                wait=True,  # a pipeline waits for autovacuum rather than failing
                explain_runs=DEFAULT_EXPLAIN_RUNS,
                names=names,
            )
        finally:
            conn.close()
        _write_json(files[label], doc)
        return {"summary": f"{len(doc['results'])} query x class x plan mode results"}

    def indexes() -> dict[str, Any]:
        if opts.rehearse is not None:
            script = opts.indexes_file or DEFAULT_APPLY
            return run_rehearsal_stage(opts.dsn, opts.schema, opts.out, script, opts.rehearse, say)
        found: list[str] = []

        def finding(line: str) -> None:
            found.append(line)
            say(f"  finding: {line}")

        building = index_ticks(tick) if tick is not None else None
        steps = run_script(
            opts.dsn, opts.schema, opts.indexes_file or DEFAULT_APPLY, building, finding
        )
        built = [
            {"index": s.index, "seconds": round(s.seconds, 2), "size_bytes": s.size_bytes}
            for s in steps
            if s.index
        ]
        return {"summary": f"{len(built)} indexes built", "indexes": built, "findings": found}

    def compare() -> dict[str, Any]:
        pre = read_result(files["pre"], "baseline")
        post = read_result(files["post"], "baseline")
        built = state["done"].get("indexes", {}).get("indexes", [])
        builds = {b["index"]: b["seconds"] for b in built}
        script = opts.indexes_file or DEFAULT_APPLY
        mode = "custom" if opts.suggest else opts.plan_mode  # prove measures custom plans
        # a `-- targets: Q1, Q4` line in the index script: the targeted decision
        result = compare_baselines(
            pre,
            post,
            plan_mode=mode,
            builds=builds,
            targets=[] if opts.suggest else script_targets(Path(script)),
        )
        _write_json(files["compare"], result.to_dict())
        info: dict[str, Any] = {
            "summary": f"index gate {result.decision}",
            "verdict": result.decision,
        }
        if opts.compare_plans_with is not None:
            other = opts.compare_plans_with / "baseline-post.json"
            if not other.exists():
                raise SynthgenError(
                    f"--compare-plans-with {opts.compare_plans_with}: no {other.name}"
                )
            changes, compared = compare_plan_docs(read_result(other, "baseline (plans)"), post)
            info["plan_changes"] = plan_change_lines(changes, compared, str(other), "this run")
            info["summary"] += f"; {len(changes)} of {compared} plans differ from {other}"
        return info

    def loadtest_stage(label: str) -> dict[str, Any]:
        if label == "workload":  # for the load test, the rehearsal, or both
            settings = opts.loadtest or LoadTestStage()
            doc = build_stage_workload(
                opts.dsn, opts.schema, opts.out, settings, opts.queries_dir, names
            )
            mix = ", ".join(f"{k}={v}" for k, v in doc["mix"].items())
            return {"summary": f"{len(doc['scripts'])} pgbench scripts, mix {mix}"}
        assert opts.loadtest is not None
        if label == "compare":
            return judge_stage(opts.out, opts.loadtest)
        return sweep_stage(opts.dsn, opts.out, opts.loadtest, label, tick)

    def report() -> dict[str, Any]:
        write_run_report(
            files["report"],
            files["fidelity_json"],
            files["pre"],
            files["post"],
            files["compare"],
            state,
            read_stage(opts.out) if opts.loadtest is not None else None,
            read_rehearsal(opts.out) if opts.rehearse is not None else None,
            json.loads((opts.out / "phase-2.json").read_text()) if opts.suggest else None,
            soak_doc(opts.out) if opts.extend_days else None,
        )
        return {"summary": f"report at {files['report']}"}

    stage("generate", generate)
    stage("validate", fidelity)
    if opts.migrations is not None:
        stage("migrate", migrate)
    stage("load", load)
    if opts.loadtest is not None or opts.rehearse is not None:
        # before the pre baseline: both baselines see its few writes
        stage("workload", lambda: loadtest_stage("workload"))
    if opts.loadtest is not None:
        stage("loadtest_pre", lambda: loadtest_stage("pre"))
    if opts.suggest:  # its baselines are prove's, without and with the kept indexes
        stage("suggest", lambda: suggest_and_prove(
            opts.dsn, opts.schema, opts.out, queries, opts.queries_dir, names, dataset,
            opts.runs, say,
        ))  # fmt: skip
    else:
        stage("baseline_pre", lambda: baseline("pre", None))
        stage("indexes", indexes)
        stage("baseline_post", lambda: baseline("post", files["pre"]))
    if opts.loadtest is not None:
        stage("loadtest_post", lambda: loadtest_stage("post"))
    if opts.extend_days:
        stage("soak", lambda: soak_stage(opts, dataset, files, say, tick))
    stage("compare", compare)
    if opts.loadtest is not None:
        stage("loadtest_compare", lambda: loadtest_stage("compare"))
    stage("report", report)
    comparison = read_result(files["compare"], "comparison")
    summary = {
        "out": str(opts.out),
        "fidelity": state["done"]["validate"]["verdict"],
        "index_gate": comparison["decision"],
        "loadtest": (
            state["done"]["loadtest_compare"]["verdict"] if opts.loadtest is not None else None
        ),
        "rehearsal": state["done"]["indexes"].get("verdict") if opts.rehearse else None,
        "soak": state["done"]["soak"]["verdict"] if opts.extend_days else None,
        "plan_changes": state["done"]["compare"].get("plan_changes", []),
        "reasons": comparison["reasons"],
        "mitigations": comparison["mitigations"],
        "stages": {name: info["seconds"] for name, info in state["done"].items()},
        "artifacts": {k: str(v) for k, v in files.items()},
        "options": {k: str(v) for k, v in asdict(opts).items() if k != "dsn"},
    }
    return summary
