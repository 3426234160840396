"""Variants of the shipped spec for tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from synthgen.spec import DEFAULT_SPEC_PATH


def small_shard_spec(directory: Path, shard_messages: int = 5000) -> Path:
    """A copy of the default spec with small shards, so tiny datasets still have many shards."""
    raw: dict[str, Any] = json.loads(DEFAULT_SPEC_PATH.read_text())
    raw["output"]["shard_messages"] = shard_messages
    path = directory / "small-shards.json"
    path.write_text(json.dumps(raw))
    return path
