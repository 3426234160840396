"""`make demo CAPTURED=1`: a test production whose statements the demo captures.

On the demo's throwaway cluster: pg_stat_statements goes into shared_preload_libraries (one
restart), a dataset of another seed is loaded into the schema `demo_production`, a known mix of
the shipped hot-path queries runs there with bound parameters (so the server records normalized
statements), and `synthgen sample statements` writes what it recorded into out/demo-captured,
with production's calls and times. Q4 compares with a constant the server normalizes into a
parameter, so its file comes out with a `-- todo:` line and stays out of the run: the demo shows
that path too.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from synthgen.cli import cli
from synthgen.cli.common import run_cli

PRODUCTION_SCHEMA = "demo_production"
PRODUCTION_ARGS = ["--band", "dev", "--scale", "0.02", "--seed", "demo-production"]
CAPTURED_DIR = Path("out/demo-captured")
DATASET = "out/demo-production-dataset"
# calls per shipped query: production's mix the capture must recover as weights
MIX = {"q1": 120, "q2": 15, "q3": 60, "q4": 20, "q5": 8}
LIBRARY = "pg_stat_statements"


def preload_statements(dsn: str) -> bool:
    """Make sure the cluster loads pg_stat_statements; True when it had to restart."""
    from synthgen.postgres.cluster import ensure_cluster, stop_cluster
    from synthgen.postgres.connect import connect, execute, fetch_value

    with connect(dsn, autocommit=True) as conn:
        current = str(fetch_value(conn, "SELECT current_setting('shared_preload_libraries')"))
        names = [v.strip() for v in current.split(",") if v.strip()]
        if LIBRARY in names:
            return False
        listed = ", ".join(f"'{v}'" for v in [*names, LIBRARY])
        execute(conn, f"ALTER SYSTEM SET shared_preload_libraries = {listed}")
    stop_cluster()
    ensure_cluster()
    return True


def _value(kind: str, params: dict[str, Any], cls: str) -> Any:
    """A shipped query's parameter for one class (they take rooms, cursors and users)."""
    if kind == "conversation":
        return int(params["conversation"][cls]["id"])
    if kind == "conversation_cursor":
        return datetime.fromisoformat(params["conversation"][cls]["cursor"])
    return int(params["user"][cls]["id"])


def run_mix(dsn: str, schema: str) -> dict[str, int]:
    """Run MIX against `schema` with parameters drawn from its data; return calls per query."""
    from synthgen.postgres.connect import connect, execute
    from synthgen.schema import quote_ident
    from synthgen.verify.params import sample_parameters
    from synthgen.verify.queries import load_queries

    ran: dict[str, int] = {}
    with connect(dsn, autocommit=True) as conn:
        execute(conn, f"CREATE EXTENSION IF NOT EXISTS {LIBRARY}")
        execute(conn, f"SET search_path TO {quote_ident(schema)}, public")
        params = sample_parameters(conn)
        execute(conn, "SELECT pg_stat_statements_reset()")  # production's mix only
        for query in load_queries():
            classes = list(params[query.subject])
            with conn.cursor() as cur:
                for i in range(MIX.get(query.key, 0)):
                    cls = classes[i % len(classes)]
                    cur.execute(query.sql, tuple(_value(p.kind, params, cls) for p in query.params))
                    cur.fetchall()
            ran[query.key] = MIX.get(query.key, 0)
    return ran


def capture_demo_statements(dsn: str, say: Callable[[list[str]], None]) -> int:
    """Play production, then capture its statements into CAPTURED_DIR; 0 when it worked."""
    if preload_statements(dsn):
        print(f"restarted the demo's cluster with {LIBRARY} in shared_preload_libraries")
    steps = [
        ["generate", *PRODUCTION_ARGS, "--out", DATASET, "--overwrite"],
        ["load", DATASET, "--dsn", dsn, "--schema", PRODUCTION_SCHEMA, "--replace", "--quiet"],
    ]
    for args in steps:
        say(args)
        code = run_cli(cli, args)
        if code:
            return code
    calls = run_mix(dsn, PRODUCTION_SCHEMA)
    print("production's mix: " + ", ".join(f"{k.upper()} x{n}" for k, n in calls.items()))
    shutil.rmtree(CAPTURED_DIR, ignore_errors=True)
    args = ["sample", "statements", "--dsn", dsn, "--schema", PRODUCTION_SCHEMA, "--top", "10",
            "--by", "calls", "--out", str(CAPTURED_DIR)]  # fmt: skip
    say(args)
    return run_cli(cli, args)
