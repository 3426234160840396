"""`synthgen sample statements`: production's own hot statements, from pg_stat_statements.

Order of work: open the sampler's read-only session; refuse in one line without the extension;
read the normalized statements of this database (text with `$n` placeholders, and numbers);
drop every statement holding a string literal (counted, never kept), and those that name none
of the mapped tables; rank by total time (or calls); infer each `$n`'s kind through the mapping;
render the query files; scan them for personal data; only then write them (reads in OUT, writes
in OUT/writes) and the audit record, all at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from synthgen.mapping import Mapping
from synthgen.sample.errors import SampleError
from synthgen.sample.session import ReadOnlySession
from synthgen.sample.sqltext import (
    Inferred,
    Resolver,
    identifiers,
    infer,
    lex,
    statement_kind,
    unquote,
)
from synthgen.schema import quote_ident, quote_literal

DEFAULT_LIMIT = 50
DEFAULT_OFFSET = 0
NOT_LOADED = (
    "pg_stat_statements is not available on this server: add pg_stat_statements to "
    "shared_preload_libraries in postgresql.conf, restart, then run CREATE EXTENSION "
    "pg_stat_statements in this database"
)
STATEMENTS_SQL = """
SELECT s.query, s.calls::bigint, s.total_exec_time::float8, s.mean_exec_time::float8,
       s.rows::bigint
FROM {schema}.pg_stat_statements s
WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND s.calls > 0 AND s.toplevel
"""
_PREPARE = re.compile(r"^PREPARE\s+\S+?(?:\s*\([^)]*\))?\s+AS\s+", re.IGNORECASE)
_TYPES = {
    "bigint": "bigint",
    "integer": "bigint",
    "smallint": "bigint",
    "uuid": "uuid",
    "text": "text",
    "character varying": "text",
    "timestamp with time zone": "timestamptz",
    "timestamp without time zone": "timestamp",
}
_APPLICATION_TABLES = (
    "users",
    "conversations",
    "conversation_users",
    "messages",
    "attachments",
    "read_receipts",
)


@dataclass(frozen=True)
class Raw:
    """One row of pg_stat_statements as read (its text not yet checked)."""

    text: str
    calls: int
    total_ms: float
    mean_ms: float
    rows: int


@dataclass
class Captured:
    """A kept statement: normalized text, production's numbers, its parameters."""

    text: str
    kind: str  # read or write
    calls: int
    total_ms: float
    mean_ms: float
    rows: int
    tables: list[str]  # production table names it reads or writes
    params: dict[int, tuple[str, str, str]] = field(default_factory=dict)  # $n -> type, kind, col
    todo: dict[int, str] = field(default_factory=dict)  # $n -> why not inferred
    constants: dict[int, tuple[str, int, bool]] = field(default_factory=dict)  # LIMIT/OFFSET

    @property
    def rows_per_call(self) -> float:
        return self.rows / self.calls if self.calls else 0.0


@dataclass
class Capture:
    """What one capture found: the ranked statements and what was left out, counted."""

    statements: list[Captured]
    read: int
    dropped_literal: int
    not_visible: int
    other_tables: int
    not_queries: int
    beyond_top: int
    server_version: str = ""
    database: str = ""


def unqualify(text: str, schema: str, tables: set[str]) -> str:
    """Drop production's schema before its mapped tables: a captured file then runs in whatever
    schema holds the synthetic data (baselines and workloads set the search_path)."""
    quoted = re.escape(schema)
    pattern = rf'(?:"{quoted}"|\b{quoted}\b)\s*\.\s*(?=("[^"]+"|[A-Za-z_][A-Za-z0-9_$]*))'

    def strip(match: re.Match[str]) -> str:
        name = match.group(1)
        return "" if unquote(name) in tables else match.group(0)

    if schema != schema.lower():  # an unquoted mention would fold to another name
        pattern = rf'"{quoted}"\s*\.\s*(?=("[^"]+"|[A-Za-z_][A-Za-z0-9_$]*))'
    return re.sub(pattern, strip, text)


def read_raw(session: ReadOnlySession) -> list[Raw]:
    """pg_stat_statements of this database, or one-line refusal when it is not there."""
    schema = session.scalar(  # wherever the extension was created, whatever the search_path
        "SELECT n.nspname::text FROM pg_extension e JOIN pg_namespace n "
        "ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'"
    )
    if not schema:
        raise SampleError(NOT_LOADED)
    try:
        rows = session.run("pg_stat_statements", STATEMENTS_SQL.format(schema=quote_ident(schema)))
    except SampleError as exc:
        if "shared_preload_libraries" in str(exc):  # installed, but the library is not loaded
            raise SampleError(NOT_LOADED) from None
        raise
    return [Raw(str(t or ""), int(c), float(tt), float(m), int(r)) for t, c, tt, m, r in rows]


