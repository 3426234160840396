"""One message shard: messages, their attachments and read receipts, from the skeleton's slice.

Messages of a shard are ordered by createdAt across its conversations (as rows arrive in a real
heap) and take their ids from the shard's offsets per time bucket (engine.arrival_ids), so ids rise
with createdAt across the whole dataset; attachments likewise; receipts are ordered by readAt.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from synthgen.contract import TEXT_TYPE
from synthgen.engine import distributions as dist
from synthgen.engine import text
from synthgen.engine.arrival_ids import arrival, assign_ids, buckets_of
from synthgen.engine.receipts import ShardMessages, shard_receipts
from synthgen.engine.streams import stream
from synthgen.spec import Spec

I64 = NDArray[np.int64]


@dataclass(frozen=True)
class ShardSlice:
    """What a message shard needs of the skeleton: its pieces and their conversations' members."""

    shard: int
    piece_conv: I64  # global conversation index (id - 1) of each piece
    piece_lo_us: I64
    piece_hi_us: I64
    piece_count: I64
    conv_first: int  # global index of the first conversation in this shard
    member_offsets: I64  # relative to the member slice, one entry per local conversation + 1
    member_first: int  # global row of the first member in this slice
    member_user: I64  # user index (0-based)
    member_joined_us: I64
    member_weight: NDArray[np.float64]


@dataclass(frozen=True)
class MessageShard:
    message_id: I64
    message_conv: I64
    message_sender: I64
    message_type: NDArray[np.int8]
    message_created_us: I64
    content_pool: NDArray[np.uint8]  # text i is content_pool[start_i : start_i + length_i]
    content_starts: I64
    content_lengths: I64  # 0 for null content
    content_valid: NDArray[np.bool_]
    attachment_id: I64
    attachment_message: I64
    attachment_conv: I64
    attachment_kind: NDArray[np.int8]
    attachment_mime: I64  # index into mime_types()
    attachment_size: I64
    attachment_created_us: I64
    receipt_message: I64
    receipt_user: I64
    receipt_read_us: I64
    receipt_delay_component: NDArray[np.int8]  # index into the spec's DelayMixture.components
    # aggregates the finalize step folds into conversations / members / users
    conv_last_message_us: I64  # per local conversation; 0 when it has no message in this shard
    member_last_read_us: I64  # per member of the slice; 0 when none
    user_last_active_us: I64  # per user index touched: pairs with active_users
    active_users: I64


def mime_types(spec: Spec) -> list[str]:
    """Every MIME type of the spec, in a fixed order: attachment_mime indexes this list."""
    return [m for kind in spec.media.kinds for m in spec.media.attachments[kind].mime_types]


@dataclass(frozen=True)
class ArrivalIds:
    """Where a shard's ids start in each time bucket (see engine.arrival_ids)."""

    window: tuple[int, int]
    buckets: int
    message_offsets: I64
    attachment_offsets: I64


def generate_message_shard(
    spec: Spec,
    seed: str,
    shard_slice: ShardSlice,
    vocab: list[bytes],
    ids: ArrivalIds,
    drawn: tuple[I64, I64, NDArray[np.int8]] | None = None,
) -> MessageShard:
    """Build one shard: a pure function of (spec, seed, shard_slice) and the shard's id offsets.
    `drawn`: the shard's `arrival` arrays if the id pass kept them (the same arrays)."""
    created, local_conv, mtype = drawn or arrival(
        spec,
        seed,
        shard_slice.shard,
        shard_slice.piece_conv,
        shard_slice.piece_lo_us,
        shard_slice.piece_hi_us,
        shard_slice.piece_count,
        shard_slice.conv_first,
    )
    rng = stream(seed, "messages", shard_slice.shard)
    bucket = buckets_of(created, ids.window, ids.buckets)
    message_id = assign_ids(bucket, ids.message_offsets)

    eligible = _members_joined_before(shard_slice, local_conv, created)
    sender_row = _weighted_member(rng, shard_slice, local_conv, eligible)
    lengths, valid = _content_lengths(rng, spec, mtype)
    content_pool, content_starts = _content(spec, seed, shard_slice.shard, vocab, rng, lengths)

    is_media = mtype != TEXT_TYPE
    media_rows = np.flatnonzero(is_media)
    attachment_id = assign_ids(bucket[media_rows], ids.attachment_offsets)
    att_kind = mtype[media_rows]
    att_mime, att_size = _attachments(rng, spec, att_kind)

    read_rows, reader_row, read_us, component, member_last_read = shard_receipts(
        spec,
        ShardMessages(
            seed,
            shard_slice.shard,
            rng,
            shard_slice.member_offsets,
            local_conv,
            created,
            eligible,
            sender_row,
        ),
    )
    # receipts in the order they are written in production: by readAt, ties by message, reader
    by_read = np.lexsort((shard_slice.member_user[reader_row], read_rows, read_us))
    read_rows, reader_row, read_us, component = (
        read_rows[by_read],
        reader_row[by_read],
        read_us[by_read],
        component[by_read],
    )

    conv_last = np.zeros(len(shard_slice.member_offsets) - 1, dtype=np.int64)
    np.maximum.at(conv_last, local_conv, created)
    # each user's latest activity (a send or a read), dense over the users this slice can touch:
    # no sort, unlike np.unique; times are positive, so 0 means "not active in this shard"
    sender_user, reader_user = (
        shard_slice.member_user[sender_row],
        shard_slice.member_user[reader_row],
    )
    latest = np.zeros(int(shard_slice.member_user.max(initial=-1)) + 1, dtype=np.int64)
    np.maximum.at(latest, sender_user, created)
    np.maximum.at(latest, reader_user, read_us)
    # a member's reads in rooms that write no receipt rows are activity too
    np.maximum.at(latest, shard_slice.member_user, member_last_read)
    active_users = np.flatnonzero(latest)
    user_last = latest[active_users]

    return MessageShard(
        message_id=message_id,
        message_conv=local_conv + shard_slice.conv_first + 1,
        message_sender=sender_user + 1,
        message_type=mtype,
        message_created_us=created,
        content_pool=content_pool,
        content_starts=content_starts,
        content_lengths=lengths,
        content_valid=valid,
        attachment_id=attachment_id,
        attachment_message=message_id[media_rows],
        attachment_conv=local_conv[media_rows] + shard_slice.conv_first + 1,
        attachment_kind=att_kind,
        attachment_mime=att_mime,
        attachment_size=att_size,
        attachment_created_us=created[media_rows],
        receipt_message=message_id[read_rows],
        receipt_user=reader_user + 1,
        receipt_read_us=read_us,
        receipt_delay_component=component,
        conv_last_message_us=conv_last,
        member_last_read_us=member_last_read,
        user_last_active_us=user_last,
        active_users=active_users,
    )


