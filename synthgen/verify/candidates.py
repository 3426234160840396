"""Candidate B-tree indexes read from a query's own plan. Pure: EXPLAIN (VERBOSE, FORMAT JSON) of
the query's generic plan in, candidates out.

Per relation (alias) of the plan, most complete first: the equality columns then the Sort's keys
(or the range column); the equality columns then the range column; the equality columns alone;
and the first with INCLUDE of the scan's other narrow output columns. Constant filters
(`m."deletedAt" IS NULL`) become every candidate's partial predicate.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from synthgen.schema import quote_ident
from synthgen.verify.duplicates import balanced as _balanced

SCAN_NODES = ("Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan")
JOIN_KEYS = ("Hash Cond", "Merge Cond", "Join Filter")
_COLUMN = r'(?:"(?:[^"]|"")+"|[a-z_][a-z0-9_$]*)'
_QUALIFIED = re.compile(rf"^({_COLUMN})\.({_COLUMN})$")
_COMPARE = re.compile(r"^(.+?)\s*(=|<>|<=|>=|<|>)\s*(.+)$", re.S)
_PARAM = re.compile(r"\$\d+")
# INCLUDE only when the extra columns are narrow (pg_stats avg_width, bytes, all together)
INCLUDE_MAX_WIDTH = 64


@dataclass
class Access:
    """What one alias of the plan needs: its relation, equality and range columns, sort keys,
    constant filters (the partial predicate) and output columns."""

    alias: str
    relation: str
    equality: list[str] = field(default_factory=list)  # fixed by a parameter
    joins: list[str] = field(default_factory=list)  # fixed by another relation's column
    ranges: list[str] = field(default_factory=list)
    order: list[tuple[str, str]] = field(default_factory=list)  # (column, direction)
    constants: list[str] = field(default_factory=list)  # predicate SQL, columns quoted
    output: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Candidate:
    relation: str
    keys: tuple[tuple[str, str], ...]  # (column, direction: "", "DESC", "DESC NULLS LAST"...)
    include: tuple[str, ...]
    predicate: str
    equality: int  # leading key columns the query pins by equality
    kind: str  # order | range | equality | covering

    def definition(self) -> str:
        """`ON "table" (keys) [INCLUDE (...)] [WHERE ...]` (table unqualified: search_path)."""
        keys = ", ".join(quote_ident(c) + (f" {d}" if d else "") for c, d in self.keys)
        text = f"ON {quote_ident(self.relation)} ({keys})"
        if self.include:
            text += f" INCLUDE ({', '.join(quote_ident(c) for c in self.include)})"
        return text + (f" WHERE {self.predicate}" if self.predicate else "")

    def sql(self, name: str) -> str:
        """CREATE INDEX CONCURRENTLY IF NOT EXISTS "name" ON ..."""
        return (
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {quote_ident(name)}\n    {self.definition()}"
        )

    def name(self) -> str:
        """idx_<table>_<columns>[_desc]..., at most 63 characters."""
        parts = [self.relation] + [c + ("_desc" if "DESC" in d else "") for c, d in self.keys]
        if self.include:
            parts.append("incl")
        if self.predicate:
            parts.append("part")
        text = re.sub(r"[^a-z0-9]+", "_", "_".join(parts).lower()).strip("_")
        return ("idx_" + text)[:63]


def _unquote(token: str) -> str:
    return token[1:-1].replace('""', '"') if token.startswith('"') else token


def _strip(text: str) -> str:
    text = text.strip()
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    return text


def conjuncts(condition: str) -> list[str]:
    """The top-level AND terms of a plan condition, outer parentheses stripped."""
    text, terms, depth, start = _strip(condition), [], 0, 0
    for match in re.finditer(r"\(|\)|\bAND\b", text):
        token = match[0]
        if token in "()":
            depth += 1 if token == "(" else -1
        elif depth == 0:
            terms.append(text[start : match.start()])
            start = match.end()
    terms.append(text[start:])
    return [_strip(t) for t in terms if t.strip()]


def _column(text: str) -> tuple[str, str] | None:
    """(alias, column) of `m."createdAt"`, else None."""
    match = _QUALIFIED.match(_strip(re.sub(r"::[\w ]+$", "", _strip(text))))
    return (_unquote(match[1]), _unquote(match[2])) if match else None


def _constant(text: str) -> bool:
    """A literal written in the SQL (not a parameter, not a column)."""
    return not _PARAM.search(text) and _column(text) is None and "." not in text.split("::")[0]


def _note(accesses: dict[str, Access], term: str, scan_alias: str | None) -> None:
    """Record one condition term against the alias (or aliases) it reads."""
    if (col := _column(term)) and col[0] in accesses:  # a bare boolean column
        accesses[col[0]].constants.append(quote_ident(col[1]))
        return
    if term.upper().startswith("NOT ") and (col := _column(term[4:])) and col[0] in accesses:
        accesses[col[0]].constants.append(f"NOT {quote_ident(col[1])}")
        return
    if (nulls := re.match(r"^(.+?)\s+IS\s+(NOT\s+)?NULL$", term, re.S)) and (
        col := _column(nulls[1])
    ):
        if col[0] in accesses:
            accesses[col[0]].constants.append(f"{quote_ident(col[1])} IS {nulls[2] or ''}NULL")
        return
    match = _COMPARE.match(term)
    if not match or match[2] == "<>":
        return
    sides = [(match[1], match[3]), (match[3], match[1])]
    for own, other in sides:
        col = _column(own)
        if col is None or col[0] not in accesses or (scan_alias and col[0] != scan_alias):
            continue
        access = accesses[col[0]]
        if match[2] == "=" and _constant(other):
            literal = re.sub(r"::[\w ]+$", "", _strip(other))
            access.constants.append(f"{quote_ident(col[1])} = {literal}")
        elif match[2] == "=":
            fixed = access.equality if _PARAM.search(other) else access.joins
            if col[1] not in fixed:
                fixed.append(col[1])
        elif col[1] not in access.ranges:
            access.ranges.append(col[1])


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def read_accesses(explain_json: Any) -> list[Access]:
    """One Access per scanned alias of a (VERBOSE) plan, in plan order."""
    root = (explain_json[0] if isinstance(explain_json, list) else explain_json)["Plan"]
    accesses: dict[str, Access] = {}
    for node in _nodes(root):
        if node.get("Relation Name") and node["Node Type"] in SCAN_NODES:
            accesses.setdefault(node["Alias"], Access(node["Alias"], node["Relation Name"]))
    _read_outputs(root, accesses)
    for node in _nodes(root):
        alias = node.get("Alias") if node.get("Relation Name") else None
        for key in ("Index Cond", "Recheck Cond", "Filter", *JOIN_KEYS):
            _read_columns(accesses, node.get(key) or "")
            for term in conjuncts(node[key]) if node.get(key) else []:
                _note(accesses, term, alias if key not in JOIN_KEYS else None)
        for child in node.get("Plans", []) if node["Node Type"] == "Bitmap Heap Scan" else []:
            for term in conjuncts(child.get("Index Cond", "")) if child.get("Index Cond") else []:
                _note(accesses, term, alias)
        if node["Node Type"] in ("Sort", "Incremental Sort"):
            _note_sort(accesses, node.get("Sort Key", []))
    for access in accesses.values():
        access.constants = list(dict.fromkeys(access.constants))
    return list(accesses.values())


def _read_columns(accesses: dict[str, Access], condition: str) -> None:
    """Every `alias.column` a condition reads is a column an index-only scan needs."""
    for alias, column in re.findall(rf"({_COLUMN})\.({_COLUMN})", condition):
        access = accesses.get(_unquote(alias))
        if access is not None and _unquote(column) not in access.output:
            access.output.append(_unquote(column))


def _read_outputs(root: dict[str, Any], accesses: dict[str, Access]) -> None:
    """The columns the plan reads of each alias: from the nodes above its scan (a scan feeding a
    join may output every column), or the scan's own output when it is the only relation."""
    only = next(iter(accesses.values())) if len(accesses) == 1 else None
    for node in _nodes(root):
        if node.get("Relation Name") and node["Node Type"] in SCAN_NODES and only is None:
            continue
        for item in node.get("Output", []):
            col = _column(item)
            if col is None and only is not None and re.match(rf"^{_COLUMN}$", item.strip()):
                col = (only.alias, _unquote(item.strip()))
            if col and col[0] in accesses and col[1] not in accesses[col[0]].output:
                accesses[col[0]].output.append(col[1])


