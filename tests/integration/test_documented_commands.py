"""The documented paths, walked as a newcomer walks them: every command of the example's README
(and of the main README's blocks, at a small scale) run as written, on a fresh directory, each
exit code and each file it names checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.doc_commands import (
    REPO,
    command_lines,
    fresh_checkout,
    fresh_database,
    named_files,
    run_line,
)
from synthgen.postgres.connect import connect

pytestmark = [pytest.mark.postgres, pytest.mark.one_server]


def test_the_harness_reads_blocks_as_a_shell_does() -> None:
    markdown = (
        "text\n```sh\n# a comment\nsynthgen a --out x/y.json   # note\n"
        "synthgen b \\\n    --html r.html --json\n```\n```json\n{}\n```\n"
    )
    assert command_lines(markdown) == [
        "synthgen a --out x/y.json   # note",
        "synthgen b      --html r.html --json",
    ]
    assert named_files("synthgen a --out x/y.json   # note --out z") == ["x/y.json"]
    assert named_files("synthgen b --html r.html --json") == ["r.html"]


def test_the_prisma_chat_readme_runs_as_written(pg_dsn: str, tmp_path: Path) -> None:
    readme = (REPO / "examples" / "prisma-chat" / "README.md").read_text()
    lines = command_lines(readme)
    assert lines[0].startswith("synthgen postgres migrate examples/prisma-chat/schema.sql")
    assert lines[-1].startswith("synthgen teardown --schema app")
    cwd = fresh_checkout(tmp_path / "checkout")
    env = {"SYNTHGEN_DSN": fresh_database(pg_dsn, "doc_prisma_chat")}
    for line in lines:
        ran = run_line(line, cwd, env)
        assert ran.code == 0, f"{line}\n{ran.stdout}\n{ran.stderr}"
        for name in named_files(line):
            assert (cwd / name).exists(), f"{line}: wrote no {name}"
        if line.startswith("synthgen postgres migrate"):
            assert "migrated schema app with examples/prisma-chat/schema.sql: 7 tables" in (
                ran.stdout
            )
        if "verify compare" in line:
            assert "decision: GO" in ran.stdout
    manifest = json.loads((cwd / "out/app-ds/manifest.json").read_text())
    assert manifest["counts"]["messages"] == 250_000
    pre = json.loads((cwd / "out/app-gate/baseline-pre.json").read_text())
    assert pre["label"] == "pre" and pre["results"]
    # the teardown left nothing of the example behind
    conn = connect(env["SYNTHGEN_DSN"], autocommit=True)
    try:
        from synthgen.postgres.connect import fetch_all

        left = fetch_all(conn, "SELECT nspname FROM pg_namespace WHERE nspname LIKE '%app'")
    finally:
        conn.close()
    assert left == []
