"""Counters an application keeps beside its rows, computed from the data before the load (one
DuckDB aggregate each) and applied per batch with one `searchsorted`:

- ``{"count": "messages"}`` on conversations (or conversation_users): the room's messages;
- ``{"count": "read"}`` on conversation_users: the room's messages up to the member's read
  cursor (``lastReadAt``; 0 without one) — unread = the room's count minus this;
- ``{"last_message": "createdAt"}`` on users: the time of the user's last sent message (a
  room's is the conversations' ``last_message``).

A member's key is (conversation id << 32) | user id: one sorted int64 array per counter.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from synthgen.load.mapped.related import Pairs, files_of, looked_up, query_pairs
from synthgen.storage import DatasetPath

COUNTS = {"conversations": ("messages",), "conversation_users": ("messages", "read")}
MEMBER_KEY = 32  # user ids below 2^32: a member's (conversation, user) as one int64


def counter_key(table: str, fill: dict[str, Any]) -> str:
    """The lookup a counter fill needs ('' for none)."""
    if "count" in fill:
        return "read" if fill["count"] == "read" else "messages"
    if table == "users" and fill.get("last_message") == "createdAt":
        return "last_sent"
    return ""


def build_counter(root: DatasetPath, key: str) -> Pairs:
    """The sorted (key, value) pairs of one counter. A cursor counts the messages of its
    millisecond too (times compare as the application stores them: to the millisecond)."""

    def files(table: str) -> str:
        return files_of(root, table)

    if key == "messages":
        sql = (
            f'SELECT "conversationId", count(*) FROM read_parquet([{files("messages")}]) GROUP BY 1'
        )
    elif key == "last_sent":
        sql = (
            'SELECT "senderId", epoch_us(max("createdAt")) '
            f"FROM read_parquet([{files('messages')}]) GROUP BY 1"
        )
    else:  # the messages before each cursor: one running count over messages and cursors
        sql = (
            'WITH ev AS (SELECT "conversationId" AS c, epoch_ms("createdAt") AS t, 0 AS k, '
            "0 AS u "
            f"FROM read_parquet([{files('messages')}]) UNION ALL "
            'SELECT "conversationId", epoch_ms("lastReadAt"), 1, "userId" FROM '
            f'read_parquet([{files("conversation_users")}]) WHERE "lastReadAt" IS NOT NULL), '
            "run AS (SELECT c, u, k, sum(1 - k) OVER (PARTITION BY c ORDER BY t, k "
            "ROWS UNBOUNDED PRECEDING) AS n FROM ev) "
            f"SELECT (c << {MEMBER_KEY}) | u, n FROM run WHERE k = 1"
        )
    return query_pairs(root, f"{sql} ORDER BY 1")


def counter_values(
    table: str, fill: dict[str, Any], batch: pa.RecordBatch, pairs: Pairs
) -> pa.Array:
    """A counter's value for each row of a batch (0, or NULL for a time, where there is none)."""
    if "count" not in fill:  # a user's last sent message
        own = np.asarray(batch.column("id").to_numpy(), dtype=np.int64)
        missing = np.full(len(own), -1, dtype=np.int64)
        found = looked_up(pairs, own, missing)
        return pa.array(found, pa.int64(), mask=found == -1).cast(pa.timestamp("us", tz="UTC"))
    room = "id" if table == "conversations" else "conversationId"
    keys: NDArray[np.int64] = np.asarray(batch.column(room).to_numpy(), dtype=np.int64)
    if fill["count"] == "read":
        users = np.asarray(batch.column("userId").to_numpy(), dtype=np.int64)
        keys = (keys << MEMBER_KEY) | users
    return pa.array(looked_up(pairs, keys, np.zeros(len(keys), dtype=np.int64)), pa.int64())
