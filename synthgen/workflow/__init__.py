"""`synthgen run`: generate -> fidelity gate -> load -> pre baseline -> phase-2 indexes ->
post baseline -> compare -> one HTML report, as a list of stages (`stages_for`). Every stage's
files stay in DIR; a rerun with the same parameters walks the same list and skips each stage
DIR/run-state.json records as finished (`run --resume` is a rerun).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from synthgen.errors import SynthgenError
from synthgen.loadtest.stage import LoadTestStage
from synthgen.mapping import load_mapping
from synthgen.postgres.connect import validate_schema_name
from synthgen.postgres.guard import check_dsn
from synthgen.progress import Ticker
from synthgen.resultfiles import read_result
from synthgen.spec import Spec
from synthgen.verify.queries import load_queries
from synthgen.workflow import stages as do
from synthgen.workflow.options import GateFailed, RunOptions, Say
from synthgen.workflow.state import STATE_NAME, RunState, finished_stages

__all__ = [
    "LOADTEST_STAGES",
    "STAGES",
    "STATE_NAME",
    "GateFailed",
    "RunOptions",
    "Stage",
    "finished_stages",
    "run_workflow",
    "stages_for",
]


@dataclass(frozen=True)
class Stage:
    """One step of the run: its name in run-state.json, the files of the run directory it reads
    (each must exist before it runs) and writes, and its work."""

    name: str
    run: Callable[[do.RunContext], dict[str, Any]]
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()


_DATASET = ("dataset/manifest.json",)
_BASELINES = (do.FILES["pre"], do.FILES["post"])


def stages_for(opts: RunOptions) -> list[Stage]:
    """The stages `opts` asks for, in the order they run."""
    pre, post = do.FILES["pre"], do.FILES["post"]
    testing = opts.loadtest is not None
    stages = [
        Stage("generate", do.generate, outputs=_DATASET),
        Stage("validate", do.validate, _DATASET, (do.FILES["fidelity_json"], "fidelity.html")),
        *([Stage("migrate", do.migrate)] if opts.migrations is not None else []),
        Stage("load", do.load, _DATASET),
        *([Stage("workload", do.workload)] if testing or opts.rehearse is not None else []),
        *([Stage("loadtest_pre", do.loadtest_sweep("pre"))] if testing else []),
    ]
    if opts.suggest:
        stages.append(Stage("suggest", do.suggest, _DATASET, (*_BASELINES, "phase-2.json")))
    else:
        stages += [
            Stage("baseline_pre", do.baseline("pre"), outputs=(pre,)),
            Stage("indexes", do.indexes),
            Stage("baseline_post", do.baseline("post"), (pre,), (post,)),
        ]
    stages += [
        *([Stage("loadtest_post", do.loadtest_sweep("post"))] if testing else []),
        *([Stage("soak", do.soak, _BASELINES)] if opts.extend_days else []),
        Stage("compare", do.compare, _BASELINES, (do.FILES["compare"],)),
        *([Stage("loadtest_compare", do.loadtest_compare)] if testing else []),
        Stage("report", do.report, (do.FILES["fidelity_json"], do.FILES["compare"])),
    ]
    return stages


def _names(**options: Any) -> tuple[str, ...]:
    return tuple(s.name for s in stages_for(RunOptions("dev", 1.0, "0", Path("."), "", **options)))


# the stage names of a plain run, and of a run with --loadtest
STAGES = _names()
LOADTEST_STAGES = _names(loadtest=LoadTestStage())


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
    state = RunState(opts.out, opts.identity(spec), opts.overwrite)
    # the queries and the mapping are read before anything runs: a bad one costs no generate
    names = load_mapping(opts.mapping_path, opts.schema) if opts.mapping_path else None
    ctx = do.RunContext(spec, opts, say, tick, state, load_queries(opts.queries_dir), names)
    for stage in stages_for(opts):
        _walk(stage, ctx)
    return _summary(ctx)


def _walk(stage: Stage, ctx: do.RunContext) -> None:
    if stage.name in ctx.state.done:
        ctx.say(f"[{stage.name}] done earlier, skipped")
        return
    missing = [name for name in stage.inputs if not (ctx.opts.out / name).exists()]
    if missing:
        raise SynthgenError(
            f"--out {ctx.opts.out}: {stage.name} needs {missing[0]}, which is gone; "
            "pass --overwrite to start over"
        )
    ctx.say(f"[{stage.name}] ...")
    started = time.perf_counter()
    try:
        info = stage.run(ctx)
    finally:
        if ctx.tick is not None:
            ctx.tick.stop()
    info["seconds"] = round(time.perf_counter() - started, 2)
    ctx.state.finish(stage.name, info)
    ctx.say(f"[{stage.name}] {info.get('summary', 'ok')} ({info['seconds']:.1f} s)")


def _summary(ctx: do.RunContext) -> dict[str, Any]:
    opts, done = ctx.opts, ctx.state.done
    comparison = read_result(ctx.files["compare"], "comparison")
    return {
        "out": str(opts.out),
        "fidelity": done["validate"]["verdict"],
        "index_gate": comparison["decision"],
        "loadtest": done["loadtest_compare"]["verdict"] if opts.loadtest is not None else None,
        "rehearsal": done["indexes"].get("verdict") if opts.rehearse else None,
        "soak": done["soak"]["verdict"] if opts.extend_days else None,
        "plan_changes": done["compare"].get("plan_changes", []),
        "reasons": comparison["reasons"],
        "mitigations": comparison["mitigations"],
        "stages": {name: info["seconds"] for name, info in done.items()},
        "artifacts": {k: str(v) for k, v in ctx.files.items()},
        "options": {k: str(v) for k, v in asdict(opts).items() if k != "dsn"},
    }
