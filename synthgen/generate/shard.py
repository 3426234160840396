"""One message shard as a task: generate its rows, write its three files, record it as done.

A `ShardTask` is pure and picklable (the spec, the seed, where to write, the shard's slice of the
skeleton and its id offsets), so any executor can run `run_shard` on it; the output never depends
on which worker runs it or when.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from synthgen.engine.messages import ArrivalIds, MessageShard, ShardSlice, generate_message_shard
from synthgen.engine.streams import stream
from synthgen.engine.text import vocabulary
from synthgen.generate import batches
from synthgen.generate.ids import load_arrival
from synthgen.generate.result import ShardResult, log2_hist
from synthgen.generate.resume import done_paths, save_done
from synthgen.generate.write import WrittenFile, shard_path, write_shard
from synthgen.schema import TABLES
from synthgen.spec import Spec
from synthgen.storage import Store, staging_dir


@dataclass(frozen=True)
class ShardTask:
    """Everything one message shard needs: a pure, picklable task."""

    spec: Spec
    seed: str
    out: str
    compression: str
    shard_slice: ShardSlice
    ids: ArrivalIds
    arrival_file: str | None = None  # the id pass's drawn arrays for this shard, if it kept them

    @property
    def shard(self) -> int:
        return self.shard_slice.shard


def run_shard(task: ShardTask) -> ShardResult:
    """Generate and write one message shard (messages, attachments, read_receipts)."""
    start = time.perf_counter()
    vocab = vocabulary(stream(task.seed, "vocabulary"), task.spec.content.vocabulary_words)
    drawn = load_arrival(task.arrival_file)
    shard = generate_message_shard(task.spec, task.seed, task.shard_slice, vocab, task.ids, drawn)
    root, n = Path(task.out), task.shard
    rows = task.spec.output.row_group_rows
    files = [
        write_shard(
            root,
            shard_path("messages", n),
            TABLES["messages"],
            batches.message_batches(task.spec, shard, rows),
            task.compression,
        ),
        write_shard(
            root,
            shard_path("attachments", n),
            TABLES["attachments"],
            batches.attachment_batches(task.spec, shard, rows),
            task.compression,
        ),
        write_shard(
            root,
            shard_path("read_receipts", n),
            TABLES["read_receipts"],
            batches.receipt_batches(task.spec, shard, rows),
            task.compression,
        ),
    ]
    result = _result(task.shard_slice, shard, files, time.perf_counter() - start)
    save_done(root, result)
    return result


def run_shard_to(store: Store, task: ShardTask) -> ShardResult:
    """A shard task for an object store: written in a temporary directory of its worker, then
    uploaded (its files first, its done-record last: the record makes the shard count)."""
    with staging_dir("synthgen-shard-") as tmp:
        result = run_shard(replace(task, out=str(tmp)))
        record, arrays = done_paths(tmp, task.shard)
        for relative in [
            *(f.path for f in result.files),
            *(str(p.relative_to(tmp)) for p in (arrays, record)),
        ]:
            store.push(tmp, relative)
    return result


def _gap_seconds(shard: MessageShard) -> np.ndarray:
    order = np.lexsort((shard.message_created_us, shard.message_conv))
    conv, created = shard.message_conv[order], shard.message_created_us[order]
    same = conv[1:] == conv[:-1]
    return np.asarray(np.diff(created)[same] / 1e6)


def _result(
    shard_slice: ShardSlice, shard: MessageShard, files: list[WrittenFile], seconds: float
) -> ShardResult:
    text_lengths = shard.content_lengths[shard.message_type == 0]
    return ShardResult(
        shard=shard_slice.shard,
        files=files,
        messages=len(shard.message_id),
        seconds=seconds,
        conv_first=shard_slice.conv_first,
        conv_last_message_us=shard.conv_last_message_us,
        member_first=shard_slice.member_first,
        member_last_read_us=shard.member_last_read_us,
        active_users=shard.active_users,
        user_last_active_us=shard.user_last_active_us,
        content_length_hist=log2_hist(text_lengths),
        gap_hist=log2_hist(_gap_seconds(shard)),
    )
