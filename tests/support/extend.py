"""The extension tests' churn settings and the installed command as a process."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import duckdb

from support.paths import SYNTHGEN
from synthgen.postgres.connect import connect, fetch_value

CHURN = {
    "edit_rate": 0.05,
    "edit_delay_seconds": 600,
    "soft_delete_rate": 0.02,
    "hard_delete_rate": 0.01,
    "leave_rate": 0.02,
}


def synthgen(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed console script as a process; never raises on a non-zero exit."""
    assert SYNTHGEN.is_file(), f"{SYNTHGEN}: the console script is not installed"
    return subprocess.run([str(SYNTHGEN), *args], capture_output=True, text=True, timeout=300)


def ok(*args: str) -> subprocess.CompletedProcess[str]:
    result = synthgen(*args)
    assert result.returncode == 0, result.stderr
    return result


def value(dsn: str, sql: str) -> Any:
    conn = connect(dsn, autocommit=True)
    try:
        return fetch_value(conn, sql)
    finally:
        conn.close()


def expected_counts(*roots: Path) -> dict[str, int]:
    """Rows each table holds once the chain is applied, from the files (DuckDB, not the loader):
    every inserted row less the hard-deleted messages and their attachments and receipts."""
    con = duckdb.connect()

    def files(table: str) -> str:
        found = [str(p) for r in roots for p in sorted((r / table).glob("*.parquet"))]
        return "[" + ", ".join(f"'{f}'" for f in found) + "]"

    deleted = f"""(SELECT "messageId" FROM read_parquet({files("changes")})
                  WHERE op = 'hard_delete')"""
    counts = {}
    for table in ("users", "conversations", "conversation_users", "conversation_traits"):
        counts[table] = con.execute(
            f"SELECT count(*) FROM read_parquet({files(table)})"
        ).fetchone()[0]
    for table, key in (
        ("messages", "id"),
        ("attachments", '"messageId"'),
        ("read_receipts", '"messageId"'),
    ):
        counts[table] = con.execute(
            f"SELECT count(*) FROM read_parquet({files(table)}) WHERE {key} NOT IN {deleted}"
        ).fetchone()[0]
    return counts


def table_counts(dsn: str, schema: str) -> dict[str, int]:
    tables = (
        "users",
        "conversations",
        "conversation_users",
        "conversation_traits",
        "messages",
        "attachments",
        "read_receipts",
    )
    return {t: int(value(dsn, f'SELECT count(*) FROM {schema}."{t}"')) for t in tables}


def load_base(dsn: str, schema: str, base: Path) -> None:
    result = synthgen("load", str(base), "--dsn", dsn, "--schema", schema, "--quiet", "--jobs", "1")
    assert result.returncode == 0, result.stderr
