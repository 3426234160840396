"""Duplicate indexes named on real PostgreSQL, through the installed `synthgen`: `indexes apply`
before it builds, and `verify compare` when a query moved to a new index that duplicates the
one it used, with each new index's size and build time in the report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from synthgen.load.contract import LoadOptions, load_dataset
from synthgen.postgres.connect import connect, execute, fetch_all

SYNTHGEN = Path(sys.executable).parent / "synthgen"
SCHEMA = "dup_apply"
TABLES = f"""
DROP SCHEMA IF EXISTS {SCHEMA} CASCADE;
CREATE SCHEMA {SCHEMA};
CREATE TABLE {SCHEMA}.messages (id bigint PRIMARY KEY, "conversationId" bigint NOT NULL,
    "createdAt" timestamptz NOT NULL, content text);
CREATE TABLE {SCHEMA}.conversation_users ("conversationId" bigint, "userId" bigint,
    "isActive" boolean, "lastReadAt" timestamptz, PRIMARY KEY ("conversationId", "userId"));
CREATE INDEX "messages_conversationId_createdAt_idx"
    ON {SCHEMA}.messages ("conversationId", "createdAt");
CREATE INDEX "cu_user_active" ON {SCHEMA}.conversation_users ("userId") WHERE "isActive";
INSERT INTO {SCHEMA}.messages SELECT g, g % 7, now() - g * interval '1 minute', 'hello'
    FROM generate_series(1, 2000) g;
