"""Benchmark: the fidelity gate's full validation of the dev band, and at 4x the rows.

    python benchmarks/bench_validate.py              # build dev and 4x dev, validate each 3x
    python benchmarks/bench_validate.py --repeat 5   # more runs per dataset
    python benchmarks/bench_validate.py --only-dev   # skip the 4x dataset (about 1.5 GB)
    python benchmarks/bench_validate.py --memory-limit 1GiB   # validate under another cap

Datasets are built into a temporary directory with `synthgen generate --workers 2` and removed
afterwards (unless --keep). Each validation runs `synthgen validate DATASET --quiet` in a fresh
process, so the figure is what a user waits for (start-up included); the gate's own time and the
slowest checks come from the JSON report it saves. Target on a 2-core machine: the dev band's
full validation in <= 10 s. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import ROOT, SYNTHGEN, generate_cmd

TARGET_SECONDS = 10.0


def generate(out: Path, scale: float, workers: int) -> float:
    """Build the dev band at `scale` into `out`; return the build's wall time."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = generate_cmd(out, scale, workers)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def validate(dataset: Path, extra: list[str]) -> tuple[float, float, dict[str, Any], int]:
    """One `synthgen validate` in a fresh process: wall and CPU seconds, report, peak RSS (the
    kernel's high-water mark of the process, from wait4; DuckDB runs as threads inside it)."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [*SYNTHGEN, "validate", str(dataset), "--quiet", *extra],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in (0, 3):
            err.seek(0)
            sys.exit(f"validate failed ({proc.returncode}): {err.read().decode().strip()}")
    report = json.loads((dataset / "fidelity-report.json").read_text())
    return wall, usage.ru_utime + usage.ru_stime, report, usage.ru_maxrss * 1024


def measure(name: str, dataset: Path, repeat: int, extra: list[str]) -> dict[str, Any]:
    """Validate `repeat` times; return the median figures and per-check medians."""
    walls, cpus, gates, peak = [], [], [], 0
    per_check: dict[str, list[float]] = {}
    verdict = ""
    for _ in range(repeat):
        wall, cpu, report, rss = validate(dataset, extra)
        walls.append(wall)
        cpus.append(cpu)
        gates.append(report["seconds"])
        peak = max(peak, rss)
        verdict = report["decision"]["verdict"]
        for check in report["checks"]:
            per_check.setdefault(check["name"], []).append(check["seconds"])
    manifest = json.loads((dataset / "manifest.json").read_text())
    rows = sum(manifest["counts"].values())
    wall = statistics.median(walls)
    print(
        f"\n{name}: {manifest['counts']['messages']:,} messages, {rows:,} rows in all tables, "
        f"{sum(f['bytes'] for f in manifest['files']) / 1e6:,.0f} MB of Parquet"
    )
    print(
        f"  validate (wall, fresh process): median {wall:.2f} s  "
        f"[{', '.join(f'{w:.2f}' for w in walls)}]  -> {verdict}"
    )
    print(f"  gate itself (report 'seconds'):  median {statistics.median(gates):.2f} s")
    print(
        f"  CPU (user + sys, all threads):   median {statistics.median(cpus):.2f} s "
        "(CPU / cores bounds the wall time from below on an idle machine)"
    )
    print(f"  throughput: {rows / wall / 1e6:.2f} M rows/s; peak RSS {peak / 2**20:,.0f} MiB")
    parquet = sum(f["bytes"] for f in manifest["files"])
    print(f"  peak RSS per GB of Parquet: {peak / 2**20 / (parquet / 1e9):,.0f} MiB")
    slowest = sorted(per_check.items(), key=lambda kv: -statistics.median(kv[1]))
    print(
        "  per check (median s): "
        + ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in slowest)
    )
    return {
        "wall": wall,
        "cpu": statistics.median(cpus),
        "rows": rows,
        "messages": manifest["counts"]["messages"],
        "peak_rss": peak,
    }


def main() -> None:
    """Build, validate, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="validations per dataset (median)")
    parser.add_argument("--workers", type=int, default=2, help="generate --workers")
    parser.add_argument("--only-dev", action="store_true", help="skip the 4x dataset")
    parser.add_argument("--keep", action="store_true", help="keep the datasets")
    parser.add_argument("--dir", type=Path, help="where to build (default: a temp directory)")
    parser.add_argument(
        "--memory-limit", help="validate --memory-limit (default: synthgen's own, 2GiB)"
    )
    parser.add_argument("--scales", default="1,4", help="dev-band scales to build (default 1,4)")
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="synthgen-bench-validate-"))
    extra = ["--memory-limit", args.memory_limit] if args.memory_limit else []
    print(
        f"synthgen validate benchmark: {os.cpu_count()} cores, datasets in {work}, "
        f"memory limit {args.memory_limit or 'default (2GiB)'}"
    )
    try:
        results = {}
        for scale in (float(x) for x in args.scales.split(",")):
            if args.only_dev and scale != 1.0:
                continue
            name = "dev" if scale == 1.0 else f"dev x{scale:g}"
            dataset = work / name.replace(" ", "")
            if not (args.keep and (dataset / "manifest.json").exists()):
                seconds = generate(dataset, scale, args.workers)
                print(f"built {name} in {seconds:.1f} s (generate --workers {args.workers})")
            results[name] = measure(name, dataset, args.repeat, extra)
        for name, r in results.items():
            print(f"peak RSS {name}: {r['peak_rss'] / 2**20:,.0f} MiB")
        if "dev" not in results:
            return
        dev = results["dev"]
        verdict = "within" if dev["wall"] <= TARGET_SECONDS else "OVER"
        print(
            f"\ndev band full validation: {dev['wall']:.2f} s ({verdict} the "
            f"{TARGET_SECONDS:.0f} s target)"
        )
        if "dev x4" in results:
            big = results["dev x4"]
            ratio = big["wall"] / dev["wall"]
            per_row = ratio / (big["rows"] / dev["rows"])
            print(
                f"4x the rows: {big['wall']:.2f} s = {ratio:.2f}x the dev time "
                f"({per_row:.2f}x the time per row; 1.00 = linear)"
            )
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
