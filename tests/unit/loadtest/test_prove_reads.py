"""prove's read rows: where the planner was wrong, and the read gain weighted by production."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from synthgen.loadtest.prove_reads import (
    WRONG_EXPECTED,
    WRONG_MISSED,
    planner_verdict,
    production_shares,
    read_rows,
    weighted_gain,
    weights_line,
)
from synthgen.verify.queries import load_queries

QUERY = """-- name: {key} history
{production}-- param $1 bigint conversation: conversationId of a sampled room
SELECT 1 FROM messages WHERE "conversationId" = $1;
"""


def _estimate(gain: float, sort_removed: bool = False, used: bool = True) -> dict[str, object]:
    return {"estimated_gain": gain, "sort_removed": sort_removed, "uses_index": used}


def test_the_planner_is_wrong_where_the_clock_disagrees() -> None:
    assert planner_verdict(_estimate(0.9), 0.5, 0.2) == "right"
    assert planner_verdict(_estimate(0.05), 0.01, 0.2) == "right"  # no gain either side
    # a removed sort is a gain the planner expects, whatever its cost cut
    assert planner_verdict(_estimate(0.01, sort_removed=True), 0.05, 0.2) == WRONG_EXPECTED
    assert planner_verdict(_estimate(0.95), -0.9, 0.2) == WRONG_EXPECTED  # slower for real
    assert planner_verdict(_estimate(0.1), 0.4, 0.2) == WRONG_MISSED
    # a plan that does not use the index expects nothing from it
    assert planner_verdict(_estimate(0.9, used=False), 0.4, 0.2) == WRONG_MISSED
    assert planner_verdict(None, 0.4, 0.2) == ""


def _files(tmp_path: Path, totals: dict[str, float | None]) -> Path:
    tmp_path.mkdir()
    for key, total in totals.items():
        line = f"-- production: calls=10 mean_ms=1.0 total_ms={total}\n" if total else ""
        (tmp_path / f"{key}_x.sql").write_text(QUERY.format(key=key.upper(), production=line))
    return tmp_path


def test_shares_are_production_time_and_empty_when_a_file_lacks_it(tmp_path: Path) -> None:
    weighted = load_queries(_files(tmp_path / "a", {"q1": 300.0, "q2": 100.0}))
    assert production_shares(weighted) == {"q1": 0.75, "q2": 0.25}
    assert "Q1 75%, Q2 25%" in weights_line({"q1": 0.75, "q2": 0.25})
    mixed = load_queries(_files(tmp_path / "b", {"q1": 300.0, "q2": None}))
    assert production_shares(mixed) == {}
    assert weights_line({}).startswith("read gains unweighted")


def test_weighted_gain_counts_a_query_not_timed_as_unchanged() -> None:
    # Q1 (75 % of production's time) halves in both classes; Q2 (25 %) is not timed
    gains = {("q1", "heavy"): 0.5, ("q1", "median"): 0.5}
    before = {("q1", "heavy"): 10.0, ("q1", "median"): 2.0}
    after = {("q1", "heavy"): 5.0, ("q1", "median"): 1.0}
    shares = {"q1": 0.75, "q2": 0.25}
    rows = read_rows(gains, before, after, {}, shares, 0.2)
    assert [r["share_time"] for r in rows] == [0.75, 0.75]
    assert weighted_gain(rows, shares) == pytest.approx(1 - math.exp(0.75 * math.log(0.5)), 1e-4)
    assert weighted_gain(rows, {}) is None
