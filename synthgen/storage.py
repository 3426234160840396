"""Where a dataset lives: a local directory, or a prefix of an object store (s3://, gs://).

Every build works on a local directory. With an object store as --out, that directory is a
staging copy of the run's small state (run parameters, done-records, arrival counts, skeleton
tables, manifest) and `Store` keeps the store in step with it: the client pulls the state before
a build and pushes each small file as it is written; each shard task writes its files in a
temporary directory on its worker and uploads them itself (the client never relays shard data).

Object stores have no atomic rename, but a single PUT is atomic: an object is either whole or
absent. A task uploads its Parquet files first and its done-record last, and a resumed build
keeps a shard only when its record exists and every file it lists hashes to the recorded sha256
(read back from the store), so an object left by a killed worker never counts.

Credentials and endpoint come from the standard environment variables (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL, AWS_REGION, ...) or from --storage-option key=value,
passed to pyarrow's S3FileSystem / GcsFileSystem.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.fs as pafs

from synthgen.errors import DatasetError
from synthgen.manifest import MANIFEST_NAME, file_entries, read_manifest

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


@contextmanager
def fetched(target: str, options: dict[str, Any] | None = None, jobs: int = 4) -> Iterator[Path]:
    """A local copy of a dataset (its manifest and the files it lists) for the commands that
    read one: objects are streamed to disk in 8 MiB blocks (memory stays bounded; disk needs the
    dataset's size) and removed afterwards. A local target is yielded as it is."""
    if not is_remote(target):
        yield local_path(target)
        return
    store = open_store(target, options)
    if not store.exists(MANIFEST_NAME):
        raise DatasetError(
            f"{target}: no manifest (not a synthgen dataset, or its build did not finish)"
        )
    with staging_dir("synthgen-fetch-") as local:
        store.download(MANIFEST_NAME, local / MANIFEST_NAME)
        listed = [entry.path for entry in file_entries(read_manifest(local))]
        present = set(store.files())
        wanted = [path for path in listed if path in present]  # the reader names a missing one
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(lambda rel: store.download(rel, local / rel), wanted))
        yield local
