"""The state of the tables a baseline measures: are they settled (no vacuum, index build or load
running on them), how much of each is all-visible, when it was last vacuumed, what physical order
its rows are in — and warming heap *and* indexes before measuring.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from synthgen.errors import VerifyError
from synthgen.mapping import Mapping
from synthgen.postgres.connect import Connection, execute, fetch_all, fetch_value
from synthgen.schema import quote_ident

# Other sessions' work on the schema's tables that changes what a baseline measures.
_BUSY = """
WITH rels AS (
    SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = $1 AND c.relkind = 'r'
)
SELECT 'vacuum', r.relname, p.pid FROM pg_stat_progress_vacuum p JOIN rels r ON r.oid = p.relid
UNION ALL
SELECT 'analyze', r.relname, p.pid FROM pg_stat_progress_analyze p JOIN rels r ON r.oid = p.relid
UNION ALL
SELECT 'index build', r.relname, p.pid FROM pg_stat_progress_create_index p
    JOIN rels r ON r.oid = p.relid
UNION ALL
SELECT 'load (COPY)', r.relname, p.pid FROM pg_stat_progress_copy p JOIN rels r ON r.oid = p.relid
"""
_STATE = """
SELECT c.relname, c.relpages, c.relallvisible, s.last_vacuum, s.last_autovacuum,
       s.n_dead_tup, s.n_mod_since_analyze
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
WHERE n.nspname = $1 AND c.relkind = 'r'
"""
# The key columns whose physical order decides index-scan costs and cold-cache heap reads.
ORDER_COLUMNS = (
    ("messages", "createdAt"),
    ("messages", "id"),
    ("messages", "conversationId"),
    ("read_receipts", "readAt"),
)
SAMPLED_ROOMS = 200
_HEAP_BLOCKS = """
SELECT avg(blocks)::float8 FROM (
    SELECT (SELECT count(DISTINCT (m.ctid::text::point)[0]) FROM {messages} m
            WHERE m.{room} = c.{id}) AS blocks
    FROM {conversations} c ORDER BY md5(c.{id}::text) LIMIT {rooms}
) rooms WHERE blocks > 0
"""
WAIT_POLL_SECONDS = 2.0

Progress = Callable[[str], None]


def busy(conn: Connection, schema: str) -> list[str]:
    """Other sessions working on the schema's tables: 'vacuum on messages (pid 123)', ..."""
    own = fetch_value(conn, "SELECT pg_backend_pid()")
    return [
        f"{what} on {table} (pid {pid})"
        for what, table, pid in fetch_all(conn, _BUSY, (schema,))
        if pid != own
    ]


def wait_until_settled(
    conn: Connection,
    schema: str,
    wait: bool,
    timeout_s: float = 3600.0,
    progress: Progress | None = None,
) -> float:
    """Refuse (or, with `wait`, wait up to `timeout_s`) while anything else works on the tables.
    Returns the seconds waited."""
    started = time.monotonic()
    announced = False
    while True:
        activity = busy(conn, schema)
        if not activity:
            return round(time.monotonic() - started, 1)
        if not wait:
            raise VerifyError(
                f"--schema {schema}: tables are not settled ({'; '.join(activity)}); a baseline "
                "now would measure that work, not the indexes — wait for it, or pass --wait"
            )
        if time.monotonic() - started > timeout_s:
            raise VerifyError(
                f"--schema {schema}: still not settled after {timeout_s:.0f} s "
                f"({'; '.join(activity)})"
            )
        if progress and not announced:
            progress(f"waiting for {'; '.join(activity)}")
            announced = True
        time.sleep(WAIT_POLL_SECONDS)


def table_state(conn: Connection, schema: str) -> dict[str, dict[str, Any]]:
    """Per table: pages, all-visible fraction, last (auto)vacuum, dead and modified rows."""
    out: dict[str, dict[str, Any]] = {}
    for name, pages, visible, vacuum, autovacuum, dead, modified in fetch_all(
        conn, _STATE, (schema,)
    ):
        pages = int(pages or 0)
        out[str(name)] = {
            "pages": pages,
            "all_visible": round(min(1.0, int(visible or 0) / pages), 4) if pages else 1.0,
            "last_vacuum": vacuum.isoformat() if vacuum else None,
            "last_autovacuum": autovacuum.isoformat() if autovacuum else None,
            "dead_rows": int(dead or 0),
            "modified_since_analyze": int(modified or 0),
        }
    return out


