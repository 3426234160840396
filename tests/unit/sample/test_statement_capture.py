"""Reading pg_stat_statements rows: literals, kinds of `$n`, ranking, the written query files."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthgen.mapping import parse_mapping
from synthgen.sample.errors import PrivacyError
from synthgen.sample.sqltext import lex, statement_kind
from synthgen.sample.statement_files import render_all, scan
from synthgen.sample.statements import Raw, classify
from synthgen.verify.production import production_numbers, todo_lines
from synthgen.verify.queries import parse_query

MAPPING = parse_mapping(
    {
        "schema": "app",
        "tables": {
            "messages": {
                "name": "posts",
                "columns": {"conversationId": "chat_id", "senderId": "author_id",
                            "createdAt": "created_at"},
            },
            "conversation_users": {
                "name": "chat_members",
                "columns": {"conversationId": "chat_id", "userId": "account_id"},
            },
            "users": {"name": "accounts"},
        },
    }
)  # fmt: skip
TYPES = {
    ("posts", "chat_id"): "bigint",
    ("posts", "author_id"): "uuid",
    ("posts", "created_at"): "timestamp without time zone",
    ("posts", "id"): "bigint",
    ("chat_members", "chat_id"): "bigint",
    ("chat_members", "account_id"): "bigint",
}


def _one(text: str) -> tuple[dict[int, tuple[str, str, str]], dict[int, str]]:
    capture = classify([Raw(text, 1, 1.0, 1.0, 1)], MAPPING, TYPES, 10)
    assert len(capture.statements) == 1, capture
    s = capture.statements[0]
    return {n: p[:2] for n, p in s.params.items()}, s.todo  # type: ignore[misc]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1 FROM posts WHERE body = 'secret'",
        "SELECT 1 FROM posts WHERE body = E'it\\'s'",
        "SELECT 1 FROM posts WHERE body = $tag$secret$tag$",
        "SELECT 1 FROM posts WHERE body = $$secret$$",
    ],
)
def test_literals_are_found_and_never_kept(sql: str) -> None:
    lexed = lex(sql)
    assert lexed.has_literal
    assert "secret" not in lexed.text and "it" not in lexed.text.split()


def test_comments_are_dropped_and_parameters_are_not_literals() -> None:
    lexed = lex('/* user=ann@example.com */ SELECT "a""b" FROM posts -- x\nWHERE chat_id = $1')
    assert not lexed.has_literal
    assert lexed.text == 'SELECT "a""b" FROM posts WHERE chat_id = $1'


def test_statement_kinds() -> None:
    assert statement_kind("WITH x AS (UPDATE posts SET a = $1 RETURNING id) SELECT 1") == "write"
    assert statement_kind('SELECT "update" FROM posts') == "read"
    assert statement_kind("COPY (SELECT 1) TO STDOUT") == "other"


def test_kinds_through_the_mapping() -> None:
    params, todo = _one(
        "SELECT p.id FROM app.posts p WHERE p.chat_id = $1 AND p.created_at < $2 "
        "ORDER BY p.created_at DESC LIMIT $3"
    )
    assert params == {1: ("bigint", "conversation"), 2: ("timestamp", "conversation_cursor")}
    assert todo == {}
    params, todo = _one(
        "UPDATE chat_members SET active = true WHERE $2 = account_id AND chat_id = $1"
    )
    assert params == {1: ("bigint", "member_conversation"), 2: ("bigint", "member_user")}
    params, _ = _one("SELECT id FROM posts WHERE author_id = $1")
    assert params == {1: ("uuid", "user")}


def test_a_limit_the_server_kept_stays_as_it_was() -> None:
    capture = classify(
        [Raw("SELECT id FROM posts WHERE chat_id = $1 LIMIT 20", 1, 1.0, 1.0, 1)],
        MAPPING,
        TYPES,
        1,
    )
    (s,) = capture.statements
    assert s.constants == {} and s.text.endswith("LIMIT 20")


def test_a_time_compared_without_a_room_is_a_timestamp() -> None:
    params, todo = _one("SELECT id FROM posts WHERE created_at > $1")
    assert params == {1: ("timestamp", "timestamp")} and todo == {}


def test_uninferable_parameters_are_todos() -> None:
    _, todo = _one("SELECT id FROM posts WHERE id = $1")
    assert list(todo) == [1] and "posts.id" not in todo[1] and "id" in todo[1]
    _, todo = _one("SELECT id, $1::int FROM posts WHERE chat_id = $2")
    assert todo == {1: "not compared with a column"}


def test_ranking_filtering_and_counts() -> None:
    raw = [
        Raw("SELECT id FROM app.posts WHERE chat_id = $1", 10, 100.0, 10.0, 10),
        Raw("SELECT id FROM app.posts WHERE author_id = $1", 1000, 50.0, 0.05, 10),
        Raw("SELECT id FROM other_table WHERE x = $1", 5000, 900.0, 0.2, 1),
        Raw("COPY (SELECT id FROM app.posts WHERE body = 'x') TO STDOUT", 1, 1.0, 1.0, 1),
        Raw("<insufficient privilege>", 9, 9.0, 1.0, 1),
        Raw("VACUUM app.posts", 1, 500.0, 500.0, 0),
    ]
    by_total = classify(raw, MAPPING, TYPES, 1)
    assert [s.calls for s in by_total.statements] == [10]
    assert (by_total.dropped_literal, by_total.other_tables, by_total.not_visible) == (1, 1, 1)
    assert (by_total.not_queries, by_total.beyond_top) == (1, 1)
    by_calls = classify(raw, MAPPING, TYPES, 5, by="calls")
    assert [s.calls for s in by_calls.statements] == [1000, 10]


def test_rendered_files_parse_and_carry_weights(tmp_path: Path) -> None:
    raw = [
        Raw("SELECT id FROM posts WHERE chat_id = $1 ORDER BY created_at LIMIT $2 OFFSET $3 "
            "", 30, 60.0, 2.0, 600),
        Raw("SELECT id FROM posts WHERE id = $1", 10, 20.0, 2.0, 10),
        Raw("DELETE FROM chat_members WHERE chat_id = $1 AND account_id = $2", 20, 20.0, 1.0, 20),
    ]  # fmt: skip
    files = render_all(classify(raw, MAPPING, TYPES, 10), "total")
    assert [str(f.path) for f in files] == [
        "q1_select_posts.sql",
        "writes/w3_delete_chat_members.sql",
        "q2_select_posts.sql",
    ]  # fmt: skip  (ties on total time go by text)
    (tmp_path / "writes").mkdir()
    for f in files:
        (tmp_path / f.path).write_text(f.text)
    q1 = parse_query(tmp_path / files[0].path)
    assert q1.sql.endswith("LIMIT 50\nOFFSET 0") and [p.kind for p in q1.params] == ["conversation"]
    numbers = production_numbers(tmp_path / files[0].path)
    assert numbers == {"calls": 30, "mean_ms": 2.0, "total_ms": 60.0, "rows_per_call": 20.0,
                       "share_calls": 0.5, "share_time": 0.6}  # fmt: skip
    assert todo_lines(tmp_path / files[2].path)
    assert [p.kind for p in parse_query(tmp_path / files[1].path).params] == [
        "member_conversation", "member_user",
    ]  # fmt: skip


def test_scan_refuses_personal_data() -> None:
    files = render_all(
        classify([Raw("SELECT id FROM posts WHERE chat_id = $1 -- x", 1, 1.0, 1.0, 1)],
                 MAPPING, TYPES, 1), "total",
    )  # fmt: skip
    scan(files)
    files[0].text += "-- call +1 415 555 0100 4111\n"
    with pytest.raises(PrivacyError, match=r"q1_select_posts\.sql: looks like it holds phone"):
        scan(files)


def test_productions_schema_is_dropped_before_mapped_tables_only() -> None:
    raw = [Raw('SELECT p.id FROM app.posts p JOIN "app"."chat_members" m ON m.chat_id = p.chat_id '
               "JOIN app.audit a ON true WHERE p.chat_id = $1", 1, 1.0, 1.0, 1)]  # fmt: skip
    (s,) = classify(raw, MAPPING, TYPES, 1).statements
    assert s.text.startswith('SELECT p.id FROM posts p JOIN "chat_members" m ON')
    assert "JOIN app.audit a" in s.text  # not a mapped table: left as production wrote it
