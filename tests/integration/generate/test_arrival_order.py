"""The dataset's ids and files follow arrival order across many shards."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from support.specs import small_shard_spec
from synthgen.engine.arrival_ids import bucket_count
from synthgen.generate.build import BuildOptions, build_dataset
from synthgen.spec import load_spec
from synthgen.units import US_PER_DAY


@pytest.fixture(scope="module")
def many_shards(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    root = tmp_path_factory.mktemp("arrival")
    spec = load_spec(small_shard_spec(root))
    report = build_dataset(spec, BuildOptions("dev", 0.02, "arrival", root / "ds", workers=2))
    return root / "ds", int(report.manifest["shards"])


def _con(root: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for table in ("users", "messages", "attachments", "read_receipts", "conversation_users"):
        con.execute(
            f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{root}/{table}/*.parquet', "
            "filename = true, file_row_number = true)"
        )
    return con


def test_message_and_attachment_ids_are_dense_and_follow_created_at(
    many_shards: tuple[Path, int],
) -> None:
    root, shards = many_shards
    assert shards >= 15
    con = _con(root)
    window_us = load_spec().time.window_days * US_PER_DAY
    bucket_us = window_us / bucket_count(shards)
    for table in ("messages", "attachments"):
        n, low, high, distinct = con.execute(
            f"SELECT count(*), min(id), max(id), count(DISTINCT id) FROM {table}"
        ).fetchone()  # type: ignore[misc]
        assert (low, high, distinct) == (1, n, n), table
        # a later id is never earlier in time by more than one time bucket of the id pass
        (worst,) = con.execute(
            f"""SELECT max(later_by) FROM (
                SELECT epoch_us(max("createdAt") OVER (ORDER BY id)) - epoch_us("createdAt")
                    AS later_by FROM {table})"""
        ).fetchone()  # type: ignore[misc]
        assert 0 < worst <= bucket_us, table
    # inside a conversation, ids and createdAt rise together strictly
    (bad,) = con.execute(
        """SELECT count(*) FROM (SELECT "createdAt" <= lag("createdAt") OVER
           (PARTITION BY "conversationId" ORDER BY id) AS bad FROM messages) WHERE bad"""
    ).fetchone()  # type: ignore[misc]
    assert bad == 0


def test_every_file_is_written_in_arrival_order(many_shards: tuple[Path, int]) -> None:
    con = _con(many_shards[0])
    for table, column in (
        ("users", "id"),
        ("users", "createdAt"),
        ("messages", "id"),
        ("attachments", "id"),
        ("read_receipts", "readAt"),
        ("conversation_users", "joinedAt"),
    ):
        (bad,) = con.execute(
            f"""SELECT count(*) FROM (SELECT "{column}" < lag("{column}") OVER
               (PARTITION BY filename ORDER BY file_row_number) AS bad FROM {table}) WHERE bad"""
        ).fetchone()  # type: ignore[misc]
        assert bad == 0, (table, column)
