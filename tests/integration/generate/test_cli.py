"""`synthgen generate` on the command line: summaries, rebuilds and one-line errors."""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from synthgen.cli import cli


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_json_summary_and_rebuild_from_manifest(tmp_path: Path) -> None:
    out = tmp_path / "a"
    code, stdout, _ = _run(
        "generate",
        "--band",
        "dev",
        "--scale",
        "0.01",
        "--seed",
        "cli",
        "--out",
        str(out),
        "--json",
        "--quiet",
    )
    assert code == 0
    summary = json.loads(stdout)
    assert summary["counts"]["messages"] == 50_000
    assert summary["rows_per_second"] > 0
    code, stdout, _ = _run(
        "generate",
        "--from-manifest",
        str(out / "manifest.json"),
        "--out",
        str(tmp_path / "b"),
        "--json",
        "--quiet",
    )
    assert code == 0
    assert json.loads(stdout)["dataset_sha256"] == summary["dataset_sha256"]
    for f in json.loads((out / "manifest.json").read_text())["files"]:
        assert (out / f["path"]).read_bytes() == (tmp_path / "b" / f["path"]).read_bytes()

    # a manifest of another dataset format cannot be rebuilt byte for byte: refused, not guessed
    older = json.loads((out / "manifest.json").read_text())
    older["format"] = 1
    (tmp_path / "older.json").write_text(json.dumps(older))
    code, _, err = _run(
        "generate", "--from-manifest", str(tmp_path / "older.json"), "--out", str(tmp_path / "c")
    )
    assert code == 1
    assert "format: written by dataset format 1" in err and "would not be byte-identical" in err
    assert not (tmp_path / "c").exists()

    # flags that contradict the manifest are refused (usage, exit 2), not silently ignored
    manifest = str(out / "manifest.json")
    other_spec = json.loads(json.dumps(older["spec"]))
    other_spec["media"]["ratio"] = 0.5
    (tmp_path / "other-spec.json").write_text(json.dumps(other_spec))
    for flag, value in [
        ("--seed", "another"),
        ("--scale", "0.02"),
        ("--band", "staging"),
        ("--spec", str(tmp_path / "other-spec.json")),
    ]:
        code, _, err = _run("generate", "--from-manifest", manifest, flag, value, "--out", "x")
        assert code == 2, (flag, err)
        assert f"{flag} " in err and "conflicts with" in err and manifest in err
    assert not Path("x").exists()
    # the same values as the manifest's are fine
    code, _, err = _run(
        "generate", "--from-manifest", manifest, "--seed", "cli", "--scale", "0.01",
        "--out", str(tmp_path / "d"), "--quiet",
    )  # fmt: skip
    assert code == 0, err


def test_other_parameters_refused_unless_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    assert (
        _run("generate", "--band", "dev", "--scale", "0.01", "--out", str(out), "--quiet")[0] == 0
    )
    before = (out / "manifest.json").read_text()
    code, _, err = _run(
        "generate",
        "--band",
        "dev",
        "--scale",
        "0.01",
        "--seed",
        "other",
        "--out",
        str(out),
        "--quiet",
    )
    assert code == 1
    assert "holds a dataset built with other parameters (seed '0' != 'other')" in err
    assert (out / "manifest.json").read_text() == before
    code, _, _ = _run(
        "generate",
        "--band",
        "dev",
        "--scale",
        "0.01",
        "--seed",
        "other",
        "--out",
        str(out),
        "--quiet",
        "--overwrite",
    )
    assert code == 0
    assert json.loads((out / "manifest.json").read_text())["seed"] == "other"


