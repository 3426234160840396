"""The contract target: a dataset's Parquet shards into synthgen's own tables, over ADBC.

Nothing is written unless the whole load can start: a bad schema name, a production-looking
target (guard), a schema holding something else, corrupted or off-contract shards are refused
first. Then the bare tables (autovacuum off: it would rescan growing tables) and the audit
tables in one transaction; the units through load.driver (each committed with its audit
record); exact counts against the manifest; keys, phase-1 indexes, foreign keys (``NOT VALID``,
then validated), ``ANALYZE``; the outcome in ``synthgen_loads``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa

from synthgen.errors import LoadError
from synthgen.load import audit
from synthgen.load.arrival_units import Unit, load_units, table_units
from synthgen.load.driver import (
    AuditTarget,
    Progress,
    Record,
    RowCounter,
    ShardError,
    check_options,
    unit_transaction,
)
from synthgen.load.keys import (
    StepError,
    autovacuum_sql,
    existing_keys,
    post_load_steps,
    run_steps,
)
from synthgen.load.pool import Pool, run_parallel, run_statements
from synthgen.load.shards import (
    DEFAULT_BATCH_ROWS,
    Dataset,
    check_contract,
    open_dataset,
    shard_reader,
    verify_checksums,
)
from synthgen.load.teardown import drop_schema
from synthgen.machine import default_workers
from synthgen.manifest import FileEntry
from synthgen.postgres.connect import (
    DEFAULT_SCHEMA,
    Connection,
    DatabaseError,
    connect,
    error_text,
    fetch_value,
    validate_schema_name,
)
from synthgen.postgres.dsn import mask_dsn
from synthgen.postgres.guard import GuardSettings, check_database, check_environment
from synthgen.schema import TABLES, create_table_sql, quote_ident
from synthgen.storage import DatasetPath

StepDone = Callable[[str, float], None]  # (step name, seconds)


@dataclass(frozen=True)
class LoadOptions:
    """What to load where, and how."""

    dataset_dir: DatasetPath  # a directory, or a stored dataset read in place
    dsn: str
    schema: str = DEFAULT_SCHEMA
    jobs: int = field(default_factory=default_workers)
    resume: bool = False
    replace: bool = False
    unlogged: bool = False
    allow_public: bool = False
    batch_rows: int = DEFAULT_BATCH_ROWS
    guard: GuardSettings = field(default_factory=GuardSettings)
    order: str = "arrival"  # one of driver.ORDERS
    unit_rows: int = DEFAULT_BATCH_ROWS


@dataclass
class LoadReport:
    """The outcome of a load, as printed by the CLI."""

    schema: str
    dsn: str  # password masked
    load_id: int
    dataset_sha256: str
    counts: dict[str, int]
    shards_loaded: int
    shards_skipped: int
    rows_loaded: int
    bytes_loaded: int
    steps: dict[str, float]
    seconds: float
    unlogged: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Target:
    """The decided plan: which shards (or arrival units) remain and which load row records
    them."""

    pending: list[FileEntry]  # --order room: the shards to load; arrival: their tables' files
    units: list[Unit]  # --order arrival: the units to load
    skipped: int
    unlogged: bool
    load_id: int
    steps: dict[str, float]


def load_dataset(
    opts: LoadOptions, progress: Progress | None = None, on_step: StepDone | None = None
) -> LoadReport:
    """Load the dataset in ``opts.dataset_dir`` into ``opts.schema``; see the module docstring."""
    started = time.perf_counter()
    schema = validate_schema_name(opts.schema, opts.allow_public)
    check_options(opts.resume, opts.replace, opts.order)
    if opts.jobs < 1 or opts.batch_rows < 1 or opts.unit_rows < 1:
        raise LoadError("--jobs and the batch size must be at least 1")
    check_environment(opts.guard)
    dataset = open_dataset(opts.dataset_dir)
    control = connect(opts.dsn, autocommit=True)
    try:
        with Pool(opts.dsn, opts.jobs) as pool:
            check_database(opts.guard, control, opts.dsn, schema)
            audit.lock_schema(control, schema)  # held until `control` closes
            target = _prepare(control, pool, dataset, opts, schema)
            return _load(control, pool, dataset, opts, schema, target, started, progress, on_step)
    finally:
        with contextlib.suppress(DatabaseError):
            control.close()


def _decide(state: audit.SchemaState, dataset: Dataset, opts: LoadOptions, schema: str) -> str:
    """'fresh', 'resume' or 'replace' — or a LoadError saying why the schema is refused."""
    if not state.exists:
        return "fresh"
    if not state.is_synthgen:
        ours = set(TABLES) | set(audit.AUDIT_TABLES)
        clash = sorted(set(state.tables) & ours if schema == "public" else state.tables)
        if clash:
            raise LoadError(
                f"schema {schema!r} holds tables synthgen did not create ({', '.join(clash[:5])})"
                "; choose another --schema"
            )
        return "fresh"
    if opts.replace:
        return "replace"
    others = [d for d in state.datasets if d != dataset.sha256]
    if others:
        raise LoadError(
            f"schema {schema!r} holds a different dataset (sha256 {others[-1][:12]}…, this one "
            f"is {dataset.sha256[:12]}…); pass --replace to drop it and load this one"
        )
    if not opts.resume:
        raise LoadError(
            f"schema {schema!r} already holds this dataset (last load: "
            f"{state.last_status or 'never started'}); pass --resume to finish or re-check it, "
            "or --replace to load it again"
        )
    return "resume"


def _prepare(
    control: Connection, pool: Pool, dataset: Dataset, opts: LoadOptions, schema: str
) -> _Target:
    """Decide, verify the files, then (and only then) write: drop / create, open the load row."""
    state = audit.inspect_schema(control, schema)
    mode = _decide(state, dataset, opts, schema)
    recorded = audit.recorded_shards(control, schema) if audit.SHARDS in state.tables else {}
    if mode != "resume":
        recorded = {}
    all_units = _units(dataset, opts)
    units = all_units if opts.order == "arrival" else []
    shard_paths = {s.path: s.sha256 for s in dataset.shards}
    wanted = {u.path: u.sha256 for u in units} if units else shard_paths
    named = shard_paths | {u.path: u.sha256 for u in all_units}
    other_order = sorted(
        p for p, sha in recorded.items() if p not in wanted and named.get(p) == sha
    )
    if other_order:
        raise LoadError(
            f"schema {schema!r} holds a load of this dataset made with another --order "
            f"({other_order[0]}); resume it with that --order, or pass --replace"
        )
    foreign = sorted(p for p, sha in recorded.items() if wanted.get(p) != sha)
    if foreign:
        raise LoadError(
            f"schema {schema!r} records shards of another dataset ({foreign[0]}); "
            "pass --replace to drop it and load this one"
        )
    pending_units = [u for u in units if u.path not in recorded]
    if opts.order == "arrival":
        tables = {u.table for u in pending_units}
        pending = sorted(
            (s for s in dataset.shards if s.table in tables), key=lambda s: (-s.bytes, s.path)
        )
    else:
        pending = sorted(
            (s for s in dataset.shards if s.path not in recorded),
            key=lambda s: (-s.bytes, s.path),
        )
    start = time.perf_counter()
    verify_checksums(dataset, pending, opts.jobs)
    check_contract(dataset, pending)
    steps = {"verify shards": round(time.perf_counter() - start, 3)}

    if mode == "replace":
        drop_schema(control, schema)
    unlogged = opts.unlogged
    if mode == "resume":
        unlogged = audit.check_tables(control, schema)
    else:
        _create(pool, schema, unlogged)
    audit.mark_interrupted(control, schema)
    options = {
        "jobs": opts.jobs,
        "mode": mode,
        "unlogged": unlogged,
        "batch_rows": opts.batch_rows,
        "order": opts.order,
        "dataset_dir": str(opts.dataset_dir),
    }
    load_id = audit.begin_load(control, schema, dataset.manifest, options)
    return _Target(pending, pending_units, len(recorded), unlogged, load_id, steps)


def _units(dataset: Dataset, opts: LoadOptions) -> list[Unit]:
    """Every arrival unit of the dataset, table by table."""
    return [
        unit
        for table in sorted({s.table for s in dataset.shards})
        for unit in table_units(
            table, [s for s in dataset.shards if s.table == table], opts.unit_rows
        )
    ]


def _create(pool: Pool, schema: str, unlogged: bool) -> None:
    """Schema, bare tables and audit tables in one transaction: all there, or none."""
    statements = [f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}"]
    for table in TABLES.values():
        statements.append(create_table_sql(table, schema, unlogged))
        statements.append(autovacuum_sql(table.name, schema, enabled=False))
    statements += audit.audit_ddl(schema, unlogged)
    try:
        run_statements(pool.get(0), statements)
    except DatabaseError as exc:
        raise LoadError(f"creating schema {schema!r} failed: {error_text(exc, pool.dsn)}") from exc


def _load(
    control: Connection,
    pool: Pool,
    dataset: Dataset,
    opts: LoadOptions,
    schema: str,
    target: _Target,
    started: float,
    progress: Progress | None,
    on_step: StepDone | None,
) -> LoadReport:
    steps = dict(target.steps)
    tables = sorted(TABLES, key=lambda t: (-dataset.counts.get(t, 0), t))
    try:
        start = time.perf_counter()
        _load_shards(pool, dataset, opts, schema, target, progress)
        steps["load shards"] = round(time.perf_counter() - start, 3)
        if on_step:
            on_step("load shards", steps["load shards"])
        start = time.perf_counter()
        counts = _check_counts(control, schema, dataset, tables)
        steps["verify counts"] = round(time.perf_counter() - start, 3)
        existing = existing_keys(control, schema)
        steps |= run_steps(pool, post_load_steps(schema, tables, existing), on_step)
    except BaseException as exc:
        status = "failed" if isinstance(exc, Exception) else "interrupted"
        stopped = _stopped_at(exc, opts.dsn)
        with contextlib.suppress(Exception):
            rows = audit.recorded_rows(control, schema)
            audit.finish_load(control, schema, target.load_id, status, rows, steps, stopped)
        if isinstance(exc, Exception):
            raise LoadError(f"load into {schema!r} stopped: {stopped}") from exc
        raise
    audit.finish_load(control, schema, target.load_id, "complete", counts, steps)
    if opts.order == "arrival":
        loaded_rows, loaded = sum(u.rows for u in target.units), len(target.units)
    else:
        loaded_rows, loaded = sum(s.rows for s in target.pending), len(target.pending)
    return LoadReport(
        schema=schema,
        dsn=mask_dsn(opts.dsn),
        load_id=target.load_id,
        dataset_sha256=dataset.sha256,
        counts=counts,
        shards_loaded=loaded,
        shards_skipped=target.skipped,
        rows_loaded=loaded_rows,
        bytes_loaded=sum(s.bytes for s in target.pending),
        steps=steps,
        seconds=round(time.perf_counter() - started, 3),
        unlogged=target.unlogged,
    )


def _stopped_at(exc: BaseException, dsn: str) -> str:
    """Where and why a load stopped, one line, for synthgen_loads.stopped_at and the error."""
    if isinstance(exc, StepError):
        cause = exc.cause
        reason = error_text(cause, dsn) if isinstance(cause, DatabaseError) else str(cause)
        return f"post-load step {exc.step!r}: {reason}; fix it and run again with --resume"
    if isinstance(exc, ShardError):
        return f"{exc}; that shard was rolled back; run again with --resume"
    if isinstance(exc, DatabaseError):
        return error_text(exc, dsn)
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted by the user; run again with --resume"
    return str(exc) or type(exc).__name__


def ingest_shard(
    conn: Connection,
    root: DatasetPath,
    entry: FileEntry,
    schema: str,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    on_batch: Callable[[int], None] | None = None,
) -> None:
    """Stream one shard into its table (binary COPY) in the connection's open transaction.

    The caller commits (with the shard's audit record) or rolls back.
    """
    reader = shard_reader(root / entry.path, entry.table, batch_rows, on_batch)
    with conn.cursor() as cur:
        taken = cur.adbc_ingest(entry.table, reader, mode="append", db_schema_name=schema)
    if taken not in (-1, entry.rows):
        raise ShardError(entry.path, f"the server took {taken} rows, not {entry.rows}")


def _load_shards(
    pool: Pool,
    dataset: Dataset,
    opts: LoadOptions,
    schema: str,
    target: _Target,
    progress: Progress | None,
) -> None:
    """Stream every pending shard (or arrival unit) over up to ``opts.jobs`` connections, one
    transaction each."""
    arrival = opts.order == "arrival"
    total = sum(u.rows for u in target.units) if arrival else sum(s.rows for s in target.pending)
    counter = RowCounter(total, progress)
    where = AuditTarget(schema, target.load_id, opts.dsn)

    def load_one(conn: Connection, entry: FileEntry) -> None:
        with unit_transaction(conn, where, Record.of_shard(entry)):
            ingest_shard(conn, dataset.root, entry, schema, opts.batch_rows, counter.add)

    def load_unit(conn: Connection, unit: Unit, rows: pa.Table) -> None:
        reader = pa.RecordBatchReader.from_batches(
            rows.schema, rows.to_batches(max_chunksize=opts.batch_rows)
        )
        # synchronous: the post-load VACUUM (FREEZE) marks all-visible only flushed commits
        with unit_transaction(conn, where, Record.of_unit(unit, rows.nbytes), True) as cur:
            taken = cur.adbc_ingest(unit.table, reader, mode="append", db_schema_name=schema)
            if taken not in (-1, unit.rows) or rows.num_rows != unit.rows:
                raise ShardError(unit.path, f"{rows.num_rows} rows merged, {unit.rows} due")
        counter.add(unit.rows)

    counter.start()
    if arrival:
        files: dict[str, list[FileEntry]] = {}
        for entry in dataset.shards:
            files.setdefault(entry.table, []).append(entry)
        units: dict[str, list[Unit]] = {}
        for unit in target.units:
            units.setdefault(unit.table, []).append(unit)
        load_units(pool, dataset.root, files, units, opts.unit_rows, opts.batch_rows, load_unit)
    else:
        run_parallel(pool, target.pending, load_one)


def _check_counts(
    control: Connection, schema: str, dataset: Dataset, tables: list[str]
) -> dict[str, int]:
    """Exact row counts per table; LoadError naming every table that differs from the manifest."""
    counts = {
        t: int(fetch_value(control, f"SELECT count(*) FROM {quote_ident(schema)}.{quote_ident(t)}"))
        for t in tables
    }
    expected = {t: dataset.counts.get(t, 0) for t in tables}
    differ = [f"{t} {counts[t]:,} != {expected[t]:,}" for t in tables if counts[t] != expected[t]]
    if differ:
        raise LoadError(f"row counts differ from the manifest: {'; '.join(differ)}")
    return counts
