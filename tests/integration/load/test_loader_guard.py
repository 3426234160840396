"""The production guard against a real server: each rule fires, names itself, and can be waived."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from synthgen.errors import GuardError
from synthgen.postgres.connect import connect
from synthgen.postgres.guard import GuardSettings, check_foreign_rows

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def guard_db(database: Callable[[str], str], sql_for: Callable[[str], Any]) -> Iterator[str]:
    """A database of its own, so no other test's tables count as foreign rows here."""
    yield database("loader_guard_rows")


@pytest.mark.parametrize("variable", ["SYNTHGEN_ENV", "NODE_ENV"])
def test_environment_rule(
    variable: str, monkeypatch: pytest.MonkeyPatch, load: Any, dataset_one_shard: Path, schema: str
) -> None:
    monkeypatch.setenv(variable, "production")
    code, _, err = load(dataset_one_shard, schema)
    assert code == 1
    assert f"production guard (environment): {variable}=production" in err
    assert "--i-know-this-is-not-production" in err


def test_deny_pattern_rule_on_database_name_and_host(
    database: Callable[[str], str],
    run: Any,
    dataset_one_shard: Path,
    schema: str,
    pg_dsn: str,
) -> None:
    prod_dsn = database("synthgen_prod_copy")
    args = ["load", str(dataset_one_shard), "--schema", schema, "--quiet"]
    code, _, err = run(*args, "--dsn", prod_dsn)
    assert code == 1
    assert "production guard (deny-pattern): database name 'synthgen_prod_copy'" in err
    # The host name in the DSN counts too (hostaddr makes libpq connect to 127.0.0.1 anyway).
    parts = urlsplit(pg_dsn)
    if parts.scheme.startswith("postgres"):
        named = f"postgresql://{parts.username}@prod-db.invalid:{parts.port}{parts.path}"
        named += "?hostaddr=127.0.0.1"
    else:  # key=value: the last host / hostaddr wins
        named = f"{pg_dsn} host=prod-db.invalid hostaddr=127.0.0.1"
    code, _, err = run(*args, "--dsn", named)
    assert code == 1
    assert "production guard (deny-pattern): host 'prod-db.invalid' matches 'prod'" in err


def test_foreign_rows_rule_counts_tables_outside_the_schema(
    guard_db: str, sql_for: Callable[[str], Any], run: Any, dataset_one_shard: Path
) -> None:
    sql = sql_for(guard_db)
    sql("CREATE TABLE public.app_events AS SELECT g AS id FROM generate_series(1, 1001) g")
    args = ["load", str(dataset_one_shard), "--dsn", guard_db, "--schema", "perf_x", "--quiet"]
    code, _, err = run(*args, "--max-foreign-rows", "1000")
    assert code == 1
    assert "production guard (foreign-rows): table public.app_events" in err
    assert "more than 1,000 rows" in err
    assert sql("SELECT count(*) FROM pg_namespace WHERE nspname = 'perf_x'") == [(0,)]
    settings = GuardSettings(max_foreign_rows=1001)
    with connect(guard_db, autocommit=True) as conn:
        check_foreign_rows(settings, conn, "perf_x")  # never analysed: counted, at the limit
        sql("ANALYZE public.app_events")
        check_foreign_rows(settings, conn, "perf_x")  # estimated from the statistics
        with pytest.raises(GuardError, match="foreign-rows"):
            check_foreign_rows(GuardSettings(max_foreign_rows=1000), conn, "perf_x")
        # A schema synthgen loaded is not production data, however big.
        sql("CREATE SCHEMA other_load")
        sql("CREATE TABLE other_load.synthgen_loads (load_id bigint)")
        sql("CREATE TABLE other_load.messages AS SELECT g AS id FROM generate_series(1, 5000) g")
        check_foreign_rows(settings, conn, "perf_x")
        # The target schema's own rows never count...
        sql("CREATE SCHEMA perf_y")
        sql("CREATE TABLE perf_y.big AS SELECT g AS id FROM generate_series(1, 2000) g")
        check_foreign_rows(settings, conn, "perf_y")
        with pytest.raises(GuardError, match=r"perf_y\.big"):
            check_foreign_rows(settings, conn, "perf_x")
        # ...but with --allow-public, the application's tables in public still do.
        with pytest.raises(GuardError, match=r"public\.app_events"):
            check_foreign_rows(GuardSettings(max_foreign_rows=10), conn, "public")
        sql("DROP SCHEMA perf_y CASCADE")


def test_override_loads_despite_every_rule(
    monkeypatch: pytest.MonkeyPatch,
    guard_db: str,
    sql_for: Callable[[str], Any],
    run: Any,
    dataset_one_shard: Path,
) -> None:
    sql = sql_for(guard_db)
    sql("CREATE TABLE IF NOT EXISTS public.big AS SELECT g AS id FROM generate_series(1, 2000) g")
    monkeypatch.setenv("NODE_ENV", "production")
    args = ["load", str(dataset_one_shard), "--dsn", guard_db, "--schema", "perf_ok", "--quiet"]
    code, _, err = run(*args, "--max-foreign-rows", "10", "--jobs", "1")
    assert code == 1 and "(environment)" in err
    code, _, err = run(*args, "--max-foreign-rows", "10", "--i-know-this-is-not-production")
    assert code == 0, err
    assert sql("SELECT count(*) FROM perf_ok.messages") == [(100_000,)]
    assert sql("SELECT count(*) FROM public.big") == [(2000,)]


def test_public_needs_the_flag_and_teardown_drops_only_synthgen_tables_there(
    database: Callable[[str], str],
    sql_for: Callable[[str], Any],
    run: Any,
    dataset_one_shard: Path,
) -> None:
    dsn = database("loader_public")
    sql = sql_for(dsn)
    sql("CREATE TABLE public.app_settings AS SELECT g AS id FROM generate_series(1, 5) g")
    args = ["load", str(dataset_one_shard), "--dsn", dsn, "--schema", "public", "--quiet"]
    code, _, err = run(*args)
    assert code == 1 and "--allow-public" in err
    code, _, err = run(*args, "--allow-public", "--jobs", "1")
    assert code == 0, err
    assert sql("SELECT count(*) FROM public.messages") == [(100_000,)]
    teardown = ["teardown", "--dsn", dsn, "--schema", "public", "--allow-public", "--yes"]
    code, out, err = run(*teardown)
    assert code == 0, err
    assert "public itself stays" in out
    tables = sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    assert tables == [("app_settings",)]
