"""Read receipts: the delay mixture and both receipt models, chosen by `read_receipts.per`
(`shard_receipts`).

"message": a read message gets one receipt, by one member other than its sender who had joined
by then, drawn on the shard's messages stream. "member": every such member reads it with
probability `read_rate`, on the shard's receipts stream. Either way a read lands after a delay
drawn from the spec's mixture, and one past the snapshot is not written. Under "member", rooms
with more members than `per_member_max_members` write no receipt rows, only each member's
lastReadAt (as applications that keep only a read cursor for big groups do); pairs are drawn
in chunks of at most CHUNK_PAIRS, so a shard's memory grows only with the rows it writes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from synthgen.engine import distributions as dist
from synthgen.engine.delay_window import delay_table
from synthgen.engine.latest_read import ReaderView, latest_reads
from synthgen.engine.streams import stream
from synthgen.spec import ReceiptsPer, Spec
from synthgen.units import US_PER_SECOND

I64 = NDArray[np.int64]
# (message, member) pairs drawn at once: ~15 MB of temporaries. Part of the output: changing it
# changes which random numbers fall to which pair.
CHUNK_PAIRS = 1 << 18
# (message row, reader member row, readAt, delay component) of the rows to write, and every
# member's latest read (0 when none), rooms that write no rows included
Receipts = tuple[I64, I64, I64, NDArray[np.int8], I64]


@dataclass(frozen=True)
class ShardMessages:
    """What a receipt model reads of one message shard."""

    seed: str
    shard: int
    rng: np.random.Generator  # the shard's messages stream, after its messages were drawn
    member_offsets: I64  # the slice's conversations' members (CSR)
    local_conv: I64  # each message's conversation, in the slice
    created: I64
    eligible: I64  # members who had joined by each message, its sender included
    sender_row: I64


def shard_receipts(spec: Spec, messages: ShardMessages) -> Receipts:
    """The shard's receipts under the spec's receipt model."""
    return RECEIPT_MODELS[spec.read_receipts.per](spec, messages)


def per_message(spec: Spec, m: ShardMessages) -> Receipts:
    """One receipt for a read message, by a member other than the sender who had joined by then."""
    n = len(m.created)
    read = m.rng.random(n) < spec.read_receipts.read_rate
    delay, component = receipt_delays_us(m.rng, spec, n)
    first = m.member_offsets[:-1][m.local_conv]
    pick = (m.rng.random(n) * (m.eligible - 1)).astype(np.int64)
    sender_local = m.sender_row - first
    reader_row = first + pick + (pick >= sender_local)
    read_us = m.created + delay
    keep = np.flatnonzero(read & (read_us <= spec.time.snapshot_us) & (m.eligible >= 2))
    last_read = np.zeros(int(m.member_offsets[-1]), dtype=np.int64)
    np.maximum.at(last_read, reader_row[keep], read_us[keep])
    return keep, reader_row[keep], read_us[keep], component[keep], last_read


def receipt_delays_us(rng: np.random.Generator, spec: Spec, n: int) -> tuple[I64, NDArray[np.int8]]:
    """Receipt delays from the spec's delay mixture, and the component each came from (its index
    in `DelayMixture.components`)."""
    m = spec.read_receipts.delay_mixture
    shares = np.asarray([c.share for c in m.components])
    component = dist.categorical(rng, n, shares).astype(np.int8)
    seconds = np.empty(n, dtype=np.float64)
    # each component's rows as indices: assigning through them is cheaper than through a mask
    rows = np.flatnonzero(component == 0)
    low = m.immediate.min_seconds
    seconds[rows] = low + rng.random(len(rows)) * (m.immediate.max_seconds - low)
    rows = np.flatnonzero(component == 1)
    # truncated exponential on [min, max) by inverse CDF
    near = m.near_term
    scale = max(near.mean_seconds - near.min_seconds, 1.0)
    top = 1.0 - np.exp(-(near.max_seconds - near.min_seconds) / scale)
    seconds[rows] = near.min_seconds - scale * np.log1p(-rng.random(len(rows)) * top)
    rows = np.flatnonzero(component == 2)
    delayed = m.delayed
    seconds[rows] = _truncated_lognormal(
        rng,
        len(rows),
        delayed.lognormal.mu,
        delayed.lognormal.sigma,
        delayed.min_seconds,
        delayed.max_seconds,
    )
    rows = np.flatnonzero(component == 3)
    lo, hi = np.log(m.stale.min_seconds), np.log(m.stale.max_seconds)
    seconds[rows] = np.exp(lo + rng.random(len(rows)) * (hi - lo))
    return np.maximum(1, (seconds * US_PER_SECOND).astype(np.int64)), component


def _truncated_lognormal(
    rng: np.random.Generator, n: int, mu: float, sigma: float, lo: float, hi: float
) -> NDArray[np.float64]:
    out = rng.lognormal(mu, sigma, n)
    for _ in range(200):
        bad = np.flatnonzero((out < lo) | (out >= hi))
        if len(bad) == 0:
            return out
        out[bad] = rng.lognormal(mu, sigma, len(bad))
    return np.clip(out, lo, np.nextafter(hi, lo))


def per_member(spec: Spec, m: ShardMessages) -> Receipts:
    """One receipt per reading member, on the shard's own receipts stream."""
    r = spec.read_receipts
    member_offsets, local_conv, created = m.member_offsets, m.local_conv, m.created
    eligible, sender_row = m.eligible, m.sender_row
    rng = stream(m.seed, "receipts", m.shard)
    first = member_offsets[:-1][local_conv]
    sender_local = sender_row - first
    room_writes = r.writes_rows(np.diff(member_offsets))
    readers = np.maximum(eligible - 1, 0)
    last_read = np.zeros(int(member_offsets[-1]), dtype=np.int64)
    writes = room_writes[local_conv]
    parts: list[tuple[I64, I64, I64, NDArray[np.int8]]] = []
    # rooms that write rows: every pair, in message order
    rows = np.flatnonzero(writes & (readers > 0))
    for lo, hi in _chunks(readers[rows], CHUNK_PAIRS):
        msg, reader = _pairs(rows[lo:hi], readers, first, sender_local)
        msg, reader, read_us, component = _read(rng, spec, msg, reader, created)
        np.maximum.at(last_read, reader, read_us)
        parts.append((msg, reader, read_us, component))
    # rooms that keep only lastReadAt: each member's latest read, newest messages first, without
    # a draw per pair (engine.latest_read)
    view = ReaderView(
        member_offsets,
        local_conv,
        created,
        eligible,
        sender_row,
        r.read_rate,
        spec.time.snapshot_us,
    )
    capped = np.flatnonzero(~writes & (readers > 0))[::-1]
    if len(capped):
        latest_reads(rng, delay_table(r.delay_mixture), view, capped, last_read)
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, np.zeros(0, dtype=np.int8), last_read
    msg, reader, read_us, component = (np.concatenate(p) for p in zip(*parts, strict=True))
    return msg, reader, read_us, component.astype(np.int8), last_read


