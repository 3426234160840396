"""A query with a user and a room parameter: measured over every pair of their classes, refused
at parse time when its pairing cannot be drawn, and run by pgbench with every variable set —
all through the installed `synthgen` against the session's PostgreSQL."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from synthgen.loadtest.pgbench import find_pgbench
from synthgen.postgres.connect import connect, execute, fetch_all, fetch_value
from synthgen.postgres.dsn import with_search_path
from synthgen.schema import quote_ident

SYNTHGEN = Path(sys.executable).parent / "synthgen"
Loaded = tuple[str, str, Path]
UNREAD = """-- name: Q6 unread in one room
-- purpose: a user's unread messages in a room (the brief's Q4 shape: a user and a room).
-- param $1 bigint user: a sampled user
-- param $2 bigint conversation: a sampled room
SELECT count(*) AS unread
FROM "messages" m
WHERE m."conversationId" = $2
  AND m."senderId" <> $1
  AND m."createdAt" > '-infinity'::timestamptz;
"""


def synthgen(*args: str) -> subprocess.CompletedProcess[str]:
    assert SYNTHGEN.is_file(), f"{SYNTHGEN}: the console script is not installed"
    return subprocess.run([str(SYNTHGEN), *args], capture_output=True, text=True, timeout=600)


def _queries(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "queries"
    folder.mkdir()
    (folder / "q6_unread_in_room.sql").write_text(text)
    return folder


def test_user_and_room_run_over_every_pair_of_classes(loaded: Loaded, tmp_path: Path) -> None:
    dsn, schema, _ = loaded
    out = tmp_path / "baseline-pre.json"
    made = synthgen(
        "verify", "baseline", "--label", "pre", "--runs", "2", "--explain-runs", "1",
        "--warmups", "0", "--plan-mode", "custom", "--queries", str(_queries(tmp_path, UNREAD)),
        "--dsn", dsn, "--schema", schema, "--out", str(out), "--quiet",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    doc = json.loads(out.read_text())
    labels = [r["class"] for r in doc["results"]]
    assert labels == [f"{u}×{c}" for u in ("median", "top1") for c in ("median", "p95", "heavy")]
    params = doc["parameters"]
    for result in doc["results"]:
        user, room = result["class"].split("×")
        assert result["classes"] == {"user": user, "conversation": room}
        assert result["params"] == [params["user"][user]["id"], params["conversation"][room]["id"]]
    # the classes are what they say, read from the tables (not from the baseline's own numbers)
    q = quote_ident(schema)
    with connect(dsn, autocommit=True) as conn:
        rooms = {
            c: fetch_value(
                conn, f'SELECT count(*) FROM {q}.messages WHERE "conversationId" = $1',
                (params["conversation"][c]["id"],),
            )
            for c in ("median", "p95", "heavy")
        }  # fmt: skip
        heavy = fetch_value(
            conn, f'SELECT "isHeavy" FROM {q}.conversation_traits WHERE "conversationId" = $1',
            (params["conversation"]["heavy"]["id"],),
        )  # fmt: skip
        users = {
            u: fetch_value(
                conn,
                f'SELECT count(*) FROM {q}.conversation_users WHERE "userId" = $1 AND "isActive"',
                (params["user"][u]["id"],),
            )
            for u in ("median", "top1")
        }
    assert rooms["median"] < rooms["p95"] < rooms["heavy"] and heavy is True
    assert users["median"] < users["top1"]


def test_a_pairing_that_cannot_be_drawn_is_refused_before_connecting(tmp_path: Path) -> None:
    bad = UNREAD.replace("$2 bigint conversation:", "$2 timestamptz conversation_cursor:")
    nowhere = "postgresql://nobody@127.0.0.1:1/none"  # nothing listens: a connection would fail
    out = tmp_path / "baseline-pre.json"
    for args in (
        ("verify", "baseline", "--label", "pre", "--out", str(out)),
        ("run", "--band", "dev", "--scale", "0.02", "--out", str(tmp_path / "run")),
    ):
        refused = synthgen(*args, "--queries", str(_queries(tmp_path, bad)), "--dsn", nowhere)
        shutil.rmtree(tmp_path / "queries")
        assert refused.returncode == 1, refused.stdout + refused.stderr
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1, refused.stderr
        assert lines[0].startswith(f"error: {tmp_path / 'queries' / 'q6_unread_in_room.sql'}:4: ")
        assert "$2 conversation_cursor needs a conversation parameter" in lines[0]
        assert "allowed: each kind once" in lines[0]
    assert not out.exists() and not (tmp_path / "run").exists()


def test_the_pgbench_script_of_a_paired_query_sets_every_variable(
    loaded: Loaded, tmp_path: Path
) -> None:
    dsn, schema, _ = loaded
    workload = tmp_path / "workload"
    paired = UNREAD.replace("'-infinity'::timestamptz", "$3").replace(
        "-- param $2 bigint conversation: a sampled room\n",
        "-- param $2 bigint conversation: a sampled room\n"
        "-- param $3 timestamptz conversation_cursor: a createdAt in it\n",
    )
    try:
        made = synthgen(
            "workload", "--dsn", dsn, "--schema", schema, "--mix", "Q6=1",
            "--queries", str(_queries(tmp_path, paired)), "--record-draws", "--out", str(workload),
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        script = workload / "q6.pgbench"
        text = script.read_text()
        assert ":room" in text and ":user_id" in text and ":room_cursor" in text
        ran = subprocess.run(
            [find_pgbench(), "-n", "-M", "extended", "-t", "20", "-f", str(script),
             with_search_path(dsn, schema)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert ran.returncode == 0, ran.stdout + ran.stderr
        assert "number of transactions actually processed: 20/20" in ran.stdout, ran.stdout
        with connect(dsn, autocommit=True) as conn:
            drawn = fetch_value(
                conn, f"SELECT count(*) FROM {quote_ident(schema)}.synthgen_lt_draws "
                "WHERE script = 'Q6'",
            )  # fmt: skip
        assert drawn == 20
    finally:
        with connect(dsn, autocommit=True) as conn:
            for table in ("rooms", "members", "users", "user_rooms", "draws", "times"):
                execute(conn, f"DROP TABLE IF EXISTS {quote_ident(schema)}.synthgen_lt_{table}")
            execute(conn, f"DROP SEQUENCE IF EXISTS {quote_ident(schema)}.synthgen_lt_message_id")


RECENT = """-- name: Q7 a user's recent messages
-- purpose: what a user sent since a point in time, across every room.
-- param $1 bigint user: a sampled user
-- param $2 timestamptz timestamp: a time before the newest message
SELECT count(*) AS sent
FROM "messages" m
WHERE m."senderId" = $1
  AND m."createdAt" > $2;
