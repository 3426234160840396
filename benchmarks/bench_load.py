"""Benchmark: the ADBC loader against PostgreSQL's own server-side COPY, same server, same rows.

    python benchmarks/bench_load.py                    # dev band, median of 3
    python benchmarks/bench_load.py --dataset out/dev  # an existing dataset
    python benchmarks/bench_load.py --dsn postgresql://postgres@127.0.0.1:5432/x  # local server

For each repeat, into a fresh bare ``messages`` table (no keys, autovacuum off, CHECKPOINT first):

- ``COPY ... FROM 'messages.csv' (FORMAT csv)`` run by the server itself (the CSV is exported
  once beforehand with DuckDB, into a directory the server's OS user can read; not timed);
- the loader's own shard path (Parquet -> Arrow -> binary COPY over ADBC) with ``--jobs 1`` and
  with all cores, each in a child process whose peak RSS is measured;
- a full ``synthgen load`` of the whole dataset, for the post-load key/index/FK/ANALYZE times.

MB/s counts the CSV bytes of the messages rows for every method, so all use one yardstick.

    python benchmarks/bench_load.py --mapping examples/prisma-chat/mapping.json

With ``--mapping`` it compares instead, each repeat in rotated order, the whole contract load
(``synthgen load``, synthgen's own tables) with the mapped load of the same dataset into the
application's schema made afresh by its migrations (``--migrations``, default ``schema.sql``
beside the mapping), and — like for like — the same mapping without its derived tables (the
example's per-recipient delivery table doubles the receipts): wall time of each, the ratios of
totals and of seconds per million rows written, peak client RSS, and the mapped load's steps.
Not a test: it prints figures. Record them in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
INGEST_CHILD = [sys.executable, str(Path(__file__).resolve()), "_ingest"]
SYNTHGEN_CHILD = [sys.executable, str(Path(__file__).resolve()), "_cli"]
PEAK_MARK = "__peak_rss__ "
STEP_ORDER = (
    "verify shards",
    "load shards",
    "verify counts",
    "primary keys",
    "phase-1 indexes",
    "foreign keys (NOT VALID)",
    "validate foreign keys",
    "vacuum (freeze, analyze)",
)


def _sql(dsn: str, *statements: str) -> list[tuple[Any, ...]]:
    """Run statements on a fresh connection; return the rows of the last one if it is a query."""
    from synthgen.postgres.connect import connect, execute, fetch_all

    with connect(dsn, autocommit=True) as conn:
        for statement in statements[:-1]:
            execute(conn, statement)
        last = statements[-1]
        if last.startswith("SELECT"):
            return fetch_all(conn, last)
        execute(conn, last)
        return []


def fresh_messages_table(dsn: str, schema: str) -> None:
    """A bare messages table exactly as the loader creates it; then a checkpoint."""
    from synthgen.load.keys import autovacuum_sql
    from synthgen.schema import TABLES, create_table_sql

    _sql(
        dsn,
        f"DROP SCHEMA IF EXISTS {schema} CASCADE",
        f"CREATE SCHEMA {schema}",
        create_table_sql(TABLES["messages"], schema),
        autovacuum_sql("messages", schema, enabled=False),
        "CHECKPOINT",
    )


def ingest_child(dataset: Path, dsn: str, schema: str, jobs: int) -> None:
    """Child process: load the messages shards with the loader's code path; print JSON."""
    from synthgen.load.contract import ingest_shard
    from synthgen.load.pool import Pool, run_parallel
    from synthgen.load.shards import open_dataset

    data = open_dataset(dataset)
    shards = sorted(
        (s for s in data.shards if s.table == "messages"), key=lambda s: (-s.bytes, s.path)
    )

    def work(conn: Any, entry: Any) -> None:
        ingest_shard(conn, data.root, entry, schema)
        conn.commit()

    with Pool(dsn, jobs) as pool:
        for n in range(jobs):
            pool.get(n)  # connect before the clock starts, as COPY's session already exists
        start = time.perf_counter()
        run_parallel(pool, shards, work)
        seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds}))
    print(f"{PEAK_MARK}{_peak_rss()}", file=sys.stderr)


