"""`synthgen run --loadtest`: the load-test stages of the workflow, and their verdict.

The run builds the workload once (after the load, before the pre baseline), measures before the
phase-2 indexes (``loadtest_pre``, before the pre baseline, so both baselines measure the same
rows: W1/W2 write a few) and after them (``loadtest_post``, after the post baseline), directly
and/or through a PgBouncer: the client sweep finds each run's capacity, then the pre run's
offered rates (25/50/80 % of its capacity) are offered to both, and pre is judged against post
per pool with `loadtest compare`'s rule, at equal offered load. The load-test verdict is NO-GO
when any pool's comparison is; the run exits 3 when any of its gates — fidelity, index, load
test — says NO-GO.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthgen.errors import LoadTestError
from synthgen.loadtest.captured import captured_writes, production_mix
from synthgen.loadtest.compare import DEFAULT_WRITE_BUDGET, compare_results
from synthgen.loadtest.html import write_loadtest_html
from synthgen.loadtest.sweep import LoadTestOptions, read_result, run_loadtest, write_json
from synthgen.loadtest.workload import DEFAULT_MIX, WRITES, WorkloadOptions, build_workload
from synthgen.mapping import Mapping
from synthgen.postgres.connect import connect
from synthgen.progress import Tick
from synthgen.verdict import all_go
from synthgen.verify.queries import load_queries

POOLS = ("none", "pgbouncer", "both")
COMPARE_NAME = "loadtest-compare.json"
HTML_NAME = "loadtest.html"


@dataclass(frozen=True)
class LoadTestStage:
    """The run's load-test settings (`--loadtest-*`, `--pool`)."""

    clients: tuple[int, ...] = (1, 4, 16)
    duration: int = 10
    pool: str = "none"  # none | pgbouncer | both
    pool_size: int = 10
    write_budget: float = DEFAULT_WRITE_BUDGET
    mix: dict[str, int] = field(default_factory=dict)  # empty: the default mix
    closed_loop: bool = False  # `--loadtest-closed-loop`: the client sweep only, labelled

    @property
    def pools(self) -> tuple[str, ...]:
        return ("none", "pgbouncer") if self.pool == "both" else (self.pool,)

    def identity(self) -> dict[str, Any]:
        """What a rerun must match to resume (the sweeps' settings)."""
        return {
            "clients": list(self.clients),
            "duration": self.duration,
            "pool": self.pool,
            "pool_size": self.pool_size,
            "mix": self.mix,
            **({"closed_loop": True} if self.closed_loop else {}),
        }


def result_path(out: Path, label: str, pool: str) -> Path:
    return out / f"loadtest-{label}-{pool}.json"


def default_mix(queries_dir: Path | None) -> dict[str, int]:
    """Production's captured calls when the query files carry them; else the brief's mix when
    the query files are Q1..Q5, else 10 per query and W1=5."""
    captured = production_mix(queries_dir)
    if captured is not None:
        return captured
    keys = {q.key.upper() for q in load_queries(queries_dir)}
    if {k for k in DEFAULT_MIX if k.startswith("Q")} <= keys:
        return dict(DEFAULT_MIX)
    return {**dict.fromkeys(sorted(keys), 10), "W1": 5}


def check_mix(mix: dict[str, int], queries_dir: Path | None) -> None:
    """Every key of --loadtest-mix names a query file or a write (checked before the run)."""
    keys = {q.key.upper() for q in load_queries(queries_dir)}
    unknown = sorted(set(mix) - keys - set(WRITES) - set(captured_writes(queries_dir)))
    if unknown:
        raise LoadTestError(
            f"--loadtest-mix {unknown[0]}: no such script (queries: {', '.join(sorted(keys))}; "
            f"writes: {', '.join(WRITES)})"
        )


def build_stage_workload(
    dsn: str,
    schema: str,
    out: Path,
    settings: LoadTestStage,
    queries_dir: Path | None,
    mapping: Mapping | None,
) -> dict[str, Any]:
    """The workload (draw tables in the schema, scripts in out/workload)."""
    mix = settings.mix or default_mix(queries_dir)
    with connect(dsn, autocommit=True) as conn:
        doc = build_workload(
            conn, WorkloadOptions(dsn, schema, out / "workload", mix, queries_dir, False, mapping)
        )
    return doc


