"""What a soak measures after each simulated day, from the server's own catalogs and statistics.

Sizes (`pg_table_size`, `pg_relation_size` of each index), dead and live tuples, autovacuum and
autoanalyze runs (`pg_stat_user_tables`), WAL written (`pg_current_wal_lsn` before and after),
and estimated bloat: `pgstattuple` / `pgstatindex` where the extension can be created (the
exact free and dead space of tables, 1 - leaf density of B-tree indexes), else the statistics
estimate (dead / (live + dead) tuples of a table; indexes not estimated), saying which.
"""

from __future__ import annotations

from typing import Any

from synthgen.postgres.connect import Connection, DatabaseError, execute, fetch_all, fetch_value
from synthgen.schema import TABLES, quote_ident, quote_literal

CONTRACT = tuple(t for t in TABLES if t != "conversation_traits")


def wal_lsn(conn: Connection) -> str:
    return str(fetch_value(conn, "SELECT pg_current_wal_lsn()::text"))


def wal_bytes(conn: Connection, since: str) -> int:
    return int(
        fetch_value(conn, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)", (since,))
    )


def bloat_method(conn: Connection) -> str:
    """'pgstattuple' when the extension is there or can be made, else 'statistics'."""
    try:
        execute(conn, "CREATE EXTENSION IF NOT EXISTS pgstattuple")
        return "pgstattuple"
    except DatabaseError:
        return "statistics"


def _functions(conn: Connection) -> str:
    """The schema pgstattuple's functions live in (wherever an earlier session created them)."""
    schema = fetch_value(
        conn,
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'pgstattuple'",
    )
    return quote_ident(str(schema))


def snapshot(conn: Connection, schema: str, method: str) -> dict[str, Any]:
    """Every contract table's and index's figures now."""
    execute(conn, "SELECT pg_stat_clear_snapshot()")
    s = quote_literal(schema)
    tables: dict[str, Any] = {}
    for name, size, live, dead, autovacuums, autoanalyzes in fetch_all(
        conn,
        f"""SELECT t.relname, pg_table_size(t.relid), t.n_live_tup, t.n_dead_tup,
        t.autovacuum_count, t.autoanalyze_count FROM pg_stat_user_tables t
        WHERE t.schemaname = {s} ORDER BY 1""",
    ):
        if name not in CONTRACT:
            continue
        tables[str(name)] = {
            "bytes": int(size),
            "live": int(live),
            "dead": int(dead),
            "autovacuums": int(autovacuums),
            "autoanalyzes": int(autoanalyzes),
            "bloat": _table_bloat(conn, schema, str(name), int(live), int(dead), method),
        }
    indexes = {
        str(name): {
            "table": str(table),
            "bytes": int(size),
            "bloat": _index_bloat(conn, schema, str(name), method),
        }
        for name, table, size in fetch_all(
            conn,
            f"""SELECT i.indexrelname, i.relname, pg_relation_size(i.indexrelid)
            FROM pg_stat_user_indexes i WHERE i.schemaname = {s} ORDER BY 1""",
        )
        if table in CONTRACT
    }
    return {"tables": tables, "indexes": indexes}


def _table_bloat(
    conn: Connection, schema: str, table: str, live: int, dead: int, method: str
) -> float:
    if method == "pgstattuple":
        target = quote_literal(f"{quote_ident(schema)}.{quote_ident(table)}")
        share = f"SELECT dead_tuple_percent + free_percent FROM {_functions(conn)}.pgstattuple"
        row = fetch_all(conn, f"{share}({target})")[0]
        return round(float(row[0]) / 100.0, 4)
    return round(dead / (live + dead), 4) if live + dead else 0.0


def _index_bloat(conn: Connection, schema: str, index: str, method: str) -> float | None:
    if method != "pgstattuple":
        return None
    target = quote_literal(f"{quote_ident(schema)}.{quote_ident(index)}")
    query = f"SELECT avg_leaf_density FROM {_functions(conn)}.pgstatindex"
    rows = fetch_all(conn, f"{query}({target})")
    density = float(rows[0][0]) if rows and rows[0][0] is not None else float("nan")
    # leaf pages are filled to 90 % (the B-tree default fillfactor): the rest is slack
    return round(max(0.0, 1.0 - density / 90.0), 4) if density == density else None