def _members_joined_before(shard_slice: ShardSlice, local_conv: I64, created: I64) -> I64:
    """How many members of each message's conversation had joined before it (members are sorted
    by joinedAt inside a conversation, so they are the first k)."""
    member_conv = np.repeat(
        np.arange(len(shard_slice.member_offsets) - 1), np.diff(shard_slice.member_offsets)
    )
    n_members, n_messages = len(member_conv), len(created)
    conv = np.concatenate([member_conv, local_conv])
    when = np.concatenate([shard_slice.member_joined_us, created])
    is_member = np.concatenate([np.ones(n_members, np.int64), np.zeros(n_messages, np.int64)])
    # members sort before a message at the same instant (is_member descending)
    order = np.lexsort((-is_member, when, conv))
    seen = np.cumsum(is_member[order])
    joined_so_far = np.empty(n_members + n_messages, dtype=np.int64)
    joined_so_far[order] = seen
    before_conv = shard_slice.member_offsets[:-1][local_conv]
    return np.asarray(joined_so_far[n_members:] - before_conv, dtype=np.int64)


def _weighted_member(
    rng: np.random.Generator, shard_slice: ShardSlice, local_conv: I64, eligible: I64
) -> I64:
    """A sender per message among the first `eligible` members, weighted by user activity."""
    cum = np.concatenate([[0.0], np.cumsum(shard_slice.member_weight)])
    first = shard_slice.member_offsets[:-1][local_conv]
    lo, hi = cum[first], cum[first + eligible]
    target = lo + rng.random(len(local_conv)) * (hi - lo)
    row = np.searchsorted(cum, target, side="right") - 1
    return np.clip(row, first, first + eligible - 1)


def _content_lengths(
    rng: np.random.Generator, spec: Spec, mtype: NDArray[np.int8]
) -> tuple[I64, NDArray[np.bool_]]:
    c = spec.content
    n = len(mtype)
    body = dist.capped_lognormal_int(
        rng, n, c.length_lognormal.mu, c.length_lognormal.sigma, c.min_length, c.max_length
    )
    caption = dist.capped_lognormal_int(
        rng,
        n,
        c.caption_length_lognormal.mu,
        c.caption_length_lognormal.sigma,
        c.min_length,
        c.max_length,
    )
    has_caption = rng.random(n) < c.caption_share
    is_text = mtype == TEXT_TYPE
    valid = is_text | has_caption
    lengths = np.where(is_text, body, np.where(has_caption, caption, 0))
    return lengths.astype(np.int64), valid


def _content(
    spec: Spec,
    seed: str,
    shard: int,
    vocab: list[bytes],
    rng: np.random.Generator,
    lengths: I64,
) -> tuple[NDArray[np.uint8], I64]:
    """Bodies as slices of a word pool made once per shard: the pool and where each body starts."""
    c = spec.content
    pool, word_starts = text.word_pool(
        stream(seed, "text-pool", shard), vocab, c.pool_bytes, c.word_zipf_exponent
    )
    pool = text.extend_pool(pool, int(lengths.max(initial=0)))
    return pool, text.slice_starts(rng, word_starts, len(lengths))


def _attachments(rng: np.random.Generator, spec: Spec, kind: NDArray[np.int8]) -> tuple[I64, I64]:
    mime = np.zeros(len(kind), dtype=np.int64)
    size = np.zeros(len(kind), dtype=np.int64)
    mime_base = 0
    for code, name in enumerate(spec.media.kinds, start=1):
        model = spec.media.attachments[name]
        rows = np.flatnonzero(kind == code)
        mime[rows] = mime_base + dist.categorical(rng, len(rows), np.asarray(model.mime_shares))
        size[rows] = np.maximum(
            1,
            np.rint(rng.lognormal(model.size_lognormal.mu, model.size_lognormal.sigma, len(rows))),
        )
        mime_base += len(model.mime_types)
    return mime, size
