"""An extension's rows as Arrow record batches: the new users, rooms, memberships and traits, and
the changes table (updates and deletes, in time order)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from synthgen.contract import CONVERSATION_TYPES, MEMBER_ROLES, SIZE_CLASSES
from synthgen.engine.extension import DIRECT, Arrivals
from synthgen.engine.extension_day import CHANGE_OPS, Changes
from synthgen.generate.batches import _batches, _codes, _ts, _words, emails_and_names
from synthgen.schema import TIMESTAMP, Column, Table

I64 = NDArray[np.int64]
EDIT_MARK = " (edited)"
CHANGES_TABLE = Table(
    "changes",
    (
        Column("changedAt", TIMESTAMP, encoding="delta"),
        Column("op", pa.string(), encoding="dictionary"),
        Column("messageId", pa.int64(), encoding="delta"),
        Column("conversationId", pa.int64(), encoding="dictionary"),
        Column("userId", pa.int64(), encoding="dictionary"),
        Column("content", pa.string(), nullable=True, statistics=False, free_text=True),
    ),
    ("changedAt", "op", "messageId", "conversationId", "userId"),
    application=False,
)


def user_batches(
    arrivals: Arrivals, first_id: int, vocab: list[bytes], rng: np.random.Generator, rows: int
) -> Iterator[pa.RecordBatch]:
    """New users, ids after `first_id`, names from the base's vocabulary, reserved domains."""
    n = len(arrivals.user_created_us)
    ids = np.arange(first_id + 1, first_id + n + 1, dtype=np.int64)
    email, name = emails_and_names(rng, vocab, ids)
    columns = {
        "id": pa.array(ids),
        "email": email,
        "displayName": name,
        "createdAt": _ts(arrivals.user_created_us),
        "lastSeenAt": _ts(arrivals.user_created_us),
    }
    return _batches("users", columns, rows)


def room_batches(
    arrivals: Arrivals, first_id: int, vocab: list[bytes], rng: np.random.Generator, rows: int
) -> Iterator[pa.RecordBatch]:
    n = len(arrivals.room_created_us)
    direct = arrivals.room_kind == DIRECT
    title = pc.binary_join_element_wise(
        _words(vocab, rng.integers(0, len(vocab), n), True),
        " ",
        _words(vocab, rng.integers(0, len(vocab), n), True),
        "",
    )
    columns = {
        "id": pa.array(np.arange(first_id + 1, first_id + n + 1, dtype=np.int64)),
        "type": _codes(CONVERSATION_TYPES, (~direct).astype(np.int8)),
        "title": pc.if_else(pa.array(direct), pa.scalar(None, pa.string()), title),
        "createdAt": _ts(arrivals.room_created_us),
        "updatedAt": _ts(arrivals.room_created_us),
    }
    return _batches("conversations", columns, rows)


def member_batches(arrivals: Arrivals, rows: int) -> Iterator[pa.RecordBatch]:
    """New memberships in arrival order (joinedAt, then conversation and user)."""
    order = np.lexsort((arrivals.member_user, arrivals.member_conv, arrivals.member_joined_us))
    n = len(order)
    columns = {
        "conversationId": pa.array(arrivals.member_conv[order] + 1),
        "userId": pa.array(arrivals.member_user[order] + 1),
        "role": _codes(MEMBER_ROLES, arrivals.member_role[order]),
        "joinedAt": _ts(arrivals.member_joined_us[order]),
        "lastReadAt": _ts(np.zeros(n, dtype=np.int64), mask=np.ones(n, dtype=bool)),
        "isActive": pa.array(np.ones(n, dtype=bool)),
    }
    return _batches("conversation_users", columns, rows)


def trait_batches(arrivals: Arrivals, first_id: int, rows: int) -> Iterator[pa.RecordBatch]:
    n = len(arrivals.room_kind)
    columns = {
        "conversationId": pa.array(np.arange(first_id + 1, first_id + n + 1, dtype=np.int64)),
        "isHeavy": pa.array(np.zeros(n, dtype=bool)),
        "sizeClass": _codes(SIZE_CLASSES, arrivals.room_kind),
    }
    return _batches("conversation_traits", columns, rows)


def change_batches(changes: Changes, content: pa.Array, rows: int) -> Iterator[pa.RecordBatch]:
    """The day's changes by time (ties: op, message, conversation, user); an edit's content is
    its message's text with EDIT_MARK appended."""
    order = np.lexsort((changes.user, changes.conv, changes.message, changes.op, changes.at_us))
    edited = changes.edited_row[order]
    is_edit = edited >= 0
    texts = content.take(pa.array(np.where(is_edit, edited, 0))) if len(content) else None
    if texts is None:
        new_content = pa.nulls(len(order), pa.string())
    else:
        joined = pc.binary_join_element_wise(texts, EDIT_MARK, "")
        new_content = pc.if_else(pa.array(is_edit), joined, pa.scalar(None, pa.string()))
    columns = [
        _ts(changes.at_us[order]),
        _codes(CHANGE_OPS, changes.op[order]),
        pa.array(changes.message[order]),
        pa.array(changes.conv[order]),
        pa.array(changes.user[order]),
        new_content,
    ]
    whole = pa.Table.from_arrays(columns, schema=CHANGES_TABLE.arrow_schema)
    yield from whole.to_batches(max_chunksize=rows)
