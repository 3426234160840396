"""Benchmark: the Dask executor on a LocalCluster of 1..N worker processes (127.0.0.1).

    python benchmarks/bench_generate.py --executor dask --workers 2 [--scale 0.5]

For each worker count it builds dev x SCALE (250 000-message shards) and prints: the shard
phase's wall, rows/s in total and per worker, the tasks' own compute time (each done-record's
`seconds`), the scheduler's overhead per task (the shard phase's worker-seconds not spent inside
a task, per task), and the round trip of an empty task through the same executor. Then the
projection for a band on N workers: rows / (rows/s per worker x N) + tasks x overhead / N.
Not a test: it prints figures. Record them in benchmarks/README.md.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from synthgen.generate.build import BuildOptions, build_dataset
from synthgen.generate.dask_executor import DaskPool
from synthgen.spec import load_spec

PERF_ROWS, PERF_SHARDS = 591_000_000, 1_200  # the perf band (benchmarks/README.md)
MESSAGE_TABLES = ("messages", "attachments", "read_receipts")


def _noop(x: int) -> int:
    return x


def run_local(workers: int, scale: float, out: Path) -> tuple[float, str]:
    """The local executor's shard phase and dataset digest on the same build."""
    shutil.rmtree(out, ignore_errors=True)
    opts = BuildOptions("dev", scale, "bench", out, workers=workers)
    manifest = build_dataset(load_spec(), opts).manifest
    shutil.rmtree(out, ignore_errors=True)
    return float(manifest["timings"]["message_shards_seconds"]), str(manifest["dataset_sha256"])


def run_once(workers: int, scale: float, out: Path) -> dict[str, Any]:
    shutil.rmtree(out, ignore_errors=True)
    spec = load_spec()
    with DaskPool("local", workers) as pool:
        start = time.perf_counter()
        empty = sum(1 for _ in pool.run(_noop, list(range(200))))
        noop_s = (time.perf_counter() - start) / empty
        report = build_dataset(spec, BuildOptions("dev", scale, "bench", out), None, pool)
    m = report.manifest
    records = [json.loads(p.read_text()) for p in (out / ".synthgen" / "shards").glob("*.json")]
    task_s = sum(r["seconds"] for r in records)
    phase_s = m["timings"]["message_shards_seconds"]
    rows = sum(m["counts"][t] for t in MESSAGE_TABLES)
    shutil.rmtree(out, ignore_errors=True)
    local_s, local_digest = run_local(workers, scale, out)
    return {
        "workers": workers,
        "identical": local_digest == m["dataset_sha256"],
        "tasks": len(records),
        "rows": rows,
        "phase_s": phase_s,
        "total_s": m["timings"]["total_seconds"],
        "serial_s": m["timings"]["total_seconds"] - phase_s,
        "task_s": task_s,
        "rows_per_s": rows / phase_s,
        "rows_per_s_worker": rows / phase_s / workers,
        "overhead_per_task_s": max(0.0, phase_s * workers - task_s) / len(records),
        "noop_task_s": noop_s,
        "local_phase_s": local_s,
    }


def main(workers: int, scale: float) -> None:
    results = []
    print(f"load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    with tempfile.TemporaryDirectory(prefix="synthgen-bench-dask-") as tmp:
        for n in range(1, workers + 1):
            r = run_once(n, scale, Path(tmp) / "ds")
            results.append(r)
            print(
                f"dask LocalCluster, {n} worker(s), dev x {scale}: {r['tasks']} shard tasks, "
                f"{r['rows']:,} message-side rows; shard phase {r['phase_s']:.2f} s "
                f"(build {r['total_s']:.2f} s); {r['rows_per_s'] / 1e6:.2f} M rows/s, "
                f"{r['rows_per_s_worker'] / 1e6:.2f} M rows/s per worker; compute in tasks "
                f"{r['task_s']:.2f} s; scheduler overhead {r['overhead_per_task_s'] * 1e3:.0f} "
                f"ms per task; empty-task round trip {r['noop_task_s'] * 1e3:.1f} ms; local "
                f"executor's shard phase {r['local_phase_s']:.2f} s "
                f"(dask / local {r['phase_s'] / r['local_phase_s']:.2f}x); byte-identical "
                f"to it: {'yes' if r['identical'] else 'NO'}"
            )
    base = results[0]
    for r in results[1:]:
        print(
            f"scaling 1 -> {r['workers']} workers: shard phase "
            f"{base['phase_s'] / r['phase_s']:.2f}x faster (ideal {r['workers']}.00x)"
        )
    last = results[-1]
    per_worker, overhead = last["rows_per_s_worker"], last["overhead_per_task_s"]
    for name, rows, tasks in (
        ("perf band", PERF_ROWS, PERF_SHARDS),
        ("3B-message build", PERF_ROWS * 10, PERF_SHARDS * 10),
    ):
        line = ", ".join(
            f"{n} workers {(rows / (per_worker * n) + tasks * overhead / n) / 60:.1f} min"
            for n in (2, 8, 32, 128)
        )
        print(f"projected shard phase, {name} ({rows / 1e6:,.0f} M rows, {tasks} tasks): {line}")
