"""A table's shards merged into its arrival order, with at most `fan_in` files open at once.

Every shard is sorted by its table's arrival key, so a k-way merge gives the table's order. Each
open Parquet reader holds a few MB, so with more than `fan_in` shards the merge goes in two steps,
as an external sort does: sources merged `fan_in` at a time into spill runs (Arrow IPC, zstd) in
a private directory, then the final merge streams those. The order is exact whatever the
grouping, since every merge orders by the whole arrival key. Run files are removed once merged;
the caller removes the directory.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from synthgen.manifest import FileEntry
from synthgen.schema import TABLES
from synthgen.storage import DatasetPath, readable

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

# Files open at once in one merge: bounds the readers' memory whatever the shard count
# (benchmarks/README.md, "Arrival merge memory vs shard count"); 32^2 = 1 024 shards take one
# spill pass, more (perf's ~1 200) re-merge only the excess runs.
MAX_FAN_IN = 32
# A merge holds about two batches per source: its batch shrinks with the source count so that a
# merge's buffers stay near this many rows.
MERGE_BUDGET_ROWS = 1 << 16
MIN_MERGE_BATCH = 1024
# bytes per column read at a time; without it (and with pre-buffering) a reader holds its whole
# row group instead of a few MB
READ_BUFFER = 1 << 16
# zstd runs are about the size of the Parquet shards, larger with lz4 or none, at the same speed
SPILL_CODEC = "zstd"


def merge_batch_rows(sources: int, batch_rows: int) -> int:
    """Batch size of each reader in a merge of `sources` sources."""
    return max(MIN_MERGE_BATCH, min(batch_rows, MERGE_BUDGET_ROWS // max(1, sources)))


class MergeStopped(Exception):
    """The load stopped (an error elsewhere, or Ctrl-C) while a table was being spilled."""


class Gauge:
    """Readers open now and the most ever open at once, across the merges that share it."""

    def __init__(self) -> None:
        self.open = 0
        self.peak = 0
        self._lock = threading.Lock()

    def change(self, delta: int) -> None:
        with self._lock:
            self.open += delta
            self.peak = max(self.peak, self.open)


@dataclass(frozen=True)
class _Input:
    """A sorted source: a shard (Parquet) or a spill run (Arrow IPC stream)."""

    path: DatasetPath  # a shard (local or stored) or a local spill run
    rows: int
    run: bool


class _Reader:
    """One open source: its batches in the table's schema, and its not yet merged rows."""

    def __init__(self, source: _Input, table: str, batch_rows: int, gauge: Gauge) -> None:
        self.target = TABLES[table].arrow_schema
        self.key = ARRIVAL_KEY[table][0]
        self.gauge = gauge
        self.batches: Iterator[pa.RecordBatch]
        self.file: pq.ParquetFile | pa.NativeFile
        if source.run:  # written in batches of this merge's size: one is read at a time
            self.file = pa.OSFile(str(source.path), "rb")  # runs are local files
            self.batches = iter(pa.ipc.open_stream(self.file))
        else:
            self.file = pq.ParquetFile(
                readable(source.path), buffer_size=READ_BUFFER, pre_buffer=False
            )
            self.batches = self.file.iter_batches(batch_size=batch_rows, columns=self.target.names)
        gauge.change(+1)
        self.rows = self.target.empty_table()
        self.keys = np.empty(0, dtype=np.int64)
        self.done = False

    def close(self) -> None:
        if not self.done:
            self.done = True
            self.file.close()
            self.gauge.change(-1)

    def refill(self) -> None:
        """Append the next batch, or close the source."""
        batch = next(self.batches, None)
        if batch is None:
            self.close()
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


def _merge(sources: list[_Input], table: str, batch_rows: int, gauge: Gauge) -> Iterator[pa.Table]:
    """The rows of `sources` (each sorted by the table's first arrival key) in the order of the
    whole key, in pieces, reading each source forward once (ties on the whole key keep the order
    of the sources, then of the rows in their source).

    Rows are released only below the smallest last buffered key of the sources still open, so
    every row with that key or a later one is still to come or buffered: all rows sharing a first
    key leave in the same piece, which is sorted by the whole key (ties across sources, then by
    source order), whatever the batch size.
    """
    readers: list[_Reader] = []
    try:
        for source in sources:
            readers.append(_Reader(source, table, batch_rows, gauge))
        sort_keys = [(name, "ascending") for name in ARRIVAL_KEY[table]]
        while True:
            for reader in readers:
                while not reader.done and not len(reader.keys):
                    reader.refill()
            open_ = [r for r in readers if not r.done]
            bound = min((int(r.keys[-1]) for r in open_), default=None)
            pieces = [p for p in (r.take_below(bound) for r in readers) if p.num_rows]
            if pieces:
                piece = pa.concat_tables(pieces) if len(pieces) > 1 else pieces[0]
                if len(pieces) > 1 or len(sort_keys) > 1:  # one source is sorted on one key
                    piece = piece.take(pc.sort_indices(piece, sort_keys=sort_keys))
                yield piece
            if bound is None:
                return
            for reader in open_:  # those holding the bound key only: the others still have rows
                if int(reader.keys[-1]) == bound:
                    reader.refill()
    finally:
        for reader in readers:
            reader.close()


