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
from synthgen.postgres.connect import connect, execute
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
        last = (result.stderr.strip() or result.stdout.strip() or "no output").splitlines()[-1]
        raise LoadError(f"--migrations {migrations}: failed (exit {result.returncode}): {last}")
    return (result.stdout.strip().splitlines() or [""])[-1]
