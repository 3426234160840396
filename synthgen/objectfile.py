"""A pyarrow filesystem as DuckDB's Python client takes one (an fsspec filesystem), with files
that several DuckDB threads may read at once.

DuckDB reads one open file from several threads (the row groups of a Parquet file), each read
as `seek(offset)` then `read(n)`: two calls into Python. fsspec's wrapper of a pyarrow file
shares one position between threads, so one thread's seek can move another's read (seen as
"ZSTD Decompression failure" reading a stored dataset with 2 threads). Here the position is
kept per thread and every read is a positional `read_at` (thread-safe in pyarrow): a ranged GET
on an object store.
"""

from __future__ import annotations

import io
import os
import threading
from functools import cache
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs


class PositionalFile(io.RawIOBase):
    """A random-access pyarrow file whose position is per thread; reads are `read_at`."""

    def __init__(self, file: pa.NativeFile) -> None:
        super().__init__()
        self._file = file
        self._size = int(file.size())
        self._where = threading.local()

    @property
    def size(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return int(getattr(self._where, "offset", 0))

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self.tell(), os.SEEK_END: self._size}[whence]
        self._where.offset = max(0, base + offset)
        return self.tell()

    def read(self, size: int | None = -1) -> bytes:
        offset = self.tell()
        wanted = self._size - offset if size is None or size < 0 else size
        data = self._file.read_at(max(0, min(wanted, self._size - offset)), offset)
        self._where.offset = offset + len(data)
        return bytes(data)

    def readall(self) -> bytes:
        return self.read(-1)

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()


@cache
def _wrapper_class() -> type:
    from fsspec.implementations.arrow import ArrowFSWrapper

    class ThreadSafeArrowFS(ArrowFSWrapper):
        """fsspec's wrapper of a pyarrow filesystem, opening files for reading as
        PositionalFile."""

        def _open(self, path: str, mode: str = "rb", *args: Any, **kwargs: Any) -> Any:
            if mode != "rb":
                return super()._open(path, mode, *args, **kwargs)
            return PositionalFile(self.fs.open_input_file(path))

    return ThreadSafeArrowFS


def duckdb_filesystem(fs: pafs.FileSystem) -> Any:
    """`fs` as an fsspec filesystem for `DuckDBPyConnection.register_filesystem`; its protocol
    is pyarrow's type name ("s3", "gcs")."""
    return _wrapper_class()(fs)
