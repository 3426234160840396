"""Random streams keyed by (seed, table, shard), never by worker."""

from __future__ import annotations

import hashlib
import zlib

import numpy as np


def seed_to_int(seed: str) -> int:
    """Any seed text maps to a stable 64-bit integer."""
    return int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "little")


def stream(seed: str, name: str, shard: int = 0) -> np.random.Generator:
    """The generator for one (seed, name, shard): independent of which process asks for it."""
    key = (zlib.crc32(name.encode()), shard)
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(seed_to_int(seed), spawn_key=key))
    )
