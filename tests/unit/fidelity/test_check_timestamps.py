"""Check timestamps on tiny datasets: each temporal rule of the contract, one microsecond inside
and one outside. The basic world: group messages 1-6 a minute apart (senders 1, 2, 3, 1, 2, 3;
message 3 is user 3's IMAGE), every other member reads each message 10 s after it was sent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Tables = dict[str, list[dict[str, Any]]]


def _by(rows: list[dict[str, Any]], **key: Any) -> dict[str, Any]:
    (row,) = [r for r in rows if all(r[k] == v for k, v in key.items())]
    return row


def _tie(step: int) -> Callable[[Tables], None]:
    def change(t: Tables) -> None:
        _by(t["messages"], id=2)["createdAt"] = _by(t["messages"], id=1)["createdAt"] + step

    return change


def _user_created(step: int) -> Callable[[Tables], None]:
    def change(t: Tables) -> None:  # user 3 joined the group when it was created
        joined = _by(t["conversation_users"], conversationId=2, userId=3)["joinedAt"]
        _by(t["users"], id=3)["createdAt"] = joined + step

    return change


def _joined(step: int) -> Callable[[Tables], None]:
    def change(t: Tables) -> None:  # user 3 sent message 3: join relative to it
        sent = _by(t["messages"], id=3)["createdAt"]
        _by(t["conversation_users"], conversationId=2, userId=3)["joinedAt"] = sent + step

    return change


def _read(step: int) -> Callable[[Tables], None]:
    def change(t: Tables) -> None:  # not the member's last receipt: lastReadAt stays right
        sent = _by(t["messages"], id=1)["createdAt"]
        _by(t["read_receipts"], messageId=1, userId=2)["readAt"] = sent + step

    return change


def _updated(step: int) -> Callable[[Tables], None]:
    def change(t: Tables) -> None:
        _by(t["conversations"], id=2)["updatedAt"] += step

    return change


def _seen(step: int, snapshot: int) -> Callable[[Tables], None]:
    def change(t: Tables) -> None:
        _by(t["users"], id=1)["lastSeenAt"] = snapshot + step

    return change


SNAPSHOT = 1_767_225_600_000_000  # the shipped spec's 2026-01-01T00:00:00Z


@pytest.mark.parametrize(
    ("change", "metric", "violations"),
    [
        (_tie(1), "does not increase", 0),
        (_tie(0), "does not increase", 1),
        (_user_created(0), "joined before their user was created", 0),
        (_user_created(1), "joined before their user was created", 1),
        (_joined(0), "sent before the sender joined", 0),
        (_joined(1), "sent before the sender joined", 1),
        (_read(1), "receipts not after their message", 0),
        (_read(0), "receipts not after their message", 1),
        (_updated(0), "updatedAt is not their last message", 0),
        (_updated(1), "updatedAt is not their last message", 1),
        (_seen(0, SNAPSHOT), "after the snapshot", 0),
        (_seen(1, SNAPSHOT), "after the snapshot", 1),
    ],
)
def test_each_rule_one_microsecond_either_side(
    tiny: Any, tmp_path: Path, change: Callable[[Tables], None], metric: str, violations: int
) -> None:
    w = tiny.basic()
    assert w.snapshot == SNAPSHOT
    tables = w.tables()
    change(tables)
    outcome = tiny.run(w.write(tmp_path / "ds", tables), "timestamps")
    m = tiny.metric(outcome, metric)
    assert (m.rule, m.expected, m.measured) == ("exact", 0, violations)
    assert tiny.status(outcome) == ("FAIL" if violations else "PASS")
    # every other rule still holds
    assert [x.name for x in outcome.metrics if x.measured] == ([m.name] if violations else [])


def test_order_violation_names_the_conversation(tiny: Any, tmp_path: Path) -> None:
    w = tiny.basic()
    tables = w.tables()
    _tie(0)(tables)
    outcome = tiny.run(w.write(tmp_path / "ds", tables), "timestamps")
    assert [(f.rule, f.row_id) for f in outcome.findings] == [
        ("createdAt not strictly increasing", "2")
    ]


@pytest.mark.parametrize(
    ("shift", "violations"),
    [
        (0, 0),
        # one microsecond early: the member's last receipt is later than lastReadAt (1), and
        # lastReadAt equals none of the member's receipts (1)
        (-1, 2),
    ],
)
def test_last_read_at_is_the_latest_receipt(
    tiny: Any, tmp_path: Path, shift: int, violations: int
) -> None:
    w = tiny.basic()
    tables = w.tables()
    _by(tables["conversation_users"], conversationId=2, userId=2)["lastReadAt"] += shift
    outcome = tiny.run(w.write(tmp_path / "ds", tables), "timestamps")
    assert tiny.metric(outcome, "lastReadAt").measured == violations


def test_last_read_at_null_while_the_member_has_receipts(tiny: Any, tmp_path: Path) -> None:
    w = tiny.basic()
    tables = w.tables()
    _by(tables["conversation_users"], conversationId=2, userId=2)["lastReadAt"] = None
    outcome = tiny.run(w.write(tmp_path / "ds", tables), "timestamps")
    # user 2 sent 2 of the group's 6 messages and read the other 4: each is a receipt later
    # than a null lastReadAt
    assert tiny.metric(outcome, "lastReadAt").measured == 4


def test_after_snapshot_names_table_and_column(tiny: Any, tmp_path: Path) -> None:
    w = tiny.basic()
    tables = w.tables()
    _seen(1, SNAPSHOT)(tables)
    _by(tables["messages"], id=12)["createdAt"] = SNAPSHOT + 1  # the DIRECT's last message
    outcome = tiny.run(w.write(tmp_path / "ds", tables), "timestamps")
    assert tiny.metric(outcome, "after the snapshot").measured == 2
    assert sorted((f.table, f.column, f.detail) for f in outcome.findings) == [
        ("messages", "createdAt", "1 rows"),
        ("users", "lastSeenAt", "1 rows"),
    ]
