"""Post-load steps: what is built, in which order, and what a resumed load skips."""

from __future__ import annotations

from synthgen.load.keys import post_load_steps
from synthgen.schema import PHASE1_INDEXES, TABLES

BIGGEST_FIRST = ["messages", "read_receipts", "attachments", "conversation_users", "users"]
ALL = BIGGEST_FIRST + [t for t in TABLES if t not in BIGGEST_FIRST]


def test_fresh_load_builds_everything_in_order() -> None:
    steps = {s.name: s for s in post_load_steps("s", ALL, {})}
    assert list(steps) == [
        "primary keys",
        "phase-1 indexes",
        "foreign keys (NOT VALID)",
        "validate foreign keys",
        "vacuum (freeze, analyze)",
    ]
    primary = steps["primary keys"].tasks
    assert len(primary) == len(TABLES)
    assert '"messages_pkey"' in primary[0][0]  # the biggest table first
    assert len(steps["phase-1 indexes"].tasks) == len(PHASE1_INDEXES)
    (adds,) = steps["foreign keys (NOT VALID)"].tasks
    assert not steps["foreign keys (NOT VALID)"].parallel
    assert len(adds) == sum(len(t.foreign_keys) for t in TABLES.values())
    assert all(sql.endswith("NOT VALID") for sql in adds)
    # One validation task per table, so two never contend for one table's lock.
    validate = steps["validate foreign keys"].tasks
    assert len(validate) == sum(1 for t in TABLES.values() if t.foreign_keys)
    for task in validate:
        assert len({sql.split(" VALIDATE")[0] for sql in task}) == 1
    vacuum = steps["vacuum (freeze, analyze)"]
    assert vacuum.autocommit  # VACUUM cannot run in a transaction block
    assert vacuum.tasks[0] == [
        'VACUUM (FREEZE, ANALYZE) "s"."messages"',
        'ALTER TABLE "s"."messages" RESET (autovacuum_enabled)',
    ]


def test_resume_skips_what_exists_and_validates_what_is_not_yet_valid() -> None:
    existing = {f"{t}_pkey": True for t in TABLES}
    existing |= {name: True for _, name, _, _ in PHASE1_INDEXES}
    existing |= {"messages_conversationId_fkey": True, "messages_senderId_fkey": False}
    steps = {s.name: s for s in post_load_steps("s", ALL, existing)}
    assert steps["primary keys"].tasks == []
    assert steps["phase-1 indexes"].tasks == []
    (adds,) = steps["foreign keys (NOT VALID)"].tasks
    assert not any("messages_" in sql and 'ADD CONSTRAINT "messages_' in sql for sql in adds)
    validate = [sql for task in steps["validate foreign keys"].tasks for sql in task]
    assert any('"messages_senderId_fkey"' in sql for sql in validate)
    assert not any('"messages_conversationId_fkey"' in sql for sql in validate)
