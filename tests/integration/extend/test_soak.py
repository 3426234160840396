"""`synthgen run --extend-days 2` through the installed executable: the soak's figures per day,
its section of the report with a chart per figure, its verdict in the summary and exit code."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from support.extend import synthgen

pytestmark = pytest.mark.postgres


def test_run_extend_days_soaks_and_reports(pg_dsn: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = synthgen(
        "run", "--band", "dev", "--scale", "0.02", "--out", str(out), "--dsn", pg_dsn,
        "--schema", "soak_run", "--extend-days", "2", "--runs", "3",
    )  # fmt: skip
    assert result.returncode in (0, 3), result.stderr
    done = json.loads((out / "run-state.json").read_text())["done"]
    verdicts = [done[k]["verdict"] for k in ("validate", "compare", "soak")]
    assert done["validate"]["verdict"] == "GO"
    assert result.returncode == (3 if "NO-GO" in verdicts else 0)
    assert f"soak: {done['soak']['verdict']}" in result.stdout
    assert list(done).index("soak") == list(done).index("baseline_post") + 1
    doc = json.loads((out / "soak" / "soak.json").read_text())
    assert done["soak"]["verdict"] == doc["verdict"]["decision"]
    assert [d["day"] for d in doc["days"]] == [0, 1, 2]
    assert doc["bloat_method"] in ("pgstattuple", "statistics")
    _, day1, day2 = doc["days"]
    assert day1["wal_bytes"] > 100_000 and day2["wal_bytes"] > 100_000
    sizes = [d["tables"]["messages"]["bytes"] for d in doc["days"]]
    assert sizes[0] < sizes[1] < sizes[2]
    # cursors move every day: updated rows leave dead versions behind
    assert day1["tables"]["conversations"]["dead"] > 0
    assert all(d["w1_p50_ms"] > 0 for d in doc["days"])
    assert day2["rows"] > day1["rows"]  # the schema's rows after each day
    html = (out / "report.html").read_text()
    section = html[html.index("<h2>Soak:") :]
    assert len(re.findall(r"<svg", section)) >= 8
    assert "the phase-2 gain holds after 2 days when" in section
    assert (out / "soak" / "baseline-soak.json").is_file()


def test_extend_days_is_refused_with_suggest(tmp_path: Path) -> None:
    refused = synthgen(
        "run", "--band", "dev", "--scale", "0.02", "--out", str(tmp_path / "x"),
        "--extend-days", "2", "--suggest",
    )  # fmt: skip
    assert refused.returncode == 2 and "--extend-days" in refused.stderr


def test_the_soak_command_after_a_run(pg_dsn: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    ran = synthgen(
        "run", "--band", "dev", "--scale", "0.02", "--out", str(out), "--dsn", pg_dsn,
        "--schema", "soak_cmd", "--runs", "3",
    )  # fmt: skip
    assert ran.returncode in (0, 3), ran.stderr
    args = [
        "soak", str(out / "dataset"), "--days", "1", "--pre", str(out / "baseline-pre.json"),
        "--out", str(tmp_path / "s"), "--dsn", pg_dsn, "--schema", "soak_cmd", "--runs", "3",
    ]  # fmt: skip
    missing = synthgen(*args, "--post", str(tmp_path / "nope.json"))
    assert missing.returncode == 1 and "nope.json" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "s" / "soak").exists()  # refused before anything was written
    soaked = synthgen(*args, "--post", str(out / "baseline-post.json"), "--quiet")
    doc = json.loads((tmp_path / "s" / "soak" / "soak.json").read_text())
    assert soaked.returncode == (0 if doc["verdict"]["decision"] == "GO" else 3), soaked.stderr
    assert [d["day"] for d in doc["days"]] == [0, 1]
    page = (tmp_path / "s" / "soak" / "soak.html").read_text()
    assert len(re.findall(r"<svg", page)) >= 8
    assert f"soak: {doc['verdict']['decision']}" in soaked.stdout
