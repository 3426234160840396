"""`make demo CAPTURED=1`: the workflow on statements captured from a test production."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.one_server]


@pytest.fixture()
def demo_dir(skip_or_fail: Callable[[str], NoReturn]) -> Iterator[Path]:
    """A working directory the server account can enter (the demo's cluster lives inside)."""
    from synthgen.errors import ClusterError
    from synthgen.postgres.cluster import find_server_binaries, stop_cluster

    try:
        find_server_binaries()
    except ClusterError as exc:
        skip_or_fail(f"PostgreSQL unavailable: {exc}")
    directory = Path(tempfile.mkdtemp(prefix="synthgen-demo-captured-"))
    directory.chmod(0o755)
    yield directory
    stop_cluster(directory / ".synthgen" / "postgres")
    shutil.rmtree(directory, ignore_errors=True)


def test_demo_runs_on_captured_statements_and_shows_production_weights(demo_dir: Path) -> None:
    demo = subprocess.run(
        [sys.executable, "-m", "synthgen.demo", "--captured"],
        cwd=demo_dir,
        env={k: v for k, v in os.environ.items() if k != "SYNTHGEN_DSN"},
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    captured = demo_dir / "out" / "demo-captured"
    assert sorted(p.name for p in captured.glob("*.sql"))[:2] == [
        "q1_select_messages.sql",
        "q2_select_conversation_users.sql",
    ]
    # the shipped Q1 ran 120 times, Q3 (the conversation list) 60: captured ranked by calls
    assert "-- production: calls=120 " in (captured / "q1_select_messages.sql").read_text()
    report = (demo_dir / "out" / "demo" / "report.html").read_text()
    assert "<h2>Per query: production's weights and the change</h2>" in report
    row = re.search(r'<tr data-query="q1"><td>Q1</td><td>[^<]*</td><td>120</td>', report)
    assert row is not None, report[report.find("Per query") :][:2000]