def test_foreign_directory_is_never_touched(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    code, _, err = _run(
        "generate",
        "--band",
        "dev",
        "--scale",
        "0.01",
        "--out",
        str(tmp_path),
        "--quiet",
        "--overwrite",
    )
    assert code == 1 and "not a synthgen dataset" in err
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--band", "huge"], 2, "--band: unknown band 'huge'"),
        (["--band", "Dev"], 2, "--band: unknown band 'Dev' (the spec defines: dev, perf, staging)"),
        (["--band", "dev", "--scale", "0"], 2, "Invalid value for '--scale'"),
        (["--band", "dev", "--scale", "-2"], 2, "Invalid value for '--scale'"),
        (["--band", "dev", "--scale", "abc"], 2, "'abc' is not a number"),
        (["--band", "dev", "--scale", "nan"], 2, "must be a finite number > 0"),
        (
            ["--band", "dev", "--scale", "0.001"],
            1,
            "smallest scale that holds the conversation mix",
        ),
        (
            ["--band", "dev", "--spec", "/nonexistent/spec.json"],
            1,
            "spec file /nonexistent/spec.json: not found",
        ),
        (["--band", "dev", "--compression", "lzma"], 2, "Invalid value for '--compression'"),
        (["--scale", "0.01"], 2, "Missing option '--band'"),
    ],
)
def test_bad_input_one_line_and_nothing_written(
    tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    out = tmp_path / "never"
    got, _, err = _run("generate", *args, "--out", str(out), "--quiet")
    assert got == code
    assert message in err
    if code == 1:
        assert len(err.strip().splitlines()) == 1
        assert "Traceback" not in err
    assert not out.exists()


def test_bad_spec_field_named(tmp_path: Path) -> None:
    spec = json.loads(Path("specs/distribution-spec.json").read_text())
    spec["conversations"]["mix"]["direct"] = 0.9
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(spec))
    code, _, err = _run(
        "generate", "--band", "dev", "--spec", str(path), "--out", str(tmp_path / "o")
    )
    assert code == 1
    assert "field conversations.mix: shares must sum to 1 (they sum to 1.2)" in err
    assert not (tmp_path / "o").exists()


def test_unwritable_out(tmp_path: Path) -> None:
    code, _, err = _run(
        "generate", "--band", "dev", "--scale", "0.01", "--out", "/proc/synthgen-out"
    )
    assert code == 1 and "--out /proc/synthgen-out" in err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = _run(
        "generate", "--band", "dev", "--scale", "0.01", "--out", str(blocker / "sub")
    )
    assert code == 1 and f"--out {blocker / 'sub'}" in err


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def test_disk_full_removes_the_partial_shard(tmp_path: Path) -> None:
    out = tmp_path / "full"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from synthgen.cli import main; main()",
            "generate",
            "--band",
            "dev",
            "--scale",
            "0.05",
            "--out",
            str(out),
            "--workers",
            "1",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        preexec_fn=_limit_file_size,
        check=False,
    )
    assert proc.returncode == 1
    assert "messages/part-00000.parquet: disk full while writing" in proc.stderr
    assert "partial shard removed" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not list(out.rglob("*.tmp-*"))
    assert not list(out.rglob("*.parquet"))
    assert not (out / "manifest.json").exists()


def _all_commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):  # the top group is lazy: commands load on lookup
        command = group.get_command(ctx, name)
        assert command is not None, name
        found.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            found += _all_commands(command, f"{prefix}{name} ")
    return found


def test_every_command_has_help_with_an_example() -> None:
    commands = _all_commands(cli)
    assert {"generate", "validate", "load", "verify", "run", "postgres up"} <= set(dict(commands))
    for name, _ in commands:
        result = CliRunner().invoke(cli, [*name.split(), "--help"])
        assert result.exit_code == 0, name
        assert "Example" in result.output, f"{name} help has no example"


def test_generate_does_not_import_the_other_stages() -> None:
    """`synthgen generate` starts fast: DuckDB, ADBC and the gates load only for their commands."""
    probe = (
        "import sys; from synthgen.cli import cli; from click.testing import CliRunner; "
        "r = CliRunner().invoke(cli, ['generate', '--help']); assert r.exit_code == 0; "
        "print(sorted(m for m in ('duckdb', 'adbc_driver_postgresql', 'synthgen.fidelity') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
