"""Static checks of a migration script: what each statement locks, and the findings."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthgen.errors import VerifyError
from synthgen.rehearse.static import read_script, refusals, warnings


def _script(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "m.sql"
    path.write_text(text)
    return read_script(path)


def test_concurrently_inside_begin_commit_is_refused_with_its_line(tmp_path: Path) -> None:
    script = _script(
        tmp_path,
        "-- phase 2\nBEGIN;\n\nCREATE INDEX CONCURRENTLY i1 ON messages (a);\nCOMMIT;\n"
        "CREATE INDEX CONCURRENTLY i2 ON messages (b);\n",
    )
    found = refusals(script)
    assert [(f.statement, f.check) for f in found] == [(2, "concurrently-in-transaction")]
    assert "statement 2 (line 4)" in found[0].message


def test_concurrently_outside_a_block_is_not_refused(tmp_path: Path) -> None:
    script = _script(tmp_path, "BEGIN;\nSELECT 1;\nCOMMIT;\nDROP INDEX CONCURRENTLY i1;\n")
    assert refusals(script) == []


def test_locks_by_statement_kind(tmp_path: Path) -> None:
    script = _script(
        tmp_path,
        'CREATE INDEX "x" ON "messages" (a);\n'
        "CREATE UNIQUE INDEX CONCURRENTLY y ON public.messages (a);\n"
        "ALTER TABLE messages ADD COLUMN c int;\n"
        "ALTER TABLE ONLY messages ALTER COLUMN c TYPE bigint;\n"
        "ALTER TABLE messages VALIDATE CONSTRAINT k;\n"
        "VACUUM FULL conversations;\n"
        "LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE;\n"
        "DROP INDEX x;\n",
    )
    got = [(s.table, s.lock, s.rewrite, s.index) for s in script.statements]
    assert got == [
        ("messages", "ShareLock", False, "x"),
        ("messages", "ShareUpdateExclusiveLock", False, "y"),
        ("messages", "AccessExclusiveLock", False, None),
        ("messages", "AccessExclusiveLock", True, None),
        ("messages", "ShareUpdateExclusiveLock", False, None),
        ("conversations", "AccessExclusiveLock", True, None),
        ("users", "ShareRowExclusiveLock", False, None),
        (None, "AccessExclusiveLock", False, "x"),
    ]


def test_warnings_name_large_tables_missing_timeouts_and_access_exclusive(tmp_path: Path) -> None:
    script = _script(
        tmp_path,
        "SET lock_timeout = '2s';\n"
        "CREATE INDEX a ON messages (x);\n"
        "CREATE INDEX CONCURRENTLY b ON messages (y);\n"
        "ALTER TABLE conversations ADD COLUMN z int;\n"
        "CREATE INDEX c ON users (x);\n",
    )
    rows = {"messages": 5_000_000, "conversations": 8_000, "users": 5_000}
    found = warnings(script, rows, {"messages", "conversations"}, 1_000_000)
    got = [(f.check, f.statement) for f in found]
    # lock_timeout is set; statement_timeout is not (named once, at the first locking statement)
    assert got == [("timeout", 2), ("large-table", 2), ("access-exclusive", 4)]
    assert found[0].message.endswith("no SET statement_timeout")
    assert "~5,000,000 rows" in found[1].message


def test_an_empty_script_is_an_error_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(VerifyError, match=r"--file .*m\.sql: no statements"):
        _script(tmp_path, "-- nothing\n")
