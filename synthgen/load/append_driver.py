"""What both appends share (`synthgen load DELTA --append`, with or without `--mapping`): the
delta opened and checked, the schema locked and its last load checked against the delta's
parent, then the simulated days walked, each one transaction with its audit record (so a killed
append resumes exactly), paced and reported, and the row counts checked at the end.

A target (`load.append` for the contract tables, `load.mapped.append` for an application's
schema) supplies only what differs: where it audits, what it checks first, its staging tables,
how one day is written and what the counts should be.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

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
)
from synthgen.postgres.guard import GuardSettings, check_database
from synthgen.schema import TABLES, qualified
from synthgen.units import US_PER_DAY

Ticker = Callable[[int, int], None]  # (simulated days done, days)


@dataclass(frozen=True)
class AppendRun:
    """What every append is given: the delta, the database, the pace and the guard."""

    delta: Path
    dsn: str
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


class AppendTarget(Protocol):
    """What one append target supplies to `run_append`."""

    @property
    def schema(self) -> str:
        """The schema written: the one the guard checks and the report names."""

    @property
    def audit_schema(self) -> str:
        """Where its loads and days are recorded."""

    def check(self, conn: Connection) -> None:
        """Refuse what the target cannot write, before the audit trail is read (schema locked)."""

    def prepare(self) -> None:
        """Build what every day shares, once the delta is known to apply."""

    def options(self) -> dict[str, Any]:
        """The load record's options beyond the mode, the counts before and the delta."""

    def counts(self, conn: Connection) -> dict[str, int]:
        """Rows per table written, now."""

    def staging(self, work: Connection) -> None:
        """Create the staging tables the days use (not committed yet)."""

    def apply_day(self, work: Connection, window: tuple[int, int]) -> int:
        """One day's rows and changes in `work`'s open transaction; rows written."""

    def expected(self, before: dict[str, int], net: dict[str, int]) -> dict[str, int]:
        """Rows per table the append should leave, from the counts before and the delta's net
        rows per contract table."""


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


def read_table(delta: Path, manifest: dict[str, Any], table: str) -> pa.Table:
    files = [delta / e["path"] for e in manifest["files"] if e["table"] == table]
    schema = TABLES[table].arrow_schema if table in TABLES else None
    if not files:
        return schema.empty_table() if schema else pa.table({})
    return pa.concat_tables([pq.read_table(f) for f in files])


def between(table: pa.Table, column: str, lo: int, hi: int) -> pa.Table:
    t = pc.cast(table.column(column), pa.int64())
    return table.filter(pc.and_(pc.greater_equal(t, lo), pc.less(t, hi)))


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


def run_append(
    run: AppendRun,
    target_for: Callable[[dict[str, Any]], AppendTarget],
    ticker: Ticker | None = None,
) -> AppendReport:
    """Write the delta through the target `target_for(manifest)` makes; see the docstring."""
    started = time.perf_counter()
    if run.days_per_minute is not None and run.days_per_minute <= 0:
        raise LoadError(f"--days-per-minute: must be above 0 (got {run.days_per_minute:g})")
    manifest = open_delta(run.delta)
    target = target_for(manifest)
    conn = connect(run.dsn, autocommit=True)  # holds the lock; the days run on their own one
    try:
        check_database(run.guard, conn, run.dsn, target.schema)  # the guard first
        audit.lock_schema(conn, target.audit_schema)
        target.check(conn)
        before = _check_parent(conn, run, manifest, target)
        audit.mark_interrupted(conn, target.audit_schema)
        done = set(audit.recorded_shards(conn, target.audit_schema))
        options = {"mode": "append", "before": before, "delta": str(run.delta)}
        load_id = audit.begin_load(conn, target.audit_schema, manifest, options | target.options())
        report = _run_days(conn, run, manifest, target, load_id, done, ticker)
        counts = target.counts(conn)
        want = target.expected(before, net_rows(run.delta, manifest))
        differ = [f"{t} {counts[t]:,} != {want[t]:,}" for t in counts if counts[t] != want[t]]
        if differ:
            raise LoadError(f"row counts after the append differ: {'; '.join(differ)}")
        audit.finish_load(conn, target.audit_schema, load_id, "complete", counts, {})
        report.counts, report.seconds = counts, round(time.perf_counter() - started, 3)
        return report
    except DatabaseError as exc:
        raise LoadError(error_text(exc, run.dsn)) from None
    finally:
        with contextlib.suppress(DatabaseError):
            conn.close()


