"""The extension tests' churn settings and the installed command as a process."""

from __future__ import annotations

import subprocess

from support.paths import SYNTHGEN

CHURN = {
    "edit_rate": 0.05,
    "edit_delay_seconds": 600,
    "soft_delete_rate": 0.02,
    "hard_delete_rate": 0.01,
    "leave_rate": 0.02,
}


def synthgen(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed console script as a process; never raises on a non-zero exit."""
    assert SYNTHGEN.is_file(), f"{SYNTHGEN}: the console script is not installed"
    return subprocess.run([str(SYNTHGEN), *args], capture_output=True, text=True, timeout=300)


def ok(*args: str) -> subprocess.CompletedProcess[str]:
    result = synthgen(*args)
    assert result.returncode == 0, result.stderr
    return result
