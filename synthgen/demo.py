"""`make demo`: the whole workflow on a small scale of the dev band.

With PostgreSQL server binaries on the machine: `synthgen run` against a throwaway local cluster
(started here and stopped again if the demo started it). Without them: generate + validate.
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


def main() -> int:
    from synthgen.postgres.cluster import (
        cluster_status,
        ensure_cluster,
        find_server_binaries,
        stop_cluster,
    )

    try:
        find_server_binaries()
    except ClusterError as exc:
        print(f"No PostgreSQL server binaries ({exc}); running generate + validate only.")
        return _generate_and_validate()
    was_running = cluster_status().running
    info = ensure_cluster()
    try:
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
    )
    return code


if __name__ == "__main__":
    sys.exit(main())