def _pairs(rows: I64, readers: I64, first: I64, sender_local: I64) -> tuple[I64, I64]:
    """(message row, member row) of every reader of the given messages: the members of the
    room who had joined by then (the first `readers + 1`, in join order), less the sender."""
    count = readers[rows]
    msg = np.repeat(rows, count)
    k = np.arange(len(msg), dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
    k += k >= np.repeat(sender_local[rows], count)
    return msg, first[msg] + k


def _read(
    rng: np.random.Generator, spec: Spec, msg: I64, reader: I64, created: I64
) -> tuple[I64, I64, I64, NDArray[np.int8]]:
    """Which pairs are read (read_rate), when (the delay mixture), and which of those reads land
    by the snapshot: (message row, member row, readAt, delay component) of those."""
    read = np.flatnonzero(rng.random(len(msg)) < spec.read_receipts.read_rate)
    delay, component = receipt_delays_us(rng, spec, len(read))
    msg = msg[read]
    read_us = created[msg] + delay
    landed = read_us <= spec.time.snapshot_us
    if landed.all():  # most chunks: no read passes the snapshot, so no second gather
        return msg, reader[read], read_us, component
    keep = np.flatnonzero(landed)
    return msg[keep], reader[read[keep]], read_us[keep], component[keep]


def _chunks(counts: I64, limit: int) -> list[tuple[int, int]]:
    """Consecutive [lo, hi) ranges of rows whose counts sum to at most about `limit` (a range
    ends at the row that passes a multiple of it)."""
    total = np.cumsum(counts)
    if len(total) == 0 or total[-1] == 0:
        return []
    cuts = np.searchsorted(total, np.arange(limit, int(total[-1]), limit), side="right")
    bounds = np.unique(np.concatenate([[0], cuts, [len(counts)]]))
    return [(int(a), int(b)) for a, b in itertools.pairwise(bounds.tolist())]


RECEIPT_MODELS: dict[ReceiptsPer, Callable[[Spec, ShardMessages], Receipts]] = {
    ReceiptsPer.MESSAGE: per_message,
    ReceiptsPer.MEMBER: per_member,
}
