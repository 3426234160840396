"""An index build's progress as a user sees it in a real terminal: the bar moves through the
build's phases by the share PostgreSQL reports (pg_stat_progress_create_index)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.terminal import in_terminal
from synthgen.postgres.connect import connect, execute

pytestmark = pytest.mark.postgres
SCHEMA = "idx_progress"
FRAME = re.compile(r"t_pad: building index: ([a-z ]+?)\s+\S*\s+(\d+)/100\s+%")


@pytest.fixture
def big_table(pg_dsn: str) -> Iterator[None]:
    with connect(pg_dsn, autocommit=True) as conn:
        execute(conn, f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        execute(conn, f"CREATE SCHEMA {SCHEMA}")
        # a text key in random order: a build of a few seconds, long enough to be seen moving
        execute(
            conn,
            f"CREATE TABLE {SCHEMA}.t AS SELECT g AS id, md5(g::text) AS pad "
            "FROM generate_series(1, 1500000) g",
        )
        # a serial build: a parallel one reports its table scan only when the workers are done
        execute(conn, f"ALTER TABLE {SCHEMA}.t SET (parallel_workers = 0)")
    yield
    with connect(pg_dsn, autocommit=True) as conn:  # no big table left for the guard to see
        execute(conn, f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")


def test_an_index_build_bar_moves_by_its_share(
    big_table: None, pg_dsn: str, tmp_path: Path
) -> None:
    script = tmp_path / "build.sql"
    script.write_text("CREATE INDEX t_pad ON t (pad);\n")
    code, drawn = in_terminal("indexes", "apply", "--file", str(script), "--dsn", pg_dsn,
                              "--schema", SCHEMA)  # fmt: skip
    assert code == 0, drawn
    drawn = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", drawn)
    frames = [(phase, int(done)) for phase, done in FRAME.findall(drawn)]
    assert frames, drawn
    # a phase reported part-way through (the scan by blocks, the tree by tuples), and every
    # drawn step ended at 100 %
    assert any(0 < done < 100 for _, done in frames), frames
    ends = {phase: max(d for p, d in frames if p == phase) for phase, _ in frames}
    assert set(ends.values()) == {100}, ends
    assert re.search(r"^t_pad\s+\d+\.\d+ s\s+\d+\.\d MB", drawn, re.MULTILINE), drawn
    quiet_code, quiet = in_terminal("indexes", "rollback", "--file", str(_drop(tmp_path)),
                                    "--dsn", pg_dsn, "--schema", SCHEMA, "--quiet")  # fmt: skip
    assert quiet_code == 0 and "/100" not in quiet, quiet


def _drop(tmp_path: Path) -> Path:
    path = tmp_path / "drop.sql"
    path.write_text("DROP INDEX t_pad;\n")
    return path
