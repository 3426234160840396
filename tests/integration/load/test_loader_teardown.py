"""`synthgen teardown`: shows what it drops, drops its schema and nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from synthgen.cli import cli

pytestmark = pytest.mark.postgres


def _exists(sql: Any, schema: str) -> bool:
    return bool(sql("SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema)[0][0])


@pytest.fixture
def bystanders(sql: Any) -> Any:
    """A schema and a public table that are not synthgen's."""
    sql("DROP SCHEMA IF EXISTS t_bystander CASCADE")
    sql("CREATE SCHEMA t_bystander")
    sql("CREATE TABLE t_bystander.accounts AS SELECT g AS id FROM generate_series(1, 10) g")
    sql("CREATE TABLE IF NOT EXISTS public.t_bystander_rows (id int)")
    sql("INSERT INTO public.t_bystander_rows VALUES (1), (2)")
    yield
    sql("DROP SCHEMA IF EXISTS t_bystander CASCADE")
    sql("DROP TABLE IF EXISTS public.t_bystander_rows")


def test_teardown_shows_then_drops_only_its_schema(
    bystanders: Any,
    load: Any,
    run: Any,
    dataset_one_shard: Path,
    schema: str,
    sql: Any,
    pg_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dsn_args = ["--dsn", pg_dsn]
    assert load(dataset_one_shard, schema, "--jobs", "1")[0] == 0
    # Without --yes it asks; answering no drops nothing.
    result = CliRunner().invoke(cli, ["teardown", *dsn_args, "--schema", schema], input="n\n")
    assert result.exit_code == 0
    assert "nothing dropped" in result.stdout
    assert f"schema {schema} holds" in result.stdout
    for table in ("messages", "read_receipts", "synthgen_loads", "synthgen_shards"):
        assert f" {table} " in result.stdout
    assert "~100,000" in result.stdout  # estimated rows of messages
    assert _exists(sql, schema)

    code, out, err = run("teardown", *dsn_args, "--schema", schema, "--yes")
    assert code == 0, err
    assert f"dropped schema {schema}" in out
    assert not _exists(sql, schema)
    assert sql("SELECT count(*) FROM t_bystander.accounts") == [(10,)]
    assert sql("SELECT count(*) FROM public.t_bystander_rows") == [(2,)]
    monkeypatch.setenv("SYNTHGEN_DSN", pg_dsn)  # no --dsn: $SYNTHGEN_DSN is used
    code, out, _ = run("teardown", "--schema", schema, "--yes")
    assert code == 0 and "does not exist; nothing to drop" in out


def test_teardown_refuses_schemas_it_did_not_create(
    bystanders: Any, run: Any, pg_dsn: str, sql: Any
) -> None:
    code, _, err = run("teardown", "--dsn", pg_dsn, "--schema", "t_bystander", "--yes")
    assert code == 1
    assert "was not created by synthgen" in err
    assert sql("SELECT count(*) FROM t_bystander.accounts") == [(10,)]


def test_teardown_refuses_when_objects_elsewhere_depend_on_the_schema(
    bystanders: Any, run: Any, pg_dsn: str, schema: str, sql: Any
) -> None:
    # A synthgen-shaped schema, and a view plus a foreign key outside it that point into it.
    sql(f"CREATE SCHEMA {schema}")
    sql(f"CREATE TABLE {schema}.synthgen_loads (load_id bigint DEFAULT 1)")
    sql(f"CREATE TABLE {schema}.users (id bigint PRIMARY KEY)")
    sql(f"CREATE VIEW t_bystander.user_ids AS SELECT id FROM {schema}.users")
    sql(f"CREATE TABLE t_bystander.orders (user_id bigint REFERENCES {schema}.users (id))")
    args = ["teardown", "--dsn", pg_dsn, "--schema", schema, "--yes"]
    code, _, err = run(*args)
    assert code == 1
    assert "objects outside it depend on it" in err
    assert "view t_bystander.user_ids" in err
    assert "constraint orders_user_id_fkey on table t_bystander.orders" in err
    assert _exists(sql, schema)
    sql("DROP VIEW t_bystander.user_ids")
    sql("DROP TABLE t_bystander.orders")
    code, _, err = run(*args)
    assert code == 0, err
    assert not _exists(sql, schema)
    assert sql("SELECT count(*) FROM t_bystander.accounts") == [(10,)]
