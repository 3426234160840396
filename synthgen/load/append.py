"""`synthgen load DELTA --append`: an extension written into the live contract tables, with
their keys, indexes and constraints in place, as the application's traffic would arrive.

Day by day (one transaction per simulated day, recorded in `synthgen_shards` with it, so a
killed append resumes exactly), hour by hour inside the day: the hour's new rows (users, rooms,
memberships, messages, attachments, receipts, in key order) by binary COPY, then the hour's
changes from a staging table: edits, soft deletes, hard deletes (receipts and attachments
first), leaves, then the moved cursors. Refused unless the schema's last complete load is the
delta's parent dataset (or this delta, to resume it).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from synthgen.errors import LoadError
from synthgen.load import audit
from synthgen.manifest import describe_problems, file_entries, file_problems, read_manifest
from synthgen.postgres.connect import (
    Connection,
    DatabaseError,
    connect,
    error_text,
    execute,
    fetch_all,
    fetch_value,
    validate_schema_name,
)
from synthgen.postgres.guard import GuardSettings, check_database
from synthgen.schema import TABLES, qualified
from synthgen.units import US_PER_DAY, US_PER_HOUR

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
Ticker = Callable[[int, int], None]  # (simulated days done, days)


@dataclass(frozen=True)
class AppendOptions:
    delta: Path
    dsn: str
    schema: str
    days_per_minute: float | None = None  # None: as fast as possible
    guard: GuardSettings = field(default_factory=GuardSettings)


@dataclass
class AppendReport:
    schema: str
    dataset_sha256: str
    days_applied: int
    days_skipped: int
    counts: dict[str, int]
    seconds_per_day: list[float]
    seconds: float


def unit_path(sha: str, day: int) -> str:
    return f"append/{sha[:16]}/day-{day:05d}"


def open_delta(delta: Path) -> dict[str, Any]:
    manifest = read_manifest(delta)
    if not isinstance(manifest.get("extension"), dict):
        raise LoadError(f"{delta}: is not an extension (`synthgen extend` writes those)")
    problems = file_problems(delta, file_entries(manifest))
    if problems:
        raise LoadError(f"{delta}: {describe_problems(problems)}")
    return manifest


def loaded_state(conn: Connection, schema: str) -> tuple[str | None, str | None, dict[str, Any]]:
    """The last complete load's dataset, the very last load's dataset and its options."""
    state = audit.inspect_schema(conn, schema)
    if not state.is_synthgen:
        raise LoadError(f"schema {schema!r} holds no synthgen load; load the base dataset first")
    loads = audit.LOADS
    complete = fetch_value(
        conn,
        f"SELECT dataset_sha256 FROM {qualified(schema, loads)} WHERE status = 'complete' "
        "ORDER BY load_id DESC LIMIT 1",
    )
    last = fetch_all(
        conn,
        f"SELECT dataset_sha256, options::text FROM {qualified(schema, loads)} "
        "ORDER BY load_id DESC LIMIT 1",
    )
    options = json.loads(last[0][1] or "{}") if last else {}
    return (complete and str(complete)), (str(last[0][0]) if last else None), options


def appended(conn: Connection, schema: str, delta: Path) -> bool:
    """Whether the schema's last complete load is this delta."""
    complete, _, _ = loaded_state(conn, schema)
    return complete == read_manifest(delta)["dataset_sha256"]


def append_delta(opts: AppendOptions, ticker: Ticker | None = None) -> AppendReport:
    """Write the delta into the schema; see the module docstring."""
    started = time.perf_counter()
    schema = validate_schema_name(opts.schema)
    if opts.days_per_minute is not None and opts.days_per_minute <= 0:
        raise LoadError(f"--days-per-minute: must be above 0 (got {opts.days_per_minute:g})")
    manifest = open_delta(opts.delta)
    ext, sha = manifest["extension"], str(manifest["dataset_sha256"])
    conn = connect(opts.dsn, autocommit=True)
    try:
        check_database(opts.guard, conn, opts.dsn, schema)
        audit.lock_schema(conn, schema)
        complete, last, last_options = loaded_state(conn, schema)
        resuming = complete != sha and last == sha
        if complete == sha:
            raise LoadError(f"schema {schema!r} already holds {opts.delta} (appended and complete)")
        if not resuming and complete != ext["parent_dataset_sha256"]:
            raise LoadError(
                f"{opts.delta}: extends dataset {ext['parent_dataset_sha256'][:12]}, but schema "
                f"{schema!r} holds {str(complete)[:12]}; append the extensions in order"
            )
        audit.mark_interrupted(conn, schema)
        before: dict[str, int] = (
            last_options.get("before") or {} if resuming else _counts(conn, schema)
        )
        done = set(audit.recorded_shards(conn, schema))
        load_id = audit.begin_load(
            conn, schema, manifest, {"mode": "append", "before": before, "delta": str(opts.delta)}
        )
        work = connect(opts.dsn)  # the days' transactions; `conn` keeps the lock
        try:
            _staging(work, schema)
            report = _days(work, opts, manifest, schema, load_id, done, ticker)
        except BaseException as exc:
            with contextlib.suppress(Exception):
                work.rollback()
            reason = error_text(exc, opts.dsn) if isinstance(exc, DatabaseError) else str(exc)
            audit.finish_load(conn, schema, load_id, "failed", {}, {}, reason or "interrupted")
            raise
        finally:
            with contextlib.suppress(DatabaseError):
                work.close()
        counts = _check(conn, schema, before, net_rows(opts.delta, manifest))
        audit.finish_load(conn, schema, load_id, "complete", counts, {})
        report.counts, report.seconds = counts, round(time.perf_counter() - started, 3)
        return report
    except DatabaseError as exc:
        raise LoadError(error_text(exc, opts.dsn)) from None
    finally:
        with contextlib.suppress(DatabaseError):
            conn.close()


