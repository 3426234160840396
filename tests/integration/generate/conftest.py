"""Datasets built once per session for the generator's integration tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from synthgen.generate.build import BuildOptions, build_dataset
from synthgen.schema import TABLES
from synthgen.spec import DEFAULT_SPEC_PATH, load_spec


def small_shard_spec(directory: Path, shard_messages: int = 5000) -> Path:
    """A copy of the default spec with small shards, so tiny datasets still have many shards."""
    raw: dict[str, Any] = json.loads(DEFAULT_SPEC_PATH.read_text())
    raw["output"]["shard_messages"] = shard_messages
    path = directory / "small-shards.json"
    path.write_text(json.dumps(raw))
    return path


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "ds"
    build_dataset(load_spec(), BuildOptions("dev", 0.02, "fixture", out, workers=2))
    return out


@pytest.fixture(scope="session")
def query(small_dataset: Path) -> Callable[[str], list[tuple[Any, ...]]]:
    con = duckdb.connect()
    for table in TABLES:
        con.execute(
            f"CREATE VIEW {table} AS "
            f"SELECT * FROM read_parquet('{small_dataset}/{table}/*.parquet')"
        )

    def run(sql: str) -> list[tuple[Any, ...]]:
        return con.execute(sql).fetchall()

    return run
