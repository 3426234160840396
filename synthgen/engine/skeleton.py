"""The dataset's skeleton: users, conversations, memberships and messages per conversation.

It is small (one row per user, conversation and membership) and global: DIRECT pairs must be
unique across the whole dataset and user ids follow sign-up across all users.
Every shard task receives the slice of it that it needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from synthgen.contract import MEMBER_ROLES, SIZE_CLASSES
from synthgen.engine import distributions as dist
from synthgen.engine.streams import stream
from synthgen.spec import Spec
from synthgen.units import US_PER_DAY, US_PER_SECOND

# codes: index into the contract's enumerations
DIRECT, SMALL, LARGE = (SIZE_CLASSES.index(c) for c in ("direct", "small", "large"))
ROLE_OWNER, ROLE_ADMIN, ROLE_MEMBER = (MEMBER_ROLES.index(r) for r in ("OWNER", "ADMIN", "MEMBER"))
WEIGHTED_ROUNDS = 8
# a DIRECT pair still repeated after this many rounds has a crowded first member (very skewed
# activity weights put one user first in most pairs), so both members are redrawn. Later than
# any round a pair repeats in for the shipped spec (3 at most), so its draws are unchanged.
PAIR_REDRAW_ROUND = 100
MAX_DEDUP_ROUNDS = 10_000

I64 = NDArray[np.int64]


@dataclass(frozen=True)
class Counts:
    """Row counts a band and scale imply, plus the scaled heavy-room threshold."""

    users: int
    conversations: int
    messages: int
    direct: int
    small: int
    large: int
    heavy: int
    heavy_min_messages: int


@dataclass(frozen=True)
class Skeleton:
    user_created_us: I64
    user_weight: NDArray[np.float64]
    conv_kind: I64
    conv_is_heavy: NDArray[np.bool_]
    conv_created_us: I64
    conv_activity_start_us: I64
    conv_messages: I64
    member_offsets: I64  # members of conversation i are rows member_offsets[i]:member_offsets[i+1]
    member_user: I64  # user index (0-based); sorted by joinedAt inside each conversation
    member_joined_us: I64
    member_role: I64
    member_active: NDArray[np.bool_]


def counts_for(spec: Spec, band: str, scale: float) -> Counts:
    """Scale the band's counts and split conversations into the mix (exact, largest remainder)."""
    b = spec.band(band)
    c = spec.conversations
    conversations = max(1, round(b.conversations * scale))
    direct, small, large = dist.class_counts(
        conversations, [c.mix.direct, c.mix.small_group, c.mix.large_group]
    )
    heavy = round(conversations * spec.messages_per_conversation.heavy.fraction)
    if spec.messages_per_conversation.heavy.fraction > 0:
        heavy = max(1, heavy)
    return Counts(
        users=max(1, round(b.users * scale)),
        conversations=conversations,
        messages=max(1, round(b.messages * scale)),
        direct=direct,
        small=small,
        large=large,
        heavy=heavy,
        # the threshold shrinks with tiny scales but never grows past the spec's value: grown,
        # heavy rooms alone would exceed the band's messages from a scale of about 3
        heavy_min_messages=max(
            1, round(spec.messages_per_conversation.heavy.min_messages * min(scale, 1.0))
        ),
    )


def problems(spec: Spec, n: Counts) -> list[str]:
    """What stops these counts from being generated (empty when nothing does)."""
    return [*floor_problems(spec, n), *capacity_problems(spec, n)]


def floor_problems(spec: Spec, n: Counts) -> list[str]:
    """What a larger scale would cure: a class of the mix with no conversation, too few users."""
    c = spec.conversations
    found = []
    for name, share, got in (
        ("DIRECT", c.mix.direct, n.direct),
        ("small-group", c.mix.small_group, n.small),
        ("large-group", c.mix.large_group, n.large),
    ):
        if share > 0 and got < 1:
            found.append(f"no {name} conversation")
    if n.heavy > n.conversations:
        found.append(f"{n.heavy} heavy rooms but only {n.conversations} conversations")
    if n.users < max(
        c.large_group.min_members if n.large else 2, c.small_group.min_members if n.small else 2
    ):
        found.append(f"{n.users} users cannot fill a group")
    if n.direct > n.users * (n.users - 1) // 4:
        found.append(f"{n.users} users cannot form {n.direct} distinct DIRECT pairs")
    return found


def capacity_problems(spec: Spec, n: Counts) -> list[str]:
    """What a smaller scale would cure: the messages cannot give every room its minimum. The
    heavy threshold shrinks with scales below 1, so the heavy rooms' floor falls as scale^2
    while the band's messages fall as scale."""
    m = spec.messages_per_conversation
    need = n.heavy * n.heavy_min_messages + (n.conversations - n.heavy) * m.regular.min
    if n.messages < need:
        return [
            f"{n.messages} messages cannot give {n.heavy} heavy rooms their "
            f"{n.heavy_min_messages} and the other rooms their {m.regular.min} ({need})"
        ]
    return []


