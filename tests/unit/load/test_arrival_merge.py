"""The loader's k-way merge: a table's shards in arrival order, cut into fixed units."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthgen.load import arrival_units as arrival
from synthgen.load import merge
from synthgen.manifest import FileEntry
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


def _shards(root: Path, sizes: list[int], instants: int, seed: int) -> list[FileEntry]:
    """Receipt shards of the given sizes (0 allowed), readAt drawn from `instants` values so that
    ties on the first key across shards are frequent; the whole key stays unique."""
    rng = np.random.default_rng(seed)
    (root / "read_receipts").mkdir(parents=True, exist_ok=True)
    entries = []
    first = 0
    for shard, rows in enumerate(sizes):
        table = pa.table(
            {
                "messageId": pa.array(rng.permutation(rows) + first, pa.int64()),
                "userId": pa.array(rng.integers(1, 5, rows), pa.int64()),
                "readAt": pa.array(np.sort(rng.integers(0, instants, rows)), STAMP),
            },
            schema=TABLES["read_receipts"].arrow_schema,
        )
        first += rows
        path = f"read_receipts/part-{shard:05d}.parquet"
        pq.write_table(table, root / path, row_group_size=max(1, rows // 3 or 1))
        entries.append(FileEntry("read_receipts", shard, path, rows, 0, f"{shard:064x}"))
    return entries


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 60), min_size=1, max_size=40),
    instants=st.integers(1, 50),
    fan_in=st.integers(2, 6),
    batch_rows=st.integers(1, 25),
    seed=st.integers(0, 2**16),
)
def test_merge_opens_at_most_fan_in_files_and_yields_the_global_order(
    sizes: list[int], instants: int, fan_in: int, batch_rows: int, seed: int
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        files = _shards(root, sizes, instants, seed)
        spill = root / "spill"
        spill.mkdir()
        gauge = merge.Gauge()
        pieces = list(merge.merged(root, files, "read_receipts", batch_rows, spill, fan_in, gauge))
        got = pa.concat_tables([TABLES["read_receipts"].arrow_schema.empty_table(), *pieces])
        expected = pa.concat_tables([pq.read_table(root / f.path) for f in files]).sort_by(
            [(name, "ascending") for name in merge.ARRIVAL_KEY["read_receipts"]]
        )
        assert got.equals(expected)
        assert 1 <= gauge.peak <= fan_in
        assert gauge.peak == min(len(sizes), fan_in)  # the final merge opens fan_in at most
        assert gauge.open == 0
        assert list(spill.iterdir()) == []  # every run removed once merged


def test_runs_are_spilled_smallest_first_until_fan_in_sources_are_left(tmp_path: Path) -> None:
    # 40 shards, fan-in 8: merges of 8 sources until 8 are left (each one takes away 7), the
    # first ones of shards only; then the order is the same as a single merge of all 40
    files = _shards(tmp_path, [30] * 40, instants=20, seed=5)
    spill = tmp_path / "spill"
    spill.mkdir()
    written: list[str] = []
    original = merge._spill

    def spill_and_note(sources: Any, *args: Any) -> Any:
        run = original(sources, *args)
        written.append(f"{run.path.name}:{len(sources)}:{sum(s.run for s in sources)}")
        return run

    merge_spill = pytest.MonkeyPatch()
    merge_spill.setattr(merge, "_spill", spill_and_note)
    try:
        got = pa.concat_tables(list(merge.merged(tmp_path, files, "read_receipts", 7, spill, 8)))
    finally:
        merge_spill.undo()
    # 40 -> 33 -> 26 -> 19 -> 12 -> 8 (the last merge takes 12 - 8 + 1 = 5 sources)
    assert [w.split(":", 1)[1] for w in written] == ["8:0", "8:0", "8:0", "8:0", "5:0"]
    whole = pa.concat_tables(list(merge.merged(tmp_path, files, "read_receipts", 7, None, 40)))
    assert got.equals(whole)


def test_a_stopped_load_stops_spilling(tmp_path: Path) -> None:
    files = _shards(tmp_path, [50] * 6, instants=10, seed=6)
    gauge = merge.Gauge()
    with pytest.raises(merge.MergeStopped):
        list(merge.merged(tmp_path, files, "read_receipts", 5, tmp_path, 3, gauge, lambda: True))
    assert gauge.open == 0
    with pytest.raises(ValueError, match="spill directory"):
        list(merge.merged(tmp_path, files, "read_receipts", 5, None, 3))


def test_a_load_spills_in_a_private_directory_and_removes_those_of_dead_loads(
    tmp_path: Path,
) -> None:
    host = socket.gethostname()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead = int(gone.stdout)
    base = tmp_path / "spill"
    base.mkdir()
    owners = {
        "load-merge-dead": f"{host} {dead}",  # this host, process gone: removed
        "load-merge-live": f"{host} {os.getpid()}",  # a running load: kept
        "load-merge-other": f"elsewhere.test {dead}",  # another host's: kept
        "load-merge-new": None,  # just made, owner not written yet: kept
    }
    for name, owner in owners.items():
        (base / name).mkdir()
        (base / name / "messages-run-00001.arrow").write_bytes(b"run")
        if owner is not None:
            (base / name / arrival.SPILL_OWNER).write_text(owner)
    made = arrival._spill_directory(tmp_path / "dataset", base)
    assert made.parent == base and made.name.startswith(arrival.SPILL_PREFIX)
    assert (made / arrival.SPILL_OWNER).read_text() == f"{host} {os.getpid()}"
    left = {p.name for p in base.iterdir()}
    assert left == {"load-merge-live", "load-merge-other", "load-merge-new", made.name}
    # default: under the dataset's own .synthgen/
    (tmp_path / "dataset").mkdir()
    default = arrival._spill_directory(tmp_path / "dataset", None)
    assert default.parent == tmp_path / "dataset" / arrival.SPILL_PARENT
