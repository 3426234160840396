"""Arrays -> record batches -> one Parquet shard, written under a temporary name and renamed.

A shard either exists complete under its final name or not at all: a crash or a full disk leaves
at most a `.tmp-*` file, which the next run removes.

Files are not fsynced (a measurable share of a build: benchmarks/README.md): a killed process
loses nothing the kernel already holds, and after a power loss every reader that trusts a shard
checks it first (a resumed build re-verifies each kept shard's sha256, the loader every file's
against the manifest), so a file torn by a lost page cache is rebuilt or refused, never used.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from synthgen.errors import DatasetError
from synthgen.files import TMP_MARK, atomic_path
from synthgen.manifest import file_sha256
from synthgen.schema import Table

COMPRESSIONS = ("zstd", "snappy", "none")
ZSTD_LEVEL = 1


@dataclass(frozen=True)
class WrittenFile:
    path: str  # relative to the dataset root, e.g. "messages/part-00003.parquet"
    rows: int
    bytes: int
    sha256: str


def shard_path(table: str, shard: int) -> str:
    return f"{table}/part-{shard:05d}.parquet"


def write_shard(
    root: Path,
    relative: str,
    table: Table,
    batches: Iterable[pa.RecordBatch],
    compression: str,
) -> WrittenFile:
    """Stream batches into root/relative, one row group per batch, each column in its table's
    encoding; return size and checksum."""
    final = root / relative
    final.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    try:
        with atomic_path(final) as tmp:
            with pq.ParquetWriter(
                tmp,
                table.arrow_schema,
                compression=None if compression == "none" else compression,
                # zstd level 1: the text columns dominate the build time at pyarrow's default level
                compression_level=ZSTD_LEVEL if compression == "zstd" else None,
                use_dictionary=table.encoded("dictionary"),
                column_encoding=dict.fromkeys(table.encoded("delta"), "DELTA_BINARY_PACKED"),
                # min/max of free text helps no reader and costs a pass over every byte
                write_statistics=[c.name for c in table.columns if c.statistics],
            ) as writer:
                for batch in batches:
                    writer.write_batch(batch)
                    rows += batch.num_rows
            sha = file_sha256(tmp)
            size = tmp.stat().st_size
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise DatasetError(
                f"{final}: disk full while writing ({exc.strerror}); partial shard removed"
            ) from None
        raise DatasetError(f"{final}: cannot write ({exc.strerror or exc})") from None
    return WrittenFile(relative, rows, size, sha)


def remove_temporaries(root: Path) -> int:
    """Delete leftovers of interrupted writes; returns how many were removed."""
    removed = 0
    for path in root.rglob(f"*{TMP_MARK}*"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed
