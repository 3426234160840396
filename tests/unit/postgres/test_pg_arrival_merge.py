"""The loader's k-way merge: a table's shards in arrival order, cut into fixed units."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synthgen.manifest import FileEntry
from synthgen.postgres import arrival
from synthgen.schema import TABLES

STAMP = pa.timestamp("us", tz="UTC")


def _receipt_shards(root: Path, shards: int, rows: int, seed: int) -> list[FileEntry]:
    """Receipt shards sorted by readAt, with many readAt ties across shards."""
    rng = np.random.default_rng(seed)
    (root / "read_receipts").mkdir(parents=True)
    entries = []
    for shard in range(shards):
        read = np.sort(rng.integers(0, rows // 4, rows))  # ~4 rows per instant per shard
        table = pa.table(
            {
                "messageId": pa.array(rng.permutation(rows) + shard * rows, pa.int64()),
                "userId": pa.array(rng.integers(1, 50, rows), pa.int64()),
                "readAt": pa.array(read, pa.int64()).cast(STAMP),
            },
            schema=TABLES["read_receipts"].arrow_schema,
        )
        path = f"read_receipts/part-{shard:05d}.parquet"
        pq.write_table(table, root / path, row_group_size=97)
        entries.append(FileEntry("read_receipts", shard, path, rows, 0, f"{shard:064x}"))
    return entries


@pytest.mark.parametrize("batch_rows", [7, 64, 5000])
def test_merge_follows_the_whole_key_whatever_the_batch_size(
    tmp_path: Path, batch_rows: int
) -> None:
    files = _receipt_shards(tmp_path, shards=5, rows=600, seed=3)
    units = list(arrival.unit_tables(tmp_path, files, "read_receipts", 250, batch_rows))
    assert [index for index, _ in units] == list(range(12))
    assert [t.num_rows for _, t in units] == [250] * 11 + [250]
    merged = pa.concat_tables([t for _, t in units])
    expected = pa.concat_tables([pq.read_table(tmp_path / f.path) for f in files]).sort_by(
        [("readAt", "ascending"), ("messageId", "ascending"), ("userId", "ascending")]
    )
    assert merged.equals(expected)
    assert merged.schema == TABLES["read_receipts"].arrow_schema


def test_units_not_wanted_are_skipped_and_the_others_are_unchanged(tmp_path: Path) -> None:
    files = _receipt_shards(tmp_path, shards=3, rows=400, seed=4)
    every = dict(arrival.unit_tables(tmp_path, files, "read_receipts", 300, 50))
    some = dict(arrival.unit_tables(tmp_path, files, "read_receipts", 300, 11, {1, 3}.__contains__))
    assert sorted(some) == [1, 3]
    assert all(some[k].equals(every[k]) for k in some)
    units = arrival.table_units("read_receipts", files, 300)
    assert [u.rows for u in units] == [300, 300, 300, 300]
    assert [u.path for u in units][:2] == [
        "read_receipts/arrival-00000",
        "read_receipts/arrival-00001",
    ]
    # a unit's identity changes with the files and with the unit size
    assert arrival.table_units("read_receipts", files, 200)[0].sha256 != units[0].sha256


def test_one_connection_per_table_unless_it_has_many_units() -> None:
    assert arrival.table_connections(units=13, jobs=2) == 1
    assert arrival.table_connections(units=77, jobs=2) == 2
    assert arrival.table_connections(units=77, jobs=8) == 2
    assert arrival.table_connections(units=400, jobs=8) == 8
