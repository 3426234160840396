"""Baselines: warm up, ANALYZE, then time every query x parameter class two ways.

1. N runs of EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) of the prepared statement, for the plan and
   the server's own execution time;
2. N client-timed runs of the plain parameterised query (EXPLAIN ANALYZE's per-node timing
   inflates small queries, so both are reported).

The ADBC driver streams results with COPY, which cannot wrap EXPLAIN; a session-local plpgsql
function runs EXPLAIN and returns its JSON as a value instead.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from synthgen import __version__
from synthgen.errors import VerifyError
from synthgen.postgres.connect import Connection, execute, fetch_all, fetch_value
from synthgen.schema import TABLES, quote_ident
from synthgen.verify.explain import analyze
from synthgen.verify.params import sample_parameters
from synthgen.verify.queries import Query

SETTINGS = (
    "shared_buffers",
    "work_mem",
    "effective_cache_size",
    "random_page_cost",
    "jit",
    "max_parallel_workers_per_gather",
    "server_version",
)
EXPLAIN_FUNCTION = """
CREATE OR REPLACE FUNCTION pg_temp.synthgen_explain(stmt text) RETURNS json
LANGUAGE plpgsql AS $fn$
DECLARE plan json;
BEGIN
    EXECUTE 'EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ' || stmt INTO plan;
    RETURN plan;
