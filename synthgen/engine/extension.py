"""What happens after the snapshot (`synthgen extend`): NumPy only, no I/O.

The timeline continues from the seam with the spec's own rates: each room keeps its rate per unit
of intensity, users sign up and rooms open at the spec's in-window rates, each new user joins one
group room, and group members leave at churn.leave_rate per day. docs/extend.md gives each rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from synthgen.contract import MEMBER_ROLES
from synthgen.engine import distributions as dist
from synthgen.engine.timemodel import IntensityGrid
from synthgen.spec import Spec
from synthgen.units import US_PER_DAY, US_PER_SECOND

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
DIRECT, SMALL, LARGE = 0, 1, 2
OWNER, MEMBER = MEMBER_ROLES.index("OWNER"), MEMBER_ROLES.index("MEMBER")
JOIN_WITHIN_US = US_PER_DAY  # a new user joins their first group room within a day


def new_user_rate(spec: Spec, base_users: int) -> float:
    """Sign-ups per day after the snapshot."""
    t = spec.time
    return base_users * t.new_user_share / (t.new_user_signup_within * t.window_days)


def new_room_rate(spec: Spec, base_regular_rooms: int) -> float:
    """Rooms opened per day after the snapshot."""
    o = spec.conversations.opening
    return base_regular_rooms / (o.regular_skew * o.regular_within * spec.time.window_days)


def room_rates(grid: IntensityGrid, messages: I64, active_from: I64, seam_us: int) -> F64:
    """Each room's messages per unit of intensity mass over its life up to the seam."""
    start = np.clip(active_from, grid.start_us, seam_us - 1)
    mass = grid.mass(np.full(len(start), seam_us, dtype=np.int64)) - grid.mass(start)
    return np.where(mass > 0, messages / np.maximum(mass, 1e-12), 0.0)


@dataclass(frozen=True)
class Arrivals:
    """The new users, rooms and memberships of an extension, and the leaves."""

    user_created_us: I64  # new users in sign-up order (ids follow)
    room_created_us: I64  # new rooms in opening order (ids follow)
    room_kind: I64
    room_rate: F64
    member_conv: I64  # new memberships: conversation index (id - 1), user index, joinedAt, role
    member_user: I64
    member_joined_us: I64
    member_role: I64
    leave_row: I64  # rows of the existing members who leave, and when
    leave_us: I64


def draw_arrivals(
    spec: Spec,
    rng: np.random.Generator,
    grid: IntensityGrid,
    window: tuple[int, int],
    rates: tuple[float, float],
    world: World,
) -> Arrivals:
    """Draw the extension's new users, rooms, memberships and leaves over `window`."""
    start, end = window
    days = (end - start) / US_PER_DAY
    lo = np.full(1, start, dtype=np.int64)
    hi = np.full(1, end, dtype=np.int64)
    n_users = int(rng.poisson(rates[0] * days))
    user_created = np.sort(grid.sample(rng, np.repeat(lo, n_users), np.repeat(hi, n_users)))
    n_rooms = int(rng.poisson(rates[1] * days))
    room_created = np.sort(grid.sample(rng, np.repeat(lo, n_rooms), np.repeat(hi, n_rooms)))
    mix = spec.conversations.mix
    kind = dist.categorical(
        rng, n_rooms, np.asarray([mix.direct, mix.small_group, mix.large_group])
    )
    all_created = np.concatenate([world.user_created_us, user_created])
    rooms = _room_members(spec, rng, world, all_created, room_created, kind)
    soon = np.flatnonzero(rooms[2] < end)  # who would join after the end joins in a later one
    rooms = (rooms[0][soon], rooms[1][soon], rooms[2][soon], rooms[3][soon])
    joins = _first_joins(rng, world, user_created, end)
    leave_row, leave_us = _leaves(spec, rng, world, window)
    member = tuple(np.concatenate([r, j]) for r, j in zip(rooms, joins, strict=True))
    return Arrivals(
        user_created_us=user_created,
        room_created_us=room_created,
        room_kind=kind,
        room_rate=_template_rates(rng, world, kind),
        member_conv=member[0],
        member_user=member[1],
        member_joined_us=member[2],
        member_role=member[3],
        leave_row=leave_row,
        leave_us=leave_us,
    )