def _staging(conn: Connection, schema: str) -> None:
    execute(
        conn,
        f"CREATE UNLOGGED TABLE IF NOT EXISTS {qualified(schema, STAGING)} ("
        '"changedAt" timestamptz NOT NULL, op text NOT NULL, "messageId" bigint NOT NULL, '
        '"conversationId" bigint NOT NULL, "userId" bigint NOT NULL, content text)',
    )
    conn.commit()


def _days(
    conn: Connection,
    opts: AppendOptions,
    manifest: dict[str, Any],
    schema: str,
    load_id: int,
    done: set[str],
    ticker: Ticker | None,
) -> AppendReport:
    ext, sha = manifest["extension"], str(manifest["dataset_sha256"])
    days, start = int(ext["days"]), int(ext["start_us"])
    report = AppendReport(schema, sha, 0, 0, {}, [], 0.0)
    paced_from = time.monotonic()
    for day in range(days):  # simulated days: one transaction each
        if ticker:
            ticker(day, days)
        path = unit_path(sha, day)
        if path in done:
            report.days_skipped += 1
            continue
        if opts.days_per_minute:
            wait = paced_from + 60.0 * report.days_applied / opts.days_per_minute
            time.sleep(max(0.0, wait - time.monotonic()))
        began = time.perf_counter()
        window = (start + day * US_PER_DAY, start + (day + 1) * US_PER_DAY)
        rows = apply_day(conn, opts.delta, manifest, schema, window)
        execute(conn, audit.record_shard_sql(schema), (
            path, "append", day, sha, rows, 0, load_id, time.perf_counter() - began,
        ))  # fmt: skip
        conn.commit()  # the day's rows, changes and record: one transaction
        report.days_applied += 1
        report.seconds_per_day.append(round(time.perf_counter() - began, 3))
    if ticker:
        ticker(days, days)
    return report


def read_table(delta: Path, manifest: dict[str, Any], table: str) -> pa.Table:
    files = [delta / e["path"] for e in manifest["files"] if e["table"] == table]
    schema = TABLES[table].arrow_schema if table in TABLES else None
    if not files:
        return schema.empty_table() if schema else pa.table({})
    return pa.concat_tables([pq.read_table(f) for f in files])


def between(table: pa.Table, column: str, lo: int, hi: int) -> pa.Table:
    t = pc.cast(table.column(column), pa.int64())
    return table.filter(pc.and_(pc.greater_equal(t, lo), pc.less(t, hi)))


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


def _counts(conn: Connection, schema: str) -> dict[str, int]:
    return {
        t: int(fetch_value(conn, f"SELECT count(*) FROM {qualified(schema, t)}")) for t in TABLES
    }


def net_rows(delta: Path, manifest: dict[str, Any]) -> dict[str, int]:
    """Rows each table gains: the delta's inserts less the hard deletes and their children."""
    changes = read_table(delta, manifest, "changes")
    hard = changes.filter(pc.equal(changes.column("op"), "hard_delete")).column("messageId")
    net = {t: int(manifest["counts"].get(t, 0)) for t in TABLES}
    for table, key in (
        ("messages", "id"),
        ("attachments", "messageId"),
        ("read_receipts", "messageId"),
    ):
        rows = read_table(delta, manifest, table)
        net[table] -= int(pc.sum(pc.is_in(rows.column(key), hard)).as_py() or 0)
    return net


def _check(
    conn: Connection, schema: str, before: dict[str, int], net: dict[str, int]
) -> dict[str, int]:
    counts = _counts(conn, schema)
    differ = [
        f"{t} {counts[t]:,} != {before[t] + net[t]:,}"
        for t in TABLES
        if counts[t] != before[t] + net[t]
    ]
    if differ:
        raise LoadError(f"row counts after the append differ: {'; '.join(differ)}")
    return counts
