"""Fixtures for the loader's tests: small datasets built once, a schema per test, SQL helpers."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

import pytest
from click.testing import CliRunner

from synthgen.cli import cli
from synthgen.generate.build import BuildOptions, build_dataset
from synthgen.spec import DEFAULT_SPEC_PATH, load_spec

Query = Callable[..., list[tuple[Any, ...]]]


@pytest.fixture(scope="session")
def dataset_one_shard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """100k messages in one shard: the loader streams it in several 65,536-row batches."""
    out = tmp_path_factory.mktemp("loader-a") / "ds"
    build_dataset(load_spec(), BuildOptions("dev", 0.02, "loader-a", out, workers=1))
    return out


@pytest.fixture(scope="session")
def dataset_sharded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """100k messages in 10 shards (30 message-side files): room to kill a load half way."""
    root = tmp_path_factory.mktemp("loader-b")
    raw = json.loads(DEFAULT_SPEC_PATH.read_text())
    raw["output"]["shard_messages"] = 10_000
    spec_path = root / "small-shards.json"
    spec_path.write_text(json.dumps(raw))
    out = root / "ds"
    options = BuildOptions("dev", 0.02, "loader-b", out, workers=1, spec_path=str(spec_path))
    build_dataset(load_spec(spec_path), options)
    return out


def _query_function(dsn: str) -> tuple[Query, Callable[[], None]]:
    import adbc_driver_postgresql.dbapi as pgdbapi

    conn = pgdbapi.connect(dsn, autocommit=True)

    def run(text: str, *params: Any) -> list[tuple[Any, ...]]:
        with conn.cursor() as cur:
            cur.execute(text, params or None)
            try:
                return list(cur.fetchall())
            except pgdbapi.Error:  # a statement without a result set
                return []

    return run, conn.close


@pytest.fixture(scope="session")
def sql(pg_dsn: str) -> Iterator[Query]:
    """Run SQL on the test server (autocommit) and return its rows."""
    run, close = _query_function(pg_dsn)
    yield run
    close()


@pytest.fixture(scope="session")
def sql_for() -> Iterator[Callable[[str], Query]]:
    """sql_for(dsn)(text, *params): run SQL on any server; connections closed at the end."""
    closers: list[Callable[[], None]] = []

    def make(dsn: str) -> Query:
        run, close = _query_function(dsn)
        closers.append(close)
        return run

    yield make
    for close in closers:
        with contextlib.suppress(Exception):
            close()


def with_database(dsn: str, database: str) -> str:
    """The same server's DSN (URI or key=value) for another database."""
    if re.match(r"\s*postgres(?:ql)?://", dsn, re.IGNORECASE):
        return urlunsplit(urlsplit(dsn.strip())._replace(path=f"/{database}"))
    others = re.sub(r"\bdbname\s*=\s*\S+", "", dsn)
    return f"{others} dbname={database}".strip()


@pytest.fixture(scope="module")
def database(
    sql: Query, pg_dsn: str, skip_or_fail: Callable[[str], NoReturn]
) -> Iterator[Callable[[str], str]]:
    """Create scratch databases (dropped at the end of the module); return their DSNs."""
    made: list[str] = []

    def create(name: str) -> str:
        sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        try:
            sql(f"CREATE DATABASE {name}")
        except Exception as exc:  # an external server without CREATEDB
            skip_or_fail(f"cannot create a scratch database: {exc}")
        made.append(name)
        return with_database(pg_dsn, name)

    yield create
    for name in made:
        sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def drop_schema_now(sql: Query, schema: str) -> None:
    from synthgen.schema import quote_ident

    with contextlib.suppress(Exception):
        sql(f"DROP SCHEMA IF EXISTS {quote_ident(schema)} CASCADE")


@pytest.fixture
def schema(request: pytest.FixtureRequest, sql: Query) -> Iterator[str]:
    """A schema name of this test's own, dropped before and after it."""
    name = "t_" + re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:48]
    drop_schema_now(sql, name)
    yield name
    drop_schema_now(sql, name)


Run = Callable[..., tuple[int, str, str]]


def _run_cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def run() -> Run:
    """Invoke the synthgen CLI in-process: (exit code, stdout, stderr)."""
    return _run_cli


@pytest.fixture
def load(pg_dsn: str) -> Run:
    """`synthgen load DATASET --dsn <test server> --schema SCHEMA --quiet EXTRA...`."""

    def invoke(dataset: Path, schema: str, *extra: str) -> tuple[int, str, str]:
        return _run_cli(
            "load", str(dataset), "--dsn", pg_dsn, "--schema", schema, "--quiet", *extra
        )

    return invoke


@pytest.fixture
def manifest() -> Callable[[Path], dict[str, Any]]:
    """A dataset's manifest.json, parsed."""
    return lambda dataset: dict(json.loads((dataset / "manifest.json").read_text()))