END
$fn$
"""

Progress = Callable[[str], None]


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    """p50, p95 and mean of a list of timings (nearest-rank p95)."""
    ordered = sorted(samples_ms)
    rank = max(0, min(len(ordered) - 1, round(0.95 * len(ordered) + 0.5) - 1))
    return {
        "p50": statistics.median(ordered),
        "p95": ordered[rank],
        "mean": statistics.fmean(ordered),
        "runs": len(ordered),
    }


def warm_up(conn: Connection, schema: str) -> str:
    """Load the schema's tables and indexes into shared buffers: pg_prewarm when the extension
    is installed in this database (never created here: the schema must stay droppable), else
    full scans of every table."""
    ext_schema = fetch_value(
        conn,
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'pg_prewarm'",
    )
    if ext_schema:
        fetch_all(
            conn,
            f"SELECT {quote_ident(ext_schema)}.pg_prewarm(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = $1 AND c.relkind IN ('r', 'i')",
            (schema,),
        )
        return "pg_prewarm"
    for table in TABLES:
        fetch_all(conn, f"SELECT count(*) FROM {quote_ident(schema)}.{quote_ident(table)}")
    return "full scan"


def server_info(conn: Connection) -> dict[str, Any]:
    settings = {name: fetch_value(conn, "SELECT current_setting($1)", (name,)) for name in SETTINGS}
    try:
        ident = str(fetch_value(conn, "SELECT (pg_control_system()).system_identifier"))
    except Exception:
        ident = str(
            fetch_value(
                conn,
                "SELECT coalesce(inet_server_addr()::text, 'local') || ':' || "
                "current_setting('port') || '/' || current_database()",
            )
        )
    return {"identity": ident, "settings": settings}


def present_indexes(conn: Connection, schema: str) -> list[dict[str, str]]:
    rows = fetch_all(
        conn,
        "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = $1 "
        "ORDER BY tablename, indexname",
        (schema,),
    )
    return [{"table": t, "name": n, "definition": d} for t, n, d in rows]


def _literal(value: Any, type_: str) -> str:
    """A safe SQL literal for a sampled parameter (ints and ISO timestamps only)."""
    if type_ == "bigint":
        return str(int(value))
    stamp = datetime.fromisoformat(str(value))
    return f"'{stamp.isoformat()}'::timestamptz"


def _bind(query: Query, params: dict[str, Any], cls: str) -> list[tuple[Any, str]]:
    values: list[tuple[Any, str]] = []
    for p in query.params:
        if p.kind == "conversation":
            values.append((params["conversation"][cls]["id"], p.type))
        elif p.kind == "conversation_cursor":
            values.append((params["conversation"][cls]["cursor"], p.type))
        else:
            values.append((params["user"][cls]["id"], p.type))
    return values


def _client_value(value: Any, type_: str) -> Any:
    return int(value) if type_ == "bigint" else datetime.fromisoformat(str(value))


def time_query(
    conn: Connection,
    query: Query,
    values: list[tuple[Any, str]],
    runs: int,
    index_tables: dict[str, str],
    table_rows: dict[str, float],
) -> dict[str, Any]:
    """EXPLAIN ANALYZE runs and client-timed runs of one query with one parameter set."""
    statement = f"synthgen_{query.key}"
    types = ", ".join(t for _, t in values)
    execute(
        conn,
        f"PREPARE {statement}({types}) AS {query.sql}"
        if types
        else f"PREPARE {statement} AS {query.sql}",
    )
    try:
        call = (
            f"EXECUTE {statement}({', '.join(_literal(v, t) for v, t in values)})"
            if values
            else f"EXECUTE {statement}"
        )
        explain_ms, plans = [], []
        for _ in range(runs):
            raw = fetch_value(conn, "SELECT pg_temp.synthgen_explain($1)", (call,))
            doc = json.loads(raw) if isinstance(raw, str) else raw
            plans.append(doc)
            explain_ms.append(float(doc[0]["Execution Time"]))
    finally:
        execute(conn, f"DEALLOCATE {statement}")
    bound = tuple(_client_value(v, t) for v, t in values)
    client_ms = []
    with conn.cursor() as cur:
        for _ in range(runs):
            start = time.perf_counter()
            cur.execute(query.sql, bound)
            cur.fetchall()
            client_ms.append((time.perf_counter() - start) * 1000)
    # the plan of the median-time run represents the set
    middle = sorted(range(runs), key=lambda i: explain_ms[i])[runs // 2]
    summary = analyze(plans[middle], index_tables, table_rows)
    return {
        "explain_ms": percentiles(explain_ms),
        "client_ms": percentiles(client_ms),
        "plan": summary.to_dict(),
        "explain": plans[middle],
    }


def dataset_hash(conn: Connection, schema: str) -> str | None:
    """The manifest hash of the dataset the loader recorded in this schema, if any."""
    try:
        value = fetch_value(
            conn,
            f"SELECT dataset_sha256 FROM {quote_ident(schema)}.synthgen_loads "
            "WHERE status = 'complete' ORDER BY finished_at DESC LIMIT 1",
        )
    except Exception:
        return None
    return str(value) if value else None


def run_baseline(
    conn: Connection,
    schema: str,
    label: str,
    queries: list[Query],
    runs: int = 20,
    parameters: dict[str, Any] | None = None,
    seed: str = "synthgen",
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Measure every query x parameter class; returns the baseline document."""
    if runs < 1:
        raise VerifyError(f"--runs must be at least 1 (got {runs})")
    if not fetch_value(conn, "SELECT count(*) FROM pg_namespace WHERE nspname = $1", (schema,)):
        raise VerifyError(
            f"--schema {schema}: no such schema in this database (load a dataset first)"
        )
    execute(conn, f"SET search_path TO {quote_ident(schema)}")
    execute(conn, EXPLAIN_FUNCTION)
    started = time.perf_counter()
    warm = warm_up(conn, schema)
    for table in TABLES:
        execute(conn, f"ANALYZE {quote_ident(schema)}.{quote_ident(table)}")
    params = parameters or sample_parameters(conn, seed)
    indexes = present_indexes(conn, schema)
    index_tables = {i["name"]: i["table"] for i in indexes}
    table_rows = {
        name: float(rows)
        for name, rows in fetch_all(
            conn,
            "SELECT c.relname, c.reltuples FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'",
            (schema,),
        )
    }
    results = []
    for query in queries:
        for cls in params[query.subject]:
            if progress:
                progress(f"{label}: {query.name} ({cls})")
            values = _bind(query, params, cls)
            timing = time_query(conn, query, values, runs, index_tables, table_rows)
            results.append(
                {
                    "query": query.key,
                    "name": query.name,
                    "class": cls,
                    "params": [v for v, _ in values],
                    **timing,
                }
            )
    return {
        "label": label,
        "synthgen_version": __version__,
        "schema": schema,
        "dataset_sha256": dataset_hash(conn, schema),
        "server": server_info(conn),
        "warm_up": warm,
        "runs": runs,
        "indexes": indexes,
        "table_rows": table_rows,
        "parameters": params,
        "results": results,
        "seconds": round(time.perf_counter() - started, 3),
    }
