"""Run the application's migrations into a scratch schema: an SQL file (through psql, so any
statement a migration holds runs as it would in production) or the app's own migration command
(`npx prisma migrate deploy`, `python manage.py migrate`, `bin/rails db:migrate`…) with the
database URL pointing at that schema."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

from synthgen.errors import LoadError
from synthgen.postgres.connect import connect, execute, fetch_all, validate_schema_name
from synthgen.postgres.mapped import audit_schema_for
from synthgen.schema import quote_ident

MIGRATION_TIMEOUT_S = 1800


def _psql() -> str:
    try:
        from synthgen.postgres.cluster import find_server_binaries

        candidate = Path(find_server_binaries().tool("psql"))
        if candidate.is_file():
            return str(candidate)
    except Exception:  # no server binaries: a client on PATH will do
        pass
    found = shutil.which("psql")
    if not found:
        raise LoadError("--migrations: psql is needed to run an SQL file and none was found")
    return found


def schema_url(dsn: str, schema: str) -> str:
    """The DSN with search_path set to `schema` (as a URI option, which ORMs pass through)."""
    option = quote(f"-c search_path={schema}", safe="")
    return f"{dsn}{'&' if '?' in dsn else '?'}options={option}"


def _first_error(output: str) -> str:
    """psql's ERROR line (it names the file and line), else the last line printed."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in lines:
        if "ERROR:" in line:
            return " ".join(line.split())
    return lines[-1] if lines else "no output"


def run_migrations(dsn: str, schema: str, migrations: str) -> str:
    """Create `schema` if needed and run `migrations` into it; returns what it printed last."""
    conn = connect(dsn, autocommit=True)
    try:
        execute(conn, f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")
    finally:
        conn.close()
    env = dict(os.environ, PGOPTIONS=f"-c search_path={schema}")
    env["DATABASE_URL"] = schema_url(dsn, schema)
    path = Path(migrations)
    if path.is_file() and path.suffix == ".sql":
        args = [_psql(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f", str(path)]
        result = subprocess.run(
            args, capture_output=True, text=True, env=env, timeout=MIGRATION_TIMEOUT_S
        )
    else:
        result = subprocess.run(
            migrations, shell=True, capture_output=True, text=True, env=env,
            timeout=MIGRATION_TIMEOUT_S,
        )  # fmt: skip
    if result.returncode != 0:
        raise LoadError(
            f"migrations {migrations}: failed (exit {result.returncode}): "
            f"{_first_error(result.stderr or result.stdout)}"
        )
    return (result.stdout.strip().splitlines() or [""])[-1]


def migrate_schema(dsn: str, schema: str, migrations: str, replace: bool = False) -> list[str]:
    """`synthgen postgres migrate`: run `migrations` into `schema` (dropped first with `replace`,
    with a mapped load's audit schema); returns the schema's tables afterwards.

    The caller has cleared `dsn` with the production guard."""
    validate_schema_name(schema)
    path = Path(migrations)
    if migrations.endswith(".sql") and not path.is_file():
        raise LoadError(f"migrations file {migrations}: no such file")
    conn = connect(dsn, autocommit=True)
    try:
        if replace:
            for name in (schema, audit_schema_for(schema)):
                execute(conn, f"DROP SCHEMA IF EXISTS {quote_ident(name)} CASCADE")
        elif fetch_all(conn, _TABLES_SQL, (schema,)):
            raise LoadError(
                f"--schema {schema}: already holds tables; pass --replace to drop the schema and "
                "migrate it afresh, or choose another --schema"
            )
        try:
            run_migrations(dsn, schema, migrations)
        except LoadError:  # the schema was absent or empty: leave nothing half-migrated
            execute(conn, f"DROP SCHEMA IF EXISTS {quote_ident(schema)} CASCADE")
            raise
        return [str(row[0]) for row in fetch_all(conn, _TABLES_SQL, (schema,))]
    finally:
        conn.close()


_TABLES_SQL = (
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY c.relname"
)
