"""Id formats: unique by construction, the right shape, ordered by time where they should be."""

from __future__ import annotations

import re
import uuid
import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from synthgen.load.mapped.ids import IdClock, format_ids, scramble60

CUID = re.compile(r"^c[0-9a-z]{24}$")


@given(st.lists(st.integers(0, 2**60 - 1), min_size=2, max_size=200, unique=True))
def test_scramble_is_injective(ids: list[int]) -> None:
    out = scramble60(np.asarray(ids, dtype=np.int64), "messages")
    assert len(set(out.tolist())) == len(ids)
    assert int(out.max()) < 2**60


def test_formats_are_unique_and_well_formed() -> None:
    ids = np.arange(1, 200_001, dtype=np.int64)
    ms = 1_700_000_000_000 + ids * 7
    cuids = format_ids(ids, "messages", "cuid", ms).to_pylist()
    assert len(set(cuids)) == len(ids) and all(CUID.match(c) for c in cuids[:1000])
    assert cuids == sorted(cuids, key=lambda c: c[1:9])  # the clock digits follow time
    v7 = format_ids(ids, "messages", "uuid7", ms, binary_uuid=False).to_pylist()
    assert len(set(v7)) == len(ids)
    parsed = uuid.UUID(v7[0])
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert int(v7[-1][:8] + v7[-1][9:13], 16) == ms[-1]  # 48 bits of milliseconds
    assert v7 == sorted(v7, key=lambda u: u[:13])
    v4 = format_ids(ids, "users", "uuid4", binary_uuid=False).to_pylist()
    assert len(set(v4)) == len(ids) and uuid.UUID(v4[0]).version == 4
    raw = format_ids(ids[:3], "users", "uuid4").to_pylist()
    assert [str(uuid.UUID(bytes=b)) for b in raw] == v4[:3]
    assert format_ids(ids[:3], "users", "text").to_pylist() == ["1", "2", "3"]
    # another table's id 1 is another value
    assert format_ids(ids[:1], "users", "cuid", ms[:1]) != format_ids(
        ids[:1], "messages", "cuid", ms[:1]
    )


def test_the_clock_interpolates_between_anchors() -> None:
    clock = IdClock(np.array([10, 0, 20]), np.array([10_000_000, 0, 30_000_000]))
    assert clock.ms(np.array([0, 5, 10, 15, 20])).tolist() == [0, 5_000, 10_000, 20_000, 30_000]
    with pytest.raises(ValueError, match="needs the rows' times"):
        format_ids(np.array([1]), "t", "cuid")


def _base36(value: int, digits: int) -> str:
    out = ""
    for _ in range(digits):
        value, digit = divmod(value, 36)
        out = "0123456789abcdefghijklmnopqrstuvwxyz"[digit] + out
    return out


def _cuid_one(unique: int, ms: int, fingerprint: str) -> str:
    """One cuid the slow, readable way: c, clock, counter, fingerprint, random."""
    triples = "".join(_base36((unique >> (15 * (3 - k))) & 0x7FFF, 3) for k in range(4))
    return "c" + _base36(min(max(ms, 0), 36**8 - 1), 8) + triples[:4] + fingerprint + triples[4:]


@given(
    st.lists(st.tuples(st.integers(0, 2**60 - 1), st.integers(-5, 36**8 + 5)), max_size=60),
    st.sampled_from(["messages", "users", "MessageDelivery"]),
)
def test_cuids_written_in_wide_stores_match_one_written_digit_by_digit(
    rows: list[tuple[int, int]], table: str
) -> None:
    ids = np.asarray([r[0] for r in rows], dtype=np.int64)
    ms = np.asarray([r[1] for r in rows], dtype=np.int64)
    got = format_ids(ids, table, "cuid", ms)
    got.validate(full=True)
    fingerprint = _base36(zlib.crc32(table.encode()) % 36**4, 4)  # per table
    unique = scramble60(ids, table).tolist()
    assert got.to_pylist() == [
        _cuid_one(u, m, fingerprint) for u, m in zip(unique, ms.tolist(), strict=True)
    ]
