"""`synthgen sample` and `synthgen calibrate`: help, refusals and usage errors (no database)."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from synthgen.cli import cli
from synthgen.cli.calibrate import calibrate
from synthgen.cli.sample import sample


@pytest.mark.parametrize("command", ["sample", "calibrate"])
def test_help_has_an_example_and_is_registered(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert f"synthgen {command}" in result.stdout and "Example:" in result.stdout
    assert cli.get_command(click.Context(cli), command) is not None


def test_validate_offers_against() -> None:
    result = CliRunner().invoke(cli, ["validate", "--help"])
    assert "--against" in result.stdout


def test_sample_refuses_without_salt_before_connecting(tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    # a DSN that would hang or fail if it were ever dialled: the salt check comes first
    args = ["--dsn", "postgresql://reader:pw@192.0.2.1:5432/app", "--out", str(out)]
    result = CliRunner().invoke(sample, args, env={"ANONYMIZATION_SALT": None})
    assert result.exit_code == 1
    assert result.stderr == (
        "error: ANONYMIZATION_SALT is not set: the sampler refuses to run without a secret salt "
        "(e.g. export ANONYMIZATION_SALT=$(openssl rand -hex 32))\n"
    )
    assert not out.exists()


@pytest.mark.parametrize(
    "extra",
    [["--epsilon", "0"], ["--min-bucket-count", "1"], ["--window-days", "0"]],
)
def test_sample_usage_errors(extra: list[str], tmp_path: Path) -> None:
    args = ["--dsn", "postgresql://x@192.0.2.1/app", "--out", str(tmp_path / "m.json"), *extra]
    result = CliRunner().invoke(sample, args, env={"ANONYMIZATION_SALT": "x" * 32})
    assert result.exit_code == 2
    assert extra[0] in result.output


def test_calibrate_names_a_missing_metrics_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        calibrate, [str(tmp_path / "nope.json"), "--out", str(tmp_path / "s.json")]
    )
    assert result.exit_code == 1
    assert result.stderr == f"error: {tmp_path / 'nope.json'}: not found\n"
