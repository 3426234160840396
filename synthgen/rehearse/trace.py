"""Run a script statement by statement on one connection while a second one watches it.

Every `SAMPLE_S` the watcher reads, for the script's backend: the relation locks it holds or
waits for (pg_locks, the target schema's relations), the backends waiting on it
(``pg_blocking_pids``) with their wait event and how long their statement has run, and the
backends it waits on itself. Around each statement it reads the WAL position and the database's
temp-file counters; after it, the index's validity and size. Sampling sees what lasts a sample
or more: a lock held for less than 50 ms may be missed, which is below any threshold that
matters here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from synthgen.postgres.connect import Connection, error_text, execute, fetch_all
from synthgen.rehearse.static import Statement

SAMPLE_S = 0.05
_WAITERS = """
SELECT a.pid, coalesce(a.wait_event_type, ''), coalesce(a.wait_event, ''), left(a.query, 400),
       extract(epoch FROM clock_timestamp() - a.query_start)::float8
FROM pg_stat_activity a
WHERE a.pid <> pg_backend_pid() AND a.state = 'active' AND $1::int = ANY(pg_blocking_pids(a.pid))
"""
_BLOCKERS = """
SELECT b.pid, coalesce(b.state, ''), left(coalesce(b.query, ''), 200),
       coalesce(s.wait_event_type, ''), coalesce(s.wait_event, '')
FROM pg_stat_activity s, unnest(pg_blocking_pids(s.pid)) AS w(pid)
JOIN pg_stat_activity b ON b.pid = w.pid
WHERE s.pid = $1::int
"""
_LOCKS = """
SELECT c.relname, c.relkind::text, l.mode, l.granted
FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE l.pid = $1::int AND l.locktype = 'relation' AND n.nspname = $2
"""
_COUNTERS = """
SELECT pg_current_wal_lsn()::text, temp_files, temp_bytes
FROM pg_stat_database WHERE datname = current_database()
"""
_INDEX = """
SELECT i.indisvalid, pg_relation_size(c.oid) FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2
"""

Classify = Callable[[str], str]  # a backend's query -> the workload script it runs (W1, Q2 ...)


def lsn_bytes(lsn: str) -> int:
    high, low = lsn.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def counters(conn: Connection) -> tuple[int, int, int]:
    """WAL position (bytes), temp files and temp bytes of the database so far."""
    lsn, files, size = fetch_all(conn, _COUNTERS)[0]
    return lsn_bytes(str(lsn)), int(files or 0), int(size or 0)


@dataclass
class Trace:
    """What the watcher saw of one statement."""

    locks: dict[tuple[str, str, str, bool], list[float]] = field(default_factory=dict)
    blocked: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)
    waited_on: dict[int, dict[str, Any]] = field(default_factory=dict)

    def sample(self, conn: Connection, pid: int, schema: str, classify: Classify) -> None:
        now = time.time()
        for name, kind, mode, granted in fetch_all(conn, _LOCKS, (pid, schema)):
            key = (str(name), "index" if kind in ("i", "I") else "table", str(mode), bool(granted))
            self.locks.setdefault(key, [now, now])[1] = now
        for wpid, wtype, wevent, query, waited in fetch_all(conn, _WAITERS, (pid,)):
            entry = self.blocked.setdefault(
                (int(wpid), str(query)),
                {
                    "pid": int(wpid),
                    "script": classify(str(query)),
                    "query": " ".join(str(query).split())[:160],
                    "first": now,
                },
            )
            entry.update(wait_event=f"{wtype}:{wevent}", waited_s=float(waited or 0.0), last=now)
        for bpid, state, query, wtype, wevent in fetch_all(conn, _BLOCKERS, (pid,)):
            entry = self.waited_on.setdefault(
                int(bpid),
                {
                    "pid": int(bpid),
                    "state": str(state),
                    "script": classify(str(query)),
                    "query": " ".join(str(query).split())[:160],
                    "first": now,
                },
            )
            entry.update(last=now, wait_event=f"{wtype}:{wevent}")

    def to_dict(self) -> dict[str, Any]:
        locks = [
            {
                "relation": rel,
                "kind": kind,
                "mode": mode,
                "granted": granted,
                "held_s": round(last - first, 3),
            }
            for (rel, kind, mode, granted), (first, last) in sorted(self.locks.items())
        ]
        blocked = sorted(self.blocked.values(), key=lambda e: -e["waited_s"])
        waited = [
            {**e, "seconds": round(e["last"] - e["first"], 3)} for e in self.waited_on.values()
        ]
        for entry in blocked + waited:
            for key in ("first", "last"):
                entry.pop(key, None)
        return {
            "locks": locks,
            "blocked": blocked,
            "waited_on": sorted(waited, key=lambda e: -e["seconds"]),
        }


def run_statement(
    work: Connection, watch: Connection, pid: int, schema: str, st: Statement, classify: Classify
) -> dict[str, Any]:
    """Run one statement on `work` (backend `pid`) while sampling it from `watch`."""
    trace = Trace()
    outcome: dict[str, BaseException] = {}

    def run() -> None:
        try:
            execute(work, st.sql)
        except BaseException as exc:  # reported in the statement's record
            outcome["error"] = exc

    wal0, files0, bytes0 = counters(watch)
    thread = threading.Thread(target=run, name="rehearse-statement", daemon=True)
    started = time.time()
    thread.start()
    while thread.is_alive():
        trace.sample(watch, pid, schema, classify)
        thread.join(SAMPLE_S)
    ended = time.time()
    if "error" not in outcome:
        _flush_stats(work)
    wal1, files1, bytes1 = counters(watch)
    record: dict[str, Any] = {
        "number": st.number,
        "line": st.line,
        "sql": st.head,
        "table": st.table,
        "expected_lock": st.lock,
        "concurrent": st.concurrent,
        "started": started,
        "ended": ended,
        "seconds": round(ended - started, 3),
        "ok": "error" not in outcome,
        "error": error_text(outcome["error"]) if "error" in outcome else None,
        "wal_bytes": wal1 - wal0,
        "temp_files": files1 - files0,
        "temp_bytes": bytes1 - bytes0,
        **trace.to_dict(),
    }
    if st.index and not st.sql.lstrip().upper().startswith("DROP"):
        rows = fetch_all(watch, _INDEX, (schema, st.index))
        record["index"] = (
            {"name": st.index, "valid": bool(rows[0][0]), "size_bytes": int(rows[0][1])}
            if rows
            else {"name": st.index, "valid": None, "size_bytes": None}
        )
    return record


def _flush_stats(work: Connection) -> None:
    """Make the statement's temp-file counts visible now (PostgreSQL 15+; else up to 1 s late)."""
    try:
        execute(work, "SELECT pg_stat_force_next_flush()")
    except Exception:  # older servers: the counters may lag a second
        return
