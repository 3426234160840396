"""A full load against the real server: exact counts, DuckDB == PostgreSQL checksums, audit."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from synthgen import __version__
from synthgen.schema import PHASE1_INDEXES, TABLES, TIMESTAMP, Table

pytestmark = pytest.mark.postgres

LOADED = "t_roundtrip_loaded"


def checksum_sql(table: Table, source: str, dialect: str) -> str:
    """Aggregates that pin every column's values: sums, lengths, distincts, time extremes."""
    parts = ["count(*)"]
    for column in table.columns:
        q = f'"{column.name}"'
        if column.type == pa.int64():
            parts += [f"sum({q})", f"count(DISTINCT {q})"]
        elif column.type == pa.string():
            parts += [f"count({q})", f"sum(length({q}))", f"count(DISTINCT {q})"]
        elif column.type == TIMESTAMP:
            micros = (
                f"epoch_us({q})"
                if dialect == "duckdb"
                else f"(extract(epoch FROM {q}) * 1000000)::bigint"
            )
            parts += [f"count({q})", f"min({micros})", f"max({micros})", f"sum({micros})"]
        else:
            parts += [f"count(*) FILTER (WHERE {q})"]
    return f"SELECT {', '.join(parts)} FROM {source}"


def _ints(row: tuple[Any, ...]) -> list[int | None]:
    return [None if v is None else int(v) for v in row]


@pytest.fixture(scope="module")
def loaded(pg_dsn: str, dataset_one_shard: Path) -> Iterator[dict[str, Any]]:
    """The one-shard dataset loaded once for this module, with --jobs 2; its --json summary."""
    from click.testing import CliRunner

    from synthgen.cli import cli

    args = ["load", str(dataset_one_shard), "--dsn", pg_dsn, "--schema", LOADED]
    result = CliRunner().invoke(cli, [*args, "--jobs", "2", "--replace", "--json"])
    assert result.exit_code == 0, result.output
    yield json.loads(result.stdout)
    CliRunner().invoke(cli, ["teardown", "--dsn", pg_dsn, "--schema", LOADED, "--yes"])


