"""A window shorter than a week: the gate still runs and says which figure it cannot judge."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def test_a_three_day_window_without_a_weekend_skips_the_weekday_ratio(
    kit: Any, spec_variant: Callable[[str, Any], Path], tmp_path: Path
) -> None:
    """dev x 0.03, seed 'fidelity', a 3-day window: GO (exit 0). The weekday ratio is SKIP (no
    weekend hour to divide by), which the diurnal ratio and the burst CV, judged, keep from
    making the critical temporal check SKIP."""
    # the default snapshot, 2026-01-01T00:00Z, is a Thursday: the three days before it are
    # Monday to Wednesday, so the window has no weekend hour to divide by
    spec = spec_variant("time.window_days", 3)
    dataset = kit.build(tmp_path / "ds", scale=0.03, spec_path=spec)
    result = kit.run_validate(str(dataset), "--spec", str(spec))
    assert result.exit_code == 0, result.output
    report = kit.report_of(dataset)
    assert report["decision"]["verdict"] == "GO"
    weekday = kit.metric(report, "temporal", "weekday / weekend")
    assert weekday["status"] == "SKIP"
    assert "the 3-day window has no weekend hours" in weekday["note"]
    # the spec's own figure: peak hours run at peak_to_trough times the trough hours' rate
    diurnal = json.loads(spec.read_text())["time"]["diurnal"]
    assert diurnal["hourly_profile"] is None
    peak = kit.metric(report, "temporal", "peak / trough")
    assert peak["expected"] == pytest.approx(diurnal["peak_to_trough"])
    assert peak["status"] == "PASS"
    assert abs(peak["measured"] / peak["expected"] - 1) <= 0.15
    assert kit.statuses(report)["temporal"] == "PASS"
