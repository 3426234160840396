"""Open a dataset for the gate: check its tables and Parquet schemas, then expose them to DuckDB.

Schemas are checked from the Parquet footers only (no data read), so a missing table, a column of
the wrong type or a truncated file is a one-line DatasetError naming the file and column before
any check runs. DuckDB then reads the shards in place through one view per table: from the local
directory, or from the object store through its filesystem registered with the connection.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from synthgen.errors import DatasetError
from synthgen.manifest import (
    MANIFEST_NAME,
    dataset_digest,
    describe_problems,
    file_entries,
)
from synthgen.schema import TABLES, quote_literal
from synthgen.storage import (
    DatasetPath,
    StoredPath,
    attach_duckdb,
    dataset_file_problems,
    read_dataset_manifest,
    readable,
    sql_path,
)

GLOB_CHARS = set("*?[]{}")
GIB = 1 << 30


DEFAULT_MEMORY_LIMIT = "2GiB"
SPILL_DIR = ".synthgen"  # spill files go under DATASET/.synthgen/ unless --temp-dir says where


def default_memory_limit() -> str:
    """DuckDB's memory cap for the gate: 2 GiB, whatever the machine; beyond it DuckDB spills.

    DuckDB's own default is 80 % of the machine's memory, and a cap of half the memory let the
    perf band's validation peak at 8.4 GB of RSS. Under a cap the process runs above it (the
    interpreter, Parquet metadata, NumPy): 183 MiB for dev x 4 under 1 GiB, 381 and 547 MiB for
    staging and perf under 2 GiB, as measured in benchmarks/README.md (no bound is claimed); the
    price of a cap below what a band wants is slower joins and windows, which partition and
    spill.
    """
    return DEFAULT_MEMORY_LIMIT


@dataclass(frozen=True)
class Dataset:
    """A dataset (a directory or an object-store prefix) whose tables and schemas have been
    checked."""

    root: DatasetPath
    manifest: dict[str, Any]
    manifest_sha256: str
    files: dict[str, list[DatasetPath]]

    @property
    def band(self) -> str:
        """The band the dataset was built for (a build input, not an expectation)."""
        return str(self.manifest["band"])

    @property
    def scale(self) -> float:
        """The scale the dataset was built at."""
        return float(self.manifest["scale"])

    def source(self, table: str) -> str:
        """The read_parquet(...) expression for a table's shards."""
        folder = str(self.root / table)
        if GLOB_CHARS & set(folder) or not isinstance(self.root, Path):
            listed = ", ".join(quote_literal(sql_path(p)) for p in self.files[table])
            return f"read_parquet([{listed}])"
        return f"read_parquet({quote_literal(folder + '/*.parquet')})"

    def file_groups(self, table: str, size: int) -> list[str]:
        """The table's files as read_parquet([...], filename, file_row_number) expressions of
        at most `size` files each: a per-file check then holds only a few shards at once."""
        files = self.files[table]
        groups = [files[i : i + size] for i in range(0, len(files), size)]
        return [
            f"read_parquet([{', '.join(quote_literal(sql_path(p)) for p in group)}],"
            " filename = true, file_row_number = true)"
            for group in groups
        ]


def _same_type(got: pa.DataType, want: pa.DataType) -> bool:
    if pa.types.is_timestamp(want):
        return bool(pa.types.is_timestamp(got) and got.unit == want.unit and got.tz is not None)
    if pa.types.is_string(want):
        return bool(
            pa.types.is_string(got) or pa.types.is_large_string(got) or pa.types.is_string_view(got)
        )
    return bool(got.equals(want))


