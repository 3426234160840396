"""A generated dataset honours the dataset contract: schema, counts and every integrity rule."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from synthgen.schema import TABLES
from synthgen.spec import load_spec

Query = Callable[[str], list[tuple[Any, ...]]]


def test_schemas_match_the_contract(tiny_dataset: Path) -> None:
    for name, table in TABLES.items():
        files = sorted((tiny_dataset / name).glob("part-*.parquet"))
        assert files, name
        for f in files:
            assert pq.read_schema(f).remove_metadata() == table.arrow_schema, f


def test_counts_are_exact_and_match_the_manifest(tiny_dataset: Path, query: Query) -> None:
    manifest = json.loads((tiny_dataset / "manifest.json").read_text())
    assert manifest["counts"]["messages"] == 100_000
    assert manifest["counts"]["users"] == 100
    assert manifest["counts"]["conversations"] == 160
    for table, rows in manifest["counts"].items():
        assert query(f"SELECT count(*) FROM {table}")[0][0] == rows, table
    assert manifest["command"].startswith("synthgen generate --band dev --scale 0.02 --seed tiny")


def test_conversation_mix_and_traits(query: Query) -> None:
    rows = dict(query("SELECT sizeClass, count(*) FROM conversation_traits GROUP BY 1"))
    assert rows == {"direct": 112, "small": 40, "large": 8}
    assert query("SELECT count(*) FROM conversation_traits WHERE isHeavy")[0][0] == 3
    bad = query(
        """SELECT count(*) FROM conversations c
           JOIN conversation_traits t ON t.conversationId = c.id
           WHERE (c.type = 'DIRECT') <> (t.sizeClass = 'direct')
              OR (c.type = 'DIRECT') <> (c.title IS NULL)"""
    )
    assert bad[0][0] == 0
    sizes = query(
        """SELECT t.sizeClass, min(n), max(n) FROM (SELECT conversationId, count(*) n
           FROM conversation_users GROUP BY 1) m JOIN conversation_traits t USING (conversationId)
           GROUP BY 1 ORDER BY 1"""
    )
    assert sizes[0] == ("direct", 2, 2)
    assert sizes[1][0] == "large" and sizes[1][1] >= 21
    assert sizes[2][0] == "small" and sizes[2][1] >= 3 and sizes[2][2] <= 20


INTEGRITY = {
    "primary keys unique": """SELECT (SELECT count(*) - count(DISTINCT id) FROM messages)
        + (SELECT count(*) - count(DISTINCT id) FROM users)
        + (SELECT count(*) - count(DISTINCT id) FROM attachments)
        + (SELECT count(*) FROM (SELECT messageId, userId FROM read_receipts GROUP BY 1, 2
                                 HAVING count(*) > 1))
        + (SELECT count(*) FROM (SELECT conversationId, userId FROM conversation_users
                                 GROUP BY 1, 2 HAVING count(*) > 1))""",
    "emails unique": "SELECT count(*) - count(DISTINCT email) FROM users",
    "foreign keys resolve": """SELECT
        (SELECT count(*) FROM messages m ANTI JOIN conversations c ON c.id = m.conversationId)
      + (SELECT count(*) FROM messages m ANTI JOIN users u ON u.id = m.senderId)
      + (SELECT count(*) FROM attachments a ANTI JOIN messages m ON m.id = a.messageId)
      + (SELECT count(*) FROM read_receipts r ANTI JOIN messages m ON m.id = r.messageId)
      + (SELECT count(*) FROM conversation_users cu ANTI JOIN users u ON u.id = cu.userId)""",
    "sender is a member who had joined": """SELECT count(*) FROM messages m
        LEFT JOIN conversation_users cu ON cu.conversationId = m.conversationId
         AND cu.userId = m.senderId
        WHERE cu.userId IS NULL OR m.createdAt < cu.joinedAt""",
    "reader is a member who had joined, not the sender": """SELECT count(*) FROM read_receipts r
        JOIN messages m ON m.id = r.messageId
        LEFT JOIN conversation_users cu ON cu.conversationId = m.conversationId
         AND cu.userId = r.userId
        WHERE cu.userId IS NULL OR r.userId = m.senderId OR m.createdAt < cu.joinedAt""",
    "createdAt strictly increasing per conversation (by id too)": """SELECT count(*) FROM (
        SELECT createdAt, lag(createdAt) OVER (PARTITION BY conversationId ORDER BY id) prev
        FROM messages) WHERE createdAt <= prev""",
    "user createdAt <= joinedAt": """SELECT count(*) FROM conversation_users cu
        JOIN users u ON u.id = cu.userId WHERE cu.joinedAt < u.createdAt""",
    "readAt after the message": """SELECT count(*) FROM read_receipts r
        JOIN messages m ON m.id = r.messageId WHERE r.readAt <= m.createdAt""",
    # in rooms that write receipt rows (the default spec: at most 20 members); a bigger room's
    # lastReadAt is the latest of reads drawn but not written
    "lastReadAt is the latest readAt": """SELECT count(*) FROM conversation_users cu
        LEFT JOIN (SELECT m.conversationId, r.userId, max(r.readAt) latest FROM read_receipts r
                   JOIN messages m ON m.id = r.messageId GROUP BY 1, 2) x
          ON x.conversationId = cu.conversationId AND x.userId = cu.userId
        WHERE cu.lastReadAt IS DISTINCT FROM x.latest AND cu.conversationId IN (
            SELECT conversationId FROM conversation_users GROUP BY 1 HAVING count(*) <= 20)""",
    "no receipt rows in rooms above 20 members": """SELECT count(*) FROM read_receipts r
        JOIN messages m ON m.id = r.messageId WHERE m.conversationId IN (
            SELECT conversationId FROM conversation_users GROUP BY 1 HAVING count(*) > 20)""",
    "updatedAt is the last message's createdAt": """SELECT count(*) FROM conversations c
        LEFT JOIN (SELECT conversationId, max(createdAt) latest FROM messages GROUP BY 1) x
          ON x.conversationId = c.id
        WHERE c.updatedAt IS DISTINCT FROM coalesce(x.latest, c.createdAt)""",
    "DIRECT pairs unique": """SELECT count(*) FROM (SELECT a, b FROM (
        SELECT cu.conversationId, min(userId) a, max(userId) b FROM conversation_users cu
        JOIN conversations c ON c.id = cu.conversationId WHERE c.type = 'DIRECT' GROUP BY 1)
        GROUP BY 1, 2 HAVING count(*) > 1)""",
    "one attachment per media message, none for TEXT": """SELECT count(*) FROM messages m
        FULL JOIN attachments a ON a.messageId = m.id
        WHERE (m.type = 'TEXT') <> (a.id IS NULL) OR a.kind <> m.type""",
    "emails on reserved domains only": """SELECT count(*) FROM users WHERE NOT regexp_matches(
        email, '^[a-z]+\\.[a-z]+[0-9]+@(example\\.(com|org|net)|[a-z]+\\.test)$')""",
    "no digits or @ in names and text": """SELECT (SELECT count(*) FROM messages
        WHERE regexp_matches(content, '[0-9@]')) + (SELECT count(*) FROM users
        WHERE regexp_matches(displayName, '[0-9@]'))""",
}


@pytest.mark.parametrize("rule", sorted(INTEGRITY))
def test_integrity_rule_holds(query: Query, rule: str) -> None:
    assert query(INTEGRITY[rule])[0][0] == 0


def test_nothing_after_the_snapshot(query: Query) -> None:
    snapshot = load_spec().raw["time"]["snapshot"]
    late = query(
        f"""SELECT (SELECT count(*) FROM messages WHERE createdAt > TIMESTAMPTZ '{snapshot}')
          + (SELECT count(*) FROM read_receipts WHERE readAt > TIMESTAMPTZ '{snapshot}')
          + (SELECT count(*) FROM users WHERE lastSeenAt > TIMESTAMPTZ '{snapshot}')
          + (SELECT count(*) FROM conversation_users WHERE joinedAt > TIMESTAMPTZ '{snapshot}')"""
    )
    assert late[0][0] == 0


def test_media_and_content_shape(query: Query) -> None:
    media, captioned = query(
        """SELECT avg((type <> 'TEXT')::int),
                  avg((content IS NOT NULL)::int) FILTER (WHERE type <> 'TEXT')
           FROM messages"""
    )[0]
    assert abs(media - 0.15) < 0.01
    assert abs(captioned - 0.30) < 0.02
    mu, sigma, longest = query(
        "SELECT avg(ln(length(content))), stddev_pop(ln(length(content))), max(length(content)) "
        "FROM messages WHERE type = 'TEXT'"
    )[0]
    assert abs(mu - 4.5) < 0.05 and abs(sigma - 1.2) < 0.05 and longest <= 2000


def test_no_text_starts_or_ends_with_a_space(query: Query) -> None:
    edges = query(
        """SELECT count(*) FILTER (WHERE content LIKE ' %' OR content LIKE '% '),
                  count(*) FILTER (WHERE content <> trim(content)), count(content)
           FROM messages"""
    )[0]
    assert edges[0] == 0 and edges[1] == 0 and edges[2] > 50_000


def test_columns_are_written_in_their_tables_encoding(tiny_dataset: Path) -> None:
    for name, table in TABLES.items():
        meta = pq.ParquetFile(sorted((tiny_dataset / name).glob("part-*.parquet"))[0]).metadata
        group = meta.row_group(0)
        for i, column in enumerate(table.columns):
            chunk = group.column(i)
            assert chunk.path_in_schema == column.name
            encodings = set(chunk.encodings)
            if column.encoding == "delta":
                assert "DELTA_BINARY_PACKED" in encodings, (name, column.name, encodings)
            elif column.encoding == "dictionary":
                assert "RLE_DICTIONARY" in encodings, (name, column.name, encodings)
            else:
                assert encodings.isdisjoint({"RLE_DICTIONARY", "DELTA_BINARY_PACKED"}), (
                    name,
                    column.name,
                    encodings,
                )
            assert chunk.is_stats_set == column.statistics, (name, column.name)
