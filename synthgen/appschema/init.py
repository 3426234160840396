"""`synthgen mapping init`: a starting mapping from an existing schema, by name and type.

Tables and columns match by name (exact, then snake_case / camelCase / singular / PascalCase
forms and a few common synonyms) and by meaning (a foreign-key column named after the table it
matched, e.g. ``channelid``; a member table keyed by (room, user); a file table with a message
reference), id formats by the id column's type, enum values by label (exact, case-insensitive,
then synonyms); required foreign keys get their related-row fills. What could not be matched is
listed, so a user edits a mapping rather than writes one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from synthgen.appschema.catalog import Catalog, TargetColumn
from synthgen.mapping import ENUM_COLUMNS
from synthgen.schema import TABLES

TABLE_SYNONYMS = {
    "users": ("user", "account", "accounts", "member_profile"),
    "conversations": ("conversation", "chat", "chats", "room", "rooms", "channel", "channels"),
    "conversation_users": (
        "conversation_member", "conversation_members", "conversation_participant",
        "conversation_participants", "chat_member", "chat_members", "membership", "memberships",
        "room_member", "room_members", "participant", "participants",
    ),
    "messages": ("message", "post", "posts", "chat_message", "chat_messages"),
    "attachments": ("attachment", "message_attachment", "message_attachments", "file", "files"),
    "read_receipts": (
        "read_receipt", "message_read", "message_reads", "read", "reads", "receipt", "receipts",
    ),
}  # fmt: skip
COLUMN_SYNONYMS = {
    "displayName": ("name", "display_name", "username", "full_name", "fullName", "nickname"),
    "createdAt": ("created_at", "inserted_at", "created", "createat", "create_at", "create_time"),
    "updatedAt": ("updated_at", "modified_at", "updateat", "update_at", "update_time"),
    "lastSeenAt": ("last_seen_at", "last_active_at", "lastActiveAt", "lastactivityat"),
    "joinedAt": ("joined_at", "joinat", "createat", "created_at", "createdAt"),
    "lastReadAt": ("last_read_at", "lastviewedat", "last_viewed_at", "read_cursor"),
    "role": ("roles", "member_role"),
    "isActive": ("active",),
    "senderId": ("sender_id", "author_id", "authorId", "user_id", "userId"),
    "content": ("body", "text", "message"),
    "readAt": ("read_at", "seen_at", "seenAt"),
    "storageKey": ("storage_key", "key", "path", "object_key", "objectKey"),
    "sizeBytes": ("size_bytes", "size", "byte_size", "byteSize", "file_size", "fileSize"),
    "mimeType": ("mime_type", "content_type", "contentType"),
    "kind": ("type",),
}
VALUE_SYNONYMS = {
    "DIRECT": ("DIRECT_MESSAGE", "DM", "PRIVATE", "ONE_TO_ONE"),
    "GROUP": ("GROUP_CHAT", "GROUP_MESSAGE", "CHANNEL", "ROOM"),
    "DOCUMENT": ("FILE", "DOC"),
    "OWNER": ("CREATOR",),
    "MEMBER": ("USER", "PARTICIPANT"),
}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _key(name: str) -> str:
    """A name reduced for matching: lowercase, no underscores."""
    return name.replace("_", "").lower()


def _forms(name: str, synonyms: tuple[str, ...] = ()) -> list[str]:
    return [_key(n) for n in (name, _snake(name), *synonyms)]


@dataclass
class InitResult:
    mapping: dict[str, Any]
    matched: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)


def _id_format(column: TargetColumn) -> str:
    if column.base == "uuid":
        return "uuid7"
    if column.base in ("int8", "int4"):
        return "bigint"
    return "cuid"


def _match_table(table: str, catalog: Catalog, taken: set[str]) -> str | None:
    wanted = _forms(table, TABLE_SYNONYMS.get(table, ()))
    for form in wanted:  # in order of preference
        for name in catalog.tables:
            if name not in taken and _key(name) == form:
                return name
    return None


def _match_column(
    column: str, target: dict[str, TargetColumn], taken: set[str], more: tuple[str, ...] = ()
) -> str | None:
    for form in _forms(column, (*COLUMN_SYNONYMS.get(column, ()), *more)):
        for name in target:
            if name not in taken and _key(name) == form:
                return name
    return None


def _match_value(value: str, labels: tuple[str, ...]) -> str | None:
    for candidate in (value, *VALUE_SYNONYMS.get(value, ())):
        for label in labels:
            if label.upper() == candidate.upper():
                return label
    return None


def _by_meaning(table: str, matched: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """Extra names of a table's foreign-key columns: the matched table's own name in the
    singular + id (`channelid` when conversations matched `channels`, `postid` for posts)."""
    out: dict[str, tuple[str, ...]] = {}
    for column, ref, _ in TABLES[table].foreign_keys:
        name = matched.get(ref)
        if name is not None:
            single = name[:-1] if name.lower().endswith("s") else name
            out[column] = (f"{single}Id", f"{single}_id")
    return out


def _by_shape(table: str, catalog: Catalog, matched: dict[str, str]) -> str | None:
    """A table the name did not match, by its shape: a member table keyed by (room, user); a
    file table with a reference to the message."""
    extra = _by_meaning(table, matched)
    files = ("file", "attach", "upload", "media", "asset")
    for name, target in catalog.tables.items():
        if name in matched.values():
            continue
        room, user, message = (
            _match_column(c, target.columns, set(), extra.get(c, ()))
            for c in ("conversationId", "userId", "messageId")
        )
        pair = {room, user}
        keyed = None not in pair and any(set(k) == pair for k in target.keys)
        if table == "conversation_users" and keyed:
            return name
        filed = message is not None and any(w in name.lower() for w in files)
        if table == "attachments" and filed:
            return name
    return None


def _key_fills(
    table: str, name: str, catalog: Catalog, matched: dict[str, str], taken: set[str]
) -> dict[str, Any]:
    """Related-row fills for the required foreign keys the contract has no column for."""
    from synthgen.appschema.refs import REFERABLE, default_ref

    loaded = {v: k for k, v in matched.items()}
    fills: dict[str, Any] = {}
    for column in catalog.tables[name].columns.values():
        ref = column.references
        if column.name in taken or not column.required or ref is None:
            continue
        referenced = loaded.get(ref.table)
        if referenced in REFERABLE:
            fills[column.name] = default_ref(table, str(referenced))
    return fills


def init_mapping(catalog: Catalog) -> InitResult:
    """Match the contract against `catalog`; the mapping plus what matched and what did not."""
    result = InitResult({"schema": catalog.schema, "tables": {}, "values": {}})
    taken_tables: set[str] = set()
    matched: dict[str, str] = {}
    application = [t for t in TABLES.values() if t.application]
    for table in application:  # by name first, then by shape (which needs the other matches)
        found = _match_table(table.name, catalog, taken_tables)
        if found is not None:
            matched[table.name] = found
            taken_tables.add(found)
    for table in application:
        found = matched.get(table.name) or _by_shape(table.name, catalog, matched)
        if found is not None:
            matched[table.name] = found
            taken_tables.add(found)
    for table in application:
        name = matched.get(table.name)
        if name is None:
            result.unmatched.append(f"table {table.name}: no table matches; skipped")
            result.mapping["tables"][table.name] = {"skip": True}
            continue
        target = catalog.tables[name].columns
        extra = _by_meaning(table.name, matched)
        entry: dict[str, Any] = {"name": name}
        renames: dict[str, str] = {}
        taken_columns: set[str] = set()
        for column in table.columns:
            found = _match_column(column.name, target, taken_columns, extra.get(column.name, ()))
            if found is None:
                result.unmatched.append(f"{table.name}.{column.name}: no column of {name} matches")
                continue
            taken_columns.add(found)
            if found != column.name:
                renames[column.name] = found
            key = f"{table.name}.{column.name}"
            if key in ENUM_COLUMNS and target[found].is_enum:
                values: dict[str, str] = {}
                for value in ENUM_COLUMNS[key]:
                    label = _match_value(value, target[found].labels)
                    if label is None:
                        result.unmatched.append(
                            f"{key}: value {value} has no label in {target[found].type_name}"
                        )
                    elif label != value:
                        values[value] = label
                if values:
                    result.mapping["values"][key] = values
        if renames:
            entry["columns"] = renames
        fills = _key_fills(table.name, name, catalog, matched, taken_columns)
        if fills:
            entry["fill"] = fills
        id_column = target.get("id")
        if id_column is not None:
            fmt = _id_format(id_column)
            if "id" in table.column_names:
                entry["id"] = fmt
            else:
                entry["id"] = {"column": "id", "format": fmt}
        result.mapping["tables"][table.name] = entry
        result.matched.append(f"{table.name} -> {name}")
        required = [
            c.name
            for c in target.values()
            if c.required and c.name not in taken_columns and c.name != "id"
        ]
        if required:
            result.unmatched.append(
                f"{name}: {', '.join(required)} not produced by the contract (NOT NULL, no "
                "default): automatic fills apply, see `synthgen load --plan`"
            )
    for name in catalog.tables:
        if name not in taken_tables:
            result.unmatched.append(f"table {name} of the schema: no contract table (not loaded)")
    if not result.mapping["values"]:
        del result.mapping["values"]
    return result
