"""Which indexes duplicate which: the one set of rules for `indexes apply`, `verify compare` and
anything that drops a candidate an existing index already covers.

Two indexes of one table, access method and predicate are related when their keys are the same
(also read backward, or reversed after equality-pinned columns), differ only by INCLUDE columns,
or one is a prefix of the other. Both sides are read from `CREATE INDEX` text through one
normaliser (identifiers folded, quotes, casts and outer parentheses dropped).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from synthgen.postgres.connect import Connection, fetch_all

_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)'
_HEAD = re.compile(
    rf"^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?"
    rf"({_IDENT})?\s*ON\s+(?:ONLY\s+)?((?:{_IDENT}\s*\.\s*)?{_IDENT})\s*"
    rf"(?:USING\s+(\w+)\s*)?\(",
    re.I | re.S,
)
_TOKEN = re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")+"|::\s*[A-Za-z_][\w ]*?(?=[^\w ]|$)|\w+|\S""")
_DIRECTION = re.compile(r"\s+(ASC|DESC)?\s*(?:NULLS\s+(FIRST|LAST))?\s*$", re.I)
_CATALOG = """
SELECT c.relname, pg_get_indexdef(i.indexrelid)
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = $1 AND i.indisvalid
ORDER BY t.relname, c.relname
"""


@dataclass(frozen=True)
class Key:
    expression: str  # normalised: "conversationid", "lower(email)"
    descending: bool
    nulls_first: bool

    def reversed(self) -> Key:
        return Key(self.expression, not self.descending, not self.nulls_first)


@dataclass(frozen=True)
class IndexShape:
    name: str
    table: str  # normalised, without its schema
    method: str
    keys: tuple[Key, ...]
    include: tuple[str, ...]
    predicate: str  # normalised; "" when none
    unique: bool


@dataclass(frozen=True)
class Finding:
    new: str
    existing: str
    table: str
    relation: str  # duplicate | backward | include | prefix | extends
    detail: str
    fixed: int = 0  # leading key columns a query must pin by equality for the relation to hold

    @property
    def text(self) -> str:
        """'X duplicates Y (same keys, scanned backward)' or 'X extends Y (...)'."""
        verb = "extends" if self.relation == "extends" else "duplicates"
        return f"{self.new} {verb} {self.existing} ({self.detail})"


def _name(token: str) -> str:
    return token[1:-1].replace('""', '"') if token.startswith('"') else token.lower()


def normalise(sql: str) -> str:
    """One canonical text for an expression: identifiers folded, quotes, casts, whitespace and
    outer parentheses dropped; string literals kept as written."""
    tokens = []
    for token in _TOKEN.findall(sql):
        if token.startswith("::"):
            continue
        tokens.append(token if token.startswith("'") else _name(token))
    text = " ".join(tokens)
    while text.startswith("(") and text.endswith(")") and balanced(text[1:-1]):
        text = text[1:-1].strip()
    text = re.sub(r"\s*([(),.=<>!+\-*/])\s*", r"\1", text)
    # parentheses around one name or literal, not a call's: (state)='SENT' is state='SENT'
    while (bare := re.sub(r"(?<![\w)])\(([^()\s,]+)\)", r"\1", text)) != text:
        text = bare
    return text


def balanced(text: str) -> bool:
    """Whether every parenthesis in `text` closes, none before it opens."""
    depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def _group(text: str, start: int) -> tuple[str, int]:
    """The text inside the parenthesis opened just before `start`, and the index after it."""
    depth, quote = 1, ""
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return text[start:i], i + 1
    raise ValueError("unbalanced parentheses")


def _split(text: str) -> list[str]:
    """Top-level comma-separated items."""
    items, depth, current, quote = [], 0, "", ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "()":
            depth += 1 if ch == "(" else -1
        elif ch == "," and depth == 0:
            items.append(current)
            current = ""
            continue
        current += ch
    return [item.strip() for item in [*items, current] if item.strip()]


def _key(item: str) -> Key:
    match = _DIRECTION.search(" " + item)
    descending = bool(match and (match[1] or "").upper() == "DESC")
    nulls = (match[2] or "").upper() if match else ""
    expression = (" " + item)[: match.start()] if match and match[0].strip() else item
    return Key(normalise(expression), descending, nulls == "FIRST" if nulls else descending)


