"""Fixtures shared by integration folders: one whole `synthgen run --loadtest` per session."""

from __future__ import annotations

import pytest

from support.runs import LOADTEST, RUN_SCHEMA, LoadtestRun, drop_run_schemas, synthgen_run


@pytest.fixture(scope="session")
def loadtest_run(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> LoadtestRun:
    """The dev band x 0.03 run with its load tests before and after the shipped indexes, direct
    and through PgBouncer (~2 min): the load-test end-to-end test checks its numbers, the browser
    test renders its pages. Its schemas are dropped once it has finished."""
    out = tmp_path_factory.mktemp("loadtest-run") / "run"
    try:
        proc = synthgen_run(pg_dsn, out, *LOADTEST, "--pool", "both", "--json")
    finally:
        drop_run_schemas(pg_dsn, RUN_SCHEMA)
    return LoadtestRun(out, proc)
