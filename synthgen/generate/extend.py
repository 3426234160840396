"""`synthgen extend`: continue a dataset's timeline by N days into a delta dataset.

The delta holds the new rows of every contract table (users, rooms, memberships and traits in
part-00000; messages, attachments, read receipts and the `changes` table one shard per day) and
a manifest chained to its parent: the base's dataset_sha256, the parent's, the extension number
and the days. Everything is drawn from streams keyed by (base dataset_sha256, extension number),
so the same chain rebuilds byte for byte.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from synthgen import __version__
from synthgen.engine.extension import (
    Arrivals,
    World,
    draw_arrivals,
    new_room_rate,
    new_user_rate,
    room_rates,
)
from synthgen.engine.extension_day import NEVER, Members, Rooms, generate_day
from synthgen.engine.extension_late import (
    LATE_LOOKBACK_SECONDS,
    LateReads,
    OldMessages,
    late_reads,
)
from synthgen.engine.streams import stream
from synthgen.engine.text import vocabulary
from synthgen.engine.timemodel import IntensityGrid
from synthgen.errors import DatasetError
from synthgen.generate import batches, extend_tables
from synthgen.generate.extend_state import (
    CHANGES,
    Link,
    State,
    extension_of,
    old_messages,
    read_chain,
    read_state,
    verify_files,
)
from synthgen.generate.manifest import write_manifest
from synthgen.generate.write import WrittenFile, remove_temporaries, shard_path, write_shard
from synthgen.manifest import FORMAT_VERSION, MANIFEST_NAME, FileEntry, dataset_digest
from synthgen.schema import TABLES
from synthgen.spec import SNAPSHOT_FORMAT, Spec, parse_spec
from synthgen.units import US_PER_DAY, US_PER_SECOND

MAX_DAYS = 366


@dataclass(frozen=True)
class Extension:
    """What an extension continues: the chain, its spec, seed, seam and end."""

    links: list[Link]
    spec: Spec
    number: int
    seed: str
    window_start_us: int
    seam_us: int
    end_us: int

    @property
    def base(self) -> dict[str, Any]:
        return self.links[0].manifest


def plan_extension(dataset: Path, days: int) -> Extension:
    """Read and verify the chain ending at `dataset`; refuse bad --days."""
    if days < 1 or days > MAX_DAYS:
        raise DatasetError(f"--days: must be between 1 and {MAX_DAYS} (got {days})")
    links = read_chain(dataset)
    for link in links:
        verify_files(link)
    base = links[0].manifest
    spec = parse_spec(base["spec"], source=f"{links[0].root} (inline spec)")
    last = extension_of(links[-1].manifest)
    seam = int(last["end_us"]) if last else spec.time.snapshot_us
    return Extension(
        links=links,
        spec=spec,
        number=len(links),
        seed=f"{base['dataset_sha256']}:extension:{len(links)}",
        window_start_us=spec.time.snapshot_us - spec.time.window_days * US_PER_DAY,
        seam_us=seam,
        end_us=seam + days * US_PER_DAY,
    )


def extended_grid(ext: Extension) -> IntensityGrid:
    """The spec's intensity from the base window's start to the extension's end."""
    return IntensityGrid.build(grid_time(ext))


def extend_dataset(dataset: Path, days: int, out: Path, overwrite: bool = False) -> dict[str, Any]:
    """Write the extension of `dataset` by `days` into `out`; return its manifest."""
    started = time.perf_counter()
    ext = plan_extension(dataset, days)
    _prepare_out(out, overwrite, [link.root for link in ext.links])
    state = read_state(ext.links, ext.seam_us, ext.window_start_us)
    grid = extended_grid(ext)
    rates = room_rates(grid, state.conv_messages, state.conv_created_us, ext.seam_us)
    world = World(
        user_created_us=state.user_created_us,
        conv_kind=state.conv_kind,
        conv_rate=rates,
        conv_heavy=state.conv_heavy,
        member_conv=state.member_conv - 1,
        member_user=state.member_user - 1,
        member_role=state.member_role,
        member_active=state.member_active,
    )
    counts = ext.base["counts"]
    regular = int(counts["conversations"]) - int(ext.base["derived"]["heavy_rooms"])
    arrivals = draw_arrivals(
        ext.spec,
        stream(ext.seed, "extension-arrivals"),
        grid,
        (ext.seam_us, ext.end_us),
        (new_user_rate(ext.spec, int(counts["users"])), new_room_rate(ext.spec, regular)),
        world,
    )
    compression = str(ext.base.get("compression", "zstd"))
    files = _write_skeleton(ext, state, arrivals, out, compression)
    members, rooms = _members(state, arrivals, rates, ext.seam_us)
    late = _late(ext, members)
    files += _write_days(ext, grid, members, rooms, state, out, compression, days, late)
    manifest = _manifest(ext, days, files, time.perf_counter() - started)
    write_manifest(out, manifest)
    return manifest


