"""Baselines: settle, warm up, ANALYZE, then time every query x parameter class x plan mode.

After settle.py has the tables quiet and warm, per query x class and per plan mode
(`force_custom_plan`, `force_generic_plan`): untimed warm-ups, EXPLAIN (ANALYZE, BUFFERS) runs for
the plan, hit ratio and server time, then client-timed runs through the driver, which the gate
decides on (docs/design.md, "The index gate"). EXPLAIN runs inside a session-local plpgsql
function, because the ADBC driver's COPY cannot wrap it.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from synthgen import __version__
from synthgen.errors import VerifyError
from synthgen.mapping import Mapping
from synthgen.postgres.connect import Connection, execute, fetch_all, fetch_value
from synthgen.postgres.mapped import audit_schema_for
from synthgen.schema import TABLES, quote_ident, quote_literal
from synthgen.verify.explain import analyze
from synthgen.verify.params import bind, class_combinations, sample_parameters
from synthgen.verify.plan_shapes import plan_shape, total_cost
from synthgen.verify.production import production_weights
from synthgen.verify.queries import Query
from synthgen.verify.settle import (
    physical_order,
    schema_tables,
    table_state,
    wait_until_settled,
    warm_up,
    working_set,
)
from synthgen.verify.stats import median_ci

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

EXPLAIN_PLAN_FUNCTION = """
CREATE OR REPLACE FUNCTION pg_temp.synthgen_explain_plan(stmt text) RETURNS json
LANGUAGE plpgsql AS $fn$
DECLARE plan json;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON) ' || stmt INTO plan;
    RETURN plan;
END
$fn$
"""
# plan_cache_mode per plan mode: custom = planned for the actual parameter values every time;
# generic = one plan for any values, what a driver's long-lived prepared statement gets.
PLAN_MODES = {"custom": "force_custom_plan", "generic": "force_generic_plan"}
CACHE_MODES = ("warm", "cold")
DEFAULT_RUNS = 30
DEFAULT_WARMUPS = 3
# EXPLAIN ANALYZE explains (plan, buffers, server time); the client-timed runs decide, so fewer
# EXPLAIN runs keep a staging baseline in minutes
DEFAULT_EXPLAIN_RUNS = 10

Progress = Callable[[str], None]


def baseline_files(
    label: str, out: Path | None, params_from: Path | None
) -> tuple[Path, Path | None]:
    """Where a baseline goes (``baseline-LABEL.json`` unless given) and whose parameters it
    reuses: the ones given, else for ``post`` the pre baseline beside it (paired parameters)."""
    out = out or Path(f"baseline-{label}.json")
    if params_from is None and label == "post" and (out.parent / "baseline-pre.json").exists():
        params_from = out.parent / "baseline-pre.json"
    return out, params_from


def percentiles(samples_ms: list[float]) -> dict[str, Any]:
    """p50 (with its bootstrap 95 % interval), p95 (nearest rank), mean and run count."""
    ordered = sorted(samples_ms)
    rank = max(0, min(len(ordered) - 1, round(0.95 * len(ordered) + 0.5) - 1))
    low, high = median_ci(ordered)
    return {
        "p50": statistics.median(ordered),
        "p50_ci": [low, high],
        "p95": ordered[rank],
        "mean": statistics.fmean(ordered),
        "runs": len(ordered),
    }


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


def present_indexes(conn: Connection, schema: str) -> list[dict[str, Any]]:
    """Every index of the schema: table, name, definition (pg_get_indexdef) and size."""
    rows = fetch_all(
        conn,
        "SELECT tablename, indexname, indexdef, "
        "pg_relation_size(format('%I.%I', schemaname, indexname)::regclass) "
        "FROM pg_indexes WHERE schemaname = $1 ORDER BY tablename, indexname",
        (schema,),
    )
    return [{"table": t, "name": n, "definition": d, "size_bytes": int(b)} for t, n, d, b in rows]


def typed_literal(value: Any, type_: str) -> str:
    """A safe, typed SQL literal for a sampled parameter: ints, ISO timestamps, and ids in an
    application's text or uuid format."""
    if type_ == "bigint":
        return str(int(value))
    if type_ in ("text", "uuid"):
        return f"{quote_literal(str(value))}::{type_}"
    stamp = datetime.fromisoformat(str(value))
    if type_ == "timestamp":  # without time zone: the UTC wall time, as the loader stores it
        return f"'{stamp.astimezone(UTC).replace(tzinfo=None).isoformat()}'::timestamp"
    return f"'{stamp.isoformat()}'::timestamptz"


def _client_value(value: Any, type_: str) -> Any:
    if type_ == "bigint":
        return int(value)
    if type_ in ("text", "uuid"):
        return str(value)
    stamp = datetime.fromisoformat(str(value))
    return stamp.astimezone(UTC).replace(tzinfo=None) if type_ == "timestamp" else stamp


