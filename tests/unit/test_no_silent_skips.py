"""The suite's safety net: under SYNTHGEN_REQUIRE_POSTGRES=1 (CI) a skipped test fails the run.

Each case runs a real pytest session in a scratch directory, with the suite's own conftest.py
beside a few tests that skip in every way pytest allows.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"

SKIPPING_TESTS = """
import pytest

def test_runs():
    assert 1 + 1 == 2

def test_skips_itself():
    pytest.skip("no tiny disk here")

@pytest.mark.skipif(True, reason="marked away")
def test_marked():
    pass

@pytest.fixture
def missing_server():
    pytest.skip("no server binaries")

def test_skipped_by_a_fixture(missing_server):
    pass

@pytest.mark.xfail(reason="a known bug, not a skip", strict=True)
def test_expected_failure():
    assert False
"""

MODULE_SKIP = """
import pytest

pytest.skip("the whole module cannot run", allow_module_level=True)

def test_never_collected():
    pass
"""


def _session(
    tmp_path: Path, files: dict[str, str], required: bool, *options: str
) -> subprocess.CompletedProcess[str]:
    shutil.copy(CONFTEST, tmp_path / "conftest.py")
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "SYNTHGEN_"))}
    if required:
        env["SYNTHGEN_REQUIRE_POSTGRES"] = "1"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-rA",
            *options,
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )


def test_without_the_variable_skips_are_skips(tmp_path: Path) -> None:
    proc = _session(tmp_path, {"test_skips.py": SKIPPING_TESTS}, required=False)
    assert proc.returncode == 0, proc.stdout
    assert "1 passed, 3 skipped, 1 xfailed" in proc.stdout


# make test runs most of the suite on xdist workers: there a skip fails the same way
WORKERS = pytest.mark.parametrize("options", [(), ("-n", "2")], ids=["one process", "xdist"])


@WORKERS
def test_under_the_variable_every_skip_is_a_failure_naming_its_reason(
    tmp_path: Path, options: tuple[str, ...]
) -> None:
    proc = _session(tmp_path, {"test_skips.py": SKIPPING_TESTS}, True, *options)
    assert proc.returncode == int(pytest.ExitCode.TESTS_FAILED), proc.stdout
    # A skip during setup (a mark, a fixture) is reported as an error, one in the test as a failure.
    assert "1 failed, 1 passed, 1 xfailed, 2 errors" in proc.stdout
    for reason in ("no tiny disk here", "marked away", "no server binaries"):
        assert f"SYNTHGEN_REQUIRE_POSTGRES=1 forbids skips: {reason}" in proc.stdout, reason


@WORKERS
def test_under_the_variable_a_module_skipped_at_collection_fails_the_session(
    tmp_path: Path, options: tuple[str, ...]
) -> None:
    files = {"test_fine.py": "def test_ok():\n    pass\n", "test_module_skip.py": MODULE_SKIP}
    proc = _session(tmp_path, files, True, *options)
    assert proc.returncode == int(pytest.ExitCode.TESTS_FAILED), proc.stdout
    assert "1 skipped under SYNTHGEN_REQUIRE_POSTGRES=1: failing the session" in proc.stdout
    assert "the whole module cannot run" in proc.stdout
    assert _session(tmp_path, files, required=False).returncode == 0
