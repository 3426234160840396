"""Targeted decisions (`--targets`) and production's weights in the compare summary."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from support.baselines import baseline, result, runs
from synthgen.errors import VerifyError
from synthgen.verify.compare import compare_baselines
from synthgen.verify.targets import script_targets

SYNTHGEN = str(Path(sys.executable).parent / "synthgen")
IDX = ["messages_conversationId_idx"]
# production's numbers, as captured query files carry them into a baseline
# q1 takes 90 % of production's time, q2..q7 the rest evenly
OTHERS = ("q2", "q3", "q4", "q5", "q6", "q7")
PRODUCTION = {
    "q1": {"calls": 900.0, "total_ms": 900.0, "share_calls": 0.9},
    **{q: {"calls": 50.0 / 3, "total_ms": 50.0 / 3, "share_calls": 0.1 / 6} for q in OTHERS},
}


def _pre() -> dict[str, Any]:
    return baseline(
        [
            result("q1", "heavy", runs(10.0, seed=1), 1, IDX),
            *(result(q, "median", runs(6.0, seed=2 + i), 0, IDX) for i, q in enumerate(OTHERS)),
        ],
        production=PRODUCTION,
    )


def _post(q3_ms: float = 6.0) -> dict[str, Any]:
    return baseline(
        [
            result("q1", "heavy", runs(1.0, seed=20), 0, ["idx_messages_room_time"]),  # 10x
            *(
                result(q, "median", runs(q3_ms if q == "q3" else 6.0, seed=30 + i), 0, IDX)
                for i, q in enumerate(OTHERS)
            ),
        ]
    )


def test_one_targeted_query_ten_times_faster_others_equal_is_go() -> None:
    untargeted = compare_baselines(_pre(), _post())
    # the average rule: 1 - 10^(-1/7) = 28 % over seven queries, not above 30 %
    assert untargeted.decision == "NO-GO" and untargeted.average_improvement < 0.30
    c = compare_baselines(_pre(), _post(), targets=["q1"])
    assert c.decision == "GO", c.reasons
    assert c.thresholds.startswith("thresholds: each targeted query (Q1) improves >= 30%")
    row = {r["query"]: r for r in c.queries}
    assert row["q1"]["speedup"] == pytest.approx(10.0, rel=0.1)
    assert row["q1"]["indexes"] == ["idx_messages_room_time"] and row["q1"]["targeted"]
    assert row["q2"]["indexes"] == [] and not row["q2"]["targeted"]


def test_same_change_slowing_a_non_targeted_query_beyond_the_floor_is_no_go_naming_it() -> None:
    c = compare_baselines(_pre(), _post(q3_ms=12.0), targets=["q1"])
    assert c.decision == "NO-GO"
    assert any("non-targeted Q3 degraded" in r for r in c.reasons), c.reasons
    assert len(c.reasons) == 1


def test_targeted_query_short_of_the_minimum_is_no_go() -> None:
    c = compare_baselines(_pre(), _post(), targets=["q1", "q2"], min_improvement=0.5)
    assert c.decision == "NO-GO"
    assert len(c.reasons) == 1 and c.reasons[0].startswith("targeted Q2 improved")
    assert c.reasons[0].endswith("less than 50%")


def test_unknown_target_is_refused_naming_it() -> None:
    with pytest.raises(VerifyError, match="--targets Q9: no such query"):
        compare_baselines(_pre(), _post(), targets=["q9"])


def test_weighted_improvement_uses_production_time_shares() -> None:
    c = compare_baselines(_pre(), _post())
    ratios = {r["query"]: 1 - r["improvement"] for r in c.queries}
    logs = 0.9 * math.log(ratios["q1"]) + sum(0.1 / 6 * math.log(ratios[q]) for q in OTHERS)
    assert c.weighted_improvement == pytest.approx(1 - math.exp(logs))
    assert c.weighted_improvement == pytest.approx(0.87, abs=0.02)  # 1 - 10^-0.9
    assert c.average_improvement == pytest.approx(0.28, abs=0.02)  # 1 - 10^(-1/7)
    shares = {r["query"]: r["share_time"] for r in c.queries}
    assert shares == pytest.approx({"q1": 0.9, **{q: 0.1 / 6 for q in OTHERS}})


def test_without_production_numbers_there_is_no_weighted_figure() -> None:
    pre = _pre()
    del pre["production"]
    assert compare_baselines(pre, _post()).weighted_improvement is None


def test_script_targets_line(tmp_path: Path) -> None:
    script = tmp_path / "phase-2.sql"
    script.write_text("-- phase 2\n-- targets: Q1, q4\nCREATE INDEX x ON t (a);\n")
    assert script_targets(script) == ["q1", "q4"]


def test_cli_targets_from_script_exit_codes(tmp_path: Path) -> None:
    pre, post = tmp_path / "pre.json", tmp_path / "post.json"
    pre.write_text(json.dumps(_pre()))
    post.write_text(json.dumps(_post(q3_ms=12.0)))
    script = tmp_path / "phase-2.sql"
    script.write_text("-- targets: Q1\n")
    args = [SYNTHGEN, "verify", "compare", str(pre), str(post)]
    no_go = subprocess.run([*args, "--indexes", str(script)], capture_output=True, text=True)
    assert no_go.returncode == 3, no_go.stderr
    assert "non-targeted Q3 degraded" in no_go.stdout
    assert "thresholds: each targeted query (Q1) improves >= 30%" in no_go.stdout
    post.write_text(json.dumps(_post()))
    go = subprocess.run([*args, "--targets", "Q1"], capture_output=True, text=True)
    assert go.returncode == 0, go.stdout + go.stderr
    assert "improvement weighted by production's time" in go.stdout
    assert "idx_messages_room_time (target)" in go.stdout


def test_captured_queries_get_no_brief_expectations() -> None:
    # captured files reuse the keys q1..; the brief's expectations are about the shipped ones
    assert compare_baselines(_pre(), _post()).expectations == []
    pre = _pre()
    del pre["production"]
    assert [e["query"] for e in compare_baselines(pre, _post()).expectations][:1] == ["q1"]