def _hit_ratio(doc: Any) -> float:
    root = (doc[0] if isinstance(doc, list) else doc)["Plan"]
    hit, read = int(root.get("Shared Hit Blocks", 0)), int(root.get("Shared Read Blocks", 0))
    return round(hit / (hit + read), 4) if hit + read else 1.0


def _forced_plan(
    conn: Connection, call: str, chosen: Any, summary: dict[str, Any], index_tables: dict[str, str]
) -> dict[str, Any] | None:
    """When the plan scans a big table sequentially although that table has an index, the plan
    the planner would take with sequential scans disabled, and both estimated costs."""
    tables = set(summary["large_seq_scans"]) & set(index_tables.values())
    if not tables:
        return None
    execute(conn, "SET enable_seqscan = off")
    try:
        raw = fetch_value(conn, "SELECT pg_temp.synthgen_explain_plan($1)", (call,))
    finally:
        execute(conn, "RESET enable_seqscan")
    forced = json.loads(raw) if isinstance(raw, str) else raw
    indexes = analyze(forced, index_tables).indexes_used
    return {
        "setting": "enable_seqscan = off",
        "chosen_cost": total_cost(chosen),
        "forced_cost": total_cost(forced),
        "forced_indexes": indexes,
        "forced_signature": plan_shape(forced).signature,
    }


