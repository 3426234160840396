"""A window shorter than a week: the gate still runs and says which figure it cannot judge."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def test_a_three_day_window_without_a_weekend_skips_the_weekday_ratio(
    kit: Any, spec_variant: Callable[[str, Any], Path], tmp_path: Path
) -> None:
    # the default snapshot, 2026-01-01T00:00Z, is a Thursday: the three days before it are
    # Monday to Wednesday, so the window has no weekend hour to divide by
    spec = spec_variant("time.window_days", 3)
    dataset = kit.build(tmp_path / "ds", scale=0.005, spec_path=spec)
    result = kit.run_validate(str(dataset), "--spec", str(spec))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code in (0, 3), result.output
    report = kit.report_of(dataset)
    weekday = kit.metric(report, "temporal", "weekday / weekend")
    assert weekday["status"] == "SKIP"
    assert "the 3-day window has no weekend hours" in weekday["note"]
    peak = kit.metric(report, "temporal", "peak / trough")
    assert peak["status"] in ("PASS", "WARN", "FAIL", "SKIP")
    assert peak["expected"] is not None and peak["expected"] > 1
