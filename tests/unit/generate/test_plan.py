"""The pure plan: exact counts, contiguous ids, shard boundaries independent of workers."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthgen.engine.skeleton import DIRECT, LARGE, SMALL
from synthgen.errors import PlanError
from synthgen.generate.blueprint import check_scale, largest_scale, make_plan, smallest_scale
from synthgen.spec import load_spec, parse_spec
from synthgen.units import US_PER_DAY

SPEC = load_spec()


@settings(max_examples=15, deadline=None)
@given(scale=st.floats(0.005, 0.2), seed=st.text(min_size=1, max_size=8))
def test_counts_are_exact(scale: float, seed: str) -> None:
    plan = make_plan(SPEC, "dev", scale, seed)
    counts, sk = plan.counts, plan.skeleton
    assert counts.messages == round(5_000_000 * scale)
    assert int(sk.conv_messages.sum()) == counts.messages
    assert sum(int(t.piece_count.sum()) for t in plan.shard_slices) == counts.messages
    # the conversation mix is exact and every heavy room is a large group above the threshold
    assert (sk.conv_kind == DIRECT).sum() == counts.direct
    assert (sk.conv_kind == SMALL).sum() == counts.small
    assert (sk.conv_kind == LARGE).sum() == counts.large
    assert np.all(sk.conv_kind[sk.conv_is_heavy] == LARGE)
    assert sk.conv_is_heavy.sum() == counts.heavy >= 1
    assert sk.conv_messages[sk.conv_is_heavy].min() >= counts.heavy_min_messages
    regular = sk.conv_messages[~sk.conv_is_heavy]
    assert regular.min() >= SPEC.messages_per_conversation.regular.min
    assert regular.max() <= SPEC.messages_per_conversation.regular.max


def test_plan_is_deterministic_and_seed_sensitive() -> None:
    a, b = make_plan(SPEC, "dev", 0.02, "s1"), make_plan(SPEC, "dev", 0.02, "s1")
    c = make_plan(SPEC, "dev", 0.02, "s2")
    assert np.array_equal(a.skeleton.member_user, b.skeleton.member_user)
    assert np.array_equal(a.skeleton.conv_messages, b.skeleton.conv_messages)
    assert not np.array_equal(a.skeleton.conv_messages, c.skeleton.conv_messages)


def test_shards_follow_the_spec_shard_size() -> None:
    plan = make_plan(SPEC, "dev", 1.0, "x")
    sizes = np.array([int(t.piece_count.sum()) for t in plan.shard_slices])
    assert plan.shard_count == 20
    # pieces are at most half a shard, so no shard is more than 1.5 shards' worth
    assert sizes.max() <= 1.5 * SPEC.output.shard_messages
    assert sizes.sum() == 5_000_000
    # the engine relies on this order (a stable sort by time then orders ties by conversation):
    # pieces in conversation order, and a conversation's pieces in time order, disjoint
    for task in plan.shard_slices:
        assert np.all(np.diff(task.piece_conv) >= 0)
        same = np.diff(task.piece_conv) == 0
        assert np.all(task.piece_hi_us[:-1][same] <= task.piece_lo_us[1:][same])


def test_members_are_distinct_and_direct_pairs_unique() -> None:
    sk = make_plan(SPEC, "dev", 0.1, "pairs").skeleton
    conv = np.repeat(np.arange(len(sk.conv_kind)), np.diff(sk.member_offsets))
    keys = conv * 10**6 + sk.member_user
    assert len(np.unique(keys)) == len(keys)
    first = sk.member_offsets[:-1][sk.conv_kind == DIRECT]
    a, b = sk.member_user[first], sk.member_user[first + 1]
    pairs = np.minimum(a, b) * 10**6 + np.maximum(a, b)
    assert len(np.unique(pairs)) == len(pairs)
    assert np.all(np.diff(sk.member_offsets)[sk.conv_kind == DIRECT] == 2)


def test_membership_is_skewed_towards_a_few_users() -> None:
    sk = make_plan(SPEC, "dev", 1.0, "skew").skeleton
    per_user = np.bincount(sk.member_user, minlength=len(sk.user_weight))
    top_1pct = np.sort(per_user)[-len(per_user) // 100 :].sum()
    assert top_1pct / per_user.sum() > 0.05  # far above the uniform 1 %


@pytest.mark.parametrize("scale", [0.0, -1.0, float("nan"), float("inf")])
def test_scale_must_be_positive(scale: float) -> None:
    with pytest.raises(PlanError, match="--scale"):
        make_plan(SPEC, "dev", scale, "x")


def test_too_small_scale_says_how_small_is_allowed() -> None:
    minimum = smallest_scale(SPEC, "dev")
    assert 0.001 < minimum < 0.01
    with pytest.raises(
        PlanError, match=f"smallest scale that holds the conversation mix is {minimum:.4g}"
    ):
        make_plan(SPEC, "dev", minimum / 2, "x")
    make_plan(SPEC, "dev", minimum, "x")  # the reported minimum itself works


def test_rooms_open_and_members_join_as_the_spec_says() -> None:
    """conversations.opening / joining are used, not constants of the engine's own."""
    raw = json.loads(json.dumps(SPEC.raw))
    opening = {"heavy_within": 0.02, "regular_within": 0.3, "regular_skew": 1}
    raw["conversations"]["opening"] = opening
    raw["conversations"]["joining"]["last_join_before_snapshot_seconds"] = 86400
    spec = parse_spec(raw)
    sk = make_plan(spec, "dev", 0.05, "open").skeleton
    t = spec.time
    start = t.snapshot_us - t.window_days * US_PER_DAY
    frac = (sk.conv_created_us - start) / (t.window_days * US_PER_DAY)
    # a creator who signed up later pushes the room's creation just past their sign-up
    assert np.median(frac[sk.conv_is_heavy]) <= 0.02
    assert np.quantile(frac[~sk.conv_is_heavy], 0.9) <= 0.3
    assert sk.member_joined_us.max() <= t.snapshot_us - 86400 * 1_000_000
    default = make_plan(SPEC, "dev", 0.05, "open").skeleton
    assert ((default.conv_created_us - start) / (t.window_days * US_PER_DAY)).max() > 0.5


