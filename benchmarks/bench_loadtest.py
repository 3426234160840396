"""Benchmark: load tests with the data's skew, before and after the phase-2 indexes, direct and
through a PgBouncer transaction pool.

    python benchmarks/bench_loadtest.py                         # dev band, clients 1,4,16,64, 10 s
    python benchmarks/bench_loadtest.py --dataset out/dev --duration 20
    python benchmarks/bench_loadtest.py --dsn postgresql://postgres@127.0.0.1:5432/x

Steps: generate the dev band (unless --dataset), load it into --schema, roll the phase-2 indexes
back, build the workload (default mix), sweep `pre` directly and pooled, apply the indexes,
sweep `post` directly and pooled, compare. Prints per query and client count TPS, p95 and p99,
the W1 write overhead and the read change against the brief's expectation (Q1 -70 %, Q3 -62 %,
Q4 -30 % at dev; p95 65 ms -> 20 ms); writes every JSON and one loadtest.html into --out.
W1/W2 rows written by the pre sweeps stay for the post sweeps (a few thousand rows against
millions: negligible). The sweeps are closed loop (`--closed-loop`): this benchmark measures
throughput and the knee per client count; its comparisons are the closed-loop rule's, labelled
so, not a verdict at equal offered load (docs/loadtest.md). Not a test: it prints figures.
Record them in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from _common import SYNTHGEN, generate_cmd

EXPECTED = {"Q1": -0.70, "Q3": -0.62, "Q4": -0.30}


def _run(*args: str) -> str:
    proc = subprocess.run([*SYNTHGEN, *args], capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 3):
        sys.exit(f"synthgen {' '.join(args[:2])} failed: {proc.stderr.strip()}")
    return proc.stdout


def _sweep(args: argparse.Namespace, dsn: str, label: str, pool: str) -> dict[str, Any]:
    out = args.out / f"lt-{label}-{pool}.json"
    extra = ["--pool", pool, "--pool-size", str(args.pool_size)] if pool != "none" else []
    clients = args.clients
    if pool == "writes":  # W1 alone, directly: the write cost without the reads' CPU contention
        extra, clients = ["--mix", "W1=1"], args.write_clients
    _run(
        "loadtest", "--workload", str(args.out / "workload"), "--dsn", dsn, "--clients",
        clients, "--duration", str(args.duration), "--label", label, "--out", str(out),
        "--closed-loop", *extra,
    )  # fmt: skip
    return dict(json.loads(out.read_text()))


def _table(runs: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "| run | clients | total TPS | " + " | ".join(
            f"{k} TPS / p95 / p99 ms" for k in ("Q1", "Q2", "Q3", "Q4", "Q5", "W1")
        ) + " |",
        "|---|---:|---:|" + "---:|" * 6,
    ]  # fmt: skip
    for name, result in runs.items():
        for step in result["steps"]:
            cells = [
                f"{q['tps']:.0f} / {q['p95_ms']:.1f} / {q['p99_ms']:.1f}"
                if (q := step["queries"].get(k)) and q.get("transactions")
                else "-"
                for k in ("Q1", "Q2", "Q3", "Q4", "Q5", "W1")
            ]
            lines.append(
                f"| {name} | {step['clients']} | {step['tps']:.0f} | " + " | ".join(cells) + " |"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dsn", help="target server [default: the local cluster]")
    parser.add_argument("--dataset", type=Path, help="an existing dataset [default: generate dev]")
    parser.add_argument("--schema", default="bench_loadtest")
    parser.add_argument("--clients", default="1,4,16,64")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--pool-size", type=int, default=10)
    parser.add_argument("--write-clients", default="1,4,16")
    parser.add_argument("--out", type=Path, default=Path("out/bench-loadtest"))
    parser.add_argument("--report-only", action="store_true", help="summarise --out's JSON again")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.report_only:
        names = {"none": "direct", "pgbouncer": "pgbouncer", "writes": "W1"}
        report({
            f"{label}, {name}": json.loads((args.out / f"lt-{label}-{pool}.json").read_text())
            for label in ("pre", "post") for pool, name in names.items()
        }, args.out)  # fmt: skip
        return
    from synthgen.postgres.connect import resolve_dsn

    dsn = resolve_dsn(args.dsn)
    dataset = args.dataset or args.out / "ds"
    if not (dataset / "manifest.json").is_file():
        subprocess.run(generate_cmd(dataset, 1.0, 2), check=True)
    common = ["--dsn", dsn, "--schema", args.schema]
    _run("load", str(dataset), *common, "--replace", "--quiet")
    _run("indexes", "rollback", *common, "--quiet")
    _run("workload", *common, "--out", str(args.out / "workload"))
    runs: dict[str, dict[str, Any]] = {}
    for label in ("pre", "post"):
        if label == "post":
            _run("indexes", "apply", *common, "--quiet")
        for pool, name in (("none", "direct"), ("pgbouncer", "pgbouncer"), ("writes", "W1")):
            runs[f"{label}, {name}"] = _sweep(args, dsn, label, pool)
    report(runs, args.out)


def report(runs: dict[str, dict[str, Any]], out: Path) -> None:
    """Print the table, the comparisons and the knees; write compare-*.json and loadtest.html."""
    from synthgen.loadtest.compare import compare_results
    from synthgen.loadtest.html import write_loadtest_html

    print("\n".join(_table(runs)))
    for pool in ("direct", "pgbouncer", "W1"):
        result = compare_results(runs[f"pre, {pool}"], runs[f"post, {pool}"])
        (out / f"compare-{pool}.json").write_text(json.dumps(result, indent=2) + "\n")
        verdict = f"decision {result['decision']} ({'; '.join(result['reasons'])})"
        print(f"\n{pool}: {verdict if pool != 'W1' else 'W1 alone, write overhead'}")
        for key, change in sorted(result["p95_change_by_query"].items()):
            expected = f" (brief: {EXPECTED[key]:+.0%})" if key in EXPECTED else ""
            print(f"  {key} p95 {change:+.1%} (geometric mean over clients){expected}")
        for row in result["write_overhead"].get("W1", {}).get("by_clients", []):
            print(
                f"  W1 at {row['clients']} clients: p50 {row['p50_change']:+.1%}, "
                f"p95 {row['p95_change']:+.1%}, TPS {row['tps_change']:+.1%}"
            )
        for name in (f"pre, {pool}", f"post, {pool}"):
            reads = [
                s["queries"][k]["p95_ms"]
                for s in runs[name]["steps"][:1]
                for k in ("Q1", "Q2", "Q3", "Q4", "Q5", "W1")
                if s["queries"].get(k, {}).get("transactions")
            ]
            print(f"  {name}: knee {runs[name]['knee']['reason']}; "
                  f"1-client p95 max {max(reads):.1f} ms")  # fmt: skip
    decision = compare_results(runs["pre, direct"], runs["post, direct"])
    html = write_loadtest_html(out / "loadtest.html", list(runs.values()), decision)
    print(f"\nwrote {html}")


if __name__ == "__main__":
    main()
