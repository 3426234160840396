"""Rows in arrival order: a streaming k-way merge of a table's shards, cut into load units.

Production's heap is in arrival order (messages by createdAt, receipts by readAt), but every
message shard spans the whole window, so a table's shards are merged on their arrival key
(`load.merge`, bounded memory) and the stream is cut into units of `unit_rows` rows: unit k of a
table is always the same rows, which is what a load records and a resume skips.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from synthgen.load.merge import (
    MAX_FAN_IN,
    Gauge,
    MergeStopped,
    merge_batch_rows,
    merged,
)
from synthgen.load.pool import Pool, run_threads
from synthgen.manifest import FileEntry
from synthgen.postgres.connect import Connection
from synthgen.storage import DatasetPath


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


def unit_tables(
    root: DatasetPath,
    files: list[FileEntry],
    table: str,
    unit_rows: int,
    batch_rows: int,
    wanted: Callable[[int], bool] = lambda _: True,
    spill: Path | None = None,
    fan_in: int = MAX_FAN_IN,
    gauge: Gauge | None = None,
    stopped: Callable[[], bool] = lambda: False,
) -> Iterator[tuple[int, pa.Table]]:
    """(unit index, its rows) for every unit `wanted` says to load, in order; units not wanted
    are still read through (the merge cannot seek) but never materialised together. A table of
    more than `fan_in` files spills runs into `spill` first (load.merge)."""
    pending: list[pa.Table] = []
    held = 0
    index = 0
    pieces = merged(root, files, table, batch_rows, spill, fan_in, gauge, stopped)
    for piece in pieces:
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


Ingest = Callable[[Connection, Unit, Any], None]  # a unit's rows, or what `Prepare` made of them
Prepare = Callable[[Unit, pa.Table], Any]
# Units of one table loaded at once by c connections land interleaved in the heap (each COPY
# fills its own pages), so a row sits up to (c - 1) units from its place: Spearman's rho of the
# heap against arrival order is then about 1 - 2 ((c - 1) / units)^2. A table gets c > 1 only
# when that keeps rho above 0.999.
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
    root: DatasetPath,
    files: dict[str, list[FileEntry]],
    pending: dict[str, list[Unit]],
    unit_rows: int,
    batch_rows: int,
    ingest: Ingest,
    spill_dir: Path | None = None,
    fan_in: int = MAX_FAN_IN,
    prepare: Prepare | None = None,
) -> None:
    """Merge every table with pending units and hand its units, in order, to the pool's
    connections; `ingest` loads one unit and commits it. `prepare`, when given, turns a unit's
    rows into what `ingest` takes, on the table's merge thread: work done there is off the
    connections' path (a connection then only streams and waits on the server).

    One merge thread per table, at most `pool.size` tables at once (largest first), feeding a
    queue of `pool.size` units; each connection takes the next unit of whichever table. The first
    error stops every thread and is raised once they have stopped. A table of more than `fan_in`
    files spills runs into a private directory under `spill_dir` (default: the dataset's
    .synthgen/), removed at the end whatever happens.
    """
    _use_jemalloc()
    spilling = any(len(files[t]) > fan_in for t in pending)
    spill = _spill_directory(root, spill_dir) if spilling else None
    try:
        _load_units(
            pool, root, files, pending, unit_rows, batch_rows, ingest, spill, fan_in, prepare
        )
    finally:
        if spill is not None:
            shutil.rmtree(spill, ignore_errors=True)


SPILL_PARENT = ".synthgen"  # under the dataset, unless the caller says where
SPILL_PREFIX = "load-merge-"
SPILL_OWNER = "owner"  # "host pid" of the load that spills there


def _spill_directory(root: DatasetPath, parent: Path | None) -> Path:
    """A fresh private directory for a load's merge runs: under `parent` when given, else under
    a local dataset, else (a read-only or a stored dataset) the system's temporary directory.
    Directories left there by loads of this host that died (SIGKILL) are removed first."""
    base = parent if parent is not None else root / SPILL_PARENT
    try:
        if not isinstance(base, Path):
            raise OSError("a stored dataset: its spill goes to a local directory")
        base.mkdir(parents=parent is not None, exist_ok=True)
        directory = Path(tempfile.mkdtemp(prefix=SPILL_PREFIX, dir=base))
    except OSError:
        if parent is not None:
            raise
        directory = Path(tempfile.mkdtemp(prefix=f"synthgen-{SPILL_PREFIX}"))
    (directory / SPILL_OWNER).write_text(f"{socket.gethostname()} {os.getpid()}")
    _remove_dead_spills(directory.parent)
    return directory


def _remove_dead_spills(base: Path) -> None:
    """Remove spill directories whose load ran on this host and is gone. One without an owner
    file yet, or of another host or a live process, is left alone."""
    host = socket.gethostname()
    for directory in base.glob(f"{SPILL_PREFIX}*"):
        try:
            owner_host, pid = (directory / SPILL_OWNER).read_text().split()
            os.kill(int(pid), 0)
        except ProcessLookupError:
            if owner_host == host:
                shutil.rmtree(directory, ignore_errors=True)
        except (OSError, ValueError):
            continue


def _load_units(
    pool: Pool,
    root: DatasetPath,
    files: dict[str, list[FileEntry]],
    pending: dict[str, list[Unit]],
    unit_rows: int,
    batch_rows: int,
    ingest: Ingest,
    spill: Path | None,
    fan_in: int,
    prepare: Prepare | None = None,
) -> None:
    work: queue.Queue[tuple[int, Unit, Any]] = queue.Queue(maxsize=pool.size)
    stop = threading.Event()
    slots = threading.Semaphore(pool.size)
    gates = {
        table: _TableGate(table_connections(len(units), pool.size), stop)
        for table, units in _all_units(files, unit_rows).items()
    }
    errors: list[BaseException] = []
    tables = sorted(pending, key=lambda t: -sum(u.rows for u in pending[t]))

    def put(item: tuple[int, Unit, Any]) -> bool:
        while not stop.is_set():
            try:
                work.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce(table: str) -> None:
        units = {u.index: u for u in pending[table]}
        batch = merge_batch_rows(min(len(files[table]), fan_in), batch_rows)
        try:
            with slots:
                rows = unit_tables(
                    root,
                    files[table],
                    table,
                    unit_rows,
                    batch,
                    units.__contains__,
                    spill,
                    fan_in,
                    stopped=stop.is_set,
                )
                for turn, (index, unit_rows_) in enumerate(rows):
                    unit = units[index]
                    item = unit_rows_ if prepare is None else prepare(unit, unit_rows_)
                    if not put((turn, unit, item)):
                        return
        except MergeStopped:
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
