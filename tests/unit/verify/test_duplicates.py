"""The duplicate-index rules, on script text and on pg_get_indexdef's text alike."""

from __future__ import annotations

import pytest

from synthgen.verify.duplicates import covers, findings, normalise, parse_index, relate

# as PostgreSQL's catalog writes them (pg_get_indexdef)
EXISTING = [
    parse_index(sql)
    for sql in (
        'CREATE INDEX "messages_conversationId_createdAt_idx" ON app.messages USING btree '
        '("conversationId", "createdAt")',
        'CREATE INDEX "cm_userId_active" ON app.conversation_users USING btree ("userId") '
        'INCLUDE ("conversationId") WHERE "isActive"',
        'CREATE UNIQUE INDEX "cm_user_conv" ON app.conversation_users USING btree '
        '("userId", "conversationId")',
        "CREATE INDEX receipts_state ON app.receipts USING btree (state) WHERE "
        "((state)::text = 'SENT'::text)",
    )
]


def _new(sql: str) -> str:
    shape = parse_index(sql)
    assert shape is not None
    return "; ".join(f.text for f in findings([shape], [e for e in EXISTING if e]))


def test_scripts_and_catalog_text_parse_to_one_shape() -> None:
    script = parse_index(
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "x"\n  ON "conversation_users" ("userId")\n'
        '  INCLUDE ("conversationId") WHERE ("isActive");'
    )
    assert script is not None and EXISTING[1] is not None
    assert (script.table, script.keys, script.include, script.predicate) == (
        EXISTING[1].table, EXISTING[1].keys, EXISTING[1].include, EXISTING[1].predicate,
    )  # fmt: skip
    assert normalise("((state)::text = 'SENT'::text)") == normalise("state = 'SENT'")
    assert normalise("Lower(Email)") == "lower(email)" != normalise('"Email"')
    assert parse_index("DROP INDEX CONCURRENTLY IF EXISTS x") is None


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        # the brief's case: same keys, the second one read backward once the room is fixed
        ('CREATE INDEX idx_messages_conversation_created_desc ON messages '
         '("conversationId", "createdAt" DESC)',
         "idx_messages_conversation_created_desc duplicates "
         "messages_conversationId_createdAt_idx (same keys, scanned backward with "
         "conversationId fixed by equality)"),
        # fully reversed: every direction flipped
        ('CREATE INDEX r ON messages ("conversationId" DESC, "createdAt" DESC)',
         "r duplicates messages_conversationId_createdAt_idx (same keys, scanned backward)"),
        ('CREATE INDEX same ON messages USING btree ("conversationId", "createdAt" ASC NULLS LAST)',
         "same duplicates messages_conversationId_createdAt_idx (same keys)"),
        # INCLUDE only
        ('CREATE INDEX i ON conversation_users ("userId") INCLUDE ("conversationId", "lastReadAt") '
         'WHERE "isActive"',
         "i duplicates cm_userId_active (same keys, differs only by INCLUDE (conversationId, "
         "lastReadAt vs conversationId))"),
        # a prefix of an existing index, and an existing index a prefix of the new one
        ('CREATE INDEX p ON messages ("conversationId")',
         "p duplicates messages_conversationId_createdAt_idx (its keys are a prefix of "
         "messages_conversationId_createdAt_idx's)"),
        ('CREATE INDEX e ON conversation_users ("userId", "conversationId", "role")',
         "e extends cm_user_conv (cm_user_conv's keys are a prefix of its own: cm_user_conv is "
         "redundant; only cm_user_conv is UNIQUE)"),
        # the leading column's direction does not matter once a query fixes it
        ('CREATE INDEX d ON messages ("conversationId" DESC, "createdAt")',
         "d duplicates messages_conversationId_createdAt_idx (same keys with conversationId "
         "fixed by equality)"),
        ("CREATE INDEX s ON receipts (state) WHERE state = 'SENT'",
         "s duplicates receipts_state (same keys)"),
    ],
)  # fmt: skip
def test_each_related_pair_is_named(sql: str, expected: str) -> None:
    assert _new(sql) == expected


@pytest.mark.parametrize(
    "sql",
    [
        'CREATE INDEX o ON messages ("createdAt", "conversationId")',  # another order
        'CREATE INDEX m ON messages USING hash ("conversationId")',  # another method
        "CREATE INDEX w ON receipts (state)",  # no WHERE
        'CREATE INDEX t ON other ("conversationId", "createdAt")',  # another table
        'CREATE INDEX d ON messages ("conversationId", id)',  # another second column
    ],
)
def test_unrelated_indexes_are_not_named(sql: str) -> None:
    assert _new(sql) == ""


def test_covers_says_whether_an_existing_index_serves_a_candidate() -> None:
    room_time, active, unique = EXISTING[0], EXISTING[1], EXISTING[2]
    assert room_time and active and unique
    desc = parse_index('CREATE INDEX c ON messages ("conversationId", "createdAt" DESC)')
    room = parse_index('CREATE INDEX c ON messages ("conversationId")')
    wider = parse_index(
        'CREATE INDEX c ON conversation_users ("userId") INCLUDE ("lastReadAt") WHERE "isActive"'
    )
    assert desc and room and wider
    assert covers(room_time, room)
    assert not covers(room_time, desc) and covers(room_time, desc, fixed=1)
    assert not covers(active, wider)  # lastReadAt is not in it
    assert not covers(room, room_time)  # the shorter index does not serve the longer one
    assert relate(room_time, room_time) is None  # an index and itself
