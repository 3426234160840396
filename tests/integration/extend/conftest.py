"""A small base with churn, extended twice through the installed executable (once per module)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from support.extend import CHURN, ok
from synthgen.spec import DEFAULT_SPEC_PATH


@pytest.fixture(scope="session")
def chain(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """base (dev x 0.02, with churn) -> ext1 (3 days) -> ext2 (2 days)."""
    root = tmp_path_factory.mktemp("extend")
    raw: dict[str, Any] = json.loads(DEFAULT_SPEC_PATH.read_text())
    raw["churn"] = CHURN
    spec = root / "churn.json"
    spec.write_text(json.dumps(raw))
    paths = {"spec": spec, "base": root / "base", "ext1": root / "ext1", "ext2": root / "ext2"}
    ok(
        "generate",
        "--band",
        "dev",
        "--scale",
        "0.02",
        "--seed",
        "soak",
        "--spec",
        str(spec),
        "--out",
        str(paths["base"]),
        "--quiet",
        "--workers",
        "2",
    )
    ok("extend", str(paths["base"]), "--days", "3", "--out", str(paths["ext1"]))
    ok("extend", str(paths["ext1"]), "--days", "2", "--out", str(paths["ext2"]))
    return paths


@pytest.fixture(scope="session")
def sql(chain: dict[str, Path]) -> Callable[[str], list[tuple[Any, ...]]]:
    """DuckDB over the chain: base_T, ext1_T, ext2_T views per table, and all_T their union."""
    con = duckdb.connect()
    tables = (
        "users",
        "conversations",
        "conversation_users",
        "messages",
        "attachments",
        "read_receipts",
    )
    for name in ("base", "ext1", "ext2"):
        for table in (*tables, "changes"):
            files = sorted((chain[name] / table).glob("*.parquet"))
            if files:
                listed = ", ".join(f"'{f}'" for f in files)
                con.execute(f"CREATE VIEW {name}_{table} AS SELECT * FROM read_parquet([{listed}])")
    for table in tables:
        con.execute(
            f"CREATE VIEW all_{table} AS SELECT * FROM base_{table} UNION ALL "
            f"SELECT * FROM ext1_{table} UNION ALL SELECT * FROM ext2_{table}"
        )
    con.execute(
        "CREATE VIEW all_changes AS SELECT * FROM ext1_changes UNION ALL SELECT * FROM ext2_changes"
    )

    def run(query: str) -> list[tuple[Any, ...]]:
        return con.execute(query).fetchall()

    return run
