"""Build a dataset: plan, run the message shards (resumable), write the skeleton tables, manifest.

State for resume lives in OUT/.synthgen/: run.json (the parameters) and one done-record per
finished shard (its files' sha256 and its aggregates). A shard counts as done only if every file
it lists still verifies, so a run killed at any point resumes to byte-identical output.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from synthgen import __version__
from synthgen.engine.messages import (
    ArrivalIds,
    MessageShard,
    MessageSlice,
    generate_message_shard,
)
from synthgen.engine.streams import stream
from synthgen.engine.text import vocabulary
from synthgen.errors import DatasetError
from synthgen.generate import batches
from synthgen.generate.executors import LocalPool
from synthgen.generate.ids import arrival_offsets
from synthgen.generate.plan import ALL_TABLES, Plan, make_plan
from synthgen.generate.write import (
    COMPRESSIONS,
    WrittenFile,
    remove_temporaries,
    shard_path,
    write_shard,
)
from synthgen.manifest import (
    FORMAT_VERSION,
    MANIFEST_NAME,
    FileEntry,
    dataset_digest,
    file_sha256,
    rebuild_command,
    write_manifest,
)
from synthgen.schema import TABLES
from synthgen.spec import Spec

STATE_DIR = ".synthgen"
LOG2_BINS = 40


@dataclass(frozen=True)
class BuildOptions:
    band: str
    scale: float
    seed: str
    out: Path
    compression: str = "zstd"
    workers: int = 1
    overwrite: bool = False
    spec_path: str | None = None


@dataclass(frozen=True)
class ShardJob:
    """Everything one message shard needs: a pure, picklable task."""

    spec: Spec
    seed: str
    out: str
    compression: str
    task: MessageSlice
    ids: ArrivalIds


@dataclass
class ShardResult:
    shard: int
    files: list[WrittenFile]
    messages: int
    seconds: float
    conv_first: int
    conv_last_message_us: np.ndarray
    member_first: int
    member_last_read_us: np.ndarray
    active_users: np.ndarray
    user_last_active_us: np.ndarray
    content_length_hist: np.ndarray
    gap_hist: np.ndarray
    resumed: bool = False


@dataclass
class BuildReport:
    out: Path
    manifest: dict[str, Any]
    seconds: float
    shards_resumed: int
    shards_built: int
    extra: dict[str, Any] = field(default_factory=dict)


def run_params(spec: Spec, opts: BuildOptions) -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        "band": opts.band,
        "scale": opts.scale,
        "seed": opts.seed,
        "spec_sha256": spec.digest,
        "compression": opts.compression,
    }


def log2_hist(values: np.ndarray) -> np.ndarray:
    """Counts of values in bins [2**k, 2**(k+1)), k = 0..LOG2_BINS-1 (values < 1 go in bin 0)."""
    bins = np.clip(np.floor(np.log2(np.maximum(values, 1))).astype(np.int64), 0, LOG2_BINS - 1)
    return np.bincount(bins, minlength=LOG2_BINS)


def run_message_shard(job: ShardJob) -> ShardResult:
    """Generate and write one message shard (messages, attachments, read_receipts)."""
    start = time.perf_counter()
    vocab = vocabulary(stream(job.seed, "vocabulary"), job.spec.content.vocabulary_words)
    shard = generate_message_shard(job.spec, job.seed, job.task, vocab, job.ids)
    root, n = Path(job.out), job.task.shard
    rows = job.spec.row_group_rows
    files = [
        write_shard(
            root,
            shard_path("messages", n),
            TABLES["messages"],
            batches.message_batches(job.spec, shard, rows),
            job.compression,
        ),
        write_shard(
            root,
            shard_path("attachments", n),
            TABLES["attachments"],
            batches.attachment_batches(job.spec, shard, rows),
            job.compression,
        ),
        write_shard(
            root,
            shard_path("read_receipts", n),
            TABLES["read_receipts"],
            batches.receipt_batches(job.spec, shard, rows),
            job.compression,
        ),
    ]
    result = _result(job.task, shard, files, time.perf_counter() - start)
    _save_done(root, result)
    return result


def _gap_seconds(shard: MessageShard) -> np.ndarray:
    order = np.lexsort((shard.message_created_us, shard.message_conv))
    conv, created = shard.message_conv[order], shard.message_created_us[order]
    same = conv[1:] == conv[:-1]
    return np.asarray(np.diff(created)[same] / 1e6)


def _result(
    task: MessageSlice, shard: MessageShard, files: list[WrittenFile], seconds: float
) -> ShardResult:
    text_lengths = shard.content_lengths[shard.message_type == 0]
    return ShardResult(
        shard=task.shard,
        files=files,
        messages=len(shard.message_id),
        seconds=seconds,
        conv_first=task.conv_first,
        conv_last_message_us=shard.conv_last_message_us,
        member_first=task.member_first,
        member_last_read_us=shard.member_last_read_us,
        active_users=shard.active_users,
        user_last_active_us=shard.user_last_active_us,
        content_length_hist=log2_hist(text_lengths),
        gap_hist=log2_hist(_gap_seconds(shard)),
    )


def _state(root: Path) -> Path:
    return root / STATE_DIR


def _done_paths(root: Path, shard: int) -> tuple[Path, Path]:
    base = _state(root) / "shards" / f"messages-{shard:05d}"
    return base.with_suffix(".json"), base.with_suffix(".npz")


ARRAYS = (
    "conv_last_message_us",
    "member_last_read_us",
    "active_users",
    "user_last_active_us",
    "content_length_hist",
    "gap_hist",
)


def _save_done(root: Path, result: ShardResult) -> None:
    record_path, arrays_path = _done_paths(root, result.shard)
    record_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = arrays_path.with_name(arrays_path.name + f".tmp-{os.getpid()}.npz")
    np.savez(tmp, **{name: getattr(result, name) for name in ARRAYS})
    os.replace(tmp, arrays_path)
    record = {
        "shard": result.shard,
        "messages": result.messages,
        "seconds": result.seconds,
        "conv_first": result.conv_first,
        "member_first": result.member_first,
        "arrays_sha256": file_sha256(arrays_path),
        "files": [f.__dict__ for f in result.files],
    }
    tmp_json = record_path.with_name(record_path.name + f".tmp-{os.getpid()}")
    tmp_json.write_text(json.dumps(record))
    os.replace(tmp_json, record_path)


def _load_done(root: Path, shard: int) -> ShardResult | None:
    """A finished shard's result, if its record exists and every file still verifies."""
    record_path, arrays_path = _done_paths(root, shard)
    try:
        record = json.loads(record_path.read_text())
        if file_sha256(arrays_path) != record["arrays_sha256"]:
            return None
        files = [WrittenFile(**f) for f in record["files"]]
        if any(file_sha256(root / f.path) != f.sha256 for f in files):
            return None
        with np.load(arrays_path) as data:
            arrays = {name: data[name] for name in ARRAYS}
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
    run_file = _state(out) / "run.json"
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
    shutil.rmtree(_state(out), ignore_errors=True)
    for name in (MANIFEST_NAME, "fidelity-report.json"):
        (out / name).unlink(missing_ok=True)


