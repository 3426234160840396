"""`synthgen load DELTA --append`: an extension written into the live contract tables, with
their keys, indexes and constraints in place, as the application's traffic would arrive.

The contract target of `load.append_driver` (which walks the days, one transaction each with its
audit record, and refuses a delta that does not follow the schema's last load): hour by hour
inside a day, the hour's new rows (users, rooms, memberships, messages, attachments, receipts,
in key order) by binary COPY, then the hour's changes from a staging table: edits, soft deletes,
hard deletes (receipts and attachments first), leaves, then the moved cursors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from synthgen.load.append_driver import (
    AppendReport,
    AppendRun,
    Ticker,
    between,
    loaded_state,
    read_table,
    run_append,
)
from synthgen.manifest import read_manifest
from synthgen.postgres.connect import Connection, execute, fetch_value, validate_schema_name
from synthgen.postgres.guard import GuardSettings
from synthgen.schema import TABLES, qualified
from synthgen.units import US_PER_HOUR

# new rows in key order: a row's parents come first
INSERT_ORDER = (
    ("users", "createdAt"),
    ("conversations", "createdAt"),
    ("conversation_traits", None),
    ("conversation_users", "joinedAt"),
    ("messages", "createdAt"),
    ("attachments", "createdAt"),
    ("read_receipts", "readAt"),
)
STAGING = "synthgen_append_changes"
SLICE_US = US_PER_HOUR


@dataclass(frozen=True)
class AppendOptions:
    delta: Path
    dsn: str
    schema: str
    days_per_minute: float | None = None  # None: as fast as possible
    guard: GuardSettings = field(default_factory=GuardSettings)


def appended(conn: Connection, schema: str, delta: Path) -> bool:
    """Whether the schema's last complete load is this delta."""
    complete, _, _ = loaded_state(conn, schema)
    return complete == read_manifest(delta)["dataset_sha256"]


def append_delta(opts: AppendOptions, ticker: Ticker | None = None) -> AppendReport:
    """Write the delta into the schema; see the module docstring."""
    schema = validate_schema_name(opts.schema)
    run = AppendRun(opts.delta, opts.dsn, opts.days_per_minute, opts.guard)
    return run_append(run, lambda manifest: _Contract(schema, opts.delta, manifest), ticker)


@dataclass
class _Contract:
    """The contract tables as an append target (`load.append_driver.AppendTarget`)."""

    schema: str
    delta: Path
    manifest: dict[str, Any]

    @property
    def audit_schema(self) -> str:
        return self.schema

    def check(self, conn: Connection) -> None:
        pass  # the contract tables take every change

    def prepare(self) -> None:
        pass  # a day reads its rows from the delta's files

    def options(self) -> dict[str, Any]:
        return {}

    def counts(self, conn: Connection) -> dict[str, int]:
        return {
            t: int(fetch_value(conn, f"SELECT count(*) FROM {qualified(self.schema, t)}"))
            for t in TABLES
        }

    def staging(self, work: Connection) -> None:
        execute(
            work,
            f"CREATE UNLOGGED TABLE IF NOT EXISTS {qualified(self.schema, STAGING)} ("
            '"changedAt" timestamptz NOT NULL, op text NOT NULL, "messageId" bigint NOT NULL, '
            '"conversationId" bigint NOT NULL, "userId" bigint NOT NULL, content text)',
        )

    def apply_day(self, work: Connection, window: tuple[int, int]) -> int:
        return apply_day(work, self.delta, self.manifest, self.schema, window)

    def expected(self, before: dict[str, int], net: dict[str, int]) -> dict[str, int]:
        return {t: before[t] + net[t] for t in TABLES}


def apply_day(
    conn: Connection, delta: Path, manifest: dict[str, Any], schema: str, window: tuple[int, int]
) -> int:
    """The day's rows and changes, hour by hour, in the connection's open transaction; rows
    written."""
    tables = {name: read_table(delta, manifest, name) for name, _ in INSERT_ORDER}
    changes = read_table(delta, manifest, "changes")
    written = 0
    for lo in range(window[0], window[1], SLICE_US):
        hi = lo + SLICE_US
        new_rooms = None
        for name, column in INSERT_ORDER:
            if column is None:  # traits: of the rooms opened in this slice
                rows = tables[name].filter(
                    pc.is_in(tables[name].column("conversationId"), new_rooms)
                )
            else:
                rows = between(tables[name], column, lo, hi)
            if name == "conversations":
                new_rooms = rows.column("id").combine_chunks()
            if rows.num_rows:
                copy_rows(conn, schema, name, rows)
                written += rows.num_rows
        slice_changes = between(changes, "changedAt", lo, hi)
        if slice_changes.num_rows:
            execute(conn, f"TRUNCATE {qualified(schema, STAGING)}")
            copy_rows(conn, schema, STAGING, slice_changes)
            for statement in change_sql(schema):
                execute(conn, statement)
            written += slice_changes.num_rows
    return written


def copy_rows(conn: Connection, schema: str, table: str, rows: pa.Table) -> None:
    reader = pa.RecordBatchReader.from_batches(rows.schema, rows.to_batches())
    with conn.cursor() as cur:
        cur.adbc_ingest(table, reader, mode="append", db_schema_name=schema)


def change_sql(schema: str) -> list[str]:
    """The staged changes applied: edits, soft deletes, hard deletes (children first), leaves,
    then the cursors (each only ever moves forward)."""
    q = {t: qualified(schema, t) for t in (*TABLES, STAGING)}
    c = q[STAGING]

    def of(op: str) -> str:
        return f"(SELECT * FROM {c} WHERE op = '{op}')"

    hard = f"(SELECT \"messageId\" FROM {c} WHERE op = 'hard_delete')"
    return [
        f"UPDATE {q['messages']} m SET content = e.content FROM {of('edit')} e "
        'WHERE m.id = e."messageId"',
        f"UPDATE {q['messages']} m SET content = NULL FROM {of('soft_delete')} e "
        'WHERE m.id = e."messageId"',
        f'DELETE FROM {q["read_receipts"]} WHERE "messageId" IN {hard}',
        f'DELETE FROM {q["attachments"]} WHERE "messageId" IN {hard}',
        f"DELETE FROM {q['messages']} WHERE id IN {hard}",
        f'UPDATE {q["conversation_users"]} u SET "isActive" = false FROM {of("leave")} e '
        'WHERE u."conversationId" = e."conversationId" AND u."userId" = e."userId"',
        f'UPDATE {q["conversation_users"]} u SET "lastReadAt" = greatest(u."lastReadAt", '
        f'e."changedAt") FROM {of("read_cursor")} e '
        'WHERE u."conversationId" = e."conversationId" AND u."userId" = e."userId"',
        f'UPDATE {q["users"]} u SET "lastSeenAt" = greatest(u."lastSeenAt", e."changedAt") '
        f'FROM {of("seen")} e WHERE u.id = e."userId"',
        f'UPDATE {q["conversations"]} r SET "updatedAt" = greatest(r."updatedAt", '
        f'e."changedAt") FROM {of("room_updated")} e WHERE r.id = e."conversationId"',
    ]