def _direction(descending: bool, nulls: str | None) -> str:
    """The key's direction as an index definition writes it, defaults left out (NULLS LAST
    for ASC, NULLS FIRST for DESC)."""
    nulls_text = " ".join((nulls or "").split()).upper()
    default = "NULLS FIRST" if descending else "NULLS LAST"
    head = "DESC" if descending else ""
    if not nulls_text or nulls_text == default:
        return head
    return f"{head} {nulls_text}".strip()


def _note_sort(accesses: dict[str, Access], keys: list[str]) -> None:
    """A sort by one alias's columns only is an order an index of that alias can give."""
    parsed = []
    for key in keys:
        match = re.match(r"^(.+?)(\s+DESC)?(\s+NULLS\s+(?:FIRST|LAST))?$", key.strip(), re.S)
        col = _column(match[1]) if match else None
        if col is None or col[0] not in accesses:
            return
        parsed.append((col, _direction(bool(match and match[2]), match[3] if match else None)))
    aliases = {c[0] for c, _ in parsed}
    if len(aliases) == 1:
        access = accesses[aliases.pop()]
        if not access.order:
            access.order = [(c[1], d) for c, d in parsed]


def candidates(access: Access, widths: dict[str, int]) -> list[Candidate]:
    """The candidate indexes for one alias, most complete first (see the module docstring);
    `widths` gives each column's average width in bytes (pg_stats) for the INCLUDE rule."""
    # an alias fixed only through a join is the inner side of a nested loop at best
    fixed = access.equality or access.joins
    eq = tuple((c, "") for c in fixed)
    order = tuple((c, d) for c, d in access.order if c not in fixed)
    ranges = [c for c in access.ranges if c not in fixed]
    predicate = " AND ".join(access.constants)
    shapes: list[tuple[tuple[tuple[str, str], ...], str]] = []
    if order:
        shapes.append((eq + order, "order"))
    if ranges and (not order or order[0][0] != ranges[0]):
        shapes.append(((*eq, (ranges[0], "")), "range"))
    if eq:
        shapes.append((eq, "equality"))
    if order and eq and not access.equality:
        shapes.append((order, "order"))
    found = [Candidate(access.relation, k, (), predicate, len(eq), kind) for k, kind in shapes]
    if found:
        keys = {c for c, _ in found[0].keys}
        named = " ".join(access.constants)  # columns the predicate fixes need not be carried
        extra = tuple(c for c in access.output if c not in keys and quote_ident(c) not in named)
        if extra and sum(widths.get(c, 1 << 20) for c in extra) <= INCLUDE_MAX_WIDTH:
            first = found[0]
            found.append(
                Candidate(access.relation, first.keys, extra, predicate, first.equality, "covering")
            )
    return found
