"""The installed synthgen in a real terminal (a pseudo-terminal), as a user sees its progress."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

SYNTHGEN = Path(sys.executable).parent / "synthgen"


def in_terminal(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run the installed synthgen with a terminal as stdout and stderr; return its exit code and
    everything it drew."""
    master, slave = pty.openpty()
    full = dict(os.environ, COLUMNS="120", LINES="40", TERM="xterm-256color", **(env or {}))
    proc = subprocess.Popen(
        [str(SYNTHGEN), *args], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=full
    )
    os.close(slave)
    chunks: list[bytes] = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    code = proc.wait(timeout=600)
    os.close(master)
    return code, b"".join(chunks).decode(errors="replace")
