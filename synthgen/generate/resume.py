"""A build's resume state in OUT/.synthgen, and the check of --out before anything is written.

run.json holds the build's parameters; a finished shard leaves a done-record (its files' sha256
and its result's arrays). A shard counts as done only if every file it lists still verifies, so
a run killed at any point resumes to byte-identical output. A directory built with other
parameters is refused (or cleared with --overwrite), never resumed into a mix.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from synthgen.contract import ALL_TABLES
from synthgen.errors import DatasetError
from synthgen.files import atomic_path, write_text_atomic
from synthgen.generate.result import RESULT_ARRAYS, ShardResult
from synthgen.generate.write import COMPRESSIONS, WrittenFile
from synthgen.manifest import FORMAT_VERSION, MANIFEST_NAME, file_sha256
from synthgen.spec import Spec
from synthgen.storage import Store

if TYPE_CHECKING:
    from synthgen.generate.build import BuildOptions

STATE_DIR = ".synthgen"
RUN_FILE = "run.json"


def state_dir(root: Path) -> Path:
    return root / STATE_DIR


def run_params(spec: Spec, opts: BuildOptions) -> dict[str, Any]:
    """The parameters that decide a build's bytes (a resumed build must match them)."""
    return {
        "format": FORMAT_VERSION,
        "band": opts.band,
        "scale": opts.scale,
        "seed": opts.seed,
        "spec_sha256": spec.digest,
        "compression": opts.compression,
    }


def done_paths(root: Path, shard: int) -> tuple[Path, Path]:
    base = state_dir(root) / "shards" / f"messages-{shard:05d}"
    return base.with_suffix(".json"), base.with_suffix(".npz")


def save_done(root: Path, result: ShardResult) -> None:
    """Record a finished shard: its arrays, then its record (written last, atomically)."""
    record_path, arrays_path = done_paths(root, result.shard)
    record_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(arrays_path, suffix=".npz") as tmp:
        np.savez(tmp, **{name: getattr(result, name) for name in RESULT_ARRAYS})
    record = {
        "shard": result.shard,
        "messages": result.messages,
        "seconds": result.seconds,
        "conv_first": result.conv_first,
        "member_first": result.member_first,
        "arrays_sha256": file_sha256(arrays_path),
        "files": [f.__dict__ for f in result.files],
    }
    write_text_atomic(record_path, json.dumps(record))


def load_done(root: Path, shard: int, store: Store | None = None) -> ShardResult | None:
    """A finished shard's result, if its record exists and every file still verifies (read back
    from the object store, when the dataset is in one)."""
    record_path, arrays_path = done_paths(root, shard)
    try:
        record = json.loads(record_path.read_text())
        if file_sha256(arrays_path) != record["arrays_sha256"]:
            return None
        files = [WrittenFile(**f) for f in record["files"]]
        digest = store.sha256 if store else lambda path: file_sha256(root / path)
        if any(digest(f.path) != f.sha256 for f in files):
            return None
        with np.load(arrays_path) as data:
            arrays = {name: data[name] for name in RESULT_ARRAYS}
    except (OSError, ValueError, KeyError):
        return None
    return ShardResult(
        shard=shard,
        files=files,
        messages=record["messages"],
        seconds=record["seconds"],
        conv_first=record["conv_first"],
        member_first=record["member_first"],
        resumed=True,
        **arrays,
    )


def prepare_out(spec: Spec, opts: BuildOptions) -> None:
    """Check --out before anything is written: refuse foreign or differently-built directories."""
    out = opts.out
    if opts.compression not in COMPRESSIONS:
        raise DatasetError(
            f"--compression: {opts.compression!r} is not one of {', '.join(COMPRESSIONS)}"
        )
    if out.exists() and not out.is_dir():
        raise DatasetError(f"--out {out}: exists and is not a directory")
    probe_dir = out if out.exists() else _existing_parent(out)
    if not os.access(probe_dir, os.W_OK | os.X_OK):
        raise DatasetError(f"--out {out}: not writable ({probe_dir} denies write access)")
    if not out.exists() or not any(out.iterdir()):
        return
    run_file = state_dir(out) / RUN_FILE
    is_dataset = run_file.exists() or (out / MANIFEST_NAME).exists()
    if not is_dataset:
        raise DatasetError(
            f"--out {out}: not empty and not a synthgen dataset; choose another directory"
        )
    try:
        previous = json.loads(run_file.read_text()) if run_file.exists() else None
    except (OSError, json.JSONDecodeError):
        previous = None
    if opts.overwrite:
        clear_dataset(out)
    elif previous != run_params(spec, opts):
        differs = describe_differences(previous, run_params(spec, opts))
        raise DatasetError(
            f"--out {out}: holds a dataset built with other parameters ({differs}); "
            "pass --overwrite to replace it"
        )


def start_run(spec: Spec, opts: BuildOptions) -> None:
    """Create OUT and its state directory and record the run's parameters."""
    out = opts.out
    try:
        out.mkdir(parents=True, exist_ok=True)
        state_dir(out).mkdir(exist_ok=True)
    except OSError as exc:
        raise DatasetError(f"--out {out}: cannot create ({exc.strerror or exc})") from None
    write_text_atomic(state_dir(out) / RUN_FILE, json.dumps(run_params(spec, opts)))


def describe_differences(previous: dict[str, Any] | None, wanted: dict[str, Any]) -> str:
    """`key old != new` for every parameter that differs (for refusal messages)."""
    if previous is None:
        return "unknown parameters"
    keys = [k for k in wanted if previous.get(k) != wanted[k]]
    return ", ".join(f"{k} {previous.get(k)!r} != {wanted[k]!r}" for k in keys) or "format"


def _existing_parent(path: Path) -> Path:
    for parent in [path, *path.absolute().parents]:
        if parent.exists():
            return parent
    return Path("/")


def clear_dataset(out: Path) -> None:
    """Remove what a synthgen build writes in `out` (tables, manifest, state) and nothing else."""
    for table in ALL_TABLES:
        shutil.rmtree(out / table, ignore_errors=True)
    shutil.rmtree(state_dir(out), ignore_errors=True)
    for name in (MANIFEST_NAME, "fidelity-report.json"):
        (out / name).unlink(missing_ok=True)
