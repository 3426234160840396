"""Synthetic text: vocabulary, pool, and the Arrow string column built from pool slices."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from synthgen.engine import text
from synthgen.generate.batches import text_column


def reference(pool: bytes, starts: list[int], lengths: list[int], valid: list[bool]) -> list:
    """The column text_column must build, one Python slice at a time (test only)."""
    out = []
    for start, length, ok in zip(starts, lengths, valid, strict=True):
        if not ok:
            out.append(None)
            continue
        body = bytearray(pool[start : start + length])
        if body and body[-1] == ord(" "):
            body[-1] = ord("a")
        if body and body[0] == ord(" "):
            body[0] = ord("e")
        out.append(body.decode())
    return out


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 400),
    longest=st.integers(0, 40),
    null_share=st.floats(0, 1),
)
def test_text_column_is_the_pool_slices(seed: int, n: int, longest: int, null_share: float) -> None:
    rng = np.random.default_rng(seed)
    raw = rng.choice(np.frombuffer(b"abc ", dtype=np.uint8), size=64)
    pool = text.extend_pool(raw, longest)
    starts = rng.integers(0, len(raw), n).astype(np.int64)
    valid = rng.random(n) >= null_share
    lengths = np.where(valid, rng.integers(0, longest + 1, n), 0).astype(np.int64)
    column = text_column(pool, starts, lengths, valid)
    column.validate(full=True)
    assert column.type == pa.string()
    assert column.null_count == int((~valid).sum())
    assert column.to_pylist() == reference(
        pool.tobytes(), starts.tolist(), lengths.tolist(), valid.tolist()
    )


def test_pool_is_words_of_the_vocabulary() -> None:
    rng = np.random.default_rng(7)
    vocab = text.vocabulary(rng, 300)
    assert len(vocab) == 300 and len(set(vocab)) == 300
    pool, word_starts = text.word_pool(rng, vocab, 20_000, 1.0)
    words = pool.tobytes().split(b" ")
    assert set(w for w in words if w) <= set(vocab)
    # every word start is the first letter of a word: preceded by a space or at 0
    assert pool[word_starts].min() > ord(" ")
    assert np.all(pool[word_starts[word_starts > 0] - 1] == ord(" "))


def test_extended_pool_holds_the_longest_slice_and_the_inline_window() -> None:
    pool = np.frombuffer(b"abcdefgh ", dtype=np.uint8)
    assert len(text.extend_pool(pool, 3)) == len(pool) + text.INLINE + 1
    longer = text.extend_pool(pool, 30)  # longer than the pool: its bytes repeat
    assert len(longer) == len(pool) + 31
    assert longer.tobytes() == (b"abcdefgh " * 5)[:40]
