"""The id pass of a build: every shard's id offsets per time bucket, before the shards run.

Each shard's messages' times and types are drawn once more (engine.arrival_ids, their own random
stream) and counted per time bucket; prefix sums over (bucket, shard) give each shard where its
ids start in every bucket. The counts are a small shards x buckets matrix, kept in the resume
state, so a resumed build does not redraw them. A local build also keeps each shard's drawn
arrays (`keep`) for its shard task, which then does not draw them again (`load_arrival`): the
draw of the times was ~13 % of a dev build's CPU, done twice.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from synthgen.engine import arrival_ids as arrival
from synthgen.engine.messages import ArrivalIds, ShardSlice
from synthgen.errors import DatasetError
from synthgen.files import atomic_path
from synthgen.generate.blueprint import Plan
from synthgen.generate.executors import Pool
from synthgen.spec import Spec
from synthgen.units import US_PER_DAY

COUNTS_FILE = "arrival.npz"
ARRIVALS_DIR = "arrivals"  # under the state directory: each shard's drawn arrays, until it runs
# the most bytes of drawn arrays a build keeps at once (13 bytes a message): the dev and staging
# bands keep every shard's; the perf band only its biggest shards' (they run first)
KEEP_BYTES = 2 << 30
Drawn = tuple[Any, Any, Any]  # createdAt (int64), local conversation (int64), message type (int8)


@dataclass(frozen=True)
class ArrivalTask:
    """The id pass of one shard: its messages' times and types, counted per time bucket."""

    spec: Spec
    seed: str
    shard_slice: ShardSlice
    window: tuple[int, int]
    buckets: int
    keep: str | None = None  # where to save the drawn arrays for the shard task, if anywhere


@dataclass(frozen=True)
class Offsets:
    """Every shard's id offsets per time bucket, for messages and for attachments."""

    window: tuple[int, int]
    buckets: int
    messages: np.ndarray  # shards x buckets
    attachments: np.ndarray

    def for_shard(self, shard: int) -> ArrivalIds:
        return ArrivalIds(self.window, self.buckets, self.messages[shard], self.attachments[shard])


def count_arrivals(task: ArrivalTask) -> tuple[np.ndarray, np.ndarray]:
    """Messages and attachments of one shard per time bucket."""
    t = task.shard_slice
    created, local_conv, mtype = arrival.arrival(
        task.spec,
        task.seed,
        t.shard,
        t.piece_conv,
        t.piece_lo_us,
        t.piece_hi_us,
        t.piece_count,
        t.conv_first,
    )
    if task.keep is not None:
        try:  # a cache: a shard task that finds no file draws the arrays itself
            with atomic_path(Path(task.keep), suffix=".npz") as tmp:
                np.savez(tmp, created=created, conv=local_conv.astype(np.int32), mtype=mtype)
        except OSError:
            pass
    return arrival.bucket_counts(created, mtype, task.window, task.buckets)


def load_arrival(path: str | None) -> Drawn | None:
    """The arrays the id pass kept at `path` (then removed), or None if there are none."""
    if path is None:
        return None
    try:
        with np.load(path) as data:
            drawn = (data["created"], data["conv"].astype(np.int64), data["mtype"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # torn: draw again
        return None
    Path(path).unlink(missing_ok=True)
    return drawn


def keep_paths(plan: Plan, keep_dir: Path | None) -> dict[int, str]:
    """Where the id pass keeps each shard's arrays: the biggest shards first, within KEEP_BYTES."""
    if keep_dir is None:
        return {}
    paths, total = {}, 0
    for s in sorted(plan.shard_slices, key=lambda s: -int(s.piece_count.sum())):
        total += 13 * int(s.piece_count.sum())
        if total > KEEP_BYTES:
            break
        paths[s.shard] = str(keep_dir / f"shard-{s.shard:05d}.npz")
    return paths


def window_of(spec: Spec) -> tuple[int, int]:
    """The message window [start, snapshot] in microseconds."""
    t = spec.time
    return t.snapshot_us - t.window_days * US_PER_DAY, t.snapshot_us


def _saved(path: Path, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        with np.load(path) as data:
            found = (data["messages"], data["attachments"])
    except (OSError, ValueError, KeyError):
        return None
    return found if found[0].shape == shape == found[1].shape else None


def arrival_offsets(
    spec: Spec, seed: str, plan: Plan, pool: Pool, state: Path, keep: dict[int, str] | None = None
) -> Offsets:
    """Count every shard's arrivals (or reuse the counts saved in `state`), then prefix-sum;
    `keep`: where to save the drawn arrays of some shards (`keep_paths`).

    The saved counts are a pure function of the run's parameters, which the resume state is
    already keyed by: reusing them or recounting gives the same offsets.
    """
    window, buckets = window_of(spec), arrival.bucket_count(plan.shard_count)
    path = state / COUNTS_FILE
    counts = _saved(path, (plan.shard_count, buckets))
    if counts is None:
        messages = np.zeros((plan.shard_count, buckets), dtype=np.int32)
        attachments = np.zeros_like(messages)
        keep = keep or {}
        tasks = [
            ArrivalTask(spec, seed, s, window, buckets, keep.get(s.shard))
            for s in plan.shard_slices
        ]
        for index, (m, a) in pool.run(count_arrivals, tasks):
            messages[index], attachments[index] = m, a
        try:  # compressed: most cells of a small dataset are zero
            with atomic_path(path, suffix=".npz") as tmp:
                np.savez_compressed(tmp, messages=messages, attachments=attachments)
        except OSError as exc:
            raise DatasetError(f"{path}: cannot write ({exc.strerror or exc})") from None
        counts = (messages, attachments)
    return Offsets(
        window, buckets, arrival.shard_offsets(counts[0]), arrival.shard_offsets(counts[1])
    )