"""


def test_a_user_and_a_timestamp_run_over_every_pair_of_classes(
    loaded: Loaded, tmp_path: Path
) -> None:
    dsn, schema, _ = loaded
    folder = tmp_path / "queries"
    folder.mkdir()
    (folder / "q7_recent.sql").write_text(RECENT)
    out = tmp_path / "baseline-pre.json"
    made = synthgen(
        "verify", "baseline", "--label", "pre", "--runs", "1", "--explain-runs", "1",
        "--warmups", "0", "--plan-mode", "custom", "--queries", str(folder),
        "--dsn", dsn, "--schema", schema, "--out", str(out), "--quiet",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    doc = json.loads(out.read_text())
    labels = [r["class"] for r in doc["results"]]
    assert labels == [f"{u}×{t}" for u in ("median", "top1") for t in ("1h", "1d", "7d")]
    params = doc["parameters"]
    back = {"1h": "1 hour", "1d": "1 day", "7d": "7 days"}
    q = quote_ident(schema)
    with connect(dsn, autocommit=True) as conn:
        for result in doc["results"]:
            user, when = result["class"].split("×")
            assert result["classes"] == {"user": user, "timestamp": when}
            assert result["params"][0] == params["user"][user]["id"]
            # each time is exactly that long before the newest message, read from the table
            exact = fetch_value(
                conn, f'SELECT $1::timestamptz = max("createdAt") - interval \'{back[when]}\' '
                f"FROM {q}.messages", (result["params"][1],),
            )  # fmt: skip
            assert exact is True, (when, result["params"][1])
            epoch_ms = fetch_value(
                conn, f"SELECT round(extract(epoch FROM max(\"createdAt\") - interval "
                f"'{back[when]}') * 1000)::bigint FROM {q}.messages",
            )  # fmt: skip
            assert params["timestamp"][when]["epoch"] == epoch_ms
        recent = {
            when: fetch_value(
                conn, f'SELECT count(*) FROM {q}.messages WHERE "createdAt" > $1::timestamptz',
                (params["timestamp"][when]["at"],),
            )
            for when in ("1h", "1d", "7d")
        }  # fmt: skip
    assert 0 < recent["1h"] < recent["1d"] < recent["7d"], recent


def test_the_pgbench_script_of_a_timestamp_query_sets_every_variable(
    loaded: Loaded, tmp_path: Path
) -> None:
    dsn, schema, _ = loaded
    folder = tmp_path / "queries"
    folder.mkdir()
    (folder / "q7_recent.sql").write_text(RECENT)
    # a timestamp alone, in epoch ms, compared with the epoch of the time column
    (folder / "q8_since.sql").write_text(
        "-- name: Q8 messages since\n-- param $1 bigint timestamp: epoch ms before the newest\n"
        'SELECT count(*) FROM "messages" WHERE "createdAt" > to_timestamp($1 / 1000.0);\n'
    )
    workload = tmp_path / "workload"
    q = quote_ident(schema)
    try:
        made = synthgen(
            "workload", "--dsn", dsn, "--schema", schema, "--mix", "Q7=1,Q8=1",
            "--queries", str(folder), "--record-draws", "--out", str(workload),
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        assert ":ts_at" in (workload / "q7.pgbench").read_text()
        assert ":ts_epoch" in (workload / "q8.pgbench").read_text()
        for key in ("q7", "q8"):
            ran = subprocess.run(
                [find_pgbench(), "-n", "-M", "extended", "-t", "15",
                 "-f", str(workload / f"{key}.pgbench"), with_search_path(dsn, schema)],
                capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            assert ran.returncode == 0, ran.stdout + ran.stderr
            assert "number of transactions actually processed: 15/15" in ran.stdout, ran.stdout
        with connect(dsn, autocommit=True) as conn:
            # the drawn times: the three classes, each exactly its distance before the newest
            times = fetch_all(
                conn, f"SELECT k, at = (SELECT max(\"createdAt\") FROM {q}.messages) - "
                "(ARRAY[interval '1 hour', interval '1 day', interval '7 days'])[k], at_epoch = "
                f"round(extract(epoch FROM at) * 1000)::bigint FROM {q}.synthgen_lt_times "
                "ORDER BY k",
            )  # fmt: skip
            drawn = fetch_value(
                conn, f"SELECT count(*) FROM {q}.synthgen_lt_draws WHERE script = 'Q7'"
            )
        assert times == [(1, True, True), (2, True, True), (3, True, True)]
        assert drawn == 15
    finally:
        with connect(dsn, autocommit=True) as conn:
            for table in ("rooms", "members", "users", "user_rooms", "draws", "times"):
                execute(conn, f"DROP TABLE IF EXISTS {q}.synthgen_lt_{table}")
            execute(conn, f"DROP SEQUENCE IF EXISTS {q}.synthgen_lt_message_id")