def sweep_stage(
    dsn: str, out: Path, settings: LoadTestStage, label: str, tick: Tick | None = None
) -> dict[str, Any]:
    """One sweep per pool at this label; returns the stage's summary for the run state.

    The post sweep of each pool is offered the pre sweep's rates and judged by its SLOs."""
    lines, files = [], {}
    for pool in settings.pools:
        path = result_path(out, label, pool)
        baseline = None
        if label == "post" and not settings.closed_loop:
            baseline = read_result(result_path(out, "pre", pool))
        result = run_loadtest(
            LoadTestOptions(
                out / "workload",
                dsn,
                list(settings.clients),
                settings.duration,
                path,
                pool,
                settings.pool_size,
                label,
                closed_loop=settings.closed_loop,
                baseline=baseline,
                tick=tick,
            )
        )
        lines.append(f"{_pool_name(pool)}: {_sweep_line(result)}")
        files[pool] = str(path)
    return {"summary": "; ".join(lines), "results": files}


def _sweep_line(result: dict[str, Any]) -> str:
    errors = sum(s["errors"] for s in result["steps"] + result.get("rates", []))
    if result["mode"] != "offered":
        last = result["steps"][-1]
        return (
            f"closed loop, {last['tps']:.0f} tx/s, p95 {last['p95_ms']:.1f} ms at "
            f"{last['clients']} clients, {errors} errors"
        )
    rates = ", ".join(f"{r['offered_tps']:g}" for r in result["rates"])
    top = result["rates"][-1]
    return (
        f"capacity {result['capacity']['tps']:.1f} tx/s; offered {rates} tx/s, p95 "
        f"{top['p95_ms']:.1f} ms at {top['offered_tps']:g}; {errors} errors"
    )


def judge_stage(out: Path, settings: LoadTestStage) -> dict[str, Any]:
    """Compare pre with post per pool; write loadtest-compare.json and loadtest.html."""
    pools: dict[str, Any] = {}
    results: list[dict[str, Any]] = []
    for pool in settings.pools:
        pre = read_result(result_path(out, "pre", pool))
        post = read_result(result_path(out, "post", pool))
        results += [pre, post]
        pools[pool] = compare_results(pre, post, settings.write_budget)
    decision = all_go(c["decision"] for c in pools.values())
    reasons = [f"{_pool_name(p)}: {r}" for p, c in pools.items() for r in c["reasons"]]
    doc = {
        "kind": "synthgen-run-loadtest",
        "decision": decision,
        "rule": next(iter(pools.values()))["rule"]
        + ". The load test is NO-GO when any pool's comparison is NO-GO.",
        "reasons": reasons,
        "pools": pools,
        "results": {p: {w: str(result_path(out, w, p)) for w in ("pre", "post")} for p in pools},
    }
    write_json(out / COMPARE_NAME, doc)
    write_loadtest_html(out / HTML_NAME, results, doc)
    return {"summary": f"load test {decision}", "verdict": decision}


def _pool_name(pool: str) -> str:
    return "direct" if pool == "none" else pool


def read_stage(out: Path) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """The run's load-test comparison and its results (pre, post per pool), if it ran one."""
    path = out / COMPARE_NAME
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text())
    except ValueError as exc:
        raise LoadTestError(f"{path}: unreadable ({exc})") from None
    if not isinstance(doc, dict) or doc.get("kind") != "synthgen-run-loadtest":
        raise LoadTestError(f"{path}: not a synthgen run load-test comparison")
    for name, kind in (("decision", str), ("rule", str), ("reasons", list), ("pools", dict),
                       ("results", dict)):  # fmt: skip
        if not isinstance(doc.get(name), kind):
            raise LoadTestError(f"{path}: field {name!r} is missing or has the wrong type")
    results = [
        read_result(Path(files[w])) for files in doc["results"].values() for w in ("pre", "post")
    ]
    return doc, results
