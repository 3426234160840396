"""Re-measure the figures `synthgen plan` multiplies by rows (synthgen/sizing.json).

    python benchmarks/measure_sizing.py              # print the figures
    python benchmarks/measure_sizing.py --write      # also write synthgen/sizing.json
    python benchmarks/measure_sizing.py --scale 0.2 --dsn postgresql://me@127.0.0.1/scratch

Two builds of the default spec's dev band — a tiny one (x 0.005, for each stage's fixed cost)
and a small one (x --scale, default 0.2) — each generated (`--workers` processes), validated
in a fresh `synthgen validate` process (wall time and peak RSS), loaded with `synthgen load`'s
code path into its own schema, given the phase-2 indexes, measured, then dropped. Per-row
figures: bytes of Parquet per table (manifest), bytes of heap (pg_table_size: TOAST, free-space
and visibility maps included), of the primary key and phase-1 indexes, and of each phase-2
index per table row; seconds per row as the difference of the two builds divided by the
difference of their rows. Generate and validate are timed by their CPU seconds over the cores
they use (robust to a shared machine's neighbours); load and the index build run in the server,
so they are wall times (the load average is recorded beside them). The gate's peak beyond its
memory cap comes from one more validation of the small build under a 256 MiB cap. Not a test:
it prints figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import ROOT, SYNTHGEN, generate_cmd

SIZING = ROOT / "synthgen" / "sizing.json"
TINY_SCALE = 0.005
TIGHT_LIMIT_MIB = 256


def child(cmd: list[str], parallel: int) -> tuple[float, int]:
    """Run a synthgen process; (its CPU seconds spread over `parallel` cores, peak RSS bytes).

    CPU time, not wall time: on a shared machine the wall time measures the neighbours too,
    while CPU / cores is what an otherwise idle machine with those cores waits for.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) not in (0, 3):
        raise SystemExit(f"failed: {' '.join(cmd)}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    cpu = max(cpu, usage.ru_utime + usage.ru_stime)
    return cpu / max(1, min(parallel, os.cpu_count() or 1)), usage.ru_maxrss * 1024


def build(out: Path, scale: float, workers: int) -> tuple[float, dict[str, Any]]:
    """Generate the dev band at `scale`: idle-machine seconds (CPU / cores) and the manifest."""
    seconds, _ = child(generate_cmd(out, scale, workers, seed="sizing"), workers)
    return seconds, json.loads((out / "manifest.json").read_text())


def validate(dataset: Path, limit: str | None = None) -> tuple[float, int]:
    """One `synthgen validate` in a fresh process: idle-machine seconds and peak RSS bytes."""
    extra = ["--memory-limit", limit] if limit else []
    return child([*SYNTHGEN, "validate", str(dataset), "--quiet", *extra], os.cpu_count() or 1)


def load_and_index(dataset: Path, dsn: str, schema: str, jobs: int) -> dict[str, Any]:
    """Load, add the phase-2 indexes, measure every relation; the schema is dropped after."""
    from synthgen.load.contract import LoadOptions, load_dataset
    from synthgen.postgres.connect import connect, execute, fetch_all
    from synthgen.verify.indexes import DEFAULT_APPLY, read_script, run_script

    start = time.perf_counter()
    load_dataset(LoadOptions(dataset, dsn, schema=schema, jobs=jobs, replace=True))
    load_seconds = time.perf_counter() - start
    start = time.perf_counter()
    run_script(dsn, schema, DEFAULT_APPLY)
    index_seconds = time.perf_counter() - start
    phase2 = {s.index for s in read_script(DEFAULT_APPLY) if s.index}
    conn = connect(dsn, autocommit=True)
    try:
        tables = fetch_all(
            conn,
            "SELECT c.relname, pg_table_size(c.oid) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r' "
            "AND c.relname NOT LIKE 'synthgen%'",
            (schema,),
        )
        indexes = fetch_all(
            conn,
            "SELECT t.relname, c.relname, pg_relation_size(c.oid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1",
            (schema,),
        )
        version = fetch_all(conn, "SELECT current_setting('server_version')")[0][0]
        execute(conn, f"DROP SCHEMA {schema} CASCADE")
    finally:
        conn.close()
    sizes: dict[str, dict[str, float]] = {
        str(t): {"heap": float(b), "keys": 0.0, "phase2": 0.0} for t, b in tables
    }
    for table, index, size in indexes:
        if str(table) in sizes:
            sizes[str(table)]["phase2" if index in phase2 else "keys"] += float(size)
    return {"load": load_seconds, "indexes": index_seconds, "sizes": sizes, "version": version}


def parquet_per_table(manifest: dict[str, Any]) -> dict[str, float]:
    """Bytes of Parquet per table."""
    out: dict[str, float] = {}
    for f in manifest["files"]:
        table = Path(f["path"]).parts[0]
        out[table] = out.get(table, 0.0) + float(f["bytes"])
    return out


def slope(small: float, big: float, n_small: float, n_big: float) -> tuple[float, float]:
    """(fixed, per unit) through two points; fixed never below 0."""
    per = (big - small) / (n_big - n_small)
    return max(0.0, small - per * n_small), per


def _fit(
    tiny: dict[str, float], small: dict[str, float], key: str, table: str | None = None
) -> list[float]:
    """[fixed, per row] of one size through the two builds (rows of `table`, default `key`)."""
    table = table or key
    rows = (TINY_COUNTS[table], SMALL_COUNTS[table])
    fixed, per = slope(tiny[key], small[key], *rows)
    if fixed == 0.0:  # not linear at the tiny end: all per row, from the small build
        per = small[key] / rows[1]
    return [round(fixed), round(per, 3)]


TINY_COUNTS: dict[str, int] = {}
SMALL_COUNTS: dict[str, int] = {}


def main() -> None:
    """Measure both builds, derive per-row figures, print (and --write) them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.2, help="the small build's dev scale")
    parser.add_argument("--workers", type=int, default=2, help="generate --workers, load --jobs")
    parser.add_argument("--dsn", help="server to load into (default: the local cluster)")
    parser.add_argument("--write", action="store_true", help=f"write {SIZING.relative_to(ROOT)}")
    args = parser.parse_args()
    if args.dsn is None:
        from synthgen.postgres.cluster import ensure_cluster

        args.dsn = ensure_cluster().dsn
    work = Path(tempfile.mkdtemp(prefix="synthgen-sizing-"))
    runs: dict[str, dict[str, Any]] = {}
    for name, scale in (("tiny", TINY_SCALE), ("small", args.scale)):
        seconds, manifest = build(work / name, scale, args.workers)
        v_seconds, v_peak = validate(work / name)
        pg = load_and_index(work / name, args.dsn, f"synthgen_sizing_{name}", args.workers)
        runs[name] = {
            "generate": seconds,
            "validate": v_seconds,
            "peak": v_peak,
            "manifest": manifest,
            **pg,
        }
        print(
            f"{name}: dev x {scale:g}: generate {seconds:.2f} s, validate {v_seconds:.2f} s "
            f"(peak {v_peak / 2**20:.0f} MiB), load {pg['load']:.2f} s, "
            f"phase-2 {pg['indexes']:.2f} s"
        )
    _, tight_peak = validate(work / "small", f"{TIGHT_LIMIT_MIB}MiB")
    tiny, small = runs["tiny"], runs["small"]
    counts = small["manifest"]["counts"]
    TINY_COUNTS.update(tiny["manifest"]["counts"])
    SMALL_COUNTS.update(counts)
    rows_t, rows_s = (sum(r["manifest"]["counts"].values()) for r in (tiny, small))
    msg_t, msg_s = (r["manifest"]["counts"]["messages"] for r in (tiny, small))
    pq_t, pq_s = (sum(parquet_per_table(r["manifest"]).values()) for r in (tiny, small))
    figures = {
        "measured": {
            "command": f"python benchmarks/measure_sizing.py --scale {args.scale:g}",
            "band": "dev",
            "scale": args.scale,
            "date": dt.date.today().isoformat(),
            "cores": os.cpu_count(),
            "workers": args.workers,
            "postgres": small["version"],
            "compression": "zstd",
            "load_average": round(os.getloadavg()[0], 2),
        },
        # [fixed bytes, bytes per row] through the tiny and the small build: the fixed part is
        # what a nearly empty table still takes (pages, a B-tree's meta and root, footers)
        "parquet_bytes": {
            t: _fit(parquet_per_table(tiny["manifest"]), parquet_per_table(small["manifest"]), t)
            for t in counts
        },
        "postgres_bytes": {
            t: {k: _fit(tiny["sizes"][t], small["sizes"][t], k, t) for k in small["sizes"][t]}
            for t in small["sizes"]
        },
        "rates": {},
        "validate": {},
    }
    for key, stage, n_t, n_s in (
        ("generate", "generate", msg_t, msg_s),
        ("load", "load", rows_t, rows_s),
        ("phase2", "indexes", msg_t, msg_s),
    ):
        fixed, per = slope(tiny[stage], small[stage], n_t, n_s)
        unit = "message" if n_s == msg_s else "row"
        figures["rates"][f"{key}_fixed_seconds"] = round(fixed, 3)
        figures["rates"][f"{key}_seconds_per_{unit}"] = per
    fixed, per = slope(tiny["validate"], small["validate"], rows_t, rows_s)
    peak_fixed, peak_per = slope(tiny["peak"], small["peak"], pq_t, pq_s)
    figures["validate"] = {
        "fixed_seconds": round(fixed, 3),
        "seconds_per_row": per,
        "peak_fixed_bytes": round(peak_fixed),
        "peak_bytes_per_parquet_byte": round(peak_per, 4),
        "peak_over_limit_bytes": max(0, tight_peak - TIGHT_LIMIT_MIB * 2**20),
    }
    text = json.dumps(figures, indent=2) + "\n"
    print(text)
    if args.write:
        SIZING.write_text(text)
        print(f"wrote {SIZING}")


if __name__ == "__main__":
    main()
