"""`synthgen load --mapping`: the dataset into the application's own tables, made by its
migrations.

1. refuse before writing: the guard, a mapped table or column that does not exist ("run your
   migrations first"), any column the plan cannot fill or whose type cannot hold the data,
   tables that hold rows synthgen did not load, corrupted shards;
2. record the application's keys, constraints and indexes exactly (`pg_get_constraintdef`,
   `pg_get_indexdef`) in the audit schema ``synthgen_<schema>`` — the application's schema holds
   only its own tables —, then drop them for the bulk load;
3. stream every shard through the plan's transforms into its table (binary COPY), one
   transaction per shard with its audit record (so ``--resume`` is exact);
4. exact counts; settle each table (``VACUUM (ANALYZE)``, its autovacuum setting back: it is
   off during the load); recreate keys, unique constraints and indexes as they were, foreign
   keys ``NOT VALID`` then validated; check the catalog matches what the migrations made — see
   load.mapped.restore.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute
import pyarrow.parquet as pq

from synthgen.appschema.catalog import SavedObject, drop_sql, read_catalog, saved_objects
from synthgen.errors import LoadError
from synthgen.load import audit
from synthgen.load.arrival_units import Unit, load_units, table_units
from synthgen.load.driver import (
    AuditTarget,
    Progress,
    Record,
    RowCounter,
    check_options,
    unit_transaction,
)
from synthgen.load.mapped import restore
from synthgen.load.mapped import transform as tf
from synthgen.load.mapped.dataerror import data_error
from synthgen.load.mapped.figures import measure
from synthgen.load.mapped.parents import parent_batch
from synthgen.load.mapped.plan import LOAD_ORDER, LoadPlan, TablePlan, make_load_plan
from synthgen.load.pool import Pool, run_parallel, run_statements
from synthgen.load.shards import (
    DEFAULT_BATCH_ROWS,
    Dataset,
    check_contract,
    open_dataset,
    verify_checksums,
)
from synthgen.machine import default_workers
from synthgen.manifest import FileEntry
from synthgen.mapping import EPOCH_UNITS, Mapping, load_mapping
from synthgen.postgres.connect import (
    Connection,
    DatabaseError,
    connect,
    error_text,
    fetch_all,
    fetch_value,
)
from synthgen.postgres.dsn import mask_dsn
from synthgen.postgres.guard import GuardSettings, check_database, check_environment
from synthgen.postgres.mapped import SAVED_OBJECTS, audit_schema_for
from synthgen.schema import qualified as _q
from synthgen.schema import quote_ident, quote_literal
from synthgen.storage import DatasetPath, describe, read_parquet_table, readable

SAVED = SAVED_OBJECTS


@dataclass(frozen=True)
class MappedLoadOptions:
    dataset_dir: DatasetPath  # a directory, or a stored dataset read in place
    dsn: str
    mapping_path: Path
    schema: str | None = None  # overrides the mapping's schema
    jobs: int = field(default_factory=default_workers)
    resume: bool = False
    replace: bool = False
    batch_rows: int = DEFAULT_BATCH_ROWS
    guard: GuardSettings = field(default_factory=GuardSettings)
    order: str = "arrival"  # one of driver.ORDERS
    unit_rows: int = DEFAULT_BATCH_ROWS


@dataclass
class MappedLoadReport:
    schema: str
    audit_schema: str
    dsn: str
    counts: dict[str, int]
    shards_loaded: int
    shards_skipped: int
    steps: dict[str, float]
    seconds: float
    plan: list[str]


def prepare_plan(
    opts: MappedLoadOptions, control: Connection, dataset: Dataset
) -> tuple[Mapping, LoadPlan]:
    """Read the mapping, the target catalog and the data's figures; decide every column."""
    mapping = load_mapping(opts.mapping_path, opts.schema)
    catalog = read_catalog(control, mapping.schema)
    figures = measure(dataset.root, mapping, catalog)
    return mapping, make_load_plan(mapping, catalog, figures)


