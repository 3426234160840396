"""Load tests on the go-chat example (epoch-ms bigints, varchar(26) ids, one-letter types, read
cursors with counters, no reads table): W1 writes posts in the same types the mapped load
wrote — epoch milliseconds, the value map's type, soft-delete constants — and keeps the room's
counters; W2 moves a member's read cursor and its count. Through the installed command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from synthgen.appschema.migrate import run_migrations
from synthgen.postgres.connect import connect, execute, fetch_all

SCHEMA = "lt_go"
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "go-chat"
SYNTHGEN = Path(sys.executable).parent / "synthgen"
MIX = {"Q1": 20, "Q2": 10, "Q3": 10, "Q4": 10, "Q5": 10, "W1": 25, "W2": 15}


def synthgen(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SYNTHGEN), *args], capture_output=True, text=True, timeout=600)


def rows(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    with connect(dsn, autocommit=True) as conn:
        return fetch_all(conn, sql)


def _drop(dsn: str) -> None:
    with connect(dsn, autocommit=True) as conn:
        for name in (SCHEMA, f"synthgen_{SCHEMA}"):
            execute(conn, f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture(scope="module")
def go_run(pg_dsn: str, tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("lt-go")
    _drop(pg_dsn)
    run_migrations(pg_dsn, SCHEMA, str(EXAMPLE / "schema.sql"))
    mapping = json.loads((EXAMPLE / "mapping.json").read_text())
    mapping["schema"] = SCHEMA
    (root / "mapping.json").write_text(json.dumps(mapping))
    common = ["--dsn", pg_dsn, "--mapping", str(root / "mapping.json")]
    loaded = synthgen("load", str(tiny_dataset), *common, "--jobs", "2", "--quiet")
    assert loaded.returncode == 0, loaded.stderr
    made = synthgen(
        "workload", *common, "--queries", str(EXAMPLE / "queries"),
        "--mix", ",".join(f"{k}={v}" for k, v in MIX.items()), "--out", str(root / "w"),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    out = root / "lt.json"
    # closed loop: the sweep's steps are every run, so their W1 count is every row sent
    ran = synthgen("loadtest", "--workload", str(root / "w"), "--dsn", pg_dsn, "--clients",
                   "1,2", "--duration", "3", "--closed-loop", "--out", str(out))  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    yield pg_dsn, root / "w", json.loads(out.read_text())
    _drop(pg_dsn)


def test_writes_keep_the_types_and_counters(go_run: Any) -> None:
    dsn, workload, result = go_run
    w1 = (workload / "w1.pgbench").read_text()
    assert 'INSERT INTO "posts"' in w1 and '"totalmsgcount" = "totalmsgcount" + 1' in w1
    assert "round(extract(epoch FROM" in w1
    for step in result["steps"]:
        assert step["errors"] == 0, step["error_sample"]
    sent_w1 = sum(s["queries"]["W1"]["transactions"] for s in result["steps"])
    read_w2 = sum(s["queries"]["W2"]["transactions"] for s in result["steps"])
    assert sent_w1 > 0 and read_w2 > 0
    s = SCHEMA
    now_ms = rows(dsn, "SELECT (extract(epoch FROM now()) * 1000)::bigint")[0][0]
    sent, bad, earliest = rows(
        dsn,
        f"SELECT count(*), count(*) FILTER (WHERE updateat <> createat OR deleteat <> 0 OR "
        f"type <> '' OR message IS NULL), min(createat) FROM {s}.posts WHERE id LIKE 'lt%'",
    )[0]
    assert sent == sent_w1 and bad == 0, (sent, sent_w1, bad)
    assert now_ms - 600_000 < earliest <= now_ms  # epoch milliseconds of the write, not µs or s
    # the counters the load computed stay true under the writes
    off = rows(
        dsn,
        f"SELECT count(*) FROM {s}.channels c LEFT JOIN (SELECT channelid, count(*) AS n, "
        f"max(createat) AS last FROM {s}.posts GROUP BY 1) p ON p.channelid = c.id "
        "WHERE c.totalmsgcount <> coalesce(p.n, 0) OR c.lastpostat <> coalesce(p.last, 0)",
    )[0][0]
    assert off == 0
    # a member W2 moved: its count is the room's posts up to its new cursor. A post may fall
    # either side of it: one a concurrent W1 commits while W2 counts, or one written later in
    # the cursor's own millisecond (createat has ms resolution). Each such member is off by at
    # most one post per client (2), and they are few; none counts more than the room holds
    moved = rows(
        dsn,
        f"SELECT count(*), count(*) FILTER (WHERE d <> 0), coalesce(max(abs(d)), 0), "
        f"count(*) FILTER (WHERE over) FROM (SELECT m.msgcount - (SELECT count(*) FROM "
        f"{s}.posts p WHERE p.channelid = m.channelid AND p.createat <= m.lastviewedat) AS d, "
        f"m.msgcount > c.totalmsgcount AS over FROM {s}.channelmembers m JOIN {s}.channels c "
        f"ON c.id = m.channelid WHERE m.lastviewedat >= {now_ms - 600_000}) x",
    )[0]
    total, off_by, worst, over = moved
    assert total > 0 and off_by <= max(2, total // 10) and worst <= 2 and over == 0, moved