def _peak_rss() -> int:
    """This process's own peak RSS (VmHWM). Not ru_maxrss: Linux carries that over from the
    parent across fork and exec, so a child of a big parent would inherit its figure."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def cli_child(args: list[str]) -> None:
    """Child process: run the synthgen CLI, then report the peak RSS on stderr's last line."""
    from synthgen.cli import cli
    from synthgen.cli.common import run_cli

    code = run_cli(cli, args)
    print(f"{PEAK_MARK}{_peak_rss()}", file=sys.stderr)
    sys.exit(code)


def _child(args: list[str]) -> tuple[dict[str, Any], int]:
    """Run a child process; return its JSON output (stdout) and its peak RSS in bytes."""
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    marks = [line for line in proc.stderr.splitlines() if line.startswith(PEAK_MARK)]
    if proc.returncode != 0 or not marks:
        raise SystemExit(f"{' '.join(args[:5])} ... failed:\n{proc.stderr}")
    return json.loads(proc.stdout), int(marks[-1][len(PEAK_MARK) :])


def export_csv(dataset: Path, directory: Path) -> Path:
    """The messages rows as CSV, readable by the server's OS user (not timed)."""
    import duckdb

    csv = directory / "messages.csv"
    if not csv.exists():
        source = f"read_parquet('{dataset}/messages/*.parquet')"
        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")
        con.execute(f"COPY (SELECT * FROM {source}) TO '{csv}' (FORMAT csv, HEADER false)")
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        for path in (directory, csv):
            os.chown(path, account.pw_uid, account.pw_gid)
    directory.chmod(0o755)
    csv.chmod(0o644)
    return csv


def ensure_dataset(args: argparse.Namespace) -> Path:
    if args.dataset:
        return Path(args.dataset)
    from synthgen.generate.build import BuildOptions, build_dataset
    from synthgen.spec import load_spec

    out = Path(args.work) / f"dev-{args.scale:g}-{args.seed}"
    if not (out / "manifest.json").exists():
        print(f"generating the dev band x{args.scale:g} into {out} ...", file=sys.stderr)
        options = BuildOptions("dev", args.scale, args.seed, out, workers=os.cpu_count() or 1)
        build_dataset(load_spec(), options)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", help="an existing dataset (default: generate the dev band)")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", default="bench")
    parser.add_argument("--work", default=str(ROOT / ".synthgen" / "bench-load"))
    parser.add_argument("--dsn", help="a LOCAL server (it must read the CSV from this disk)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--mapping", help="compare the mapped load with the contract load")
    parser.add_argument("--migrations", help="the app's migrations (default: schema.sql beside)")
    args = parser.parse_args()
    Path(args.work).mkdir(parents=True, exist_ok=True)
    dataset = ensure_dataset(args)
    if args.dsn:
        dsn = args.dsn
    else:
        from synthgen.postgres.cluster import ensure_cluster

        dsn = ensure_cluster(Path(args.work) / "postgres").dsn
    manifest = json.loads((dataset / "manifest.json").read_text())
    if args.mapping:
        mapped_report(run_mapping_benchmark(dataset, dsn, args), manifest, args)
        return
    rows = int(manifest["counts"]["messages"])
    csv_dir = Path(tempfile.mkdtemp(prefix="synthgen-bench-csv-"))
    try:
        csv = export_csv(dataset, csv_dir)
        figures = run_benchmark(dataset, dsn, csv, rows, args)
    finally:
        for path in csv_dir.glob("*"):
            path.unlink()
        csv_dir.rmdir()
    report(figures, rows, args)


