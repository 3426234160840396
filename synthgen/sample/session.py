"""A read-only session on production: one transaction, READ ONLY, a statement timeout, rolled back.

The transaction is REPEATABLE READ, so every histogram comes from the same snapshot, and READ ONLY,
so the server itself refuses any write. Parallel workers are turned off (the sampler takes at
most one core of production) and the session's time zone is UTC. Nothing is ever committed.
Rows scanned per statement come from the server's own per-transaction table counters.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from adbc_driver_manager.dbapi import Error as DatabaseError
from adbc_driver_postgresql import dbapi

from synthgen.postgres.dsn import mask_dsn
from synthgen.sample.errors import SampleError

SETTINGS_SQL = (
    "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
    "SET LOCAL statement_timeout = '{timeout_ms}ms'",
    "SET LOCAL lock_timeout = '10s'",
    "SET LOCAL idle_in_transaction_session_timeout = '{idle_ms}ms'",
    "SET LOCAL max_parallel_workers_per_gather = 0",
    "SET LOCAL TimeZone = 'UTC'",
)


def _one_line(exc: BaseException, dsn: str) -> str:
    """libpq's message on one line, with any password masked."""
    text = " ".join(str(exc).split())
    for secret in {dsn, mask_dsn(dsn)}:
        text = text.replace(secret, mask_dsn(dsn))
    return text[:300]


@dataclass
class Executed:
    """What the audit records about one statement (its rows stay in memory, never logged)."""

    name: str
    sql: str
    rows_scanned: int
    seconds: float


class ReadOnlySession:
    """An open read-only transaction: run aggregate statements and count the rows they scan."""

    def __init__(self, cursor: Any, relations: list[str], dsn: str) -> None:
        self._cur = cursor
        self._relations = relations
        self._dsn = dsn
        self.executed: list[Executed] = []

    def execute(self, sql: str) -> None:
        """Run a statement that returns no rows (a setting)."""
        try:
            self._cur.execute(sql)
        except DatabaseError as exc:
            raise SampleError(f"statement failed: {_one_line(exc, self._dsn)}") from None

    def scalar(self, sql: str) -> Any:
        """The first column of the first row of a statement's result."""
        rows = self.fetch(sql)
        return rows[0][0] if rows else None

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        """Run a statement and return its (aggregate) rows."""
        try:
            self._cur.execute(sql)
            return list(self._cur.fetchall())
        except DatabaseError as exc:
            raise SampleError(f"query failed: {_one_line(exc, self._dsn)}") from None

    def _tuples_read(self) -> int:
        if not self._relations:
            return 0
        oids = ", ".join(f"to_regclass({r})" for r in self._relations)
        value = self.scalar(
            "SELECT coalesce(sum(pg_stat_get_xact_tuples_returned(o) "
            f"+ pg_stat_get_xact_tuples_fetched(o)), 0)::bigint FROM unnest(ARRAY[{oids}]) AS o"
        )
        return int(value or 0)

    def run(self, name: str, sql: str) -> list[tuple[Any, ...]]:
        """Run one named aggregate statement, recording its rows scanned and duration."""
        before = self._tuples_read()
        start = time.perf_counter()
        rows = self.fetch(sql)
        seconds = time.perf_counter() - start
        scanned = self._tuples_read() - before
        self.executed.append(Executed(name, sql, scanned, seconds))
        return rows


@contextmanager
def read_only_session(
    dsn: str, relations: list[str], timeout_s: float = 300.0
) -> Iterator[ReadOnlySession]:
    """Open a REPEATABLE READ, READ ONLY transaction with a statement timeout; always roll back.

    `relations` are quoted SQL literals of the production tables (e.g. `'"app"."posts"'`), whose
    per-transaction scan counters measure rows scanned.
    """
    timeout_ms = max(1, int(timeout_s * 1000))
    try:
        conn = dbapi.connect(dsn, autocommit=False)
    except DatabaseError as exc:
        raise SampleError(f"cannot connect to {mask_dsn(dsn)}: {_one_line(exc, dsn)}") from None
    try:
        cur = conn.cursor()
        session = ReadOnlySession(cur, relations, dsn)
        for statement in SETTINGS_SQL:
            session.execute(statement.format(timeout_ms=timeout_ms, idle_ms=timeout_ms * 2))
        if session.scalar("SELECT current_setting('transaction_read_only')") != "on":
            raise SampleError("the server did not make the sampler's transaction read-only")
        try:
            yield session
        finally:
            cur.close()
    finally:
        with contextlib.suppress(DatabaseError):  # a failed statement already aborted it
            conn.rollback()
        conn.close()
