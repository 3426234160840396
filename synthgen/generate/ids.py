"""The id pass of a build: every shard's id offsets per time bucket, before the shards run.

Each shard's messages' times and types are drawn once more (engine.arrival_ids, their own random
stream) and counted per time bucket; prefix sums over (bucket, shard) give each shard where its
ids start in every bucket. The counts are a small shards x buckets matrix, kept in the resume
state, so a resumed build does not redraw them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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


@dataclass(frozen=True)
class ArrivalTask:
    """The id pass of one shard: its messages' times and types, counted per time bucket."""

    spec: Spec
    seed: str
    shard_slice: ShardSlice
    window: tuple[int, int]
    buckets: int


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
    created, _, mtype = arrival.arrival(
        task.spec,
        task.seed,
        t.shard,
        t.piece_conv,
        t.piece_lo_us,
        t.piece_hi_us,
        t.piece_count,
        t.conv_first,
    )
    return arrival.bucket_counts(created, mtype, task.window, task.buckets)


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


def arrival_offsets(spec: Spec, seed: str, plan: Plan, pool: Pool, state: Path) -> Offsets:
    """Count every shard's arrivals (or reuse the counts saved in `state`), then prefix-sum.

    The saved counts are a pure function of the run's parameters, which the resume state is
    already keyed by: reusing them or recounting gives the same offsets.
    """
    window, buckets = window_of(spec), arrival.bucket_count(plan.shard_count)
    path = state / COUNTS_FILE
    counts = _saved(path, (plan.shard_count, buckets))
    if counts is None:
        messages = np.zeros((plan.shard_count, buckets), dtype=np.int32)
        attachments = np.zeros_like(messages)
        tasks = [ArrivalTask(spec, seed, s, window, buckets) for s in plan.shard_slices]
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
