"""Reaching a PostgreSQL server: which DSN, safe schema names, connections, one-line errors.

Every message that shows a DSN masks its password (``mask_dsn``); libpq's own error text is
scrubbed of the password too, in case a server or driver ever echoes it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from adbc_driver_manager.dbapi import Connection
from adbc_driver_manager.dbapi import Error as DatabaseError
from adbc_driver_postgresql import dbapi

from synthgen.errors import LoadError
from synthgen.postgres.dsn import dsn_password, mask_dsn

DSN_ENV = "SYNTHGEN_DSN"
DEFAULT_SCHEMA = "perf_synthetic"
# A plain, unquoted PostgreSQL identifier: anything else is refused, never quoted into SQL.
_PLAIN_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_RESERVED_SCHEMAS = ("information_schema",)

__all__ = ["Connection", "DatabaseError"]


def validate_schema_name(name: str, allow_public: bool = False) -> str:
    """Return `name` if it is a plain lowercase identifier we may load into; else LoadError.

    Names needing quotes (``x"; DROP TABLE y; --``) are refused outright, so they can never reach
    SQL text. ``public`` needs an explicit flag; ``pg_*`` and information_schema are the
    server's own.
    """
    if not _PLAIN_IDENTIFIER.fullmatch(name):
        raise LoadError(
            f"--schema {name!r}: not a plain identifier (lowercase letters, digits and _, "
            "not starting with a digit, at most 63 characters)"
        )
    if name.startswith("pg_") or name in _RESERVED_SCHEMAS:
        raise LoadError(f"--schema {name!r}: reserved for PostgreSQL's own catalogs")
    if name == "public" and not allow_public:
        raise LoadError("--schema public: refused; pass --allow-public to use the public schema")
    return name


def resolve_dsn(dsn: str | None) -> str:
    """The DSN to use: --dsn, else $SYNTHGEN_DSN, else the local cluster (started on demand)."""
    if dsn:
        return dsn
    from_env = os.environ.get(DSN_ENV, "").strip()
    if from_env:
        return from_env
    from synthgen.postgres.cluster import ensure_cluster

    return ensure_cluster().dsn


def error_text(exc: BaseException, dsn: str | None = None) -> str:
    """One line from a driver error: the server's message and SQLSTATE, password masked."""
    primary = None
    for key, value in getattr(exc, "details", None) or []:
        if key in (b"PG_DIAG_MESSAGE_PRIMARY", "PG_DIAG_MESSAGE_PRIMARY"):
            primary = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    text = primary or str(exc)
    text = re.sub(r"^[A-Z_]+: \[libpq\] ", "", text)
    text = text.split("\n\nQuery was:")[0]
    text = " ".join(text.replace("\t", " ").split())
    sqlstate = getattr(exc, "sqlstate", None)
    if primary and sqlstate:
        text += f" (SQLSTATE {sqlstate})"
    secret = dsn_password(dsn) if dsn else None
    if secret:
        text = text.replace(secret, "***")
    return text


def connect(dsn: str, autocommit: bool = False) -> Connection:
    """Open an ADBC connection; failures become a LoadError naming the masked DSN."""
    try:
        conn: Connection = dbapi.connect(dsn, autocommit=autocommit)
    except DatabaseError as exc:
        raise LoadError(f"cannot connect to {mask_dsn(dsn)}: {error_text(exc, dsn)}") from None
    return conn


@contextmanager
def autocommit(conn: Connection) -> Iterator[Connection]:
    """A transactional connection switched to autocommit for statements that cannot run in a
    transaction block (VACUUM), and back; its open transaction, if any, is rolled back first.
    Cheaper than a connection of its own (the driver reads the type catalog on connect)."""
    conn.rollback()
    conn.adbc_connection.set_autocommit(True)
    try:
        yield conn
    finally:
        conn.adbc_connection.set_autocommit(False)


def fetch_all(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Run a query (``$1`` placeholders) and return all its rows."""
    with conn.cursor() as cur:
        cur.execute(sql, tuple(params) if params else None)
        return list(cur.fetchall())


def fetch_value(conn: Connection, sql: str, params: Sequence[Any] = ()) -> Any:
    """The first column of the first row of a query, or None when it returns no rows."""
    rows = fetch_all(conn, sql, params)
    return rows[0][0] if rows else None


def execute(conn: Connection, sql: str, params: Sequence[Any] = ()) -> None:
    """Run one statement that returns no rows."""
    with conn.cursor() as cur:
        cur.execute(sql, tuple(params) if params else None)
