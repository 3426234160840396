"""Synthetic text: a made-up vocabulary, a pool of words, and (offset, length) slices of it.

No real names or words are used: words are built from syllables, so no personal data can appear.
Text is produced as one uint8 buffer plus Arrow-style offsets, never as Python strings per row.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

ONSETS = np.array(list("bdfgklmnprstvz"))
VOWELS = np.array(list("aeiou"))
POOL_BYTES = 1 << 20


def vocabulary(rng: np.random.Generator, words: int) -> list[bytes]:
    """`words` distinct lowercase pseudo-words of 1-4 consonant-vowel syllables."""
    syllables = np.char.add(ONSETS[:, None], VOWELS[None, :]).ravel()
    lengths = rng.choice([1, 2, 2, 3, 3, 3, 4], size=words * 2)
    picks = rng.integers(0, len(syllables), size=(words * 2, 4))
    parts = syllables[picks]
    mask = np.arange(4)[None, :] < lengths[:, None]
    parts = np.where(mask, parts, "")
    joined = np.char.add(
        np.char.add(parts[:, 0], parts[:, 1]), np.char.add(parts[:, 2], parts[:, 3])
    )
    unique = list(dict.fromkeys(joined.tolist()))[:words]
    return [w.encode() for w in unique]


def word_pool(
    rng: np.random.Generator, vocab: list[bytes], size: int = POOL_BYTES
) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    """A buffer of random words separated by spaces, and the offset where each word starts.

    Word frequencies follow a Zipf-like law, as in natural text.
    """
    lengths = np.array([len(w) + 1 for w in vocab], dtype=np.int64)
    flat = np.frombuffer(b" ".join(vocab) + b" ", dtype=np.uint8)
    word_start = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    weights = 1.0 / np.arange(1, len(vocab) + 1)
    weights /= weights.sum()
    count = size // int(lengths.mean()) + 2
    chosen = rng.choice(len(vocab), size=count, p=weights)
    chosen_len = lengths[chosen]
    out_start = np.concatenate([[0], np.cumsum(chosen_len)[:-1]])
    total = int(chosen_len.sum())
    gather = np.arange(total, dtype=np.int64) - np.repeat(
        out_start - word_start[chosen], chosen_len
    )
    pool = flat[gather]
    return pool, out_start[out_start < total - 1]


def slice_text(
    rng: np.random.Generator,
    pool: NDArray[np.uint8],
    word_starts: NDArray[np.int64],
    lengths: NDArray[np.int64],
) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    """Texts of the given lengths, each a slice of the pool starting at a random word.

    Returns (data, offsets) in Arrow's string layout: text i is data[offsets[i]:offsets[i+1]].
    The caller extends the pool past its last word start by the longest length (no wrap-around).
    """
    starts = word_starts[rng.integers(0, len(word_starts), size=len(lengths))]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    total = int(offsets[-1])
    if len(pool) < int(word_starts.max(initial=0)) + int(lengths.max(initial=0)):
        raise ValueError("the pool must extend past its last word start by the longest text")
    # int32 indices halve the memory traffic of this, the engine's hottest loop
    shift = np.repeat((starts - offsets[:-1]).astype(np.int32), lengths)
    data = pool[np.arange(total, dtype=np.int32) + shift]
    # a text must not end on a space: trailing spaces are invisible and trimmed by some clients
    last = offsets[1:] - 1
    nonempty = lengths > 0
    tail = last[nonempty]
    data[tail] = np.where(data[tail] == 32, ord("a"), data[tail])
    head = offsets[:-1][nonempty]
    data[head] = np.where(data[head] == 32, ord("e"), data[head])
    return data, offsets


def title_case_words(words: list[bytes], picks: NDArray[np.int64]) -> NDArray[np.str_]:
    """Capitalised words chosen by index, as a NumPy string array (for names and titles)."""
    table = np.array([w.decode().capitalize() for w in words])
    return np.asarray(table[picks])
