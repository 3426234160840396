"""`make demo`: the whole workflow on a small scale of the dev band.

`synthgen run` against a throwaway local cluster (system PostgreSQL, else the embedded one),
started here and stopped again if the demo started it. When no server can run, the demo still
generates and validates, names the stages it could not run and exits 1. `--captured`
(`make demo CAPTURED=1`) first plays production: pg_stat_statements, a known query mix on a
second dataset, `synthgen sample statements`, so the report shows production's calls and share
of time beside each query's change.
"""

from __future__ import annotations

import sys

from synthgen.cli import cli
from synthgen.cli.common import run_cli
from synthgen.errors import ClusterError

DEMO_DIR = "out/demo"
SCALE = "0.05"
DATASET_ARGS = ["--band", "dev", "--scale", SCALE, "--seed", "demo"]  # the same for both paths


def _say(args: list[str]) -> None:
    print(f"\n$ synthgen {' '.join(args)}", flush=True)


def _generate_and_validate() -> int:
    dataset = f"{DEMO_DIR}/dataset"
    args = ["generate", *DATASET_ARGS, "--out", dataset, "--overwrite"]
    _say(args)
    code = run_cli(cli, args)
    if code:
        return code
    args = ["validate", dataset, "--html", f"{DEMO_DIR}/fidelity.html"]
    _say(args)
    code = run_cli(cli, args)
    print(
        f"\nThe dataset is in {dataset}/ (Parquet shards per table, manifest.json); "
        f"the fidelity report is {DEMO_DIR}/fidelity.html."
    )
    return code


def _no_server(reason: str) -> int:
    """Generate + validate, then say loudly that the database stages did not run."""
    code = _generate_and_validate()
    bar = "!" * 78
    print(
        f"\n{bar}\nNOT RUN: load, baselines, phase-2 indexes, compare and report.html.\n"
        f"No PostgreSQL server could run here: {reason}\n{bar}",
        file=sys.stderr,
        flush=True,
    )
    return code or 1


def main(argv: list[str] | None = None) -> int:
    from synthgen.postgres.cluster import cluster_status, ensure_cluster, stop_cluster

    captured = "--captured" in (sys.argv[1:] if argv is None else argv)

    try:
        was_running = cluster_status().running
        info = ensure_cluster()
        binaries = cluster_status().binaries
    except ClusterError as exc:
        return _no_server(str(exc))
    if binaries is not None:
        print(f"PostgreSQL for the demo: {binaries.describe()}", flush=True)
    try:
        queries: list[str] = []
        if captured:
            from synthgen.demo_production import CAPTURED_DIR, capture_demo_statements

            code = capture_demo_statements(info.dsn, _say)
            if code:
                return code
            queries = ["--queries", str(CAPTURED_DIR)]
        args = [
            "run",
            *DATASET_ARGS,
            "--out",
            DEMO_DIR,
            "--dsn",
            info.dsn,
            "--schema",
            "demo",
            "--runs",
            "10",
            "--overwrite",  # the demo's own directory: a fresh run every time, whatever was there
            *queries,
        ]
        _say(args)
        code = run_cli(cli, args)
    finally:
        if not was_running:
            stop_cluster()
    print(
        f"\nEverything is in {DEMO_DIR}/: dataset/ (Parquet + manifest.json), fidelity.html, "
        "baseline-pre.json, baseline-post.json, compare.json and report.html (open it in a "
        "browser). `make demo` builds it afresh each time."
        + (" The captured statements are in out/demo-captured/." if captured else "")
    )
    return code


if __name__ == "__main__":
    sys.exit(main())