def test_counts_match_manifest_exactly(
    loaded: dict[str, Any],
    dataset_one_shard: Path,
    manifest: Callable[[Path], dict[str, Any]],
    sql: Any,
) -> None:
    counts = manifest(dataset_one_shard)["counts"]
    assert loaded["counts"] == counts
    assert counts["messages"] == 100_000
    for table, rows in counts.items():
        assert sql(f'SELECT count(*) FROM {LOADED}."{table}"') == [(rows,)]
    # arrival units of 65,536 rows: messages 2, every other table 1 (read_receipts too: one per
    # reader in rooms of at most 20 members, ~14,000 rows here)
    units = sum(-(-rows // 65_536) for rows in counts.values())
    assert counts["read_receipts"] < 65_536
    assert units == len(counts) + 1
    assert loaded["shards_loaded"] == units
    assert loaded["shards_skipped"] == 0
    assert loaded["rows_loaded"] == sum(counts.values())
    assert {"verify shards", "load shards", "verify counts"} <= set(loaded["steps"])


@pytest.mark.parametrize("table", sorted(TABLES))
def test_duckdb_and_postgres_agree_on_every_column(
    loaded: dict[str, Any], dataset_one_shard: Path, sql: Any, table: str
) -> None:
    spec = TABLES[table]
    parquet = f"read_parquet('{dataset_one_shard}/{table}/*.parquet')"
    expected = _ints(duckdb.execute(checksum_sql(spec, parquet, "duckdb")).fetchall()[0])
    actual = _ints(sql(checksum_sql(spec, f'{LOADED}."{table}"', "postgres"))[0])
    assert actual == expected
    assert expected[0] and expected[0] > 0


def test_audit_rows_say_what_was_loaded_by_whom(
    loaded: dict[str, Any],
    dataset_one_shard: Path,
    manifest: Callable[[Path], dict[str, Any]],
    sql: Any,
) -> None:
    m = manifest(dataset_one_shard)
    rows = sql(
        f"SELECT dataset_sha256, band, scale, seed, spec_sha256, status, rows::text, "
        f"expected_rows::text, db_user, client_host, synthgen_version, finished_at > started_at, "
        f"steps::text FROM {LOADED}.synthgen_loads"
    )
    assert len(rows) == 1
    (
        sha,
        band,
        scale,
        seed,
        spec_sha,
        status,
        loaded_rows,
        expected,
        user,
        host,
        version,
        ordered,
        steps,
    ) = rows[0]
    assert (sha, band, scale, seed, spec_sha) == (
        m["dataset_sha256"],
        "dev",
        0.02,
        "loader-a",
        m["spec_sha256"],
    )
    assert (status, user, host, version, ordered) == (
        "complete",
        "postgres",
        socket.gethostname(),
        __version__,
        True,
    )
    assert json.loads(loaded_rows) == m["counts"] == json.loads(expected)
    assert set(json.loads(steps)) >= {
        "load shards",
        "primary keys",
        "validate foreign keys",
        "vacuum (freeze, analyze)",
    }
    shards = sql(f"SELECT path, rows FROM {LOADED}.synthgen_shards ORDER BY path")
    units = [
        (f"{table}/arrival-{k:05d}", min(65_536, rows - k * 65_536))
        for table, rows in sorted(m["counts"].items())
        for k in range(-(-rows // 65_536))
    ]
    assert shards == units


def test_load_ends_with_settled_tables(
    pg_dsn: str, dataset_one_shard: Path, sql: Any, unsettled_pages: Any
) -> None:
    """VACUUM (FREEZE, ANALYZE) ran: every page is all-visible and all-frozen, every table
    vacuumed and analysed, so a baseline does not measure autovacuum catching up. The only
    exception, on PostgreSQL 16+, is the all-zero pages COPY's bulk extension can leave at a
    table's end, which VACUUM never marks (tests/conftest.py, unsettled_pages); they hold no
    row, so no scan needs them visible. (Its own load: all-visible needs no older snapshot
    open on the server while the vacuum runs, which earlier tests' killed loads cannot promise
    for the module's shared load.)"""
    from synthgen.load.contract import LoadOptions, load_dataset

    schema = "t_roundtrip_settled"
    report = load_dataset(
        LoadOptions(dataset_one_shard, pg_dsn, schema=schema, jobs=2, replace=True)
    )
    try:
        assert report.steps["vacuum (freeze, analyze)"] > 0
        rows = sql(
            "SELECT c.relname, c.relpages, c.relallvisible, s.last_vacuum IS NOT NULL, "
            "s.last_analyze IS NOT NULL FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace JOIN pg_stat_user_tables s ON s.relid = c.oid "
            "WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname NOT LIKE 'synthgen%'",
            schema,
        )
        assert {r[0] for r in rows} == set(TABLES)
        for name, pages, visible, vacuumed, analysed in rows:
            found = unsettled_pages(pg_dsn, f"{schema}.{name}")
            assert found["not_visible"] == found["not_frozen"] == [], (name, found)
            zero = found["all_zero"]
            # the all-zero pages are the table's end, and every other page is all-visible
            assert zero == list(range(pages - len(zero), pages)), (name, zero, pages)
            assert pages > 0 and visible == pages - len(zero), (name, visible, pages)
            assert vacuumed and analysed, name
    finally:
        sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_keys_indexes_and_foreign_keys_are_built_and_valid(
    loaded: dict[str, Any], sql: Any
) -> None:
    constraints = dict(
        sql(
            "SELECT conname, contype::text || convalidated::text FROM pg_constraint c "
            "JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = $1",
            LOADED,
        )
    )
    for table in TABLES.values():
        assert constraints[f"{table.name}_pkey"] == "ptrue"
        for column, _, _ in table.foreign_keys:
            assert constraints[f"{table.name}_{column}_fkey"] == "ftrue"
    indexes = {r[0] for r in sql("SELECT indexname FROM pg_indexes WHERE schemaname = $1", LOADED)}
    assert {name for _, name, _, _ in PHASE1_INDEXES} <= indexes
    unique = sql(
        "SELECT indisunique FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
        LOADED,
        "conversation_users_pkey",
    )
    assert unique == [(True,)]
    # Permanent tables, autovacuum back to the server default, statistics gathered.
    tables = sql(
        "SELECT c.relname, c.relpersistence, c.reloptions IS NULL, c.reltuples >= 0 "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname = ANY(ARRAY['messages', 'users'])",
        LOADED,
    )
    assert sorted(tables) == [("messages", "p", True, True), ("users", "p", True, True)]


def test_second_load_without_resume_or_replace_is_refused(
    loaded: dict[str, Any], load: Any, dataset_one_shard: Path, dataset_sharded: Path, sql: Any
) -> None:
    code, _, err = load(dataset_one_shard, LOADED)
    assert code == 1
    assert "already holds this dataset" in err and "--resume" in err
    code, _, err = load(dataset_sharded, LOADED)
    assert code == 1
    assert "holds a different dataset" in err and "--replace" in err
    code, _, err = load(dataset_sharded, LOADED, "--resume")
    assert code == 1 and "different dataset" in err
    assert sql(f"SELECT count(*) FROM {LOADED}.synthgen_loads") == [(1,)]
    assert sql(f"SELECT count(*) FROM {LOADED}.messages") == [(100_000,)]


def test_resume_of_a_complete_load_changes_nothing(
    loaded: dict[str, Any], load: Any, dataset_one_shard: Path, sql: Any
) -> None:
    code, out, err = load(dataset_one_shard, LOADED, "--resume", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["shards_loaded"] == 0
    assert summary["shards_skipped"] == loaded["shards_loaded"]
    assert summary["counts"] == loaded["counts"]
    assert sql(f"SELECT status FROM {LOADED}.synthgen_loads ORDER BY load_id") == [
        ("complete",),
        ("complete",),
    ]
