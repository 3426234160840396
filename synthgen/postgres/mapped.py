"""Which application tables synthgen loaded through a mapping, read from their audit schemas.

A load into an application's own schema (``load --mapping``) keeps its audit trail beside that
schema, in ``synthgen_<schema>``: ``synthgen_loads`` (one row per load, its options naming the
schema and the tables it wrote) and ``synthgen_saved_objects`` (the keys and indexes it dropped,
which marks the audit schema as a mapped load's). The guard counts those tables as synthgen's
own rows, and ``teardown`` empties them. A database no mapped load ever cleared holds no such
record, so it is judged exactly as before.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from synthgen.postgres.connect import Connection, fetch_all
from synthgen.schema import qualified as _q

AUDIT_TABLE = "synthgen_loads"  # its presence marks a schema as synthgen's own
SAVED_OBJECTS = "synthgen_saved_objects"  # its presence marks an audit schema as a mapped load's

# Schemas that hold both audit tables, and whether this role may read the loads table.
_AUDIT_SCHEMAS_SQL = f"""
SELECT n.nspname, has_table_privilege(l.oid, 'SELECT')
FROM pg_namespace n
JOIN pg_class l ON l.relnamespace = n.oid AND l.relname = '{AUDIT_TABLE}'
  AND l.relkind IN ('r', 'p')
JOIN pg_class s ON s.relnamespace = n.oid AND s.relname = '{SAVED_OBJECTS}' AND s.relkind = 'r'
ORDER BY 1
"""


def audit_schema_for(schema: str) -> str:
    """Where the audit trail of a load into an application's schema lives: beside, never
    inside, the application's schema."""
    return "synthgen_" + re.sub(r"[^a-z0-9_]", "_", schema.lower())


@dataclass(frozen=True)
class MappedLoad:
    """The tables synthgen loaded into one application schema, and its last load's status."""

    schema: str
    audit_schema: str
    tables: tuple[str, ...]
    last_status: str


def _tables_of(options: dict[str, object], rows: dict[str, object]) -> list[str]:
    listed = options.get("tables")
    if isinstance(listed, list):
        return [str(t) for t in listed]
    return [str(t) for t in rows]  # loads recorded before the options named their tables


def _read(conn: Connection, audit_schema: str) -> MappedLoad | None:
    loads = fetch_all(
        conn,
        f"SELECT coalesce(options, '{{}}')::text, coalesce(rows, '{{}}')::text, status "
        f"FROM {_q(audit_schema, AUDIT_TABLE)} ORDER BY load_id",
    )
    saved = fetch_all(
        conn, f"SELECT DISTINCT table_schema, table_name FROM {_q(audit_schema, SAVED_OBJECTS)}"
    )
    schema: str | None = None
    tables: list[str] = []
    for options_text, rows_text, _ in loads:
        options = json.loads(str(options_text))
        named = options.get("schema")
        if isinstance(named, str) and audit_schema_for(named) == audit_schema:
            schema = named
            tables += _tables_of(options, json.loads(str(rows_text)))
    if schema is None or not loads:
        return None
    tables += [str(t) for s, t in saved if s == schema]
    return MappedLoad(schema, audit_schema, tuple(dict.fromkeys(tables)), str(loads[-1][2]))


def mapped_loads(conn: Connection) -> dict[str, MappedLoad]:
    """Every application schema a mapped load recorded, by schema name (readable audits only)."""
    found: dict[str, MappedLoad] = {}
    for audit_schema, readable in fetch_all(conn, _AUDIT_SCHEMAS_SQL):
        if not readable:
            continue
        load = _read(conn, str(audit_schema))
        if load is not None:
            found[load.schema] = load
    return found


def mapped_tables(conn: Connection) -> set[tuple[str, str]]:
    """(schema, table) of every application table a mapped load wrote."""
    return {(m.schema, t) for m in mapped_loads(conn).values() for t in m.tables}