def _spill(
    sources: list[_Input],
    table: str,
    batch_rows: int,
    path: Path,
    gauge: Gauge,
    stopped: Callable[[], bool],
) -> _Input:
    """Merge `sources` into one run file, written in batches of `batch_rows` rows."""
    schema = TABLES[table].arrow_schema
    options = pa.ipc.IpcWriteOptions(compression=SPILL_CODEC)
    held: list[pa.Table] = []
    rows = 0
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, schema, options=options) as w:
        for piece in _merge(sources, table, batch_rows, gauge):
            if stopped():
                raise MergeStopped(table)
            held.append(piece)
            rows += piece.num_rows
            if rows >= batch_rows:  # merged pieces vary in size; the run's batches do not
                whole = pa.concat_tables(held)
                cut = rows - rows % batch_rows
                w.write_table(whole.slice(0, cut), max_chunksize=batch_rows)
                held, rows = [whole.slice(cut)], rows - cut
        if rows:
            w.write_table(pa.concat_tables(held), max_chunksize=batch_rows)
    return _Input(path, sum(s.rows for s in sources), run=True)


def merged(
    root: DatasetPath,
    files: list[FileEntry],
    table: str,
    batch_rows: int,
    spill: Path | None = None,
    fan_in: int = MAX_FAN_IN,
    gauge: Gauge | None = None,
    stopped: Callable[[], bool] = lambda: False,
) -> Iterator[pa.Table]:
    """A table's rows in arrival order, in pieces, with at most `fan_in` files open at once.

    Each reader reads `batch_rows` rows at a time. With more than `fan_in` files, runs are
    spilled into `spill` (an existing private directory) first: the `k` smallest sources, with
    k = min(fan_in, sources - fan_in + 1), become one run until `fan_in` sources are left, so
    the excess over fan_in^2 shards is merged twice and the rest once.
    """
    if fan_in < 2:
        raise ValueError(f"fan_in must be at least 2, not {fan_in}")
    gauge = gauge if gauge is not None else Gauge()
    ordered = sorted(files, key=lambda f: f.path)
    sources = [_Input(root / f.path, f.rows, run=False) for f in ordered]
    if len(sources) > fan_in:
        if spill is None:
            raise ValueError(f"{table}: {len(sources)} files need a spill directory")
        sources = _spill_runs(sources, table, batch_rows, spill, fan_in, gauge, stopped)
    try:
        yield from _merge(sources, table, batch_rows, gauge)
    finally:
        for source in sources:
            if source.run and isinstance(source.path, Path):
                source.path.unlink(missing_ok=True)


def _spill_runs(
    sources: list[_Input],
    table: str,
    batch_rows: int,
    spill: Path,
    fan_in: int,
    gauge: Gauge,
    stopped: Callable[[], bool],
) -> list[_Input]:
    """Merge the smallest sources into runs until at most `fan_in` are left; in source order
    (shards by path, then runs as written), so that the final merge is deterministic."""
    numbers = itertools.count()
    heap = [(s.rows, next(numbers), s) for s in sources]
    heapq.heapify(heap)
    while len(heap) > fan_in:
        take = min(fan_in, len(heap) - fan_in + 1)
        group = sorted((heapq.heappop(heap) for _ in range(take)), key=lambda item: item[1])
        number = next(numbers)
        run = _spill(
            [s for _, _, s in group],
            table,
            batch_rows,
            spill / f"{table}-run-{number:05d}.arrow",
            gauge,
            stopped,
        )
        for _, _, source in group:
            if source.run and isinstance(source.path, Path):
                source.path.unlink()
        heapq.heappush(heap, (run.rows, number, run))
    return [s for _, _, s in sorted(heap, key=lambda item: item[1])]
