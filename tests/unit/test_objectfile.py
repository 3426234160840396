"""The file DuckDB's threads read a stored object through: each thread's seek-then-read gets the
bytes at its own offset, whatever the other threads do between its two calls."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pyarrow.fs as pafs

from synthgen.objectfile import PositionalFile, duckdb_filesystem

SIZE = 1 << 20


def _object(tmp_path: Path) -> tuple[str, bytes]:
    data = os.urandom(SIZE)
    path = tmp_path / "object.bin"
    path.write_bytes(data)
    return str(path), data


def _hammer(file: object, data: bytes, threads: int = 4, rounds: int = 300) -> int:
    """Threads that each seek to their own offsets, yield the GIL, then read: the number of
    reads that returned other bytes than those at their offset."""
    wrong = [0]
    lock = threading.Lock()

    def run(k: int) -> None:
        for i in range(rounds):
            offset = (k * 7919 + i * 104729) % (SIZE - 4096)
            file.seek(offset)  # type: ignore[attr-defined]
            time.sleep(0)  # another thread's seek may come now
            if file.read(4096) != data[offset : offset + 4096]:  # type: ignore[attr-defined]
                with lock:
                    wrong[0] += 1

    workers = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return wrong[0]


def test_a_shared_position_mixes_up_concurrent_readers(tmp_path: Path) -> None:
    """Why the class exists: a pyarrow file with one position returns wrong bytes here."""
    path, data = _object(tmp_path)
    with pafs.LocalFileSystem().open_input_file(path) as shared:
        assert _hammer(shared, data) > 0


def test_each_thread_reads_at_its_own_offset(tmp_path: Path) -> None:
    path, data = _object(tmp_path)
    file = PositionalFile(pafs.LocalFileSystem().open_input_file(path))
    assert _hammer(file, data) == 0
    assert file.size == SIZE
    file.seek(-10, os.SEEK_END)
    assert file.tell() == SIZE - 10
    assert file.read() == data[-10:]
    assert file.read(5) == b""  # at the end
    file.close()
    assert file.closed


def test_the_fsspec_filesystem_opens_positional_files(tmp_path: Path) -> None:
    path, data = _object(tmp_path)
    fs = duckdb_filesystem(pafs.LocalFileSystem())
    with fs.open(path, "rb") as file:
        assert isinstance(file, PositionalFile)
        file.seek(1000)
        assert file.read(24) == data[1000:1024]
    assert fs.size(path) == SIZE
