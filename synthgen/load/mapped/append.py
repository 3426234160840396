"""`synthgen load DELTA --append --mapping M`: an extension written into the application's own
tables through its mapping, with the application's keys, indexes and foreign keys in place.

The delta's rows go through the mapped load's transforms (load.mapped.transform) with a context
built over the whole chain (base and every delta up to this one), so an id converts to exactly
the value the base load wrote (a cuid's clock is the same for every base id) and new rows point
at the base's users, rooms and messages; generated ids (members, reads, deliveries) continue
after the rows of the datasets before. Day by day (one transaction per simulated day with its
audit record in ``synthgen_<schema>``, so a killed append resumes exactly), hour by hour: the
hour's new rows (a room's last message moved: load.mapped.append_last), then its changes
(load.mapped.append_changes), then the counters of what the hour touched
(load.mapped.append_counters). Refused unless the audit
schema's last complete load is the delta's parent (or this delta, to resume it); the production
guard runs before anything else touches the database.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synthgen.appschema.catalog import read_catalog
from synthgen.errors import LoadError
from synthgen.load import append as contract_append
from synthgen.load import audit
from synthgen.load.append import AppendReport, Ticker
from synthgen.load.mapped import append_changes as ch
from synthgen.load.mapped import append_counters, append_last
from synthgen.load.mapped import rows as mapped_rows
from synthgen.load.mapped import transform as tf
from synthgen.load.mapped.figures import measure
from synthgen.load.mapped.load_plan import TIME_COLUMN, LoadPlan, make_load_plan
from synthgen.manifest import read_manifest
from synthgen.mapping import load_mapping
from synthgen.postgres.connect import (
    Connection,
    DatabaseError,
    connect,
    error_text,
    execute,
    fetch_value,
)
from synthgen.postgres.guard import GuardSettings, check_database
from synthgen.postgres.mapped import audit_schema_for
from synthgen.schema import qualified
from synthgen.units import US_PER_DAY, US_PER_HOUR

SOURCES = ("users", "conversations", "conversation_traits", "conversation_users", "messages",
           "attachments", "read_receipts")  # fmt: skip


@dataclass(frozen=True)
class MappedAppendOptions:
    delta: Path
    dsn: str
    mapping_path: Path
    schema: str | None = None  # overrides the mapping's schema
    days_per_minute: float | None = None
    guard: GuardSettings = field(default_factory=GuardSettings)


@dataclass
class _Job:
    """What every day of the append shares."""

    plan: LoadPlan
    audit_schema: str
    ctx: tf.Context
    tables: dict[str, pa.Table]  # the delta's rows per contract table, in time order
    offsets: dict[str, int]  # rows of the chain before the delta, per contract table
    changes: pa.Table
    times: dict[str, np.ndarray] = field(default_factory=dict)  # each table's time column, µs


def chain_of(delta: Path) -> list[Path]:
    """The base, then every delta up to `delta` (each found through its manifest's parent)."""
    roots = [delta]
    while True:
        ext = read_manifest(roots[-1]).get("extension")
        if not isinstance(ext, dict):
            return roots[::-1]
        parent = Path(ext["parent"])
        if not (parent / "manifest.json").is_file():
            raise LoadError(f"{roots[-1]}: its parent dataset {parent} is missing")
        roots.append(parent)


def _joined_root(chain: list[Path], into: Path) -> Path:
    """One directory whose table folders link every file of the chain (for the context)."""
    for number, root in enumerate(chain):
        for entry in read_manifest(root)["files"]:
            folder = into / str(entry["table"])
            folder.mkdir(exist_ok=True)
            (folder / f"{number:03d}-{Path(entry['path']).name}").symlink_to(root / entry["path"])
    return into


def append_mapped(opts: MappedAppendOptions, ticker: Ticker | None = None) -> AppendReport:
    """Write the delta into the application's tables; see the module docstring."""
    started = time.perf_counter()
    if opts.days_per_minute is not None and opts.days_per_minute <= 0:
        raise LoadError(f"--days-per-minute: must be above 0 (got {opts.days_per_minute:g})")
    manifest = contract_append.open_delta(opts.delta)
    mapping = load_mapping(opts.mapping_path, opts.schema)
    schema, audit_schema = mapping.schema, audit_schema_for(mapping.schema)
    conn = connect(opts.dsn, autocommit=True)
    try:
        check_database(opts.guard, conn, opts.dsn, schema)  # the guard first
        audit.lock_schema(conn, audit_schema)
        chain = chain_of(opts.delta)
        catalog = read_catalog(conn, schema)
        plan = make_load_plan(mapping, catalog, measure(chain[0], mapping, catalog))
        append_counters.check(plan)
        changes = contract_append.read_table(opts.delta, manifest, "changes")
        ch.check_expressible(plan, ch.ops_in(changes))
        complete, last, last_options = contract_append.loaded_state(conn, audit_schema)
        sha, ext = str(manifest["dataset_sha256"]), manifest["extension"]
        resuming = complete != sha and last == sha
        if complete == sha:
            raise LoadError(f"schema {schema!r} already holds {opts.delta} (appended and complete)")
        if not resuming and complete != ext["parent_dataset_sha256"]:
            raise LoadError(
                f"{opts.delta}: extends dataset {ext['parent_dataset_sha256'][:12]}, but schema "
                f"{schema!r} holds {str(complete)[:12]}; append the extensions in order"
            )
        with tempfile.TemporaryDirectory(prefix="synthgen-append-") as tmp:
            job = _job(chain, manifest, plan, audit_schema, changes, Path(tmp))
        before = last_options.get("before") or {} if resuming else _counts(conn, plan)
        audit.mark_interrupted(conn, audit_schema)
        done = set(audit.recorded_shards(conn, audit_schema))
        load_id = audit.begin_load(conn, audit_schema, manifest, {
            "mode": "append", "before": before, "delta": str(opts.delta), "schema": schema,
            "mapping": str(opts.mapping_path), "tables": [t.target for t in plan.tables],
        })  # fmt: skip
        report = _run_days(conn, opts, manifest, job, load_id, done, ticker)
        counts = _check(conn, plan, before, contract_append.net_rows(opts.delta, manifest))
        audit.finish_load(conn, audit_schema, load_id, "complete", counts, {})
        report.counts, report.seconds = counts, round(time.perf_counter() - started, 3)
        return report
    except DatabaseError as exc:
        raise LoadError(error_text(exc, opts.dsn)) from None
    finally:
        with contextlib.suppress(DatabaseError):
            conn.close()


def _job(
    chain: list[Path],
    manifest: dict[str, Any],
    plan: LoadPlan,
    audit_schema: str,
    changes: pa.Table,
    tmp: Path,
) -> _Job:
    root = _joined_root(chain, tmp)
    messages = sorted((root / "messages").glob("*.parquet"))
    ctx = tf.build_context(root, plan, list(messages))
    if append_last.kept(plan):  # the rooms it opens: their last message set as it arrives
        ctx.last_message = append_last.none_yet()
    if append_counters.last_sent(plan):  # the users it opens: their last sent as it arrives
        ctx.counters["last_sent"] = append_counters.none_sent()
    offsets = {t: 0 for t in SOURCES}
    for earlier in chain[:-1]:
        for t, n in read_manifest(earlier)["counts"].items():
            offsets[t] = offsets.get(t, 0) + int(n)
    tables = {}
    for name in SOURCES:
        rows = contract_append.read_table(chain[-1], manifest, name)
        if name in TIME_COLUMN and rows.num_rows:  # time order: an hour is one contiguous run
            rows = rows.sort_by([(TIME_COLUMN[name], "ascending")])
        tables[name] = rows
    times = {
        name: rows.column(TIME_COLUMN[name]).cast(pa.int64()).to_numpy()
        for name, rows in tables.items()
        if name in TIME_COLUMN
    }
    return _Job(plan, audit_schema, ctx, tables, offsets, changes, times)


def _run_days(
    conn: Connection,
    opts: MappedAppendOptions,
    manifest: dict[str, Any],
    job: _Job,
    load_id: int,
    done: set[str],
    ticker: Ticker | None,
) -> AppendReport:
    ext, sha = manifest["extension"], str(manifest["dataset_sha256"])
    days, start = int(ext["days"]), int(ext["start_us"])
    report = AppendReport(job.plan.schema, sha, 0, 0, {}, [], 0.0)
    work = connect(opts.dsn)  # the days' transactions; `conn` keeps the lock
    try:
        execute(work, ch.staging_ddl(job.plan, job.audit_schema))
        if append_last.kept(job.plan):
            execute(work, append_last.staging_ddl(job.plan, job.audit_schema))
        if append_counters.counters(job.plan):
            for statement in append_counters.staging_ddl(job.plan, job.audit_schema):
                execute(work, statement)
        if append_counters.last_sent(job.plan):
            execute(work, append_counters.sent_ddl(job.plan, job.audit_schema))
        work.commit()
        paced_from = time.monotonic()
        for day in range(days):
            if ticker:
                ticker(day, days)
            path = contract_append.unit_path(sha, day)
            if path in done:
                report.days_skipped += 1
                continue
            if opts.days_per_minute:
                wait = paced_from + 60.0 * report.days_applied / opts.days_per_minute
                time.sleep(max(0.0, wait - time.monotonic()))
            began = time.perf_counter()
            execute(work, "SET LOCAL TIME ZONE 'UTC'")  # staged times meet timestamp columns
            rows = _apply_day(work, job, (start + day * US_PER_DAY, start + (day + 1) * US_PER_DAY))
            execute(work, audit.record_shard_sql(job.audit_schema), (
                path, "append", day, sha, rows, 0, load_id, time.perf_counter() - began,
            ))  # fmt: skip
            work.commit()  # the day's rows, changes and record: one transaction
            report.days_applied += 1
            report.seconds_per_day.append(round(time.perf_counter() - began, 3))
    except BaseException as exc:
        with contextlib.suppress(Exception):
            work.rollback()
        reason = error_text(exc, opts.dsn) if isinstance(exc, DatabaseError) else str(exc)
        with contextlib.suppress(Exception):
            audit.finish_load(conn, job.audit_schema, load_id, "failed", {}, {}, reason or "?")
        raise
    finally:
        with contextlib.suppress(DatabaseError):
            work.close()
    if ticker:
        ticker(days, days)
    return report


def _span(times: np.ndarray, lo: int, hi: int) -> tuple[int, int]:
    """The [first, last) positions of sorted times in [lo, hi)."""
    return int(np.searchsorted(times, lo, "left")), int(np.searchsorted(times, hi, "left"))


def _apply_day(conn: Connection, job: _Job, window: tuple[int, int]) -> int:
    """The day's rows and changes, hour by hour, in the connection's open transaction."""
    written = 0
    by_source: dict[str, list[Any]] = {}
    for t in job.plan.tables:
        by_source.setdefault(t.source, []).append(t)
    with conn.cursor() as cur:
        for lo in range(window[0], window[1], US_PER_HOUR):
            hi, new_rooms = lo + US_PER_HOUR, pa.array([], pa.int64())
            hour: dict[str, pa.Table] = {}
            for name in SOURCES:
                rows, first = _slice(job, name, lo, hi, new_rooms)
                hour[name] = rows
                if name == "conversations":
                    new_rooms = rows.column("id").combine_chunks()
                if not rows.num_rows:
                    continue
                for table in by_source.get(name, []):
                    batches = rows.to_batches(max_chunksize=65536)
                    transformed = mapped_rows._transformed(batches, table, job.plan, job.ctx, first)
                    mapped_rows._ingest(cur, transformed, table, job.plan)
                written += rows.num_rows
                if name == "messages" and append_last.kept(job.plan):
                    _move_last(cur, job, rows)
                if name == "messages" and append_counters.last_sent(job.plan):
                    _move_sent(cur, job, rows)
            written += _apply_changes(cur, job, lo, hi)
            if append_counters.counters(job.plan):
                _recount(cur, job, hour, contract_append.between(job.changes, "changedAt", lo, hi))
    return written


def _ids(table: pa.Table, column: str) -> np.ndarray:
    return np.asarray(table.column(column).to_numpy(), dtype=np.int64)


def _recount(cur: Any, job: _Job, hour: dict[str, pa.Table], changes: pa.Table) -> None:
    """The counters of the rooms and members the hour touched, recounted."""
    hard = changes.filter(pc.equal(changes.column("op"), "hard_delete"))
    moved = changes.filter(pc.equal(changes.column("op"), "read_cursor"))
    members = hour["conversation_users"]
    rooms = np.concatenate([_ids(hour["conversations"], "id"),
                            _ids(hour["messages"], "conversationId"),
                            _ids(hard, "conversationId")])  # fmt: skip
    pairs = (
        np.concatenate([_ids(members, "conversationId"), _ids(moved, "conversationId")]),
        np.concatenate([_ids(members, "userId"), _ids(moved, "userId")]),
    )
    if not len(rooms) and not len(pairs[0]):
        return
    cur.execute(f"TRUNCATE {qualified(job.audit_schema, append_counters.TOUCHED)}")
    data = append_counters.touched(job.plan, job.ctx, rooms, pairs)
    reader = pa.RecordBatchReader.from_batches(data.schema, data.to_batches())
    cur.adbc_ingest(append_counters.TOUCHED, reader, mode="append",
                    db_schema_name=job.audit_schema)  # fmt: skip
    for statement in append_counters.recount_sql(job.plan, job.audit_schema):
        cur.execute(statement)


def _slice(job: _Job, name: str, lo: int, hi: int, new_rooms: pa.Array) -> tuple[pa.Table, int]:
    """A table's rows of [lo, hi) and the global row number of the first."""
    rows = job.tables[name]
    if name not in TIME_COLUMN:  # traits: of the rooms opened in this slice
        return rows.filter(pc.is_in(rows.column("conversationId"), new_rooms)), 0
    a, b = _span(job.times[name], lo, hi)
    return rows.slice(a, b - a), job.offsets.get(name, 0) + a


def _move_last(cur: Any, job: _Job, messages: pa.Table) -> None:
    """The rooms' last-message columns moved to the hour's new messages."""
    cur.execute(f"TRUNCATE {qualified(job.audit_schema, append_last.STAGING)}")
    data = append_last.last_of(messages, job.plan, job.ctx)
    reader = pa.RecordBatchReader.from_batches(data.schema, data.to_batches())
    cur.adbc_ingest(append_last.STAGING, reader, mode="append", db_schema_name=job.audit_schema)
    cur.execute(append_last.update_sql(job.plan, job.audit_schema))


def _move_sent(cur: Any, job: _Job, messages: pa.Table) -> None:
    """The senders' last-sent columns moved to the hour's new messages."""
    cur.execute(f"TRUNCATE {qualified(job.audit_schema, append_counters.SENT)}")
    data = append_counters.sent(messages, job.plan, job.ctx)
    reader = pa.RecordBatchReader.from_batches(data.schema, data.to_batches())
    cur.adbc_ingest(append_counters.SENT, reader, mode="append", db_schema_name=job.audit_schema)
    for statement in append_counters.sent_sql(job.plan, job.audit_schema):
        cur.execute(statement)


def _apply_changes(cur: Any, job: _Job, lo: int, hi: int) -> int:
    changes = contract_append.between(job.changes, "changedAt", lo, hi)
    if not changes.num_rows:
        return 0
    cur.execute(f"TRUNCATE {qualified(job.audit_schema, ch.STAGING)}")
    data = ch.staged(changes, job.plan, job.ctx)
    reader = pa.RecordBatchReader.from_batches(data.schema, data.to_batches())
    cur.adbc_ingest(ch.STAGING, reader, mode="append", db_schema_name=job.audit_schema)
    for statement in ch.change_sql(job.plan, job.audit_schema):
        cur.execute(statement)
    return changes.num_rows


def _counts(conn: Connection, plan: LoadPlan) -> dict[str, int]:
    return {
        t.target: int(fetch_value(conn, f"SELECT count(*) FROM {qualified(plan.schema, t.target)}"))
        for t in plan.tables
    }


def _check(
    conn: Connection, plan: LoadPlan, before: dict[str, int], net: dict[str, int]
) -> dict[str, int]:
    """Exact counts: each target gains its source's net rows (times its delivery states)."""
    counts = _counts(conn, plan)
    want = {t.target: before[t.target] + net[t.source] * t.rows_per_source_row for t in plan.tables}
    differ = [f"{t} {counts[t]:,} != {want[t]:,}" for t in counts if counts[t] != want[t]]
    if differ:
        raise LoadError(f"row counts after the append differ: {'; '.join(differ)}")
    return counts