def _prepare_out(out: Path, overwrite: bool, chain: list[Path]) -> None:
    resolved = out.resolve()
    if any(resolved == root.resolve() for root in chain):
        raise DatasetError(f"--out {out}: is a dataset of the chain being extended")
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise DatasetError(f"--out {out}: not empty (give --overwrite to replace it)")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    remove_temporaries(out)


def _write_skeleton(
    ext: Extension, state: State, arrivals: Arrivals, out: Path, compression: str
) -> list[WrittenFile]:
    vocab = vocabulary(
        stream(str(ext.base["seed"]), "vocabulary"), ext.spec.content.vocabulary_words
    )
    rows = ext.spec.output.row_group_rows
    n_conv = len(state.conv_kind)
    writers = {
        "users": extend_tables.user_batches(
            arrivals, state.users, vocab, stream(ext.seed, "extension-users"), rows
        ),
        "conversations": extend_tables.room_batches(
            arrivals, n_conv, vocab, stream(ext.seed, "extension-titles"), rows
        ),
        "conversation_users": extend_tables.member_batches(arrivals, rows),
        "conversation_traits": extend_tables.trait_batches(arrivals, n_conv, rows),
    }
    return [
        write_shard(out, shard_path(table, 0), TABLES[table], batch_iter, compression)
        for table, batch_iter in writers.items()
    ]


def _members(state: State, arrivals: Arrivals, rates: Any, seam_us: int) -> tuple[Members, Rooms]:
    """Every membership after the arrivals, sorted by room then joinedAt; every room's rate and
    where its talk may start."""
    left = state.member_left_us.copy()  # who left in an earlier extension stays gone
    left[arrivals.leave_row] = arrivals.leave_us
    conv = np.concatenate([state.member_conv - 1, arrivals.member_conv])
    user = np.concatenate([state.member_user - 1, arrivals.member_user])
    joined = np.concatenate([state.member_joined_us, arrivals.member_joined_us])
    left = np.concatenate([left, np.full(len(arrivals.member_conv), NEVER, dtype=np.int64)])
    order = np.lexsort((user, joined, conv))
    n_rooms = len(state.conv_kind) + len(arrivals.room_kind)
    offsets = np.concatenate([[0], np.cumsum(np.bincount(conv, minlength=n_rooms))])
    members = Members(offsets.astype(np.int64), user[order], joined[order], left[order])
    # a new room talks once its second member is in (its creator alone if none joins)
    second = np.minimum(offsets[:-1] + 1, offsets[1:] - 1)[len(state.conv_kind) :]
    new_from = members.joined_us[np.maximum(second, 0)] + US_PER_SECOND
    rooms = Rooms(
        rate=np.concatenate([rates, arrivals.room_rate]),
        active_from_us=np.concatenate(
            [np.full(len(state.conv_kind), seam_us, dtype=np.int64), new_from]
        ),
    )
    return members, rooms


def _late(ext: Extension, members: Members) -> LateReads:
    """Reads, inside this extension, of the chain's messages of the last days before the seam."""
    found, read_keys = old_messages(ext.links, ext.seam_us - LATE_LOOKBACK_SECONDS * US_PER_SECOND)
    old = OldMessages(
        found["id"], found["conversationId"] - 1, found["senderId"] - 1, found["createdAt"]
    )
    return late_reads(
        replace(ext.spec, time=grid_time(ext)),
        stream(ext.seed, "extension-late-reads"),
        old,
        members.offsets,
        members.user,
        members.joined_us,
        members.left_us,
        read_keys,
        (ext.seam_us, ext.end_us),
    )


def _on_day(late: LateReads, window: tuple[int, int]) -> LateReads:
    on = np.flatnonzero((late.read_us >= window[0]) & (late.read_us <= window[1]))
    return LateReads(late.message[on], late.member_row[on], late.read_us[on], late.component[on])


