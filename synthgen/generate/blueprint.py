"""Pure planning: (spec, band, scale, seed) -> counts, skeleton and each shard's slice. No I/O.

A conversation's messages are cut into pieces of at most half a shard, each a slice of the
conversation's time range with equal intensity mass; consecutive pieces fill shards of about
`output.shard_messages` messages. Shard boundaries, ids and seeds depend only on the inputs,
never on how many workers run the shards.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from synthgen.engine.arrival_ids import skeleton_in_arrival_order
from synthgen.engine.messages import ShardSlice
from synthgen.engine.skeleton import (
    Counts,
    Skeleton,
    build_skeleton,
    capacity_problems,
    counts_for,
    floor_problems,
)
from synthgen.engine.timemodel import IntensityGrid
from synthgen.errors import PlanError
from synthgen.spec import Spec

MAX_SCALE = 1e6  # past it, smallest_scale gives up (inf)


@dataclass(frozen=True)
class Plan:
    band: str
    scale: float
    seed: str
    counts: Counts
    skeleton: Skeleton
    shard_slices: tuple[ShardSlice, ...]

    @property
    def shard_count(self) -> int:
        return len(self.shard_slices)


def check_scale(spec: Spec, band: str, scale: float) -> Counts:
    """Counts for this band and scale, or a PlanError that says which scales are allowed."""
    if not (scale > 0 and np.isfinite(scale)):
        raise PlanError(f"--scale: must be a number > 0 (got {scale})")
    counts = counts_for(spec, band, scale)
    low, high = floor_problems(spec, counts), capacity_problems(spec, counts)
    if not (low or high):
        return counts
    minimum, maximum = smallest_scale(spec, band), largest_scale(spec, band)
    if not np.isfinite(minimum):
        raise PlanError(f"band {band!r} cannot be generated at any scale: {low[0]}")
    if minimum > maximum:
        at_min = capacity_problems(spec, counts_for(spec, band, minimum))
        why = at_min[0] if at_min else f"from --scale {maximum:.4g} on, rooms outgrow the band"
        raise PlanError(
            f"band {band!r} cannot be generated at any scale: the conversation mix needs "
            f"--scale {minimum:.4g} or more, and there {why}"
        )
    if low:
        raise PlanError(
            f"--scale {scale:g} is too small for band {band!r}: {low[0]}; "
            f"the smallest scale that holds the conversation mix is {minimum:.4g}"
        )
    raise PlanError(
        f"--scale {scale:g} is too large for band {band!r}: {high[0]}; "
        f"the largest scale at which every room holds its minimum is {maximum:.4g}"
    )


def smallest_scale(spec: Spec, band: str) -> float:
    """The smallest scale (to 3 significant digits) whose counts hold the conversation mix;
    above 1 when a class's share is too small for the band itself, inf past a million."""
    lo, hi = 1e-9, 1.0
    while floor_problems(spec, counts_for(spec, band, hi)):
        lo, hi = hi, hi * 2
        if hi > MAX_SCALE:
            return float("inf")
    for _ in range(60):
        mid = (lo * hi) ** 0.5
        if floor_problems(spec, counts_for(spec, band, mid)):
            lo = mid
        else:
            hi = mid
    # not monotone at the edge of rounding; step up until a clean value holds
    candidate = float(f"{hi:.3g}")
    while floor_problems(spec, counts_for(spec, band, candidate)):
        candidate = float(f"{candidate * 1.001:.3g}") + 10 ** (np.floor(np.log10(candidate)) - 2)
    return candidate


