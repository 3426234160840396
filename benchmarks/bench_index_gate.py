"""Benchmark: the whole workflow with the index gate, run twice at one band, to see the stage
times and whether the verdict is stable from one run to the next.

    python benchmarks/bench_index_gate.py                       # dev band, seed dev-1
    python benchmarks/bench_index_gate.py --band staging --seed staging-1   # ~15+ min each
    python benchmarks/bench_index_gate.py --band staging --compare-plans-with out/bench-gate/dev-1
    python benchmarks/bench_index_gate.py --rehearse --repeats 1   # indexes built under load

Each repeat is `synthgen run --band BAND --seed SEED --out DIR/run-N --overwrite --json` in a
fresh process (the installed command a user would call); it prints per repeat the wall time, each
stage's seconds, the load's VACUUM (FREEZE, ANALYZE) time, both verdicts and the exit code, then
Q1-Q5 p50 before/after per class in custom and generic plan mode (client-timed, the decision's
metric, and EXPLAIN server time). Not a test: it prints figures. Record them in
benchmarks/README.md and docs/workflow.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SYNTHGEN = [sys.executable, "-c", "from synthgen.cli import main; main()"]


def run_once(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    cmd = [
        *SYNTHGEN,
        "run",
        "--band",
        args.band,
        "--seed",
        args.seed,
        "--out",
        str(out),
        "--overwrite",
        "--json",
        "--runs",
        str(args.runs),
        "--schema",
        args.schema,
    ]
    if args.dsn:
        cmd += ["--dsn", args.dsn]
    if args.compare_plans_with:
        cmd += ["--compare-plans-with", str(args.compare_plans_with)]
    if args.rehearse:
        cmd += ["--rehearse"]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - started
    if proc.returncode not in (0, 3):
        sys.exit(f"synthgen run failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    summary: dict[str, Any] = json.loads(proc.stdout)
    summary["wall_s"] = wall
    summary["exit"] = proc.returncode
    return summary


def latency_table(out: Path) -> list[str]:
    """Q1-Q5 p50 before -> after, per class and plan mode, client and EXPLAIN."""
    compare = json.loads((out / "compare.json").read_text())
    pre = json.loads((out / "baseline-pre.json").read_text())
    post = json.loads((out / "baseline-post.json").read_text())
    key = lambda r: (r["query"], r["class"], r.get("plan_mode"))  # noqa: E731
    after = {key(r): r for r in post["results"]}
    lines = [f"  decision metric {compare['metric']}, plan modes {compare['plan_mode']}"]
    for r in pre["results"]:
        p = after[key(r)]
        lines.append(
            f"  {r['name']:<26} {r['class']:<7} {r.get('plan_mode', '-'):<8} client "
            f"{r['client_ms']['p50']:9.3f} -> {p['client_ms']['p50']:9.3f} ms   explain "
            f"{r['explain_ms']['p50']:9.3f} -> {p['explain_ms']['p50']:9.3f} ms"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--band", default="dev")
    parser.add_argument("--seed", default="dev-1")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--runs", type=int, default=30, help="timed runs per query x class x mode")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "bench-gate")
    parser.add_argument("--dsn", help="default: $SYNTHGEN_DSN, else the local cluster")
    parser.add_argument("--schema", default="perf_synthetic")
    parser.add_argument("--compare-plans-with", type=Path, help="an earlier run directory")
    parser.add_argument("--rehearse", action="store_true", help="build the indexes under load")
    args = parser.parse_args()
    verdicts = []
    for n in range(1, args.repeats + 1):
        out = args.out / f"{args.band}-{n}"
        s = run_once(args, out)
        state = json.loads((out / "run-state.json").read_text())
        vacuum = state["done"]["load"].get("steps", {}).get("vacuum (freeze, analyze)")
        stages = ", ".join(f"{k} {v:.1f} s" for k, v in s["stages"].items())
        print(f"run {n}: {args.band} seed {args.seed}: wall {s['wall_s']:.1f} s (exit {s['exit']})")
        print(f"  stages: {stages}; load's vacuum (freeze, analyze) {vacuum} s")
        print(
            f"  fidelity {s['fidelity']}; index gate {s['index_gate']}: {'; '.join(s['reasons'])}"
        )
        if s.get("rehearsal"):
            print(f"  rehearsal {s['rehearsal']} ({out / 'rehearse.html'})")
        for line in s.get("plan_changes", []):
            print(f"  plans: {line}")
        for line in latency_table(out):
            print(line)
        verdicts.append((s["fidelity"], s["index_gate"]))
    same = len(set(verdicts)) == 1
    print(f"verdicts {verdicts}: {'the same every time' if same else 'NOT the same'}")


if __name__ == "__main__":
    main()