def _write_days(
    ext: Extension,
    grid: IntensityGrid,
    members: Members,
    rooms: Rooms,
    state: State,
    out: Path,
    compression: str,
    days: int,
    late: LateReads,
) -> list[WrittenFile]:
    """One shard per day of messages, attachments, read receipts and changes."""
    vocab = vocabulary(
        stream(str(ext.base["seed"]), "vocabulary"), ext.spec.content.vocabulary_words
    )
    spec = replace(ext.spec, time=grid_time(ext))
    rows = spec.output.row_group_rows
    first_ids = (state.max_message_id, state.max_attachment_id)
    files: list[WrittenFile] = []
    for index in range(days):  # days, not rows: each day's arrays are vectorized
        window = (ext.seam_us + index * US_PER_DAY, ext.seam_us + (index + 1) * US_PER_DAY - 1)
        day = generate_day(
            spec,
            ext.seed,
            index,
            grid,
            members,
            rooms,
            window,
            first_ids,
            vocab,
            ext.end_us,
            _on_day(late, window),
        )
        shard = day.shard
        messages = pa.Table.from_batches(
            list(batches.message_batches(spec, shard, rows)), TABLES["messages"].arrow_schema
        )
        files.append(_write(out, "messages", index, messages.to_batches(), compression))
        files.append(
            _write(
                out,
                "attachments",
                index,
                batches.attachment_batches(spec, shard, rows),
                compression,
            )
        )
        files.append(
            _write(
                out, "read_receipts", index, batches.receipt_batches(spec, shard, rows), compression
            )
        )
        content = messages.column("content").combine_chunks()
        change_rows = extend_tables.change_batches(day.changes, content, rows)
        files.append(
            write_shard(
                out,
                shard_path(CHANGES, index),
                extend_tables.CHANGES_TABLE,
                change_rows,
                compression,
            )
        )
        first_ids = (
            first_ids[0] + len(shard.message_id),
            first_ids[1] + len(shard.attachment_id),
        )
    return files


def grid_time(ext: Extension) -> Any:
    """The spec's time section over the extended window: the engine draws arrivals from it and
    drops reads after its snapshot (the extension's end)."""
    end = datetime.fromtimestamp(ext.end_us // US_PER_SECOND, tz=UTC).strftime(SNAPSHOT_FORMAT)
    days = (ext.end_us - ext.window_start_us) // US_PER_DAY
    return replace(ext.spec.time, snapshot=end, window_days=days)


def _write(out: Path, table: str, index: int, rows: Any, compression: str) -> WrittenFile:
    return write_shard(out, shard_path(table, index), TABLES[table], rows, compression)


def _manifest(
    ext: Extension, days: int, files: list[WrittenFile], seconds: float
) -> dict[str, Any]:
    entries = [
        FileEntry(
            f.path.split("/")[0],
            int(f.path.split("-")[-1].split(".")[0]),
            f.path,
            f.rows,
            f.bytes,
            f.sha256,
        )
        for f in files
    ]
    tables = sorted({e.table for e in entries})
    parent = ext.links[-1]
    return {
        "synthgen_version": __version__,
        "format": FORMAT_VERSION,
        "band": ext.base["band"],
        "scale": ext.base["scale"],
        "seed": ext.base["seed"],
        "compression": ext.base.get("compression", "zstd"),
        "spec": ext.base["spec"],
        "spec_sha256": ext.base.get("spec_sha256"),
        "dataset_sha256": dataset_digest(entries),
        "snapshot": datetime.fromtimestamp(ext.end_us // US_PER_SECOND, tz=UTC).strftime(
            SNAPSHOT_FORMAT
        ),
        "extension": {
            "number": ext.number,
            "days": days,
            "start_us": ext.seam_us,
            "end_us": ext.end_us,
            "base_dataset_sha256": ext.base["dataset_sha256"],
            "parent_dataset_sha256": parent.manifest["dataset_sha256"],
            "parent": str(parent.root.resolve()),
            "chain": [
                {
                    "number": link.number,
                    "dataset_sha256": link.manifest["dataset_sha256"],
                    "days": (extension_of(link.manifest) or {}).get("days"),
                }
                for link in ext.links
            ],
        },
        "counts": {t: sum(e.rows for e in entries if e.table == t) for t in tables},
        "shards": days,
        "files": [e.__dict__ for e in sorted(entries, key=lambda e: e.path)],
        "timings": {"total_seconds": round(seconds, 3)},
        "command": f"synthgen generate --from-manifest {MANIFEST_NAME} --out OUT",
    }
