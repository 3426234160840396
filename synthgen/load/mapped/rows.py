"""The mapped load's rows: each unit (or shard) of contract rows transformed for every table it
feeds and streamed in (binary COPY) in one transaction with its audit record (load.driver);
the declared parents' rows before them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute
import pyarrow.parquet as pq

from synthgen.load.arrival_units import Unit, load_units
from synthgen.load.driver import AuditTarget, Progress, Record, RowCounter, unit_transaction
from synthgen.load.mapped import transform as tf
from synthgen.load.mapped.load_plan import LoadPlan, TablePlan
from synthgen.load.mapped.parents import parent_batch
from synthgen.load.pool import Pool, run_parallel
from synthgen.load.shards import Dataset
from synthgen.manifest import FileEntry
from synthgen.mapping import EPOCH_UNITS, load_mapping
from synthgen.postgres.connect import Connection
from synthgen.schema import qualified as _q
from synthgen.storage import DatasetPath, read_parquet_table, readable


def load_shards(
    pool: Pool,
    dataset: Dataset,
    sizes: tuple[int, int],
    plan: LoadPlan,
    ctx: tf.Context,
    pending: list[tuple[FileEntry, int]],
    where: AuditTarget,
    progress: Progress | None,
) -> None:
    """--order room: shard after shard, each committed with its audit record; ``sizes``: the
    rows per batch and per unit."""
    batch_rows = sizes[0]
    by_source = _by_source(plan)
    counter = RowCounter(sum(e.rows for e, _ in pending), progress)
    ordered = sorted(pending, key=lambda item: (-item[0].bytes, item[0].path))

    def load_one(conn: Connection, item: tuple[FileEntry, int]) -> None:
        entry, offset = item
        with unit_transaction(conn, where, Record.of_shard(entry)) as cur:
            source = pq.ParquetFile(readable(dataset.root / entry.path))
            for table in by_source[entry.table]:
                columns = tf.source_columns(table)
                batches = source.iter_batches(batch_size=batch_rows, columns=columns)
                _ingest(cur, _transformed(batches, table, plan, ctx, offset), table, plan)
        counter.add(entry.rows)

    run_parallel(pool, ordered, load_one)


def load_units_in_order(
    pool: Pool,
    dataset: Dataset,
    sizes: tuple[int, int],
    plan: LoadPlan,
    ctx: tf.Context,
    entries: dict[str, list[tuple[FileEntry, int]]],
    units: dict[str, list[Unit]],
    where: AuditTarget,
    progress: Progress | None,
) -> None:
    """Each table in its arrival order (the loader's streaming merge of its shards), cut into
    units of `unit_rows` rows, each transformed and committed with its audit record; generated
    ids number rows in that order. `progress` hears the contract rows committed so far;
    ``sizes``: the rows per batch and per unit."""
    batch_rows, unit_rows = sizes
    by_source = _by_source(plan)
    counter = RowCounter(sum(u.rows for left in units.values() for u in left), progress)

    def prepare(unit: Unit, rows: pa.Table) -> tuple[list[tuple[TablePlan, list[Any]]], int]:
        """The unit's rows transformed for every table it feeds, on its merge thread."""
        first = unit.index * unit_rows
        out: list[tuple[TablePlan, list[Any]]] = []
        for table in by_source[unit.table]:
            batches = rows.to_batches(max_chunksize=batch_rows)
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
        pool, dataset.root, files, wanted, unit_rows, batch_rows, load_unit,
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
        yield from tf.transform(batch, table, ctx, row, plan.id_formats)
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
