"""One-shot SQL against a DSN: a query's rows, or statements run in autocommit."""

from __future__ import annotations

from typing import Any

from synthgen.postgres.connect import connect, execute, fetch_all


def query(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    conn = connect(dsn, autocommit=True)
    try:
        return fetch_all(conn, sql)
    finally:
        conn.close()


def run_sql(dsn: str, *statements: str) -> None:
    conn = connect(dsn, autocommit=True)
    try:
        for sql in statements:
            execute(conn, sql)
    finally:
        conn.close()