def physical_order(conn: Connection, schema: str, names: Mapping | None = None) -> dict[str, Any]:
    """pg_stats.correlation of the key columns (after ANALYZE) and the average heap blocks a
    room's messages occupy, over a fixed sample of rooms (the same rooms every time). `names`
    maps the contract's tables and columns onto an application's schema."""
    names = names or Mapping(schema=schema)
    correlations: dict[str, float | None] = {}
    for table, column in ORDER_COLUMNS:
        value = fetch_value(
            conn,
            "SELECT correlation FROM pg_stats WHERE schemaname = $1 AND tablename = $2 "
            "AND attname = $3",
            (schema, names.table_name(table), names.column_name(table, column)),
        )
        correlations[f"{table}.{column}"] = round(float(value), 4) if value is not None else None
    sql = _HEAP_BLOCKS.format(
        messages=f"{quote_ident(schema)}.{quote_ident(names.table_name('messages'))}",
        conversations=f"{quote_ident(schema)}.{quote_ident(names.table_name('conversations'))}",
        room=quote_ident(names.column_name("messages", "conversationId")),
        id=quote_ident(names.column_name("conversations", "id")),
        rooms=SAMPLED_ROOMS,
    )
    blocks = fetch_value(conn, sql)
    return {
        "correlation": correlations,
        "heap_blocks_per_room": round(float(blocks), 1) if blocks is not None else None,
        "rooms_sampled": SAMPLED_ROOMS,
    }


def working_set(conn: Connection, schema: str) -> dict[str, float]:
    """Bytes of the schema's tables and indexes vs shared_buffers."""
    total = fetch_value(
        conn,
        "SELECT coalesce(sum(pg_relation_size(c.oid)), 0) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relkind IN ('r', 'i')",
        (schema,),
    )
    buffers = fetch_value(
        conn,
        "SELECT setting::bigint * current_setting('block_size')::bigint FROM pg_settings "
        "WHERE name = 'shared_buffers'",
    )
    return {"bytes": float(total or 0), "shared_buffers_bytes": float(buffers or 0)}


def _prewarm_schema(conn: Connection, create: bool) -> str | None:
    """The schema holding pg_prewarm, creating the extension (in public) when allowed."""
    query = (
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'pg_prewarm'"
    )
    found = fetch_value(conn, query)
    if found or not create:
        return str(found) if found else None
    try:
        # in public, never in the measured schema: that one must stay droppable on its own
        execute(conn, "CREATE EXTENSION IF NOT EXISTS pg_prewarm SCHEMA public")
    except Exception:
        return None  # not installed on the server, or not allowed: fall back to scans
    found = fetch_value(conn, query)
    return str(found) if found else None


def _indexes(conn: Connection, schema: str) -> list[tuple[str, str, list[str], str | None]]:
    rows = fetch_all(
        conn,
        "SELECT t.relname, i.relname, "
        "array_to_string(ARRAY(SELECT pg_get_indexdef(x.indexrelid, k, true) "
        "FROM generate_series(1, x.indnkeyatts) k), E'\\x1f'), "
        "pg_get_expr(x.indpred, x.indrelid) "
        "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
        "WHERE n.nspname = $1 AND t.relkind = 'r' AND x.indisvalid",
        (schema,),
    )
    return [(str(t), str(i), str(keys).split("\x1f"), pred) for t, i, keys, pred in rows]


def schema_tables(conn: Connection, schema: str) -> list[str]:
    """The ordinary tables of `schema` (synthgen's, or an application's)."""
    rows = fetch_all(
        conn,
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY 1",
        (schema,),
    )
    return [str(r[0]) for r in rows]


def warm_up(conn: Connection, schema: str, create_extension: bool = True) -> str:
    """Load every table of the schema and every index into memory; returns the method used.

    pg_prewarm reads each relation (heap and index) into shared buffers. Without it, a count(*)
    warms each heap and an index-ordered scan of each index (sequential scans, bitmap scans and
    sorts disabled for that statement) warms its pages — a sequential scan never reads an index.
    """
    ext = _prewarm_schema(conn, create_extension)
    if ext:
        fetch_all(
            conn,
            f"SELECT {quote_ident(ext)}.pg_prewarm(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = $1 AND c.relkind IN ('r', 'i')",
            (schema,),
        )
        return "pg_prewarm (heap and every index)"
    for table in schema_tables(conn, schema):
        fetch_all(conn, f"SELECT count(*) FROM {quote_ident(schema)}.{quote_ident(table)}")
    for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
        execute(conn, f"SET {setting} = off")
    try:
        for table, _, keys, predicate in _indexes(conn, schema):
            where = f" WHERE {predicate}" if predicate else ""
            fetch_all(
                conn,
                f"SELECT count(*) FROM (SELECT 1 FROM {quote_ident(schema)}.{quote_ident(table)}"
                f"{where} ORDER BY {', '.join(keys)}) s",
            )
    finally:
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            execute(conn, f"RESET {setting}")
    return "full scans of every heap and index-ordered scans of every index"