def time_query(
    conn: Connection,
    query: Query,
    values: list[tuple[Any, str]],
    runs: int,
    index_tables: dict[str, str],
    table_rows: dict[str, float],
    plan_mode: str = "custom",
    warmups: int = 0,
    explain_runs: int | None = None,
) -> dict[str, Any]:
    """Time one query with one parameter set in one plan mode: `warmups` untimed executions,
    then `explain_runs` (default `runs`) EXPLAIN ANALYZE runs of the prepared statement and
    `runs` client-timed runs of the parameterised query through the driver — both under the same
    plan_cache_mode."""
    execute(conn, f"SET plan_cache_mode = {PLAN_MODES[plan_mode]}")
    statement = f"synthgen_{query.key}"
    types = ", ".join(t for _, t in values)
    execute(
        conn,
        f"PREPARE {statement}({types}) AS {query.sql}"
        if types
        else f"PREPARE {statement} AS {query.sql}",
    )
    bound = tuple(_client_value(v, t) for v, t in values)
    call = (
        f"EXECUTE {statement}({', '.join(typed_literal(v, t) for v, t in values)})"
        if values
        else f"EXECUTE {statement}"
    )
    try:
        with conn.cursor() as cur:
            for _ in range(warmups):
                fetch_value(conn, "SELECT pg_temp.synthgen_explain($1)", (call,))
                cur.execute(query.sql, bound)
                cur.fetchall()
        explain_ms, plans = [], []
        for _ in range(explain_runs or runs):
            raw = fetch_value(conn, "SELECT pg_temp.synthgen_explain($1)", (call,))
            doc = json.loads(raw) if isinstance(raw, str) else raw
            plans.append(doc)
            explain_ms.append(float(doc[0]["Execution Time"]))
        client_ms = []
        with conn.cursor() as cur:
            for _ in range(runs):
                start = time.perf_counter()
                cur.execute(query.sql, bound)
                cur.fetchall()
                client_ms.append((time.perf_counter() - start) * 1000)
        # the plan of the median-time run represents the set
        middle = sorted(range(len(plans)), key=lambda i: explain_ms[i])[len(plans) // 2]
        summary = analyze(plans[middle], index_tables, table_rows).to_dict()
        forced = _forced_plan(conn, call, plans[middle], summary, index_tables)
    finally:
        execute(conn, f"DEALLOCATE {statement}")
        execute(conn, "RESET plan_cache_mode")
    hits = [_hit_ratio(p) for p in plans]
    return {
        "explain_ms": percentiles(explain_ms),
        "client_ms": percentiles(client_ms),
        "explain_samples": [round(x, 4) for x in explain_ms],
        "client_samples": [round(x, 4) for x in client_ms],
        "first_ms": {"explain": explain_ms[0], "client": client_ms[0]},
        "hit_ratio": {"min": min(hits), "median": statistics.median(hits), "runs": hits},
        "plan": summary,
        "shape": plan_shape(plans[middle]).to_dict(),
        "forced_plan": forced,
        "explain": plans[middle],
    }


def dataset_hash(conn: Connection, schema: str) -> str | None:
    """The manifest hash of the dataset the loader recorded for this schema (in the schema
    itself, or beside it in synthgen_<schema> for an application's schema), if any."""
    for audit in (schema, audit_schema_for(schema)):
        try:
            value = fetch_value(
                conn,
                f"SELECT dataset_sha256 FROM {quote_ident(audit)}.synthgen_loads "
                "WHERE status = 'complete' ORDER BY finished_at DESC LIMIT 1",
            )
        except Exception:
            continue
        if value:
            return str(value)
    return None


def _cache_method(cache: str, warm: str, fits: bool) -> str:
    if cache == "cold":
        return (
            "cold: no warm-up and no untimed executions; first_ms is each query's first "
            "execution. Buffers are not emptied (that needs a cluster restart, and the OS page "
            "cache stays): restart the server before this baseline for a cold shared_buffers"
        )
    where = "shared buffers" if fits else "shared buffers and the OS page cache"
    note = "" if fits else " (the working set does not fit in shared_buffers)"
    return f"warm: {warm}, then untimed executions per query; steady state in {where}{note}"


def bindings(
    queries: list[Query], params: dict[str, Any]
) -> list[tuple[Query, str, dict[str, str], list[tuple[Any, str]]]]:
    """(query, class label, {axis: class}, bound values) for every query x class combination."""
    return [
        (query, cls, classes, bind(query, params, classes))
        for query in queries
        for cls, classes in class_combinations(query, params)
    ]


def run_baseline(
    conn: Connection,
    schema: str,
    label: str,
    queries: list[Query],
    runs: int = DEFAULT_RUNS,
    parameters: dict[str, Any] | None = None,
    seed: str = "synthgen",
    progress: Progress | None = None,
    plan_modes: tuple[str, ...] = ("custom", "generic"),
    cache: str = "warm",
    warmups: int = DEFAULT_WARMUPS,
    wait: bool = False,
    create_extension: bool = True,
    explain_runs: int | None = None,
    names: Mapping | None = None,
) -> dict[str, Any]:
    """Measure every query x parameter class x plan mode; returns the baseline document.

    `names` (a mapping) measures an application's own schema: its tables are analyzed and its
    physical order read through the mapping's names; `parameters` then come in its id formats.
    """
    if runs < 1:
        raise VerifyError(f"--runs must be at least 1 (got {runs})")
    unknown = [m for m in plan_modes if m not in PLAN_MODES]
    if unknown or not plan_modes:
        raise VerifyError(f"--plan-mode: {unknown} is not custom, generic or both")
    if cache not in CACHE_MODES:
        raise VerifyError(f"--cache: {cache!r} is not one of {', '.join(CACHE_MODES)}")
    if not fetch_value(conn, "SELECT count(*) FROM pg_namespace WHERE nspname = $1", (schema,)):
        raise VerifyError(
            f"--schema {schema}: no such schema in this database (load a dataset first)"
        )
    if parameters is not None:  # given parameters (--params-from) are checked before any work
        bindings(queries, parameters)
    started = time.perf_counter()
    waited = wait_until_settled(conn, schema, wait, progress=progress)
    warm = warm_up(conn, schema, create_extension) if cache == "warm" else "none (cold)"
    execute(conn, f"SET search_path TO {quote_ident(schema)}")
    execute(conn, EXPLAIN_FUNCTION)
    execute(conn, EXPLAIN_PLAN_FUNCTION)
    for table in schema_tables(conn, schema) if names is not None else TABLES:
        execute(conn, f"ANALYZE {quote_ident(schema)}.{quote_ident(table)}")
    if parameters is None and names is not None:
        raise VerifyError("an application schema's parameters come from its dataset (--dataset)")
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
    memory = working_set(conn, schema)
    fits = memory["bytes"] <= memory["shared_buffers_bytes"]
    results: list[dict[str, Any]] = []
    bound = bindings(queries, params)
    total = len(bound) * len(plan_modes)
    for query, cls, classes, values in bound:
        for mode in plan_modes:
            if progress:  # counted, so a long baseline shows how far it is
                progress(f"{label} [{len(results) + 1}/{total}]: {query.name} ({cls}, {mode} plan)")
            timing = time_query(
                conn,
                query,
                values,
                runs,
                index_tables,
                table_rows,
                plan_mode=mode,
                warmups=warmups if cache == "warm" else 0,
                explain_runs=min(runs, explain_runs) if explain_runs else runs,
            )
            results.append(
                {
                    "query": query.key,
                    "name": query.name,
                    "class": cls,
                    "classes": classes,
                    "plan_mode": mode,
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
        "settled": {"waited_s": waited, "tables": table_state(conn, schema)},
        "physical": physical_order(conn, schema, names),
        "cache": cache,
        "cache_method": _cache_method(cache, warm, fits),
        "working_set": memory,
        "warm_up": warm,
        "warmup_runs": warmups if cache == "warm" else 0,
        "plan_modes": list(plan_modes),
        "runs": runs,
        "explain_runs": min(runs, explain_runs) if explain_runs else runs,
        "indexes": indexes,
        "table_rows": table_rows,
        "queries": {q.key: q.sql for q in queries},
        # production's calls and times of captured queries (sample statements), for weighting
        "production": production_weights({q.key: q.path for q in queries}),
        "parameters": params,
        "results": results,
        "seconds": round(time.perf_counter() - started, 3),
    }
