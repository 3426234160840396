"""A small dataset and the prisma-chat example's migrations, for loading into an app schema."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from support.paths import EXAMPLE
from support.pg import run_sql
from synthgen.appschema.migrate import run_migrations
from synthgen.generate.build import BuildOptions, build_dataset
from synthgen.spec import load_spec


@pytest.fixture(scope="session")
def app_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("app") / "ds"
    build_dataset(load_spec(), BuildOptions("dev", 0.05, "app", out, workers=2))
    return out


@pytest.fixture()
def app_schema(
    pg_dsn: str, request: pytest.FixtureRequest
) -> Iterator[Callable[..., tuple[str, Path]]]:
    """Make a fresh schema from the example's migrations; returns (schema, mapping path) with
    the mapping edited by `edit` (a function of the parsed mapping)."""
    made: list[str] = []

    def make(
        name: str, edit: Callable[[dict[str, Any]], None] | None = None, tmp: Path | None = None
    ) -> tuple[str, Path]:
        run_sql(pg_dsn, f'DROP SCHEMA IF EXISTS "{name}" CASCADE',
                f'DROP SCHEMA IF EXISTS "synthgen_{name}" CASCADE')  # fmt: skip
        run_migrations(pg_dsn, name, str(EXAMPLE / "schema.sql"))
        made.append(name)
        mapping = json.loads((EXAMPLE / "mapping.json").read_text())
        mapping["schema"] = name
        if edit is not None:
            edit(mapping)
        path = (tmp or Path(request.config.cache.mkdir("mappings"))) / f"{name}.json"
        path.write_text(json.dumps(mapping))
        return name, path

    yield make
    for name in made:
        run_sql(pg_dsn, f'DROP SCHEMA IF EXISTS "{name}" CASCADE',
                f'DROP SCHEMA IF EXISTS "synthgen_{name}" CASCADE')  # fmt: skip
