"""PII patterns, the Luhn test and masking, run by DuckDB on sample strings."""

from __future__ import annotations

import re

import duckdb
import pytest

from synthgen.fidelity.checks.pii import CARD, MACROS, PATTERNS, PREFILTER, RESERVED_EMAIL

POSITIVE = {
    "email": ["mail john.smith@gmail.com now", "a@b.co", "x.y+tag@mail.example.co.uk"],
    "phone": [
        "(555) 123-4567",
        "call 555-123-4567",
        "+1 555 123 4567",
        "+447911123456",
        "555.123.4567",
    ],
    "national_id": ["ssn 078-05-1120", "nino AB 12 34 56 C", "AB123456C"],
}
CARDS = ["4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005", "6011111111111117"]
NEGATIVE = [
    "lorem ipsum dolor sitamet",
    "Bako Zuti",
    "4111 1111 1111 1112",
    "on 2025-10-03 at 12:30",
    "room 42",
    "att/c12/a34567.jpg",
    "1234",
]


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute(MACROS)
    return connection


def _matches(con: duckdb.DuckDBPyConnection, pattern: str, text: str) -> bool:
    return bool(con.execute("SELECT regexp_matches(?, ?)", [text, pattern]).fetchone()[0])


def _luhn_hits(con: duckdb.DuckDBPyConnection, text: str) -> list[str]:
    rows = con.execute(
        "SELECT hit FROM (SELECT unnest(regexp_extract_all(?, ?)) AS hit) "
        "WHERE fid_luhn(regexp_replace(hit, '[^0-9]', '', 'g'))",
        [text, CARD],
    ).fetchall()
    return [r[0] for r in rows]


@pytest.mark.parametrize(("name", "text"), [(n, t) for n, ts in POSITIVE.items() for t in ts])
def test_each_pattern_finds_its_samples(
    con: duckdb.DuckDBPyConnection, name: str, text: str
) -> None:
    assert _matches(con, PATTERNS[name], text)
    # the content scan keeps only rows with a digit or '@': every sample must have one
    assert re.search(r"[0-9@]", text)
    # the other columns' scans keep only rows the prefilter passes: every sample must pass it
    assert _matches(con, PREFILTER, text)


def test_the_prefilter_passes_every_card_and_spares_storage_keys(
    con: duckdb.DuckDBPyConnection,
) -> None:
    for card in CARDS:
        assert _matches(con, PREFILTER, f"pay with {card} please"), card
    for key in ("att/c12/a34567.jpg", "att/c4000/a123456789012.webp", "Bako Zuti"):
        assert not _matches(con, PREFILTER, key), key


@pytest.mark.parametrize("card", CARDS)
def test_luhn_valid_cards_are_found(con: duckdb.DuckDBPyConnection, card: str) -> None:
    assert _luhn_hits(con, f"pay with {card} please") == [card]


@pytest.mark.parametrize("text", NEGATIVE)
def test_synthetic_text_and_near_misses_are_clean(
    con: duckdb.DuckDBPyConnection, text: str
) -> None:
    assert not any(_matches(con, p, text) for p in PATTERNS.values())
    assert _luhn_hits(con, text) == []


def test_reserved_email_domains(con: duckdb.DuckDBPyConnection) -> None:
    def reserved(email: str) -> bool:
        row = con.execute("SELECT regexp_full_match(?, ?, 'i')", [email, RESERVED_EMAIL]).fetchone()
        return bool(row[0])

    for ok in (
        "bako.zuti12@example.com",
        "a@example.org",
        "a@example.net",
        "a@chat.test",
        "a@mail.invalid",
        "a@Example.COM",
    ):
        assert reserved(ok), ok
    for bad in ("a@gmail.com", "a@example.com.evil.org", "a@test.com", "not an email"):
        assert not reserved(bad), bad


def test_mask_shows_only_the_ends(con: duckdb.DuckDBPyConnection) -> None:
    masked = con.execute("SELECT fid_mask('john.smith@gmail.com'), fid_mask('abc')").fetchone()
    assert masked == ("jo****************om", "***")
