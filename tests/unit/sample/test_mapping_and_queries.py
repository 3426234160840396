"""--mapping and the sampler's SQL: quoted names, constant outputs, aggregate-only statements."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from synthgen.errors import MappingError
from synthgen.mapping import Mapping, load_mapping, parse_mapping
from synthgen.sample.histograms import Thresholds, registry
from synthgen.sample.queries import QueryBuilder

MAPPING = {
    "schema": "app",
    "tables": {"messages": {"name": "posts", "columns": {"conversationId": "chat_id"}}},
    "values": {"messages.type": {"TEXT": "text", "IMAGE": "photo"}},
}


def test_mapping_translates_names_and_keeps_the_rest() -> None:
    m = parse_mapping(MAPPING)
    assert m.table("messages") == '"app"."posts"'
    assert m.col("messages", "conversationId", "x") == 'x."chat_id"'
    assert m.col("messages", "createdAt", "x") == 'x."createdAt"'
    assert m.table("users") == '"app"."users"'
    assert parse_mapping(MAPPING, schema="prod").schema == "prod"  # --schema wins
    assert Mapping().schema == "public"


def test_enum_case_emits_only_contract_constants() -> None:
    case = parse_mapping(MAPPING).enum_case("messages", "type", "x")
    assert case.startswith('CASE CAST(x."type" AS text)')
    assert "WHEN 'photo' THEN 'IMAGE'" in case and "WHEN 'text' THEN 'TEXT'" in case
    assert "WHEN 'VIDEO' THEN 'VIDEO'" in case  # unmapped values keep the contract's spelling
    assert case.endswith("ELSE 'OTHER' END")


def test_hostile_names_are_quoted_never_spliced() -> None:
    m = parse_mapping(
        {"tables": {"users": {"name": 'u"; DROP TABLE x; --'}},
         "values": {"messages.type": {"TEXT": "it's"}}}
    )  # fmt: skip
    assert m.table("users") == '"public"."u""; DROP TABLE x; --"'
    assert "WHEN 'it''s' THEN 'TEXT'" in m.enum_case("messages", "type", "m")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"tables": {"accounts": {}}}, "tables.accounts: not a table of the dataset contract"),
        ({"tables": {"users": {"columns": {"mail": "x"}}}}, "tables.users.columns.mail"),
        ({"tables": {"users": {"name": ""}}}, "tables.users.name must be a non-empty string"),
        ({"values": {"messages.content": {}}}, "values.messages.content: not an enum column"),
        ({"values": {"messages.type": {"POLL": "poll"}}}, "values.messages.type.POLL"),
        ({"tabels": {}}, "unknown key 'tabels'"),
        ([], "the document must be a JSON object"),
    ],
)
def test_bad_mappings_name_the_culprit(raw: object, message: str) -> None:
    with pytest.raises(MappingError, match=re.escape(message)):
        parse_mapping(raw)


def test_load_mapping_errors(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="not found"):
        load_mapping(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(MappingError, match="not valid JSON"):
        load_mapping(bad)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(MAPPING))
    assert load_mapping(good).table_name("messages") == "posts"
    assert load_mapping(None, "prod").schema == "prod"


def test_every_statement_selects_only_constants_and_aggregates() -> None:
    t = Thresholds()
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 31, tzinfo=UTC)
    queries = QueryBuilder(parse_mapping(MAPPING), t, registry(t), start, end).all()
    assert [q.name for q in queries] == [
        "conversations", "messages", "attachments", "gaps", "receipts", "members", "users"
    ]  # fmt: skip
    for q in queries:
        parts = q.sql.split("\nUNION ALL\n")
        parts[0] = parts[0].rsplit(")\n", 1)[-1]  # after the CTEs
        for part in parts:
            # a constant metric name, a bucket index or constant key, one aggregate, grouped
            assert re.match(r"SELECT '[a-z_.]+'", part), part
            assert re.search(r'(count\(\*\)|sum\(n_messages\))\)?::bigint FROM [\w"]', part)
            assert '"content"' not in part and re.search(r"GROUP BY|FROM first_read$", part)
        assert "TIMESTAMPTZ '2026-01-31 00:00:00+00'" in q.sql
    assert '"app"."posts"' in queries[1].sql and 'msg."chat_id"' in queries[0].sql
