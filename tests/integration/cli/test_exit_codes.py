"""Exit codes as pipelines see them: the installed `synthgen` console script, run as a process.

click's CliRunner runs commands in standalone mode, which is not what the console script does;
every gate outcome here goes through the real executable: 0 GO, 3 NO-GO, 1 unreadable input,
2 usage.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from synthgen.sample.synthetic import shape_metrics_of
from synthgen.spec import DEFAULT_SPEC_PATH

SYNTHGEN = Path(sys.executable).parent / "synthgen"


def synthgen(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed console script; never raises on a non-zero exit."""
    assert SYNTHGEN.is_file(), f"{SYNTHGEN}: the console script is not installed"
    return subprocess.run(
        [str(SYNTHGEN), *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def spec_with_media_ratio(path: Path, ratio: float) -> Path:
    raw = json.loads(DEFAULT_SPEC_PATH.read_text())
    raw["media"]["ratio"] = ratio
    path.write_text(json.dumps(raw))
    return path


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("exit") / "ds"
    args = ["generate", "--band", "dev", "--scale", "0.05", "--seed", "exit", "--out", str(out)]
    result = synthgen(*args, "--quiet", "--workers", "2")
    assert result.returncode == 0, result.stderr
    return out


def test_validate_go_no_go_and_unreadable(dataset: Path, tmp_path: Path) -> None:
    go = synthgen("validate", str(dataset), "--quiet")
    assert go.returncode == 0, go.stdout + go.stderr
    assert go.stdout.startswith("decision: GO")

    # a spec the dataset was not built to: half the media ratio it was built with
    half_media = spec_with_media_ratio(tmp_path / "half-media.json", 0.5)
    no_go = synthgen("validate", str(dataset), "--spec", str(half_media), "--quiet")
    assert no_go.returncode == 3, no_go.stdout + no_go.stderr
    assert no_go.stdout.startswith("decision: NO-GO")
    assert "media" in no_go.stdout

    missing = synthgen("validate", str(tmp_path / "nowhere"))
    assert missing.returncode == 1
    assert "not a directory" in one_line_error(missing)

    usage = synthgen("validate", str(dataset), "--tolerance", "loose")
    assert usage.returncode == 2 and "--tolerance" in usage.stderr


def test_validate_against_go_no_go_and_unreadable(dataset: Path, tmp_path: Path) -> None:
    own = tmp_path / "own-shape.json"
    own.write_text(json.dumps(shape_metrics_of(dataset, k=2).raw))
    go = synthgen("validate", str(dataset), "--against", str(own), "--quiet")
    assert go.returncode == 0, go.stdout + go.stderr
    assert "GO" in go.stdout and "NO-GO" not in go.stdout

    # production with half its messages carrying media: the default-shaped dataset is NO-GO
    other = tmp_path / "other"
    spec = spec_with_media_ratio(tmp_path / "half-media.json", 0.5)
    built = synthgen(
        "generate", "--band", "dev", "--scale", "0.05", "--seed", "other", "--spec", str(spec),
        "--out", str(other), "--quiet", "--workers", "2",
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    theirs = tmp_path / "their-shape.json"
    theirs.write_text(json.dumps(shape_metrics_of(other, k=2).raw))
    no_go = synthgen("validate", str(dataset), "--against", str(theirs), "--quiet")
    assert no_go.returncode == 3, no_go.stdout + no_go.stderr
    assert "NO-GO" in no_go.stdout

    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    unreadable = synthgen("validate", str(dataset), "--against", str(garbage))
    assert unreadable.returncode == 1
    assert "garbage.json" in one_line_error(unreadable)


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    unknown = synthgen("generate", "--no-such-flag")
    assert unknown.returncode == 2 and "--no-such-flag" in unknown.stderr
    no_command = synthgen("frobnicate")
    assert no_command.returncode == 2
    scale = synthgen("generate", "--band", "dev", "--scale", "-1", "--out", str(tmp_path / "x"))
    assert scale.returncode == 2 and "--scale" in scale.stderr
    assert not (tmp_path / "x").exists()
    for command in ("generate", "plan", "run"):  # a band the spec lacks is a bad flag value
        band = synthgen(command, "--band", "Dev", "--out", str(tmp_path / "x"))
        assert band.returncode == 2, (command, band.stderr)
        assert band.stderr.strip() == (
            "error: --band: unknown band 'Dev' (the spec defines: dev, perf, staging)"
        )
    assert not (tmp_path / "x").exists()


def test_help_and_version_exit_0() -> None:
    assert synthgen("--help").returncode == 0
    version = synthgen("--version")
    assert version.returncode == 0 and version.stdout.startswith("synthgen, version ")


def _default_interrupt() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_interrupt_exits_130_and_a_rerun_resumes(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the foreground process group, as a terminal sends it) mid-build."""
    out = tmp_path / "ds"
    # 30 shards of 50,000 messages: when the first shard file appears most of the build is
    # still ahead, however slow the machine (with 6 shards the last ones could finish before
    # the signal arrived, and the build exited 0)
    spec = json.loads(DEFAULT_SPEC_PATH.read_text())
    spec["output"]["shard_messages"] = 50_000
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(spec))
    args = ["generate", "--band", "dev", "--scale", "0.3", "--seed", "int", "--out", str(out)]
    args += ["--spec", str(spec_path)]
    process = subprocess.Popen(
        [str(SYNTHGEN), *args, "--quiet", "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # Ctrl-C as a terminal's foreground job gets it: a suite started in the background by a
        # non-interactive shell (`.ci/run &`) ignores SIGINT, and the child inherited that and
        # finished its build (exit 0)
        preexec_fn=_default_interrupt,
    )
    deadline = time.monotonic() + 120
    while not list((out / "messages").glob("*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert process.poll() is None, "the build finished before it could be interrupted"
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert not (out / "manifest.json").exists()  # an interrupted build never looks finished
    rerun = synthgen(*args, "--quiet", "--workers", "2", "--json")
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["counts"]["messages"] == 1_500_000


@pytest.mark.parametrize("name", ["pii", "physical_layout", "temporel"])
def test_generate_refuses_a_critical_check_the_gate_does_not_judge(
    tmp_path: Path, name: str
) -> None:
    """fidelity.critical may name only the distribution checks (the integrity checks always
    block): any other name is refused when the spec is read, by generate, in one line, before
    anything is written (it used to generate and fail later in validate)."""
    raw = json.loads(DEFAULT_SPEC_PATH.read_text())
    raw["fidelity"]["critical"] = ["media", name]
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(raw))
    out = tmp_path / "ds"
    result = synthgen(
        "generate", "--band", "dev", "--scale", "0.005", "--seed", "s", "--out", str(out),
        "--spec", str(spec), "--quiet",
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    line = one_line_error(result)
    assert "fidelity.critical.1" in line and repr(name) in line, line
    assert not out.exists()


def _statuses(root: Path) -> dict[str, str]:
    report = json.loads((root / "fidelity-report.json").read_text())
    return {c["name"]: c["status"] for c in report["checks"]}


def test_a_critical_check_too_small_to_judge_is_no_go_with_the_scale_to_run_at(
    tmp_path: Path,
) -> None:
    """At dev x 0.005 (39 regular rooms) every figure of the critical messages_per_conversation
    is within its sampling noise: the check is SKIP, not PASS on its "rooms outside the range"
    count alone, and the gate says NO-GO naming the scale to run at. At that scale the check is
    judged: the scale is what the data need, not a guess."""
    small = tmp_path / "small"
    made = synthgen(
        "generate", "--band", "dev", "--scale", "0.005", "--seed", "skip", "--out", str(small),
        "--quiet", "--workers", "2",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    result = synthgen("validate", str(small), "--quiet")
    assert result.returncode == 3, result.stdout + result.stderr
    assert _statuses(small)["messages_per_conversation"] == "SKIP"
    found = re.search(
        r"check 2 messages_per_conversation \(critical\) is SKIP: too small to judge: "
        r"run at scale ≥ ([0-9.]+) \(",
        result.stdout,
    )
    assert found, result.stdout
    scale = float(found.group(1))
    assert 0.005 < scale < 0.1
    at_scale = tmp_path / "at-scale"
    made = synthgen(
        "generate", "--band", "dev", "--scale", str(scale), "--seed", "skip",
        "--out", str(at_scale), "--quiet", "--workers", "2",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    judged = synthgen("validate", str(at_scale), "--quiet")
    assert _statuses(at_scale)["messages_per_conversation"] == "PASS", judged.stdout
    assert "messages_per_conversation (critical)" not in judged.stdout
