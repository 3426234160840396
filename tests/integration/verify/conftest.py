"""A small dataset loaded once into the session's PostgreSQL for the index gate's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthgen.generate.build import BuildOptions, build_dataset
from synthgen.load.contract import LoadOptions, load_dataset
from synthgen.spec import load_spec

SCHEMA = "verify_gate"


@pytest.fixture(scope="session")
def loaded(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, Path]:
    out = tmp_path_factory.mktemp("verify") / "ds"
    build_dataset(load_spec(), BuildOptions("dev", 0.1, "verify", out, workers=2))
    load_dataset(LoadOptions(out, pg_dsn, schema=SCHEMA, jobs=2, replace=True))
    return pg_dsn, SCHEMA, out
