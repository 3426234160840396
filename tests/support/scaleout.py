"""The scale-out tests' shared pieces: the test bucket, moto's credentials, a free loopback port,
and a manifest's file digests (and the manifest without its timings) for comparing two builds."""

from __future__ import annotations

import socket
from typing import Any

BUCKET = "synthgen-test"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def digests(manifest: dict[str, Any]) -> dict[str, str]:
    return {f["path"]: f["sha256"] for f in manifest["files"]}


def without_timings(manifest: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in manifest.items() if k != "timings"}