def largest_scale(spec: Spec, band: str) -> float:
    """The largest scale (to 3 significant digits, rounded down) at which the band's messages
    give every room its minimum; inf when scale 1 does (above it the heavy threshold stays
    fixed while every count grows alike)."""
    if not capacity_problems(spec, counts_for(spec, band, 1.0)):
        return float("inf")
    lo, hi = 1e-9, 1.0
    for _ in range(60):
        mid = (lo * hi) ** 0.5
        if capacity_problems(spec, counts_for(spec, band, mid)):
            hi = mid
        else:
            lo = mid
    candidate = float(f"{lo:.3g}")
    while candidate > 1e-9 and capacity_problems(spec, counts_for(spec, band, candidate)):
        candidate = float(f"{candidate * 0.999:.3g}") - 10 ** (np.floor(np.log10(candidate)) - 2)
    return candidate


def make_plan(spec: Spec, band: str, scale: float, seed: str) -> Plan:
    """Plan the whole dataset: the skeleton and every message shard's slice of it."""
    counts = check_scale(spec, band, scale)
    skeleton = skeleton_in_arrival_order(build_skeleton(spec, counts, seed))
    drawn = int(skeleton.conv_messages.sum())
    if drawn != counts.messages:  # heavy rooms absorb the rest; with none, nobody does
        fraction = spec.messages_per_conversation.heavy.fraction
        raise PlanError(
            f"messages_per_conversation.heavy.fraction {fraction:g}"
            f" leaves no heavy room to take what the regular rooms' power law does not draw:"
            f" {drawn:,} of the band's {counts.messages:,} messages; raise heavy.fraction above 0"
        )
    slices = _shard_slices(spec, skeleton)
    return Plan(band, scale, seed, counts, skeleton, tuple(slices))


def _shard_slices(spec: Spec, sk: Skeleton) -> list[ShardSlice]:
    grid = IntensityGrid.build(spec.time)
    piece_max = max(1, spec.output.shard_messages // 2)
    per_conv = np.maximum(1, -(-sk.conv_messages // piece_max))
    piece_conv = np.repeat(np.arange(len(per_conv)), per_conv)
    piece_index = np.arange(len(piece_conv)) - np.repeat(np.cumsum(per_conv) - per_conv, per_conv)
    parts = per_conv[piece_conv]
    lo_mass = grid.mass(sk.conv_activity_start_us)[piece_conv]
    hi_mass = grid.mass(np.full(len(per_conv), spec.time.snapshot_us))[piece_conv]
    piece_lo = grid.time_at(lo_mass + (hi_mass - lo_mass) * piece_index / parts)
    piece_hi = grid.time_at(lo_mass + (hi_mass - lo_mass) * (piece_index + 1) / parts)
    piece_lo = np.where(piece_index == 0, sk.conv_activity_start_us[piece_conv], piece_lo)
    piece_hi = np.where(piece_index == parts - 1, spec.time.snapshot_us, piece_hi)
    total = sk.conv_messages[piece_conv]
    piece_count = total // parts + (piece_index < total % parts)

    first_id = np.concatenate([[0], np.cumsum(piece_count)[:-1]])
    shard_of = first_id // spec.output.shard_messages
    _, shard_start = np.unique(shard_of, return_index=True)
    bounds = [*shard_start.tolist(), len(piece_conv)]
    slices = []
    for shard, (a, b) in enumerate(itertools.pairwise(bounds)):
        c0, c1 = int(piece_conv[a]), int(piece_conv[b - 1]) + 1
        m0, m1 = int(sk.member_offsets[c0]), int(sk.member_offsets[c1])
        users = sk.member_user[m0:m1]
        slices.append(
            ShardSlice(
                shard=shard,
                piece_conv=piece_conv[a:b].astype(np.int64),
                piece_lo_us=piece_lo[a:b],
                piece_hi_us=piece_hi[a:b],
                piece_count=piece_count[a:b].astype(np.int64),
                conv_first=c0,
                member_offsets=sk.member_offsets[c0 : c1 + 1] - m0,
                member_first=m0,
                member_user=users,
                member_joined_us=sk.member_joined_us[m0:m1],
                member_weight=sk.user_weight[users],
            )
        )
    return slices
