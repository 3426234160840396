"""What both load targets share: the order choice, progress, and the per-unit transaction.

A unit (an arrival unit, or a whole shard under ``--order room``) commits its rows and its
``synthgen_shards`` record in one transaction: a unit is recorded if and only if its rows are
there, which is what makes ``--resume`` exact (see ``load.audit``).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from synthgen.errors import LoadError
from synthgen.load import audit
from synthgen.load.arrival_units import Unit
from synthgen.manifest import FileEntry
from synthgen.postgres.connect import Connection, DatabaseError, error_text

# "arrival": every table in its arrival order (as production's heap); "room": shard after
# shard, as the files lie (the older layout, kept for comparison)
ORDERS = ("arrival", "room")
Progress = Callable[[int, int], None]  # (rows loaded, rows to load)


class ShardError(LoadError):
    """Loading one unit (or shard) failed; its transaction was rolled back."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path


def check_options(resume: bool, replace: bool, order: str) -> None:
    """The option rules both targets share; a LoadError naming the flag."""
    if resume and replace:
        raise LoadError("--resume and --replace exclude each other")
    if order not in ORDERS:
        raise LoadError(f"--order: {order!r} is not one of {', '.join(ORDERS)}")


class RowCounter:
    """Rows committed so far, reported to ``progress`` from any loader thread."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total = total
        self.done = 0
        self._progress = progress
        self._lock = threading.Lock()

    def start(self) -> None:
        if self._progress is not None:
            self._progress(0, self.total)

    def add(self, rows: int) -> None:
        with self._lock:
            self.done += rows
            if self._progress is not None:
                self._progress(self.done, self.total)


@dataclass(frozen=True)
class Record:
    """One unit's row in ``synthgen_shards``."""

    path: str
    table: str
    index: int
    sha256: str
    rows: int
    nbytes: int

    @classmethod
    def of_shard(cls, entry: FileEntry) -> Record:
        return cls(entry.path, entry.table, entry.shard, entry.sha256, entry.rows, entry.bytes)

    @classmethod
    def of_unit(cls, unit: Unit, nbytes: int) -> Record:
        return cls(unit.path, unit.table, unit.index, unit.sha256, unit.rows, nbytes)


@dataclass(frozen=True)
class AuditTarget:
    """Where a load records its units: the audit schema, the load's row, the DSN for errors."""

    schema: str
    load_id: int
    dsn: str

    @property
    def record_sql(self) -> str:
        return audit.record_shard_sql(self.schema)


@contextlib.contextmanager
def unit_transaction(
    conn: Connection, target: AuditTarget, record: Record, synchronous: bool = False
) -> Iterator[Any]:
    """A cursor for one unit's rows; on leaving, its audit record is written and the two commit
    as one transaction, or both roll back (a server error becomes a ShardError naming the unit).

    ``synchronous``: a synchronous commit for this unit (one WAL flush per unit): VACUUM can mark
    a page all-visible only once its inserters' commits are flushed.
    """
    begun = time.perf_counter()
    try:
        with conn.cursor() as cur:
            if synchronous:
                cur.execute("SET LOCAL synchronous_commit = on")
            yield cur
            fields = (record.path, record.table, record.index, record.sha256, record.rows)
            seconds = time.perf_counter() - begun
            cur.execute(target.record_sql, (*fields, record.nbytes, target.load_id, seconds))
        conn.commit()
    except BaseException as exc:
        with contextlib.suppress(Exception):
            conn.rollback()
        if isinstance(exc, DatabaseError):
            raise ShardError(record.path, error_text(exc, target.dsn)) from exc
        raise
