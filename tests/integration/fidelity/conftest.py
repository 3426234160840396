"""Fixtures and helpers for the fidelity gate's tests: one small dataset built once per session,
private copies of it to break, helpers to rewrite one table and run `validate`, spec variants.

Helpers are reached through the `kit` fixture (pytest imports test modules by path, so a shared
helper module could not be imported by name).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner, Result

from synthgen.cli import cli
from synthgen.fidelity import CHECKS
from synthgen.fidelity.checks.physical_layout import FILE_ORDER
from synthgen.generate.build import BuildOptions, build_dataset
from synthgen.schema import TABLES
from synthgen.spec import DEFAULT_SPEC_PATH, load_spec

# dev x 0.03: below 0.029 the critical messages_per_conversation may be too small to judge
SCALE = 0.03
SEED = "fidelity"
CHECK_NAMES = tuple(c.name for c in CHECKS)


def build(out: Path, seed: str = SEED, scale: float = SCALE, spec_path: Path | None = None) -> Path:
    """Build a dev-band dataset at a small scale into `out` (one worker: tests run in parallel
    with other work on small machines)."""
    spec = load_spec(spec_path)
    options = BuildOptions(
        "dev", scale, seed, out, workers=1, spec_path=str(spec_path) if spec_path else None
    )
    build_dataset(spec, options)
    return out


def connect_views(root: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with one view per table of `root`."""
    con = duckdb.connect()
    for table in TABLES:
        con.execute(
            f"CREATE VIEW \"{table}\" AS SELECT * FROM read_parquet('{root}/{table}/*.parquet')"
        )
    return con


def rewrite_table(root: Path, table: str, select_sql: str, ordered: bool = False) -> None:
    """Replace `table` in the dataset `root` by the rows of `select_sql` (which may read any
    table of `root` through views), written by DuckDB as one Parquet file in the table's
    arrival order (as the generator writes it), unless `ordered` says the SQL has its own."""
    con = connect_views(root)
    staged = root / f"{table}.rewrite.parquet"
    if not ordered:
        select_sql = f'SELECT * FROM ({select_sql}) ORDER BY "{FILE_ORDER[table]}"'
    con.execute(f"COPY ({select_sql}) TO '{staged}' (FORMAT parquet)")
    con.close()
    for old in (root / table).glob("*.parquet"):
        old.unlink()
    staged.rename(root / table / "part-00000.parquet")
    reseal_manifest(root)


def reseal_manifest(root: Path) -> None:
    """Make the manifest list the files now on disk (rows, bytes, sha256, dataset_sha256), as a
    build of the mutated data would: the gate verifies files against the manifest first, and
    these tests are about the checks that come after."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from synthgen.manifest import MANIFEST_NAME, dataset_digest, file_entries, file_sha256

    manifest = json.loads((root / MANIFEST_NAME).read_text())
    entries = []
    for table_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for shard, path in enumerate(sorted(table_dir.glob("*.parquet"))):
            try:
                rows = pq.read_metadata(path).num_rows
            except pa.ArrowException:  # a torn file, on purpose
                rows = 0
            entries.append(
                {
                    "table": table_dir.name,
                    "shard": shard,
                    "path": path.relative_to(root).as_posix(),
                    "rows": rows,
                    "bytes": path.stat().st_size,
                    "sha256": file_sha256(path),
                }
            )
    manifest["files"] = entries
    manifest["dataset_sha256"] = dataset_digest(file_entries(manifest))
    (root / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def run_validate(*args: str) -> Result:
    """Invoke `synthgen validate ARGS` through click's test runner."""
    return CliRunner().invoke(cli, ["validate", *args])


def report_of(root: Path) -> dict[str, Any]:
    """The JSON report the last `validate` saved in the dataset directory."""
    loaded: dict[str, Any] = json.loads((root / "fidelity-report.json").read_text())
    return loaded


def statuses(report: dict[str, Any]) -> dict[str, str]:
    """Check name -> PASS / WARN / FAIL / SKIP."""
    return {c["name"]: c["status"] for c in report["checks"]}


def metric(report: dict[str, Any], check: str, name_part: str) -> dict[str, Any]:
    """The first metric of `check` whose name contains `name_part`."""
    for c in report["checks"]:
        if c["name"] == check:
            for m in c["metrics"]:
                if name_part in m["name"]:
                    found: dict[str, Any] = m
                    return found
    raise KeyError(f"{check}: no metric containing {name_part!r}")


class Kit:
    """The helpers above, as one object for tests."""

    scale = SCALE
    check_names = CHECK_NAMES
    build = staticmethod(build)
    connect_views = staticmethod(connect_views)
    rewrite_table = staticmethod(rewrite_table)
    reseal_manifest = staticmethod(reseal_manifest)
    run_validate = staticmethod(run_validate)
    report_of = staticmethod(report_of)
    statuses = staticmethod(statuses)
    metric = staticmethod(metric)


@pytest.fixture(scope="session")
def kit() -> Kit:
    """Helpers for building, breaking and validating datasets."""
    return Kit()


@pytest.fixture(scope="session")
def fid_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh dataset (dev band x 0.03: 150,000 messages), shared read-only by every test."""
    return build(tmp_path_factory.mktemp("fidelity") / "ds")


@pytest.fixture
def fid_copy(fid_dataset: Path, tmp_path: Path) -> Path:
    """A private copy of the session dataset, free to break."""
    target = tmp_path / "copy"
    shutil.copytree(fid_dataset, target, ignore=shutil.ignore_patterns("fidelity-report.json"))
    return target


@pytest.fixture(scope="session")
def spec_variant(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, Any], Path]:
    """Write a copy of the default spec with one field changed (a dotted path); return its path."""
    directory = tmp_path_factory.mktemp("specs")

    def make(field: str, value: Any) -> Path:
        raw = json.loads(DEFAULT_SPEC_PATH.read_text())
        *parents, leaf = field.split(".")
        node = raw
        for key in parents:
            node = node[key]
        node[leaf] = value
        path = directory / f"{field.replace('.', '-')}-{value}.json"
        path.write_text(json.dumps(raw))
        return path

    return make
