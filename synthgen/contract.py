"""The data contract: every table, column, key and enumeration of a dataset, in plain Python.

This is the one place a table, a column or an enumerated value is defined. Everything else reads
it: synthgen.schema derives the Arrow types and the PostgreSQL DDL, the engine its codes (a code
is the index of a value in its enumeration), the gate the values it accepts, the sampler its
categories, the loader its tables and keys. No third-party import, so the engine may use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Enumerations. The engine draws codes; code i means the i-th value.
CONVERSATION_TYPES = ("DIRECT", "GROUP")
MEMBER_ROLES = ("OWNER", "ADMIN", "MEMBER")
MESSAGE_TYPES = ("TEXT", "IMAGE", "VIDEO", "DOCUMENT", "AUDIO")
TEXT_TYPE = 0  # MESSAGE_TYPES[TEXT_TYPE] == "TEXT"; every other type is a media kind
MEDIA_KINDS = MESSAGE_TYPES[1:]  # an attachment's kind is its message's type
SIZE_CLASSES = ("direct", "small", "large")  # conversation_traits.sizeClass
# The same classes as the spec names them (its conversations.mix keys) and as the sampler classes
# production's conversations: CONVERSATION_KINDS[i] is the kind whose trait is SIZE_CLASSES[i].
CONVERSATION_KINDS = ("direct", "small_group", "large_group")
# the sampler counts a production value outside an enumeration as this (never the value itself)
OTHER = "OTHER"

# The enumerations under the names of the application's Prisma enums
ENUMS: dict[str, tuple[str, ...]] = {
    "ConversationType": CONVERSATION_TYPES,
    "MemberRole": MEMBER_ROLES,
    "MessageType": MESSAGE_TYPES,
}

# Logical column types (synthgen.schema maps them to Arrow and PostgreSQL types)
INT64, TEXT, TIMESTAMP, BOOL = "int64", "text", "timestamp", "bool"

# foreign keys that repeat a lot inside a shard (a room's messages, a user's receipts)
DICTIONARY_KEYS = ("conversationId", "senderId", "userId")
# free text (not an enum): plain encoding, and every one is scanned for personal data
FREE_TEXT = ("email", "displayName", "title", "content", "storageKey")


@dataclass(frozen=True)
class ColumnDef:
    """A column: its name, logical type, nullability; `statistics` False for free text no reader
    prunes on; `encoding` only where the column's role does not decide it (synthgen.schema)."""

    name: str
    type: str
    nullable: bool = False
    statistics: bool = True
    encoding: str | None = None

    @property
    def free_text(self) -> bool:
        return self.name in FREE_TEXT


@dataclass(frozen=True)
class TableDef:
    name: str
    columns: tuple[ColumnDef, ...]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[tuple[str, str, str], ...] = ()  # (column, referenced table, its column)
    application: bool = True  # False for sidecars that are not part of the app schema


def _c(
    name: str,
    type_: str,
    nullable: bool = False,
    statistics: bool = True,
    encoding: str | None = None,
) -> ColumnDef:
    return ColumnDef(name, type_, nullable, statistics, encoding)


