"""`synthgen run` through the installed command, as the end-to-end tests call it."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from support.paths import SYNTHGEN
from synthgen.postgres.connect import connect, execute

RUN_SCHEMA = "run_lt"
# every script often enough that each runs in 3 s at 1 client before the indexes (~20 tx/s)
LOADTEST = ("--loadtest", "--loadtest-clients", "1,4", "--loadtest-duration", "3",
            "--loadtest-mix", "Q1=3,Q2=2,Q3=2,Q4=2,Q5=2,W1=2")  # fmt: skip


def synthgen_run(
    dsn: str, out: Path, *extra: str, scale: float = 0.03
) -> subprocess.CompletedProcess[str]:
    """`synthgen run` of the dev band at `scale` into `out` and the schema run_lt, then `extra`."""
    assert SYNTHGEN.is_file(), f"{SYNTHGEN}: the console script is not installed"
    args = ["run", "--band", "dev", "--scale", f"{scale:g}", "--seed", "lt-run", "--out", str(out)]
    args += ["--dsn", dsn, "--schema", RUN_SCHEMA, "--runs", "2", "--workers", "2"]
    return subprocess.run(
        [str(SYNTHGEN), *args, *extra], capture_output=True, text=True, timeout=900
    )


def drop_run_schemas(dsn: str, *names: str) -> None:
    """Drop a run's schemas (its tables and synthgen's own): a table of more than 100 000 rows
    left in another schema would make the production guard refuse a later test's target."""
    with connect(dsn, autocommit=True) as conn:
        for name in names:
            for schema in (name, f"synthgen_{name}"):
                execute(conn, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@dataclass(frozen=True)
class LoadtestRun:
    """A finished `synthgen run --loadtest --pool both --json`: its directory and its process.
    Read-only: a test that edits the run's files works on a copy."""

    out: Path
    proc: subprocess.CompletedProcess[str]
