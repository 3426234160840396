"""synthgen installs like a tool: a built wheel works from a fresh venv, outside the checkout.

The wheel is built from a copy of the project's files (nothing is written into the checkout),
installed without dependencies into a new venv whose only link to the development venv is a
.pth line naming its site-packages (for numpy, pyarrow, duckdb, ...). The installed console
script then runs from a directory outside the checkout, so the default spec, the hot-path
queries and the index scripts can only come from the wheel's package data.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from synthgen.verify.indexes import read_script

REPO = Path(__file__).resolve().parents[2]
SHIPPED = {
    "synthgen/data/distribution-spec.json",
    "synthgen/data/schema.sql",
    "synthgen/data/indexes/phase-2.sql",
    "synthgen/data/indexes/phase-2-rollback.sql",
    *(f"synthgen/data/queries/{p.name}" for p in (REPO / "specs" / "queries").glob("*.sql")),
}

PIP = [sys.executable, "-m", "pip"]

pytestmark = pytest.mark.slow


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def _build_wheel(work: Path) -> Path:
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "specs", source / "specs", ignore=skip)
    shutil.copytree(REPO / "synthgen", source / "synthgen", symlinks=True, ignore=skip)
    assert (source / "synthgen" / "data").is_symlink()  # the one copy lives in specs/
    dist = work / "dist"
    build = subprocess.run(
        [*PIP, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = dist.glob("synthgen-*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], Path]:
    """(the venv's bin directory, a clean environment, a work directory outside the checkout)."""
    work = tmp_path_factory.mktemp("wheel")
    wheel = _build_wheel(work)
    names = set(zipfile.ZipFile(wheel).namelist())
    assert names >= SHIPPED, f"missing from the wheel: {sorted(SHIPPED - names)}"

    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [*PIP, "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert install.returncode == 0, install.stderr
    # Dependencies from the development venv: a plain path line does not run that venv's own
    # .pth files, so its editable synthgen stays invisible.
    purelib = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (purelib / "dev-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "SYNTHGEN_"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    outside = work / "elsewhere"
    outside.mkdir()
    where = _run([str(python), "-c", "import synthgen; print(synthgen.__file__)"], outside, env)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(purelib)  # the wheel's copy, not the repo
    return venv / "bin", env, outside


def test_generate_and_validate_with_the_shipped_spec(
    installed: tuple[Path, dict[str, str], Path],
) -> None:
    bindir, env, outside = installed
    synthgen = str(bindir / "synthgen")
    gen = _run(
        [synthgen, "generate", "--band", "dev", "--scale", "0.03", "--out", "ds", "--quiet"],
        outside,
        env,
    )
    assert gen.returncode == 0, gen.stderr
    assert (outside / "ds" / "manifest.json").is_file()
    assert len(list((outside / "ds" / "messages").glob("part-*.parquet"))) >= 1

    val = _run([synthgen, "validate", "ds"], outside, env)
    assert val.returncode == 0, val.stdout + val.stderr
    assert "decision: GO" in val.stdout
    assert (
        "synthgen/data/distribution-spec.json"
        in (outside / "ds" / "fidelity-report.json").read_text()
    )


def test_default_queries_and_index_scripts_are_found(
    installed: tuple[Path, dict[str, str], Path],
) -> None:
    bindir, env, outside = installed
    synthgen = str(bindir / "synthgen")
    site = bindir.parent / "lib"

    listed = _run([synthgen, "verify", "queries"], outside, env)
    assert listed.returncode == 0, listed.stderr
    rows = listed.stdout.splitlines()
    assert [row.split()[0] for row in rows] == ["q1", "q2", "q3", "q4", "q5"]
    for row in rows:
        path = Path(row.split()[-1])
        assert path.is_relative_to(site) and path.is_file(), row

    for args, script in (
        (["show"], "phase-2.sql"),
        (["show", "--rollback"], "phase-2-rollback.sql"),
    ):
        shown = _run([synthgen, "indexes", *args], outside, env)
        assert shown.returncode == 0, shown.stderr
        header = shown.stdout.splitlines()[0]
        path = Path(header.removeprefix("-- ").split(":")[0])
        assert path.name == script and path.is_relative_to(site), header
        steps = read_script(REPO / "specs" / "indexes" / script)  # the repo's one copy
        assert header.endswith(f": {len(steps)} statements")
        assert shown.stdout.splitlines()[1:] == "\n".join(f"{s.sql.strip()};" for s in steps).split(
            "\n"
        )

    helped = _run([synthgen, "verify", "baseline", "--help"], outside, env)
    assert helped.returncode == 0
    queries = Path(rows[0].split()[-1]).parent
    # click wraps long paths (also after a hyphen): compare with every blank taken out
    assert f"[default:{queries}]" in "".join(helped.stdout.split())