TABLES: dict[str, TableDef] = {
    t.name: t
    for t in (
        TableDef(
            "users",
            (
                _c("id", INT64),
                _c("email", TEXT),
                _c("displayName", TEXT),
                _c("createdAt", TIMESTAMP),
                _c("lastSeenAt", TIMESTAMP),
            ),
            ("id",),
        ),
        TableDef(
            "conversations",
            (
                _c("id", INT64),
                _c("type", TEXT),
                _c("title", TEXT, True),
                _c("createdAt", TIMESTAMP),
                _c("updatedAt", TIMESTAMP),
            ),
            ("id",),
        ),
        TableDef(
            "conversation_users",
            (
                _c("conversationId", INT64),  # rows are in joinedAt order
                _c("userId", INT64),
                _c("role", TEXT),
                _c("joinedAt", TIMESTAMP),
                _c("lastReadAt", TIMESTAMP, True),
                _c("isActive", BOOL),
            ),
            ("conversationId", "userId"),
            (("conversationId", "conversations", "id"), ("userId", "users", "id")),
        ),
        TableDef(
            "messages",
            (
                _c("id", INT64),
                _c("conversationId", INT64),
                _c("senderId", INT64),
                _c("type", TEXT),
                _c("content", TEXT, True, statistics=False),
                _c("createdAt", TIMESTAMP),
            ),
            ("id",),
            (("conversationId", "conversations", "id"), ("senderId", "users", "id")),
        ),
        TableDef(
            "attachments",
            (
                _c("id", INT64),
                _c("messageId", INT64),
                _c("kind", TEXT),
                _c("mimeType", TEXT),
                _c("sizeBytes", INT64),
                _c("storageKey", TEXT, statistics=False),
                _c("createdAt", TIMESTAMP),
            ),
            ("id",),
            (("messageId", "messages", "id"),),
        ),
        TableDef(
            "read_receipts",
            (_c("messageId", INT64), _c("userId", INT64), _c("readAt", TIMESTAMP)),
            ("messageId", "userId"),
            (("messageId", "messages", "id"), ("userId", "users", "id")),
        ),
        TableDef(
            "conversation_traits",
            (
                _c("conversationId", INT64, encoding="delta"),  # one row per conversation, in order
                _c("isHeavy", BOOL),
                _c("sizeClass", TEXT),
            ),
            ("conversationId",),
            (("conversationId", "conversations", "id"),),
            application=False,
        ),
    )
}

# The tables the skeleton gives (written once, after the shards) and those each message shard
# writes; together every table of TABLES.
SKELETON_TABLES = ("users", "conversations", "conversation_users", "conversation_traits")
MESSAGE_TABLES = ("messages", "attachments", "read_receipts")
ALL_TABLES = (*SKELETON_TABLES, *MESSAGE_TABLES)

# The values each enumerated column may hold
ENUM_COLUMNS: dict[tuple[str, str], tuple[str, ...]] = {
    ("conversations", "type"): CONVERSATION_TYPES,
    ("conversation_users", "role"): MEMBER_ROLES,
    ("messages", "type"): MESSAGE_TYPES,
    ("attachments", "kind"): MEDIA_KINDS,
    ("conversation_traits", "sizeClass"): SIZE_CLASSES,
}


def free_text_columns() -> list[tuple[str, str]]:
    """(table, column) of every free-text column of every table, in table order."""
    return [(t.name, c.name) for t in TABLES.values() for c in t.columns if c.free_text]


# File extensions of the storage keys: the usual one where the subtype is not it
KNOWN_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/svg+xml": "svg",
    "video/quicktime": "mov",
    "text/plain": "txt",
    "audio/mpeg": "mp3",
    "application/msword": "doc",
}
# Subtypes of the vendor and personal trees name a format, not an extension: they get "bin"
# (the default spec's DOCUMENT MIME types include one, and its storage keys end in .bin)
OPAQUE_TREES = ("vnd.", "prs.")
EXTENSION_CHARS = 8


def file_extension(mime_type: str) -> str:
    """The extension of a storage key for any MIME type: the usual one where known; "bin" for a
    vendor-tree subtype; else the subtype itself (parameters, a structured-syntax suffix and an
    x- prefix dropped, letters and digits kept, at most EXTENSION_CHARS), "bin" if nothing is
    left. Never a path separator or a dot, whatever the input."""
    key = mime_type.split(";", 1)[0].strip().lower()
    if key in KNOWN_EXTENSIONS:
        return KNOWN_EXTENSIONS[key]
    subtype = key.split("/", 1)[1] if "/" in key else ""
    if subtype.startswith(OPAQUE_TREES):
        return "bin"
    subtype = subtype.split("+", 1)[0].removeprefix("x-")
    cleaned = re.sub(r"[^a-z0-9]", "", subtype)[:EXTENSION_CHARS]
    return cleaned or "bin"