def plan_only(opts: MappedLoadOptions) -> list[str]:
    """`--plan`: the load plan as lines; reads the catalog, writes nothing."""
    dataset = open_dataset(opts.dataset_dir)
    control = connect(opts.dsn, autocommit=True)
    try:
        return prepare_plan(opts, control, dataset)[1].describe()
    finally:
        with contextlib.suppress(DatabaseError):
            control.close()


def load_mapped(opts: MappedLoadOptions, progress: Progress | None = None) -> MappedLoadReport:
    """Load the dataset into the application's existing tables; see the module docstring."""
    started = time.perf_counter()
    check_options(opts.resume, opts.replace, opts.order)
    check_environment(opts.guard)
    dataset = open_dataset(opts.dataset_dir)
    control = connect(opts.dsn, autocommit=True)
    try:
        mapping, plan = prepare_plan(opts, control, dataset)
        schema = mapping.schema
        audit_schema = audit_schema_for(schema)
        check_database(opts.guard, control, opts.dsn, schema)
        audit.lock_schema(control, audit_schema)
        with Pool(opts.dsn, opts.jobs) as pool:
            return _run(control, pool, dataset, opts, plan, audit_schema, started, progress)
    finally:
        with contextlib.suppress(DatabaseError):
            control.close()


def _targets(plan: LoadPlan) -> list[str]:
    return [t.target for t in plan.tables]


def _parents(plan: LoadPlan) -> list[str]:
    return [p.target for p in plan.parents]


def _decide(
    control: Connection,
    dataset: Dataset,
    opts: MappedLoadOptions,
    plan: LoadPlan,
    audit_schema: str,
) -> str:
    state = audit.inspect_schema(control, audit_schema)
    if state.is_synthgen and not opts.replace:
        others = [d for d in state.datasets if d != dataset.sha256]
        if others:
            raise LoadError(
                f"schema {plan.schema!r} holds a different synthgen dataset ({others[-1][:12]}…);"
                " pass --replace to truncate the mapped tables and load this one"
            )
        if not opts.resume:
            raise LoadError(
                f"schema {plan.schema!r} already holds this dataset (last load: "
                f"{state.last_status or 'never started'}); pass --resume to finish it, or "
                "--replace to load it again"
            )
        return "resume"
    if opts.replace:
        return "replace"
    busy = [
        t
        for t in [*_parents(plan), *_targets(plan)]
        if fetch_value(control, f"SELECT EXISTS (SELECT 1 FROM {_q(plan.schema, t)})")
    ]
    if busy:
        raise LoadError(
            f"table {plan.schema}.{busy[0]} holds rows synthgen did not load; pass --replace to "
            "truncate the mapped tables"
        )
    return "fresh"


def _entries(dataset: Dataset, plan: LoadPlan) -> dict[str, list[tuple[FileEntry, int]]]:
    """Per contract table, its shards in order with the global row number each starts at."""
    wanted = {t.source for t in plan.tables}
    out: dict[str, list[tuple[FileEntry, int]]] = {}
    for table in LOAD_ORDER:
        if table not in wanted:
            continue
        files = sorted(
            (s for s in dataset.shards if s.table == table), key=lambda s: (s.shard, s.path)
        )
        offset = 0
        for entry in files:
            out.setdefault(table, []).append((entry, offset))
            offset += entry.rows
    return out


