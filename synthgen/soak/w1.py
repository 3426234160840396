"""W1 (send a message) latency during a soak: the load test's own W1 script, inside a
transaction that rolls back, so the measurement leaves no message and no moved updatedAt in the
synthetic timeline (its index entries and dead tuples stay, as a rolled-back send's would)."""

from __future__ import annotations

from pathlib import Path

from synthgen.loadtest.pgbench import Script, find_pgbench, run_step
from synthgen.loadtest.workload import WorkloadOptions, build_workload
from synthgen.postgres.connect import Connection
from synthgen.postgres.dsn import with_search_path


def prepare_w1(conn: Connection, dsn: str, schema: str, out: Path) -> Script:
    """Build the workload's draw tables and W1, and a copy of W1 that rolls back."""
    build_workload(conn, WorkloadOptions(dsn, schema, out / "workload", {"W1": 1}))
    text = (out / "workload" / "w1.pgbench").read_text()
    rolled = out / "workload" / "w1-rollback.pgbench"
    rolled.write_text(f"BEGIN;\n{text.rstrip()}\nROLLBACK;\n")
    return Script("W1", rolled, 1)


def w1_p50_ms(dsn: str, schema: str, script: Script, seconds: int, log_dir: Path) -> float:
    """p50 latency of W1 run alone by one client for `seconds`."""
    step = run_step(find_pgbench(), with_search_path(dsn, schema), [script], 1, seconds, log_dir)
    return round(float(step["queries"]["W1"]["p50_ms"]), 3)