Progress = Callable[[int, int], None]


def build_dataset(spec: Spec, opts: BuildOptions, progress: Progress | None = None) -> BuildReport:
    """Plan and write the whole dataset; resume completed shards; return the manifest."""
    with LocalPool(opts.workers) as pool:
        return _build(spec, opts, pool, progress)


def _build(
    spec: Spec, opts: BuildOptions, pool: LocalPool, progress: Progress | None
) -> BuildReport:
    started = time.perf_counter()
    plan = make_plan(spec, opts.band, opts.scale, opts.seed)  # validates band / scale first
    prepare_out(spec, opts)
    out = opts.out
    try:
        out.mkdir(parents=True, exist_ok=True)
        _state(out).mkdir(exist_ok=True)
    except OSError as exc:
        raise DatasetError(f"--out {out}: cannot create ({exc.strerror or exc})") from None
    (_state(out) / "run.json").write_text(json.dumps(run_params(spec, opts)))
    (out / MANIFEST_NAME).unlink(missing_ok=True)
    remove_temporaries(out)
    plan_seconds = time.perf_counter() - started

    folded = Folded.empty(plan)
    for task in plan.message_tasks:
        done = _load_done(out, task.shard)
        if done is not None:
            folded.add(done)
    ids_start = time.perf_counter()
    offsets = arrival_offsets(spec, opts.seed, plan, pool, _state(out))
    ids_seconds = time.perf_counter() - ids_start
    # biggest shards first: the last ones to finish are then short, and no worker idles long
    todo = sorted(
        (
            ShardJob(
                spec,
                opts.seed,
                str(out),
                opts.compression,
                t,
                offsets.for_shard(t.shard),
            )
            for t in plan.message_tasks
            if t.shard not in folded.files
        ),
        key=lambda job: -int(job.task.piece_count.sum()),
    )
    total = plan.counts.messages
    if progress:
        progress(folded.messages, total)
    shard_start = time.perf_counter()
    for _, result in pool.run(run_message_shard, todo):
        folded.add(result)  # folded at once: the parent never holds every shard's arrays
        if progress:
            progress(folded.messages, total)
    shard_seconds = time.perf_counter() - shard_start

    final_start = time.perf_counter()
    skeleton_files = _write_skeleton_tables(spec, plan, folded, opts)
    final_seconds = time.perf_counter() - final_start
    files = [*skeleton_files, *[f for t in plan.message_tasks for f in folded.files[t.shard]]]
    manifest = _manifest(
        spec,
        opts,
        plan,
        folded,
        files,
        {
            "plan_seconds": round(plan_seconds, 3),
            "arrival_ids_seconds": round(ids_seconds, 3),
            "message_shards_seconds": round(shard_seconds, 3),
            "skeleton_tables_seconds": round(final_seconds, 3),
            "total_seconds": round(time.perf_counter() - started, 3),
        },
    )
    write_manifest(out, manifest)
    return BuildReport(
        out=out,
        manifest=manifest,
        seconds=time.perf_counter() - started,
        shards_resumed=folded.resumed,
        shards_built=len(todo),
    )


