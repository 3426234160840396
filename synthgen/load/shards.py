"""The dataset side of loading: which shards, are they intact, do they match the contract.

Everything here reads only the files and their manifest, and runs before anything is written
to the server: a corrupted or foreign shard is refused up front.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pyarrow.types as pat

from synthgen.errors import DatasetError, LoadError
from synthgen.manifest import FileEntry, dataset_digest, describe_problems, file_entries
from synthgen.schema import TABLES
from synthgen.storage import DatasetPath, dataset_file_problems, read_dataset_manifest, readable

DEFAULT_BATCH_ROWS = 65_536


@dataclass(frozen=True)
class Dataset:
    """A dataset (a directory or an object-store prefix) and its manifest."""

    root: DatasetPath
    manifest: dict[str, Any]
    shards: tuple[FileEntry, ...]

    @property
    def sha256(self) -> str:
        return str(self.manifest["dataset_sha256"])

    @property
    def counts(self) -> dict[str, int]:
        return {t: int(n) for t, n in self.manifest["counts"].items()}


def open_dataset(root: DatasetPath) -> Dataset:
    """Read a dataset's manifest; refuse non-datasets and manifests naming unknown tables."""
    if isinstance(root, Path) and not root.is_dir():
        raise DatasetError(f"{root}: no such dataset directory")
    manifest = read_dataset_manifest(root)
    if "dataset_sha256" not in manifest:
        raise DatasetError(f"{root}: manifest has no field 'dataset_sha256'")
    shards = tuple(file_entries(manifest))
    unknown = sorted({s.table for s in shards} - set(TABLES))
    unknown += sorted(set(manifest["counts"]) - set(TABLES))
    if unknown:
        raise DatasetError(f"{root}: manifest names tables synthgen does not know: {unknown}")
    if dataset_digest(list(shards)) != manifest["dataset_sha256"]:
        raise DatasetError(f"{root}: manifest's dataset_sha256 does not match its file list")
    return Dataset(root, manifest, shards)


def verify_checksums(dataset: Dataset, shards: list[FileEntry], jobs: int) -> None:
    """Recompute each shard's size and sha256 (in parallel); DatasetError naming bad files."""
    problems = dataset_file_problems(dataset.root, shards, jobs)
    if problems:
        raise DatasetError(
            f"{dataset.root}: refusing to load, nothing was written: {describe_problems(problems)}"
        )


def _castable(source: pa.DataType, target: pa.DataType) -> bool:
    """Whether `source` converts to `target` without changing meaning."""
    if source == target:
        return True
    if pat.is_timestamp(target):
        return pat.is_timestamp(source) and source.tz in ("UTC", "+00:00", "Etc/UTC")
    if pat.is_string(target):
        return pat.is_string(source) or pat.is_large_string(source) or pat.is_string_view(source)
    if pat.is_integer(target):
        return pat.is_integer(source)
    return False


def check_contract(dataset: Dataset, shards: list[FileEntry]) -> None:
    """Each shard's columns and types match its table; its row count matches the manifest."""
    for entry in shards:
        table = TABLES[entry.table]
        try:
            meta = pq.ParquetFile(readable(dataset.root / entry.path)).metadata
        except (OSError, pa.ArrowException) as exc:
            raise DatasetError(f"{entry.path}: not a readable Parquet file ({exc})") from None
        schema = meta.schema.to_arrow_schema()
        found, wanted = set(schema.names), set(table.column_names)
        if found != wanted:
            missing, extra = sorted(wanted - found), sorted(found - wanted)
            raise LoadError(
                f"{entry.path}: columns do not match table {table.name!r} "
                f"(missing {missing or 'none'}, unexpected {extra or 'none'})"
            )
        for column in table.columns:
            source = schema.field(column.name).type
            if not _castable(source, column.type):
                raise LoadError(
                    f"{entry.path}: column {column.name!r} is {source}, "
                    f"expected {column.type} ({column.pg_type})"
                )
        if meta.num_rows != entry.rows:
            raise LoadError(
                f"{entry.path}: holds {meta.num_rows} rows, the manifest says {entry.rows}"
            )


def shard_reader(
    path: DatasetPath,
    table_name: str,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    on_batch: Callable[[int], None] | None = None,
) -> pa.RecordBatchReader:
    """Stream a shard as bounded batches in the table's column order and exact Arrow types."""
    table = TABLES[table_name]
    target = table.arrow_schema
    parquet = pq.ParquetFile(readable(path))  # a stored shard: read in place, ranged GETs

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            for batch in parquet.iter_batches(batch_size=batch_rows, columns=table.column_names):
                columns = [batch.column(f.name).cast(f.type) for f in target]
                yield pa.RecordBatch.from_arrays(columns, schema=target)
                if on_batch is not None:
                    on_batch(batch.num_rows)
        finally:
            parquet.close()

    return pa.RecordBatchReader.from_batches(target, batches())
