"""`synthgen run` end to end at tiny scale, and its resume after an interrupted stage."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from synthgen.cli import cli
from synthgen.workflow import STAGES


def _run(dsn: str, out: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli,
        [
            "run",
            "--band",
            "dev",
            "--scale",
            "0.02",
            "--seed",
            "run",
            "--out",
            str(out),
            "--dsn",
            dsn,
            "--schema",
            "run_e2e",
            "--runs",
            "2",
            "--workers",
            "2",
            *extra,
        ],
    )
    return result.exit_code, result.stderr + result.stdout


def test_run_end_to_end_then_resume(pg_dsn: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    code, output = _run(pg_dsn, out)
    # dev x 0.02, seed 'run': both gates GO (the shipped indexes on the shipped queries:
    # 77-81 % average improvement measured, every sort gone), exit 0
    assert code == 0, output
    compare = json.loads((out / "compare.json").read_text())
    assert compare["decision"] == "GO"
    state = json.loads((out / "run-state.json").read_text())
    assert list(state["done"]) == list(STAGES)
    assert state["done"]["validate"]["verdict"] == "GO"
    for name in (
        "fidelity.html",
        "baseline-pre.json",
        "baseline-post.json",
        "compare.json",
        "report.html",
        "dataset/manifest.json",
        "dataset/fidelity-report.json",
    ):
        assert (out / name).exists(), name
    html = (out / "report.html").read_text()
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")  # self-contained
    # 12 query x class pairs, each in custom and generic plan mode
    assert html.count('data-series="pre"') == html.count('data-series="post"') == 24
    assert len(re.findall(r"<figure data-check=", html)) >= 6  # fidelity charts
    assert "idx_messages_conversation_created_desc" in html

    # interrupt: the post baseline and everything after it never finished
    for stage in ("baseline_post", "compare", "report"):
        del state["done"][stage]
    (out / "run-state.json").write_text(json.dumps(state))
    (out / "compare.json").unlink()
    code, output = _run(pg_dsn, out)
    assert "[generate] done earlier, skipped" in output
    assert "[indexes] done earlier, skipped" in output
    assert "[baseline_post] 24 query x class x plan mode results" in output
    assert (out / "compare.json").exists() and (out / "report.html").exists()

    # a run directory refuses other parameters
    result = CliRunner().invoke(
        cli,
        [
            "run",
            "--band",
            "dev",
            "--scale",
            "0.03",
            "--out",
            str(out),
            "--dsn",
            pg_dsn,
            "--schema",
            "run_e2e",
        ],
    )
    assert result.exit_code == 1 and "holds a run with other parameters" in result.stderr
    assert "scale 0.02 != 0.03" in result.stderr and "seed 'run' != '0'" in result.stderr
    assert "--overwrite" in result.stderr
    assert json.loads((out / "run-state.json").read_text())["identity"]["scale"] == 0.02

    # --overwrite starts over: nothing of the earlier run counts as done
    code, output = _run(pg_dsn, out, "--overwrite")
    assert code == 0, output
    assert "done earlier" not in output
    assert list(json.loads((out / "run-state.json").read_text())["done"]) == list(STAGES)

    # a fidelity NO-GO carried through with --force still fails the run, from the installed
    # command: rerun the recorded stages with the validate stage's verdict NO-GO
    state = json.loads((out / "run-state.json").read_text())
    state["done"]["validate"]["verdict"] = "NO-GO"
    for stage in ("compare", "report"):
        del state["done"][stage]
    (out / "run-state.json").write_text(json.dumps(state))
    args = ["run", "--band", "dev", "--scale", "0.02", "--seed", "run", "--out", str(out)]
    args += ["--dsn", pg_dsn, "--schema", "run_e2e", "--runs", "2", "--workers", "2", "--force"]
    args += ["--compare-plans-with", str(out)]  # its own post baseline: every shape matches
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "synthgen"), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    index_gate = json.loads((out / "compare.json").read_text())["decision"]
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert f"fidelity gate: NO-GO; index gate: {index_gate}" in proc.stdout
    assert "plans: 24 query x class x plan mode pairs compared" in proc.stdout
    assert "plans: same shapes in every pair" in proc.stdout
