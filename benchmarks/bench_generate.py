"""Benchmark: build the dev band; print rows/s, MB/s, peak RSS; compare with tpchgen-cli and Faker.

    python benchmarks/bench_generate.py                 # dev band x3, median, plus 4x linearity
    python benchmarks/bench_generate.py --compare       # also tpchgen-cli SF1 and Faker, same run
    python benchmarks/bench_generate.py --executor dask --workers 2   # Dask, 1..2 workers

Not a test: it prints figures. Record them in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
from _common import generate_cmd


class TreeRss:
    """Samples the summed RSS of a process and all its descendants (Linux /proc)."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid, self.interval, self.peak = pid, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _tree(self, pid: int) -> list[int]:
        pids = [pid]
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as fh:
                    for child in fh.read().split():
                        pids += self._tree(int(child))
        except OSError:
            pass
        return pids

    def _rss(self, pid: int) -> int:
        try:
            with open(f"/proc/{pid}/statm") as fh:
                return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, sum(self._rss(p) for p in self._tree(self.pid)))
            time.sleep(self.interval)


def children_cpu() -> float:
    """CPU-seconds (user + sys) of every waited-for child process tree so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_generate(out: Path, scale: float, workers: int, band: str = "dev") -> dict[str, float]:
    shutil.rmtree(out, ignore_errors=True)
    cmd = [*generate_cmd(out, scale, workers, band), "--json"]
    start, cpu = time.perf_counter(), children_cpu()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    with TreeRss(proc.pid) as rss:
        stdout, _ = proc.communicate()
    wall, cpu = time.perf_counter() - start, children_cpu() - cpu
    if proc.returncode:
        raise SystemExit(f"generate failed with exit code {proc.returncode}")
    summary = json.loads(stdout)
    rows = sum(summary["counts"].values())
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "cpu_us_per_row": cpu / rows * 1e6,
        "rows": rows,
        "messages": summary["counts"]["messages"],
        "rows_per_s": rows / wall,
        "messages_per_s": summary["counts"]["messages"] / wall,
        "mb_per_s": summary["bytes"] / 1e6 / wall,
        "peak_rss_mib": rss.peak / 2**20,
        "mb": summary["bytes"] / 1e6,
    }


def run_tpchgen(out: Path, compression: str | None = None) -> dict[str, float] | None:
    """tpchgen-cli SF1 to Parquet, at its default compression (SNAPPY) or the one given."""
    exe = shutil.which("tpchgen-cli") or str(Path(sys.executable).parent / "tpchgen-cli")
    if not Path(exe).exists():
        print("tpchgen-cli not installed (pip install tpchgen-cli): skipping that comparison")
        return None
    shutil.rmtree(out, ignore_errors=True)  # it skips files that exist
    start, cpu = time.perf_counter(), children_cpu()
    subprocess.run(
        [
            exe,
            "parquet",
            "-s",
            "1",
            "--output-dir",
            str(out),
            *(["--compression", compression] if compression else []),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall, cpu = time.perf_counter() - start, children_cpu() - cpu
    rows = sum(pq.ParquetFile(f).metadata.num_rows for f in out.rglob("*.parquet"))
    size = sum(f.stat().st_size for f in out.rglob("*.parquet"))
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "cpu_us_per_row": cpu / rows * 1e6,
        "rows": rows,
        "rows_per_s": rows / wall,
        "mb_per_s": size / 1e6 / wall,
    }


def run_faker(rows: int = 100_000) -> dict[str, float] | None:
    try:
        from faker import Faker
    except ImportError:
        print("Faker not installed (pip install faker): skipping that comparison")
        return None
    fake = Faker()
    Faker.seed(1)
    start = time.perf_counter()
    out = []
    for i in range(rows):  # the row-by-row way this tool replaces
        out.append(
            (
                i,
                fake.random_int(1, 8000),
                fake.random_int(1, 5000),
                fake.sentence(nb_words=12),
                fake.date_time_this_year(),
            )
        )
    wall = time.perf_counter() - start
    return {"wall_s": wall, "rows": rows, "rows_per_s": rows / wall}


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--compare", action="store_true", help="also run tpchgen-cli SF1 and Faker")
    parser.add_argument("--skip-linearity", action="store_true", help="skip the 4x-rows run")
    parser.add_argument("--band", help="instead: build this whole band once (e.g. perf) and report")
    parser.add_argument("--dir", type=Path, help="with --band: where to build (default a temp dir)")
    parser.add_argument(
        "--executor", choices=["local", "dask"], default="local", help="dask: bench_dask.py"
    )
    parser.add_argument("--scale", type=float, default=0.5, help="with --executor dask: dev x F")
    args = parser.parse_args()
    if args.executor == "dask":
        from bench_dask import main as bench_dask

        bench_dask(args.workers, args.scale)
        return
    if args.band:
        target = args.dir or Path(tempfile.mkdtemp(prefix="synthgen-band-"))
        r = run_generate(target / args.band, 1.0, args.workers, args.band)
        print(
            f"synthgen {args.band} band, workers={args.workers}: wall {r['wall_s']:.1f} s, "
            f"{r['rows_per_s'] / 1e6:.2f} M rows/s ({int(r['rows']):,} rows), "
            f"{r['mb_per_s']:.1f} MB/s ({r['mb'] / 1e3:.1f} GB), "
            f"peak RSS {r['peak_rss_mib']:.0f} MiB"
        )
        shutil.rmtree(target / args.band, ignore_errors=True)
        return

    print(f"load average at the start: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="synthgen-bench-") as tmp:
        base = Path(tmp)
        runs, tpch_runs, tpch_zstd_runs = [], [], []
        for _ in range(args.repeat):  # interleaved with the peer, so all see the same noise
            runs.append(run_generate(base / "dev", 1.0, args.workers))
            if args.compare:
                tpch_run = run_tpchgen(base / "tpch")
                if tpch_run:
                    tpch_runs.append(tpch_run)
                    # the same codec and level as synthgen's default, for a like-for-like ratio
                    tpch_zstd_runs.append(run_tpchgen(base / "tpch", "ZSTD(1)"))
        dev = median_of(runs)
        print(f"synthgen dev band (5M messages), workers={args.workers}, median of {args.repeat}:")
        walls = ", ".join(f"{r['wall_s']:.2f}" for r in runs)
        print(f"  wall            {dev['wall_s']:8.2f} s   (runs: {walls})")
        print(
            f"  all tables      {dev['rows_per_s'] / 1e6:8.2f} M rows/s  "
            f"({int(dev['rows']):,} rows)"
        )
        print(f"  messages        {dev['messages_per_s'] / 1e6:8.2f} M rows/s")
        print(f"  Parquet written {dev['mb_per_s']:8.1f} MB/s   ({dev['mb']:.0f} MB)")
        print(f"  peak RSS        {dev['peak_rss_mib']:8.0f} MiB (process tree)")
        cpus = ", ".join(f"{r['cpu_s']:.2f}" for r in runs)
        print(
            f"  CPU (user+sys)  {dev['cpu_s']:8.2f} s   (runs: {cpus}); "
            f"{dev['cpu_us_per_row']:.2f} us per row"
        )
        shutil.rmtree(base / "dev", ignore_errors=True)
        if not args.skip_linearity:
            big = median_of(
                [run_generate(base / "dev4", 4.0, args.workers) for _ in range(args.repeat)]
            )
            per_msg_1 = dev["wall_s"] / dev["messages"]
            per_msg_4 = big["wall_s"] / big["messages"]
            print(
                f"4x rows (20M messages): wall {big['wall_s']:.2f} s, peak RSS "
                f"{big['peak_rss_mib']:.0f} MiB; time per message {per_msg_4 / per_msg_1:.3f}x "
                f"the 1x run (1.000 = linear)"
            )
            shutil.rmtree(base / "dev4", ignore_errors=True)
            # what a run costs whatever its size (start-up, planning, skeleton tables, tail):
            # a build of 0.5 % of the band is nearly all fixed cost
            fixed = median_of(
                [run_generate(base / "tiny", 0.005, args.workers) for _ in range(args.repeat)]
            )["wall_s"]
            marginal_1 = (dev["wall_s"] - fixed) / dev["messages"]
            marginal_4 = (big["wall_s"] - fixed) / big["messages"]
            print(
                f"  fixed cost per run (a 25 000-message build): {fixed:.2f} s; without it, time "
                f"per message at 4x is {marginal_4 / marginal_1:.3f}x the 1x run"
            )
            shutil.rmtree(base / "tiny", ignore_errors=True)
        if args.compare:
            tpch = median_of(tpch_runs) if tpch_runs else None
            if tpch:
                print(
                    f"tpchgen-cli SF1 parquet, median of {len(tpch_runs)}: {tpch['wall_s']:.2f} s, "
                    f"{tpch['rows_per_s'] / 1e6:.2f} M rows/s ({int(tpch['rows']):,} rows), "
                    f"{tpch['mb_per_s']:.1f} MB/s"
                )
                print(
                    "  ratio synthgen / tpchgen-cli rows/s: "
                    f"{dev['rows_per_s'] / tpch['rows_per_s']:.2f}x; Parquet bytes/s: "
                    f"{dev['mb_per_s'] / tpch['mb_per_s']:.2f}x"
                )
                print(
                    f"  CPU {tpch['cpu_s']:.2f} s, {tpch['cpu_us_per_row']:.2f} us per row; "
                    "ratio synthgen / tpchgen-cli rows per CPU-second: "
                    f"{tpch['cpu_us_per_row'] / dev['cpu_us_per_row']:.2f}x"
                )
                zstd = median_of([r for r in tpch_zstd_runs if r])
                print(
                    f"tpchgen-cli SF1 parquet ZSTD(1) (synthgen's codec), median of "
                    f"{len(tpch_zstd_runs)}: {zstd['wall_s']:.2f} s, "
                    f"{zstd['rows_per_s'] / 1e6:.2f} M rows/s, {zstd['mb_per_s']:.1f} MB/s"
                )
                print(
                    "  ratio synthgen / tpchgen-cli ZSTD(1) rows/s: "
                    f"{dev['rows_per_s'] / zstd['rows_per_s']:.2f}x"
                )
            faker = run_faker()
            if faker:
                print(
                    f"Faker row by row: {faker['rows_per_s']:,.0f} rows/s "
                    f"({int(faker['rows']):,} message-like rows in {faker['wall_s']:.1f} s)"
                )
                print(
                    f"  ratio synthgen messages / Faker rows/s: "
                    f"{dev['messages_per_s'] / faker['rows_per_s']:,.0f}x; Faker would need "
                    f"{5_000_000 / faker['rows_per_s'] / 60:.0f} min for the dev band's messages"
                )
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
