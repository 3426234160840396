"""The production guard: refuse to touch a database that looks like production.

Three rules, each named in the refusal: ``environment`` (``SYNTHGEN_ENV`` or ``NODE_ENV`` is
``production``), ``deny-pattern`` (the database name or a DSN host matches a regular expression,
default ``prod``) and ``foreign-rows`` (a table outside the target schema holds more than a
threshold of rows; synthgen's own schemas and a mapped load's tables do not count).
``--i-know-this-is-not-production`` turns every rule off.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from synthgen.errors import GuardError
from synthgen.postgres.connect import Connection, connect, fetch_all, fetch_value
from synthgen.postgres.dsn import dsn_hosts
from synthgen.postgres.mapped import AUDIT_TABLE, mapped_tables
from synthgen.schema import TABLES, quote_ident

OVERRIDE_FLAG = "--i-know-this-is-not-production"
DEFAULT_DENY_PATTERN = "prod"
DEFAULT_MAX_FOREIGN_ROWS = 100_000
PRODUCTION_ENV_VARS = ("SYNTHGEN_ENV", "NODE_ENV")


@dataclass(frozen=True)
class GuardSettings:
    """How strict the guard is; `override` disables it."""

    deny_pattern: str = DEFAULT_DENY_PATTERN
    max_foreign_rows: int = DEFAULT_MAX_FOREIGN_ROWS
    override: bool = False


def _refuse(rule: str, why: str) -> GuardError:
    return GuardError(
        f"production guard ({rule}): {why}; refusing to touch this database "
        f"(pass {OVERRIDE_FLAG} if it is not production)"
    )


def check_environment(settings: GuardSettings, environ: Mapping[str, str] | None = None) -> None:
    """Rule `environment`: refuse when the environment says production."""
    if settings.override:
        return
    env = os.environ if environ is None else environ
    for name in PRODUCTION_ENV_VARS:
        if env.get(name, "").strip().lower() == "production":
            raise _refuse("environment", f"{name}=production")


def check_names(settings: GuardSettings, database: str, dsn: str) -> None:
    """Rule `deny-pattern`: refuse when the database name or a DSN host matches the pattern."""
    if settings.override or not settings.deny_pattern:
        return
    try:
        pattern = re.compile(settings.deny_pattern, re.IGNORECASE)
    except re.error as exc:
        raise GuardError(f"--deny-pattern {settings.deny_pattern!r}: invalid ({exc})") from None
    if pattern.search(database):
        raise _refuse(
            "deny-pattern", f"database name {database!r} matches {settings.deny_pattern!r}"
        )
    for host in dsn_hosts(dsn):
        if pattern.search(host):
            raise _refuse("deny-pattern", f"host {host!r} matches {settings.deny_pattern!r}")


# Row counts of tables outside the target schema and outside synthgen's own schemas (in
# `public`, only synthgen's own table names are inside). reltuples is -1 for a table never
# vacuumed or analysed; those are counted, but never past the threshold (a LIMIT keeps that
# cheap on a big table). The table names are constants, not input.
_OURS = ", ".join(f"'{name}'" for name in (*TABLES, AUDIT_TABLE, "synthgen_shards"))
_FOREIGN_TABLES_SQL = f"""
SELECT n.nspname, c.relname, c.reltuples::bigint,
       has_table_privilege(c.oid, 'SELECT'), c.relpages
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm')
  AND (n.nspname <> $1 OR ($1 = 'public' AND c.relname NOT IN ({_OURS})))
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_%'
  AND (n.nspname = 'public' OR NOT EXISTS (
    SELECT 1 FROM pg_class a
    WHERE a.relnamespace = n.oid AND a.relname = $2 AND a.relkind IN ('r', 'p')
  ))
ORDER BY c.reltuples DESC
"""


def _bounded_count(conn: Connection, schema: str, table: str, limit: int) -> int:
    target = f"{quote_ident(schema)}.{quote_ident(table)}"
    return int(fetch_value(conn, f"SELECT count(*) FROM (SELECT 1 FROM {target} LIMIT {limit}) s"))


def check_foreign_rows(settings: GuardSettings, conn: Connection, schema: str) -> None:
    """Rule `foreign-rows`: refuse when a table outside `schema` holds > threshold rows."""
    if settings.override:
        return
    limit = settings.max_foreign_rows
    ours = mapped_tables(conn)
    for nsp, rel, estimate, readable, pages in fetch_all(
        conn, _FOREIGN_TABLES_SQL, (schema, AUDIT_TABLE)
    ):
        if (nsp, rel) in ours:  # an application table synthgen loaded through a mapping
            continue
        if estimate >= 0:
            rows = int(estimate)
        elif readable:
            rows = _bounded_count(conn, nsp, rel, limit + 1)
        else:
            rows = limit + 1 if pages > 0 else 0  # unreadable and not empty: assume the worst
        if rows > limit:
            raise _refuse(
                "foreign-rows",
                f"table {nsp}.{rel} outside schema {schema!r} holds more than {limit:,} rows",
            )


def check_database(settings: GuardSettings, conn: Connection, dsn: str, schema: str) -> None:
    """Run every guard rule against a live connection (the environment rule included)."""
    check_environment(settings)
    database = str(fetch_value(conn, "SELECT current_database()"))
    check_names(settings, database, dsn)
    check_foreign_rows(settings, conn, schema)


def check_dsn(settings: GuardSettings, dsn: str, schema: str) -> None:
    """Run every guard rule against the database `dsn` names (own short-lived connection)."""
    check_environment(settings)  # before connecting at all
    if settings.override:
        return
    conn = connect(dsn, autocommit=True)
    try:
        check_database(settings, conn, dsn, schema)
    finally:
        conn.close()