def run_benchmark(
    dataset: Path, dsn: str, csv: Path, rows: int, args: argparse.Namespace
) -> dict[str, Any]:
    csv_bytes = csv.stat().st_size
    runs: dict[str, list[float]] = {"copy": [], "adbc_1": [], f"adbc_{args.jobs}": []}
    rss: dict[str, int] = {}
    steps: list[dict[str, float]] = []
    for repeat in range(args.repeat):
        order = list(runs)
        order = order[repeat % len(order) :] + order[: repeat % len(order)]  # spread drift
        for method in order:
            fresh_messages_table(dsn, "bench_load")
            if method == "copy":
                from synthgen.postgres.connect import connect, execute

                with connect(dsn, autocommit=True) as conn:
                    start = time.perf_counter()
                    execute(conn, f"COPY bench_load.messages FROM '{csv}' (FORMAT csv)")
                    runs[method].append(time.perf_counter() - start)
            else:
                jobs = int(method.split("_")[1])
                child_args = [*INGEST_CHILD, str(dataset), dsn, "bench_load", str(jobs)]
                result, peak = _child(child_args)
                runs[method].append(result["seconds"])
                rss[method] = max(rss.get(method, 0), peak)
            count = _sql(dsn, "SELECT count(*) FROM bench_load.messages")[0][0]
            assert count == rows, f"{method}: {count} rows loaded, expected {rows}"
            print(f"  run {repeat + 1} {method:<8} {runs[method][-1]:7.2f} s", file=sys.stderr)
        full = [
            *SYNTHGEN_CHILD, "load", str(dataset), "--dsn", dsn, "--schema", "bench_full",
            "--replace", "--quiet", "--json", "--jobs", str(args.jobs),
            "--i-know-this-is-not-production",
        ]  # fmt: skip
        summary, peak = _child(full)
        steps.append(summary["steps"])
        rss["full_load"] = max(rss.get("full_load", 0), peak)
        print(f"  run {repeat + 1} full load {summary['seconds']:7.2f} s", file=sys.stderr)
    _sql(
        dsn, "DROP SCHEMA IF EXISTS bench_load CASCADE", "DROP SCHEMA IF EXISTS bench_full CASCADE"
    )
    return {"runs": runs, "rss": rss, "steps": steps, "csv_bytes": csv_bytes}


def run_mapping_benchmark(dataset: Path, dsn: str, args: argparse.Namespace) -> dict[str, Any]:
    """Contract load vs mapped load of the same dataset, alternating, fresh targets each time."""
    from synthgen.appschema.migrate import run_migrations

    mapping = json.loads(Path(args.mapping).read_text())
    schema = mapping.get("schema", "app")
    migrations = args.migrations or str(Path(args.mapping).with_name("schema.sql"))
    core = Path(args.work) / "mapping-without-derived.json"
    core.write_text(json.dumps({k: v for k, v in mapping.items() if k != "derived"}))
    methods = ["contract", "mapped", "mapped_core"]
    times: dict[str, list[float]] = {m: [] for m in methods}
    rss: dict[str, int] = {}
    steps: dict[str, list[dict[str, float]]] = {m: [] for m in methods}
    written: dict[str, int] = {}
    for repeat in range(args.repeat):
        order = methods[repeat % 3 :] + methods[: repeat % 3]  # spread drift
        for method in order:
            _sql(dsn, "CHECKPOINT")
            if method == "contract":
                cli = ["load", str(dataset), "--dsn", dsn, "--schema", "bench_full", "--replace"]
            else:
                _sql(dsn, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE',
                     f'DROP SCHEMA IF EXISTS "synthgen_{schema}" CASCADE')  # fmt: skip
                run_migrations(dsn, schema, migrations)
                used = args.mapping if method == "mapped" else str(core)
                cli = ["load", str(dataset), "--dsn", dsn, "--mapping", used]
            cli += [
                "--quiet",
                "--json",
                "--jobs",
                str(args.jobs),
                "--i-know-this-is-not-production",
            ]
            start = time.perf_counter()
            summary, peak = _child([*SYNTHGEN_CHILD, *cli])
            times[method].append(time.perf_counter() - start)
            steps[method].append(summary["steps"])
            written[method] = sum(int(n) for n in summary["counts"].values())
            rss[method] = max(rss.get(method, 0), peak)
            print(f"  run {repeat + 1} {method:<11} {times[method][-1]:7.2f} s", file=sys.stderr)
    _sql(dsn, "DROP SCHEMA IF EXISTS bench_full CASCADE")
    return {"times": times, "rss": rss, "steps": steps, "written": written}


