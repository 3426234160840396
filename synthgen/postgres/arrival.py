"""Rows in arrival order: a streaming k-way merge of a table's shards, cut into load units.

Production inserts every row when it happens, so its heap is in arrival order: messages by
createdAt, receipts by readAt, and so on. Each shard is written in that order (its own rows),
but every message shard spans the whole window, so loading shard after shard would lay the heap
out room group by room group. Here a table's shards are merged on their arrival key, with
bounded memory (one or two batches per shard), and the merged stream is cut into units of
`unit_rows` rows: unit k of a table is always the same rows, so it is what a load records and a
resume skips. Units go to the loader's connections in order; concurrent units of one table
interleave in the heap only within a window of `jobs` units.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from synthgen.manifest import FileEntry
from synthgen.postgres.connect import Connection
from synthgen.postgres.pool import Pool, run_threads
from synthgen.schema import TABLES

# table -> the columns its rows arrive in (the first one drives the merge; the rest break ties)
ARRIVAL_KEY: dict[str, tuple[str, ...]] = {
    "users": ("id",),
    "conversations": ("id",),
    "conversation_users": ("joinedAt", "conversationId", "userId"),
    "messages": ("id",),
    "attachments": ("id",),
    "read_receipts": ("readAt", "messageId", "userId"),
    "conversation_traits": ("conversationId",),
}


@dataclass(frozen=True)
class Unit:
    """Rows [index * unit_rows, ...) of a table in arrival order: one transaction of a load."""

    table: str
    index: int
    rows: int
    sha256: str  # identifies the unit: the table's files, the unit size and its index

    @property
    def path(self) -> str:
        """The name synthgen_shards records it under."""
        return f"{self.table}/arrival-{self.index:05d}"


def table_units(table: str, files: list[FileEntry], unit_rows: int) -> list[Unit]:
    """Every unit of a table, from its files' row counts."""
    total = sum(f.rows for f in files)
    identity = hashlib.sha256(f"{table}:{unit_rows}".encode())
    for entry in sorted(files, key=lambda f: f.path):
        identity.update(entry.sha256.encode())
    base = identity.hexdigest()
    count = -(-total // unit_rows)
    return [
        Unit(
            table,
            k,
            min(unit_rows, total - k * unit_rows),
            hashlib.sha256(f"{base}:{k}".encode()).hexdigest(),
        )
        for k in range(count)
    ]


class _Source:
    """One shard: its batches cast to the table's schema, and the not yet merged rows."""

    def __init__(self, path: Path, table: str, batch_rows: int) -> None:
        self.target = TABLES[table].arrow_schema
        self.key = ARRIVAL_KEY[table][0]
        self.file = pq.ParquetFile(path, buffer_size=READ_BUFFER, pre_buffer=False)
        self.batches = self.file.iter_batches(batch_size=batch_rows, columns=self.target.names)
        self.rows = self.target.empty_table()
        self.keys = np.empty(0, dtype=np.int64)
        self.done = False

    def refill(self) -> None:
        """Append the next batch, or mark the shard done."""
        batch = next(self.batches, None)
        if batch is None:
            self.done = True
            self.file.close()
            return
        columns = [batch.column(f.name).cast(f.type) for f in self.target]
        table = pa.Table.from_arrays(columns, schema=self.target)
        self.rows = pa.concat_tables([self.rows, table]) if self.rows.num_rows else table
        key = table.column(self.key)
        if pa.types.is_timestamp(key.type):
            key = key.cast(pa.int64())
        self.keys = np.concatenate([self.keys, key.to_numpy()])

    def take_below(self, bound: int | None) -> pa.Table:
        """Remove and return the buffered rows whose key is below `bound` (all if None)."""
        cut = len(self.keys) if bound is None else int(np.searchsorted(self.keys, bound, "left"))
        taken = self.rows.slice(0, cut)
        self.rows, self.keys = self.rows.slice(cut), self.keys[cut:]
        return taken


def merged(root: Path, files: list[FileEntry], table: str, batch_rows: int) -> Iterator[pa.Table]:
    """A table's rows in arrival order, in pieces, reading each shard forward once.

    Rows are released only below the smallest last buffered key of the shards still open, so
    every row with that key or a later one is still to come or buffered: the pieces follow the
    table's whole arrival key exactly, whatever the batch size (ties in the first key across
    shards are ordered by the rest of the key).
    """
    sources = [
        _Source(root / f.path, table, batch_rows) for f in sorted(files, key=lambda f: f.path)
    ]
    sort_keys = [(name, "ascending") for name in ARRIVAL_KEY[table]]
    while True:
        for source in sources:
            while not source.done and not len(source.keys):
                source.refill()
        open_ = [s for s in sources if not s.done]
        bound = min((int(s.keys[-1]) for s in open_), default=None)
        pieces = [p for p in (s.take_below(bound) for s in sources) if p.num_rows]
        if pieces:
            piece = pa.concat_tables(pieces) if len(pieces) > 1 else pieces[0]
            if len(pieces) > 1:
                piece = piece.take(pc.sort_indices(piece, sort_keys=sort_keys))
            yield piece
        if bound is None:
            return
        for source in open_:  # those holding the bound key only: the others still have rows
            if int(source.keys[-1]) == bound:
                source.refill()


def unit_tables(
    root: Path,
    files: list[FileEntry],
    table: str,
    unit_rows: int,
    batch_rows: int,
    wanted: Callable[[int], bool] = lambda _: True,
) -> Iterator[tuple[int, pa.Table]]:
    """(unit index, its rows) for every unit `wanted` says to load, in order; units not wanted
    are still read through (the merge cannot seek) but never materialised together."""
    pending: list[pa.Table] = []
    held = 0
    index = 0
    for piece in merged(root, files, table, batch_rows):
        while piece.num_rows:
            take = min(piece.num_rows, unit_rows - held)
            pending.append(piece.slice(0, take))
            held += take
            piece = piece.slice(take)
            if held == unit_rows:
                if wanted(index):
                    yield index, _own(pending)
                pending, held, index = [], 0, index + 1
    if held and wanted(index):
        yield index, _own(pending)


def _own(pieces: list[pa.Table]) -> pa.Table:
    """One unit's rows in buffers of its own: slices would keep whole merged pieces alive (a
    piece spans several units) while the unit waits in the queue or loads."""
    return pa.concat_tables(pieces).combine_chunks()


# A merge holds about two batches per shard: its batch shrinks with the shard count so that a
# table's merge buffers stay near this many rows whatever the dataset's size.
MERGE_BUDGET_ROWS = 1 << 16
MIN_MERGE_BATCH = 1024
# bytes per column read at a time; without it (and with pre-buffering) a reader holds its whole
# row group, ~18 MB for a messages shard instead of a few MB
READ_BUFFER = 1 << 16


def merge_batch_rows(shards: int, batch_rows: int) -> int:
    """Batch size of each shard's reader in a merge of `shards` shards."""
    return max(MIN_MERGE_BATCH, min(batch_rows, MERGE_BUDGET_ROWS // max(1, shards)))


Ingest = Callable[[Connection, Unit, pa.Table], None]
# Units of one table loaded at once by c connections land interleaved in the heap (each COPY
# fills its own pages), so a row sits up to (c - 1) units from its place: Spearman's rho of the
# heap against arrival order is then about 1 - 2 ((c - 1) / units)^2. A table gets c > 1 only
# when that keeps rho above 0.999 (measured: 13 units over 2 connections gave 0.987).
UNITS_PER_EXTRA_CONNECTION = 50


def table_connections(units: int, jobs: int) -> int:
    """How many connections may load one table's units at once."""
    return max(1, min(jobs, 1 + units // UNITS_PER_EXTRA_CONNECTION))


class _TableGate:
    """Starts a table's units in their order, at most `limit` at a time.

    Units leave the queue in order, but two connections that took units k and k + 1 could
    otherwise start them in either order (and a plain semaphore does not queue fairly).
    """

    def __init__(self, limit: int, stop: threading.Event) -> None:
        self.limit = limit
        self.stop = stop
        self.turn = 0
        self.running = 0
        self.changed = threading.Condition()

    def enter(self, turn: int) -> bool:
        """Wait until it is unit number `turn`'s turn; False if the load stopped meanwhile."""
        with self.changed:
            while not (self.turn == turn and self.running < self.limit):
                if self.stop.is_set():
                    return False
                self.changed.wait(0.1)
            self.turn += 1
            self.running += 1
            return True

    def leave(self) -> None:
        with self.changed:
            self.running -= 1
            self.changed.notify_all()


def _use_jemalloc() -> None:
    """Arrow's jemalloc pool for the merge, unless the user chose one: batches are allocated by
    the merge threads and freed by the connections' threads, and the default mimalloc pool kept
    ~80 MB more resident at dev (peak client RSS 465 vs 386 MB, same load time)."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    with contextlib.suppress(NotImplementedError):  # a pyarrow built without jemalloc
        pa.set_memory_pool(pa.jemalloc_memory_pool())


def _all_units(files: dict[str, list[FileEntry]], unit_rows: int) -> dict[str, list[Unit]]:
    return {table: table_units(table, entries, unit_rows) for table, entries in files.items()}


def load_units(
    pool: Pool,
    root: Path,
    files: dict[str, list[FileEntry]],
    pending: dict[str, list[Unit]],
    unit_rows: int,
    batch_rows: int,
    ingest: Ingest,
) -> None:
    """Merge every table with pending units and hand its units, in order, to the pool's
    connections; `ingest` loads one unit and commits it.

    One merge thread per table, at most `pool.size` tables at once (largest first), feeding a
    queue of `pool.size` units; each connection takes the next unit of whichever table. The first
    error stops every thread and is raised once they have stopped.
    """
    _use_jemalloc()
    work: queue.Queue[tuple[int, Unit, pa.Table]] = queue.Queue(maxsize=pool.size)
    stop = threading.Event()
    slots = threading.Semaphore(pool.size)
    gates = {
        table: _TableGate(table_connections(len(units), pool.size), stop)
        for table, units in _all_units(files, unit_rows).items()
    }
    errors: list[BaseException] = []
    tables = sorted(pending, key=lambda t: -sum(u.rows for u in pending[t]))

    def put(item: tuple[int, Unit, pa.Table]) -> bool:
        while not stop.is_set():
            try:
                work.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce(table: str) -> None:
        units = {u.index: u for u in pending[table]}
        batch = merge_batch_rows(len(files[table]), batch_rows)
        try:
            with slots:
                rows = unit_tables(root, files[table], table, unit_rows, batch, units.__contains__)
                for turn, (index, unit_rows_) in enumerate(rows):
                    if not put((turn, units[index], unit_rows_)):
                        return
        except BaseException as exc:
            errors.append(exc)
            stop.set()

    producers = [
        threading.Thread(target=produce, args=(t,), name=f"synthgen-merge-{t}", daemon=True)
        for t in tables
    ]

    def consume(number: int) -> None:
        try:
            conn = pool.get(number)
            while not stop.is_set():
                try:
                    turn, unit, rows = work.get(timeout=0.1)
                except queue.Empty:
                    if not any(p.is_alive() for p in producers) and work.empty():
                        return
                    continue
                gate = gates[unit.table]
                if not gate.enter(turn):
                    return
                try:
                    ingest(conn, unit, rows)
                finally:
                    gate.leave()
        except BaseException as exc:
            errors.append(exc)
            stop.set()

    consumers = [
        threading.Thread(target=consume, args=(n,), name=f"synthgen-load-{n}", daemon=True)
        for n in range(pool.size)
    ]
    run_threads(pool, [*producers, *consumers], stop, errors)