def _with(mix: dict[str, float], heavy_fraction: float = 0.02) -> Any:
    raw = json.loads(json.dumps(SPEC.raw))
    raw["conversations"]["mix"] = mix
    raw["messages_per_conversation"]["heavy"]["fraction"] = heavy_fraction
    return parse_spec(raw)


def _heavy_by_class(spec: Any, scale: float) -> tuple[int, int, int, Any]:
    plan = make_plan(spec, "dev", scale, "classes")
    sk = plan.skeleton
    got = [int((sk.conv_is_heavy & (sk.conv_kind == k)).sum()) for k in (LARGE, SMALL, DIRECT)]
    return got[0], got[1], got[2], plan


def test_without_large_groups_heavy_rooms_are_small_groups() -> None:
    """A production without groups above the large threshold calibrates to large_group 0 while
    heavy rooms stay: they are then the small groups (this spec was refused at every scale)."""
    spec = _with({"direct": 0.7, "small_group": 0.3, "large_group": 0.0})
    large, small, direct, plan = _heavy_by_class(spec, 0.05)
    assert plan.counts.large == 0 and plan.counts.heavy == 8  # round(400 x 0.02)
    assert (large, small, direct) == (0, 8, 0)
    sk = plan.skeleton
    assert sk.conv_messages[sk.conv_is_heavy].min() >= plan.counts.heavy_min_messages
    assert int(sk.conv_messages.sum()) == plan.counts.messages


def test_heavy_rooms_fill_large_then_small_groups_then_direct_conversations() -> None:
    # 400 conversations at 0.05: 8 large, 12 small, 380 DIRECT; 30 % heavy = 120 rooms
    spec = _with({"direct": 0.95, "small_group": 0.03, "large_group": 0.02}, heavy_fraction=0.3)
    large, small, direct, plan = _heavy_by_class(spec, 0.05)
    assert (plan.counts.large, plan.counts.small) == (8, 12)
    assert (large, small, direct) == (8, 12, 100)
    # fewer heavy rooms than groups: every one a group, large groups first
    spec = _with({"direct": 0.95, "small_group": 0.03, "large_group": 0.02}, heavy_fraction=0.04)
    assert _heavy_by_class(spec, 0.05)[:3] == (8, 8, 0)


def test_only_direct_conversations_still_have_heavy_rooms() -> None:
    spec = _with({"direct": 1.0, "small_group": 0.0, "large_group": 0.0})
    assert _heavy_by_class(spec, 0.01)[:3] == (0, 0, 2)


def test_a_class_too_rare_for_the_band_needs_a_scale_above_one() -> None:
    spec = _with({"direct": 0.7, "small_group": 0.29995, "large_group": 0.00005})
    minimum = smallest_scale(spec, "dev")  # 8000 x 0.00005 = 0.4 large groups at scale 1
    assert 1 < minimum < 2
    with pytest.raises(PlanError, match=f"smallest scale that holds .* is {minimum:.4g}"):
        make_plan(spec, "dev", 1.0, "x")


def test_too_large_a_scale_says_the_largest_allowed() -> None:
    # 5 % of staging's 300 000 rooms at 10 000 messages is 150 M > its 100 M messages; the
    # threshold shrinks with the scale, so smaller scales hold
    spec = _with({"direct": 0.7, "small_group": 0.25, "large_group": 0.05}, heavy_fraction=0.05)
    maximum = largest_scale(spec, "staging")
    assert 0.6 < maximum < 0.7
    with pytest.raises(PlanError, match=f"too large .* the largest scale .* is {maximum:.4g}"):
        check_scale(spec, "staging", 1.0)
    check_scale(spec, "staging", maximum)
    assert largest_scale(SPEC, "staging") == float("inf")


def test_a_band_no_scale_can_hold_is_refused_as_such() -> None:
    # a rare class needs scale >= 1.25, where heavy rooms at their full threshold no longer fit
    spec = _with({"direct": 0.7, "small_group": 0.29995, "large_group": 0.00005}, 0.07)
    with pytest.raises(PlanError, match="band 'dev' cannot be generated at any scale: the "):
        check_scale(spec, "dev", 0.5)
