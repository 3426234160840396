"""One day of an extension: its messages (the engine's own shard code over one piece per room),
then what the churn and the leaves change. NumPy only, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from synthgen.contract import TEXT_TYPE
from synthgen.engine.arrival_ids import arrival, bucket_counts, shard_offsets
from synthgen.engine.extension_late import LateReads
from synthgen.engine.messages import ArrivalIds, MessageShard, ShardSlice, generate_message_shard
from synthgen.engine.streams import stream
from synthgen.engine.timemodel import IntensityGrid
from synthgen.spec import Spec
from synthgen.units import US_PER_DAY, US_PER_SECOND

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
BUCKETS = 4096
NEVER = np.iinfo(np.int64).max
# change codes: a change row's op is CHANGE_OPS[code]
CHANGE_OPS = ("edit", "soft_delete", "hard_delete", "leave", "read_cursor", "seen", "room_updated")
EDIT, SOFT, HARD, LEAVE, READ, SEEN, ROOM = range(len(CHANGE_OPS))


@dataclass(frozen=True)
class Members:
    """Every membership (existing and new), sorted by conversation then joinedAt."""

    offsets: I64  # per conversation index + 1
    user: I64  # user index
    joined_us: I64
    left_us: I64  # NEVER unless the member leaves in this extension


@dataclass(frozen=True)
class Rooms:
    rate: F64  # messages per unit of intensity mass
    active_from_us: I64  # the seam for existing rooms; the second member's join for new ones


@dataclass(frozen=True)
class Changes:
    """A day's updates and deletes, unsorted: when, what, which row, and an edit's row."""

    at_us: I64
    op: NDArray[np.int8]
    message: I64  # message id (0 when none)
    conv: I64  # conversation id
    user: I64  # user id (0 when none)
    edited_row: I64  # row of the day's messages an edit rewrites (-1 when none)


@dataclass(frozen=True)
class Day:
    shard: MessageShard
    changes: Changes


def day_counts(
    rng: np.random.Generator, grid: IntensityGrid, rooms: Rooms, day: tuple[int, int]
) -> tuple[I64, I64, I64]:
    """Rooms that talk on this day, where their piece starts, and how many messages it holds."""
    lo = np.maximum(rooms.active_from_us, day[0])
    hi = np.full(len(lo), day[1], dtype=np.int64)
    live = lo < hi - 2000
    mass = np.where(live, grid.mass(hi) - grid.mass(np.minimum(lo, hi)), 0.0)
    counts = rng.poisson(rooms.rate * mass).astype(np.int64)
    rows = np.flatnonzero(counts > 0)
    return rows, lo[rows], counts[rows]


def generate_day(
    spec: Spec,
    seed: str,
    index: int,
    grid: IntensityGrid,
    members: Members,
    rooms: Rooms,
    day: tuple[int, int],
    first_ids: tuple[int, int],
    vocab: list[bytes],
    end_us: int,
    late: LateReads | None = None,
) -> Day:
    """Day `index` of the extension: messages with ids after `first_ids` (messages,
    attachments), senders who had left replaced by the room's first member, reads by leavers
    after they left dropped, then the churn (changes before `end_us`, the extension's end); `late`:
    the late reads of older messages that land on this day."""
    rng = stream(seed, "extension-day", index)
    rows, lo, counts = day_counts(rng, grid, rooms, day)
    piece_hi = np.full(len(rows), day[1], dtype=np.int64)
    shard_slice = ShardSlice(
        shard=index,
        piece_conv=rows.astype(np.int64),
        piece_lo_us=lo,
        piece_hi_us=piece_hi,
        piece_count=counts,
        conv_first=0,
        member_offsets=members.offsets,
        member_first=0,
        member_user=members.user,
        member_joined_us=members.joined_us,
        member_weight=np.ones(len(members.user)),
    )
    created, _, mtype = arrival(spec, seed, index, rows, lo, piece_hi, counts, 0)
    msg_counts, media_counts = bucket_counts(created, mtype, day, BUCKETS)
    ids = ArrivalIds(
        window=day,
        buckets=BUCKETS,
        message_offsets=shard_offsets(msg_counts[None, :])[0] + first_ids[0],
        attachment_offsets=shard_offsets(media_counts[None, :])[0] + first_ids[1],
    )
    shard = _after_leaves(generate_message_shard(spec, seed, shard_slice, vocab, ids), members)
    if late is not None:  # reads of older messages move cursors too
        last_read = shard.member_last_read_us.copy()
        np.maximum.at(last_read, late.member_row, late.read_us)
        shard = replace(shard, member_last_read_us=last_read)
    day_of = _churn(spec, rng, shard, members, (day[0], end_us))
    return (
        day_of if late is None else replace(day_of, shard=_with_late(day_of.shard, late, members))
    )


def _with_late(shard: MessageShard, late: LateReads, members: Members) -> MessageShard:
    """The day's receipts and the late reads landing on it, in readAt order (ties: message,
    reader), as the engine writes them."""
    message = np.concatenate([shard.receipt_message, late.message])
    user = np.concatenate([shard.receipt_user, members.user[late.member_row] + 1])
    read_us = np.concatenate([shard.receipt_read_us, late.read_us])
    component = np.concatenate([shard.receipt_delay_component, late.component])
    order = np.lexsort((user, message, read_us))
    return replace(
        shard,
        receipt_message=message[order],
        receipt_user=user[order],
        receipt_read_us=read_us[order],
        receipt_delay_component=component[order].astype(np.int8),
    )


def _left_at(members: Members, conv_id: I64, user_id: I64) -> I64:
    """When each (conversation id, user id) member leaves (NEVER if they stay)."""
    leavers = np.flatnonzero(members.left_us < NEVER)
    if len(leavers) == 0:
        return np.full(len(conv_id), NEVER, dtype=np.int64)
    member_conv = np.repeat(np.arange(len(members.offsets) - 1), np.diff(members.offsets))
    keys = member_conv[leavers] * (1 << 31) + members.user[leavers]
    order = np.argsort(keys)
    keys, left = keys[order], members.left_us[leavers][order]
    probe = (conv_id - 1) * (1 << 31) + (user_id - 1)
    at = np.searchsorted(keys, probe)
    at = np.minimum(at, len(keys) - 1)
    return np.where(keys[at] == probe, left[at], NEVER)


def _after_leaves(shard: MessageShard, members: Members) -> MessageShard:
    owner = members.user[members.offsets[:-1]] + 1  # a room's first member (owners never leave)
    sent_left = _left_at(members, shard.message_conv, shard.message_sender)
    sender = np.where(
        shard.message_created_us >= sent_left, owner[shard.message_conv - 1], shard.message_sender
    )
    receipt_conv = shard.message_conv[np.searchsorted(shard.message_id, shard.receipt_message)]
    read_left = _left_at(members, receipt_conv, shard.receipt_user)
    keep = np.flatnonzero(shard.receipt_read_us < read_left)
    return _with_receipts(replace(shard, message_sender=sender.astype(np.int64)), keep)


def _with_receipts(shard: MessageShard, keep: I64) -> MessageShard:
    return replace(
        shard,
        receipt_message=shard.receipt_message[keep],
        receipt_user=shard.receipt_user[keep],
        receipt_read_us=shard.receipt_read_us[keep],
        receipt_delay_component=shard.receipt_delay_component[keep],
    )


def _churn(
    spec: Spec,
    rng: np.random.Generator,
    shard: MessageShard,
    members: Members,
    span: tuple[int, int],
) -> Day:
    """Edits, soft and hard deletes of the day's messages (before the extension's end); reads
    of a message after its hard delete dropped; and the day's moved cursors."""
    c = spec.churn
    end = span[1]
    n = len(shard.message_id)
    delay = (c.edit_delay_seconds * US_PER_SECOND * rng.exponential(1.0, (2, n))).astype(np.int64)
    u = rng.random((2, n))
    delete_at = shard.message_created_us + 1 + delay[0]
    hard = (u[0] < c.hard_delete_rate) & (delete_at < end)
    soft = (u[0] >= c.hard_delete_rate) & (u[0] < c.hard_delete_rate + c.soft_delete_rate)
    soft &= delete_at < end
    edit_at = shard.message_created_us + 1 + delay[1]
    edit = (u[1] < c.edit_rate) & (shard.message_type == TEXT_TYPE) & (edit_at < end)
    edit &= ~((hard | soft) & (delete_at <= edit_at))
    hard_at = np.where(hard, delete_at, NEVER)
    receipt_row = np.searchsorted(shard.message_id, shard.receipt_message)
    shard = _with_receipts(shard, np.flatnonzero(shard.receipt_read_us < hard_at[receipt_row]))
    parts = [
        _rows(shard, np.flatnonzero(edit), edit_at, EDIT, True),
        _rows(shard, np.flatnonzero(soft), delete_at, SOFT, False),
        _rows(shard, np.flatnonzero(hard), delete_at, HARD, False),
        *_cursors(shard, members, span[0]),
    ]
    changes = Changes(*(np.concatenate([p[i] for p in parts]) for i in range(6)))
    return Day(shard, replace(changes, op=changes.op.astype(np.int8)))


