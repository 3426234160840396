"""Reading a normalized statement from pg_stat_statements: its literals, tables and parameters.

A small lexer, not a parser: it finds string literals (which must never leave production),
drops comments (they may carry anything, e.g. a tracing tag with a user's name), lists the
identifiers the statement names, and for each `$n` the column it is compared with. Kinds follow
from the mapping: a conversation id -> `conversation`, a user id -> `user`, a time column ->
`conversation_cursor` (a time inside the sampled room; without a room `timestamp`, a point in
time), `LIMIT $n` -> a constant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from synthgen.mapping import Mapping
from synthgen.schema import TABLES

# contract (table, column) -> the kind of value compared with it
CONVERSATION_IDS = {
    ("conversations", "id"),
    ("conversation_users", "conversationId"),
    ("messages", "conversationId"),
}
USER_IDS = {
    ("users", "id"),
    ("conversation_users", "userId"),
    ("messages", "senderId"),
    ("read_receipts", "userId"),
}
TIME_COLUMNS = {
    ("messages", "createdAt"),
    ("conversations", "updatedAt"),
    ("conversations", "createdAt"),
    ("conversation_users", "lastReadAt"),
    ("read_receipts", "readAt"),
    ("users", "createdAt"),
}
WRITE_WORDS = {"insert", "update", "delete", "merge"}
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")
_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_COLREF = rf"(?:({_IDENT})\s*\.\s*)?({_IDENT})"
_OPS = r"(?:=|<>|!=|<=|>=|<|>)"
_TABLE_REF = re.compile(
    rf"\b(?:from|join|update|into)\s+(?:only\s+)?(?:{_IDENT}\s*\.\s*)?({_IDENT})"
    rf"(?:\s+(?:as\s+)?({_IDENT}))?",
    re.IGNORECASE,
)
_NOT_ALIAS = {
    "where", "on", "join", "inner", "left", "right", "full", "cross", "natural", "group",
    "order", "limit", "offset", "set", "values", "using", "returning", "as", "select", "union",
    "lateral", "for", "having", "window", "default", "except", "intersect", "fetch",
}  # fmt: skip


@dataclass(frozen=True)
class Lexed:
    """A statement with its comments removed, and whether it held a string literal."""

    text: str
    has_literal: bool


def lex(sql: str) -> Lexed:
    """Remove comments; note string literals ('...', E'...', $tag$...$tag$) without keeping them."""
    out: list[str] = []
    literal = False
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch == "'":
            end = i + 1
            while end < n and not (sql[end] == "'" and sql[end + 1 : end + 2] != "'"):
                end += 2 if sql[end] == "'" else 1
            literal, i = True, end + 1
            out.append("''")  # a placeholder: the literal itself is never kept
            continue
        if ch == '"':
            end = sql.find('"', i + 1)
            while end >= 0 and sql[end + 1 : end + 2] == '"':
                end = sql.find('"', end + 2)
            end = n - 1 if end < 0 else end
            out.append(sql[i : end + 1])
            i = end + 1
            continue
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end
            continue
        if sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
            out.append(" ")
            continue
        tag = _DOLLAR_TAG.match(sql, i) if ch == "$" else None
        if tag is not None and not (i > 0 and (sql[i - 1].isalnum() or sql[i - 1] == "_")):
            close = sql.find(tag.group(0), tag.end())
            literal, i = True, (n if close < 0 else close + len(tag.group(0)))
            out.append("''")
            continue
        out.append(ch)
        i += 1
    text = " ".join("".join(out).split())
    return Lexed(text, literal)


def unquote(identifier: str) -> str:
    """An identifier as the catalog spells it: quoted kept as is, unquoted folded to lower case."""
    if identifier.startswith('"'):
        return identifier[1:-1].replace('""', '"')
    return identifier.lower()


def statement_kind(text: str) -> str:
    """'write' (INSERT/UPDATE/DELETE/MERGE anywhere), 'read' (SELECT/WITH/TABLE), else 'other'."""
    words = {w.lower() for w in re.findall(r"\b[A-Za-z]+\b", re.sub(r'"[^"]*"', " ", text))}
    first = text.split(None, 1)[0].lower() if text.strip() else ""
    if first in ("select", "with", "insert", "update", "delete", "merge") and words & WRITE_WORDS:
        return "write"
    return "read" if first in ("select", "with", "table", "values") else "other"


def identifiers(text: str) -> set[str]:
    """Every identifier the statement names, as the catalog spells it."""
    return {unquote(m.group(0)) for m in re.finditer(_IDENT, text)}


@dataclass
class Inferred:
    """What the parameters of one statement stand for."""

    kinds: dict[int, str] = field(default_factory=dict)  # $n -> conversation, user, time
    columns: dict[int, str] = field(default_factory=dict)  # $n -> "table.column" (production)
    contract: dict[int, tuple[str, str]] = field(default_factory=dict)
    limits: list[int] = field(default_factory=list)  # $n of LIMIT / OFFSET
    offsets: list[int] = field(default_factory=list)
    unknown: dict[int, str] = field(default_factory=dict)  # $n -> why it cannot be inferred


class Resolver:
    """Production names -> contract (table, column), through the mapping."""

    def __init__(self, mapping: Mapping, tables: tuple[str, ...]) -> None:
        self.by_table = {mapping.table_name(t): t for t in tables}
        self.columns = {
            t: {mapping.column_name(t, c): c for c in _contract_columns(t)} for t in tables
        }

    def aliases(self, text: str) -> dict[str, str]:
        """alias (or table name) -> contract table, for the mapped tables the text names."""
        found: dict[str, str] = {}
        for match in _TABLE_REF.finditer(text):
            table = self.by_table.get(unquote(match.group(1)))
            if table is None:
                continue
            found[unquote(match.group(1))] = table
            alias = match.group(2)
            if alias and alias.lower() not in _NOT_ALIAS:
                found[unquote(alias)] = table
        return found

    def resolve(
        self, qualifier: str | None, column: str, aliases: dict[str, str]
    ) -> tuple[str, str] | None:
        name = unquote(column)
        if qualifier is not None:
            table = aliases.get(unquote(qualifier))
            if table is None or name not in self.columns[table]:
                return None
            return (table, self.columns[table][name])
        hits = {
            (t, self.columns[t][name]) for t in set(aliases.values()) if name in self.columns[t]
        }
        return hits.pop() if len(hits) == 1 else None


def _contract_columns(table: str) -> tuple[str, ...]:
    return tuple(TABLES[table].column_names)


def _kind_of(key: tuple[str, str]) -> str | None:
    if key in CONVERSATION_IDS:
        return "conversation"
    if key in USER_IDS:
        return "user"
    if key in TIME_COLUMNS:
        return "time"
    return None


def infer(text: str, resolver: Resolver) -> Inferred:
    """The kind of every `$n` of a statement (or why it cannot be told)."""
    aliases = resolver.aliases(text)
    found = Inferred()
    positions = sorted({int(n) for n in re.findall(r"\$(\d+)\b", text)})
    for n in positions:
        if re.search(rf"\blimit\s+\${n}\b", text, re.IGNORECASE):
            found.limits.append(n)
            continue
        if re.search(rf"\boffset\s+\${n}\b", text, re.IGNORECASE):
            found.offsets.append(n)
            continue
        refs = [
            (m.group(1), m.group(2))
            for pattern in (
                rf"{_COLREF}\s*{_OPS}\s*\${n}\b(?!\s*\.)",
                rf"\${n}\b\s*{_OPS}\s*{_COLREF}",
            )
            for m in re.finditer(pattern, text)
        ]
        keys = {resolver.resolve(q, c, aliases) for q, c in refs}
        kinds = {_kind_of(k) for k in keys if k is not None}
        if not refs:
            found.unknown[n] = "not compared with a column"
        elif None in keys or None in kinds or len(kinds) != 1:
            names = ", ".join(sorted(f"{q + '.' if q else ''}{c}" for q, c in refs))
            found.unknown[n] = f"compared with {names}: no id or time column of the mapping"
        else:
            key = next(k for k in keys if k is not None)
            found.kinds[n] = kinds.pop()  # type: ignore[assignment]
            found.contract[n] = key
    return found
