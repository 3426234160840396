"""`synthgen load --mapping`: the dataset into the application's own tables, made by its
migrations.

It refuses before writing (the guard, missing tables or columns, unfillable columns, foreign
rows, corrupted shards), records the application's keys and indexes in the audit schema
``synthgen_<schema>`` and drops them, streams every unit through the plan's transforms (one
transaction per unit with its audit record, so ``--resume`` is exact), then hands over to
load.mapped.restore to put keys and indexes back as they were.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from synthgen.appschema.catalog import read_catalog
from synthgen.errors import LoadError
from synthgen.load import audit
from synthgen.load.arrival_units import table_units
from synthgen.load.driver import (
    AuditTarget,
    Progress,
    check_options,
)
from synthgen.load.mapped import restore, rows, saved
from synthgen.load.mapped import transform as tf
from synthgen.load.mapped.dataerror import data_error
from synthgen.load.mapped.figures import measure
from synthgen.load.mapped.load_plan import LOAD_ORDER, LoadPlan, make_load_plan
from synthgen.load.pool import Pool, run_statements
from synthgen.load.shards import (
    DEFAULT_BATCH_ROWS,
    Dataset,
    check_contract,
    open_dataset,
    verify_checksums,
)
from synthgen.machine import default_workers
from synthgen.manifest import FileEntry
from synthgen.mapping import Mapping, load_mapping
from synthgen.postgres.connect import (
    Connection,
    DatabaseError,
    connect,
    error_text,
    fetch_value,
)
from synthgen.postgres.dsn import mask_dsn
from synthgen.postgres.guard import GuardSettings, check_database, check_environment
from synthgen.postgres.mapped import audit_schema_for
from synthgen.schema import qualified as _q
from synthgen.schema import quote_ident
from synthgen.storage import DatasetPath, describe


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
    carried = saved.Carried([], None)
    if mode == "replace" and audit.inspect_schema(control, audit_schema).last_status != "complete":
        carried = saved.Carried(
            saved.recorded_objects(control, audit_schema),
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
                saved.saved_ddl(audit_schema),
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
        kept = saved.save_and_drop(pool, control, plan, audit_schema, carried)
        steps["drop keys and indexes"] = round(time.perf_counter() - start, 3)
        rows.write_parents(pool.get(0), dataset.root, plan, opts.mapping_path, opts.schema)
        start = time.perf_counter()
        ctx = tf.build_context(
            dataset.root, plan, [dataset.root / e.path for e, _ in entries.get("messages", [])]
        )
        steps["prepare ids"] = round(time.perf_counter() - start, 3)
        start = time.perf_counter()
        where = AuditTarget(audit_schema, load_id, opts.dsn)
        sizes = (opts.batch_rows, opts.unit_rows)
        if opts.order == "arrival":
            rows.load_units_in_order(
                pool, dataset, sizes, plan, ctx, entries, units, where, progress
            )
        else:
            rows.load_shards(pool, dataset, sizes, plan, ctx, pending, where, progress)
        steps["load shards"] = round(time.perf_counter() - start, 3)
        start = time.perf_counter()
        counts = restore.settle_and_build(pool, control, plan, audit_schema, kept, dataset.counts)
        steps["counts, vacuum (analyze), index builds"] = round(time.perf_counter() - start, 3)
        # biggest first: the longest task starts first on a pool of few connections
        order = sorted(_targets(plan), key=lambda t: -counts.get(t, 0))
        steps |= restore.restore_keys(pool, control, plan, kept, order)
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