def parse_index(sql: str, name: str | None = None) -> IndexShape | None:
    """The shape of a `CREATE INDEX` statement (None for anything else, or text it cannot read).
    `name` overrides the statement's own (a catalog row's name)."""
    head = _HEAD.match(sql)
    if not head:
        return None
    try:
        keys, end = _group(sql, head.end())
    except ValueError:
        return None
    rest = sql[end:]
    include: list[str] = []
    if found := re.match(r"\s*INCLUDE\s*\(", rest, re.I):
        inner, after = _group(rest, found.end())
        include, rest = [normalise(c) for c in _split(inner)], rest[after:]
    where = re.search(r"\bWHERE\b(.*)$", rest, re.I | re.S)
    return IndexShape(
        name=name or _name(head[2] or ""),
        table=_name(re.split(r"\s*\.\s*", head[3].strip())[-1]),
        method=(head[4] or "btree").lower(),
        keys=tuple(_key(k) for k in _split(keys)),
        include=tuple(include),
        predicate=normalise(where[1].strip().rstrip(";")) if where else "",
        unique=bool(head[1]),
    )


def _orientation(short: tuple[Key, ...], long: tuple[Key, ...]) -> tuple[bool, int] | None:
    """Whether `long`, read forward or backward, gives `short`'s order over `short`'s columns:
    (backward, fixed), `fixed` the leading columns a query must pin by equality for that to
    hold (their directions then do not matter); None when the columns differ."""
    head = long[: len(short)]
    if [k.expression for k in head] != [k.expression for k in short]:
        return None
    same = [a == b for a, b in zip(short, head, strict=True)]
    flipped = [a.reversed() == b for a, b in zip(short, head, strict=True)]
    for fixed in range(len(short) + 1):
        if all(same[fixed:]):
            return False, fixed
        if all(flipped[fixed:]):
            return True, fixed
    return None  # pragma: no cover - fixed == len(short) always matches


def _way(backward: bool, fixed: int, keys: tuple[Key, ...]) -> str:
    pinned = ", ".join(k.expression for k in keys[:fixed])
    return (", scanned backward" if backward else "") + (
        f" with {pinned} fixed by equality" if fixed else ""
    )


def _columns(names: tuple[str, ...]) -> str:
    return ", ".join(names) or "none"


def relate(new: IndexShape, existing: IndexShape) -> Finding | None:
    """How `new` relates to `existing` by the rules above, or None."""
    if new.name == existing.name or (new.table, new.method, new.predicate) != (
        existing.table,
        existing.method,
        existing.predicate,
    ):
        return None
    short, long = sorted((new.keys, existing.keys), key=len)
    found = _orientation(short, long)
    if found is None:
        return None
    backward, fixed = found
    way = _way(backward, fixed, short)
    if len(new.keys) == len(existing.keys):
        relation, detail = ("backward" if backward else "duplicate"), "same keys" + way
        if set(new.include) != set(existing.include):
            relation = "include"
            detail += (
                f", differs only by INCLUDE ({_columns(new.include)} vs "
                f"{_columns(existing.include)})"
            )
    elif len(new.keys) < len(existing.keys):
        relation, detail = "prefix", f"its keys are a prefix of {existing.name}'s{way}"
    else:
        relation = "extends"
        detail = (
            f"{existing.name}'s keys are a prefix of its own{way}: {existing.name} is redundant"
        )
    if new.unique != existing.unique:
        detail += f"; only {new.name if new.unique else existing.name} is UNIQUE"
    return Finding(new.name, existing.name, new.table, relation, detail, fixed)


def covers(existing: IndexShape, candidate: IndexShape, fixed: int = 0) -> bool:
    """Whether `existing` already serves every read `candidate` would, for queries that pin the
    first `fixed` key columns by equality: same or reversed keys (or candidate's a prefix of
    them), and every column candidate carries present in existing."""
    found = relate(candidate, existing)
    if found is None or found.relation == "extends" or found.fixed > fixed:
        return False
    carried = {k.expression for k in existing.keys} | set(existing.include)
    return set(candidate.include) <= carried


def findings(new: list[IndexShape], existing: list[IndexShape]) -> list[Finding]:
    """Every related (new, existing) pair, in the order of `new`."""
    return [f for n in new for e in existing if (f := relate(n, e)) is not None]


def catalog_indexes(conn: Connection, schema: str) -> list[IndexShape]:
    """The valid indexes of a schema's tables, from pg_index and pg_get_indexdef."""
    shapes = [parse_index(sql, name) for name, sql in fetch_all(conn, _CATALOG, (schema,))]
    return [s for s in shapes if s is not None]
