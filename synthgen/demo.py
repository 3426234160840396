"""`make demo`: build a small dev-band dataset and show where it is and what it holds."""

from __future__ import annotations

import sys

from synthgen.cli import cli
from synthgen.cli.common import run_cli

DEMO_OUT = "out/demo"
DEMO_ARGS = ["generate", "--band", "dev", "--scale", "0.05", "--seed", "demo", "--out", DEMO_OUT]


def main() -> int:
    print(f"$ synthgen {' '.join(DEMO_ARGS)} --overwrite", flush=True)
    code = run_cli(cli, [*DEMO_ARGS, "--overwrite"])
    if code == 0:
        print(
            f"\nThe dataset is in {DEMO_OUT}/ (one folder of Parquet shards per table, "
            f"plus {DEMO_OUT}/manifest.json)."
        )
        print(
            "Rebuild it byte for byte: synthgen generate --from-manifest "
            f"{DEMO_OUT}/manifest.json --out OTHER"
        )
    return code


if __name__ == "__main__":
    sys.exit(main())
