"""The sampler's SQL: aggregate-only queries, each returning (metric, key, n) rows.

The server computes every histogram (width_bucket over fixed edges, or a CASE onto constant
categories); no row, id or text value is ever selected. Every identifier comes from the mapping,
quoted; every number is a Python constant. The window is [start, end) on messages.createdAt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from synthgen.contract import MEDIA_KINDS
from synthgen.mapping import Mapping
from synthgen.sample.histograms import KNOWN_MIME_TYPES, HistogramSpec, Thresholds
from synthgen.schema import quote_literal


@dataclass(frozen=True)
class Query:
    """One aggregate statement and the histograms it fills."""

    name: str
    sql: str


def _array(edges: tuple[float, ...]) -> str:
    return "ARRAY[" + ", ".join(repr(float(e)) for e in edges) + "]::float8[]"


def _bucket(expr: str, spec: HistogramSpec) -> str:
    return f"width_bucket(({expr})::float8, {_array(spec.edges)})::text"


def _instant(value: datetime) -> str:
    return f"TIMESTAMPTZ '{value:%Y-%m-%d %H:%M:%S}+00'"


def _union(parts: list[str]) -> str:
    return "\nUNION ALL\n".join(parts)


class QueryBuilder:
    """Builds the sampler's statements for one mapping, thresholds and window."""

    def __init__(
        self,
        mapping: Mapping,
        thresholds: Thresholds,
        specs: dict[str, HistogramSpec],
        start: datetime,
        end: datetime,
    ) -> None:
        self.m = mapping
        self.t = thresholds
        self.specs = specs
        self.start, self.end = _instant(start), _instant(end)

    def _in_window(self, alias: str) -> str:
        at = self.m.col("messages", "createdAt", alias)
        return f"{at} >= {self.start} AND {at} < {self.end}"

    def conversations(self) -> Query:
        """Mix, group sizes, messages per conversation and heavy rooms (active conversations)."""
        m, s = self.m, self.specs
        conv_id = m.col("messages", "conversationId", "msg")
        sql = f"""
WITH active AS (
  SELECT {conv_id} AS cid, count(*)::bigint AS n_messages
  FROM {m.table("messages")} AS msg WHERE {self._in_window("msg")} GROUP BY 1
), members AS (
  SELECT {m.col("conversation_users", "conversationId", "cu")} AS cid, count(*)::bigint AS n_members
  FROM {m.table("conversation_users")} AS cu GROUP BY 1
), conv AS MATERIALIZED (
  SELECT CASE ctype WHEN 'DIRECT' THEN 'direct'
           WHEN 'GROUP' THEN CASE WHEN n_members < {self.t.large_group_min_members}
                                  THEN 'small_group' ELSE 'large_group' END
           ELSE 'other' END AS class, n_members, n_messages
  FROM (
    SELECT {m.enum_case("conversations", "type", "c")} AS ctype,
           coalesce(mb.n_members, 0) AS n_members, a.n_messages
    FROM {m.table("conversations")} AS c
    JOIN active AS a ON a.cid = {m.col("conversations", "id", "c")}
    LEFT JOIN members AS mb ON mb.cid = a.cid
  ) AS typed
)"""
        heavy = (
            f"CASE WHEN n_messages >= {self.t.heavy_min_messages} THEN 'heavy' ELSE 'regular' END"
        )
        parts = [
            "SELECT 'conversation_mix', class, count(*)::bigint FROM conv GROUP BY 2",
            f"SELECT 'small_group_members', {_bucket('n_members', s['small_group_members'])}, "
            "count(*)::bigint FROM conv WHERE class = 'small_group' GROUP BY 2",
            f"SELECT 'large_group_members', {_bucket('n_members', s['large_group_members'])}, "
            "count(*)::bigint FROM conv WHERE class = 'large_group' GROUP BY 2",
            f"SELECT 'messages_per_' || {heavy} || '_conversation', "
            f"{_bucket('n_messages', s['messages_per_regular_conversation'])}, count(*)::bigint "
            "FROM conv GROUP BY 1, 2",
            f"SELECT 'heavy_rooms', {heavy}, count(*)::bigint FROM conv GROUP BY 2",
            f"SELECT 'heavy_messages', {heavy}, sum(n_messages)::bigint FROM conv GROUP BY 2",
        ]
        return Query("conversations", sql + "\n" + _union(parts))

    def messages(self) -> Query:
        """Types, content and caption lengths, hour-of-day and day-of-week profiles."""
        m, s = self.m, self.specs
        media = ", ".join(quote_literal(k) for k in MEDIA_KINDS)
        sql = f"""
WITH w AS MATERIALIZED (
  SELECT {m.enum_case("messages", "type", "msg")} AS mtype,
         char_length({m.col("messages", "content", "msg")}) AS len,
         {m.col("messages", "createdAt", "msg")} AS at
  FROM {m.table("messages")} AS msg WHERE {self._in_window("msg")}
)"""
        parts = [
            "SELECT 'message_types', mtype, count(*)::bigint FROM w GROUP BY 2",
            f"SELECT 'content_length', {_bucket('coalesce(len, 0)', s['content_length'])}, "
            "count(*)::bigint FROM w WHERE mtype = 'TEXT' GROUP BY 2",
            "SELECT 'captions', CASE WHEN coalesce(len, 0) > 0 THEN 'caption' ELSE 'no_caption' "
            f"END, count(*)::bigint FROM w WHERE mtype IN ({media}) GROUP BY 2",
            f"SELECT 'caption_length', {_bucket('len', s['caption_length'])}, count(*)::bigint "
            f"FROM w WHERE mtype IN ({media}) AND len > 0 GROUP BY 2",
            f"SELECT 'hour_of_day', {_bucket('extract(hour FROM at)', s['hour_of_day'])}, "
            "count(*)::bigint FROM w GROUP BY 2",
            f"SELECT 'day_of_week', {_bucket('extract(isodow FROM at) - 1', s['day_of_week'])}, "
            "count(*)::bigint FROM w GROUP BY 2",
        ]
        return Query("messages", sql + "\n" + _union(parts))

    def attachments(self) -> Query:
        """Attachment sizes and MIME types per kind, for messages in the window."""
        m = self.m
        mime = f"lower(CAST({m.col('attachments', 'mimeType', 'att')} AS text))"
        known = ", ".join(quote_literal(x) for x in KNOWN_MIME_TYPES)
        edges = self.specs[f"attachment_size.{MEDIA_KINDS[0]}"]
        sql = f"""
WITH w AS MATERIALIZED (
  SELECT {m.enum_case("attachments", "kind", "att")} AS kind,
         CASE WHEN {mime} IN ({known}) THEN {mime} ELSE 'other' END AS mime,
         {m.col("attachments", "sizeBytes", "att")} AS size
  FROM {m.table("attachments")} AS att
  JOIN {m.table("messages")} AS msg
    ON {m.col("messages", "id", "msg")} = {m.col("attachments", "messageId", "att")}
  WHERE {self._in_window("msg")}
)"""
        parts = [
            f"SELECT 'attachment_size.' || kind, {_bucket('size', edges)}, count(*)::bigint "
            "FROM w WHERE kind <> 'OTHER' GROUP BY 1, 2",
            "SELECT 'mime_types.' || kind, mime, count(*)::bigint FROM w WHERE kind <> 'OTHER' "
            "GROUP BY 1, 2",
        ]
        return Query("attachments", sql + "\n" + _union(parts))

    def gaps(self) -> Query:
        """Inter-arrival gaps within conversations, and each busy conversation's burst CV."""
        m, s = self.m, self.specs
        conv = m.col("messages", "conversationId", "msg")
        at = m.col("messages", "createdAt", "msg")
        sql = f"""
WITH g AS MATERIALIZED (
  SELECT cid, gap FROM (
    SELECT {conv} AS cid,
           extract(epoch FROM {at} - lag({at}) OVER (
             PARTITION BY {conv} ORDER BY {at}, {m.col("messages", "id", "msg")})) AS gap
    FROM {m.table("messages")} AS msg WHERE {self._in_window("msg")}
  ) AS lagged WHERE gap IS NOT NULL
), per AS (
  SELECT count(*) + 1 AS n, stddev_pop(gap) / nullif(avg(gap), 0) AS cv FROM g GROUP BY cid
)"""
        parts = [
            f"SELECT 'inter_arrival_seconds', {_bucket('gap', s['inter_arrival_seconds'])}, "
            "count(*)::bigint FROM g GROUP BY 2",
            f"SELECT 'burst_cv', {_bucket('cv', s['burst_cv'])}, count(*)::bigint FROM per "
            f"WHERE n >= {self.t.burst_min_messages} AND cv IS NOT NULL GROUP BY 2",
        ]
        return Query("gaps", sql + "\n" + _union(parts))

    def receipts(self) -> Query:
        """Read rate and the delay of each message's first receipt by someone else."""
        m, s = self.m, self.specs
        read_at = m.col("read_receipts", "readAt", "r")
        sql = f"""
WITH w AS MATERIALIZED (
  SELECT {m.col("messages", "id", "msg")} AS mid, {m.col("messages", "senderId", "msg")} AS sender,
         {m.col("messages", "createdAt", "msg")} AS at
  FROM {m.table("messages")} AS msg WHERE {self._in_window("msg")}
), first_read AS MATERIALIZED (
  SELECT min(extract(epoch FROM {read_at} - w.at)) AS delay
  FROM {m.table("read_receipts")} AS r
  JOIN w ON w.mid = {m.col("read_receipts", "messageId", "r")}
  WHERE {m.col("read_receipts", "userId", "r")} <> w.sender
  GROUP BY w.mid
)"""
        parts = [
            "SELECT 'read_state', 'read', count(*)::bigint FROM first_read",
            "SELECT 'read_state', 'unread', ((SELECT count(*) FROM w) - count(*))::bigint "
            "FROM first_read",
            f"SELECT 'receipt_delay_seconds', "
            f"{_bucket('greatest(delay, 0)', s['receipt_delay_seconds'])}, count(*)::bigint "
            "FROM first_read GROUP BY 2",
        ]
        return Query("receipts", sql + "\n" + _union(parts))

    def members(self) -> Query:
        """Roles (group conversations) and active flags of members of active conversations."""
        m = self.m
        conv_id = m.col("conversations", "id", "c")
        active = f"CAST({m.col('conversation_users', 'isActive', 'cu')} AS boolean)"
        sql = f"""
WITH active_conv AS (
  SELECT DISTINCT {m.col("messages", "conversationId", "msg")} AS cid
  FROM {m.table("messages")} AS msg WHERE {self._in_window("msg")}
), mb AS MATERIALIZED (
  SELECT {m.enum_case("conversations", "type", "c")} AS ctype,
         {m.enum_case("conversation_users", "role", "cu")} AS role,
         coalesce({active}, true) AS active
  FROM {m.table("conversation_users")} AS cu
  JOIN {m.table("conversations")} AS c
    ON {conv_id} = {m.col("conversation_users", "conversationId", "cu")}
  JOIN active_conv AS a ON a.cid = {conv_id}
)"""
        parts = [
            "SELECT 'member_roles', role, count(*)::bigint FROM mb WHERE ctype = 'GROUP' "
            "GROUP BY 2",
            "SELECT 'member_activity', CASE WHEN active THEN 'active' ELSE 'inactive' END, "
            "count(*)::bigint FROM mb GROUP BY 2",
        ]
        return Query("members", sql + "\n" + _union(parts))

    def users(self) -> Query:
        """Users who signed up before the window's end: before it or inside it."""
        m = self.m
        at = m.col("users", "createdAt", "u")
        sql = (
            f"SELECT 'user_signup', CASE WHEN {at} >= {self.start} THEN 'in_window' "
            f"ELSE 'before_window' END, count(*)::bigint FROM {m.table('users')} AS u "
            f"WHERE {at} < {self.end} GROUP BY 2"
        )
        return Query("users", sql)

    def all(self) -> list[Query]:
        """Every statement the sampler runs, in order."""
        return [
            self.conversations(),
            self.messages(),
            self.attachments(),
            self.gaps(),
            self.receipts(),
            self.members(),
            self.users(),
        ]
