"""Shared facts: aggregate queries several checks read, each run once per validation.

Every fact reads the shards through DuckDB and returns something small (a few thousand rows at
most) or materializes a small temp table (one row per conversation or per reader). Big tables are
only ever scanned, joined and aggregated inside DuckDB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from synthgen.fidelity.classes import heavy_rule
from synthgen.fidelity.context import CheckContext
from synthgen.units import US_PER_HOUR
from synthgen.units import US_PER_SECOND as US  # short: it sits inside SQL templates

AGE_BINS_PER_E = 50  # message-age bins for receipt truncation: e**(1/50), a 2% step
DELAY_BINS_PER_DECADE = 4
# every PII pattern needs a digit or an '@', so rows with neither cannot match any of them
SUSPECT = " OR ".join(f"contains(content, '{c}')" for c in "0123456789@")

I64 = NDArray[np.int64]


@dataclass(frozen=True)
class MessageProfile:
    """Counts of messages by (type, content null, content length), and PII suspects."""

    type: NDArray[np.str_]
    no_content: NDArray[np.bool_]
    length: I64  # -1 where content is null
    count: I64
    suspects: int


def message_profile(ctx: CheckContext) -> MessageProfile:
    """One scan of messages, content included: types, caption presence, lengths, suspects."""

    def compute(c: CheckContext) -> MessageProfile:
        rows = c.query(
            f"""
            SELECT type, content IS NULL AS no_content, coalesce(strlen(content), -1) AS length,
                   count(*) AS n, count(*) FILTER (WHERE {SUSPECT}) AS suspects
            FROM messages GROUP BY ALL
            """
        )
        return MessageProfile(
            np.array([r[0] if r[0] is not None else "<null>" for r in rows], dtype=np.str_),
            np.array([r[1] for r in rows], dtype=bool),
            np.array([r[2] for r in rows], dtype=np.int64),
            np.array([r[3] for r in rows], dtype=np.int64),
            int(sum(r[4] for r in rows)),
        )

    value: MessageProfile = ctx.fact("message_profile", compute)
    return value


def conversation_table(ctx: CheckContext) -> str:
    """Materialize fid_message_stats and fid_conversations; return the latter's name.

    fid_message_stats has one row per conversationId seen in messages: message count, first and
    last createdAt, gap mean and sd, and violations with a sample message id each: createdAt not
    strictly increasing in id order, sender not a member, message before the sender joined (one
    pass: the membership join rides along the window's scan). The window runs in createdAt order
    (the shards are nearly in that order, so the sort is cheaper than by id): createdAt
    increases strictly in id order exactly when, in createdAt order, there is no tie and the
    id never goes down. fid_conversations has one row per
    conversation: type, traits, member and message counts, updatedAt and gap figures, and the
    room's class and heaviness as the data and the spec decide them (data_class: DIRECT by type,
    a group large from the large class's minimum members; heavy: see heavy_rule).
    """

    def compute(c: CheckContext) -> str:
        c.query(
            f"""
            CREATE OR REPLACE TEMP TABLE fid_message_stats AS
            WITH ordered AS (
                SELECT m."conversationId" AS cid, m.id, epoch_us(m."createdAt") AS t,
                       t - lag(t) OVER w AS gap, m.id < lag(m.id) OVER w AS id_back,
                       cu."userId" IS NULL AS not_member,
                       coalesce(cu."joinedAt" > m."createdAt", false) AS before_join
                FROM messages m
                LEFT JOIN conversation_users cu
                       ON cu."conversationId" = m."conversationId" AND cu."userId" = m."senderId"
                WINDOW w AS (PARTITION BY m."conversationId" ORDER BY m."createdAt"))
            SELECT cid, count(*) AS messages, min(t) AS first_t, max(t) AS last_t,
                   count(*) FILTER (WHERE gap <= 0 OR id_back) AS order_violations,
                   count(*) FILTER (WHERE t > {c.snapshot_us}) AS after_snapshot,
                   count(*) FILTER (WHERE not_member) AS not_member,
                   min(id) FILTER (WHERE not_member) AS not_member_id,
                   count(*) FILTER (WHERE before_join) AS before_join,
                   min(id) FILTER (WHERE before_join) AS before_join_id,
                   avg(gap) AS gap_mean, stddev_pop(gap) AS gap_sd
            FROM ordered GROUP BY cid
            """
        )
        large_min = c.spec.conversations.large_group.min_members
        c.query(
            f"""
            CREATE OR REPLACE TEMP TABLE fid_conversations AS
            WITH members AS (
                SELECT "conversationId" AS cid, count(*) AS members
                FROM conversation_users GROUP BY 1)
            SELECT cv.id, cv.type, epoch_us(cv."createdAt") AS created_t,
                   epoch_us(cv."updatedAt") AS updated_t, tr."sizeClass" AS size_class,
                   CASE WHEN cv.type = 'DIRECT' THEN 'direct'
                        WHEN cv.type = 'GROUP' AND coalesce(mb.members, 0) >= {large_min}
                        THEN 'large' WHEN cv.type = 'GROUP' THEN 'small' END AS data_class,
                   coalesce(tr."isHeavy", false) AS is_heavy,
                   {heavy_rule(c)} AS heavy, coalesce(mb.members, 0) AS members,
                   coalesce(ms.messages, 0) AS messages, ms.first_t, ms.last_t, ms.gap_mean,
                   ms.gap_sd
            FROM conversations cv
            LEFT JOIN conversation_traits tr ON tr."conversationId" = cv.id
            LEFT JOIN members mb ON mb.cid = cv.id
            LEFT JOIN fid_message_stats ms ON ms.cid = cv.id
            """
        )
        return "fid_conversations"

    name: str = ctx.fact("conversation_table", compute)
    return name


@dataclass(frozen=True)
class MessageViolations:
    """Per-message rule violations counted in fid_message_stats, with sample message ids."""

    order: int
    not_member: int
    before_join: int
    after_snapshot: int
    order_conversations: list[int]
    not_member_ids: list[int]
    before_join_ids: list[int]


def message_violations(ctx: CheckContext, samples: int = 5) -> MessageViolations:
    """Totals of the per-conversation violation counts."""
    conversation_table(ctx)
    row = ctx.query(
        f"""
        SELECT coalesce(sum(order_violations), 0), coalesce(sum(not_member), 0),
               coalesce(sum(before_join), 0), coalesce(sum(after_snapshot), 0),
               list(cid ORDER BY cid) FILTER (WHERE order_violations > 0)[1:{samples}],
               list(not_member_id ORDER BY not_member_id)
                   FILTER (WHERE not_member_id IS NOT NULL)[1:{samples}],
               list(before_join_id ORDER BY before_join_id)
                   FILTER (WHERE before_join_id IS NOT NULL)[1:{samples}]
        FROM fid_message_stats
        """
    )[0]
    return MessageViolations(
        int(row[0]),
        int(row[1]),
        int(row[2]),
        int(row[3]),
        list(row[4] or []),
        list(row[5] or []),
        list(row[6] or []),
    )


@dataclass(frozen=True)
class MessageTimes:
    """Messages per hour since the epoch, and per bin of age at the snapshot (recent ones)."""

    hour: I64
    hour_count: I64
    age_bin: I64  # floor(ln(age seconds) * AGE_BINS_PER_E)
    age_count: I64
    old: int  # messages older than the longest receipt delay


def message_times(ctx: CheckContext) -> MessageTimes:
    """One scan of messages.createdAt, grouped two ways (GROUPING SETS)."""

    def compute(c: CheckContext) -> MessageTimes:
        horizon = int(c.spec.read_receipts.delay_mixture.longest_seconds * US)
        snap = c.snapshot_us
        rows = c.query(
            f"""
            WITH t AS (SELECT epoch_us("createdAt") AS t FROM messages)
            SELECT GROUPING(hour, age_bin) AS level, hour, age_bin, count(*) AS n
            FROM (SELECT t // {US_PER_HOUR} AS hour,
                         CASE WHEN t > {snap - horizon}
                              THEN floor(ln(greatest({snap} - t, 1) / {US}) * {AGE_BINS_PER_E})
                              ELSE NULL END::BIGINT AS age_bin
                  FROM t)
            GROUP BY GROUPING SETS ((hour), (age_bin))
            """
        )
        by_hour = [(r[1], r[3]) for r in rows if r[0] == 1]
        by_age = [(r[2], r[3]) for r in rows if r[0] == 2 and r[2] is not None]
        old = sum(r[3] for r in rows if r[0] == 2 and r[2] is None)
        return MessageTimes(
            np.array([h for h, _ in by_hour], dtype=np.int64),
            np.array([n for _, n in by_hour], dtype=np.int64),
            np.array([b for b, _ in by_age], dtype=np.int64),
            np.array([n for _, n in by_age], dtype=np.int64),
            int(old),
        )

    value: MessageTimes = ctx.fact("message_times", compute)
    return value


def room_filter(ctx: CheckContext, column: str) -> str:
    """An SQL condition on a conversation id column: the room writes receipt rows (true unless
    the spec caps per-member receipts by room size)."""
    cap = ctx.spec.read_receipts.room_cap
    if cap is None:
        return "TRUE"
    return (
        f'{column} IN (SELECT "conversationId" FROM conversation_users GROUP BY 1 '
        f"HAVING count(*) <= {int(cap)})"
    )


@dataclass(frozen=True)
class ReceiptProfile:
    """Receipts joined to their messages and readers: delay components, chart bins, violations."""

    component: I64  # index into the spec's delay components, len(components) = beyond the
    # last one, -1 = no message
    delay_bin: I64  # floor(log10(delay seconds) * DELAY_BINS_PER_DECADE)
    count: I64
    orphans: int  # receipts whose message does not exist
    reader_not_member: int
    reader_is_sender: int
    not_after_message: int  # readAt <= the message's createdAt
    after_snapshot: int
    last_read_violations: int  # see receipt_profile
    before_joined: int  # receipts of a message sent before its reader joined the room


def receipt_profile(ctx: CheckContext) -> ReceiptProfile:
    """One join of read_receipts with their messages and their readers' memberships.

    The lastReadAt rule (the member's latest readAt, null if none) is checked in the same pass:
    it holds exactly when no receipt is later than its member's lastReadAt (or exists while it
    is null) and every non-null lastReadAt equals one of the member's receipts (in rooms that
    write receipt rows: above `per_member_max_members`, lastReadAt stands alone). The rows are
    grouped by delay component and chart bin, plus the (conversation, reader) of receipts that match
    their lastReadAt exactly (a few per member), so the result stays small.
    """

    def compute(c: CheckContext) -> ReceiptProfile:
        edges = [d.max_seconds for d in c.spec.read_receipts.delay_mixture.components]
        cases = " ".join(f"WHEN delay < {int(e * US)} THEN {i}" for i, e in enumerate(edges[:-1]))
        last = f"WHEN delay <= {int(edges[-1] * US)} THEN {len(edges) - 1}"
        c.query(
            f"""
            CREATE OR REPLACE TEMP TABLE fid_receipts AS
            WITH j AS (
                SELECT r."userId" AS reader, epoch_us(r."readAt") AS read_t,
                       m.id IS NULL AS orphan, m."conversationId" AS cid,
                       r."userId" = m."senderId" AS is_sender,
                       epoch_us(r."readAt") - epoch_us(m."createdAt") AS delay,
                       m.id IS NOT NULL AND cu."userId" IS NULL AS not_member,
                       cu."userId" IS NOT NULL AS member,
                       m."createdAt" < cu."joinedAt" AS before_join,
                       epoch_us(cu."lastReadAt") AS last_read
                FROM read_receipts r
                LEFT JOIN messages m ON m.id = r."messageId"
                LEFT JOIN conversation_users cu
                       ON cu."conversationId" = m."conversationId" AND cu."userId" = r."userId")
            SELECT CASE WHEN delay IS NULL THEN -1 {cases} {last} ELSE {len(edges)} END
                       AS component,
                   floor(log10(greatest(delay, 1) / {US}) * {DELAY_BINS_PER_DECADE})::BIGINT
                       AS delay_bin,
                   CASE WHEN read_t = last_read THEN cid END AS matched_cid,
                   CASE WHEN read_t = last_read THEN reader END AS matched_reader,
                   count(*) AS n, count(*) FILTER (WHERE orphan) AS orphans,
                   count(*) FILTER (WHERE not_member) AS not_member,
                   count(*) FILTER (WHERE is_sender) AS is_sender,
                   count(*) FILTER (WHERE delay <= 0) AS not_after,
                   count(*) FILTER (WHERE read_t > {c.snapshot_us}) AS after_snapshot,
                   count(*) FILTER (WHERE member AND (last_read IS NULL OR read_t > last_read))
                       AS after_last_read,
                   count(*) FILTER (WHERE before_join) AS before_join
            FROM j GROUP BY ALL
            """
        )
        rows = c.query(
            """
            SELECT component, delay_bin, sum(n), sum(orphans), sum(not_member), sum(is_sender),
                   sum(not_after), sum(after_snapshot), sum(after_last_read), sum(before_join)
            FROM fid_receipts GROUP BY ALL
            """
        )
        unmatched = c.scalar(
            f"""
            SELECT count(*) FROM conversation_users cu
            ANTI JOIN (SELECT DISTINCT matched_cid, matched_reader FROM fid_receipts) m
                   ON m.matched_cid = cu."conversationId" AND m.matched_reader = cu."userId"
            WHERE cu."lastReadAt" IS NOT NULL AND {room_filter(c, 'cu."conversationId"')}
            """
        )
        orphans, not_member, is_sender, not_after, late = (
            int(sum(r[i] for r in rows)) for i in range(3, 8)
        )
        return ReceiptProfile(
            np.array([r[0] for r in rows], dtype=np.int64),
            np.array([r[1] for r in rows], dtype=np.int64),
            np.array([r[2] for r in rows], dtype=np.int64),
            orphans,
            not_member,
            is_sender,
            not_after,
            late,
            int(sum(r[8] for r in rows)) + int(unmatched),
            int(sum(r[9] for r in rows)),
        )

    value: ReceiptProfile = ctx.fact("receipt_profile", compute)
    return value


@dataclass(frozen=True)
class AttachmentProfile:
    """Messages matched with their attachments: violations of "one per non-TEXT message"."""

    media_without: int
    multiple: int
    text_with: int
    kind_mismatch: int
    bad_mime: int
    orphans: int  # attachments whose message does not exist
    sample_media_without: list[int]


def attachment_profile(ctx: CheckContext) -> AttachmentProfile:
    """Media messages FULL JOIN attachments (grouped per message), with the spec's MIME lists.

    Only rows that break a rule are kept (none in a good dataset). Attachments that match no
    media message are then looked up among all messages by a join built on those few rows:
    found ones sit on a TEXT message, the rest point at no message at all.
    """

    def compute(c: CheckContext) -> AttachmentProfile:
        allowed = ", ".join(
            f"('{kind}', '{mime}')"
            for kind, model in c.spec.media.attachments.items()
            for mime in model.mime_types
        )
        c.query(
            f"""
            CREATE OR REPLACE TEMP TABLE fid_attachments AS
            WITH allowed(kind, mime) AS (VALUES {allowed}),
            att AS (
                SELECT a."messageId" AS mid, count(*) AS n, any_value(a.kind) AS kind,
                       count(*) FILTER (WHERE al.mime IS NULL) AS bad_mime
                FROM attachments a
                LEFT JOIN allowed al ON al.kind = a.kind AND al.mime = a."mimeType"
                GROUP BY 1),
            media AS (SELECT id, type FROM messages WHERE type IS DISTINCT FROM 'TEXT')
            SELECT m.id AS message_id, m.type, att.mid, att.n, att.kind, att.bad_mime
            FROM media m FULL JOIN att ON att.mid = m.id
            WHERE m.id IS NULL OR att.mid IS NULL OR att.n > 1 OR att.bad_mime > 0
               OR att.kind IS DISTINCT FROM m.type
            """
        )
        row = c.query(
            """
            SELECT count(*) FILTER (WHERE message_id IS NOT NULL AND mid IS NULL),
                   count(*) FILTER (WHERE n > 1),
                   count(*) FILTER (WHERE message_id IS NOT NULL AND mid IS NOT NULL
                                    AND kind IS DISTINCT FROM type),
                   coalesce(sum(bad_mime), 0),
                   coalesce(sum(n) FILTER (WHERE message_id IS NULL), 0),
                   list(message_id ORDER BY message_id)
                       FILTER (WHERE message_id IS NOT NULL AND mid IS NULL)[1:5]
            FROM fid_attachments
            """
        )[0]
        on_text, found = c.query(
            """
            SELECT count(*), coalesce(sum(u.n), 0)
            FROM messages m JOIN (SELECT mid, n FROM fid_attachments WHERE message_id IS NULL) u
              ON m.id = u.mid
            """
        )[0]
        media_without, multiple, mismatch, bad_mime, unmatched = (int(v) for v in row[:5])
        return AttachmentProfile(
            media_without,
            multiple,
            int(on_text),
            mismatch,
            bad_mime,
            unmatched - int(found),
            list(row[5] or []),
        )

    value: AttachmentProfile = ctx.fact("attachment_profile", compute)
    return value
