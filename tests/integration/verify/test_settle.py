"""Settled tables and warm-up against a real server: a baseline refuses (or waits) while an
index build works on the schema's tables; warm-up without pg_prewarm reads every index; the
physical order of the tables is recorded."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from synthgen.errors import VerifyError
from synthgen.postgres.connect import connect, execute, fetch_value
from synthgen.verify.settle import busy, physical_order, table_state, wait_until_settled, warm_up

Loaded = tuple[str, str, Path]
INDEX = "idx_settle_probe"


def test_baseline_refuses_then_waits_while_an_index_build_runs(loaded: Loaded) -> None:
    dsn, schema, _ = loaded
    writer, builder, probe = (connect(dsn, autocommit=True) for _ in range(3))
    try:
        # an open write transaction makes CREATE INDEX CONCURRENTLY wait, visibly in progress
        execute(writer, "BEGIN")
        execute(writer, f'UPDATE "{schema}"."conversations" SET "title" = "title" WHERE "id" = 1')
        build = threading.Thread(
            target=execute,
            args=(
                builder,
                f'CREATE INDEX CONCURRENTLY "{INDEX}" ON "{schema}"."conversations" ("type")',
            ),
        )
        build.start()
        deadline = time.monotonic() + 30
        while not busy(probe, schema) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert busy(probe, schema)[0].startswith("index build on conversations (pid ")
        with pytest.raises(VerifyError, match="tables are not settled \\(index build on conv"):
            wait_until_settled(probe, schema, wait=False)
        with pytest.raises(VerifyError, match="still not settled after 1 s"):
            wait_until_settled(probe, schema, wait=True, timeout_s=1.0)
        timer = threading.Timer(1.5, execute, args=(writer, "ROLLBACK"))
        timer.start()
        waited = wait_until_settled(probe, schema, wait=True, timeout_s=60.0)
        build.join(timeout=60)
        assert waited >= 1.0
        assert busy(probe, schema) == []
    finally:
        execute(probe, f'DROP INDEX IF EXISTS "{schema}"."{INDEX}"')
        for c in (writer, builder, probe):
            c.close()


def test_warm_up_state_and_physical_order(loaded: Loaded, unsettled_pages: Any) -> None:
    dsn, schema, _ = loaded
    conn = connect(dsn, autocommit=True)
    try:
        execute(conn, "DROP EXTENSION IF EXISTS pg_prewarm")
        method = warm_up(conn, schema, create_extension=False)
        assert method == "full scans of every heap and index-ordered scans of every index"
        assert warm_up(conn, schema, create_extension=True) == "pg_prewarm (heap and every index)"
        where = fetch_value(
            conn,
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'pg_prewarm'",
        )
        assert where == "public"  # never in the measured schema: it stays droppable
        state = table_state(conn, schema)
        assert state["messages"]["pages"] > 0
        # the load ended with VACUUM (FREEZE): every page all-visible but the all-zero ones
        # bulk extension may leave at the end on PostgreSQL 16+ (tests/conftest.py)
        found = unsettled_pages(dsn, f"{schema}.messages")
        assert found["not_visible"] == [], found
        pages = state["messages"]["pages"]
        want = round((pages - len(found["all_zero"])) / pages, 4)
        assert state["messages"]["all_visible"] == want
        assert state["messages"]["last_vacuum"] is not None
        physical = physical_order(conn, schema)
        assert set(physical["correlation"]) == {
            "messages.createdAt",
            "messages.id",
            "messages.conversationId",
            "read_receipts.readAt",
        }
        assert all(-1.0 <= v <= 1.0 for v in physical["correlation"].values())
        assert physical["heap_blocks_per_room"] >= 1.0
        assert physical_order(conn, schema) == physical  # the same rooms every time
    finally:
        conn.close()
