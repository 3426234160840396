"""`--mapping`: the contract's table and column names (and enum values) in production's terms.

A mapping file says, per contract table, its name in production and the columns that differ;
unlisted tables and columns keep the contract's names. Example::

    {"schema": "app", "tables": {"messages": {"name": "posts"}},
     "values": {"messages.type": {"TEXT": "text"}}}

`synthgen load --mapping` reads more keys (docs/app-schema.md). Every name is quoted as an SQL
identifier and every value as a literal. `Names` is the table and column lookup of the load test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthgen import contract
from synthgen.errors import MappingError
from synthgen.files import read_json
from synthgen.schema import TABLES, quote_ident, quote_literal
from synthgen.units import US_PER_MS, US_PER_SECOND

# The enum-valued columns of the application's tables a mapping may translate, and the contract
# values each holds (as "table.column").
ENUM_COLUMNS: dict[str, tuple[str, ...]] = {
    f"{table}.{column}": allowed
    for (table, column), allowed in contract.ENUM_COLUMNS.items()
    if contract.TABLES[table].application
}
_TOP_KEYS = {"schema", "tables", "values", "derived", "epoch", "parents"}
# µs per unit: a time into an integer column
EPOCH_UNITS = {"s": US_PER_SECOND, "ms": US_PER_MS, "us": 1}
_TABLE_KEYS = {"name", "columns", "id", "fill", "skip"}


@dataclass(frozen=True)
class Mapping:
    """Contract names -> production names, and contract enum values -> production values."""

    schema: str = "public"
    tables: dict[str, str] = field(default_factory=dict)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    # load side (synthgen.appschema validates their contents against the target schema)
    ids: dict[str, Any] = field(default_factory=dict)
    fills: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: frozenset[str] = frozenset()
    derived: dict[str, dict[str, Any]] = field(default_factory=dict)
    epoch: str = "ms"  # the unit of a time loaded into an integer column
    parents: dict[str, Any] = field(default_factory=dict)  # tables the contract has no rows for

    def table_name(self, table: str) -> str:
        """Production name of a contract table."""
        return self.tables.get(table, table)

    def column_name(self, table: str, column: str) -> str:
        """Production name of a contract column."""
        return self.columns.get(table, {}).get(column, column)

    def table(self, table: str) -> str:
        """The quoted, schema-qualified production table."""
        return f"{quote_ident(self.schema)}.{quote_ident(self.table_name(table))}"

    def col(self, table: str, column: str, alias: str) -> str:
        """A quoted column reference `alias."name"`."""
        return f"{alias}.{quote_ident(self.column_name(table, column))}"

    def enum_case(self, table: str, column: str, alias: str) -> str:
        """SQL mapping production's values of an enum column to contract values, else 'OTHER'.

        Only constants come out of this expression, so no production string can reach a result.
        """
        key = f"{table}.{column}"
        source = f"CAST({self.col(table, column, alias)} AS text)"
        translate = self.values.get(key, {})
        arms = " ".join(
            f"WHEN {quote_literal(translate.get(v, v))} THEN {quote_literal(v)}"
            for v in ENUM_COLUMNS[key]
        )
        return f"CASE {source} {arms} ELSE 'OTHER' END"

    def used_columns(self) -> list[tuple[str, str]]:
        """(contract table, contract column) pairs the sampler reads."""
        return [(t, c) for t, cols in SAMPLED_COLUMNS.items() for c in cols]


# What the sampler reads: nothing else of production is ever touched.
SAMPLED_COLUMNS: dict[str, tuple[str, ...]] = {
    "users": ("createdAt",),
    "conversations": ("id", "type"),
    "conversation_users": ("conversationId", "role", "isActive"),
    "messages": ("id", "conversationId", "senderId", "type", "content", "createdAt"),
    "attachments": ("messageId", "kind", "mimeType", "sizeBytes"),
    "read_receipts": ("messageId", "userId", "readAt"),
}


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MappingError(f"--mapping: {where} must be a JSON object")
    return value


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value or "\x00" in value:
        raise MappingError(f"--mapping: {where} must be a non-empty string")
    return value


def parse_mapping(raw: Any, schema: str | None = None) -> Mapping:
    """Validate a parsed mapping document; `schema` (from --schema) overrides its schema."""
    doc = _object(raw, "the document")
    unknown = sorted(set(doc) - _TOP_KEYS)
    if unknown:
        raise MappingError(
            f"--mapping: unknown key {unknown[0]!r} (known: {', '.join(sorted(_TOP_KEYS))})"
        )
    tables: dict[str, str] = {}
    columns: dict[str, dict[str, str]] = {}
    ids: dict[str, Any] = {}
    fills: dict[str, dict[str, Any]] = {}
    skipped: set[str] = set()
    for table, entry in _object(doc.get("tables", {}), "tables").items():
        if table not in TABLES or not TABLES[table].application:
            raise MappingError(f"--mapping: tables.{table}: not a table of the dataset contract")
        entry = _object(entry, f"tables.{table}")
        extra = sorted(set(entry) - _TABLE_KEYS)
        if extra:
            raise MappingError(f"--mapping: tables.{table}: unknown key {extra[0]!r}")
        if "name" in entry:
            tables[table] = _name(entry["name"], f"tables.{table}.name")
        if "id" in entry:
            ids[table] = entry["id"]
        if "fill" in entry:
            fills[table] = _object(entry["fill"], f"tables.{table}.fill")
        if entry.get("skip") is True:
            skipped.add(table)
        elif "skip" in entry and entry["skip"] is not False:
            raise MappingError(f"--mapping: tables.{table}.skip must be true or false")
        known = set(TABLES[table].column_names)
        for column, name in _object(entry.get("columns", {}), f"tables.{table}.columns").items():
            if column not in known:
                raise MappingError(
                    f"--mapping: tables.{table}.columns.{column}: not a column of {table}"
                )
            columns.setdefault(table, {})[column] = _name(name, f"tables.{table}.columns.{column}")
    values: dict[str, dict[str, str]] = {}
    for key, entry in _object(doc.get("values", {}), "values").items():
        if key not in ENUM_COLUMNS:
            raise MappingError(
                f"--mapping: values.{key}: not an enum column ({', '.join(ENUM_COLUMNS)})"
            )
        for value, name in _object(entry, f"values.{key}").items():
            if value not in ENUM_COLUMNS[key]:
                raise MappingError(f"--mapping: values.{key}.{value}: not a value of {key}")
            if not isinstance(name, str) or "\x00" in name:  # '' is a value (a default type)
                raise MappingError(f"--mapping: values.{key}.{value} must be a string")
            values.setdefault(key, {})[value] = name
    derived = {
        name: _object(entry, f"derived.{name}")
        for name, entry in _object(doc.get("derived", {}), "derived").items()
    }
    chosen = schema or doc.get("schema") or "public"
    epoch = doc.get("epoch", "ms")
    if epoch not in EPOCH_UNITS:
        raise MappingError(f"--mapping: epoch: {epoch!r} (known: {', '.join(EPOCH_UNITS)})")
    return Mapping(
        _name(chosen, "schema"),
        tables,
        columns,
        values,
        ids,
        fills,
        frozenset(skipped),
        derived,
        str(epoch),
        _object(doc.get("parents", {}), "parents"),
    )


def load_mapping(path: Path | None, schema: str | None = None) -> Mapping:
    """Read --mapping (or the identity mapping when none is given)."""
    if path is None:
        return Mapping(schema=schema or "public")
    return parse_mapping(read_json(path, f"--mapping {path}", MappingError), schema)


@dataclass(frozen=True)
class Names:
    """The contract's names, optionally renamed: {table: name} and {(table, column): name}."""

    tables: dict[str, str] = field(default_factory=dict)
    columns: dict[tuple[str, str], str] = field(default_factory=dict)
    absent: frozenset[tuple[str, str]] = frozenset()
    # time columns stored as integers: (table, column) -> units per second (1000: epoch ms)
    epoch: dict[tuple[str, str], int] = field(default_factory=dict)

    def table(self, table: str) -> str:
        """The quoted name of a contract table in the target schema."""
        return quote_ident(self.tables.get(table, table))

    def column(self, table: str, column: str) -> str:
        """The quoted name of a contract column."""
        return quote_ident(self.columns.get((table, column), column))

    def as_time(self, table: str, column: str, expr: str) -> str:
        """`expr`, a value of the column, as a timestamptz (an epoch integer converted)."""
        per = self.epoch.get((table, column))
        return f"to_timestamp(({expr}) / {per}.0)" if per else expr

    def has(self, table: str, column: str) -> bool:
        """Whether the target schema holds this contract column."""
        return (table, column) not in self.absent


CONTRACT = Names()
