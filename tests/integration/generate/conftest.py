"""DuckDB views over the session's tiny dataset, for the generator's integration tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from synthgen.schema import TABLES


@pytest.fixture(scope="session")
def query(tiny_dataset: Path) -> Callable[[str], list[tuple[Any, ...]]]:
    con = duckdb.connect()
    for table in TABLES:
        con.execute(
            f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{tiny_dataset}/{table}/*.parquet')"
        )

    def run(sql: str) -> list[tuple[Any, ...]]:
        return con.execute(sql).fetchall()

    return run