@dataclass(frozen=True)
class World:
    """What the draws need of the state at the seam (ids are index + 1)."""

    user_created_us: I64  # sorted: users are numbered in sign-up order
    conv_kind: I64
    conv_rate: F64
    conv_heavy: NDArray[np.bool_]
    member_conv: I64
    member_user: I64
    member_role: I64
    member_active: NDArray[np.bool_]


def _room_members(
    spec: Spec,
    rng: np.random.Generator,
    world: World,
    user_created: I64,
    room_created: I64,
    kind: I64,
) -> tuple[I64, I64, I64, I64]:
    """A creator who had signed up, and members drawn among users who had, joining within the
    spec's second_member_within_seconds; duplicates dropped."""
    c = spec.conversations
    existing = np.searchsorted(user_created, room_created, side="left")  # users signed up by then
    sizes = np.full(len(kind), 2, dtype=np.int64)
    small, large = kind == SMALL, kind == LARGE
    sizes[small] = dist.truncated_geometric(
        rng,
        int(small.sum()),
        c.small_group.geometric_p,
        c.small_group.min_members,
        c.small_group.max_members,
    )
    sizes[large] = dist.discrete_power_law(
        rng,
        int(large.sum()),
        c.large_group.alpha,
        c.large_group.min_members,
        c.large_group.max_members,
    )
    sizes = np.minimum(sizes, np.maximum(existing, 1))
    conv = np.repeat(np.arange(len(kind)), sizes) + len(world.conv_kind)
    slot = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    room = conv - len(world.conv_kind)
    user = (rng.random(len(conv)) * existing[room]).astype(np.int64)
    within = c.joining.second_member_within_seconds * US_PER_SECOND
    joined = room_created[room] + np.where(slot == 0, 0, 1 + rng.random(len(conv)) * within)
    role = np.where(slot == 0, np.where(kind[room] == DIRECT, MEMBER, OWNER), MEMBER)
    keep = np.unique(conv * (1 << 31) + user, return_index=True)[1]
    keep.sort()
    return conv[keep], user[keep], joined.astype(np.int64)[keep], role[keep].astype(np.int64)


def _first_joins(
    rng: np.random.Generator, world: World, user_created: I64, end: int
) -> tuple[I64, I64, I64, I64]:
    """Each new user joins one existing group room within a day of signing up (before `end`)."""
    group_rows = np.flatnonzero(world.conv_kind[world.member_conv] != DIRECT)
    if len(group_rows) == 0 or len(user_created) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty
    pick = group_rows[rng.integers(0, len(group_rows), len(user_created))]
    joined = user_created + (rng.random(len(user_created)) * JOIN_WITHIN_US).astype(np.int64)
    keep = np.flatnonzero(joined < end)
    users = np.arange(len(user_created), dtype=np.int64) + len(world.user_created_us)
    conv = world.member_conv[pick]
    return conv[keep], users[keep], joined[keep], np.full(len(keep), MEMBER, dtype=np.int64)


def _leaves(
    spec: Spec, rng: np.random.Generator, world: World, window: tuple[int, int]
) -> tuple[I64, I64]:
    """Group members other than owners, still active, leave at the daily rate: the first day
    each draws below the rate, at a uniform instant of that day."""
    rate = spec.churn.leave_rate
    start, end = window
    days = max(1, (end - start) // US_PER_DAY)
    can = np.flatnonzero(
        world.member_active
        & (world.member_role != OWNER)
        & (world.conv_kind[world.member_conv] != DIRECT)
    )
    if rate <= 0 or len(can) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    first_day = rng.geometric(rate, len(can)) - 1  # days before the leave
    when = start + first_day * US_PER_DAY + (rng.random(len(can)) * US_PER_DAY).astype(np.int64)
    keep = np.flatnonzero((first_day < days) & (when < end))
    return can[keep], when[keep]


def _template_rates(rng: np.random.Generator, world: World, kind: I64) -> F64:
    """A new room talks like a base room of its kind (not heavy), drawn uniformly."""
    rates = np.zeros(len(kind))
    for code in (DIRECT, SMALL, LARGE):  # three kinds, not rows
        pool = np.flatnonzero((world.conv_kind == code) & ~world.conv_heavy)
        rows = np.flatnonzero(kind == code)
        if len(pool) and len(rows):
            rates[rows] = world.conv_rate[pool[rng.integers(0, len(pool), len(rows))]]
    return rates