def opening_fractions(
    spec: Spec, heavy: NDArray[np.bool_], rng: np.random.Generator
) -> NDArray[np.float64]:
    """When each conversation opens, as a fraction of the window: heavy rooms early (they have the
    most to say), the others skewed towards the start (rand ** skew), none in the last stretch."""
    c = spec.conversations
    n = len(heavy)
    early = rng.random(n) * c.opening.heavy_within
    regular = rng.random(n) ** c.opening.regular_skew * c.opening.regular_within
    return np.asarray(np.where(heavy, early, regular), dtype=np.float64)


def build_skeleton(spec: Spec, n: Counts, seed: str) -> Skeleton:
    """Draw users, conversations, members and per-conversation message counts."""
    rng = stream(seed, "skeleton")
    t = spec.time
    window_start = t.snapshot_us - t.window_days * US_PER_DAY
    window = t.window_days * US_PER_DAY

    new_user = rng.random(n.users) < t.new_user_share
    old_created = (
        window_start - (rng.random(n.users) * t.user_signup_days_before_window + 1) * US_PER_DAY
    )
    new_created = window_start + rng.random(n.users) * t.new_user_signup_within * window
    user_created = np.where(new_user, new_created, old_created).astype(np.int64)
    user_weight = dist.zipf_weights(n.users, spec.conversations.membership_zipf_exponent, rng)

    kind = rng.permutation(
        np.repeat(np.array([DIRECT, SMALL, LARGE]), [n.direct, n.small, n.large])
    ).astype(np.int64)
    sizes = _group_sizes(rng, spec, kind, n.users)
    heavy = _pick_heavy(rng, kind, n.heavy)

    member_conv = np.repeat(np.arange(n.conversations), sizes)
    member_user = _draw_members(rng, member_conv, kind, sizes, user_weight)

    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    first_slot = offsets[:-1]
    created_frac = opening_fractions(spec, heavy, rng)
    created = window_start + (created_frac * window).astype(np.int64)
    created = np.maximum(created, user_created[member_user[first_slot]] + US_PER_SECOND)

    joined = _join_times(
        rng, spec, member_conv, first_slot, created, user_created[member_user], t.snapshot_us
    )
    order = np.lexsort((joined, member_conv))
    member_user, joined = member_user[order], joined[order]
    is_first = np.zeros(len(joined), dtype=bool)
    is_first[first_slot] = True
    role = np.where(
        rng.random(len(joined)) < spec.conversations.admin_share, ROLE_ADMIN, ROLE_MEMBER
    )
    group_member = kind[member_conv] != DIRECT
    role = np.where(is_first & group_member, ROLE_OWNER, np.where(group_member, role, ROLE_MEMBER))
    active = is_first | (rng.random(len(joined)) >= spec.conversations.inactive_member_share)
    created = joined[first_slot]
    activity_start = joined[first_slot + 1] + US_PER_SECOND

    messages = _message_counts(rng, spec, n, heavy)
    return Skeleton(
        user_created_us=user_created,
        user_weight=user_weight,
        conv_kind=kind,
        conv_is_heavy=heavy,
        conv_created_us=created,
        conv_activity_start_us=activity_start,
        conv_messages=messages,
        member_offsets=offsets,
        member_user=member_user.astype(np.int64),
        member_joined_us=joined.astype(np.int64),
        member_role=role.astype(np.int64),
        member_active=active,
    )


def heavy_per_class(heavy: int, large: int, small: int) -> tuple[int, int, int]:
    """How many heavy rooms each class holds (large, small, DIRECT): the largest rooms first.

    Large groups take as many as they have; only the heavy rooms they cannot hold go to small
    groups, and only those that still remain go to DIRECT conversations.
    """
    in_large = min(heavy, large)
    in_small = min(heavy - in_large, small)
    return in_large, in_small, heavy - in_large - in_small


def _pick_heavy(rng: np.random.Generator, kind: I64, count: int) -> NDArray[np.bool_]:
    """Mark `count` conversations heavy: at random among the large groups, and when there are
    fewer large groups than heavy rooms, every large group plus random small groups, then random
    DIRECT conversations (see heavy_per_class)."""
    heavy = np.zeros(len(kind), dtype=bool)
    large_ids = np.flatnonzero(kind == LARGE)
    if count <= len(large_ids):
        # the only case before heavy rooms could leave the large groups: the same single draw,
        # so datasets of specs that never needed more keep their bytes
        heavy[rng.choice(large_ids, size=count, replace=False)] = True
        return heavy
    small_ids = np.flatnonzero(kind == SMALL)
    _, in_small, in_direct = heavy_per_class(count, len(large_ids), len(small_ids))
    heavy[large_ids] = True
    heavy[rng.choice(small_ids, size=in_small, replace=False)] = True
    heavy[rng.choice(np.flatnonzero(kind == DIRECT), size=in_direct, replace=False)] = True
    return heavy


