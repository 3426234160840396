"""The latest read of every member of a room above the receipt cap, drawn without a draw per
(message, member) pair.

Such a room writes no receipt rows: of all its members' reads only each member's latest counts
(lastReadAt). A pair's read (with probability read_rate, at its message's time plus a delay from
the mixture, kept if by the snapshot) can change its member's latest only if it lands after the
latest read found so far. Messages are taken newest first, in chunks; for each message the
threshold is the lowest latest read among the members who had joined by then (its readers are
among them), so only a read landing in (threshold, snapshot] matters, and its chance is
`read_rate x P(delay in window)`, the same for every reader of the message. So per message: a
binomial count of the readers whose read lands in the (grid-widened) window, which readers (a
uniform subset), and each one's delay given the window (`delay_window`); a read outside the
exact window changes nothing. Each member's latest read has the law of the maximum over all
its pairs' reads, as if each pair were drawn: a read at or below the threshold never raises a
maximum already above it. The first, newest chunk has no threshold yet, so nearly every pair of
it reads: those messages are drawn pair by pair (a uniform each) rather than by count.
"""

from __future__ import annotations

import itertools

import numpy as np
from numpy.typing import NDArray

from synthgen.engine.delay_window import DelayTable
from synthgen.units import US_PER_SECOND

I64 = NDArray[np.int64]
# pairs in the first chunk (the newest messages); each later chunk has twice the pairs of the one
# before, up to GROWTH_CAP times the first: the thresholds rise after each chunk, so a small
# first chunk spares the draws of pairs that cannot matter, and few chunks spare the per-chunk
# passes (benchmarks/README.md, "Generation"). Part of the output, like the receipts' CHUNK_PAIRS.
FIRST_CHUNK_PAIRS = 1 << 14
GROWTH_CAP = 64
# a message whose readers each read in its window with more than this chance is drawn pair by
# pair; below it, by a count and a subset (few repeats to redraw)
DENSE = 0.25


def latest_reads(
    rng: np.random.Generator,
    table: DelayTable,
    m: ReaderView,
    rows: I64,
    last_read: I64,
    first_chunk: int = FIRST_CHUNK_PAIRS,
) -> None:
    """Raise `last_read` (per member row) to each member's latest landed read over the pairs of
    the messages `rows` (newest first)."""
    room_of = np.repeat(np.arange(len(m.member_offsets) - 1), np.diff(m.member_offsets))
    for lo, hi in _growing_chunks(m.readers[rows], first_chunk):
        idx = rows[lo:hi]
        threshold = _thresholds(m, room_of, last_read, idx)
        window_lo = (threshold - m.created[idx]) / US_PER_SECOND  # 1 us of slack below
        window_hi = (m.snapshot_us - m.created[idx] + 2) / US_PER_SECOND
        g, h = table.cells(window_lo, window_hi)
        chance = m.read_rate * table.mass(g, h)
        msg_pos, member = _candidates(rng, m, idx, chance)
        if len(msg_pos) == 0:
            continue
        seconds = table.draw(rng, g[msg_pos], h[msg_pos])
        read_us = m.created[idx[msg_pos]] + np.maximum(
            1, (seconds * US_PER_SECOND).astype(np.int64)
        )
        keep = np.flatnonzero((read_us > threshold[msg_pos]) & (read_us <= m.snapshot_us))
        np.maximum.at(last_read, member[keep], read_us[keep])


class ReaderView:
    """What the latest-read draw reads of a shard's messages."""

    def __init__(
        self,
        member_offsets: I64,
        local_conv: I64,
        created: I64,
        eligible: I64,
        sender_row: I64,
        read_rate: float,
        snapshot_us: int,
    ) -> None:
        self.member_offsets, self.created = member_offsets, created
        self.first = member_offsets[:-1][local_conv]
        self.eligible = eligible
        self.sender_local = sender_row - self.first
        self.readers = np.maximum(eligible - 1, 0)
        self.read_rate, self.snapshot_us = read_rate, snapshot_us
        self.floor = int(created.min()) - 1 if len(created) else 0


def _thresholds(m: ReaderView, room_of: I64, last_read: I64, idx: I64) -> I64:
    """Per message: at most the lowest latest read among the members who had joined by then
    (rounded down to a whole second or coarser, which only widens the window)."""
    span = max(int(m.snapshot_us) - m.floor, 1)
    rooms = len(m.member_offsets)
    quantum = US_PER_SECOND
    while (span // quantum).bit_length() + rooms.bit_length() > 62:
        quantum *= 2
    bits = (span // quantum).bit_length()
    rel = (np.maximum(last_read, m.floor) - m.floor) // quantum
    # a running minimum that restarts at each room: later rooms get smaller keys
    key = ((rooms - 1 - room_of) << bits) + rel
    prefix = np.minimum.accumulate(key) & ((1 << bits) - 1) if len(key) else key
    return m.floor + prefix[m.first[idx] + m.eligible[idx] - 1] * quantum


def _candidates(
    rng: np.random.Generator, m: ReaderView, idx: I64, chance: NDArray[np.float64]
) -> tuple[I64, I64]:
    """(position in idx, member row) of the pairs whose read falls in their message's window."""
    dense = chance > DENSE
    d_pos = np.flatnonzero(dense)
    count = m.readers[idx[d_pos]]
    msg = np.repeat(d_pos, count)
    k = np.arange(len(msg), dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
    hit = np.flatnonzero(rng.random(len(msg)) < chance[msg])
    d_msg, d_k = msg[hit], k[hit]
    s_pos = np.flatnonzero(~dense)
    picks = rng.binomial(m.readers[idx[s_pos]], chance[s_pos])
    s_msg = np.repeat(s_pos, picks)
    s_k = _uniform_subsets(rng, s_msg, m.readers[idx[s_msg]])
    msg, k = np.concatenate([d_msg, s_msg]), np.concatenate([d_k, s_k])
    rows = idx[msg]
    k += k >= m.sender_local[rows]  # the sender is not one of its message's readers
    return msg, m.first[rows] + k


def _uniform_subsets(rng: np.random.Generator, group: I64, size: I64) -> I64:
    """For each entry, a reader index in [0, size) with no index twice within a group: draws
    with replacement, repeats redrawn until none is left. The result's law does not change under
    any relabelling of the indices, so each group's set is a uniform subset of its size."""
    pick = (rng.random(len(group)) * size).astype(np.int64)
    width = int(size.max()) + 1 if len(size) else 1
    for _ in range(10_000):
        key = group * width + pick
        order = np.argsort(key, kind="stable")
        repeat = np.zeros(len(key), dtype=bool)
        repeat[order[1:]] = key[order[1:]] == key[order[:-1]]
        again = np.flatnonzero(repeat)
        if len(again) == 0:
            break
        pick[again] = (rng.random(len(again)) * size[again]).astype(np.int64)
    return pick


def _growing_chunks(counts: I64, first: int) -> list[tuple[int, int]]:
    """Consecutive [lo, hi) ranges of rows, each ending at the row whose running count of pairs
    passes the chunk's limit (`first`, then doubling up to GROWTH_CAP times it)."""
    total = np.cumsum(counts)
    if len(total) == 0 or total[-1] == 0:
        return []
    limits, step, at = [], first, 0
    while at + step < int(total[-1]):
        at += step
        limits.append(at)
        step = min(step * 2, first * GROWTH_CAP)
    cuts = np.searchsorted(total, np.asarray(limits, dtype=np.int64), side="right")
    bounds = np.unique(np.concatenate([[0], cuts, [len(counts)]]))
    return [(int(a), int(b)) for a, b in itertools.pairwise(bounds.tolist())]
