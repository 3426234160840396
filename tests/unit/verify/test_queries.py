"""Query files and index scripts parse into what the verifier runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from synthgen.errors import VerifyError
from synthgen.spec import DEFAULT_SPEC_PATH
from synthgen.verify.indexes import DEFAULT_APPLY, DEFAULT_ROLLBACK, read_script
from synthgen.verify.queries import DEFAULT_QUERIES, load_queries, parse_query, split_statements


def test_default_queries() -> None:
    queries = load_queries()
    assert [q.key for q in queries] == ["q1", "q2", "q3", "q4", "q5"]
    assert [q.axes for q in queries] == [("conversation",)] * 2 + [("user",)] * 3
    q2 = queries[1]
    assert [(p.position, p.type, p.kind) for p in q2.params] == [
        (1, "bigint", "conversation"),
        (2, "timestamptz", "conversation_cursor"),
    ]
    assert "LATERAL" in queries[4].sql and queries[0].sql.endswith("LIMIT 50")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-- param $1 bigint room: x\nSELECT $1", "kind 'room'"),
        ("-- param $1 jsonb user: x\nSELECT $1", "type 'jsonb'"),
        ("-- param $1 bigint user: x\nSELECT $1, $2", r"uses parameters \[1, 2\]"),
        ("-- name: empty\n", "no SQL statement"),
        ("SELECT 1; SELECT 2", "more than one statement"),
    ],
)
def test_bad_query_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "q9_bad.sql"
    path.write_text(text)
    with pytest.raises(VerifyError, match=message):
        parse_query(path)


def test_index_scripts() -> None:
    apply = read_script(DEFAULT_APPLY)
    assert [s.index for s in apply if s.index] == [
        "idx_messages_conversation_created_desc",
        "idx_conversation_users_user_active",
        "idx_conversations_updated_desc",
    ]
    assert all("CONCURRENTLY" in s.sql for s in apply if s.index)
    assert all(
        "rationale" in s.comment and "expected plan change" in s.comment for s in apply if s.index
    )
    assert sum(1 for s in apply if s.index is None) == 2  # verification + bloat check
    rollback = read_script(DEFAULT_ROLLBACK)
    assert sorted(s.index for s in rollback if s.index) == sorted(s.index for s in apply if s.index)


def test_split_statements_ignores_semicolons_in_quotes_and_comments() -> None:
    parts = split_statements("-- a; comment\nSELECT ';' AS x;\n-- b\nSELECT 2")
    assert parts == [("a; comment", "SELECT ';' AS x"), ("b", "SELECT 2")]


def test_default_files_come_from_the_one_specs_folder() -> None:
    # synthgen/data is a symbolic link to the top-level specs/: one copy, shipped as package data
    specs = Path(__file__).resolve().parents[3] / "specs"
    assert specs / "indexes" / "phase-2.sql" == DEFAULT_APPLY
    assert specs / "indexes" / "phase-2-rollback.sql" == DEFAULT_ROLLBACK
    assert specs / "queries" == DEFAULT_QUERIES
    assert specs / "distribution-spec.json" == DEFAULT_SPEC_PATH
    assert (Path(__file__).resolve().parents[3] / "synthgen" / "data").is_symlink()


_PAIRED = (
    "-- name: Q9 unread in a room\n"
    "-- param $1 bigint user: a sampled user\n"
    "-- param $2 bigint conversation: a sampled room\n"
    'SELECT count(*) FROM "messages" WHERE "conversationId" = $2 AND "senderId" <> $1'
)


def test_a_user_and_a_room_pair_on_two_axes(tmp_path: Path) -> None:
    path = tmp_path / "q9_unread.sql"
    path.write_text(_PAIRED)
    query = parse_query(path)
    assert query.axes == ("user", "conversation")
    swapped = tmp_path / "q8_swapped.sql"
    swapped.write_text(_PAIRED.replace("$1 bigint user", "$3 bigint user").replace(
        "<> $1", "<> $3").replace("$2 bigint conversation", "$1 bigint conversation").replace(
        "= $2", "= $1"))  # fmt: skip
    assert parse_query(swapped).axes == ("conversation", "user")


def test_a_timestamp_is_a_third_independent_axis(tmp_path: Path) -> None:
    path = tmp_path / "q9_recent.sql"
    path.write_text(
        "-- param $1 bigint user: x\n-- param $2 timestamptz timestamp: y\n"
        "-- param $3 bigint conversation: z\n"
        'SELECT 1 FROM "messages" WHERE "senderId" = $1 AND "createdAt" > $2\n'
        'AND "conversationId" = $3'
    )
    query = parse_query(path)
    assert query.axes == ("user", "timestamp", "conversation")
    alone = tmp_path / "q8_alone.sql"
    alone.write_text("-- param $1 bigint timestamp: epoch ms\nSELECT 1 WHERE $1 > 0")
    assert parse_query(alone).axes == ("timestamp",)


@pytest.mark.parametrize("type_", ["text", "uuid"])
def test_a_timestamp_that_is_not_a_time_is_refused(tmp_path: Path, type_: str) -> None:
    path = tmp_path / "q9_bad.sql"
    path.write_text(f"-- param $1 bigint user: x\n-- param $2 {type_} timestamp: y\nSELECT $1, $2")
    with pytest.raises(VerifyError) as info:
        parse_query(path)
    assert str(info.value) == (
        f"{path}:2: parameter $2 timestamp cannot be {type_} (a time is timestamptz, timestamp, "
        "or bigint for epoch units)"
    )


@pytest.mark.parametrize(
    ("header", "line", "message"),
    [
        ("-- param $1 bigint conversation_cursor: x\n-- param $2 bigint user: y", 1,
         r"\$1 conversation_cursor needs a conversation parameter"),
        ("-- param $1 bigint user: x\n-- param $2 bigint member_user: y", 2,
         r"\$2 member_user and user would be the same user"),
        ("-- param $1 bigint member_user: x\n-- param $2 bigint conversation: y\n"
         "-- param $3 bigint member_conversation: z", 3,
         r"\$3 member_conversation pairs two rooms"),
        ("-- param $1 bigint member_conversation: x", 1,
         r"\$1 member_conversation needs the member_user"),
        ("-- param $1 bigint conversation: x\n-- param $2 bigint conversation: y", 2,
         r"\$2 is a second conversation \(\$1 is one"),
        ("-- param $1 bigint user: x\n-- param $2 timestamptz timestamp: y\n"
         "-- param $3 bigint timestamp: z", 3, r"\$3 is a second timestamp \(\$2 is one"),
    ],
)  # fmt: skip
def test_pairings_that_cannot_be_drawn_are_refused_naming_the_line(
    tmp_path: Path, header: str, line: int, message: str
) -> None:
    path = tmp_path / "q9_bad.sql"
    used = ", ".join(f"${n}" for n in range(1, header.count("-- param") + 1))
    path.write_text(f"{header}\nSELECT {used}")
    with pytest.raises(VerifyError) as info:
        parse_query(path)
    text = str(info.value)
    assert text.startswith(f"{path}:{line}: ") and "\n" not in text
    assert re.search(message, text), text
    assert "allowed: each kind once; conversation [+ conversation_cursor] for a room" in text
