"""Check conversation_mix on tiny datasets.

The spec here: a mix of 0.5 DIRECT, 0.25 small and 0.25 large groups; small groups of 3-4
members (truncated geometric, p = 1/3: P(4) / P(3) = 2/3, mean 3.4), large ones of 5-6 (power law,
alpha 2: P(6) = 1 / (1 + 1.2**2), mean 5 + 1 / 2.44). Twenty conversations of six users: 10
DIRECT, 5 small groups of sizes 3, 3, 3, 4, 4 (mean 3.4, so the fitted p is 1/3 exactly) and 5
large of 5, 5, 5, 6, 6 (P(6) = 0.4: the fitted alpha solves 1.2**alpha = 1.5).
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import pytest

SPEC = {
    "conversations.mix": {"direct": 0.5, "small_group": 0.25, "large_group": 0.25},
    "conversations.small_group": {"min_members": 3, "max_members": 4, "geometric_p": 1 / 3},
    "conversations.large_group": {"min_members": 5, "max_members": 6, "alpha": 2.0},
}
SMALL = (3, 3, 3, 4, 4)
LARGE = (5, 5, 5, 6, 6)


def _world(tiny: Any, direct: int = 10, small: tuple[int, ...] = SMALL) -> Any:
    w = tiny.world(SPEC)
    users = w.add_users(6)
    for pair in list(itertools.combinations(users, 2))[:direct]:
        w.conversation(list(pair))
    for size in small:
        w.conversation(users[:size], size_class="small")
    for size in LARGE:
        w.conversation(users[:size], size_class="large")
    w.message(1, w.at(days=10))  # one message: the band's total
    return w


def test_known_mix_and_sizes(tiny: Any, tmp_path: Path) -> None:
    outcome = tiny.run(_world(tiny).write(tmp_path / "ds"), "conversation_mix")
    exact = {
        "users (band total)": 6,
        "conversations (band total)": 20,
        "messages (band total)": 1,
        "DIRECT conversations": 10,
        "small group conversations": 5,
        "large group conversations": 5,
        "outside their class's member range": 0,
        "sizeClass disagrees": 0,
    }
    for name, want in exact.items():
        m = tiny.metric(outcome, name)
        assert (m.rule, m.measured, m.status) == ("exact", want, "PASS"), name
    assert tiny.metric(outcome, "DIRECT conversations").note == (
        "share 0.5000; spec 0.5, by largest remainder"
    )
    p = tiny.metric(outcome, "geometric p")
    assert (p.expected, p.measured) == (pytest.approx(1 / 3), pytest.approx(1 / 3, rel=1e-9))
    small_mean = tiny.metric(outcome, "small-group mean size")
    assert (small_mean.expected, small_mean.measured) == (pytest.approx(3.4), pytest.approx(3.4))
    alpha = tiny.metric(outcome, "power-law alpha")
    assert alpha.expected == 2.0
    assert alpha.measured == pytest.approx(math.log(1.5) / math.log(1.2), rel=1e-9)
    large_mean = tiny.metric(outcome, "large-group mean size")
    assert large_mean.expected == pytest.approx(5 + 1 / 2.44)
    assert large_mean.measured == pytest.approx(5.4)
    # five groups of each class: the 4-sigma band of a mean reaches the extremes (all five
    # draws the smallest or the largest size), wider than the tolerance on the small groups'
    # upper side, narrower on both sides for the large groups
    assert small_mean.noise == pytest.approx((0.4 / 3.4, 0.6 / 3.4), rel=1e-4)
    assert large_mean.noise == pytest.approx(
        ((1 / 2.44) / (5 + 1 / 2.44), (1 - 1 / 2.44) / (5 + 1 / 2.44)), rel=1e-4
    )
    assert (p.status, small_mean.status, alpha.status, large_mean.status) == (
        "SKIP",
        "SKIP",
        "SKIP",
        "PASS",
    )
    assert tiny.status(outcome) == "PASS"


@pytest.mark.parametrize(("tolerance", "status"), [(0.17, "SKIP"), (0.18, "PASS")])
def test_small_mean_judged_once_the_tolerance_covers_its_noise(
    tiny: Any, tmp_path: Path, tolerance: float, status: str
) -> None:
    # the small-group mean's noise on its upper side is 0.6 / 3.4 = 0.1765
    outcome = tiny.run(_world(tiny).write(tmp_path / "ds"), "conversation_mix", tolerance)
    assert tiny.metric(outcome, "small-group mean size").status == status


def test_one_room_off_the_exact_mix_fails(tiny: Any, tmp_path: Path) -> None:
    # a DIRECT room fewer, a small group more: 9 / 6 / 5 against the spec's 10 / 5 / 5
    outcome = tiny.run(
        _world(tiny, direct=9, small=(*SMALL, 3)).write(tmp_path / "ds"), "conversation_mix"
    )
    direct = tiny.metric(outcome, "DIRECT conversations")
    assert (direct.expected, direct.measured, direct.status) == (10, 9, "FAIL")
    small = tiny.metric(outcome, "small group conversations")
    assert (small.expected, small.measured, small.status) == (5, 6, "FAIL")
    assert tiny.metric(outcome, "conversations (band total)").status == "PASS"


def test_the_split_is_by_largest_remainder(tiny: Any, tmp_path: Path) -> None:
    # 21 conversations: quotas 10.5 / 5.25 / 5.25, floors 10 / 5 / 5; the unit left goes to the
    # largest remainder, DIRECT's
    outcome = tiny.run(_world(tiny, direct=11).write(tmp_path / "ds"), "conversation_mix")
    assert tiny.metric(outcome, "DIRECT conversations").expected == 11
    assert tiny.metric(outcome, "small group conversations").expected == 5


@pytest.mark.parametrize(
    ("size", "small", "large", "mislabelled"),
    [(4, 5, 5, 0), (5, 4, 6, 1), (2, 4, 5, 1)],
)
def test_a_small_group_outside_its_range(
    tiny: Any, tmp_path: Path, size: int, small: int, large: int, mislabelled: int
) -> None:
    """The class comes from the type and the members: a "small" group of 5 is a large group (5
    is the large class's minimum) with a wrong label, and the mix is one room off; a "small"
    pair is a DIRECT conversation with a wrong label."""
    outcome = tiny.run(
        _world(tiny, small=(3, 3, 3, 4, size)).write(tmp_path / "ds"), "conversation_mix"
    )
    assert tiny.metric(outcome, "outside their class's member range").measured == 0
    label = tiny.metric(outcome, "sizeClass disagrees")
    assert (label.measured, label.status) == (mislabelled, "FAIL" if mislabelled else "PASS")
    assert tiny.metric(outcome, "small group conversations").measured == small
    assert tiny.metric(outcome, "large group conversations").measured == large


def test_a_group_beyond_the_largest_class(tiny: Any, tmp_path: Path) -> None:
    w = _world(tiny)
    extra = w.add_users(1)
    w.conversation([*range(1, 7), *extra], size_class="large")  # 7 members, the maximum is 6
    outcome = tiny.run(w.write(tmp_path / "ds"), "conversation_mix")
    m = tiny.metric(outcome, "outside their class's member range")
    assert (m.measured, m.status) == (1, "FAIL")


def test_size_class_that_disagrees_with_the_type(tiny: Any, tmp_path: Path) -> None:
    w = _world(tiny)
    tables = w.tables()
    tables["conversation_traits"][0]["sizeClass"] = "small"  # a DIRECT room called small
    outcome = tiny.run(w.write(tmp_path / "ds", tables), "conversation_mix")
    assert tiny.metric(outcome, "sizeClass disagrees").measured == 1
