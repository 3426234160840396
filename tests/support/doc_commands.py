"""Run a Markdown file's ```sh blocks as written, the way a reader pastes them into a shell.

Each line (a trailing backslash joins the next) runs through ``bash -c`` exactly as printed —
comments included, bash drops them — in a fresh directory holding the repository's example and
spec files, with the installed `synthgen` first on PATH. Each is checked for its exit code and
for every file or directory it names with ``--out`` / ``--html`` / ``--json FILE``.
"""

from __future__ import annotations

import itertools
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from synthgen.postgres.connect import connect, execute

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FILE_FLAGS = ("--out", "--html", "--json")
_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.DOTALL | re.MULTILINE)


@dataclass(frozen=True)
class Ran:
    command: str
    code: int
    stdout: str
    stderr: str


def command_lines(markdown: str) -> list[str]:
    """Every command line of the file's sh blocks, in order (continuations joined)."""
    lines: list[str] = []
    for block in _BLOCK.findall(markdown):
        text = block.replace("\\\n", " ")
        for line in text.splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                lines.append(line.strip())
    return lines


def named_files(command: str) -> list[str]:
    """The paths a command names after --out / --html / --json (a flag, not a file, when the
    next word is another flag)."""
    words = shlex.split(command, comments=True)
    found = []
    for flag, value in itertools.pairwise(words):
        if flag in FILE_FLAGS and not value.startswith("-"):
            found.append(value)
    return found


def fresh_checkout(root: Path) -> Path:
    """A directory with the repository's examples and specs, nothing generated yet."""
    for part in ("examples", "specs"):
        shutil.copytree(REPO / part, root / part)
    return root


def run_line(command: str, cwd: Path, env: dict[str, str], timeout: float = 900) -> Ran:
    full = dict(os.environ, **env)
    full["PATH"] = f"{BIN}{os.pathsep}{full.get('PATH', '')}"
    done = subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=full, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip
    return Ran(command, done.returncode, done.stdout, done.stderr)


def fresh_database(dsn: str, name: str) -> str:
    conn = connect(dsn, autocommit=True)
    try:
        execute(conn, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        execute(conn, f"CREATE DATABASE {name}")
    finally:
        conn.close()
    if re.match(r"\s*postgres(?:ql)?://", dsn, re.IGNORECASE):
        return urlunsplit(urlsplit(dsn.strip())._replace(path=f"/{name}"))
    others = re.sub(r"\bdbname\s*=\s*\S+", "", dsn)
    return f"{others} dbname={name}".strip()
