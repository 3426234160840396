"""A built dataset's manifest: its format, its files and their checksums. Read and verify.

Every reader of a dataset (the gate, the loader, the sampler) comes here; the generator writes
the manifest (synthgen.generate.manifest) and is the only part that does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthgen.errors import DatasetError

MANIFEST_NAME = "manifest.json"
HASH_BLOCK = 1 << 20
# Bumped whenever the same (spec, band, scale, seed) would give different bytes, so that a
# half-built OUT of an older version is refused instead of resumed into a mix of two versions.
# 2: text bodies drawn in one pass per shard; per-column encodings (delta, dictionary, plain).
# 3: ids in arrival order across shards; receipts and memberships written in arrival order.
FORMAT_VERSION = 3


@dataclass(frozen=True)
class FileEntry:
    table: str
    shard: int
    path: str
    rows: int
    bytes: int
    sha256: str


def dataset_digest(files: list[FileEntry]) -> str:
    """One hash for the data itself: equal for byte-identical datasets, whatever the timings."""
    lines = sorted(f"{f.path} {f.sha256}" for f in files)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def read_manifest(path_or_root: Path | str) -> dict[str, Any]:
    """Load a manifest from a dataset directory or a manifest file path."""
    path = Path(path_or_root)
    if path.is_dir():
        path = path / MANIFEST_NAME
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise DatasetError(
            f"{path}: no manifest (not a synthgen dataset, or its build did not finish)"
        ) from None
    return parse_manifest(text, str(path))


def parse_manifest(text: str | bytes, where: str) -> dict[str, Any]:
    """A manifest's JSON text, checked for the fields every reader needs; `where` names it in
    errors."""
    try:
        manifest: dict[str, Any] = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{where}: manifest is not valid JSON (line {exc.lineno})") from None
    for key in ("band", "scale", "seed", "spec", "files", "counts"):
        if key not in manifest:
            raise DatasetError(f"{where}: manifest has no field {key!r}")
    return manifest


def file_entries(manifest: dict[str, Any]) -> list[FileEntry]:
    return [FileEntry(**entry) for entry in manifest["files"]]


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def file_problems(
    root: Path,
    entries: Iterable[FileEntry],
    jobs: int = 2,
    size: Callable[[str], int | None] | None = None,
    sha256: Callable[[str], str | None] | None = None,
) -> list[str]:
    """What is wrong with each listed file against the manifest (missing, other size, other
    sha256), checked in parallel threads (hashlib releases the GIL); empty when all verify.
    `size` and `sha256` of a path relative to the dataset (None: absent) default to the local
    files' under `root`; an object store passes its own."""

    def local_size(relative: str) -> int | None:
        path = root / relative
        return path.stat().st_size if path.is_file() else None

    size_of = size or local_size
    sha_of = sha256 or (lambda relative: file_sha256(root / relative))

    def problem(entry: FileEntry) -> str | None:
        found = size_of(entry.path)
        if found is None:
            return f"{entry.path}: missing"
        if found != entry.bytes:
            return f"{entry.path}: {found} bytes, the manifest says {entry.bytes}"
        if sha_of(entry.path) != entry.sha256:
            return f"{entry.path}: sha256 does not match the manifest"
        return None

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return [p for p in pool.map(problem, list(entries)) if p]


def describe_problems(problems: list[str], shown: int = 3) -> str:
    """The first few problems on one line, with how many more there are."""
    more = f" (and {len(problems) - shown} more)" if len(problems) > shown else ""
    return "; ".join(problems[:shown]) + more