def check_file_schema(path: DatasetPath, table: str) -> None:
    """Raise DatasetError unless `path` is a readable Parquet file with the table's columns."""
    try:
        schema = pq.read_schema(readable(path))
    except (pa.ArrowException, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatasetError(f"{path}: not a readable Parquet file ({first})") from None
    expected = TABLES[table].arrow_schema
    for field in expected:
        index = schema.get_field_index(field.name)
        if index < 0:
            raise DatasetError(f"{path}: column {field.name!r} is missing")
        got = schema.field(index).type
        if not _same_type(got, field.type):
            raise DatasetError(
                f"{path}: column {field.name!r} has type {got}, the contract says {field.type}"
            )
    extra = [name for name in schema.names if expected.get_field_index(name) < 0]
    if extra:
        raise DatasetError(f"{path}: unexpected column {extra[0]!r} (not in the contract)")


def open_dataset(root: DatasetPath | str) -> Dataset:
    """Check the directory (or stored prefix), its manifest, and every table's Parquet files and
    columns."""
    root = Path(root) if isinstance(root, str) else root
    if isinstance(root, Path):
        if not root.is_dir():
            raise DatasetError(f"{root}: not a directory")
        if not any(root.iterdir()):
            raise DatasetError(f"{root}: empty directory (not a synthgen dataset)")
    files: dict[str, list[DatasetPath]] = {}
    for table in TABLES:
        folder = root / table
        found: list[DatasetPath] = []
        if not isinstance(folder, Path) or folder.is_dir():
            found = sorted(folder.glob("*.parquet"))
        if not found:
            raise DatasetError(f"{root / table}: missing table {table!r} (no Parquet files)")
        files[table] = found
    manifest = read_dataset_manifest(root)
    _check_files_against_manifest(root, manifest, files)
    for table, paths in files.items():
        for path in paths:
            check_file_schema(path, table)
    digest = hashlib.sha256((root / MANIFEST_NAME).read_bytes()).hexdigest()
    return Dataset(root, manifest, digest, files)


def _check_files_against_manifest(
    root: DatasetPath, manifest: dict[str, Any], files: dict[str, list[DatasetPath]]
) -> None:
    """The files judged are exactly the manifest's, byte for byte: the report names the
    manifest's dataset_sha256 as what it judged, so a changed, missing or extra shard is an
    error, not a verdict on other data."""
    try:
        entries = file_entries(manifest)
    except TypeError:
        raise DatasetError(f"{root / MANIFEST_NAME}: malformed 'files' list") from None
    if manifest.get("dataset_sha256") != dataset_digest(entries):
        raise DatasetError(
            f"{root / MANIFEST_NAME}: dataset_sha256 does not match the manifest's file list"
        )
    listed = {entry.path for entry in entries}
    on_disk = {_relative(path, root) for paths in files.values() for path in paths}
    extra = sorted(on_disk - listed)
    if extra:
        raise DatasetError(f"{root / extra[0]}: a Parquet file the manifest does not list")
    problems = dataset_file_problems(root, entries, jobs=os.cpu_count() or 1)
    if problems:
        raise DatasetError(
            f"{root}: files do not match {MANIFEST_NAME}: {describe_problems(problems)}"
        )


def _relative(path: DatasetPath, root: DatasetPath) -> str:
    """A file's path inside its dataset, as the manifest lists it."""
    if isinstance(path, StoredPath):
        return path.relative
    return path.relative_to(Path(str(root))).as_posix()


def _spill_directory(dataset: Dataset, temp_dir: Path | None) -> Path:
    """A fresh private directory for DuckDB's spill files: under `temp_dir` when given, else
    under a local dataset (a big dataset's disk is the one with room), else the system's temp
    (a read-only or a stored dataset)."""
    if temp_dir is not None:
        parent = temp_dir
    elif isinstance(dataset.root, Path):
        parent = dataset.root / SPILL_DIR
    else:
        return Path(tempfile.mkdtemp(prefix="synthgen-fidelity-"))
    try:
        parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="fidelity-spill-", dir=parent))
    except OSError as exc:
        if temp_dir is not None:
            message = f"--temp-dir {temp_dir}: cannot create a directory ({exc})"
            raise DatasetError(message) from None
        return Path(tempfile.mkdtemp(prefix="synthgen-fidelity-"))  # a read-only dataset


@contextmanager
def connect(
    dataset: Dataset,
    threads: int | None = None,
    memory_limit: str | None = None,
    temp_dir: Path | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection with one view per table over its shards.

    All cores by default; memory is capped (`memory_limit`, default 2 GiB) and big operators
    spill to a private directory under `temp_dir` or the dataset, removed afterwards, so the
    gate's footprint stays bounded whatever the band.
    """
    spill = _spill_directory(dataset, temp_dir)
    con: duckdb.DuckDBPyConnection | None = None
    try:
        try:
            con = duckdb.connect(
                config={
                    "threads": threads or os.cpu_count() or 1,
                    "memory_limit": memory_limit or default_memory_limit(),
                    "temp_directory": str(spill),
                    "preserve_insertion_order": False,
                }
            )
        except duckdb.Error as exc:
            first = str(exc).strip().splitlines()[0]
            message = f"--memory-limit / --threads: DuckDB refused them ({first})"
            raise DatasetError(message) from None
        con.execute("SET enable_progress_bar = false")  # never draw on the user's terminal
        attach_duckdb(con, dataset.root)
        for table in TABLES:
            con.execute(f'CREATE VIEW "{table}" AS SELECT * FROM {dataset.source(table)}')
        yield con
    finally:
        if con is not None:
            con.close()
        shutil.rmtree(spill, ignore_errors=True)
        if temp_dir is None and isinstance(dataset.root, Path):
            with contextlib.suppress(OSError):  # only when empty: never another run's spill
                (dataset.root / SPILL_DIR).rmdir()
