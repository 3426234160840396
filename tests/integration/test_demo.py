"""`make demo` never drops the database stages silently."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_without_a_server_the_demo_says_what_it_did_not_run(tmp_path: Path) -> None:
    # An unknown server choice stands for "no server can run here": the same path as a machine
    # whose PostgreSQL cannot start, without breaking one.
    env = {**os.environ, "SYNTHGEN_PG_SERVER": "none-at-all"}
    env.pop("SYNTHGEN_DSN", None)
    demo = subprocess.run(
        [sys.executable, "-m", "synthgen.demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert demo.returncode == 1, demo.stdout + demo.stderr
    assert "NOT RUN: load, baselines, phase-2 indexes, compare and report.html." in demo.stderr
    assert "SYNTHGEN_PG_SERVER='none-at-all'" in demo.stderr
    # what could run did: the dataset and its fidelity report
    assert (tmp_path / "out" / "demo" / "dataset" / "manifest.json").is_file()
    assert (tmp_path / "out" / "demo" / "fidelity.html").is_file()
    assert not (tmp_path / "out" / "demo" / "report.html").exists()
