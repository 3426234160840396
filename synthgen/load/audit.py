"""The audit trail inside the target schema: ``synthgen_loads`` and ``synthgen_shards``.

``synthgen_loads`` has one row per load (dataset hash, band, scale, seed, spec hash, who, when,
status, rows per table, step timings, where it stopped). ``synthgen_shards`` has one row per
shard loaded, inserted in the same transaction as the shard's rows: a shard is recorded if and
only if its rows are there, which is what makes ``--resume`` exact. With ``--unlogged`` the
shard table is unlogged too, so a server crash (which empties unlogged tables) empties it along
with the data it describes.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from synthgen import __version__
from synthgen.errors import LoadError
from synthgen.postgres.connect import Connection, execute, fetch_all, fetch_value
from synthgen.postgres.mapped import AUDIT_TABLE
from synthgen.schema import TABLES
from synthgen.schema import qualified as _q

LOADS = AUDIT_TABLE
SHARDS = "synthgen_shards"
AUDIT_TABLES = (LOADS, SHARDS)
STATUSES = ("running", "complete", "failed", "interrupted")
LOCK_WAIT_S = 10.0
_CATALOG_TYPES = {
    "bigint": "bigint",
    "text": "text",
    "timestamptz": "timestamp with time zone",
    "boolean": "boolean",
}


def audit_ddl(schema: str, unlogged: bool) -> list[str]:
    """CREATE TABLE statements for both audit tables."""
    statuses = ", ".join(f"'{s}'" for s in STATUSES)
    shards_kind = "UNLOGGED TABLE" if unlogged else "TABLE"
    return [
        f"""CREATE TABLE {_q(schema, LOADS)} (
  load_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  dataset_sha256 text NOT NULL,
  band text, scale double precision, seed text, spec_sha256 text,
  status text NOT NULL CHECK (status IN ({statuses})),
  started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  finished_at timestamptz,
  stopped_at text,
  expected_rows jsonb, rows jsonb, steps jsonb, options jsonb,
  db_user text NOT NULL DEFAULT current_user,
  client_host text, client_addr text DEFAULT inet_client_addr()::text, client_pid integer,
  synthgen_version text
)""",
        f"""CREATE {shards_kind} {_q(schema, SHARDS)} (
  path text PRIMARY KEY,
  table_name text NOT NULL,
  shard integer NOT NULL,
  sha256 text NOT NULL,
  rows bigint NOT NULL,
  bytes bigint NOT NULL,
  load_id bigint NOT NULL,
  seconds double precision,
  loaded_at timestamptz NOT NULL DEFAULT clock_timestamp()
)""",
    ]


@dataclass(frozen=True)
class SchemaState:
    """What the target schema holds before a load."""

    exists: bool
    tables: dict[str, str] = field(default_factory=dict)  # name -> 'p' permanent, 'u' unlogged
    datasets: tuple[str, ...] = ()  # distinct dataset hashes recorded in synthgen_loads
    last_status: str | None = None

    @property
    def is_synthgen(self) -> bool:
        return LOADS in self.tables


def inspect_schema(conn: Connection, schema: str) -> SchemaState:
    """Whether `schema` exists, its tables, and which datasets its audit table records."""
    if fetch_value(conn, "SELECT count(*) FROM pg_namespace WHERE nspname = $1", (schema,)) == 0:
        return SchemaState(exists=False)
    rows = fetch_all(
        conn,
        "SELECT c.relname, c.relpersistence FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
        (schema,),
    )
    tables = {str(name): str(kind) for name, kind in rows}
    if LOADS not in tables:
        return SchemaState(True, tables)
    datasets = fetch_all(
        conn,
        f"SELECT dataset_sha256, max(load_id) FROM {_q(schema, LOADS)} "
        "GROUP BY dataset_sha256 ORDER BY 2",
    )
    last = fetch_value(
        conn, f"SELECT status FROM {_q(schema, LOADS)} ORDER BY load_id DESC LIMIT 1"
    )
    return SchemaState(True, tables, tuple(str(d) for d, _ in datasets), last)


def check_tables(conn: Connection, schema: str) -> bool:
    """On resume: every table exists with the contract's columns; return whether unlogged."""
    unlogged = False
    for table in TABLES.values():
        rows = fetch_all(
            conn,
            "SELECT a.attname, format_type(a.atttypid, NULL), c.relpersistence "
            "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY a.attnum",
            (schema, table.name),
        )
        found = [(str(name), str(kind)) for name, kind, _ in rows]
        wanted = [(c.name, _CATALOG_TYPES[c.pg_type]) for c in table.columns]
        if found != wanted:
            raise LoadError(
                f"table {schema}.{table.name} does not have the expected columns "
                f"({found or 'missing'}); pass --replace to load afresh"
            )
        unlogged = unlogged or rows[0][2] == "u"
    return unlogged


