"""Tiny hand-made datasets for the unit tests of each fidelity check (SDMetrics' style: one
metric, known input, known score).

`tiny.world({"dotted.spec.field": value, ...})` starts an empty world on the shipped spec with
those fields changed. The test adds users, conversations, messages and receipts with the figures
it needs; `world.tables()` derives everything else the dataset contract requires (ids in
arrival order, attachments of media messages, updatedAt, lastReadAt, conversation_traits) and
returns the rows, which the test may still change; `world.write(directory, tables)` writes one
Parquet file per table (or several, `split=`) and a manifest exactly as the gate reads them,
with a band "tiny" whose totals are the world's own unless the spec changes say otherwise.
`tiny.run(dataset, "check_name", tolerance)` runs that one check on its own DuckDB connection
and returns its Outcome; `tiny.metric(outcome, "name part")` picks a metric out of it.

Every name, address and text here is synthetic (example.com, made-up words).

Tests reach these helpers through the `tiny` fixture of tests/unit/fidelity/conftest.py.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from synthgen.fidelity.checks import CHECKS
from synthgen.fidelity.context import CheckContext
from synthgen.fidelity.dataset import connect, open_dataset
from synthgen.fidelity.expected import band_counts
from synthgen.fidelity.results import Metric, Outcome, Status, check_status
from synthgen.schema import TABLES
from synthgen.spec import DEFAULT_SPEC_PATH, Spec, parse_spec

US = 1_000_000
MINUTE = 60 * US
HOUR = 3600 * US
DAY = 24 * HOUR
BAND = "tiny"
Row = dict[str, Any]
TEXT_BODY = "lorem ipsum"  # a TEXT message's content unless told; media get no caption unless told
Tables = dict[str, list[Row]]


def _set(raw: dict[str, Any], field: str, value: Any) -> None:
    *parents, leaf = field.split(".")
    node = raw
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value


@dataclass(frozen=True)
class TinyDataset:
    """A written dataset directory and the spec it was written for."""

    root: Path
    spec: Spec
    tables: Tables


class World:
    """A minimal dataset under construction: rows for the tables the test cares about."""

    def __init__(self, changes: dict[str, Any] | None = None) -> None:
        raw = json.loads(DEFAULT_SPEC_PATH.read_text())
        raw["bands"] = {}
        for field, value in (changes or {}).items():
            _set(raw, field, value)
        self.raw = raw
        self.snapshot = parse_spec(self._raw_with_band(1, 1, 1)).time.snapshot_us
        self.users: list[Row] = []
        self.conversations: list[Row] = []
        self.members: list[Row] = []
        self.messages: list[Row] = []
        self.receipts: list[tuple[Row, int, int]] = []  # (message, reader, readAt)
        self.heavy: dict[int, bool] = {}
        self.size_class: dict[int, str] = {}

    # --- building --------------------------------------------------------------------------

    def at(self, days: float = 0, hours: float = 0, seconds: float = 0) -> int:
        """The instant that long before the snapshot, in microseconds since the epoch."""
        return self.snapshot - round(days * DAY + hours * HOUR + seconds * US)

    def user(self, created: int | None = None, email: str | None = None) -> int:
        """A user (id in sign-up order); created a year before the snapshot unless told."""
        uid = len(self.users) + 1
        created = self.at(days=400) + uid * US if created is None else created
        self.users.append(
            {
                "id": uid,
                "email": email or f"member{uid}@example.com",
                "displayName": f"tester {'abcdefghijklmnopqrstuvwxyz'[uid % 26]}",
                "createdAt": created,
                "lastSeenAt": self.at(days=1),
            }
        )
        return uid

    def add_users(self, n: int) -> list[int]:
        """n new users."""
        return [self.user() for _ in range(n)]

    def conversation(
        self,
        members: list[int],
        created: int | None = None,
        heavy: bool = False,
        size_class: str | None = None,
        kind: str | None = None,
    ) -> int:
        """A conversation of these members, who join when it is created (DIRECT for two, else
        GROUP; the size class follows the spec's small-group range unless told)."""
        cid = len(self.conversations) + 1
        created = self.at(days=60) if created is None else created
        kind = kind or ("DIRECT" if len(members) == 2 else "GROUP")
        self.conversations.append(
            {"id": cid, "type": kind, "title": None, "createdAt": created, "updatedAt": created}
        )
        for i, uid in enumerate(members):
            self.members.append(
                {
                    "conversationId": cid,
                    "userId": uid,
                    "role": "OWNER" if i == 0 else "MEMBER",
                    "joinedAt": created,
                    "lastReadAt": None,
                    "isActive": True,
                }
            )
        small_max = self.raw["conversations"]["small_group"]["max_members"]
        default = (
            "direct" if kind == "DIRECT" else "small" if len(members) <= small_max else "large"
        )
        self.size_class[cid] = size_class or default
        self.heavy[cid] = heavy
        return cid

    def member_ids(self, cid: int) -> list[int]:
        """The members of a conversation, in joining order."""
        return [m["userId"] for m in self.members if m["conversationId"] == cid]

    def message(
        self,
        cid: int,
        at: int,
        sender: int | None = None,
        kind: str = "TEXT",
        content: str | None = TEXT_BODY,
    ) -> Row:
        """A message (its id is given in createdAt order by tables()); media messages get no
        caption unless `content` is given, and an attachment of their kind."""
        sender = self.member_ids(cid)[0] if sender is None else sender
        row: Row = {
            "id": None,
            "conversationId": cid,
            "senderId": sender,
            "type": kind,
            "content": None if kind != "TEXT" and content == TEXT_BODY else content,
            "createdAt": at,
        }
        self.messages.append(row)
        return row

    def add_messages(
        self,
        cid: int,
        n: int,
        start: int,
        gap_us: int = MINUTE,
        kind: str = "TEXT",
        content: str | None = TEXT_BODY,
    ) -> list[Row]:
        """n messages `gap_us` apart from `start`, sent by the members in turn."""
        members = self.member_ids(cid)
        return [
            self.message(cid, start + i * gap_us, members[i % len(members)], kind, content)
            for i in range(n)
        ]

    def receipt(self, message: Row, reader: int, delay_us: int) -> None:
        """`reader` read `message` `delay_us` after it was sent."""
        self.receipts.append((message, reader, message["createdAt"] + delay_us))

    # --- deriving ----------------------------------------------------------------------------

    def tables(self) -> Tables:
        """Every table's rows in arrival order, with everything derived the contract requires."""
        order = sorted(range(len(self.messages)), key=lambda i: self.messages[i]["createdAt"])
        for new_id, i in enumerate(order, start=1):
            self.messages[i]["id"] = new_id
        messages = [dict(self.messages[i]) for i in order]
        attachments = []
        for m in messages:
            if m["type"] != "TEXT":
                mimes = sorted(self.raw["media"]["attachments"][m["type"]]["mime_types"])
                aid = len(attachments) + 1
                attachments.append(
                    {
                        "id": aid,
                        "messageId": m["id"],
                        "kind": m["type"],
                        "mimeType": mimes[0],
                        "sizeBytes": 1000,
                        "storageKey": f"att/c{m['conversationId']}/a{aid}.bin",
                        "createdAt": m["createdAt"],
                    }
                )
        receipts = sorted(
            ({"messageId": m["id"], "userId": u, "readAt": t} for m, u, t in self.receipts),
            key=lambda r: (r["readAt"], r["messageId"], r["userId"]),
        )
        last_read: dict[tuple[int, int], int] = {}
        by_id = {m["id"]: m for m in messages}
        for r in receipts:
            key = (by_id[r["messageId"]]["conversationId"], r["userId"])
            last_read[key] = max(last_read.get(key, r["readAt"]), r["readAt"])
        members = [
            {**m, "lastReadAt": last_read.get((m["conversationId"], m["userId"]))}
            for m in sorted(
                self.members, key=lambda m: (m["joinedAt"], m["conversationId"], m["userId"])
            )
        ]
        last: dict[int, int] = defaultdict(int)
        for m in messages:
            last[m["conversationId"]] = max(last[m["conversationId"]], m["createdAt"])
        conversations = [
            {**c, "updatedAt": last.get(c["id"], c["createdAt"])} for c in self.conversations
        ]
        traits = [
            {"conversationId": c["id"], "isHeavy": self.heavy[c["id"]], "sizeClass": sc}
            for c in self.conversations
            for sc in [self.size_class[c["id"]]]
        ]
        return {
            "users": [dict(u) for u in self.users],
            "conversations": conversations,
            "conversation_users": members,
            "messages": messages,
            "attachments": attachments,
            "read_receipts": receipts,
            "conversation_traits": traits,
        }

    # --- writing -----------------------------------------------------------------------------

    def _raw_with_band(self, users: int, conversations: int, messages: int) -> dict[str, Any]:
        raw = copy.deepcopy(self.raw)
        band = {"users": users, "conversations": conversations, "messages": messages}
        raw["bands"][BAND] = {**band, **raw["bands"].get(BAND, {})}
        return raw

    def spec_for(self, tables: Tables) -> Spec:
        """The spec: the shipped one with the world's changes, and the band "tiny" whose totals
        are the tables' own unless a change set them."""
        return parse_spec(
            self._raw_with_band(
                max(1, len(tables["users"])),
                max(1, len(tables["conversations"])),
                max(1, len(tables["messages"])),
            ),
            source="tiny spec",
        )

    def write(
        self,
        directory: Path,
        tables: Tables | None = None,
        split: dict[str, list[int]] | None = None,
    ) -> TinyDataset:
        """Write the tables (default: tables()) as a dataset: table/part-NNNNN.parquet and
        manifest.json. `split` cuts a table into several files before the given row indexes."""
        tables = self.tables() if tables is None else tables
        spec = self.spec_for(tables)
        directory.mkdir(parents=True, exist_ok=True)
        files = []
        for name, table in TABLES.items():
            rows = tables[name]
            cuts = [0, *(split or {}).get(name, []), len(rows)]
            (directory / name).mkdir(exist_ok=True)
            for shard, (a, b) in enumerate(pairwise(cuts)):
                path = directory / name / f"part-{shard:05d}.parquet"
                pq.write_table(pa.Table.from_pylist(rows[a:b], schema=table.arrow_schema), path)
                data = path.read_bytes()
                files.append(
                    {
                        "table": name,
                        "shard": shard,
                        "path": f"{name}/{path.name}",
                        "rows": b - a,
                        "bytes": len(data),
                        "sha256": hashlib.sha256(data).hexdigest(),
                    }
                )
        # the gate's dataset digest: sha256 over the sorted "path sha256" lines of the files
        lines = sorted(f"{f['path']} {f['sha256']}" for f in files)
        manifest = {
            "band": BAND,
            "scale": 1.0,
            "seed": "tiny",
            "spec": spec.raw,
            "spec_sha256": spec.digest,
            "counts": {name: len(rows) for name, rows in tables.items()},
            "files": files,
            "dataset_sha256": hashlib.sha256("\n".join(lines).encode()).hexdigest(),
        }
        (directory / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
        return TinyDataset(directory, spec, tables)


def basic(changes: dict[str, Any] | None = None) -> World:
    """A small valid world: 4 users; a DIRECT conversation (users 1, 2) and a group (1, 2, 3),
    both opened 60 days before the snapshot; 6 messages in each, a minute apart (the group's
    third an IMAGE), the DIRECT's an hour after the group's; every other member reads each
    message 10 seconds after it was sent. Ids: messages 1-6 are the group's, 7-12 the DIRECT's."""
    w = World(changes)
    users = w.add_users(4)
    direct = w.conversation(users[:2])
    group = w.conversation(users[:3])
    start = w.at(days=59)
    sent = w.add_messages(group, 2, start)
    sent.append(w.message(group, start + 2 * MINUTE, users[2], kind="IMAGE"))
    sent += w.add_messages(group, 3, start + 3 * MINUTE)
    sent += w.add_messages(direct, 6, start + HOUR)
    for m in sent:
        for reader in w.member_ids(m["conversationId"]):
            if reader != m["senderId"]:
                w.receipt(m, reader, 10 * US)
    return w


_KINDS: dict[int, str] = {}  # id of an Outcome -> the kind of the check that returned it


def run(dataset: TinyDataset, check: str, tolerance: float = 0.15) -> Outcome:
    """Run one check of the gate's registry on the dataset, as the runner does."""
    opened = open_dataset(dataset.root)
    counts = band_counts(dataset.spec, opened.band, opened.scale)
    with connect(opened, threads=1) as con:
        ctx = CheckContext(con, dataset.spec, opened, counts, tolerance)
        (found,) = [c for c in CHECKS if c.name == check]
        outcome = found.run(ctx)
        _KINDS[id(outcome)] = found.kind
        return outcome


def metric(outcome: Outcome, name_part: str) -> Metric:
    """The metric named `name_part`, else the one metric whose name contains it."""
    found = [m for m in outcome.metrics if m.name == name_part] or [
        m for m in outcome.metrics if name_part in m.name
    ]
    assert len(found) == 1, [m.name for m in outcome.metrics]
    return found[0]


def _status(outcome: Outcome) -> str:
    """The check's status as the runner gives it (its kind from the check that ran)."""
    return check_status(outcome.metrics, _KINDS.get(id(outcome), "distribution"))


class Tiny:
    """The helpers above, as one object for tests."""

    US, MINUTE, HOUR, DAY = US, MINUTE, HOUR, DAY
    Status = Status
    world = World
    basic = staticmethod(basic)
    run = staticmethod(run)
    metric = staticmethod(metric)
    status = staticmethod(_status)