@dataclass
class Folded:
    """Shard results folded into dataset-wide maxima and histograms as they arrive."""

    conv_last_message_us: np.ndarray
    member_last_read_us: np.ndarray
    user_last_active_us: np.ndarray
    content_length_hist: np.ndarray
    gap_hist: np.ndarray
    files: dict[int, list[WrittenFile]] = field(default_factory=dict)
    messages: int = 0
    resumed: int = 0

    @classmethod
    def empty(cls, plan: Plan) -> Folded:
        sk = plan.skeleton
        return cls(
            conv_last_message_us=np.zeros(len(sk.conv_kind), dtype=np.int64),
            member_last_read_us=np.zeros(len(sk.member_user), dtype=np.int64),
            user_last_active_us=np.zeros(len(sk.user_created_us), dtype=np.int64),
            content_length_hist=np.zeros(LOG2_BINS, dtype=np.int64),
            gap_hist=np.zeros(LOG2_BINS, dtype=np.int64),
        )

    def add(self, r: ShardResult) -> None:
        span = slice(r.conv_first, r.conv_first + len(r.conv_last_message_us))
        np.maximum(
            self.conv_last_message_us[span],
            r.conv_last_message_us,
            out=self.conv_last_message_us[span],
        )
        mspan = slice(r.member_first, r.member_first + len(r.member_last_read_us))
        np.maximum(
            self.member_last_read_us[mspan],
            r.member_last_read_us,
            out=self.member_last_read_us[mspan],
        )
        np.maximum.at(self.user_last_active_us, r.active_users, r.user_last_active_us)
        self.content_length_hist += r.content_length_hist
        self.gap_hist += r.gap_hist
        self.files[r.shard] = r.files
        self.messages += r.messages
        self.resumed += int(r.resumed)


def _write_skeleton_tables(
    spec: Spec, plan: Plan, folded: Folded, opts: BuildOptions
) -> list[WrittenFile]:
    sk = plan.skeleton
    vocab = vocabulary(stream(opts.seed, "vocabulary"), spec.content.vocabulary_words)
    rows = spec.row_group_rows
    writers = {
        "users": batches.user_batches(
            sk, vocab, folded.user_last_active_us, stream(opts.seed, "users"), rows
        ),
        "conversations": batches.conversation_batches(
            sk, vocab, folded.conv_last_message_us, stream(opts.seed, "titles"), rows
        ),
        "conversation_users": batches.member_batches(sk, folded.member_last_read_us, rows),
        "conversation_traits": batches.trait_batches(sk, rows),
    }
    return [
        write_shard(
            opts.out,
            shard_path(table, 0),
            TABLES[table],
            batch_iter,
            opts.compression,
        )
        for table, batch_iter in writers.items()
    ]


def _entry(written: WrittenFile) -> FileEntry:
    """Manifest entry for a written file; its table and shard come from its path."""
    table, name = written.path.split("/")
    shard = int(name.removeprefix("part-").removesuffix(".parquet"))
    return FileEntry(table, shard, written.path, written.rows, written.bytes, written.sha256)


def _manifest(
    spec: Spec,
    opts: BuildOptions,
    plan: Plan,
    folded: Folded,
    files: list[WrittenFile],
    timings: dict[str, float],
) -> dict[str, Any]:
    sk = plan.skeleton
    entries = [_entry(f) for f in files]
    counts = {t: sum(e.rows for e in entries if e.table == t) for t in ALL_TABLES}
    sizes = np.bincount(np.diff(sk.member_offsets))
    heavy_messages = int(sk.conv_messages[sk.conv_is_heavy].sum())
    return {
        "synthgen_version": __version__,
        "format": FORMAT_VERSION,
        "band": opts.band,
        "scale": opts.scale,
        "seed": opts.seed,
        "compression": opts.compression,
        "spec": spec.raw,
        "spec_sha256": spec.digest,
        "dataset_sha256": dataset_digest(entries),
        "snapshot": spec.raw["time"]["snapshot"],
        "counts": counts,
        "shards": len(folded.files),
        "files": [e.__dict__ for e in sorted(entries, key=lambda e: e.path)],
        "timings": timings,
        "command": rebuild_command(
            opts.band, opts.scale, opts.seed, opts.compression, opts.spec_path
        ),
        "derived": {
            "heavy_rooms": int(sk.conv_is_heavy.sum()),
            "heavy_min_messages": plan.counts.heavy_min_messages,
            "heavy_message_share": heavy_messages / max(1, plan.counts.messages),
        },
        "histograms": {
            "conversation_size": {
                "bins": "exact member count",
                "counts": {str(k): int(v) for k, v in enumerate(sizes) if v},
            },
            "messages_per_conversation": {
                "bins": "log2",
                "counts": log2_hist(sk.conv_messages).tolist(),
            },
            "content_length": {
                "bins": "log2",
                "counts": folded.content_length_hist.tolist(),
            },
            "inter_arrival_seconds": {
                "bins": "log2",
                "counts": folded.gap_hist.tolist(),
            },
        },
    }
