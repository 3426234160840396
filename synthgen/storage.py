"""Where a dataset lives: a local directory, or a prefix of an object store (s3://, gs://).

Every build works on a local directory; with an object store as --out, `Store` keeps the store in
step with its small state, and each shard task uploads its own files, done-record last (a single
PUT is atomic, so a resumed build keeps only shards whose record and hashes match). Reading
commands read a stored dataset in place through `StoredPath` (pyarrow and DuckDB share one
filesystem). Credentials come from the standard environment variables or --storage-option;
docs/scale-out.md has the details.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from synthgen.errors import DatasetError
from synthgen.manifest import (
    MANIFEST_NAME,
    FileEntry,
    file_problems,
    parse_manifest,
    read_manifest,
)
from synthgen.objectfile import duckdb_filesystem

SCHEMES = ("s3", "gs")
BLOCK = 1 << 20


def is_remote(target: str | Path) -> bool:
    """True for s3:// and gs:// URIs (a plain path or file:// is local)."""
    return urlsplit(str(target)).scheme in SCHEMES


def local_path(target: str | Path) -> Path:
    """A plain path or a file:// URI as a Path."""
    text = str(target)
    if text.startswith("file://"):
        return Path(urlsplit(text).path)
    return Path(text)


def parse_options(pairs: Sequence[str]) -> dict[str, Any]:
    """--storage-option key=value pairs as keyword arguments ("true"/"false" become booleans)."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise DatasetError(f"--storage-option {pair!r}: expected key=value")
        lowered = value.lower()
        options[key] = lowered == "true" if lowered in ("true", "false") else value
    return options


def _s3(options: dict[str, Any]) -> pafs.FileSystem:
    kwargs = dict(options)
    endpoint = kwargs.pop("endpoint_url", None) or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint and "endpoint_override" not in kwargs:
        parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        kwargs["endpoint_override"] = parts.netloc
        kwargs.setdefault("scheme", parts.scheme)
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        kwargs.setdefault("region", region)
    try:
        return pafs.S3FileSystem(**kwargs)
    except TypeError as exc:
        raise DatasetError(f"--storage-option: {exc} (see pyarrow.fs.S3FileSystem)") from None


def _gcs(options: dict[str, Any]) -> pafs.FileSystem:
    try:
        return pafs.GcsFileSystem(**options)
    except TypeError as exc:
        raise DatasetError(f"--storage-option: {exc} (see pyarrow.fs.GcsFileSystem)") from None


@dataclass(frozen=True)
class Store:
    """A dataset's prefix in an object store; picklable, so tasks carry it to their workers."""

    uri: str
    fs: pafs.FileSystem
    base: str  # bucket/prefix, no trailing slash

    def path(self, relative: str) -> str:
        return f"{self.base}/{relative}"

    def url(self, relative: str) -> str:
        return f"{self.uri}/{relative}"

    def _info(self, relative: str) -> pafs.FileInfo:
        try:
            return self.fs.get_file_info(self.path(relative))
        except (OSError, pa.ArrowException) as exc:
            raise DatasetError(f"{self.url(relative)}: cannot reach the store ({exc})") from None

    def exists(self, relative: str) -> bool:
        return bool(self._info(relative).type == pafs.FileType.File)

    def size(self, relative: str) -> int | None:
        """An object's size in bytes; None when it is absent."""
        info = self._info(relative)
        return int(info.size) if info.type == pafs.FileType.File else None

    @property
    def root(self) -> StoredPath:
        """The dataset's root, to read it where the readers take a local directory."""
        return StoredPath(self, "")

    def files(self, relative: str = "") -> list[str]:
        """Every object under a folder of the dataset, as paths relative to the dataset."""
        where = self.path(relative).rstrip("/") if relative else self.base
        selector = pafs.FileSelector(where, recursive=True, allow_not_found=True)
        try:
            infos = self.fs.get_file_info(selector)
        except (OSError, pa.ArrowException) as exc:
            raise DatasetError(f"{self.uri}: cannot list ({exc})") from None
        prefix = self.base + "/"
        return sorted(i.path.removeprefix(prefix) for i in infos if i.type == pafs.FileType.File)

    def sha256(self, relative: str) -> str | None:
        """sha256 of an object, read back in 1 MiB blocks; None when it is absent."""
        digest = hashlib.sha256()
        try:
            with self.fs.open_input_stream(self.path(relative)) as stream:
                while block := stream.read(BLOCK):
                    digest.update(block)
        except (FileNotFoundError, pa.ArrowException, OSError):
            return None
        return digest.hexdigest()

    def upload(self, source: Path, relative: str) -> None:
        """Put one local file (a single, atomic object: whole or absent)."""
        try:
            with self.fs.open_output_stream(self.path(relative)) as sink, source.open("rb") as fh:
                while block := fh.read(BLOCK * 8):
                    sink.write(block)
        except (OSError, pa.ArrowException) as exc:
            raise DatasetError(f"{self.url(relative)}: cannot write ({exc})") from None

    def download(self, relative: str, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self.fs.open_input_stream(self.path(relative)) as stream, target.open("wb") as fh:
                while block := stream.read(BLOCK * 8):
                    fh.write(block)
        except (OSError, pa.ArrowException) as exc:
            raise DatasetError(f"{self.url(relative)}: cannot read ({exc})") from None

    def delete(self, relative: str) -> None:
        try:
            self.fs.delete_file(self.path(relative))
        except FileNotFoundError:
            pass
        except (OSError, pa.ArrowException) as exc:
            raise DatasetError(f"{self.url(relative)}: cannot delete ({exc})") from None

    # --- the build's hooks -------------------------------------------------------------

    def pull_state(self, staging: Path, ours: Sequence[str], state: str, overwrite: bool) -> None:
        """Before a build: refuse a prefix holding anything but the names a build writes (`ours`,
        top-level), clear it for --overwrite, else copy the run's state (the `state` folder and
        the manifest, if any) into the local staging directory, where the build checks and
        resumes it."""
        found = self.files()
        foreign = [f for f in found if f.split("/")[0] not in ours]
        if foreign:
            raise DatasetError(
                f"--out {self.uri}: not empty and not a synthgen dataset ({foreign[0]}); "
                "choose another prefix"
            )
        if overwrite:
            for relative in found:
                self.delete(relative)
            return
        for relative in found:
            if relative.startswith(f"{state}/") or relative == MANIFEST_NAME:
                self.download(relative, staging / relative)

    def push(self, staging: Path, relative: str) -> None:
        """Upload one file the client wrote in the staging directory."""
        self.upload(staging / relative, relative)

    def unpush(self, relative: str) -> None:
        self.delete(relative)


def open_store(target: str, options: dict[str, Any] | None = None) -> Store:
    """The Store of an s3:// or gs:// URI (its bucket must exist)."""
    parts = urlsplit(target)
    if parts.scheme not in SCHEMES or not parts.netloc:
        raise DatasetError(f"{target}: expected s3://bucket/prefix or gs://bucket/prefix")
    fs = _s3(options or {}) if parts.scheme == "s3" else _gcs(options or {})
    base = f"{parts.netloc}{parts.path}".rstrip("/")
    try:
        bucket = fs.get_file_info(parts.netloc)
    except (OSError, pa.ArrowException) as exc:
        raise DatasetError(f"{target}: cannot reach the store ({exc})") from None
    if bucket.type == pafs.FileType.NotFound:
        raise DatasetError(f"{target}: bucket {parts.netloc!r} does not exist or is not readable")
    return Store(target.rstrip("/"), fs, base)


@contextmanager
def staging_dir(prefix: str = "synthgen-stage-") -> Iterator[Path]:
    """A local temporary directory, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# --- reading a dataset where it lies -----------------------------------------------------------


@dataclass(frozen=True)
class StoredPath:
    """A file or folder of a dataset in an object store, standing where the readers take a
    local Path: `root / "messages"`, str() (its URI), name, glob("*.parquet"), is_file,
    read_bytes. Its Parquet files are opened as random-access pyarrow files (`readable`): each
    read is a ranged GET, nothing is copied to local disk."""

    store: Store
    relative: str

    def __truediv__(self, part: str) -> StoredPath:
        joined = f"{self.relative}/{part}" if self.relative else part
        return StoredPath(self.store, joined.strip("/"))

    def __str__(self) -> str:
        return self.store.url(self.relative) if self.relative else self.store.uri

    def __lt__(self, other: StoredPath) -> bool:
        return self.relative < other.relative

    @property
    def name(self) -> str:
        return self.relative.rsplit("/", 1)[-1]

    def is_file(self) -> bool:
        return self.store.exists(self.relative)

    def glob(self, pattern: str) -> list[StoredPath]:
        """The objects directly in this folder whose name matches `pattern`, sorted."""
        prefix = f"{self.relative}/" if self.relative else ""
        found = []
        for relative in self.store.files(self.relative):
            name = relative.removeprefix(prefix)
            if "/" not in name and fnmatch.fnmatchcase(name, pattern):
                found.append(StoredPath(self.store, relative))
        return found

    def read_bytes(self) -> bytes:
        try:
            with self.store.fs.open_input_stream(self.store.path(self.relative)) as stream:
                return bytes(stream.read())
        except FileNotFoundError:
            raise
        except (OSError, pa.ArrowException) as exc:
            raise DatasetError(f"{self}: cannot read ({exc})") from None

    def write_bytes(self, data: bytes) -> None:
        """Put one object (whole or absent)."""
        try:
            with self.store.fs.open_output_stream(self.store.path(self.relative)) as sink:
                sink.write(data)
        except (OSError, pa.ArrowException) as exc:
            raise DatasetError(f"{self}: cannot write ({exc})") from None

    def open_input(self) -> pa.NativeFile:
        """The object as a random-access file (its size is read once; reads are ranged GETs)."""
        return self.store.fs.open_input_file(self.store.path(self.relative))


DatasetPath: TypeAlias = Path | StoredPath  # a dataset, or a file of one, local or stored


def dataset_path(target: str, options: dict[str, Any] | None = None) -> DatasetPath:
    """The dataset a reading command names: a local directory (a plain path or file://), or the
    root of an object-store prefix, which must hold a manifest."""
    if not is_remote(target):
        return local_path(target)
    store = open_store(target, options)
    if not store.exists(MANIFEST_NAME):
        raise DatasetError(
            f"{target}: no manifest (not a synthgen dataset, or its build did not finish)"
        )
    return store.root


def readable(path: DatasetPath) -> Path | pa.NativeFile:
    """What pyarrow's Parquet readers take for `path`: a local Path as it is, a stored object
    opened for random access (read where it lies)."""
    return path if isinstance(path, Path) else path.open_input()


def read_parquet_table(path: DatasetPath, columns: list[str]) -> pa.Table:
    """Some columns of a Parquet file or folder (pyarrow's dataset reader, local or stored)."""
    if isinstance(path, Path):
        return pq.read_table(path, columns=columns)
    return pq.read_table(path.store.path(path.relative), columns=columns, filesystem=path.store.fs)


def read_dataset_manifest(root: DatasetPath) -> dict[str, Any]:
    """A dataset's manifest, from its directory or its object-store prefix."""
    if isinstance(root, Path):
        return read_manifest(root)
    where = root / MANIFEST_NAME
    try:
        return parse_manifest(where.read_bytes(), str(where))
    except FileNotFoundError:
        raise DatasetError(
            f"{where}: no manifest (not a synthgen dataset, or its build did not finish)"
        ) from None


def dataset_file_problems(root: DatasetPath, entries: Sequence[FileEntry], jobs: int) -> list[str]:
    """What is wrong with each listed file (missing, other size, other sha256): a stored object
    is hashed as it streams in 1 MiB blocks, as a local file is read."""
    if isinstance(root, Path):
        return file_problems(root, entries, jobs)
    store = root.store
    return file_problems(Path(), entries, jobs, size=store.size, sha256=store.sha256)


def sql_path(path: DatasetPath) -> str:
    """The path DuckDB's read_parquet takes for `path` (a stored one once `attach_duckdb` has
    registered its store with the connection)."""
    if isinstance(path, Path):
        return str(path)
    return f"{path.store.fs.type_name}://{path.store.path(path.relative)}"


def attach_duckdb(con: Any, path: DatasetPath) -> None:
    """Let a DuckDB connection read a stored dataset in place: its pyarrow filesystem, wrapped
    for fsspec (synthgen.objectfile), registered with the connection (DuckDB's own httpfs
    extension would have to be downloaded). A local dataset needs nothing."""
    if isinstance(path, Path):
        return
    con.register_filesystem(duckdb_filesystem(path.store.fs))


def describe(path: DatasetPath) -> str:
    """A dataset as the reports name it: a local directory resolved, a stored one by its URI."""
    return str(path.resolve()) if isinstance(path, Path) else str(path)
