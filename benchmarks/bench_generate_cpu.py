"""Benchmark by CPU time, for a loaded machine where wall times mean nothing.

    python benchmarks/bench_generate_cpu.py profile    # where the biggest dev shard's CPU goes
    python benchmarks/bench_generate_cpu.py band       # where a whole dev build's CPU goes
    python benchmarks/bench_generate_cpu.py ab OLD NEW --repeat 3 --compare

`ab` builds the dev band from each checkout (e.g. `git worktree add /tmp/old main`: a directory
holding synthgen/ and specs/, put first on PYTHONPATH), alternating, and prints the CPU-seconds
(user + sys) of each build's process tree, medians; with --compare, tpchgen-cli SF1 after each
pair (its output removed first), and the ratio of rows per CPU-second.

Not a test: it prints figures. Record them in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
from _common import ROOT, generate_cmd


def profile(seed: str, lines: int) -> None:
    """cProfile (CPU clock) of the dev band's biggest shard task, 3 runs after a warm-up."""
    from synthgen.generate.blueprint import make_plan
    from synthgen.generate.executors import LocalPool
    from synthgen.generate.ids import arrival_offsets
    from synthgen.generate.shard import ShardTask, run_shard
    from synthgen.spec import load_spec

    spec = load_spec(None)
    plan = make_plan(spec, "dev", 1.0, seed)
    with tempfile.TemporaryDirectory(prefix="synthgen-prof-") as tmp, LocalPool(1) as pool:
        offsets = arrival_offsets(spec, seed, plan, pool, Path(tmp))
        s = max(plan.shard_slices, key=lambda s: int(s.piece_count.sum()))
        task = ShardTask(spec, seed, tmp, "zstd", s, offsets.for_shard(s.shard))
        run_shard(task)
        prof = cProfile.Profile(time.process_time)
        for _ in range(3):
            prof.runcall(run_shard, task)
    print(f"shard {s.shard} of {len(plan.shard_slices)}, 3 runs, CPU clock:")
    pstats.Stats(prof).sort_stats("cumtime").print_stats(lines)


def band(seed: str, lines: int) -> None:
    """cProfile (CPU clock) of a whole dev band build in this process, one worker: the id pass,
    every shard task, the skeleton tables, start-up imports included."""
    with tempfile.TemporaryDirectory(prefix="synthgen-prof-") as tmp:
        argv = ["synthgen", "generate", "--band", "dev", "--seed", seed, "--out", f"{tmp}/dev"]
        sys.argv = [*argv, "--workers", "1", "--quiet"]
        prof = cProfile.Profile(time.process_time)
        try:
            prof.runcall(_cli_main)
        except SystemExit as exc:
            if exc.code:
                raise
    pstats.Stats(prof).sort_stats("cumtime").print_stats(lines)


def _cli_main() -> None:
    from synthgen.cli import main as cli_main  # imported here: its imports are profiled

    cli_main()


def cpu_run(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    """CPU-seconds (user + sys) of a command's whole process tree, and its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, out


def dev_build(tree: Path, out: Path) -> tuple[float, int, str]:
    """CPU-s, rows and a digest of the Parquet bytes of a dev band build from `tree`."""
    shutil.rmtree(out, ignore_errors=True)
    env = dict(os.environ, PYTHONPATH=str(tree))
    cpu, stdout = cpu_run([*generate_cmd(out, 1.0, 2), "--json"], env)
    digest = hashlib.sha256()
    for path in sorted(out.rglob("*.parquet")):
        digest.update(path.read_bytes())
    shutil.rmtree(out, ignore_errors=True)
    return cpu, sum(json.loads(stdout)["counts"].values()), digest.hexdigest()[:12]


def tpchgen(out: Path) -> tuple[float, int]:
    exe = shutil.which("tpchgen-cli") or str(Path(sys.executable).parent / "tpchgen-cli")
    shutil.rmtree(out, ignore_errors=True)  # it skips files that exist
    cpu, _ = cpu_run([exe, "parquet", "-s", "1", "--output-dir", str(out)], dict(os.environ))
    rows = sum(pq.ParquetFile(f).metadata.num_rows for f in out.rglob("*.parquet"))
    shutil.rmtree(out, ignore_errors=True)
    return cpu, rows


def ab(trees: list[Path], repeat: int, compare: bool) -> None:
    cpu: dict[str, list[float]] = {str(t): [] for t in trees}
    peer: list[float] = []
    rows, digests, peer_rows = {}, {}, 0
    with tempfile.TemporaryDirectory(prefix="synthgen-ab-") as tmp:
        for i in range(repeat):
            for tree in trees if i % 2 == 0 else trees[::-1]:
                c, rows[str(tree)], digests[str(tree)] = dev_build(tree, Path(tmp) / "dev")
                cpu[str(tree)].append(c)
            if compare:
                c, peer_rows = tpchgen(Path(tmp) / "tpch")
                peer.append(c)
    for tree, runs in cpu.items():
        m = statistics.median(runs)
        print(
            f"{tree}: median {m:.2f} CPU-s ({', '.join(f'{r:.2f}' for r in runs)}), "
            f"{rows[tree]:,} rows, {m / rows[tree] * 1e6:.3f} us/row, output {digests[tree]}"
        )
        if peer:
            per_row = statistics.median(peer) / peer_rows
            print(f"  rows per CPU-s vs tpchgen-cli: {per_row / (m / rows[tree]):.2f}x")
    if peer:
        m = statistics.median(peer)
        runs = ", ".join(f"{r:.2f}" for r in peer)
        print(f"tpchgen-cli SF1: median {m:.2f} CPU-s ({runs}), {peer_rows:,} rows")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="what", required=True)
    prof = sub.add_parser("profile")
    prof.add_argument("--seed", default="bench")
    prof.add_argument("--lines", type=int, default=40)
    whole = sub.add_parser("band")
    whole.add_argument("--seed", default="bench")
    whole.add_argument("--lines", type=int, default=60)
    pair = sub.add_parser("ab")
    pair.add_argument("trees", type=Path, nargs="+", help="directories holding synthgen/")
    pair.add_argument("--repeat", type=int, default=3)
    pair.add_argument("--compare", action="store_true", help="also tpchgen-cli SF1, interleaved")
    args = parser.parse_args()
    if args.what == "profile":
        profile(args.seed, args.lines)
    elif args.what == "band":
        band(args.seed, args.lines)
    else:
        ab([t.absolute() for t in args.trees] or [ROOT], args.repeat, args.compare)


if __name__ == "__main__":
    main()
