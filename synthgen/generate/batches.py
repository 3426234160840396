"""NumPy arrays from the engine -> Arrow record batches, one table at a time, in bounded row groups.

String columns with few values (types, roles, MIME types) are built by indexing a small Arrow
array with codes; text bodies are wrapped zero-copy from the engine's (data, offsets) buffers.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from synthgen.contract import (
    CONVERSATION_TYPES,
    MEMBER_ROLES,
    MESSAGE_TYPES,
    SIZE_CLASSES,
    file_extension,
)
from synthgen.engine import text
from synthgen.engine.messages import MessageShard, mime_types
from synthgen.engine.skeleton import Skeleton
from synthgen.schema import TABLES, TIMESTAMP
from synthgen.spec import Spec

SPACE = ord(" ")
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "chat.test")


def _ts(values: NDArray[np.int64], mask: NDArray[np.bool_] | None = None) -> pa.Array:
    return pa.array(values, type=TIMESTAMP, mask=mask)


def _codes(labels: tuple[str, ...] | list[str], codes: NDArray[np.integer]) -> pa.Array:
    return pa.array(list(labels), type=pa.string()).take(pa.array(codes.astype(np.int32)))


def _batches(
    table: str, columns: dict[str, pa.Array | pa.ChunkedArray], rows_per_group: int
) -> Iterator[pa.RecordBatch]:
    schema = TABLES[table].arrow_schema
    whole = pa.Table.from_arrays([columns[name] for name in schema.names], schema=schema)
    yield from whole.to_batches(max_chunksize=rows_per_group)


def text_column(
    pool: NDArray[np.uint8],
    starts: NDArray[np.int64],
    lengths: NDArray[np.int64],
    valid: NDArray[np.bool_],
) -> pa.StringArray:
    """A string column whose text i is pool[starts[i] : starts[i] + lengths[i]] (null where not
    valid), with no text ending on a space (trailing spaces are invisible and some clients trim).

    The slices are first described as an Arrow string_view array over the pool (16 bytes a row,
    built with NumPy), then cast to a plain string column: Arrow copies every slice in one C++ pass,
    several times faster than a per-byte NumPy gather. The pool must extend at least 12 bytes past
    every start (text.extend_pool), because a short view holds its first 12 bytes inline.
    """
    n = len(lengths)
    views = np.zeros((n, 16), dtype=np.uint8)  # Arrow's view layout, little-endian
    fields = views.view(np.int32)  # [length, prefix | inline..., buffer index, offset]
    fields[:, 0] = lengths
    window = np.arange(text.INLINE, dtype=np.int64)
    # first 12 bytes of every text (the pool has room): a strided view, then one row gather
    head = np.lib.stride_tricks.sliding_window_view(pool, text.INLINE)[starts]
    views[:, 4:] = np.where(window < lengths[:, None], head, 0)  # inline bytes, zero padded
    long = np.flatnonzero(lengths > text.INLINE)  # these keep a 4-byte prefix and point instead:
    fields[long, 2] = 0  # buffer index 0, the pool
    fields[long, 3] = starts[long]  # offset in the pool
    validity = pa.py_buffer(np.packbits(valid, bitorder="little"))
    described = pa.Array.from_buffers(
        pa.string_view(),
        n,
        [validity, pa.py_buffer(views), pa.py_buffer(pool)],
        null_count=int(n - valid.sum()),
    )
    column = described.cast(pa.string())
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int32, count=n + 1)
    data = np.frombuffer(column.buffers()[2], dtype=np.uint8, count=int(offsets[-1]))
    if not data.flags.writeable:  # a fresh cast result is ours; copy only if Arrow says it is not
        data = data.copy()
    # the pool is small and cache-resident: find the texts to mend there, then write only those
    nonempty = lengths > 0
    starts_on_space = np.flatnonzero(nonempty & (pool[starts] == SPACE))
    data[offsets[starts_on_space]] = ord("e")
    ends_on_space = np.flatnonzero(nonempty & (pool[starts + np.maximum(lengths, 1) - 1] == SPACE))
    data[offsets[ends_on_space + 1] - 1] = ord("a")  # last: a one-byte text " " becomes "a"
    return pa.StringArray.from_buffers(
        n, column.buffers()[1], pa.py_buffer(data), validity, null_count=described.null_count
    )


def message_batches(
    spec: Spec, shard: MessageShard, rows_per_group: int
) -> Iterator[pa.RecordBatch]:
    # one string array per row group: its int32 offsets can never overflow, and the copy of the
    # text is made a row group at a time
    content = pa.chunked_array(
        [
            text_column(
                shard.content_pool,
                shard.content_starts[a : a + rows_per_group],
                shard.content_lengths[a : a + rows_per_group],
                shard.content_valid[a : a + rows_per_group],
            )
            for a in range(0, len(shard.content_lengths), rows_per_group)
        ],
        type=pa.string(),
    )
    columns = {
        "id": pa.array(shard.message_id),
        "conversationId": pa.array(shard.message_conv),
        "senderId": pa.array(shard.message_sender),
        "type": _codes(MESSAGE_TYPES, shard.message_type),
        "content": content,
        "createdAt": _ts(shard.message_created_us),
    }
    return _batches("messages", columns, rows_per_group)


def attachment_batches(
    spec: Spec, shard: MessageShard, rows_per_group: int
) -> Iterator[pa.RecordBatch]:
    mimes = mime_types(spec)
    ext = [file_extension(m) for m in mimes]
    ids = pa.array(shard.attachment_id)
    key = pc.binary_join_element_wise(
        "att/c",
        pc.cast(pa.array(shard.attachment_conv), pa.string()),
        "/a",
        pc.cast(ids, pa.string()),
        ".",
        _codes(ext, shard.attachment_mime),
        "",
    )
    columns = {
        "id": ids,
        "messageId": pa.array(shard.attachment_message),
        "kind": _codes(MESSAGE_TYPES, shard.attachment_kind),
        "mimeType": _codes(mimes, shard.attachment_mime),
        "sizeBytes": pa.array(shard.attachment_size),
        "storageKey": key,
        "createdAt": _ts(shard.attachment_created_us),
    }
    return _batches("attachments", columns, rows_per_group)


def receipt_batches(
    spec: Spec, shard: MessageShard, rows_per_group: int
) -> Iterator[pa.RecordBatch]:
    columns = {
        "messageId": pa.array(shard.receipt_message),
        "userId": pa.array(shard.receipt_user),
        "readAt": _ts(shard.receipt_read_us),
    }
    return _batches("read_receipts", columns, rows_per_group)


def emails_and_names(
    rng: np.random.Generator, vocab: list[bytes], ids: NDArray[np.int64]
) -> tuple[pa.Array, pa.Array]:
    """Each user's email (first.last<id>@ a reserved domain) and display name (First Last),
    drawn first names, last names, then domains: the base and its extensions alike."""
    n = len(ids)
    first = rng.integers(0, len(vocab), n)
    last = rng.integers(0, len(vocab), n)
    domain = _codes(EMAIL_DOMAINS, rng.integers(0, len(EMAIL_DOMAINS), n))
    email = pc.binary_join_element_wise(
        _words(vocab, first, False),
        ".",
        _words(vocab, last, False),
        pc.cast(pa.array(ids), pa.string()),
        "@",
        domain,
        "",
    )
    name = pc.binary_join_element_wise(
        _words(vocab, first, True), " ", _words(vocab, last, True), ""
    )
    return email, name


def _words(vocab: list[bytes], picks: NDArray[np.int64], capital: bool) -> pa.Array:
    table = pa.array([w.decode().capitalize() if capital else w.decode() for w in vocab])
    return table.take(pa.array(picks))


def user_batches(
    sk: Skeleton,
    vocab: list[bytes],
    last_active_us: NDArray[np.int64],
    rng: np.random.Generator,
    rows_per_group: int,
) -> Iterator[pa.RecordBatch]:
    """Users with synthetic names and emails on reserved domains only (RFC 2606 / 6761)."""
    n = len(sk.user_created_us)
    ids = np.arange(1, n + 1, dtype=np.int64)
    email, name = emails_and_names(rng, vocab, ids)
    seen = np.maximum(last_active_us, sk.user_created_us)
    columns = {
        "id": pa.array(ids),
        "email": email,
        "displayName": name,
        "createdAt": _ts(sk.user_created_us),
        "lastSeenAt": _ts(seen),
    }
    return _batches("users", columns, rows_per_group)


def conversation_batches(
    sk: Skeleton,
    vocab: list[bytes],
    last_message_us: NDArray[np.int64],
    rng: np.random.Generator,
    rows_per_group: int,
) -> Iterator[pa.RecordBatch]:
    n = len(sk.conv_kind)
    is_direct = sk.conv_kind == 0
    title = pc.binary_join_element_wise(
        _words(vocab, rng.integers(0, len(vocab), n), True),
        " ",
        _words(vocab, rng.integers(0, len(vocab), n), True),
        "",
    )
    title = pc.if_else(pa.array(is_direct), pa.scalar(None, pa.string()), title)
    updated = np.where(last_message_us > 0, last_message_us, sk.conv_created_us)
    columns = {
        "id": pa.array(np.arange(1, n + 1, dtype=np.int64)),
        "type": _codes(CONVERSATION_TYPES, (~is_direct).astype(np.int8)),
        "title": title,
        "createdAt": _ts(sk.conv_created_us),
        "updatedAt": _ts(updated),
    }
    return _batches("conversations", columns, rows_per_group)


def member_batches(
    sk: Skeleton, last_read_us: NDArray[np.int64], rows_per_group: int
) -> Iterator[pa.RecordBatch]:
    """Memberships in arrival order: by joinedAt, ties by conversation and user."""
    conv = np.repeat(
        np.arange(1, len(sk.conv_kind) + 1, dtype=np.int64), np.diff(sk.member_offsets)
    )
    user = sk.member_user + 1
    order = np.lexsort((user, conv, sk.member_joined_us))
    last_read = last_read_us[order]
    columns = {
        "conversationId": pa.array(conv[order]),
        "userId": pa.array(user[order]),
        "role": _codes(MEMBER_ROLES, sk.member_role[order]),
        "joinedAt": _ts(sk.member_joined_us[order]),
        "lastReadAt": _ts(last_read, mask=last_read == 0),
        "isActive": pa.array(sk.member_active[order]),
    }
    return _batches("conversation_users", columns, rows_per_group)


def trait_batches(sk: Skeleton, rows_per_group: int) -> Iterator[pa.RecordBatch]:
    columns = {
        "conversationId": pa.array(np.arange(1, len(sk.conv_kind) + 1, dtype=np.int64)),
        "isHeavy": pa.array(sk.conv_is_heavy),
        "sizeClass": _codes(SIZE_CLASSES, sk.conv_kind),
    }
    return _batches("conversation_traits", columns, rows_per_group)
