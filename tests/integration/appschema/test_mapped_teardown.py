"""A mapped load is synthgen's own work: the production guard does not count the tables it wrote
as foreign rows, and `teardown` empties them (or drops the scratch schema) with their audit
schema — while a table synthgen did not load still trips the guard exactly as before."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from support.paths import EXAMPLE, SYNTHGEN
from support.pg import query, run_sql
from synthgen.appschema.migrate import run_migrations
from synthgen.errors import GuardError
from synthgen.postgres.guard import GuardSettings, check_dsn

pytestmark = pytest.mark.postgres
LIMIT = ["--max-foreign-rows", "1000"]  # far below the mapped load's Message rows


def _with_database(dsn: str, database: str) -> str:
    if re.match(r"\s*postgres(?:ql)?://", dsn, re.IGNORECASE):
        return urlunsplit(urlsplit(dsn.strip())._replace(path=f"/{database}"))
    others = re.sub(r"\bdbname\s*=\s*\S+", "", dsn)
    return f"{others} dbname={database}".strip()


@pytest.fixture()
def app_db(pg_dsn: str) -> Iterator[str]:
    """A database of its own (no other test's tables count here), the example migrated into
    `app`, and a table of the application's that no mapping names."""
    run_sql(pg_dsn, "DROP DATABASE IF EXISTS mapped_teardown WITH (FORCE)",
            "CREATE DATABASE mapped_teardown")  # fmt: skip
    dsn = _with_database(pg_dsn, "mapped_teardown")
    run_migrations(dsn, "app", str(EXAMPLE / "schema.sql"))
    run_sql(dsn, 'CREATE TABLE app."AuditLog" AS SELECT g AS id FROM generate_series(1, 500) g',
            'ANALYZE app."AuditLog"')  # fmt: skip
    yield dsn
    run_sql(pg_dsn, "DROP DATABASE IF EXISTS mapped_teardown WITH (FORCE)")


def synthgen(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SYNTHGEN), *args], capture_output=True, text=True, timeout=600, input=stdin
    )


def _count(dsn: str, table: str) -> int:
    return int(query(dsn, f"SELECT count(*) FROM {table}")[0][0])


def _schemas(dsn: str) -> set[str]:
    rows = query(dsn, "SELECT nspname FROM pg_namespace WHERE nspname IN ('app', 'synthgen_app')")
    return {str(r[0]) for r in rows}


def _load(dataset: Path, dsn: str) -> None:
    mapping = str(EXAMPLE / "mapping.json")
    done = synthgen("load", str(dataset), "--dsn", dsn, "--mapping", mapping, "--jobs", "2",
                    "--quiet", *LIMIT)  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_the_guard_knows_a_mapped_load_and_still_refuses_what_it_did_not_load(
    app_dataset: Path, app_db: str
) -> None:
    _load(app_dataset, app_db)
    messages = _count(app_db, 'app."Message"')
    assert messages > 100_000  # above the default threshold too
    # Another write on the same database is not blocked by the mapped load's rows...
    settings = GuardSettings(max_foreign_rows=1000)
    check_dsn(settings, app_db, "perf_other")
    gone = synthgen("teardown", "--dsn", app_db, "--schema", "perf_other", "--yes", *LIMIT)
    assert gone.returncode == 0, gone.stderr
    assert "does not exist; nothing to drop" in gone.stdout
    # ...but a big table synthgen did not load still is, in the mapped schema or elsewhere.
    run_sql(app_db, 'INSERT INTO app."AuditLog" SELECT g FROM generate_series(501, 5000) g',
            'ANALYZE app."AuditLog"')  # fmt: skip
    with pytest.raises(GuardError, match=r"foreign-rows\): table app\.AuditLog outside"):
        check_dsn(settings, app_db, "perf_other")
    # An audit schema that records a load into another schema than its name says proves nothing.
    run_sql(app_db, 'DELETE FROM app."AuditLog" WHERE id > 500', 'VACUUM ANALYZE app."AuditLog"',
            "CREATE SCHEMA legacy",
            "CREATE TABLE legacy.events AS SELECT g AS id FROM generate_series(1, 5000) g",
            "ANALYZE legacy.events", "CREATE SCHEMA synthgen_other",
            "CREATE TABLE synthgen_other.synthgen_loads (load_id int, options jsonb, rows jsonb, "
            "status text)",
            "CREATE TABLE synthgen_other.synthgen_saved_objects (table_schema text, "
            "table_name text)",
            """INSERT INTO synthgen_other.synthgen_loads VALUES (1, '{"schema": "legacy", """
            """"tables": ["events"]}', '{}', 'complete')""")  # fmt: skip
    refused = synthgen("teardown", "--dsn", app_db, "--schema", "perf_other", "--yes", *LIMIT)
    assert refused.returncode == 1
    assert refused.stderr.strip().endswith(
        "production guard (foreign-rows): table legacy.events outside schema 'perf_other' holds "
        "more than 1,000 rows; refusing to touch this database (pass "
        "--i-know-this-is-not-production if it is not production)"
    )
    assert _count(app_db, 'app."Message"') == messages


