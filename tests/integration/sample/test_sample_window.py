"""The sampler's window: --window-end measures an earlier snapshot; a thin window is warned about,
and calibrating it names the window and the flags. Run through the installed `synthgen`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from adbc_driver_postgresql import dbapi

pytestmark = pytest.mark.postgres
SALT = "e2e-test-salt-0123456789abcdef"
SYNTHGEN = str(Path(sys.executable).with_name("synthgen"))


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANONYMIZATION_SALT": SALT}
    return subprocess.run(
        [SYNTHGEN, *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


def _count(dsn: str, start: str, end: str) -> int:
    with dbapi.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            f"SELECT count(*) FROM app.posts WHERE created_at >= '{start}' AND created_at < '{end}'"
        )
        row = cur.fetchone()
        assert row is not None
        return int(row[0])


def _sample(production: Any, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    base = ["sample", "--dsn", production.reader_dsn, "--mapping", str(production.mapping_path)]
    return _run(*base, "--heavy-min-messages", "3000", *args, "--out", str(out))


def test_window_end_measures_an_earlier_snapshot(production: Any, tmp_path: Path) -> None:
    end = production.t0 - timedelta(days=20)
    out = tmp_path / "earlier.json"
    result = _sample(production, out, "--window-days", "5", "--window-end", f"{end:%Y-%m-%d}")
    assert result.returncode == 0, result.stderr
    metrics: dict[str, Any] = json.loads(out.read_text())
    start = end - timedelta(days=5)
    window = {"days": 5, "start": f"{start:%Y-%m-%dT%H:%M:%SZ}", "end": f"{end:%Y-%m-%dT%H:%M:%SZ}"}
    assert metrics["window"] == window
    exact = _count(production.admin_dsn, window["start"], window["end"])
    assert exact > 5_000  # the fixture's traffic: ~11 000 messages a day
    published = metrics["histograms"]["message_types"]["counts"]
    assert sum(published.values()) == exact  # no noise; every type above K
    assert "warning" not in result.stderr
    # an instant works too, and the default is today's 00:00 UTC
    out2 = tmp_path / "instant.json"
    at = f"{end:%Y-%m-%d}T12:00:00Z"
    assert _sample(production, out2, "--window-end", at).returncode == 0
    assert json.loads(out2.read_text())["window"]["end"] == at
    out3 = tmp_path / "today.json"
    assert _sample(production, out3).returncode == 0
    assert json.loads(out3.read_text())["window"]["end"] == f"{production.t0:%Y-%m-%dT%H:%M:%SZ}"


def test_a_bad_window_end_is_a_usage_error(production: Any, tmp_path: Path) -> None:
    result = _sample(production, tmp_path / "x.json", "--window-end", "last tuesday")
    assert result.returncode == 2
    assert "--window-end" in result.stderr
    assert not (tmp_path / "x.json").exists()


def test_a_thin_window_is_warned_about_and_calibration_names_it(
    production: Any, tmp_path: Path
) -> None:
    # only the archived rooms talk before day -40; the window before day -45 is nearly silent
    end = production.t0 - timedelta(days=45)
    out = tmp_path / "thin.json"
    result = _sample(production, out, "--window-days", "3", "--window-end", f"{end:%Y-%m-%d}")
    assert result.returncode == 0, result.stderr
    start = end - timedelta(days=3)
    exact = _count(production.admin_dsn, f"{start:%Y-%m-%d}", f"{end:%Y-%m-%d}")
    assert exact < 5_000
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1, result.stderr
    assert f"the window {start:%Y-%m-%d}T00:00:00Z to {end:%Y-%m-%d}T00:00:00Z" in warnings[0]
    assert "fewer than 5,000" in warnings[0] and "--window-days (now 3)" in warnings[0]
    assert "--window-end DATE" in warnings[0]

    calibrated = _run("calibrate", str(out), "--out", str(tmp_path / "spec.json"))
    assert calibrated.returncode == 1
    assert calibrated.stderr.count("\n") == 1 and calibrated.stderr.startswith("error: ")
    assert f"the sampled window {start:%Y-%m-%d}T00:00:00Z to {end:%Y-%m-%d}" in calibrated.stderr
    assert "--window-days" in calibrated.stderr and "--window-end" in calibrated.stderr
    assert not (tmp_path / "spec.json").exists()
