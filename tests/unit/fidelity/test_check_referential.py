"""Check referential_integrity on tiny datasets: each rule broken by exactly one row (and the
nearest harmless change beside it). The basic world: users 1-4; conversation 1 is DIRECT
(users 1, 2), conversation 2 a group (1, 2, 3); message 3 is user 3's IMAGE in the group."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Tables = dict[str, list[dict[str, Any]]]


def _first(rows: list[dict[str, Any]], **key: Any) -> dict[str, Any]:
    return next(r for r in rows if all(r[k] == v for k, v in key.items()))


def _set(table: str, column: str, value: Any, **key: Any) -> Callable[[Tables], None]:
    def change(t: Tables) -> None:
        _first(t[table], **key)[column] = value

    return change


def _append(table: str, **row: Any) -> Callable[[Tables], None]:
    def change(t: Tables) -> None:
        template = dict(t[table][-1])
        template.update(row)
        t[table].append(template)

    return change


def _drop(table: str, **key: Any) -> Callable[[Tables], None]:
    def change(t: Tables) -> None:
        t[table].remove(_first(t[table], **key))

    return change


def _direct_pair(a: int, b: int) -> Callable[[Tables], None]:
    def change(t: Tables) -> None:
        created = t["conversations"][0]["createdAt"]
        t["conversations"].append(
            {"id": 3, "type": "DIRECT", "title": None, "createdAt": created, "updatedAt": created}
        )
        t["conversation_traits"].append(
            {"conversationId": 3, "isHeavy": False, "sizeClass": "direct"}
        )
        for uid in (a, b):
            t["conversation_users"].append(
                {
                    "conversationId": 3,
                    "userId": uid,
                    "role": "MEMBER",
                    "joinedAt": created,
                    "lastReadAt": None,
                    "isActive": True,
                }
            )

    return change


CASES = [
    # (change, metric, count)
    (_set("messages", "senderId", 99, id=7), "messages.senderId not found in users.id", 1),
    (_set("messages", "senderId", 99, id=7), "messages whose sender is not a member", 1),
    (_set("messages", "senderId", 4, id=7), "messages.senderId not found in users.id", 0),
    (_set("messages", "senderId", 4, id=7), "messages whose sender is not a member", 1),
    (_set("read_receipts", "messageId", 99, messageId=1), "read_receipts.messageId not", 1),
    (_set("attachments", "messageId", 99, id=1), "attachments.messageId not found", 1),
    (_set("conversation_users", "userId", 99, userId=3), "conversation_users.userId not", 1),
    (_append("users"), "duplicate or null primary keys in users", 1),
    (_append("read_receipts"), "duplicate or null primary keys in read_receipts", 1),
    (_append("read_receipts", userId=4), "receipts whose reader is not a member", 1),
    (_direct_pair(2, 1), "DIRECT conversations sharing a member pair", 1),
    (_direct_pair(1, 3), "DIRECT conversations sharing a member pair", 0),
    (_drop("conversation_traits", conversationId=2), "without a conversation_traits row", 1),
    (_set("conversations", "type", "CHANNEL", id=2), "conversations.type values outside", 1),
    (_set("conversation_users", "role", "GUEST", userId=3), "role values outside", 1),
    (_set("conversation_users", "role", "ADMIN", userId=3), "role values outside", 0),
    (_set("attachments", "kind", "TEXT", id=1), "attachments.kind values outside", 1),
    (_set("conversation_traits", "sizeClass", "huge", conversationId=2), "sizeClass values", 1),
    (_set("messages", "type", "STICKER", id=1), "messages.type values outside", 1),
]


@pytest.mark.parametrize(("change", "metric", "count"), CASES)
def test_each_rule_counts_the_broken_rows(
    tiny: Any, tmp_path: Path, change: Callable[[Tables], None], metric: str, count: int
) -> None:
    w = tiny.basic()
    tables = w.tables()
    change(tables)
    outcome = tiny.run(w.write(tmp_path / "ds", tables), "referential_integrity")
    m = tiny.metric(outcome, metric)
    assert (m.rule, m.expected, m.measured) == ("exact", 0, count)
    assert m.status == ("FAIL" if count else "PASS")


def test_a_receipt_by_the_sender(tiny: Any, tmp_path: Path) -> None:
    w = tiny.basic()
    tables = w.tables()
    # message 12 is the DIRECT's last, sent by user 2 and read by user 1: make user 2 read it
    receipt = _first(tables["read_receipts"], messageId=12)
    assert (receipt["userId"], _first(tables["messages"], id=12)["senderId"]) == (1, 2)
    receipt["userId"] = 2
    outcome = tiny.run(w.write(tmp_path / "ds", tables), "referential_integrity")
    assert tiny.metric(outcome, "read by the message's sender").measured == 1
    assert tiny.metric(outcome, "reader is not a member").measured == 0


def test_the_basic_world_breaks_nothing(tiny: Any, tmp_path: Path) -> None:
    outcome = tiny.run(tiny.basic().write(tmp_path / "ds"), "referential_integrity")
    assert [m.name for m in outcome.metrics if m.measured != 0] == []
    assert tiny.status(outcome) == "PASS"
    assert outcome.findings == []


def test_non_member_sender_is_a_finding(tiny: Any, tmp_path: Path) -> None:
    w = tiny.basic()
    tables = w.tables()
    _set("messages", "senderId", 4, id=7)(tables)
    outcome = tiny.run(w.write(tmp_path / "ds", tables), "referential_integrity")
    assert [(f.rule, f.table, f.row_id) for f in outcome.findings] == [
        ("sender is not a member", "messages", "7")
    ]
