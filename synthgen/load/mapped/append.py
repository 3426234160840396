"""`synthgen load DELTA --append --mapping M`: an extension written into the application's own
tables through its mapping, keys, indexes and foreign keys in place; the mapped target of
`load.append_driver` (which walks the days and refuses a delta that does not follow the last load).

The delta's rows go through the mapped load's transforms with a context built over the whole
chain (base and every delta up to this one), so ids convert to the values the base load wrote
and generated ids continue after the earlier datasets'. Each hour: its new rows (a room's last
message moved: `append_last`), its changes (`append_changes`), then its counters
(`append_counters`).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synthgen.appschema.catalog import read_catalog
from synthgen.errors import LoadError
from synthgen.load.append_driver import (
    AppendReport,
    AppendRun,
    Ticker,
    between,
    read_table,
    run_append,
)
from synthgen.load.mapped import append_changes as ch
from synthgen.load.mapped import append_counters, append_last
from synthgen.load.mapped import rows as mapped_rows
from synthgen.load.mapped import transform as tf
from synthgen.load.mapped.figures import measure
from synthgen.load.mapped.load_plan import TIME_COLUMN, LoadPlan, make_load_plan
from synthgen.manifest import read_manifest
from synthgen.mapping import Mapping, load_mapping
from synthgen.postgres.connect import (
    Connection,
    execute,
    fetch_value,
)
from synthgen.postgres.guard import GuardSettings
from synthgen.postgres.mapped import audit_schema_for
from synthgen.schema import qualified
from synthgen.units import US_PER_HOUR

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
    run = AppendRun(opts.delta, opts.dsn, opts.days_per_minute, opts.guard)

    def target_for(manifest: dict[str, Any]) -> _Mapped:
        return _Mapped(opts, manifest, load_mapping(opts.mapping_path, opts.schema))

    return run_append(run, target_for, ticker)


@dataclass
class _Mapped:
    """The application's tables as an append target (`load.append_driver.AppendTarget`)."""

    opts: MappedAppendOptions
    manifest: dict[str, Any]
    mapping: Mapping
    _plan: LoadPlan | None = None
    _chain: list[Path] = field(default_factory=list)
    _changes: pa.Table | None = None
    _job: _Job | None = None

    @property
    def schema(self) -> str:
        return self.mapping.schema

    @property
    def audit_schema(self) -> str:
        return audit_schema_for(self.mapping.schema)

    @property
    def plan(self) -> LoadPlan:
        assert self._plan is not None, "check() makes the plan"
        return self._plan

    @property
    def job(self) -> _Job:
        assert self._job is not None, "prepare() makes the job"
        return self._job

    def check(self, conn: Connection) -> None:
        """The load plan over the live catalog; a change it cannot express is refused."""
        self._chain = chain_of(self.opts.delta)
        catalog = read_catalog(conn, self.schema)
        figures = measure(self._chain[0], self.mapping, catalog)
        self._plan = plan = make_load_plan(self.mapping, catalog, figures)
        append_counters.check(plan)
        self._changes = changes = read_table(self.opts.delta, self.manifest, "changes")
        ch.check_expressible(plan, ch.ops_in(changes))

    def prepare(self) -> None:
        """The context over the whole chain and the delta's rows in time order."""
        assert self._changes is not None, "check() reads the changes"
        with tempfile.TemporaryDirectory(prefix="synthgen-append-") as tmp:
            chain, changes = self._chain, self._changes
            self._job = _new_job(chain, self.manifest, self.plan, self.audit_schema, changes, tmp)

    def options(self) -> dict[str, Any]:
        return {"schema": self.schema, "mapping": str(self.opts.mapping_path),
                "tables": [t.target for t in self.plan.tables]}  # fmt: skip

    def counts(self, conn: Connection) -> dict[str, int]:
        return {
            t.target: int(
                fetch_value(conn, f"SELECT count(*) FROM {qualified(self.schema, t.target)}")
            )
            for t in self.plan.tables
        }

    def staging(self, work: Connection) -> None:
        plan, audit_schema = self.plan, self.audit_schema
        execute(work, ch.staging_ddl(plan, audit_schema))
        if append_last.kept(plan):
            execute(work, append_last.staging_ddl(plan, audit_schema))
        if append_counters.counters(plan):
            for statement in append_counters.staging_ddl(plan, audit_schema):
                execute(work, statement)
        if append_counters.last_sent(plan):
            execute(work, append_counters.sent_ddl(plan, audit_schema))

    def apply_day(self, work: Connection, window: tuple[int, int]) -> int:
        execute(work, "SET LOCAL TIME ZONE 'UTC'")  # staged times meet timestamp columns
        return _apply_day(work, self.job, window)

    def expected(self, before: dict[str, int], net: dict[str, int]) -> dict[str, int]:
        """Each target gains its source's net rows (times its delivery states)."""
        return {
            t.target: before[t.target] + net[t.source] * t.rows_per_source_row
            for t in self.plan.tables
        }


def _new_job(
    chain: list[Path],
    manifest: dict[str, Any],
    plan: LoadPlan,
    audit_schema: str,
    changes: pa.Table,
    tmp: str,
) -> _Job:
    root = _joined_root(chain, Path(tmp))
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
        rows = read_table(chain[-1], manifest, name)
        if name in TIME_COLUMN and rows.num_rows:  # time order: an hour is one contiguous run
            rows = rows.sort_by([(TIME_COLUMN[name], "ascending")])
        tables[name] = rows
    times = {
        name: rows.column(TIME_COLUMN[name]).cast(pa.int64()).to_numpy()
        for name, rows in tables.items()
        if name in TIME_COLUMN
    }
    return _Job(plan, audit_schema, ctx, tables, offsets, changes, times)


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
                _recount(cur, job, hour, between(job.changes, "changedAt", lo, hi))
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
    changes = between(job.changes, "changedAt", lo, hi)
    if not changes.num_rows:
        return 0
    cur.execute(f"TRUNCATE {qualified(job.audit_schema, ch.STAGING)}")
    data = ch.staged(changes, job.plan, job.ctx)
    reader = pa.RecordBatchReader.from_batches(data.schema, data.to_batches())
    cur.adbc_ingest(ch.STAGING, reader, mode="append", db_schema_name=job.audit_schema)
    for statement in ch.change_sql(job.plan, job.audit_schema):
        cur.execute(statement)
    return changes.num_rows