def test_teardown_empties_a_mapped_load_or_drops_its_scratch_schema(
    app_dataset: Path, app_db: str
) -> None:
    _load(app_dataset, app_db)
    keys = query(app_db, "SELECT count(*) FROM pg_constraint c JOIN pg_namespace n "
                 "ON n.oid = c.connamespace WHERE n.nspname = 'app'")[0][0]  # fmt: skip
    # The audit schema alone is not torn down: the tables it records would stay behind.
    audit = synthgen("teardown", "--dsn", app_db, "--schema", "synthgen_app", "--yes", *LIMIT)
    assert audit.returncode == 1
    assert "schema 'synthgen_app' is the audit trail of the mapped load into 'app'" in audit.stderr
    assert "synthgen teardown --schema app" in audit.stderr
    # It shows what it would remove and asks; "n" removes nothing.
    asked = synthgen("teardown", "--dsn", app_db, "--schema", "app", *LIMIT, stdin="n\n")
    assert asked.returncode == 0, asked.stderr
    assert " Message " in asked.stdout and "AuditLog" not in asked.stdout
    assert "audit trail in schema synthgen_app" in asked.stdout
    assert "empty the 7 tables synthgen loaded in app and drop its audit schema synthgen_app?" in (
        asked.stdout
    )
    assert "nothing dropped" in asked.stdout and _count(app_db, 'app."Message"') > 0
    emptied = synthgen("teardown", "--dsn", app_db, "--schema", "app", "--yes", *LIMIT)
    assert emptied.returncode == 0, emptied.stderr
    assert "emptied the 7 tables synthgen loaded in app and dropped its audit schema" in (
        emptied.stdout
    )
    for table in ("User", "Conversation", "Message", "MessageRead", "MessageDelivery"):
        assert _count(app_db, f'app."{table}"') == 0
    assert _count(app_db, 'app."AuditLog"') == 500  # not synthgen's: untouched
    assert _schemas(app_db) == {"app"}
    # the schema stays as its migrations made it: every key and index is there, ready to reload
    assert query(app_db, "SELECT count(*) FROM pg_constraint c JOIN pg_namespace n "
                 "ON n.oid = c.connamespace WHERE n.nspname = 'app'")[0][0] == keys  # fmt: skip
    _load(app_dataset, app_db)
    # A load that did not complete left the keys dropped: emptying would keep it that way.
    run_sql(app_db, "UPDATE synthgen_app.synthgen_loads SET status = 'failed'")
    half = synthgen("teardown", "--dsn", app_db, "--schema", "app", "--yes", *LIMIT)
    assert half.returncode == 1
    assert "its last mapped load is failed" in half.stderr and "--drop-app-schema" in half.stderr
    dropped = synthgen("teardown", "--dsn", app_db, "--schema", "app", "--drop-app-schema",
                       "--yes", *LIMIT)  # fmt: skip
    assert dropped.returncode == 0, dropped.stderr
    assert "dropped schema app and its audit schema synthgen_app" in dropped.stdout
    assert _schemas(app_db) == set()
    # A schema no mapped load wrote is refused by --drop-app-schema, and nothing is dropped.
    run_sql(app_db, "CREATE SCHEMA bystander")
    other = synthgen("teardown", "--dsn", app_db, "--schema", "bystander", "--drop-app-schema",
                     "--yes")  # fmt: skip
    assert other.returncode == 1
    assert "--drop-app-schema: no mapped load into schema 'bystander' is recorded" in other.stderr
    assert query(app_db, "SELECT count(*) FROM pg_namespace WHERE nspname = 'bystander'") == [(1,)]


def test_postgres_migrate_applies_a_file_and_refuses_bad_input(
    app_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema_sql = str(EXAMPLE / "schema.sql")
    # `app` already holds the migrated tables: refused, nothing touched
    again = synthgen("postgres", "migrate", schema_sql, "--schema", "app", "--dsn", app_db)
    assert again.returncode == 1
    assert again.stderr.strip() == (
        "error: --schema app: already holds tables; pass --replace to drop the schema and "
        "migrate it afresh, or choose another --schema"
    )
    done = synthgen("postgres", "migrate", schema_sql, "--schema", "app2", "--dsn", app_db)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"migrated schema app2 with {schema_sql}: 7 tables"
    assert _count(app_db, 'app2."Message"') == 0
    replaced = synthgen("postgres", "migrate", schema_sql, "--schema", "app2", "--replace",
                        "--dsn", app_db)  # fmt: skip
    assert replaced.returncode == 0, replaced.stderr
    missing = synthgen("postgres", "migrate", "nope/schema.sql", "--schema", "app3", "--dsn",
                       app_db)  # fmt: skip
    assert missing.returncode == 1
    assert missing.stderr.strip() == "error: migrations file nope/schema.sql: no such file"
    broken = tmp_path / "broken.sql"
    broken.write_text("CREATE TABLE ok (id int);\nCREATE TABLE bad (id no_such_type);\n")
    failed = synthgen("postgres", "migrate", str(broken), "--schema", "app4", "--dsn", app_db)
    assert failed.returncode == 1
    assert f'{broken}:2: ERROR: type "no_such_type" does not exist' in failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1
    assert query(app_db, "SELECT count(*) FROM pg_namespace WHERE nspname = 'app4'") == [(0,)]
    monkeypatch.setenv("NODE_ENV", "production")
    guarded = synthgen("postgres", "migrate", schema_sql, "--schema", "app5", "--dsn", app_db)
    assert guarded.returncode == 1
    assert "production guard (environment): NODE_ENV=production" in guarded.stderr
    schemas = query(app_db, "SELECT count(*) FROM pg_namespace WHERE nspname = 'app5'")
    assert schemas == [(0,)]