"""
SCRIPT = """-- the brief's phase-2 shapes beside an application's migration
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_messages_conversation_created_desc"
    ON "messages" ("conversationId", "createdAt" DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_cu_user_active"
    ON "conversation_users" ("userId") INCLUDE ("conversationId", "lastReadAt")
    WHERE "isActive";
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_cu_conversation"
    ON "conversation_users" ("conversationId");
CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_messages_created" ON "messages" ("createdAt");
"""
FINDINGS = [
    "finding: idx_messages_conversation_created_desc duplicates "
    "messages_conversationId_createdAt_idx (same keys, scanned backward with conversationId "
    "fixed by equality)",
    "finding: idx_cu_user_active duplicates cu_user_active (same keys, differs only by INCLUDE "
    "(conversationId, lastReadAt vs none))",
    "finding: idx_cu_conversation duplicates conversation_users_pkey (its keys are a prefix of "
    "conversation_users_pkey's; only conversation_users_pkey is UNIQUE)",
]


def synthgen(*args: str) -> subprocess.CompletedProcess[str]:
    assert SYNTHGEN.is_file(), f"{SYNTHGEN}: the console script is not installed"
    return subprocess.run([str(SYNTHGEN), *args], capture_output=True, text=True, timeout=600)


def _indexes(dsn: str, schema: str) -> set[str]:
    with connect(dsn, autocommit=True) as conn:
        rows = fetch_all(
            conn,
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = $1 AND c.relkind = 'i'",
            (schema,),
        )
    return {r[0] for r in rows}


def test_indexes_apply_names_each_duplicate_before_building(pg_dsn: str, tmp_path: Path) -> None:
    with connect(pg_dsn, autocommit=True) as conn:
        for statement in filter(str.strip, TABLES.split(";")):
            execute(conn, statement)
    before = _indexes(pg_dsn, SCHEMA)
    common = ["--dsn", pg_dsn, "--schema", SCHEMA, "--quiet"]
    # a first statement that fails to build: the findings are printed all the same, so they were
    # made before anything was built
    failing = tmp_path / "failing.sql"
    failing.write_text('CREATE INDEX CONCURRENTLY "idx_bad" ON "messages" ("nowhere");\n' + SCRIPT)
    refused = synthgen("indexes", "apply", "--file", str(failing), *common)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert refused.stdout.splitlines() == FINDINGS
    assert _indexes(pg_dsn, SCHEMA) == before
    script = tmp_path / "phase-2.sql"
    script.write_text(SCRIPT)
    applied = synthgen("indexes", "apply", "--file", str(script), *common)
    assert applied.returncode == 0, applied.stderr
    lines = applied.stdout.splitlines()
    assert lines[:3] == FINDINGS
    assert [line.split()[0] for line in lines[3:]] == [
        "idx_messages_conversation_created_desc", "idx_cu_user_active", "idx_cu_conversation",
        "idx_messages_created",
    ]  # fmt: skip
    as_json = synthgen("indexes", "apply", "--file", str(script), *common, "--json")
    steps = {s["index"]: s["findings"] for s in json.loads(as_json.stdout)}
    assert steps["idx_messages_created"] == [] and len(steps["idx_cu_conversation"]) == 1


# its time lies in its output (a digest of each message, milliseconds), not in the index scan
# (tens of microseconds): a move between equivalent indexes cannot buy it anything
Q1 = """-- name: Q1 message digests
-- param $1 bigint conversation: a sampled room
SELECT m."id", md5(repeat(m."content", 400)) AS digest
FROM "messages" m WHERE m."conversationId" = $1 ORDER BY m."createdAt" DESC LIMIT 50;
"""
DUPLICATE = """CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_messages_room_recent"
    ON "messages" ("conversationId", "createdAt" DESC);
"""


@pytest.fixture(scope="module")
def gate_schema(pg_dsn: str, tiny_dataset: Path) -> str:
    """A small dataset whose messages have one existing index for Q1: (room, time) carrying the
    content too — the new index of the script duplicates it, smaller, so the planner moves."""
    load_dataset(LoadOptions(tiny_dataset, pg_dsn, schema="dup_gate", jobs=2, replace=True))
    with connect(pg_dsn, autocommit=True) as conn:
        execute(conn, 'DROP INDEX dup_gate."messages_conversationId_idx"')
        execute(
            conn,
            'CREATE INDEX "messages_room_time" ON dup_gate.messages ("conversationId", '
            '"createdAt") INCLUDE (content)',
        )
        execute(conn, "VACUUM ANALYZE dup_gate.messages")
    return "dup_gate"


def test_compare_names_the_existing_index_a_new_one_duplicates(
    pg_dsn: str, gate_schema: str, tmp_path: Path
) -> None:
    queries = tmp_path / "queries"
    queries.mkdir()
    (queries / "q1_history.sql").write_text(Q1)
    script = tmp_path / "phase-2.sql"
    script.write_text(DUPLICATE)
    common = ["--dsn", pg_dsn, "--schema", gate_schema]
    pre, post = tmp_path / "baseline-pre.json", tmp_path / "baseline-post.json"
    measure = ["--runs", "15", "--plan-mode", "custom", "--queries", str(queries), "--quiet"]
    made = synthgen("verify", "baseline", "--label", "pre", "--out", str(pre), *measure, *common)
    assert made.returncode == 0, made.stderr
    applied = synthgen("indexes", "apply", "--file", str(script), *common, "--quiet", "--json")
    assert applied.returncode == 0, applied.stderr
    builds = tmp_path / "builds.json"
    builds.write_text(applied.stdout)
    made = synthgen("verify", "baseline", "--label", "post", "--out", str(post), *measure, *common)
    assert made.returncode == 0, made.stderr
    for result in json.loads(post.read_text())["results"]:  # the planner moved, every class
        assert result["plan"]["indexes_used"] == {"messages": ["idx_messages_room_recent"]}
    # the server's own time: sub-millisecond queries on a shared machine swing on the client
    compared = synthgen(
        "verify", "compare", str(pre), str(post), "--builds", str(builds), "--metric", "explain"
    )
    assert compared.returncode == 3, compared.stdout + compared.stderr
    assert "the new indexes do not serve it" not in compared.stdout
    # every class: too little gain, or slower (a shared machine can slow one) — both name the pair
    mitigations = [m for m in compared.stdout.splitlines() if "mitigation:" in m]
    assert mitigations, compared.stdout
    for line in mitigations:
        assert (
            "it moved from messages_room_time to idx_messages_room_recent, and "
            "idx_messages_room_recent duplicates messages_room_time (same keys, scanned backward "
            "with conversationId fixed by equality, differs only by INCLUDE (none vs content))"
        ) in line, line
        assert "drop idx_messages_room_recent from the script" in line, line
    (new,) = [line for line in compared.stdout.splitlines() if "new index:" in line]
    seconds = json.loads(applied.stdout)[0]["seconds"]
    size = json.loads(post.read_text())["indexes"]
    mb = next(i["size_bytes"] for i in size if i["name"] == "idx_messages_room_recent") / 1e6
    assert f"idx_messages_room_recent on messages: {mb:.1f} MB, built in {seconds:.2f} s;" in new
    assert "used by q1 (3 results)" in new
    with connect(pg_dsn, autocommit=True) as conn:
        execute(conn, f'DROP INDEX {gate_schema}."idx_messages_room_recent"')
