"""Check heavy_rooms on tiny datasets.

The spec here: regular rooms hold exactly 10 messages (a one-point law: their sum has no noise,
so the tolerance alone judges the derived share), heavy rooms are 20 % of conversations with at
least 10 messages. Ten DIRECT rooms of 10 messages, two of them heavy: the band (the data's own
totals) expects max(1, round(10 x 0.2)) = 2 heavy rooms, a fraction of 0.2, and a heavy share of
messages of 1 - 8 regular rooms x 10 / 100 messages = 0.2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

SPEC = {
    "messages_per_conversation.regular": {"alpha": 2.0, "min": 10, "max": 10},
    "messages_per_conversation.heavy": {"fraction": 0.2, "min_messages": 10, "alpha": 2.0},
}


def _world(
    tiny: Any,
    heavy: set[int],
    sizes: list[int] | None = None,
    changes: dict[str, Any] | None = None,
) -> Any:
    w = tiny.world({**SPEC, **(changes or {})})
    for i, n in enumerate(sizes or [10] * 10):
        cid = w.conversation(w.add_users(2), heavy=i in heavy)
        w.add_messages(cid, n, w.at(days=30) + i * tiny.HOUR)
    return w


def test_two_heavy_rooms_of_ten_as_the_spec_says(tiny: Any, tmp_path: Path) -> None:
    outcome = tiny.run(_world(tiny, {0, 1}).write(tmp_path / "ds"), "heavy_rooms")
    count = tiny.metric(outcome, "heavy-room count")
    assert (count.rule, count.expected, count.measured, count.status) == ("exact", 2, 2, "PASS")
    # regular rooms reach 10 messages, the threshold: the labels say which rooms are heavy
    assert count.note.startswith("max(1, round(10 x 0.2)); as labelled")
    assert tiny.metric(outcome, "label disagrees").measured == 0
    smallest = tiny.metric(outcome, "smallest heavy room")
    assert (smallest.rule, smallest.expected, smallest.measured) == ("at_least", 10, 10)
    share = tiny.metric(outcome, "share of messages")
    assert (share.expected, share.measured, share.noise) == (
        pytest.approx(0.2),
        pytest.approx(0.2),
        (0.0, 0.0),
    )
    assert share.note == "1 - 8 regular rooms x 10.00 / 100"
    assert tiny.metric(outcome, "smaller class").measured == 0
    assert tiny.status(outcome) == "PASS"


@pytest.mark.parametrize(
    ("tolerance", "status"),
    [(0.5, "PASS"), (0.49, "WARN"), (0.25, "WARN"), (0.24, "FAIL")],
)
def test_three_heavy_rooms_at_the_tolerance(
    tiny: Any, tmp_path: Path, tolerance: float, status: str
) -> None:
    # 3 heavy rooms of 10: share 30 / 100 against 0.2, deviation 0.5; the count is exact
    outcome = tiny.run(_world(tiny, {0, 1, 2}).write(tmp_path / "ds"), "heavy_rooms", tolerance)
    m = tiny.metric(outcome, "share of messages")
    assert m.measured == pytest.approx(0.3)
    assert m.deviation == pytest.approx(0.5)
    assert m.status == status
    count = tiny.metric(outcome, "heavy-room count")
    assert (count.expected, count.measured, count.status) == (2, 3, "FAIL")


# regular rooms end at 9 messages, one below the heavy threshold: the counts decide
BY_COUNT = {"messages_per_conversation.regular": {"alpha": 2.0, "min": 9, "max": 9}}


@pytest.mark.parametrize(
    ("sizes", "labels", "count", "mislabelled"),
    [
        ([10, 10] + [9] * 8, {0, 1}, 2, 0),
        # the labels swap a heavy room for a regular one: the count still says rooms 0 and 1
        ([10, 10] + [9] * 8, {0, 2}, 2, 2),
        # one room too many reaches the threshold, labelled or not
        ([10, 10, 10] + [9] * 7, {0, 1}, 3, 1),
        ([10, 10, 10] + [9] * 7, {0, 1, 2}, 3, 0),
    ],
)
def test_heavy_rooms_by_their_message_count(
    tiny: Any,
    tmp_path: Path,
    sizes: list[int],
    labels: set[int],
    count: int,
    mislabelled: int,
) -> None:
    w = _world(tiny, labels, sizes, changes=BY_COUNT)
    outcome = tiny.run(w.write(tmp_path / "ds"), "heavy_rooms")
    m = tiny.metric(outcome, "heavy-room count")
    assert (m.expected, m.measured) == (2, count)
    assert m.status == ("PASS" if count == 2 else "FAIL")
    assert (
        m.note == "max(1, round(10 x 0.2)); rooms of at least 10 messages (regular rooms end at 9)"
    )
    label = tiny.metric(outcome, "label disagrees")
    assert (label.measured, label.status) == (mislabelled, "FAIL" if mislabelled else "PASS")


@pytest.mark.parametrize(("size", "status"), [(10, "PASS"), (9, "FAIL")])
def test_smallest_heavy_room_at_the_threshold(
    tiny: Any, tmp_path: Path, size: int, status: str
) -> None:
    sizes = [size, 11] + [10] * 8  # 10 rooms, 100 messages when size is 9 or 10 (+/- 1)
    outcome = tiny.run(_world(tiny, {0, 1}, sizes).write(tmp_path / "ds"), "heavy_rooms")
    m = tiny.metric(outcome, "smallest heavy room")
    assert (m.expected, m.measured, m.status) == (10, size, status)


def test_no_heavy_room(tiny: Any, tmp_path: Path) -> None:
    outcome = tiny.run(_world(tiny, set()).write(tmp_path / "ds"), "heavy_rooms")
    assert tiny.metric(outcome, "smallest heavy room").note == "no heavy rooms"
    count = tiny.metric(outcome, "heavy-room count")
    assert (count.expected, count.measured, count.status) == (2, 0, "FAIL")


def test_a_heavy_direct_room_while_a_large_group_is_regular(tiny: Any, tmp_path: Path) -> None:
    w = _world(tiny, {0, 1})
    members = w.add_users(3)
    group = w.conversation(members, size_class="large")
    w.add_messages(group, 10, w.at(days=20))
    tables = w.tables()
    outcome = tiny.run(w.write(tmp_path / "ds", tables), "heavy_rooms")
    # rooms 1 and 2 (DIRECT) are heavy while room 11, a large group, is not: both misplaced
    m = tiny.metric(outcome, "smaller class")
    assert (m.measured, m.status) == (2, "FAIL")
    # the large group heavy instead of room 2: every group is heavy now (there is no small
    # group), so a heavy DIRECT room is in order
    for t in tables["conversation_traits"]:
        t["isHeavy"] = t["conversationId"] in (1, 11)
    outcome = tiny.run(w.write(tmp_path / "ds2", tables), "heavy_rooms")
    assert tiny.metric(outcome, "smaller class").measured == 0
    # room 3 made a regular small group: the heavy DIRECT room 1 is misplaced again
    tables["conversations"][2]["type"] = "GROUP"
    tables["conversation_traits"][2]["sizeClass"] = "small"
    outcome = tiny.run(w.write(tmp_path / "ds3", tables), "heavy_rooms")
    assert tiny.metric(outcome, "smaller class").measured == 1


def test_regular_rooms_alone_exceed_the_band(tiny: Any, tmp_path: Path) -> None:
    # 8 regular rooms of 10 messages expected in a band of 50 messages: no share is left
    w = _world(tiny, {0, 1}, changes={"bands.tiny.messages": 50})
    outcome = tiny.run(w.write(tmp_path / "ds"), "heavy_rooms")
    m = tiny.metric(outcome, "share of messages")
    assert (m.status, m.expected) == ("SKIP", pytest.approx(1 - 80 / 50))
    assert m.note == "regular rooms alone are expected to exceed the band total"


def test_the_share_expected_from_a_two_point_law(tiny: Any, tmp_path: Path) -> None:
    # regular rooms of 10 or 11 with alpha 2: mean (10 / 100 + 11 / 121) / (1 / 100 + 1 / 121)
    changes = {"messages_per_conversation.regular": {"alpha": 2.0, "min": 10, "max": 11}}
    outcome = tiny.run(_world(tiny, {0, 1}, changes=changes).write(tmp_path / "ds"), "heavy_rooms")
    mean = (10 / 100 + 11 / 121) / (1 / 100 + 1 / 121)
    m = tiny.metric(outcome, "share of messages")
    assert m.expected == pytest.approx(1 - 8 * mean / 100)
    assert m.measured == pytest.approx(0.2)
