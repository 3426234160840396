"""The load's progress bar as a user sees it in a real terminal (a pseudo-terminal): it moves,
row by row, through a mapped load, and a load refused before it has rows to count prints its
error alone, with no empty bar."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from support.terminal import in_terminal

pytestmark = pytest.mark.postgres
FRAME = re.compile(r"rows\b[^\r\n]*?([\d,]+|\?)/([\d,]+|\?)")


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def test_the_mapped_load_bar_moves_by_rows(
    app_dataset: Path, pg_dsn: str, app_schema: Callable[..., tuple[str, Path]], tmp_path: Path
) -> None:
    _, mapping = app_schema("app_progress", tmp=tmp_path)
    code, drawn = in_terminal("load", str(app_dataset), "--dsn", pg_dsn, "--mapping",
                              str(mapping), "--jobs", "1")  # fmt: skip
    assert code == 0, drawn
    frames = FRAME.findall(drawn)
    assert frames, drawn
    assert ("0", "?") not in frames and all(total != "?" for _, total in frames)
    counts = json.loads((app_dataset / "manifest.json").read_text())["counts"]
    rows = sum(n for table, n in counts.items() if table != "conversation_traits")
    assert {_number(total) for _, total in frames} == {rows}
    seen = sorted({_number(done) for done, _ in frames})
    assert seen[0] < rows // 2 and seen[-1] == rows
    assert len(seen) >= 3, seen  # it moved on the way, not only 0 and the end


def test_a_refused_load_prints_its_error_and_no_bar(
    app_dataset: Path, pg_dsn: str, app_schema: Callable[..., tuple[str, Path]], tmp_path: Path
) -> None:
    _, mapping = app_schema("app_no_bar", tmp=tmp_path)
    edited = json.loads(mapping.read_text())
    edited["tables"]["messages"]["name"] = "NoSuchTable"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(edited))
    code, drawn = in_terminal("load", str(app_dataset), "--dsn", pg_dsn, "--mapping", str(bad))
    assert code == 1
    assert "table app_no_bar.NoSuchTable does not exist" in drawn
    assert "rows" not in drawn and "0/?" not in drawn
    code, drawn = in_terminal("load", str(app_dataset), "--dsn", pg_dsn, "--schema", "perf_bar",
                              env={"NODE_ENV": "production"})  # fmt: skip
    assert code == 1 and "production guard (environment)" in drawn
    assert "rows" not in drawn and "0/?" not in drawn
