"""Benchmark: `synthgen load DELTA --append` per simulated day against a plain COPY of the same
day's rows into the same indexed tables, same server, same run.

    python benchmarks/bench_append.py                      # dev x 0.1, 3 days
    python benchmarks/bench_append.py --scale 0.2 --days 7
    python benchmarks/bench_append.py --dsn postgresql://postgres@127.0.0.1:5432/x

The base is loaded twice (`synthgen load`: keys, phase-1 indexes, foreign keys in place), into
`bench_append` and `bench_copy`. Then, day by day, alternating which goes first: the append
(the day's rows hour by hour in key order, then the day's edits, deletes, leaves and cursors, one
transaction) into `bench_append`, and a plain binary COPY of the same day's new rows, one COPY
per table in key order, one transaction, no changes, into `bench_copy`. Printed per day: rows
inserted, changes applied, seconds and inserted rows/s of each, and the append's cost relative
to the COPY. Not a test: it prints figures. Record them in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

import pyarrow.compute as pc
from _common import SYNTHGEN, generate_cmd

from synthgen.load import append
from synthgen.load.append_driver import between, read_table
from synthgen.manifest import read_manifest
from synthgen.postgres.connect import connect, execute
from synthgen.units import US_PER_DAY


def run(*args: str) -> None:
    subprocess.run([*SYNTHGEN, *args], check=True)


def copy_day(dsn: str, delta: Path, manifest: dict, window: tuple[int, int]) -> tuple[int, float]:
    """The day's new rows by plain COPY (one per table, key order) in one transaction."""
    conn = connect(dsn)
    try:
        tables = {name: read_table(delta, manifest, name) for name, _ in append.INSERT_ORDER}
        started = time.perf_counter()
        rows = 0
        new_rooms = None
        for name, column in append.INSERT_ORDER:
            if column is None:
                part = tables[name].filter(
                    pc.is_in(tables[name].column("conversationId"), new_rooms)
                )
            else:
                part = between(tables[name], column, *window)
            if name == "conversations":
                new_rooms = part.column("id").combine_chunks()
            if part.num_rows:
                append.copy_rows(conn, "bench_copy", name, part)
                rows += part.num_rows
        conn.commit()
        return rows, time.perf_counter() - started
    finally:
        conn.close()


def append_day(dsn: str, delta: Path, manifest: dict, window: tuple[int, int]) -> tuple[int, float]:
    """The append's own day (rows and changes) in one transaction, as `load --append` runs it."""
    conn = connect(dsn)
    try:
        started = time.perf_counter()
        written = append.apply_day(conn, delta, manifest, "bench_append", window)
        conn.commit()
        return written, time.perf_counter() - started
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--dsn", help="a server to use (default: a throwaway local cluster)")
    parser.add_argument("--work", default=None, help="working directory (default: a temp dir)")
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="bench-append-"))
    dsn = args.dsn
    if dsn is None:
        from synthgen.postgres.cluster import ensure_cluster

        dsn = ensure_cluster(work / "postgres").dsn
    base, delta = work / "base", work / "delta"
    subprocess.run(generate_cmd(base, args.scale, os.cpu_count() or 2), check=True)
    run("extend", str(base), "--days", str(args.days), "--out", str(delta), "--overwrite")
    for schema in ("bench_append", "bench_copy"):
        run("load", str(base), "--dsn", dsn, "--schema", schema, "--replace", "--quiet")
    conn = connect(dsn, autocommit=True)
    execute(
        conn,
        "CREATE UNLOGGED TABLE IF NOT EXISTS bench_append.synthgen_append_changes "
        '("changedAt" timestamptz NOT NULL, op text NOT NULL, "messageId" bigint NOT NULL, '
        '"conversationId" bigint NOT NULL, "userId" bigint NOT NULL, content text)',
    )
    conn.close()
    manifest = read_manifest(delta)
    start = int(manifest["extension"]["start_us"])
    changes = read_table(delta, manifest, "changes")
    print(f"dev x {args.scale}, {args.days} days, load average {os.getloadavg()[0]:.2f}")
    print("day | inserted | changes | append s | append rows/s | COPY s | COPY rows/s | x COPY")
    for day in range(args.days):
        window = (start + day * US_PER_DAY, start + (day + 1) * US_PER_DAY)
        n_changes = between(changes, "changedAt", *window).num_rows
        order = [append_day, copy_day] if day % 2 == 0 else [copy_day, append_day]
        timed = {fn.__name__: fn(dsn, delta, manifest, window) for fn in order}
        (written, a_s), (rows, c_s) = timed["append_day"], timed["copy_day"]
        assert written == rows + n_changes, (written, rows, n_changes)
        print(
            f"{day + 1} | {rows:,} | {n_changes:,} | {a_s:.2f} | {rows / a_s:,.0f} | "
            f"{c_s:.2f} | {rows / c_s:,.0f} | {a_s / c_s:.2f}"
        )


if __name__ == "__main__":
    main()
