"""What the benchmark scripts share: how to call synthgen as a user would, in a fresh process."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SYNTHGEN = [sys.executable, "-c", "from synthgen.cli import main; main()"]


def generate_cmd(
    out: Path, scale: float, workers: int, band: str = "dev", seed: str = "bench"
) -> list[str]:
    """`synthgen generate` of `band` x `scale` into `out`, quietly."""
    return [
        *SYNTHGEN,
        "generate",
        "--band",
        band,
        "--scale",
        str(scale),
        "--seed",
        seed,
        "--out",
        str(out),
        "--workers",
        str(workers),
        "--quiet",
    ]
