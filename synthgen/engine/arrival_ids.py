"""Ids in arrival order across shards, without a global sort.

Every shard covers the whole window, so ids cannot be a prefix sum of shard sizes. Two passes:
each shard counts its messages and attachments per fine time bucket (`bucket_counts`); prefix
sums over (bucket, shard) give each shard an id offset per bucket (`shard_offsets`), from which
the shard numbers its rows in time order (`assign_ids`). Ids follow (time bucket, shard,
createdAt) and depend only on spec, seed and plan (docs/model.md, "Ids, ordering and the heap").
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from synthgen.contract import TEXT_TYPE
from synthgen.engine import distributions as dist
from synthgen.engine.skeleton import Skeleton
from synthgen.engine.streams import stream
from synthgen.engine.timemodel import IntensityGrid, bursty_times
from synthgen.spec import Spec

I64 = NDArray[np.int64]
# the parent holds shards x buckets int32 counts per table: about MAX_CELLS cells (32 MiB for
# both tables), but never fewer buckets than MIN_BUCKETS (over a 90-day window ~32 minutes; the
# perf band's 1 200 shards then take 39 MB) nor more than MAX_BUCKETS (~30 s)
MAX_CELLS = 1 << 22
MIN_BUCKETS, MAX_BUCKETS = 1 << 12, 1 << 18


def bucket_count(shards: int) -> int:
    """Time buckets for a dataset of `shards` message shards (a power of two)."""
    target = max(1, MAX_CELLS // max(1, shards))
    return int(min(MAX_BUCKETS, max(MIN_BUCKETS, 1 << (target.bit_length() - 1))))


def buckets_of(created_us: I64, window: tuple[int, int], buckets: int) -> I64:
    """The time bucket of each instant: `buckets` equal slices of [start, end]."""
    start, end = window
    span = max(1, end - start + 1)
    scaled = (np.clip(created_us, start, end) - start).astype(np.float64) * (buckets / span)
    return np.minimum(scaled.astype(np.int64), buckets - 1)


def arrival(
    spec: Spec,
    seed: str,
    shard: int,
    piece_conv: I64,
    piece_lo_us: I64,
    piece_hi_us: I64,
    piece_count: I64,
    conv_first: int,
) -> tuple[I64, I64, NDArray[np.int8]]:
    """A shard's messages in time order: createdAt, local conversation, message type.

    Drawn from their own random stream, so the id pass recomputes them without generating the
    rest of the shard.
    """
    rng = stream(seed, "arrival", shard)
    grid = IntensityGrid.build(spec.time)
    created = bursty_times(
        rng,
        grid,
        piece_lo_us,
        piece_hi_us,
        piece_count,
        spec.time.burst.inter_arrival_cv,
        spec.time.burst.in_burst_gap_seconds,
        spec.time.burst.max_gap_share_of_mean,
    )
    local_conv = np.repeat(piece_conv - conv_first, piece_count)
    # rows come in conversation order (the plan's pieces are), so a stable sort by time alone
    # orders ties at the same microsecond by conversation: a lexsort's result at half its cost
    order = np.argsort(created, kind="stable")
    created, local_conv = created[order], local_conv[order]
    media = rng.random(len(created)) < spec.media.ratio
    kind = dist.categorical(rng, len(created), np.asarray(spec.media.kind_shares)) + 1
    mtype = np.where(media, kind, TEXT_TYPE).astype(np.int8)
    return created, local_conv, mtype


def bucket_counts(
    created_us: I64, mtype: NDArray[np.int8], window: tuple[int, int], buckets: int
) -> tuple[NDArray[np.int32], NDArray[np.int32]]:
    """Messages and attachments (one per media message) per time bucket."""
    bucket = buckets_of(created_us, window, buckets)
    messages = np.bincount(bucket, minlength=buckets).astype(np.int32)
    media = np.bincount(bucket[mtype != TEXT_TYPE], minlength=buckets).astype(np.int32)
    return messages, media


def shard_offsets(counts: NDArray[np.int32]) -> NDArray[np.int64]:
    """Id offsets per (shard, bucket) from a shards x buckets count matrix: the rows of every
    earlier bucket, plus this bucket's rows in earlier shards."""
    per_bucket = counts.sum(axis=0, dtype=np.int64)
    before_bucket = np.concatenate([[0], np.cumsum(per_bucket)[:-1]])
    before_shard = np.cumsum(counts, axis=0, dtype=np.int64) - counts
    return np.asarray(before_bucket[None, :] + before_shard, dtype=np.int64)


def assign_ids(bucket: I64, offsets: I64) -> I64:
    """1-based ids for rows sorted by time whose buckets are `bucket`, from the shard's offsets."""
    n = len(bucket)
    first_of_bucket = np.searchsorted(bucket, bucket, side="left")
    return np.asarray(offsets[bucket] + (np.arange(n) - first_of_bucket) + 1, dtype=np.int64)


def skeleton_in_arrival_order(sk: Skeleton) -> Skeleton:
    """The same skeleton with users relabelled in sign-up order (ties by draw order), as serial
    ids are in production; members follow.

    Conversations keep their draw order (their ids do not follow createdAt): renumbered by
    creation, messages.conversationId's physical correlation rose to ~0.20 at dev x 0.2, because
    heavy rooms (most messages) all open in the window's first tenth.
    """
    user_order = np.argsort(sk.user_created_us, kind="stable")
    new_user = np.empty_like(user_order)
    new_user[user_order] = np.arange(len(user_order))
    return replace(
        sk,
        user_created_us=sk.user_created_us[user_order],
        user_weight=sk.user_weight[user_order],
        member_user=new_user[sk.member_user].astype(np.int64),
    )
