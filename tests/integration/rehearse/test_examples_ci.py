"""examples/ci: the GitHub Actions workflow and the GitLab CI job parse, keep their shape, and
every synthgen command they run exists with the flags they pass (asked of the installed command's
--help)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml  # PyYAML: already in the dev environment (a dependency of dask)

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples" / "ci"
SYNTHGEN = Path(sys.executable).parent / "synthgen"


def _load(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((EXAMPLES / name).read_text())
    assert isinstance(doc, dict), name
    return doc


def _synthgen_commands(script: str) -> list[list[str]]:
    """Each `synthgen ...` command in a shell script, as its words up to the command's end."""
    text = script.replace("\\\n", " ")
    commands = []
    for part in re.split(r"\n|;|&&|\|\|", text):
        words = shlex.split(part, comments=True)
        if words and words[0] == "synthgen":
            commands.append(words[1:])
    return commands


def _check_command(words: list[str]) -> None:
    path = []
    for word in words:
        if word.startswith("-"):
            break
        path.append(word)
    helped = subprocess.run([str(SYNTHGEN), *path, "--help"], capture_output=True, text=True)
    assert helped.returncode == 0, (path, helped.stderr)
    for flag in (w.split("=")[0] for w in words if w.startswith("--")):
        assert re.search(rf"(^|[\s,]){re.escape(flag)}\b", helped.stdout), (path, flag)


def test_github_workflow_runs_synthgen_on_pull_requests_touching_migrations() -> None:
    doc = _load("github-actions.yml")
    on = doc.get("on", doc.get(True))  # YAML 1.1 reads the key `on` as true
    assert "migrations/**" in on["pull_request"]["paths"]
    assert doc["permissions"]["pull-requests"] == "write"
    steps = doc["jobs"]["rehearse"]["steps"]
    runs = [s["run"] for s in steps if "run" in s]
    commands = [c for r in runs for c in _synthgen_commands(r)]
    assert [c[0] for c in commands] == ["run"]
    run = commands[0]
    assert {"--band", "dev", "--rehearse", "--summary-md", "--junit"} <= set(run)
    for words in commands:
        _check_command(words)
    # the summary is posted even on a NO-GO, then the job fails with the run's exit code
    posted = [s for s in steps if "gh pr comment" in s.get("run", "")]
    assert posted and posted[0]["if"] == "always()"
    assert steps[-1]["run"] == 'exit "${{ steps.run.outputs.code }}"'


def test_gitlab_job_runs_the_same_command_and_reports_junit() -> None:
    doc = _load("gitlab-ci.yml")
    job = doc["synthgen-rehearsal"]
    assert job["rules"][0]["if"] == '$CI_PIPELINE_SOURCE == "merge_request_event"'
    assert "migrations/**/*" in job["rules"][0]["changes"]
    assert job["artifacts"]["reports"]["junit"] == "out/ci/junit.xml"
    commands = [c for line in job["script"] for c in _synthgen_commands(line)]
    github = _synthgen_commands(
        next(
            s["run"]
            for s in _load("github-actions.yml")["jobs"]["rehearse"]["steps"]
            if "synthgen run" in s.get("run", "")
        )
    )
    assert commands == github  # the same command on both
    for words in commands:
        _check_command(words)
    assert any("merge_requests/$CI_MERGE_REQUEST_IID/notes" in line for line in job["script"])
    assert job["script"][-1] == "exit $code"


def test_a_flag_that_does_not_exist_is_caught() -> None:
    with pytest.raises(AssertionError, match="--no-such-flag"):
        _check_command(["run", "--band", "dev", "--no-such-flag"])