def _rows(shard: MessageShard, rows: I64, at: I64, op: int, edited: bool) -> tuple[I64, ...]:
    return (
        at[rows],
        np.full(len(rows), op, dtype=np.int64),
        shard.message_id[rows],
        shard.message_conv[rows],
        np.zeros(len(rows), dtype=np.int64),
        rows if edited else np.full(len(rows), -1, dtype=np.int64),
    )


def _cursors(shard: MessageShard, members: Members, day_start: int) -> list[tuple[I64, ...]]:
    """The members who leave this day; lastReadAt per member who read (before leaving),
    lastSeenAt per active user, updatedAt per room that talked: each at the instant it moved."""
    member_conv = np.repeat(np.arange(len(members.offsets) - 1), np.diff(members.offsets))
    read = shard.member_last_read_us
    # a leaver's latest read after they left is no read at all (their receipts were dropped)
    moved = np.flatnonzero((read > 0) & (read < members.left_us))
    conv_last = shard.conv_last_message_us
    rooms = np.flatnonzero(conv_last > 0)

    def part(at: I64, op: int, conv: I64, user: I64) -> tuple[I64, ...]:
        n = len(at)
        return (
            at,
            np.full(n, op, dtype=np.int64),
            np.zeros(n, np.int64),
            conv,
            user,
            np.full(n, -1, dtype=np.int64),
        )

    leaving = np.flatnonzero(
        (members.left_us >= day_start) & (members.left_us < day_start + US_PER_DAY)
    )
    return [
        part(members.left_us[leaving], LEAVE, member_conv[leaving] + 1, members.user[leaving] + 1),
        part(read[moved], READ, member_conv[moved] + 1, members.user[moved] + 1),
        part(
            shard.user_last_active_us,
            SEEN,
            np.zeros(len(shard.active_users), np.int64),
            shard.active_users + 1,
        ),
        part(conv_last[rooms], ROOM, rooms + 1, np.zeros(len(rooms), np.int64)),
    ]
