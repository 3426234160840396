"""Build a dataset: plan, the id pass, the message shards (resumable), the skeleton tables, the
manifest. This module only orchestrates; each step lives in its own module of synthgen.generate.

Resume: a shard whose done-record verifies is folded in, not rebuilt (synthgen.generate.resume),
so a run killed at any point resumes to byte-identical output.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

from synthgen.contract import ALL_TABLES
from synthgen.engine.streams import stream
from synthgen.engine.text import vocabulary
from synthgen.errors import DatasetError
from synthgen.generate import batches
from synthgen.generate.blueprint import Plan, make_plan
from synthgen.generate.executors import LocalPool, Pool
from synthgen.generate.ids import ARRIVALS_DIR, COUNTS_FILE, arrival_offsets, keep_paths
from synthgen.generate.manifest import build_manifest, write_manifest
from synthgen.generate.result import Folded
from synthgen.generate.resume import (
    RUN_FILE,
    STATE_DIR,
    load_done,
    prepare_out,
    start_run,
    state_dir,
)
from synthgen.generate.shard import ShardTask, run_shard, run_shard_to
from synthgen.generate.write import WrittenFile, remove_temporaries, shard_path, write_shard
from synthgen.manifest import MANIFEST_NAME
from synthgen.schema import TABLES
from synthgen.spec import Spec
from synthgen.storage import Store


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
    # an object store to build into; `out` is then the client's local staging directory
    store: Store | None = None


@dataclass
class BuildReport:
    out: Path
    manifest: dict[str, Any]
    seconds: float
    shards_resumed: int
    shards_built: int
    extra: dict[str, Any] = field(default_factory=dict)


class BuildProgress(NamedTuple):
    """How far a build is: shards finished (resumed ones included) across every worker of the
    pool, and the messages they hold."""

    shards_done: int
    shards_total: int
    messages_done: int
    messages_total: int


Progress = Callable[[BuildProgress], None]  # called once before the tasks and after each one


def build_dataset(
    spec: Spec, opts: BuildOptions, progress: Progress | None = None, pool: Pool | None = None
) -> BuildReport:
    """Plan and write the whole dataset; resume completed shards; return the manifest.
    `pool` runs the tasks (default: local processes, `opts.workers` of them)."""
    with pool or LocalPool(opts.workers) as running:
        return _build(spec, opts, running, progress)


def _build(spec: Spec, opts: BuildOptions, pool: Pool, progress: Progress | None) -> BuildReport:
    started = time.perf_counter()
    plan = make_plan(spec, opts.band, opts.scale, opts.seed)  # validates band / scale first
    store = opts.store
    if store is not None:  # its run's state into the staging directory, checked there
        ours = (*ALL_TABLES, STATE_DIR, MANIFEST_NAME, "fidelity-report.json")
        store.pull_state(opts.out, ours, STATE_DIR, opts.overwrite)
    try:
        prepare_out(spec, opts)
    except DatasetError as exc:  # name the store, not the client's staging directory
        raise DatasetError(
            str(exc).replace(str(opts.out), store.uri) if store else str(exc)
        ) from None
    out = opts.out
    start_run(spec, opts)
    (out / MANIFEST_NAME).unlink(missing_ok=True)
    if store is not None:
        store.push(out, f"{STATE_DIR}/{RUN_FILE}")
        store.unpush(MANIFEST_NAME)
    remove_temporaries(out)
    plan_seconds = time.perf_counter() - started

    folded = Folded.empty(plan)
    for shard_slice in plan.shard_slices:
        done = load_done(out, shard_slice.shard, store)
        if done is not None:
            folded.add(done)
    ids_start = time.perf_counter()
    # a local build hands each shard task the arrays the id pass drew (files in its state dir)
    keep_dir = state_dir(out) / ARRIVALS_DIR
    keep = keep_paths(plan, keep_dir if store is None and isinstance(pool, LocalPool) else None)
    if keep:
        keep_dir.mkdir(parents=True, exist_ok=True)
    offsets = arrival_offsets(spec, opts.seed, plan, pool, state_dir(out), keep)
    ids_seconds = time.perf_counter() - ids_start
    if store is not None:
        store.push(out, f"{STATE_DIR}/{COUNTS_FILE}")
    # biggest shards first: the last ones to finish are then short, and no worker idles long
    todo = sorted(
        (
            # out absolute: a Dask worker may run in another directory
            ShardTask(
                spec,
                opts.seed,
                str(out.absolute()),
                opts.compression,
                s,
                offsets.for_shard(s.shard),
                keep.get(s.shard),
            )
            for s in plan.shard_slices
            if s.shard not in folded.files
        ),
        key=lambda task: -int(task.shard_slice.piece_count.sum()),
    )

    def report_progress() -> None:
        if progress:
            total = (len(plan.shard_slices), plan.counts.messages)
            progress(BuildProgress(len(folded.files), total[0], folded.messages, total[1]))

    report_progress()
    shard_start = time.perf_counter()
    task_fn = run_shard if store is None else partial(run_shard_to, store)
    for _, result in pool.run(task_fn, todo):
        folded.add(result)  # folded at once: the parent never holds every shard's arrays
        report_progress()
    shard_seconds = time.perf_counter() - shard_start
    shutil.rmtree(keep_dir, ignore_errors=True)  # arrays of shards resumed rather than run
    remove_temporaries(out)  # what a worker killed mid-write left (its task ran again elsewhere)

    final_start = time.perf_counter()
    skeleton_files = _write_skeleton_tables(spec, plan, folded, opts)
    final_seconds = time.perf_counter() - final_start
    files = [*skeleton_files, *[f for s in plan.shard_slices for f in folded.files[s.shard]]]
    manifest = build_manifest(
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
    if store is not None:  # the manifest last: its presence means the dataset is complete
        for relative in [*(f.path for f in skeleton_files), MANIFEST_NAME]:
            store.push(out, relative)
    return BuildReport(
        out=out,
        manifest=manifest,
        seconds=time.perf_counter() - started,
        shards_resumed=folded.resumed,
        shards_built=len(todo),
    )


def _write_skeleton_tables(
    spec: Spec, plan: Plan, folded: Folded, opts: BuildOptions
) -> list[WrittenFile]:
    sk = plan.skeleton
    vocab = vocabulary(stream(opts.seed, "vocabulary"), spec.content.vocabulary_words)
    rows = spec.output.row_group_rows
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