def _group_sizes(rng: np.random.Generator, spec: Spec, kind: I64, users: int) -> I64:
    c = spec.conversations
    sizes = np.full(len(kind), 2, dtype=np.int64)
    small = kind == SMALL
    large = kind == LARGE
    small_max = min(c.small_group.max_members, users)
    sizes[small] = dist.truncated_geometric(
        rng, int(small.sum()), c.small_group.geometric_p, c.small_group.min_members, small_max
    )
    large_max = min(c.large_group.max_members, users)
    sizes[large] = dist.discrete_power_law(
        rng, int(large.sum()), c.large_group.alpha, c.large_group.min_members, large_max
    )
    return sizes


def _draw_members(
    rng: np.random.Generator, member_conv: I64, kind: I64, sizes: I64, weight: NDArray[np.float64]
) -> I64:
    """Distinct users per conversation, skewed by activity weight; DIRECT pairs unique overall.

    Duplicates are redrawn in vectorized rounds: weighted first, uniform after WEIGHTED_ROUNDS so
    that crowded groups still converge.
    """
    users = len(weight)
    cdf = np.cumsum(weight)
    cdf /= cdf[-1]

    def draw(count: int, weighted: bool) -> I64:
        if weighted:
            return np.minimum(np.searchsorted(cdf, rng.random(count), side="right"), users - 1)
        return rng.integers(0, users, size=count)

    member_user = draw(len(member_conv), True)
    direct_first = np.concatenate([[0], np.cumsum(sizes)[:-1]])[kind == DIRECT]
    for round_no in range(MAX_DEDUP_ROUNDS):
        key = member_conv * users + member_user
        order = np.argsort(key, kind="stable")
        dup = np.zeros(len(key), dtype=bool)
        dup[order[1:][key[order][1:] == key[order][:-1]]] = True
        a, b = member_user[direct_first], member_user[direct_first + 1]
        pair = np.minimum(a, b) * users + np.maximum(a, b)
        porder = np.argsort(pair, kind="stable")
        repeated = porder[1:][pair[porder][1:] == pair[porder][:-1]]
        dup[direct_first[repeated] + 1] = True
        if round_no >= PAIR_REDRAW_ROUND:
            dup[direct_first[repeated]] = True
        redo = np.flatnonzero(dup)
        if len(redo) == 0:
            return member_user
        member_user[redo] = draw(len(redo), round_no < WEIGHTED_ROUNDS)
    raise RuntimeError("membership draw did not converge")  # unreachable for planned counts


def _join_times(
    rng: np.random.Generator,
    spec: Spec,
    member_conv: I64,
    first_slot: I64,
    created: I64,
    user_created: I64,
    snapshot_us: int,
) -> I64:
    """Creator joins at creation, the next member within minutes, late joiners any time after."""
    n = len(member_conv)
    slot = np.arange(n) - first_slot[member_conv]
    conv_created = created[member_conv]
    j = spec.conversations
    soon = conv_created + (
        rng.random(n) * j.joining.second_member_within_seconds * US_PER_SECOND
    ).astype(np.int64)
    life = (snapshot_us - conv_created).astype(np.float64)
    late = conv_created + (rng.random(n) * j.joining.late_joiner_within_life * life).astype(
        np.int64
    )
    is_late = (slot >= 2) & (rng.random(n) < spec.conversations.late_joiner_share)
    joined = np.where(slot == 0, conv_created, np.where(is_late, late, soon))
    joined = np.maximum(joined, user_created + US_PER_SECOND)
    joined = np.where(slot == 0, conv_created, joined)
    last = snapshot_us - int(j.joining.last_join_before_snapshot_seconds * US_PER_SECOND)
    return np.minimum(joined, last).astype(np.int64)


def _message_counts(
    rng: np.random.Generator, spec: Spec, n: Counts, heavy: NDArray[np.bool_]
) -> I64:
    """Exact totals first; regular rooms keep their power law; heavy rooms absorb the rest."""
    m = spec.messages_per_conversation
    counts = np.zeros(len(heavy), dtype=np.int64)
    regular = ~heavy
    drawn = dist.discrete_power_law(
        rng, int(regular.sum()), m.regular.alpha, m.regular.min, m.regular.max
    )
    budget = n.messages - n.heavy * n.heavy_min_messages
    counts[regular] = dist.cap_to_budget(drawn, budget, m.regular.min)
    remainder = n.messages - int(counts.sum())
    if n.heavy:
        weights = rng.pareto(m.heavy.alpha - 1.0, n.heavy) + 1.0
        extra = remainder - n.heavy * n.heavy_min_messages
        counts[heavy] = n.heavy_min_messages + dist.split_exact(extra, weights)
    return counts
