"""Where a dataset's timeline stands at its snapshot: what `synthgen extend` continues from.

A dataset is a base (a `generate` build) or an extension of one (a delta, whose manifest names
its parent). The state is read from the base and every delta of the chain before the new one,
streaming each table's files a row group at a time (only a few integer columns are kept).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from numpy.typing import NDArray

from synthgen.contract import MEMBER_ROLES, SIZE_CLASSES
from synthgen.errors import DatasetError
from synthgen.manifest import (
    describe_problems,
    file_entries,
    file_problems,
    read_manifest,
)

I64 = NDArray[np.int64]
CHANGES = "changes"
NEVER = np.iinfo(np.int64).max  # the delta's table of updates and deletes (not a contract table)


@dataclass(frozen=True)
class Link:
    """One dataset of a chain: its directory and manifest."""

    root: Path
    manifest: dict[str, Any]

    @property
    def number(self) -> int:
        """0 for the base, else the extension's number."""
        ext = self.manifest.get("extension")
        return int(ext["number"]) if ext else 0


def extension_of(manifest: dict[str, Any]) -> dict[str, Any] | None:
    ext = manifest.get("extension")
    return ext if isinstance(ext, dict) else None


def read_chain(dataset: Path) -> list[Link]:
    """The base, then every delta up to `dataset`, each verified against its parent's hash."""
    links: list[Link] = []
    root = dataset
    while True:
        manifest = read_manifest(root)
        links.append(Link(root, manifest))
        ext = extension_of(manifest)
        if ext is None:
            break
        parent = Path(ext["parent"])
        if not (parent / "manifest.json").is_file():
            raise DatasetError(f"{root}: its parent dataset {parent} is missing")
        parent_manifest = read_manifest(parent)
        if parent_manifest.get("dataset_sha256") != ext["parent_dataset_sha256"]:
            raise DatasetError(
                f"{root}: its parent {parent} is not the dataset it extends "
                "(dataset_sha256 differs)"
            )
        root = parent
    links.reverse()
    return links


def verify_files(link: Link) -> None:
    problems = file_problems(link.root, file_entries(link.manifest))
    if problems:
        raise DatasetError(f"{link.root}: {describe_problems(problems)}")


def table_files(link: Link, table: str) -> list[Path]:
    return sorted(link.root / e["path"] for e in link.manifest["files"] if e["table"] == table)


def iter_columns(links: list[Link], table: str, columns: list[str]) -> Any:
    """Row groups of `columns` of `table` across the chain, as dicts of NumPy arrays."""
    for link in links:
        for path in table_files(link, table):
            parquet = pq.ParquetFile(path)
            for batch in parquet.iter_batches(columns=columns):
                yield {name: _numpy(batch.column(i)) for i, name in enumerate(columns)}


def _numpy(column: Any) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_timestamp(column.type):
        return column.cast(pa.int64()).to_numpy(zero_copy_only=False)
    if pa.types.is_string(column.type):
        return np.asarray(pc.fill_null(column, "").to_pylist(), dtype=object)
    return column.to_numpy(zero_copy_only=False)


@dataclass(frozen=True)
class State:
    """The timeline at the seam: ids so far, rooms, members, per-room message counts."""

    seam_us: int
    base_window_start_us: int
    users: int  # ids 1..users
    user_created_us: I64
    conv_created_us: I64  # index id - 1
    conv_kind: I64  # index into SIZE_CLASSES
    conv_heavy: NDArray[np.bool_]
    conv_messages: I64  # messages so far (base and earlier deltas)
    member_conv: I64  # sorted by conversation, then joinedAt
    member_user: I64
    member_joined_us: I64
    member_role: I64
    member_active: NDArray[np.bool_]
    member_left_us: I64  # when a member left in an earlier extension (NEVER if not)
    max_message_id: int
    max_attachment_id: int


