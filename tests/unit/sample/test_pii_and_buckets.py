"""PII patterns and bucket edges."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from synthgen.sample.buckets import (
    DELAY_EDGES,
    GAP_EDGES,
    Bucket,
    buckets_from_index,
    counts_on,
    integer_edges,
    interval_edges,
    with_edges,
)
from synthgen.sample.pii import find_pii, luhn_valid


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("write to olga.novak12@harbor-inbox.com today", ["email address"]),
        ("call +44 20 7946 0958", ["phone number"]),
        ("(869) 555-0114", ["phone number"]),
        ("card 3782 822463 10005", ["payment card number"]),
        ("5555-5555-5555-4444", ["payment card number"]),
        ("SSN 078-05-1120", ["national id number"]),
        ("IBAN GB82 WEST 1234 5698 7654 32", ["bank account number (IBAN)"]),
    ],
)
def test_pii_patterns_are_found(text: str, found: list[str]) -> None:
    assert set(found) <= set(find_pii(text))


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-25T00:00:00Z",
        "hmac-sha256:3f2a9d81c7e6b5a4f3e2d1c0b9a8f7e6",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "messages_per_regular_conversation",
        "one row of the counted unit added or removed (event-level, no per-user bound)",
        "12345",
    ],
)
def test_ordinary_output_strings_are_not_pii(text: str) -> None:
    assert find_pii(text) == []


def test_luhn() -> None:
    assert luhn_valid("4111111111111111")
    assert luhn_valid("378282246310005")
    assert not luhn_valid("4111111111111112")


def test_integer_edges_are_every_integer_then_r10() -> None:
    edges = integer_edges(1000)
    assert edges[:10] == tuple(range(10))
    assert edges[10:21] == (10, 12, 16, 20, 25, 31, 40, 50, 63, 80, 100)
    assert {100, 1000} <= set(edges) and edges[-1] >= 1000
    assert all(b > a for a, b in itertools.pairwise(edges))


def test_fixed_edges_hold_the_spec_band_boundaries() -> None:
    assert {30.0, 3600.0, 259200.0, 2592000.0} <= set(DELAY_EDGES)
    assert GAP_EDGES[0] == 0.0 and 0.001 in GAP_EDGES and 1.0 in GAP_EDGES
    assert with_edges((1.0, 5.0), (3.0, 5.0)) == (1.0, 3.0, 5.0)


def test_buckets_from_width_bucket_indexes() -> None:
    buckets = buckets_from_index((0.0, 1.0, 2.0), [0, 5, 0, 7])
    assert buckets == [Bucket(0.0, 1.0, 5.0), Bucket(2.0, None, 7.0)]
    assert buckets[1].upper == math.inf


def test_counts_on_union_edges() -> None:
    buckets = [Bucket(1.0, 3.0, 10.0), Bucket(3.0, None, 4.0)]
    edges = interval_edges(buckets)
    assert edges.tolist() == [1.0, 3.0, math.inf]
    full = np.array([-math.inf, 1.0, 3.0, math.inf])
    assert counts_on(full, buckets).tolist() == [0.0, 10.0, 4.0]


def test_digit_runs_inside_hex_digests_are_not_phone_numbers() -> None:
    assert find_pii("hmac-sha256:123456789012abcdef0123456789abcdef") == []
    assert find_pii("d41d8cd98f00b204e9800998ecf8427e") == []
    assert find_pii("call 0123456789 now") == ["phone number"]