def mapped_report(
    figures: dict[str, Any], manifest: dict[str, Any], args: argparse.Namespace
) -> None:
    times, rss, steps, written = (figures[k] for k in ("times", "rss", "steps", "written"))
    median = {m: statistics.median(t) for m, t in times.items()}
    per_m = {m: median[m] / (written[m] / 1e6) for m in median}  # seconds per million rows
    result = {
        "rows": sum(int(n) for n in manifest["counts"].values()),
        "rows_written": written,
        "median_s": {m: round(v, 2) for m, v in median.items()},
        "runs_s": {m: [round(t, 2) for t in v] for m, v in times.items()},
        "mapped_vs_contract": round(median["mapped"] / median["contract"], 2),
        "core_vs_contract": round(median["mapped_core"] / median["contract"], 2),
        "s_per_million_rows": {m: round(v, 2) for m, v in per_m.items()},
        "mapped_vs_contract_per_row": round(per_m["mapped"] / per_m["contract"], 2),
        "peak_rss_mb": {m: round(v / 2**20) for m, v in rss.items()},
        "steps_s": {
            method: {
                k: round(statistics.median(s.get(k, 0.0) for s in steps[method]), 2)
                for k in steps[method][0]
            }
            for method in steps
        },
        "load_average": os.getloadavg()[0],
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['rows']:,} rows; median of {args.repeat} runs each, rotated")
    for method in times:
        print(f"  {method:<11} {result['median_s'][method]:7.2f} s  "
              f"{written[method] / 1e6:5.2f} M rows written  "
              f"{result['s_per_million_rows'][method]:5.2f} s/M rows  peak RSS "
              f"{result['peak_rss_mb'][method]} MB  runs {result['runs_s'][method]}")  # fmt: skip
    print(f"  mapped / contract: {result['mapped_vs_contract']:.2f}x total, "
          f"{result['mapped_vs_contract_per_row']:.2f}x per row written; without the derived "
          f"tables: {result['core_vs_contract']:.2f}x total")  # fmt: skip
    for method, named in result["steps_s"].items():
        print(f"    {method} steps: " + ", ".join(f"{k} {v:.2f}" for k, v in named.items()))


def report(figures: dict[str, Any], rows: int, args: argparse.Namespace) -> None:
    runs, rss, steps, csv_bytes = (figures[k] for k in ("runs", "rss", "steps", "csv_bytes"))
    median = {method: statistics.median(times) for method, times in runs.items()}
    table = {
        method: {
            "median_s": round(seconds, 2),
            "runs_s": [round(t, 2) for t in runs[method]],
            "rows_per_s": round(rows / seconds),
            "mb_per_s": round(csv_bytes / 1e6 / seconds, 1),
            "vs_copy": round(median["copy"] / seconds, 2),
            "peak_rss_mb": round(rss.get(method, 0) / 2**20) if method in rss else None,
        }
        for method, seconds in median.items()
    }
    known = [*STEP_ORDER, *sorted(set(steps[0]) - set(STEP_ORDER))]
    step_names = [name for name in known if name in steps[0]]
    post = {name: round(statistics.median(s[name] for s in steps), 2) for name in step_names}
    build = sum(v for k, v in post.items() if k not in ("verify shards", "load shards"))
    result = {
        "rows": rows,
        "csv_mb": round(csv_bytes / 1e6, 1),
        "jobs_all": args.jobs,
        "methods": table,
        "full_load_steps_s": post,
        "post_load_build_s": round(build, 2),
        "full_load_peak_rss_mb": round(rss["full_load"] / 2**20),
        "load_average": os.getloadavg()[0],
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"messages: {rows:,} rows, {result['csv_mb']} MB as CSV; median of {args.repeat} runs")
    print(f"{'method':<22}{'seconds':>9}{'rows/s':>12}{'MB/s':>8}{'x COPY':>8}{'peak RSS':>10}")
    for method, row in table.items():
        label = "server COPY FROM csv" if method == "copy" else f"ADBC --jobs {method[5:]}"
        peak = f"{row['peak_rss_mb']} MB" if row["peak_rss_mb"] is not None else "-"
        print(
            f"{label:<22}{row['median_s']:>9.2f}{row['rows_per_s']:>12,}{row['mb_per_s']:>8}"
            f"{row['vs_copy']:>8.2f}{peak:>10}"
        )
    print(f"full synthgen load --jobs {args.jobs} (median step times, s):")
    for name, seconds in post.items():
        print(f"  {name:<26}{seconds:>8.2f}")
    print(f"  post-load keys/indexes/FKs/ANALYZE total: {build:.2f} s")
    print(f"  peak client RSS of the full load: {result['full_load_peak_rss_mb']} MB")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_ingest":
        ingest_child(Path(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif len(sys.argv) > 1 and sys.argv[1] == "_cli":
        cli_child(sys.argv[2:])
    else:
        main()
