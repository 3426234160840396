"""The heap in arrival order: what the planner reads from pg_stats after a load."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.postgres

COLUMNS = (
    ("messages", "createdAt"),
    ("messages", "id"),
    ("messages", "conversationId"),
    ("read_receipts", "readAt"),
    ("attachments", "id"),
    ("conversation_users", "joinedAt"),
    ("users", "id"),
)


def _correlations(sql: Any, schema: str) -> dict[tuple[str, str], float]:
    rows = sql("SELECT tablename, attname, correlation FROM pg_stats WHERE schemaname = $1", schema)
    return {(t, c): float(r) for t, c, r in rows if (t, c) in COLUMNS}


def _load(pg_dsn: str, dataset: Path, schema: str, *extra: str) -> None:
    command = [sys.executable, "-c", "from synthgen.cli import main; main()", "load"]
    args = [str(dataset), "--dsn", pg_dsn, "--schema", schema, "--jobs", "2", "--quiet", *extra]
    done = subprocess.run([*command, *args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_arrival_order_gives_production_correlations_and_room_order_does_not(
    pg_dsn: str, dataset_sharded: Path, schema: str, sql: Any
) -> None:
    # 100k messages in 10 shards that each span the whole window, loaded over 2 connections
    _load(pg_dsn, dataset_sharded, schema)  # the loader ends with ANALYZE
    got = _correlations(sql, schema)
    assert set(got) == set(COLUMNS)
    for column in COLUMNS:
        if column != ("messages", "conversationId"):
            assert got[column] >= 0.99, (column, got)
    # the heap follows time, not rooms: the ids of the rooms are scattered over it
    assert abs(got[("messages", "conversationId")]) < 0.9

    sql(f"DROP SCHEMA {schema} CASCADE")
    _load(pg_dsn, dataset_sharded, schema, "--order", "room")
    room = _correlations(sql, schema)
    # shard after shard: each shard spans the whole window, so time restarts with every shard
    assert room[("messages", "createdAt")] < 0.5
    assert room[("read_receipts", "readAt")] < 0.5
