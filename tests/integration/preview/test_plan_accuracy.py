"""`synthgen plan` against a real build, load and phase-2 indexes at dev x 0.05."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from synthgen.generate.build import BuildOptions, build_dataset
from synthgen.load.contract import LoadOptions, load_dataset
from synthgen.manifest import read_manifest
from synthgen.postgres.connect import connect, execute, fetch_all
from synthgen.preview import Preview, make_preview
from synthgen.spec import load_spec
from synthgen.verify.indexes import DEFAULT_APPLY, read_script, run_script

SCALE = 0.05
SCHEMA = "plan_accuracy"
SMALL_TABLE_SLACK = 8 * 8192  # tables of a few hundred rows are a few pages: allow 8 pages


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Preview]:
    out = tmp_path_factory.mktemp("plan") / "ds"
    spec = load_spec()
    preview = make_preview(spec, "dev", SCALE, "accuracy", out, loads=False)
    build_dataset(spec, BuildOptions("dev", SCALE, "accuracy", out, workers=2))
    return out, preview


def _postgres_sizes(dsn: str) -> dict[str, float]:
    phase2 = [s.index for s in read_script(DEFAULT_APPLY) if s.index]
    conn = connect(dsn, autocommit=True)
    try:
        rows = fetch_all(
            conn,
            "SELECT c.relname, pg_table_size(c.oid) + pg_indexes_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 "
            "AND c.relkind = 'r' AND c.relname NOT LIKE 'synthgen%'",
            (SCHEMA,),
        )
        valid = fetch_all(
            conn,
            "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 "
            "AND c.relname = ANY($2) AND i.indisvalid",
            (SCHEMA, phase2),
        )
        assert valid[0][0] == len(phase2)  # the sizes include every phase-2 index
        execute(conn, f"DROP SCHEMA {SCHEMA} CASCADE")
    finally:
        conn.close()
    return {str(name): float(size) for name, size in rows}


def test_rows_are_exact_or_within_the_stated_spread(built: tuple[Path, Preview]) -> None:
    out, preview = built
    counts = read_manifest(out)["counts"]
    assert set(counts) == set(preview.rows)
    for table, estimate in preview.rows.items():
        if estimate.exact:
            assert counts[table] == estimate.mean, table
        else:
            assert abs(counts[table] - estimate.mean) <= estimate.spread, table
            assert estimate.spread < 0.02 * estimate.mean  # a spread that says something


def test_parquet_sizes_within_15_percent(built: tuple[Path, Preview]) -> None:
    out, preview = built
    measured: dict[str, float] = {}
    for f in read_manifest(out)["files"]:
        measured[f["table"]] = measured.get(f["table"], 0.0) + f["bytes"]
    for table in ("conversation_users", "messages", "attachments", "read_receipts"):
        assert preview.sizes[table].parquet == pytest.approx(measured[table], rel=0.15), table
    assert preview.parquet_bytes == pytest.approx(sum(measured.values()), rel=0.15)


def test_postgres_sizes_with_keys_and_phase2_within_15_percent(
    built: tuple[Path, Preview], pg_dsn: str
) -> None:
    out, preview = built
    load_dataset(LoadOptions(out, pg_dsn, schema=SCHEMA, jobs=2, replace=True))
    run_script(pg_dsn, SCHEMA, DEFAULT_APPLY)
    measured = _postgres_sizes(pg_dsn)
    report: dict[str, Any] = {t: (preview.sizes[t].postgres, measured[t]) for t in measured}
    for table in ("conversation_users", "messages", "attachments", "read_receipts"):
        predicted, got = report[table]
        assert predicted == pytest.approx(got, rel=0.15), (table, report)
    assert preview.postgres_bytes == pytest.approx(sum(measured.values()), rel=0.15), report
    for table in ("users", "conversations", "conversation_traits"):  # a few pages each
        predicted, got = report[table]
        assert abs(predicted - got) <= max(0.15 * got, SMALL_TABLE_SLACK), (table, report)
