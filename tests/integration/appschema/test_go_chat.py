"""The go-chat example end to end through the installed command on a real PostgreSQL: epoch
milliseconds in bigint columns, varchar(26) text ids, one-letter channel types, no foreign keys
(related rows by `ref` fills), soft deletes, per-member read cursors with their counters, a GIN
full-text index, jsonb / array / tsvector columns left to their defaults — loaded by a mapping
alone, then the index gate on the example's own queries and phase-2 script."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from support.paths import SYNTHGEN
from support.pg import query, run_sql
from synthgen.appschema.migrate import run_migrations

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "go-chat"


def _synthgen(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SYNTHGEN), *args], capture_output=True, text=True, timeout=900)


@pytest.fixture()
def go_schema(pg_dsn: str, tmp_path: Path) -> Any:
    made: list[str] = []

    def make(name: str, edit: Callable[[dict[str, Any]], None] | None = None) -> Path:
        run_sql(pg_dsn, f'DROP SCHEMA IF EXISTS "{name}" CASCADE',
                f'DROP SCHEMA IF EXISTS "synthgen_{name}" CASCADE')  # fmt: skip
        run_migrations(pg_dsn, name, str(EXAMPLE / "schema.sql"))
        made.append(name)
        mapping = json.loads((EXAMPLE / "mapping.json").read_text())
        mapping["schema"] = name
        if edit is not None:
            edit(mapping)
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(mapping))
        return path

    yield make
    for name in made:
        run_sql(pg_dsn, f'DROP SCHEMA IF EXISTS "{name}" CASCADE',
                f'DROP SCHEMA IF EXISTS "synthgen_{name}" CASCADE')  # fmt: skip


def _parquet(dataset: Path, sql: str) -> tuple[Any, ...]:
    con = duckdb.connect()
    try:
        row = con.execute(sql.replace("MESSAGES", f"'{dataset}/messages/*.parquet'")).fetchone()
    finally:
        con.close()
    assert row is not None
    return tuple(row)


def _indexes(dsn: str, schema: str) -> set[tuple[str, str]]:
    rows = query(dsn, f"SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = '{schema}'")
    return {(str(a), str(b)) for a, b in rows}


def test_the_go_chat_example_loads_and_verifies(
    app_dataset: Path, pg_dsn: str, go_schema: Any, tmp_path: Path
) -> None:
    schema = "go_chat"
    mapping = go_schema(schema)
    before = _indexes(pg_dsn, schema)
    common = [str(app_dataset), "--dsn", pg_dsn, "--mapping", str(mapping)]
    plan = _synthgen("load", *common, "--plan")
    assert plan.returncode == 0, plan.stderr
    lines = plan.stdout.splitlines()
    assert "    createat (bigint) <- createdAt as epoch ms" in lines
    assert "    type (character varying(1)) <- type (value map: DIRECT->D, GROUP->P)" in lines
    assert any(
        line.startswith("    updateat (bigint) <- fill {'from': 'createdAt'} (automatic)")
        and line.endswith("as epoch ms")
        for line in lines
    ), plan.stdout
    assert any("props, hashtags, search" in line for line in lines), plan.stdout

    loaded = _synthgen("load", *common, "--jobs", "2", "--quiet")
    assert loaded.returncode == 0, loaded.stderr
    s = schema
    # epoch milliseconds: the posts' times are the Parquet rows' epoch_ms(createdAt)
    want = _parquet(app_dataset, 'SELECT epoch_ms(min("createdAt")), epoch_ms(max("createdAt")), '
                    "count(*) FROM read_parquet(MESSAGES)")  # fmt: skip
    got = query(pg_dsn, f"SELECT min(createat), max(createat), count(*) FROM {s}.posts")[0]
    assert tuple(int(v) for v in got) == want
    assert query(pg_dsn, f"SELECT count(*) FROM {s}.posts WHERE updateat <> createat")[0][0] == 0
    # ids: the contract's decimal ids in varchar(26)
    longest = query(pg_dsn, f"SELECT max(length(id)), min(id::bigint) FROM {s}.posts")[0]
    assert 1 <= longest[0] <= 20 and longest[1] >= 1
    # one-letter types, soft-delete constants, unknown types left to their defaults
    types = query(pg_dsn, f"SELECT type, count(*) FROM {s}.channels GROUP BY 1 ORDER BY 1")
    assert [t for t, _ in types] == ["D", "P"] and all(n > 0 for _, n in types)
    live = query(pg_dsn, f"SELECT count(*) FILTER (WHERE deleteat <> 0), count(*) FILTER "
                 f"(WHERE props IS NOT NULL OR hashtags IS NOT NULL OR search IS NOT NULL) "
                 f"FROM {s}.posts")  # fmt: skip
    assert live[0] == (0, 0)
    assert query(pg_dsn, f"SELECT count(*) FROM {s}.users WHERE notifyprops <> '{{}}'")[0][0] == 0
    # related rows without foreign keys: a file's creator is its post's author; a channel's
    # creator its owner (else its earliest member)
    wrong = query(pg_dsn, f"SELECT count(*), count(*) FILTER (WHERE f.creatorid <> p.userid) "
                  f"FROM {s}.fileinfo f JOIN {s}.posts p ON p.id = f.postid")  # fmt: skip
    assert wrong[0][0] > 100 and wrong[0][1] == 0
    owners = query(
        pg_dsn,
        f"SELECT count(*) FROM {s}.channels c WHERE c.creatorid <> (SELECT "
        f"m.userid FROM {s}.channelmembers m WHERE m.channelid = c.id ORDER BY "
        "m.roles NOT LIKE 'channel_admin%', m.lastupdateat, m.userid::bigint LIMIT 1)",
    )
    assert owners[0][0] == 0
    # the counters: a channel's total posts and last post, a member's posts up to its cursor
    totals = query(pg_dsn, f"SELECT count(*) FROM {s}.channels c LEFT JOIN (SELECT channelid, "
                   f"count(*) AS n, max(createat) AS last FROM {s}.posts GROUP BY 1) p ON "
                   "p.channelid = c.id WHERE c.totalmsgcount <> coalesce(p.n, 0) OR "
                   "c.lastpostat <> coalesce(p.last, 0)")  # fmt: skip
    assert totals[0][0] == 0
    cursors = query(pg_dsn, f"SELECT count(*), count(*) FILTER (WHERE m.msgcount <> (SELECT "
                    f"count(*) FROM {s}.posts p WHERE p.channelid = m.channelid AND p.createat "
                    f"<= m.lastviewedat)), count(*) FILTER (WHERE m.msgcount > 0) FROM "
                    f"{s}.channelmembers m")  # fmt: skip
    assert cursors[0][1] == 0 and cursors[0][2] > cursors[0][0] // 10, cursors
    # the GIN expression index, like every index, dropped for the load and rebuilt as it was
    assert _indexes(pg_dsn, s) == before
    assert any("USING gin (to_tsvector" in d for _, d in before)

    _gate(pg_dsn, schema, mapping, tmp_path)


def _gate(dsn: str, schema: str, mapping: Path, out: Path) -> None:
    """The example's queries and phase-2 script through the index gate: GO on the server's
    own times (the new index removes every sort of the channel pages)."""
    common = ["--dsn", dsn, "--mapping", str(mapping), "--queries", str(EXAMPLE / "queries"),
              "--runs", "5", "--explain-runs", "3", "--quiet"]  # fmt: skip
    pre = _synthgen("verify", "baseline", "--label", "pre", "--out", str(out / "pre.json"), *common)
    assert pre.returncode == 0, pre.stderr
    heavy = json.loads((out / "pre.json").read_text())["parameters"]["conversation"]["heavy"]
    rows = query(dsn, f"SELECT count(*) FROM {schema}.posts WHERE channelid = '{heavy['id']}'")
    assert rows[0][0] == heavy["messages"]
    applied = _synthgen("indexes", "apply", "--dsn", dsn, "--schema", schema, "--file",
                        str(EXAMPLE / "phase-2.sql"), "--quiet")  # fmt: skip
    assert applied.returncode == 0, applied.stderr
    post = _synthgen("verify", "baseline", "--label", "post", "--out", str(out / "post.json"),
                     *common)  # fmt: skip
    assert post.returncode == 0, post.stderr
    compared = _synthgen("verify", "compare", str(out / "pre.json"), str(out / "post.json"),
                         "--metric", "explain")  # fmt: skip
    assert compared.returncode == 0, compared.stdout + compared.stderr
    assert "decision: GO" in compared.stdout
    rolled = _synthgen("indexes", "rollback", "--dsn", dsn, "--schema", schema, "--file",
                       str(EXAMPLE / "phase-2-rollback.sql"), "--quiet")  # fmt: skip
    assert rolled.returncode == 0, rolled.stderr


def _short_ids(mapping: dict[str, Any]) -> None:
    mapping["values"]["conversations.type"]["GROUP"] = "PG"


@pytest.mark.parametrize(
    ("name", "ddl", "edit", "expected"),
    [
        ("go_short_id", "ALTER TABLE {s}.posts ALTER COLUMN id TYPE varchar(19)", None,
         "posts.id: character varying(19) is too short for text ids (up to 20 characters)"),
        ("go_long_value", "", _short_ids,
         "values.conversations.type.GROUP: 'PG' does not fit type (character varying(1))"),
        ("go_jsonb", "ALTER TABLE {s}.posts ADD COLUMN meta jsonb NOT NULL", None,
         "posts.meta: type jsonb is not supported by the loader; give it a default"),
    ],
)  # fmt: skip
def test_what_does_not_fit_is_refused_by_the_plan(
    app_dataset: Path,
    pg_dsn: str,
    go_schema: Any,
    name: str,
    ddl: str,
    edit: Callable[[dict[str, Any]], None] | None,
    expected: str,
) -> None:
    mapping = go_schema(name, edit)
    if ddl:
        run_sql(pg_dsn, ddl.format(s=name))
    refused = _synthgen("load", str(app_dataset), "--dsn", pg_dsn, "--mapping", str(mapping),
                        "--plan")  # fmt: skip
    assert refused.returncode == 1, refused.stdout
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], refused.stderr


def test_mapping_init_matches_the_go_schema_by_meaning(
    app_dataset: Path, pg_dsn: str, go_schema: Any, tmp_path: Path
) -> None:
    """`mapping init` on a schema whose names are not the contract's: channels are rooms, a
    member table keyed by (channel, user) is conversation_users, a file table with a post
    reference is attachments, createat is createdAt, channelid conversationId."""
    go_schema("go_init")
    out = tmp_path / "init.json"
    made = _synthgen("mapping", "init", "--dsn", pg_dsn, "--schema", "go_init", "--out", str(out))
    assert made.returncode == 0, made.stderr
    tables = json.loads(out.read_text())["tables"]
    assert tables["conversations"]["name"] == "channels"
    assert tables["conversations"]["columns"]["createdAt"] == "createat"
    assert tables["conversation_users"]["name"] == "channelmembers"
    assert tables["conversation_users"]["columns"] == {
        "conversationId": "channelid", "userId": "userid", "role": "roles",
        "lastReadAt": "lastviewedat",
    }  # fmt: skip
    assert tables["messages"]["name"] == "posts"
    assert tables["messages"]["columns"]["conversationId"] == "channelid"
    assert tables["messages"]["columns"]["senderId"] == "userid"
    assert tables["attachments"]["name"] == "fileinfo"
    assert tables["attachments"]["columns"]["messageId"] == "postid"
    assert tables["read_receipts"] == {"skip": True}
    # what init cannot know is left to the user, and the plan says what in one line
    plan = _synthgen("load", str(app_dataset), "--dsn", pg_dsn, "--mapping", str(out), "--plan")
    assert plan.returncode == 1
    assert plan.stderr.count("\n") == 1 and "values.conversations.type" in plan.stderr
