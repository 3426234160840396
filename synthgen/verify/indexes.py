"""Apply or roll back an index script (specs/indexes/phase-2.sql) with live build progress.

Each CREATE INDEX CONCURRENTLY runs on its own autocommit connection while a second connection
polls pg_stat_progress_create_index. A failed concurrent build leaves an INVALID index behind;
it is found in pg_index and dropped with DROP INDEX CONCURRENTLY, and the error says so.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthgen.errors import VerifyError
from synthgen.postgres.connect import Connection, connect, error_text, execute, fetch_all
from synthgen.schema import quote_ident
from synthgen.shipped import DEFAULT_INDEX_SCRIPT, DEFAULT_ROLLBACK_SCRIPT
from synthgen.verify.duplicates import catalog_indexes, findings, parse_index
from synthgen.verify.queries import split_statements

DEFAULT_APPLY = DEFAULT_INDEX_SCRIPT
DEFAULT_ROLLBACK = DEFAULT_ROLLBACK_SCRIPT
_INDEX_NAME = re.compile(
    r'\bINDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+(?:NOT\s+)?EXISTS\s+)?"?([A-Za-z_][\w$]*)"?', re.I
)
_PROGRESS = """
SELECT p.phase, p.blocks_done, p.blocks_total, p.tuples_done, p.tuples_total
FROM pg_stat_progress_create_index p WHERE p.pid = $1
"""

ProgressFn = Callable[[str, str, float | None], None]  # index, phase, fraction done


@dataclass
class IndexStep:
    sql: str
    comment: str
    index: str | None
    seconds: float = 0.0
    size_bytes: int | None = None
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)  # the existing indexes it duplicates


def read_script(path: Path) -> list[IndexStep]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise VerifyError(f"--file {path}: cannot read ({exc.strerror})") from None
    steps = []
    for comment, sql in split_statements(text):
        match = _INDEX_NAME.search(sql) if re.match(r"\s*(CREATE|DROP)\b", sql, re.I) else None
        steps.append(IndexStep(sql=sql, comment=comment, index=match[1] if match else None))
    if not steps:
        raise VerifyError(f"--file {path}: no statements")
    return steps


def _fraction(row: tuple[Any, ...]) -> float | None:
    _, blocks_done, blocks_total, tuples_done, tuples_total = row
    if blocks_total:
        return float(blocks_done) / float(blocks_total)
    if tuples_total:
        return float(tuples_done) / float(tuples_total)
    return None


def invalid_indexes(conn: Connection, schema: str) -> list[str]:
    rows = fetch_all(
        conn,
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND NOT i.indisvalid",
        (schema,),
    )
    return [r[0] for r in rows]


def _build(dsn: str, schema: str, step: IndexStep, progress: ProgressFn | None) -> None:
    """Run one DDL statement on its own connection, polling its progress from another."""
    worker = connect(dsn, autocommit=True)
    monitor = connect(dsn, autocommit=True)
    outcome: dict[str, BaseException] = {}
    try:
        execute(worker, f"SET search_path TO {quote_ident(schema)}")
        pid = fetch_all(worker, "SELECT pg_backend_pid()")[0][0]

        def run() -> None:
            try:
                execute(worker, step.sql)
            except BaseException as exc:  # re-raised in the calling thread
                outcome["error"] = exc

        thread = threading.Thread(target=run, daemon=True)
        start = time.perf_counter()
        thread.start()
        phase = None
        while thread.is_alive():
            rows = fetch_all(monitor, _PROGRESS, (pid,))
            if progress and rows and step.index:
                phase = str(rows[0][0])
                progress(step.index, phase, _fraction(rows[0]))
            thread.join(0.2)
        step.seconds = time.perf_counter() - start
        if progress and phase is not None and step.index and "error" not in outcome:
            progress(step.index, phase, 1.0)  # the last phase seen ended with the build
    finally:
        worker.close()
        monitor.close()
    if "error" in outcome:
        raise outcome["error"]


def duplicate_findings(conn: Connection, schema: str, steps: list[IndexStep]) -> list[str]:
    """Before anything is built: each new index of the script against its table's existing
    indexes (from the catalog) and the script's earlier ones; one line per related pair."""
    existing = catalog_indexes(conn, schema)
    out: list[str] = []
    for step in steps:
        shape = parse_index(step.sql) if step.index else None
        if shape is None:
            continue
        step.findings = [f.text for f in findings([shape], existing)]
        out += step.findings
        existing.append(shape)
    return out


def run_script(
    dsn: str,
    schema: str,
    path: Path,
    progress: ProgressFn | None = None,
    on_finding: Callable[[str], None] | None = None,
) -> list[IndexStep]:
    """Run every statement of an index script in order; returns each step's result. Before the
    first build, each duplicate of an existing index is passed to `on_finding`."""
    steps = read_script(path)
    conn = connect(dsn, autocommit=True)
    try:
        if not fetch_all(conn, "SELECT 1 FROM pg_namespace WHERE nspname = $1", (schema,)):
            raise VerifyError(f"--schema {schema}: no such schema in this database")
        execute(conn, f"SET search_path TO {quote_ident(schema)}")
        for line in duplicate_findings(conn, schema, steps):
            if on_finding:
                on_finding(line)
        for step in steps:
            if step.index is None:
                with conn.cursor() as cur:
                    cur.execute(step.sql)
                    step.rows = [tuple(r) for r in cur.fetchall()]
                    step.columns = [d[0] for d in cur.description or []]
                continue
            try:
                _build(dsn, schema, step, progress)
            except VerifyError:
                raise
            except Exception as exc:
                raise VerifyError(_failure(conn, schema, step, exc, dsn)) from None
            size = fetch_all(
                conn,
                "SELECT pg_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
                (schema, step.index),
            )
            step.size_bytes = int(size[0][0]) if size else None
        left = invalid_indexes(conn, schema)
        if left:
            raise VerifyError(f"indexes left INVALID in {schema}: {', '.join(left)}")
    finally:
        conn.close()
    return steps


def _failure(conn: Connection, schema: str, step: IndexStep, exc: Exception, dsn: str) -> str:
    """Explain a failed build and clean up the INVALID index it left, if any."""
    message = f"index {step.index} failed to build: {error_text(exc, dsn)}"
    if step.index in invalid_indexes(conn, schema):
        execute(
            conn,
            f"DROP INDEX CONCURRENTLY IF EXISTS {quote_ident(schema)}.{quote_ident(step.index)}",
        )
        message += (
            f"; the failed concurrent build left {step.index} INVALID, and it was dropped "
            "with DROP INDEX CONCURRENTLY (nothing else changed)"
        )
    return message
