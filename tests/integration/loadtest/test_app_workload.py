"""Load tests on an application's own schema (the prisma-chat example), through its mapping.

The example's migrations make the schema (text cuid ids, enum types, timestamp(3), real foreign
keys, a unique idempotency key, a reads table with its own id, a delivery-state table), the
installed `synthgen load --mapping` fills it, and `synthgen workload --mapping --queries` plus
`synthgen loadtest` run the example's own queries and W1/W2 against it for a few seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from synthgen.appschema.migrate import run_migrations
from synthgen.postgres.connect import connect, execute, fetch_all

SCHEMA = "lt_app"
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "prisma-chat"
SYNTHGEN = Path(sys.executable).parent / "synthgen"
MIX = {"Q1": 35, "Q2": 10, "Q3": 15, "Q4": 10, "Q5": 10, "W1": 10, "W2": 10}
KEYS = tuple(MIX)


def synthgen(*args: str) -> subprocess.CompletedProcess[str]:
    assert SYNTHGEN.is_file(), f"{SYNTHGEN}: the console script is not installed"
    return subprocess.run([str(SYNTHGEN), *args], capture_output=True, text=True, timeout=600)


def rows(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    with connect(dsn, autocommit=True) as conn:
        return fetch_all(conn, sql)


@dataclass(frozen=True)
class AppRun:
    dsn: str
    mapping: Path
    workload: Path
    result: dict[str, Any]


def _drop(dsn: str) -> None:
    with connect(dsn, autocommit=True) as conn:
        for name in (SCHEMA, f"synthgen_{SCHEMA}"):
            execute(conn, f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture(scope="module")
def app_run(pg_dsn: str, tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("lt-app")
    _drop(pg_dsn)
    run_migrations(pg_dsn, SCHEMA, str(EXAMPLE / "schema.sql"))
    mapping = json.loads((EXAMPLE / "mapping.json").read_text())
    mapping["schema"] = SCHEMA
    (root / "mapping.json").write_text(json.dumps(mapping))
    common = ["--dsn", pg_dsn, "--mapping", str(root / "mapping.json")]
    loaded = synthgen("load", str(tiny_dataset), *common, "--jobs", "2", "--quiet")
    assert loaded.returncode == 0, loaded.stderr
    made = synthgen(
        "workload", *common, "--queries", str(EXAMPLE / "queries"), "--record-draws",
        "--mix", ",".join(f"{k}={v}" for k, v in MIX.items()), "--out", str(root / "w"),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    # the app's phase-2 indexes first: the mix check needs a few hundred transactions
    applied = synthgen("indexes", "apply", "--dsn", pg_dsn, "--schema", SCHEMA, "--file",
                       str(EXAMPLE / "phase-2.sql"), "--quiet")  # fmt: skip
    assert applied.returncode == 0, applied.stderr
    out = root / "lt.json"
    ran = synthgen(
        "loadtest", "--workload", str(root / "w"), "--dsn", pg_dsn, "--clients", "1,4",
        "--duration", "4", "--closed-loop", "--out", str(out),
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    yield AppRun(pg_dsn, root / "mapping.json", root / "w", json.loads(out.read_text()))
    _drop(pg_dsn)


def test_the_scripts_speak_the_applications_names(app_run: AppRun) -> None:
    w1 = (app_run.workload / "w1.pgbench").read_text()
    assert 'INSERT INTO "Message"' in w1 and 'UPDATE "Conversation"' in w1
    assert '"idempotencyKey"' in w1 and '"lastMessageId"' in w1 and "'lt' || nextval(" in w1
    assert "AS timestamp(3) without time zone" in w1
    w2 = (app_run.workload / "w2.pgbench").read_text()
    assert 'INSERT INTO "MessageRead"' in w2 and 'INSERT INTO "MessageDelivery"' in w2
    q4 = (app_run.workload / "q4.pgbench").read_text()
    assert "synthgen_lt_user_rooms" in q4 and ":member_room" in q4 and ":user_id" in q4


def test_every_query_has_percentiles(app_run: AppRun) -> None:
    result = app_run.result
    assert [s["clients"] for s in result["steps"]] == [1, 4]
    for step in result["steps"]:
        assert step["errors"] == 0, step["error_sample"]
        assert set(step["queries"]) == set(KEYS)
        for key, stats in step["queries"].items():
            assert stats["transactions"] > 0, (step["clients"], key)
            assert 0 < stats["p50_ms"] <= stats["p95_ms"] <= stats["p99_ms"] <= stats["max_ms"]
    counts = {k: sum(s["queries"][k]["transactions"] for s in result["steps"]) for k in KEYS}
    total = sum(counts.values())
    assert total > 400, counts
    for key, weight in MIX.items():
        assert abs(counts[key] / total - weight / sum(MIX.values())) < 0.05, (key, counts)


def test_draws_follow_the_applications_own_skew(app_run: AppRun) -> None:
    # measured on the app's tables (loaded rows only), not on the workload's draw tables
    heavy_share, heavy_draws = rows(
        app_run.dsn,
        f"""WITH sizes AS (
                SELECT "conversationId" AS id, count(*) AS n FROM {SCHEMA}."Message"
                WHERE "id" NOT LIKE 'lt%' GROUP BY 1),
            top AS (SELECT id, n FROM sizes ORDER BY n DESC
                    LIMIT (SELECT greatest(1, count(*) / 20) FROM sizes))
        SELECT (SELECT sum(n) FROM top)::float8 / (SELECT sum(n) FROM sizes),
               (SELECT count(*) FILTER (WHERE d.id IN (SELECT id FROM top))::float8 / count(*)
                FROM {SCHEMA}.synthgen_lt_draws d WHERE d.script = 'Q1')""",
    )[0]
    top_share, top_draws = rows(
        app_run.dsn,
        f"""WITH sent AS (
                SELECT "senderId" AS id, count(*) AS n FROM {SCHEMA}."Message"
                WHERE "id" NOT LIKE 'lt%' GROUP BY 1),
            top AS (SELECT id, n FROM sent ORDER BY n DESC
                    LIMIT (SELECT greatest(1, count(*) / 20) FROM sent))
        SELECT (SELECT sum(n) FROM top)::float8 / (SELECT sum(n) FROM sent),
               (SELECT count(*) FILTER (WHERE d.id IN (SELECT id FROM top))::float8 / count(*)
                FROM {SCHEMA}.synthgen_lt_draws d WHERE d.script IN ('Q3', 'Q4'))""",
    )[0]
    draws = rows(
        app_run.dsn, f"SELECT count(*) FROM {SCHEMA}.synthgen_lt_draws WHERE script = 'Q1'"
    )
    assert draws[0][0] > 150
    assert 0.3 < heavy_share < 1.0  # the largest 5 % of rooms hold a large share: skew is real
    assert abs(heavy_draws - heavy_share) < 0.07, (heavy_draws, heavy_share)
    assert abs(top_draws - top_share) < 0.07, (top_draws, top_share)


def test_sent_messages_and_reads_keep_the_applications_invariants(app_run: AppRun) -> None:
    w1 = sum(s["queries"]["W1"]["transactions"] for s in app_run.result["steps"])
    sent, bad = rows(
        app_run.dsn,
        f"""SELECT count(*), count(*) FILTER (WHERE NOT coalesce(cm."isActive", false)
                OR m."idempotencyKey" <> 'idem_' || m."id" OR m."updatedAt" <> m."createdAt"
                OR m."type" <> 'TEXT' OR m."content" IS NULL)
        FROM {SCHEMA}."Message" m
        LEFT JOIN {SCHEMA}."ConversationMember" cm
          ON cm."conversationId" = m."conversationId" AND cm."userId" = m."senderId"
        WHERE m."id" LIKE 'lt%'""",
    )[0]
    assert sent == w1 > 0 and bad == 0, (sent, w1, bad)
    # per room, each sent message is strictly later than every message before it (loaded ones
    # may share a millisecond: timestamp(3) holds the generated times rounded)
    disorder, checked = rows(
        app_run.dsn,
        f"""SELECT count(*) FILTER (WHERE bad), count(*) FROM (
            SELECT "id", "createdAt" <= max("createdAt") OVER w AS bad FROM {SCHEMA}."Message"
            WHERE "conversationId" IN (SELECT "conversationId" FROM {SCHEMA}."Message"
                                       WHERE "id" LIKE 'lt%')
            WINDOW w AS (PARTITION BY "conversationId" ORDER BY ("id" LIKE 'lt%'), "createdAt"
                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)) x
        WHERE "id" LIKE 'lt%'""",
    )[0]
    assert disorder == 0 and checked == sent, (disorder, checked)
    # the room's updatedAt / lastMessageAt / lastMessageId are its last message's
    stale = rows(
        app_run.dsn,
        f"""SELECT count(*) FROM {SCHEMA}."Conversation" c
        JOIN LATERAL (SELECT "id", "createdAt" FROM {SCHEMA}."Message" m
                      WHERE m."conversationId" = c."id" ORDER BY "createdAt" DESC LIMIT 1) l ON true
        WHERE c."id" IN (SELECT "conversationId" FROM {SCHEMA}."Message" WHERE "id" LIKE 'lt%')
          AND (c."updatedAt" <> l."createdAt" OR c."lastMessageAt" <> l."createdAt"
               OR c."lastMessageId" <> l."id")""",
    )[0][0]
    assert stale == 0
    reads, bad_reads, delivered = rows(
        app_run.dsn,
        f"""SELECT count(*),
                   count(*) FILTER (WHERE m."senderId" = r."userId" OR cm."lastReadAt" IS NULL
                                    OR cm."lastReadAt" < r."readAt"),
                   (SELECT count(*) FROM {SCHEMA}."MessageDelivery" d
                    WHERE d."id" LIKE 'lt%' AND d."status" = 'READ')
        FROM {SCHEMA}."MessageRead" r
        JOIN {SCHEMA}."Message" m ON m."id" = r."messageId"
        LEFT JOIN {SCHEMA}."ConversationMember" cm
          ON cm."conversationId" = m."conversationId" AND cm."userId" = r."userId"
        WHERE r."id" LIKE 'lt%'""",
    )[0]
    assert reads > 0 and bad_reads == 0 and delivered == reads, (reads, bad_reads, delivered)
    # the application's foreign keys are real constraints, still validated
    fks = rows(
        app_run.dsn,
        f"SELECT count(*), bool_and(convalidated) FROM pg_constraint WHERE contype = 'f' "
        f"AND connamespace = '{SCHEMA}'::regnamespace",
    )[0]
    assert fks == (9, True)


def test_bad_input_of_the_mapped_workload(app_run: AppRun, tmp_path: Path) -> None:
    usage = synthgen("workload", "--dsn", app_run.dsn, "--mapping", str(app_run.mapping),
                     "--out", str(tmp_path / "w"))  # fmt: skip
    assert usage.returncode == 2 and "--queries" in usage.stderr
    broken = json.loads(app_run.mapping.read_text())
    broken["tables"]["messages"]["name"] = "Post"
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    refused = synthgen(
        "workload", "--dsn", app_run.dsn, "--mapping", str(tmp_path / "broken.json"),
        "--queries", str(EXAMPLE / "queries"), "--out", str(tmp_path / "w"),
    )  # fmt: skip
    assert refused.returncode == 1 and "Post" in refused.stderr, refused.stderr
    assert not (tmp_path / "w").exists()
