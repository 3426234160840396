"""The dataset side of loading: contract checks, checksums and the casting batch reader."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synthgen.errors import DatasetError, LoadError
from synthgen.load.shards import Dataset, check_contract, shard_reader, verify_checksums
from synthgen.manifest import FileEntry, file_sha256
from synthgen.schema import TABLES

ROWS = 1000


def _users(**overrides: pa.Array) -> pa.Table:
    columns: dict[str, pa.Array] = {
        "id": pa.array(range(1, ROWS + 1), pa.int64()),
        "email": pa.array([f"u{i}@example.com" for i in range(ROWS)], pa.string()),
        "displayName": pa.array([f"User {i}" for i in range(ROWS)], pa.string()),
        "createdAt": pa.array(
            [1_700_000_000_000_000 + i for i in range(ROWS)], pa.timestamp("us", "UTC")
        ),
        "lastSeenAt": pa.array(
            [1_700_000_500_000_000 + i for i in range(ROWS)], pa.timestamp("us", "UTC")
        ),
    }
    columns.update(overrides)
    return pa.table(columns)


def _dataset(root: Path, table: pa.Table, rows: int = ROWS) -> tuple[Dataset, FileEntry]:
    path = root / "users" / "part-00000.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, row_group_size=300)
    entry = FileEntry(
        "users", 0, "users/part-00000.parquet", rows, path.stat().st_size, file_sha256(path)
    )
    return Dataset(root, {"dataset_sha256": "x", "counts": {"users": rows}}, (entry,)), entry


def test_reader_casts_to_the_exact_types_in_bounded_batches(tmp_path: Path) -> None:
    loose = _users(
        id=pa.array(range(1, ROWS + 1), pa.int32()),
        email=pa.array([f"u{i}@example.com" for i in range(ROWS)], pa.large_string()),
        createdAt=pa.array(
            [1_700_000_000_000_000_000 + i * 1000 for i in range(ROWS)], pa.timestamp("ns", "UTC")
        ),
    )
    # Columns in another order than the table's: the reader puts them in table order.
    loose = loose.select(["email", "createdAt", "id", "lastSeenAt", "displayName"])
    dataset, entry = _dataset(tmp_path, loose)
    check_contract(dataset, [entry])
    seen: list[int] = []
    reader = shard_reader(tmp_path / entry.path, "users", batch_rows=256, on_batch=seen.append)
    assert reader.schema == TABLES["users"].arrow_schema
    batches = list(reader)
    assert [b.num_rows for b in batches] == seen
    assert max(seen) <= 256 and sum(seen) == ROWS
    table = pa.Table.from_batches(batches)
    assert table.column("id").to_pylist() == list(range(1, ROWS + 1))
    assert table.column("createdAt").type == pa.timestamp("us", "UTC")
    assert table.column("createdAt")[1].value == 1_700_000_000_000_001


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (_users().drop_columns(["email"]), r"missing \['email'\], unexpected none"),
        (_users(extra=pa.array([1] * ROWS)), r"missing none, unexpected \['extra'\]"),
        (
            _users(id=pa.array([str(i) for i in range(ROWS)])),
            "column 'id' is string, expected int64",
        ),
        (
            _users(createdAt=pa.array(range(ROWS), pa.timestamp("us"))),
            r"column 'createdAt' is timestamp\[us\], expected timestamp\[us, tz=UTC\]",
        ),
    ],
    ids=["missing", "extra", "type", "naive-timestamp"],
)
def test_contract_violations_name_file_and_column(
    tmp_path: Path, table: pa.Table, message: str
) -> None:
    dataset, entry = _dataset(tmp_path, table)
    with pytest.raises(LoadError, match=rf"users/part-00000\.parquet: .*{message}"):
        check_contract(dataset, [entry])


def test_row_count_must_match_the_manifest(tmp_path: Path) -> None:
    dataset, entry = _dataset(tmp_path, _users(), rows=ROWS + 1)
    with pytest.raises(LoadError, match="holds 1000 rows, the manifest says 1001"):
        check_contract(dataset, [entry])


def test_checksums_name_missing_and_corrupted_files(tmp_path: Path) -> None:
    dataset, entry = _dataset(tmp_path, _users())
    verify_checksums(dataset, [entry], jobs=2)
    path = tmp_path / entry.path
    path.write_bytes(path.read_bytes()[:-1] + b"\x00")
    with pytest.raises(DatasetError, match=r"users/part-00000\.parquet: sha256 does not match"):
        verify_checksums(dataset, [entry], jobs=2)
    path.unlink()
    with pytest.raises(DatasetError, match=r"users/part-00000\.parquet: missing"):
        verify_checksums(dataset, [entry], jobs=1)