def _saved_ddl(audit_schema: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {_q(audit_schema, SAVED)} (position integer PRIMARY KEY, "
        "kind text NOT NULL, name text NOT NULL, table_name text NOT NULL, "
        "table_schema text NOT NULL, definition text NOT NULL, index_definition text NOT NULL)"
    )


def _recorded_objects(control: Connection, audit_schema: str) -> list[SavedObject]:
    """The keys and indexes the first attempt of this load recorded (none: an empty list)."""
    found = fetch_all(control, "SELECT to_regclass($1) IS NOT NULL", (_q(audit_schema, SAVED),))
    if not found or not found[0][0]:
        return []
    rows = fetch_all(
        control,
        f"SELECT kind, name, table_name, definition, table_schema, index_definition "
        f"FROM {_q(audit_schema, SAVED)} "
        "ORDER BY position",
    )
    return [SavedObject(*(str(v) for v in row)) for row in rows]


@dataclass(frozen=True)
class _Carried:
    """What a --replace keeps from a load that stopped: the keys and indexes it had dropped and
    the autovacuum settings it had paused, as the migrations made them."""

    objects: list[SavedObject]
    autovacuum: dict[str, str | None] | None


def _save_and_drop(
    pool: Pool, control: Connection, plan: LoadPlan, audit_schema: str, carried: _Carried
) -> list[SavedObject]:
    """Record the app's keys and indexes once (a resume keeps the first record), then drop them;
    the same for the tables' autovacuum settings, then pause autovacuum."""
    saved = _recorded_objects(control, audit_schema)
    if not saved:
        saved = carried.objects or saved_objects(control, plan.schema, _targets(plan))
        statements = [
            f"INSERT INTO {_q(audit_schema, SAVED)} VALUES ({i}, "
            + ", ".join(
                quote_literal(v)
                for v in (o.kind, o.name, o.table, o.table_schema, o.definition, o.index_definition)
            )
            + ")"
            for i, o in enumerate(saved)
        ]
        run_statements(pool.get(0), statements)
    drops = [drop_sql(plan.schema, o) for o in sorted(saved, key=lambda o: -o.sort_key[0])]
    run_statements(pool.get(0), drops)
    restore.pause_autovacuum(pool, control, plan, audit_schema, carried.autovacuum)
    return saved


def _run(
    control: Connection,
    pool: Pool,
    dataset: Dataset,
    opts: MappedLoadOptions,
    plan: LoadPlan,
    audit_schema: str,
    started: float,
    progress: Progress | None,
) -> MappedLoadReport:
    steps: dict[str, float] = {}
    mode = _decide(control, dataset, opts, plan, audit_schema)
    entries = _entries(dataset, plan)
    recorded = audit.recorded_shards(control, audit_schema) if mode == "resume" else {}
    units = {
        table: [
            u
            for u in table_units(table, [e for e, _ in listed], opts.unit_rows)
            if u.path not in recorded
        ]
        for table, listed in entries.items()
    }
    pending = [(e, off) for table in entries.values() for e, off in table if e.path not in recorded]
    if opts.order == "arrival":  # every file of a table with units left is read by the merge
        pending = [(e, off) for t, listed in entries.items() if units[t] for e, off in listed]
    elif any("/arrival-" in path for path in recorded):
        raise LoadError(
            f"schema {plan.schema!r} holds a load made with --order arrival; resume it with "
            "that --order, or pass --replace"
        )
    start = time.perf_counter()
    verify_checksums(dataset, [e for e, _ in pending], opts.jobs)
    check_contract(dataset, [e for e, _ in pending])
    steps["verify shards"] = round(time.perf_counter() - start, 3)
    carried = _Carried([], None)
    if mode == "replace" and audit.inspect_schema(control, audit_schema).last_status != "complete":
        carried = _Carried(
            _recorded_objects(control, audit_schema),
            restore.saved_autovacuum(control, audit_schema),
        )
    # --- first write ---
    if mode == "replace":
        targets = ", ".join(_q(plan.schema, t) for t in [*_targets(plan), *_parents(plan)])
        run_statements(
            pool.get(0),
            [
                f"TRUNCATE {targets}",
                f"DROP SCHEMA IF EXISTS {quote_ident(audit_schema)} CASCADE",
            ],
        )
    if mode != "resume":
        run_statements(
            pool.get(0),
            [
                f"CREATE SCHEMA IF NOT EXISTS {quote_ident(audit_schema)}",
                *audit.audit_ddl(audit_schema, unlogged=False),
                _saved_ddl(audit_schema),
            ],
        )
    audit.mark_interrupted(control, audit_schema)
    load_id = audit.begin_load(
        control,
        audit_schema,
        dataset.manifest,
        {
            "mode": mode,
            "jobs": opts.jobs,
            "mapping": str(opts.mapping_path),
            "schema": plan.schema,
            "tables": _targets(plan),  # the guard and teardown know them as synthgen's
            "dataset_dir": describe(opts.dataset_dir),
        },
    )
    try:
        start = time.perf_counter()
        saved = _save_and_drop(pool, control, plan, audit_schema, carried)
        steps["drop keys and indexes"] = round(time.perf_counter() - start, 3)
        write_parents(pool.get(0), dataset.root, plan, opts.mapping_path, opts.schema)
        start = time.perf_counter()
        ctx = tf.build_context(
            dataset.root, plan, [dataset.root / e.path for e, _ in entries.get("messages", [])]
        )
        steps["prepare ids"] = round(time.perf_counter() - start, 3)
        start = time.perf_counter()
        where = AuditTarget(audit_schema, load_id, opts.dsn)
        if opts.order == "arrival":
            _load_units(pool, dataset, opts, plan, ctx, entries, units, where, progress)
        else:
            _load_shards(pool, dataset, opts, plan, ctx, pending, where, progress)
        steps["load shards"] = round(time.perf_counter() - start, 3)
        start = time.perf_counter()
        counts = restore.settle_and_build(pool, control, plan, audit_schema, saved, dataset.counts)
        steps["counts, vacuum (analyze), index builds"] = round(time.perf_counter() - start, 3)
        # biggest first: the longest task starts first on a pool of few connections
        order = sorted(_targets(plan), key=lambda t: -counts.get(t, 0))
        steps |= restore.restore_keys(pool, control, plan, saved, order)
        restore.check_autovacuum(control, plan, audit_schema)
        start = time.perf_counter()
        restore.analyze_expression_indexed(control, plan.schema, _targets(plan))
        steps["analyze"] = round(time.perf_counter() - start, 3)
    except BaseException as exc:
        with contextlib.suppress(Exception):
            reason = error_text(exc, opts.dsn) if isinstance(exc, DatabaseError) else str(exc)
            audit.finish_load(control, audit_schema, load_id, "failed", {}, steps, reason)
        broken = data_error(exc, plan, opts.dsn)
        if broken is not None:  # the data breaks a constraint: a resume would break it again
            raise LoadError(broken) from exc
        if isinstance(exc, DatabaseError):
            raise LoadError(
                f"load into {plan.schema!r} stopped: {error_text(exc, opts.dsn)}; "
                "run again with --resume"
            ) from exc
        raise
    audit.finish_load(control, audit_schema, load_id, "complete", counts, steps)
    return MappedLoadReport(
        schema=plan.schema,
        audit_schema=audit_schema,
        dsn=mask_dsn(opts.dsn),
        counts=counts,
        shards_loaded=(
            sum(len(u) for u in units.values()) if opts.order == "arrival" else len(pending)
        ),
        shards_skipped=len(recorded),
        steps=steps,
        seconds=round(time.perf_counter() - started, 3),
        plan=plan.describe(),
    )


def _load_shards(
    pool: Pool,
    dataset: Dataset,
    opts: MappedLoadOptions,
    plan: LoadPlan,
    ctx: tf.Context,
    pending: list[tuple[FileEntry, int]],
    where: AuditTarget,
    progress: Progress | None,
) -> None:
    """--order room: shard after shard, each committed with its audit record."""
    by_source = _by_source(plan)
    counter = RowCounter(sum(e.rows for e, _ in pending), progress)
    ordered = sorted(pending, key=lambda item: (-item[0].bytes, item[0].path))

    def load_one(conn: Connection, item: tuple[FileEntry, int]) -> None:
        entry, offset = item
        with unit_transaction(conn, where, Record.of_shard(entry)) as cur:
            source = pq.ParquetFile(readable(dataset.root / entry.path))
            for table in by_source[entry.table]:
                columns = tf.source_columns(table)
                batches = source.iter_batches(batch_size=opts.batch_rows, columns=columns)
                _ingest(cur, _transformed(batches, table, plan, ctx, offset), table, plan)
        counter.add(entry.rows)

    run_parallel(pool, ordered, load_one)


def _load_units(
    pool: Pool,
    dataset: Dataset,
    opts: MappedLoadOptions,
    plan: LoadPlan,
    ctx: tf.Context,
    entries: dict[str, list[tuple[FileEntry, int]]],
    units: dict[str, list[Unit]],
    where: AuditTarget,
    progress: Progress | None,
) -> None:
    """Each table in its arrival order (the loader's streaming merge of its shards), cut into
    units of `unit_rows` rows, each transformed and committed with its audit record; generated
    ids number rows in that order. `progress` hears the contract rows committed so far."""
    by_source = _by_source(plan)
    counter = RowCounter(sum(u.rows for left in units.values() for u in left), progress)

    def prepare(unit: Unit, rows: pa.Table) -> tuple[list[tuple[TablePlan, list[Any]]], int]:
        """The unit's rows transformed for every table it feeds, on its merge thread."""
        first = unit.index * opts.unit_rows
        out: list[tuple[TablePlan, list[Any]]] = []
        for table in by_source[unit.table]:
            batches = rows.to_batches(max_chunksize=opts.batch_rows)
            out.append((table, list(_transformed(batches, table, plan, ctx, first))))
        return out, rows.nbytes

    def load_unit(
        conn: Connection, unit: Unit, prepared: tuple[list[tuple[TablePlan, list[Any]]], int]
    ) -> None:
        targets, nbytes = prepared
        with unit_transaction(conn, where, Record.of_unit(unit, nbytes), True) as cur:
            for table, batches in targets:
                _ingest(cur, batches, table, plan)
        counter.add(unit.rows)

    counter.start()
    files = {table: [e for e, _ in listed] for table, listed in entries.items()}
    wanted = {table: left for table, left in units.items() if left}
    load_units(
        pool, dataset.root, files, wanted, opts.unit_rows, opts.batch_rows, load_unit,
        prepare=prepare,
    )  # fmt: skip


def _by_source(plan: LoadPlan) -> dict[str, list[TablePlan]]:
    """The target tables each contract table feeds (receipts feed reads and deliveries)."""
    out: dict[str, list[TablePlan]] = {}
    for t in plan.tables:
        out.setdefault(t.source, []).append(t)
    return out


def _transformed(
    batches: Iterable[pa.RecordBatch], table: TablePlan, plan: LoadPlan, ctx: tf.Context, row: int
) -> Iterator[pa.RecordBatch]:
    """Contract batches transformed for `table`; rows numbered from `row` for generated ids."""
    for batch in batches:
        yield tf.transform(batch, table, ctx, row, plan.id_formats)
        row += batch.num_rows


def _ingest(cur: Any, batches: Iterable[pa.RecordBatch], table: TablePlan, plan: LoadPlan) -> None:
    """Stream batches already in `table`'s shape into it (binary COPY)."""
    reader = pa.RecordBatchReader.from_batches(tf.target_schema(table), iter(batches))
    cur.adbc_ingest(table.target, reader, mode="append", db_schema_name=plan.schema)


def write_parents(
    conn: Connection, root: DatasetPath, plan: LoadPlan, mapping_path: Path, schema: str | None
) -> None:
    """The declared parents' rows, before any row that points at them (a resume finds them
    written: a table that holds its rows is left as it is)."""
    if not plan.parents:
        return
    epoch = load_mapping(mapping_path, schema).epoch
    created = read_parquet_table(root / "users", columns=["createdAt"]).column("createdAt")
    first = pa.compute.min(created.cast(pa.int64())).as_py() or 0
    with conn.cursor() as cur:
        for parent in plan.parents:
            cur.execute(f"SELECT count(*) FROM {_q(plan.schema, parent.target)}")
            held = cur.fetchone()
            if held is not None and int(held[0]) == parent.rows:
                continue
            cur.execute(f"TRUNCATE {_q(plan.schema, parent.target)}")
            batch = parent_batch(parent, int(first), EPOCH_UNITS[epoch])
            reader = pa.RecordBatchReader.from_batches(batch.schema, iter([batch]))
            cur.adbc_ingest(parent.target, reader, mode="append", db_schema_name=plan.schema)
    conn.commit()
