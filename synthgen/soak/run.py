"""The soak: extend the loaded dataset one day at a time, append each day into the indexed
schema, measure, then a post-soak baseline judged against the post-index one.

Everything lands in OUT/soak/: extension-K (the deltas), soak.json (each day's figures, written
after every day, so a rerun resumes after the last day measured), baseline-soak.json.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthgen.errors import SynthgenError
from synthgen.files import read_json, write_json_atomic
from synthgen.generate.extend import extend_dataset
from synthgen.load.append import AppendOptions, append_delta, appended
from synthgen.manifest import MANIFEST_NAME
from synthgen.postgres.connect import connect
from synthgen.postgres.guard import GuardSettings, check_dsn
from synthgen.progress import Ticker
from synthgen.resultfiles import read_baseline_parameters, read_result
from synthgen.soak import metrics
from synthgen.soak.verdict import decide
from synthgen.soak.w1 import prepare_w1, w1_p50_ms
from synthgen.verify.baseline import run_baseline
from synthgen.verify.compare import compare_baselines
from synthgen.verify.queries import load_queries

SOAK_NAME = "soak.json"
W1_SECONDS = 3
Say = Callable[[str], None]


@dataclass(frozen=True)
class SoakOptions:
    dsn: str
    schema: str
    dataset: Path  # the base, loaded into `schema`
    out: Path  # the run's directory: OUT/soak/ is the soak's
    days: int
    pre: Path  # baseline before the phase-2 indexes
    post: Path  # baseline after them
    runs: int = 5
    plan_mode: str = "custom"
    queries_dir: Path | None = None
    w1_seconds: int = W1_SECONDS
    guard: GuardSettings = field(default_factory=GuardSettings)
    fresh: bool = False  # start over (run --overwrite): the schema was loaded afresh too


def run_soak(opts: SoakOptions, say: Say, tick: Ticker | None = None) -> dict[str, Any]:
    """Soak `opts.days` days (resuming after the last day measured) and decide."""
    check_dsn(opts.guard, opts.dsn, opts.schema)
    for path in (opts.pre, opts.post):  # read before anything is written: a bad one is refused
        read_result(path, "baseline")
    root = opts.out / "soak"
    doc = _state(root / SOAK_NAME, opts)
    if (opts.fresh or not doc["days"]) and root.exists():  # nothing of an earlier soak counts
        shutil.rmtree(root)
        doc = _state(root / SOAK_NAME, opts)
    root.mkdir(parents=True, exist_ok=True)
    conn = connect(opts.dsn, autocommit=True)
    try:
        w1 = prepare_w1(conn, opts.dsn, opts.schema, root)
        if not doc["days"]:
            doc["bloat_method"] = metrics.bloat_method(conn)
            doc["days"].append(_measure(conn, opts, doc, w1, 0, {}))
            write_json_atomic(root / SOAK_NAME, doc, sort_keys=True)
        for day in range(len(doc["days"]), opts.days + 1):  # simulated days, one at a time
            say(f"  soak day {day} of {opts.days}")
            if tick:
                tick("soak days", day - 1, opts.days, "d")
            parent = opts.dataset if day == 1 else root / f"extension-{day - 1}"
            delta = root / f"extension-{day}"
            if not (delta / MANIFEST_NAME).is_file():
                extend_dataset(parent, 1, delta, overwrite=True)
            doc["days"].append(_measure(conn, opts, doc, w1, day, _append(conn, opts, delta)))
            write_json_atomic(root / SOAK_NAME, doc, sort_keys=True)
        if tick:
            tick("soak days", opts.days, opts.days, "d")
        doc.update(_judge(conn, opts, root))
    finally:
        conn.close()
    write_json_atomic(root / SOAK_NAME, doc, sort_keys=True)
    return doc


def _append(conn: Any, opts: SoakOptions, delta: Path) -> dict[str, Any]:
    """Append one day; its seconds, WAL and the schema's rows after (nothing new when an
    earlier attempt appended it before it could record the day)."""
    if appended(conn, opts.schema, delta):
        return {}
    lsn = metrics.wal_lsn(conn)
    started = time.perf_counter()
    report = append_delta(AppendOptions(delta, opts.dsn, opts.schema, guard=opts.guard))
    return {
        "append_seconds": round(time.perf_counter() - started, 3),
        "wal_bytes": metrics.wal_bytes(conn, lsn),
        "rows": sum(report.counts.values()),
    }


def _state(path: Path, opts: SoakOptions) -> dict[str, Any]:
    identity = {"schema": opts.schema, "days": opts.days, "dataset": str(opts.dataset)}
    if path.is_file():
        doc: dict[str, Any] = read_json(path, str(path), SynthgenError)
        if doc.get("identity") == identity:
            return doc
    return {"kind": "synthgen-soak", "identity": identity, "days": []}


def _measure(
    conn: Any, opts: SoakOptions, doc: dict[str, Any], w1: Any, day: int, appended: dict[str, Any]
) -> dict[str, Any]:
    snap = metrics.snapshot(conn, opts.schema, doc["bloat_method"])
    log_dir = opts.out / "soak" / "pgbench" / f"day-{day}"
    p50 = w1_p50_ms(opts.dsn, opts.schema, w1, opts.w1_seconds, log_dir)
    return {"day": day, **appended, **snap, "w1_p50_ms": p50}


def _judge(conn: Any, opts: SoakOptions, root: Path) -> dict[str, Any]:
    """The post-soak baseline (the post-index one's parameters), both comparisons, the verdict."""
    pre, post = read_result(opts.pre, "baseline"), read_result(opts.post, "baseline")
    soaked = run_baseline(
        conn,
        opts.schema,
        "soak",
        load_queries(opts.queries_dir),
        opts.runs,
        read_baseline_parameters(opts.post, "baseline"),
        plan_modes=(opts.plan_mode,),
        wait=True,
    )
    write_json_atomic(root / "baseline-soak.json", soaked, sort_keys=True)
    after_indexes = compare_baselines(pre, post, plan_mode=opts.plan_mode).to_dict()
    # the soaked schema holds the pre baseline's dataset extended on purpose, so its rows and
    # their physical order differ: those two checks are waived (another server or schema is
    # still refused)
    extended = {**soaked, "dataset_sha256": pre.get("dataset_sha256")}
    after_soak = compare_baselines(
        pre, extended, plan_mode=opts.plan_mode, allow_physical_change=True
    ).to_dict()
    return {
        "verdict": decide(after_indexes, after_soak, opts.days),
        "post_index": _p50s(post),
        "post_soak": _p50s(soaked),
    }


def _p50s(doc: dict[str, Any]) -> dict[str, float]:
    return {
        f"{r['query']} {r['class']} {r.get('plan_mode', '')}".strip(): float(r["client_ms"]["p50"])
        for r in doc["results"]
    }


def soak_doc(out: Path) -> dict[str, Any]:
    """The soak's figures and verdict a run left in OUT/soak/."""
    doc: dict[str, Any] = read_json(out / "soak" / SOAK_NAME, "soak", SynthgenError)
    return doc
