"""Who could read each message, for the "member" receipt model: per message, the members of its
room other than its sender who had joined by its time, in rooms that write receipt rows.

Read from the dataset (memberships' joinedAt, messages' createdAt), never from the generator:
an ASOF join gives each message the number of its room's members who had joined by then (ties
in joinedAt counted whole), less one for the sender; the pairs are grouped by the message's
age at the snapshot as `facts.message_times` groups messages, so the receipt check applies the
same truncation to pairs that it applies to messages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthgen.fidelity.context import CheckContext
from synthgen.fidelity.facts import AGE_BINS_PER_E, I64, US, room_filter


@dataclass(frozen=True)
class ReaderPairs:
    """Eligible (message, reader) pairs per bin of the message's age at the snapshot."""

    age_bin: I64
    age_count: I64
    old: int  # pairs whose message is older than the longest receipt delay
    total: int


def reader_pairs(ctx: CheckContext) -> ReaderPairs:
    """One ASOF join of messages with their rooms' join times, grouped by message age."""

    def compute(c: CheckContext) -> ReaderPairs:
        horizon = int(c.spec.read_receipts.delay_mixture.longest_seconds * US)
        snap = c.snapshot_us
        rows = c.query(
            f"""
            WITH joins AS (
                SELECT "conversationId" AS cid, epoch_us("joinedAt") AS jt,
                       count(*) OVER (PARTITION BY "conversationId" ORDER BY "joinedAt"
                                      RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS joined
                FROM conversation_users WHERE {room_filter(c, '"conversationId"')}),
            m AS (SELECT "conversationId" AS cid, epoch_us("createdAt") AS t FROM messages),
            pairs AS (
                SELECT CASE WHEN m.t > {snap - horizon}
                            THEN floor(ln(greatest({snap} - m.t, 1) / {US}) * {AGE_BINS_PER_E})
                            ELSE NULL END::BIGINT AS age_bin,
                       j.joined - 1 AS readers
                FROM m ASOF JOIN joins j ON m.cid = j.cid AND m.t >= j.jt)
            SELECT age_bin, sum(readers)::BIGINT FROM pairs GROUP BY ALL
            """
        )
        binned = sorted((int(r[0]), int(r[1])) for r in rows if r[0] is not None)
        old = sum(int(r[1]) for r in rows if r[0] is None)
        return ReaderPairs(
            np.array([b for b, _ in binned], dtype=np.int64),
            np.array([n for _, n in binned], dtype=np.int64),
            int(old),
            int(old + sum(n for _, n in binned)),
        )

    value: ReaderPairs = ctx.fact("reader_pairs", compute)
    return value