def read_state(links: list[Link], seam_us: int, window_start_us: int) -> State:
    """The state after every dataset of `links` (base first)."""
    users = _concat(links, "users", ["id", "createdAt"])
    order = np.argsort(users["id"])
    convs = _concat(links, "conversations", ["id", "createdAt"])
    traits = _concat(links, "conversation_traits", ["conversationId", "isHeavy", "sizeClass"])
    n_conv = int(convs["id"].max(initial=0))
    created = np.zeros(n_conv, dtype=np.int64)
    created[convs["id"] - 1] = convs["createdAt"]
    kind = np.zeros(n_conv, dtype=np.int64)
    kind[traits["conversationId"] - 1] = _codes(traits["sizeClass"], SIZE_CLASSES)
    heavy = np.zeros(n_conv, dtype=bool)
    heavy[traits["conversationId"] - 1] = traits["isHeavy"].astype(bool)
    counts = np.zeros(n_conv, dtype=np.int64)
    max_message = 0
    for part in iter_columns(links, "messages", ["id", "conversationId"]):
        counts += np.bincount(part["conversationId"] - 1, minlength=n_conv)
        max_message = max(max_message, int(part["id"].max(initial=0)))
    for link in links[1:]:  # hard-deleted messages keep their ids used, not their counts
        for part in iter_columns([link], CHANGES, ["op", "conversationId"]):
            gone = part["conversationId"][part["op"] == "hard_delete"]
            counts -= np.bincount(gone - 1, minlength=n_conv)
    max_attachment = max(
        (int(p["id"].max(initial=0)) for p in iter_columns(links, "attachments", ["id"])),
        default=0,
    )
    members = _members(links)
    return State(
        seam_us=seam_us,
        base_window_start_us=window_start_us,
        users=len(order),
        user_created_us=users["createdAt"][order],
        conv_created_us=created,
        conv_kind=kind,
        conv_heavy=heavy,
        conv_messages=counts,
        max_message_id=max_message,
        max_attachment_id=max_attachment,
        **members,
    )


def _members(links: list[Link]) -> dict[str, Any]:
    rows = _concat(
        links,
        "conversation_users",
        ["conversationId", "userId", "role", "joinedAt", "isActive"],
    )
    left_us = np.full(len(rows["userId"]), NEVER, dtype=np.int64)
    keys = _pair_key(rows["conversationId"], rows["userId"])
    by_key = np.argsort(keys)
    for link in links[1:]:
        for part in iter_columns([link], CHANGES, ["op", "conversationId", "userId", "changedAt"]):
            left = part["op"] == "leave"
            key = _pair_key(part["conversationId"][left], part["userId"][left])
            row = by_key[np.searchsorted(keys, key, sorter=by_key)]
            left_us[row] = part["changedAt"][left]
    active = rows["isActive"].astype(bool) & (left_us == NEVER)
    order = np.lexsort((rows["userId"], rows["joinedAt"], rows["conversationId"]))
    return {
        "member_conv": rows["conversationId"][order],
        "member_user": rows["userId"][order],
        "member_joined_us": rows["joinedAt"][order],
        "member_role": _codes(rows["role"][order], MEMBER_ROLES),
        "member_active": active[order],
        "member_left_us": left_us[order],
    }


def _pair_key(conv: I64, user: I64) -> I64:
    return np.asarray(conv * (1 << 31) + user, dtype=np.int64)


def _codes(labels: Any, values: tuple[str, ...]) -> I64:
    table = np.asarray(values, dtype=object)
    codes = np.zeros(len(labels), dtype=np.int64)
    for code, value in enumerate(table):  # a few enumeration values, not rows
        codes[labels == value] = code
    return codes


def _concat(links: list[Link], table: str, columns: list[str]) -> dict[str, Any]:
    parts = list(iter_columns(links, table, columns))
    if not parts:
        return {c: np.zeros(0, dtype=np.int64) for c in columns}
    return {c: np.concatenate([p[c] for p in parts]) for c in columns}


def old_messages(links: list[Link], since_us: int) -> tuple[dict[str, I64], I64]:
    """The chain's messages created at or after `since_us` and not hard-deleted (id,
    conversationId, senderId, createdAt), and the sorted keys (message id x 2**31 + user id) of
    their receipts so far."""
    columns = ["id", "conversationId", "senderId", "createdAt"]
    parts = [
        {c: p[c][keep] for c in columns}
        for p in iter_columns(links, "messages", columns)
        if len(keep := np.flatnonzero(p["createdAt"] >= since_us))
    ]
    found = {c: np.concatenate([p[c] for p in parts]) if parts else _empty() for c in columns}
    gone = [
        p["messageId"][p["op"] == "hard_delete"]
        for p in iter_columns(links[1:], CHANGES, ["op", "messageId"])
    ]
    if gone:
        alive = ~np.isin(found["id"], np.concatenate(gone))
        found = {c: v[alive] for c, v in found.items()}
    first = int(found["id"].min(initial=np.iinfo(np.int64).max))
    keys = [
        p["messageId"][sel] * (1 << 31) + p["userId"][sel]
        for p in iter_columns(links, "read_receipts", ["messageId", "userId"])
        if len(sel := np.flatnonzero(p["messageId"] >= first))
    ]
    return found, np.sort(np.concatenate(keys)) if keys else _empty()


def _empty() -> I64:
    return np.zeros(0, dtype=np.int64)
