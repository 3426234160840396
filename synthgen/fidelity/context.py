"""What every check receives: the DuckDB connection, the spec, the band's counts, the tolerance,
and memoized shared facts.

A fact is a named aggregate query that several checks read (one scan of the messages' content
serves the length, media and PII checks). It runs once, when a check first asks for it; its SQL
is recorded against every check that uses it, so each check's report shows all the SQL behind it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np

from synthgen.fidelity.dataset import Dataset
from synthgen.fidelity.expected import BandCounts
from synthgen.spec import Spec


@dataclass
class _Fact:
    value: Any
    sql: list[dict[str, Any]]


@dataclass
class CheckContext:
    """Shared state of one validation run."""

    con: duckdb.DuckDBPyConnection
    spec: Spec
    dataset: Dataset
    counts: BandCounts
    tolerance: float
    _facts: dict[str, _Fact] = field(default_factory=dict)
    _log: list[dict[str, Any]] = field(default_factory=list)

    @property
    def snapshot_us(self) -> int:
        """The spec's snapshot instant, in microseconds since the epoch."""
        return self.spec.time.snapshot_us

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Run SQL, record it (and its time) for the current check, return all rows (results
        are small: aggregates)."""
        start, cpu = time.perf_counter(), time.process_time()
        rows = self.con.execute(sql).fetchall()
        self._log.append(
            {
                "sql": _tidy(sql),
                "seconds": round(time.perf_counter() - start, 4),
                "cpu_seconds": round(time.process_time() - cpu, 4),
            }
        )
        return rows

    def columns(self, sql: str) -> dict[str, np.ndarray]:
        """Run SQL, record it, return its columns as NumPy arrays: for results with a row per
        conversation or room, which as Python tuples would cost ~100 bytes a value."""
        start, cpu = time.perf_counter(), time.process_time()
        arrays = {name: np.asarray(col) for name, col in self.con.execute(sql).fetchnumpy().items()}
        self._log.append(
            {
                "sql": _tidy(sql),
                "seconds": round(time.perf_counter() - start, 4),
                "cpu_seconds": round(time.process_time() - cpu, 4),
            }
        )
        return arrays

    def scalar(self, sql: str) -> Any:
        """Run SQL that returns one value."""
        rows = self.query(sql)
        return rows[0][0] if rows else None

    def fact(self, name: str, compute: Callable[[CheckContext], Any]) -> Any:
        """The value of a shared fact, computed on first use; its SQL joins this check's log."""
        if name not in self._facts:
            start = len(self._log)
            value = compute(self)
            self._facts[name] = _Fact(value, self._log[start:])
            return value
        cached = self._facts[name]
        self._log.extend(
            {**entry, "seconds": 0.0, "cpu_seconds": 0.0, "shared_fact": name}
            for entry in cached.sql
        )
        return cached.value

    def take_log(self) -> list[dict[str, Any]]:
        """The SQL recorded since the last call (one check's worth): text and seconds."""
        log, self._log = self._log, []
        return log


def _tidy(sql: str) -> str:
    lines = [line.rstrip() for line in sql.strip().splitlines()]
    indent = min((len(x) - len(x.lstrip()) for x in lines[1:] if x.strip()), default=0)
    return "\n".join([lines[0], *(x[indent:] for x in lines[1:])])