def lock_schema(conn: Connection, schema: str, wait_s: float = LOCK_WAIT_S) -> None:
    """Take the session-level advisory lock that serialises loads / teardowns of `schema`.

    Waits a little: the server may not yet have noticed that a killed loader's connection is
    gone, and until then its lock is held.
    """
    deadline = time.monotonic() + wait_s
    key = (f"synthgen:{schema}",)
    while not fetch_value(conn, "SELECT pg_try_advisory_lock(hashtext($1))", key):
        if time.monotonic() < deadline:
            time.sleep(0.1)
            continue
        raise LoadError(
            f"schema {schema!r} is in use by another synthgen load or teardown; "
            "wait for it to finish"
        )


def mark_interrupted(conn: Connection, schema: str) -> int:
    """Loads still 'running' belong to a killed loader (we hold the lock): mark them."""
    return int(
        fetch_value(
            conn,
            f"WITH u AS (UPDATE {_q(schema, LOADS)} SET status = 'interrupted', "
            "stopped_at = coalesce(stopped_at, 'loader stopped without a word (killed?)') "
            "WHERE status = 'running' RETURNING 1) SELECT count(*) FROM u",
        )
    )


def begin_load(
    conn: Connection, schema: str, manifest: dict[str, Any], options: dict[str, Any]
) -> int:
    """Insert this load's row (status 'running'); return its load_id."""
    import os

    return int(
        fetch_value(
            conn,
            f"INSERT INTO {_q(schema, LOADS)} (dataset_sha256, band, scale, seed, spec_sha256, "
            "status, expected_rows, options, client_host, client_pid, synthgen_version) "
            "VALUES ($1, $2, $3, $4, $5, 'running', $6::jsonb, $7::jsonb, $8, $9, $10) "
            "RETURNING load_id",
            (
                manifest["dataset_sha256"],
                str(manifest["band"]),
                float(manifest["scale"]),
                str(manifest["seed"]),
                str(manifest.get("spec_sha256", "")),
                json.dumps(manifest["counts"]),
                json.dumps(options),
                socket.gethostname(),
                os.getpid(),
                __version__,
            ),
        )
    )


def finish_load(
    conn: Connection,
    schema: str,
    load_id: int,
    status: str,
    rows: dict[str, int],
    steps: dict[str, float],
    stopped_at: str | None = None,
) -> None:
    """Close this load's row with its outcome."""
    execute(
        conn,
        f"UPDATE {_q(schema, LOADS)} SET status = $1, finished_at = clock_timestamp(), "
        "rows = $2::jsonb, steps = $3::jsonb, stopped_at = $4 WHERE load_id = $5",
        (status, json.dumps(rows), json.dumps(steps), stopped_at, load_id),
    )


def recorded_shards(conn: Connection, schema: str) -> dict[str, str]:
    """path -> sha256 of every shard already loaded into `schema`."""
    rows = fetch_all(conn, f"SELECT path, sha256 FROM {_q(schema, SHARDS)}")
    return {str(path): str(sha) for path, sha in rows}


def recorded_rows(conn: Connection, schema: str) -> dict[str, int]:
    """Rows per table according to the shard records."""
    rows = fetch_all(
        conn, f"SELECT table_name, sum(rows)::bigint FROM {_q(schema, SHARDS)} GROUP BY 1"
    )
    return {str(table): int(n) for table, n in rows}


def record_shard_sql(schema: str) -> str:
    """INSERT of one shard record; run in the shard's own transaction."""
    return (
        f"INSERT INTO {_q(schema, SHARDS)} "
        "(path, table_name, shard, sha256, rows, bytes, load_id, seconds) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    )
