"""Check messages_per_conversation on tiny datasets.

The spec here: regular rooms hold 10 or 11 messages, P(k) proportional to k**-2, so
P(10) = 121 / 221 and P(11) = 100 / 221: median 10, p95 and p99 11; no heavy rooms. The alpha
MLE of a two-point power law solves P(11) = 1 / (1 + 1.1**alpha) = the share of 11s.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

SPEC = {
    "messages_per_conversation.regular": {"alpha": 2.0, "min": 10, "max": 11},
    "messages_per_conversation.heavy.fraction": 0.0,
}


def _rooms(tiny: Any, sizes: list[int], changes: dict[str, Any] | None = None, heavy: int = -1):
    """One DIRECT room per size (each its own pair of users), messages a minute apart; room
    number `heavy` flagged heavy."""
    w = tiny.world({**SPEC, **(changes or {})})
    for i, n in enumerate(sizes):
        cid = w.conversation(w.add_users(2), heavy=i == heavy)
        w.add_messages(cid, n, w.at(days=30) + i * tiny.HOUR)
    return w


def test_known_counts_give_known_fit_and_quantiles(tiny: Any, tmp_path: Path) -> None:
    sizes = [10] * 11 + [11] * 9
    outcome = tiny.run(_rooms(tiny, sizes).write(tmp_path / "ds"), "messages_per_conversation")
    alpha = tiny.metric(outcome, "alpha")
    assert alpha.expected == 2.0
    assert alpha.measured == pytest.approx(math.log(1 / 0.45 - 1) / math.log(1.1), rel=1e-9)
    assert (alpha.rule, alpha.status) == ("relative", "SKIP")  # 20 rooms: noise > tolerance
    for label, want, got in (("median", 10, 10), ("p95", 11, 11), ("p99", 11, 11)):
        m = tiny.metric(outcome, f"regular-room {label}")
        assert (m.expected, m.measured) == (want, got)
    assert tiny.metric(outcome, "outside [10, 11]").measured == 0
    # the chart: shares of 10 and 11 against the model's 121/221 and 100/221, in bins [8, 16)
    (chart,) = outcome.charts
    assert chart.edges == [8.0, 16.0]
    assert chart.measured == [1.0]
    assert chart.expected == pytest.approx([1.0])


@pytest.mark.parametrize(("size", "outside"), [(9, 1), (10, 0), (11, 0), (12, 1)])
def test_rooms_outside_the_regular_range(
    tiny: Any, tmp_path: Path, size: int, outside: int
) -> None:
    outcome = tiny.run(
        _rooms(tiny, [10, 11, size]).write(tmp_path / "ds"), "messages_per_conversation"
    )
    m = tiny.metric(outcome, "regular rooms outside [10, 11] messages")
    assert (m.rule, m.expected, m.measured) == ("exact", 0, outside)
    assert m.status == ("FAIL" if outside else "PASS")


def test_heavy_rooms_are_left_out(tiny: Any, tmp_path: Path) -> None:
    heavy = {"fraction": 0.3, "min_messages": 500, "alpha": 2.0}
    w = _rooms(tiny, [10, 11, 500], {"messages_per_conversation.heavy": heavy}, heavy=2)
    outcome = tiny.run(w.write(tmp_path / "ds"), "messages_per_conversation")
    assert tiny.metric(outcome, "outside").measured == 0
    assert tiny.metric(outcome, "p99").measured == 11


def test_one_regular_room_is_too_few_to_fit(tiny: Any, tmp_path: Path) -> None:
    outcome = tiny.run(_rooms(tiny, [10]).write(tmp_path / "ds"), "messages_per_conversation")
    m = tiny.metric(outcome, "alpha")
    assert (m.status, m.note) == ("SKIP", "insufficient data: 1 regular rooms")


def test_a_single_possible_count_has_no_alpha_to_fit(tiny: Any, tmp_path: Path) -> None:
    # regular rooms of exactly 10 messages: any alpha gives the same law, the MLE is undefined
    # (it was NaN, which failed a dataset that matched the spec exactly)
    changes = {"messages_per_conversation.regular": {"alpha": 2.0, "min": 10, "max": 10}}
    outcome = tiny.run(
        _rooms(tiny, [10] * 5, changes).write(tmp_path / "ds"), "messages_per_conversation"
    )
    alpha = tiny.metric(outcome, "alpha")
    assert alpha.status == "SKIP"
    assert alpha.note == "not measurable: the spec gives every regular room 10 messages"
    median = tiny.metric(outcome, "median")
    # one possible value: no sampling noise, the tolerance judges
    assert (median.expected, median.measured, median.noise, median.status) == (
        10,
        10,
        (0.0, 0.0),
        "PASS",
    )
    assert tiny.status(outcome) == "PASS"


def test_a_budget_note_when_regular_rooms_may_be_capped(tiny: Any, tmp_path: Path) -> None:
    # 20 rooms expect 20 x 10.4525 = 209 messages; a band of 150 cannot hold them
    w = _rooms(tiny, [10] * 11 + [11] * 9, {"bands.tiny.messages": 150})
    outcome = tiny.run(w.write(tmp_path / "ds"), "messages_per_conversation")
    (note,) = outcome.notes
    assert note.startswith("regular rooms expect 209 ± 2 messages against a budget of 150")
