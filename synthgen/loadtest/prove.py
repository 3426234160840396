"""`synthgen indexes prove`: build each suggested index for real, one at a time and then the kept
ones together, and keep only those that pay for themselves.

Per index: its build time and size, client-timed baselines of the queries it was suggested for
(its read gain), and short pgbench runs of the write transactions W1/W2 (its write cost). An
index is kept when some query reads at least `min_gain` faster (p50) and no write's p50 rises by
more than `max_write_cost`; the kept set is then judged by the index gate, and every index built
here is dropped again. docs/workflow.md describes the report.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthgen.errors import LoadTestError
from synthgen.loadtest.pgbench import Script, find_pgbench, run_step
from synthgen.loadtest.prove_reads import production_shares, read_rows, weighted_gain
from synthgen.loadtest.workload import WorkloadOptions, build_workload
from synthgen.mapping import Mapping
from synthgen.postgres.connect import Connection, execute, fetch_value
from synthgen.postgres.dsn import with_search_path
from synthgen.schema import quote_ident
from synthgen.verify.baseline import run_baseline
from synthgen.verify.compare import compare_baselines
from synthgen.verify.indexes import IndexStep, read_script
from synthgen.verify.queries import Query

MIN_GAIN = 0.2  # p50 at least 20 % lower on some suggested query x class
MAX_WRITE_COST = 0.25  # no write transaction's p50 more than 25 % slower
WRITE_SECONDS = 5
SEED_ENV, WRITE_SEED = "PGBENCH_RANDOM_SEED", "20261207"
WRITE_FLOOR_MS = 1.0  # a write's p50 rise under this is noise, not a cost
RUNS = 15
# one index alone is screened with fewer runs (its gains are large or absent); the kept set's
# gate gets `runs`
SCREEN_RUNS = 10

Say = Callable[[str], None]


@dataclass(frozen=True)
class ProveOptions:
    dsn: str
    schema: str
    script: Path
    out: Path  # the working directory: workload scripts, pgbench logs
    queries: list[Query]
    params: dict[str, Any]
    queries_dir: Path | None = None
    names: Mapping | None = None
    estimates: dict[str, list[dict[str, Any]]] | None = None  # index -> suggest's estimates
    runs: int = RUNS
    write_seconds: int = WRITE_SECONDS
    min_gain: float = MIN_GAIN
    max_write_cost: float = MAX_WRITE_COST


def _baseline(
    conn: Connection,
    opts: ProveOptions,
    label: str,
    queries: list[Query] | None = None,
    runs: int | None = None,
) -> dict[str, Any]:
    return run_baseline(
        conn,
        opts.schema,
        label,
        queries or opts.queries,
        runs or opts.runs,
        opts.params,
        plan_modes=("custom",),
        warmups=2,
        wait=True,
        explain_runs=2,
        names=opts.names,
    )


def _p50(doc: dict[str, Any]) -> dict[tuple[str, str], float]:
    return {(r["query"], r["class"]): float(r["client_ms"]["p50"]) for r in doc["results"]}


def _writes(opts: ProveOptions, scripts: list[Script], label: str) -> dict[str, Any]:
    """p50 latency and tps of each write transaction, each run alone by one client for
    `write_seconds` (alone: W2's reads and W1's room locks do not queue behind each other),
    with one pgbench seed: every run draws the same rooms and members in the same order, so
    with and without an index time the same transactions (W2 on a heavy room is 100x W2 on a
    small one)."""
    out: dict[str, Any] = {"tps": 0.0, "errors": 0, "p50_ms": {}}
    for script in scripts:
        step = _seeded_step(
            find_pgbench(),
            with_search_path(opts.dsn, opts.schema),
            [script],
            1,
            opts.write_seconds,
            opts.out / "pgbench" / label / script.key,
        )
        if not step["transactions"]:
            raise LoadTestError(
                f"the write run {script.key} ({label}) completed no transaction: "
                f"{step['error_sample'] or 'no error'}"
            )
        out["tps"] = round(out["tps"] + float(step["tps"]), 1)
        out["errors"] += int(step["errors"])
        out["p50_ms"][script.key] = round(float(step["queries"][script.key]["p50_ms"]), 3)
    return out


def _seeded_step(*args: Any) -> dict[str, Any]:
    """run_step with PGBENCH_RANDOM_SEED set (pgbench reads it; run_step passes the environment
    on), restored afterwards."""
    before = os.environ.get(SEED_ENV)
    os.environ[SEED_ENV] = WRITE_SEED
    try:
        return run_step(*args)
    finally:
        if before is None:
            os.environ.pop(SEED_ENV, None)
        else:
            os.environ[SEED_ENV] = before


def write_cost(reference: dict[str, Any], writes: dict[str, Any]) -> float:
    """The largest relative rise of a write transaction's p50 latency (negative: faster); a
    rise under WRITE_FLOOR_MS counts as none (noise, as the index gate's floor)."""
    rises = []
    for key, before in reference["p50_ms"].items():
        after = writes["p50_ms"].get(key)
        if before > 0 and after:
            rise = after / before - 1
            rises.append(rise if after - before >= WRITE_FLOOR_MS else min(rise, 0.0))
    return max(rises, default=0.0)


def _build(conn: Connection, step: IndexStep) -> tuple[float, int]:
    started = time.perf_counter()
    execute(conn, step.sql)
    seconds = time.perf_counter() - started
    size = fetch_value(
        conn, "SELECT pg_relation_size(to_regclass($1))", (quote_ident(step.index or ""),)
    )
    return seconds, int(size or 0)


def _drop(conn: Connection, index: str) -> None:
    execute(conn, f"DROP INDEX CONCURRENTLY IF EXISTS {quote_ident(index)}")


def _gains(
    pre: dict[tuple[str, str], float], post: dict[tuple[str, str], float]
) -> dict[tuple[str, str], float]:
    return {k: 1 - post[k] / pre[k] for k in post if k in pre and pre[k] > 0}


def _verdict(
    opts: ProveOptions, name: str, gains: dict[tuple[str, str], float], write_cost: float
) -> tuple[bool, str]:
    """Kept or dropped, and why, by the rule in the module docstring."""
    suggested = {(e["query"], e["class"]) for e in (opts.estimates or {}).get(name, [])}
    mine = {k: v for k, v in gains.items() if not suggested or k in suggested}
    best = max(mine.items(), key=lambda kv: kv[1]) if mine else None
    if best is None or best[1] < opts.min_gain:
        top = f"{best[0][0]} {best[0][1]} {best[1]:+.0%}" if best else "no query"
        return False, f"no measured read gain of {opts.min_gain:.0%} (best: {top})"
    if write_cost > opts.max_write_cost:
        return False, f"a write transaction's p50 rises {write_cost:.0%}"
    return True, f"{best[0][0]} {best[0][1]} reads {best[1]:.0%} faster"


def prove(
    conn: Connection, opts: ProveOptions, say: Say, baselines: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Prove every index of `opts.script` (see the module docstring); returns the report.
    `baselines` receives the baseline without the indexes ('pre') and, when some are kept,
    with the kept ones together ('post'): the index gate's two sides."""
    steps = [s for s in read_script(opts.script) if s.index]
    execute(conn, f"SET search_path TO {quote_ident(opts.schema)}, public")
    built: list[str] = []
    try:
        return _prove(conn, opts, steps, built, say, {} if baselines is None else baselines)
    finally:
        for name in built:
            _drop(conn, name)


def _prove(
    conn: Connection,
    opts: ProveOptions,
    steps: list[IndexStep],
    built: list[str],
    say: Say,
    baselines: dict[str, Any],
) -> dict[str, Any]:
    build_workload(
        conn,
        WorkloadOptions(
            opts.dsn, opts.schema, opts.out / "workload", {"W1": 1, "W2": 1},
            opts.queries_dir, mapping=opts.names,
        ),
    )  # fmt: skip
    scripts = [Script(k, opts.out / "workload" / f"{k.lower()}.pgbench", 1) for k in ("W1", "W2")]
    rows = []
    for step in steps:
        name = step.index or ""
        say(f"prove: {name}")
        # alone, an index is timed on the queries suggest found it serves (all, without them);
        # without and with it back to back: a busy machine drifts over minutes
        served = {e["query"] for e in (opts.estimates or {}).get(name, [])}
        mine = [q for q in opts.queries if q.key in served]
        screen = min(opts.runs, SCREEN_RUNS)
        pre = _baseline(conn, opts, f"without {name}", mine, screen)
        before = _writes(opts, scripts, f"without {name}")
        seconds, size = _build(conn, step)
        built.append(name)
        post = _baseline(conn, opts, f"with {name}", mine, screen)
        writes = _writes(opts, scripts, name)
        _drop(conn, name)
        built.remove(name)
        gains = _gains(_p50(pre), _p50(post))
        cost = write_cost(before, writes)
        kept, why = _verdict(opts, name, gains, cost)
        row = _row(opts, step, seconds, size, gains, writes, cost, kept, why, pre, post)
        rows.append({**row, "writes_without": before})
    kept_steps = [s for s, r in zip(steps, rows, strict=True) if r["kept"]]
    together = _together(conn, opts, kept_steps, built, baselines, scripts, say)
    return {
        "schema": opts.schema,
        "script": str(opts.script),
        "rule": {"min_gain": opts.min_gain, "max_write_cost": opts.max_write_cost},
        "runs": opts.runs,
        "estimated": bool(opts.estimates),
        "production_shares": production_shares(opts.queries),
        "write_seconds": opts.write_seconds,
        "indexes": rows,
        "kept": [s.index for s in kept_steps],
        "together": together,
    }


def _row(
    opts: ProveOptions,
    step: IndexStep,
    seconds: float,
    size: int,
    gains: dict[tuple[str, str], float],
    writes: dict[str, Any],
    cost: float,
    kept: bool,
    why: str,
    pre: dict[str, Any],
    post: dict[str, Any],
) -> dict[str, Any]:
    name = step.index or ""
    estimates = {(e["query"], e["class"]): e for e in (opts.estimates or {}).get(name, [])}
    shares = production_shares(opts.queries)
    reads = read_rows(gains, _p50(pre), _p50(post), estimates, shares, opts.min_gain)
    return {
        "index": name,
        "sql": step.sql,
        "build_seconds": round(seconds, 3),
        "size_bytes": size,
        "reads": reads,
        "weighted_gain": weighted_gain(reads, shares),
        "writes": writes,
        "write_cost": round(cost, 4),
        "kept": kept,
        "why": why,
    }


def _together(
    conn: Connection,
    opts: ProveOptions,
    kept: list[IndexStep],
    built: list[str],
    baselines: dict[str, Any],
    scripts: list[Script],
    say: Say,
) -> dict[str, Any] | None:
    """Build the kept indexes together; the index gate's verdict and the writes' cost, against
    a baseline taken just before (nothing kept: one baseline, 'pre', for the run's report)."""
    if not kept:
        baselines["pre"] = _baseline(conn, opts, "pre")
        return None
    say(f"prove: the {len(kept)} kept together")
    baselines["pre"] = _baseline(conn, opts, "pre")
    reference = _writes(opts, scripts, "without the kept")
    builds = {}
    for step in kept:
        builds[step.index or ""] = _build(conn, step)[0]
        built.append(step.index or "")
    post = baselines["post"] = _baseline(conn, opts, "post")
    writes = _writes(opts, scripts, "together")
    gate = compare_baselines(baselines["pre"], post, plan_mode="custom", builds=builds)
    return {
        "decision": gate.decision,
        "reasons": gate.reasons,
        "average_improvement": gate.average_improvement,
        "writes_without": reference,
        "writes": writes,
        "write_cost": round(write_cost(reference, writes), 4),
    }