def column_types(session: ReadOnlySession, mapping: Mapping) -> dict[tuple[str, str], str]:
    """(production table, column) -> data type, for the mapped schema."""
    rows = session.fetch(
        "SELECT table_name::text, column_name::text, data_type::text "
        f"FROM information_schema.columns WHERE table_schema = {quote_literal(mapping.schema)}"
    )
    return {(str(t), str(c)): str(d) for t, c, d in rows}


def _params(
    found: Inferred, mapping: Mapping, types: dict[tuple[str, str], str], default_limit: int
) -> tuple[dict[int, tuple[str, str, str]], dict[int, str], dict[int, tuple[str, int, bool]]]:
    kinds = set(found.kinds.values())
    member = {"conversation", "user"} <= kinds
    params: dict[int, tuple[str, str, str]] = {}
    todo = dict(found.unknown)
    for n, kind in found.kinds.items():
        table, column = found.contract[n]
        where = f"{mapping.table_name(table)}.{mapping.column_name(table, column)}"
        data_type = types.get((mapping.table_name(table), mapping.column_name(table, column)))
        type_ = _TYPES.get(data_type or "")
        if type_ is None:
            todo[n] = f"compared with {where} of type {data_type or 'unknown'}"
            continue
        if kind == "time":
            if member:  # a time in a member's own room: no kind draws one
                todo[n] = f"compared with the time column {where} inside a member's room"
                continue
            # a time inside the bound room, or without a room a point in time (1h/1d/7d ago)
            cursor = "conversation" in kinds
            params[n] = (type_, "conversation_cursor" if cursor else "timestamp", where)
        elif member:
            params[n] = (type_, f"member_{kind}", where)
        else:
            params[n] = (type_, kind, where)
    constants = {n: ("LIMIT", default_limit, True) for n in found.limits}
    constants.update({n: ("OFFSET", DEFAULT_OFFSET, True) for n in found.offsets})
    return params, todo, constants


def classify(
    raw: list[Raw],
    mapping: Mapping,
    types: dict[tuple[str, str], str],
    top: int,
    by: str = "total",
    default_limit: int = DEFAULT_LIMIT,
) -> Capture:
    """Keep, rank and read the statements; literals are dropped before anything else."""
    mapped = {mapping.table_name(t): t for t in _APPLICATION_TABLES}
    resolver = Resolver(mapping, _APPLICATION_TABLES)
    counts = {"literal": 0, "hidden": 0, "other": 0, "utility": 0}
    kept: list[Captured] = []
    for row in raw:
        if row.text.startswith("<insufficient privilege>"):
            counts["hidden"] += 1
            continue
        lexed = lex(row.text)  # the lexed text holds no literal: each is a placeholder
        text = _PREPARE.sub("", lexed.text)  # an SQL-level PREPARE: the statement it names
        named = sorted(identifiers(text) & set(mapped))
        if not named:
            counts["other"] += 1
            continue
        if lexed.has_literal:
            counts["literal"] += 1  # dropped here: neither text nor numbers are kept
            continue
        kind = statement_kind(text)
        if kind == "other":
            counts["utility"] += 1
            continue
        text = unqualify(text, mapping.schema, set(mapped))
        kept.append(Captured(text, kind, row.calls, row.total_ms, row.mean_ms, row.rows, named))
    key = (lambda s: s.total_ms) if by == "total" else (lambda s: float(s.calls))
    kept.sort(key=lambda s: (-key(s), s.text))
    chosen = kept[:top]
    for s in chosen:
        s.params, s.todo, s.constants = _params(
            infer(s.text, resolver), mapping, types, default_limit
        )
    return Capture(
        chosen,
        read=len(raw),
        dropped_literal=counts["literal"],
        not_visible=counts["hidden"],
        other_tables=counts["other"],
        not_queries=counts["utility"],
        beyond_top=len(kept) - len(chosen),
    )


def slug(s: Captured) -> str:
    """A file-name part: the verb and the first table."""
    verb = s.text.split(None, 1)[0].lower()
    if verb == "with":
        verb = "write" if s.kind == "write" else "select"
    table = re.sub(r"[^a-z0-9]+", "_", s.tables[0].lower()).strip("_") or "table"
    return f"{verb}_{table}"


def weights(statements: list[Captured]) -> dict[int, dict[str, Any]]:
    """index -> production's numbers and this statement's shares of calls and total time."""
    calls = sum(s.calls for s in statements) or 1
    total = sum(s.total_ms for s in statements) or 1.0
    return {
        i: {
            "calls": s.calls,
            "mean_ms": round(s.mean_ms, 4),
            "total_ms": round(s.total_ms, 3),
            "rows_per_call": round(s.rows_per_call, 2),
            "share_calls": round(s.calls / calls, 6),
            "share_time": round(s.total_ms / total, 6),
        }
        for i, s in enumerate(statements)
    }
