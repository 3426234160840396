"""schema.quote_literal and quote_ident: any text comes back from PostgreSQL as itself."""

from __future__ import annotations

import pytest

from synthgen.errors import SynthgenError
from synthgen.postgres.connect import connect
from synthgen.schema import quote_ident, quote_literal
from synthgen.verify.baseline import typed_literal

AWKWARD = ["plain", "it's", "''", "back\\slash", "\\'", "end\\", "€ ünï", "a\nb", ""]


def test_quote_literal_doubles_quotes_and_keeps_backslashes() -> None:
    assert quote_literal("it's") == "'it''s'"
    assert quote_literal("back\\slash") == "'back\\slash'"
    assert quote_literal("\\'") == "'\\'''"
    assert quote_literal("") == "''"


def test_a_nul_byte_is_refused() -> None:
    # a user's value (a mapping's fill): synthgen's own error, one line and exit 1 at the CLI
    with pytest.raises(SynthgenError, match="NUL"):
        quote_literal("a\x00b")
    with pytest.raises(ValueError, match="NUL"):
        quote_ident("a\x00b")


def test_typed_literal_casts_each_type() -> None:
    assert typed_literal("7", "bigint") == "7"
    assert typed_literal("o'k", "text") == "'o''k'::text"
    assert typed_literal("2026-01-02T03:04:05+01:00", "timestamp") == (
        "'2026-01-02T02:04:05'::timestamp"
    )
    assert typed_literal("2026-01-02T03:04:05+01:00", "timestamptz") == (
        "'2026-01-02T03:04:05+01:00'::timestamptz"
    )


@pytest.mark.postgres
def test_postgres_reads_each_literal_and_name_back_as_written(pg_dsn: str) -> None:
    select = ", ".join(
        f"{quote_literal(v)} AS {quote_ident(f'c{i} {v}')}" for i, v in enumerate(AWKWARD)
    )
    with connect(pg_dsn, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT {select}")
        row = cur.fetchone()
        names = [d[0] for d in cur.description]
    assert row is not None and list(row) == AWKWARD
    assert names == [f"c{i} {v}" for i, v in enumerate(AWKWARD)]
