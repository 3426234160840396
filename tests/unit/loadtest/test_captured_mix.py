"""Production's captured calls as the workload's mix; captured writes as W3+ scripts."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthgen.errors import LoadTestError
from synthgen.loadtest.captured import (
    captured_writes,
    production_mix,
    required_production_mix,
    wants_production,
)

READ = """-- name: {key} captured read on messages
-- production: calls={calls} mean_ms=1.0 total_ms=1.0 rows_per_call=1.0
-- param $1 bigint conversation: compared with messages.conversationId
SELECT 1 FROM messages WHERE "conversationId" = $1;
"""
TODO = """-- name: Q9 captured read on messages
-- production: calls=5 mean_ms=1.0 total_ms=1.0 rows_per_call=1.0
-- todo: $1 compared with id; declare it
SELECT 1 FROM messages WHERE id = $1;
"""


def _files(tmp_path: Path, calls: dict[str, int]) -> Path:
    (tmp_path / "writes").mkdir()
    for key, n in calls.items():
        folder = tmp_path / "writes" if key.startswith("w") else tmp_path
        (folder / f"{key}_x.sql").write_text(READ.format(key=key.upper(), calls=n))
    (tmp_path / "q9_x.sql").write_text(TODO)
    return tmp_path


def test_mix_is_the_captured_calls(tmp_path: Path) -> None:
    folder = _files(tmp_path, {"q1": 40, "q2": 25, "w3": 3})
    assert production_mix(folder) == {"Q1": 40, "Q2": 25, "W3": 3}  # Q9 (todo) left out
    assert list(captured_writes(folder)) == ["W3"]


def test_large_call_counts_are_scaled_in_proportion(tmp_path: Path) -> None:
    folder = _files(tmp_path, {"q1": 3_000_000_000, "q2": 1_000_000_000})
    mix = production_mix(folder)
    assert mix == {"Q1": 750_000, "Q2": 250_000}


def test_hand_written_files_have_no_production_mix(tmp_path: Path) -> None:
    (tmp_path / "q1_x.sql").write_text(
        "-- name: Q1\n-- param $1 bigint conversation: x\nSELECT 1 WHERE 1 = $1;\n"
    )
    assert production_mix(tmp_path) is None
    assert required_production_mix(None, tmp_path) is None  # no --mix: the default applies
    with pytest.raises(LoadTestError, match="--mix production: the query files of"):
        required_production_mix("production", tmp_path)
    assert wants_production(None) and wants_production(" Production ")
    assert not wants_production("Q1=1")
