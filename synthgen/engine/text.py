"""Synthetic text: a made-up vocabulary, a pool of words, and (start, length) slices of it.

No real names or words are used: words are built from syllables, so no personal data can appear.
A text is never a Python string: the engine hands out (pool, starts, lengths) and the Arrow layer
(synthgen.generate.batches.text_column) copies the slices into a string column in one C++ pass.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

ONSETS = np.array(list("bdfgklmnprstvz"))
VOWELS = np.array(list("aeiou"))


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
    rng: np.random.Generator, vocab: list[bytes], size: int, zipf_exponent: float
) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    """A buffer of random words separated by spaces, and the offset where each word starts.

    Word frequencies follow a Zipf law (weight 1 / rank ** zipf_exponent), as in natural text.
    """
    lengths = np.array([len(w) + 1 for w in vocab], dtype=np.int64)
    flat = np.frombuffer(b" ".join(vocab) + b" ", dtype=np.uint8)
    word_start = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    weights = 1.0 / np.arange(1, len(vocab) + 1) ** zipf_exponent
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


INLINE = 12  # Arrow's string views hold texts of up to 12 bytes inline, longer ones by reference


def extend_pool(pool: NDArray[np.uint8], longest: int) -> NDArray[np.uint8]:
    """The pool followed by its own head (repeated if the pool is short), so a slice of up to
    `longest` bytes, and the 12-byte window an inline string view reads, starting anywhere in the
    pool never runs past the end: no wrap-around needed."""
    return np.resize(pool, len(pool) + max(longest, INLINE) + 1)


def slice_starts(
    rng: np.random.Generator, word_starts: NDArray[np.int64], n: int
) -> NDArray[np.int64]:
    """Where each of n texts starts in the pool: at a word chosen uniformly."""
    return np.asarray(word_starts[rng.integers(0, len(word_starts), size=n)], dtype=np.int64)