def _check_parent(
    conn: Connection, run: AppendRun, manifest: dict[str, Any], target: AppendTarget
) -> dict[str, int]:
    """Refuse a delta that does not follow the schema's last complete load (unless it resumes
    this one); the counts before the append began (a resumed append's, from its first try)."""
    complete, last, last_options = loaded_state(conn, target.audit_schema)
    sha, ext = str(manifest["dataset_sha256"]), manifest["extension"]
    resuming = complete != sha and last == sha
    schema = target.schema
    if complete == sha:
        raise LoadError(f"schema {schema!r} already holds {run.delta} (appended and complete)")
    if not resuming and complete != ext["parent_dataset_sha256"]:
        raise LoadError(
            f"{run.delta}: extends dataset {ext['parent_dataset_sha256'][:12]}, but schema "
            f"{schema!r} holds {str(complete)[:12]}; append the extensions in order"
        )
    target.prepare()
    before: dict[str, int] = last_options.get("before") or {} if resuming else target.counts(conn)
    return before


def _run_days(
    conn: Connection,
    run: AppendRun,
    manifest: dict[str, Any],
    target: AppendTarget,
    load_id: int,
    done: set[str],
    ticker: Ticker | None,
) -> AppendReport:
    """The days not yet recorded, one transaction each; a failure marks the load failed."""
    work = connect(run.dsn)  # the days' transactions; `conn` keeps the lock
    try:
        target.staging(work)
        work.commit()
        report = _days(work, run, manifest, target, load_id, done, ticker)
    except BaseException as exc:
        with contextlib.suppress(Exception):
            work.rollback()
        reason = error_text(exc, run.dsn) if isinstance(exc, DatabaseError) else str(exc)
        with contextlib.suppress(Exception):
            audit.finish_load(
                conn, target.audit_schema, load_id, "failed", {}, {}, reason or "interrupted"
            )
        raise
    finally:
        with contextlib.suppress(DatabaseError):
            work.close()
    return report


def _days(
    work: Connection,
    run: AppendRun,
    manifest: dict[str, Any],
    target: AppendTarget,
    load_id: int,
    done: set[str],
    ticker: Ticker | None,
) -> AppendReport:
    ext, sha = manifest["extension"], str(manifest["dataset_sha256"])
    days, start = int(ext["days"]), int(ext["start_us"])
    report = AppendReport(target.schema, sha, 0, 0, {}, [], 0.0)
    paced_from = time.monotonic()
    for day in range(days):  # simulated days: one transaction each
        if ticker:
            ticker(day, days)
        path = unit_path(sha, day)
        if path in done:
            report.days_skipped += 1
            continue
        if run.days_per_minute:
            wait = paced_from + 60.0 * report.days_applied / run.days_per_minute
            time.sleep(max(0.0, wait - time.monotonic()))
        began = time.perf_counter()
        window = (start + day * US_PER_DAY, start + (day + 1) * US_PER_DAY)
        rows = target.apply_day(work, window)
        execute(work, audit.record_shard_sql(target.audit_schema), (
            path, "append", day, sha, rows, 0, load_id, time.perf_counter() - began,
        ))  # fmt: skip
        work.commit()  # the day's rows, changes and record: one transaction
        report.days_applied += 1
        report.seconds_per_day.append(round(time.perf_counter() - began, 3))
    if ticker:
        ticker(days, days)
    return report
