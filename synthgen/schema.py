"""The contract's tables as Arrow schemas and PostgreSQL DDL.

Tables, columns and keys are defined once, in synthgen.contract; this module gives each column
its Arrow type, PostgreSQL type and Parquet encoding, so a column cannot be renamed in one place
and forgotten in the other.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pyarrow as pa

from synthgen import contract
from synthgen.errors import SynthgenError

TIMESTAMP = pa.timestamp("us", tz="UTC")
ARROW_TYPES = {
    contract.INT64: pa.int64(),
    contract.TEXT: pa.string(),
    contract.TIMESTAMP: TIMESTAMP,
    contract.BOOL: pa.bool_(),
}
PG_TYPES = {
    pa.int64(): "bigint",
    pa.string(): "text",
    TIMESTAMP: "timestamptz",
    pa.bool_(): "boolean",
}


# How each column is encoded in Parquet (measured per column in benchmarks/README.md):
# "dictionary" for enums and foreign keys with many repeats, "delta" (DELTA_BINARY_PACKED) for
# ids, timestamps and sizes, which are sorted or close to it, "plain" for free text. Dictionary
# encoding of a nearly unique column is the slowest choice of all: the writer builds a hash table
# of every value, then gives up. Free text gets no min/max statistics: no reader prunes on it.


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    nullable: bool = False
    encoding: str = "plain"
    statistics: bool = True
    free_text: bool = False  # text written freely (not an enum): the PII scan reads every one

    @property
    def pg_type(self) -> str:
        return PG_TYPES[self.type]


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[tuple[str, str, str], ...] = ()  # (column, referenced table, its column)
    application: bool = True  # False for sidecars that are not part of the app schema

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.type, nullable=c.nullable) for c in self.columns])

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def encoded(self, encoding: str) -> list[str]:
        return [c.name for c in self.columns if c.encoding == encoding]


def _encoding(column: contract.ColumnDef, type_: pa.DataType) -> str:
    """A column's encoding by its role unless the contract names one: enums and foreign keys by
    dictionary, the other integers and timestamps by delta, free text plainly."""
    if column.encoding is not None:
        return column.encoding
    if type_ in (pa.int64(), TIMESTAMP):
        return "dictionary" if column.name in contract.DICTIONARY_KEYS else "delta"
    if type_ == pa.string():
        return "plain" if column.free_text else "dictionary"
    return "plain"


def _column(column: contract.ColumnDef) -> Column:
    type_ = ARROW_TYPES[column.type]
    return Column(
        column.name,
        type_,
        column.nullable,
        _encoding(column, type_),
        column.statistics,
        free_text=column.free_text,
    )


TABLES: dict[str, Table] = {
    name: Table(
        name,
        tuple(_column(c) for c in t.columns),
        t.primary_key,
        t.foreign_keys,
        t.application,
    )
    for name, t in contract.TABLES.items()
}

# Phase 1: the indexes a typical Prisma app has before tuning, besides primary keys. The unique
# (conversationId, userId) of conversation_users is its primary key, so it is not repeated here.
PHASE1_INDEXES = (
    ("messages", "messages_conversationId_idx", ("conversationId",), False),
    ("users", "users_email_key", ("email",), True),
)


def quote_ident(name: str) -> str:
    """Quote an SQL identifier: any name becomes a literal name, never executable text."""
    if "\x00" in name:
        raise ValueError("identifier contains a NUL byte")
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """Quote an SQL string literal: only quotes are doubled (standard_conforming_strings is on
    in every supported server, so a backslash stays a backslash)."""
    if "\x00" in value:  # a user's value (a mapping's fill): one line, exit 1
        raise SynthgenError(f"a value for SQL contains a NUL byte: {value[:40]!r}")
    return "'" + value.replace("'", "''") + "'"


def qualified(schema: str, name: str) -> str:
    """A schema-qualified, quoted name: "schema"."name"."""
    return f"{quote_ident(schema)}.{quote_ident(name)}"


def create_table_sql(table: Table, schema: str, unlogged: bool = False) -> str:
    """CREATE TABLE without keys or indexes: the loader adds them after the bulk load."""
    cols = ",\n  ".join(
        f"{quote_ident(c.name)} {c.pg_type}{'' if c.nullable else ' NOT NULL'}"
        for c in table.columns
    )
    kind = "UNLOGGED TABLE" if unlogged else "TABLE"
    return f"CREATE {kind} {quote_ident(schema)}.{quote_ident(table.name)} (\n  {cols}\n)"


def primary_key_name(table: Table) -> str:
    """The primary key constraint's (and its index's) name."""
    return f"{table.name}_pkey"


def foreign_key_name(table: Table, column: str) -> str:
    """The name of the foreign key constraint on `column` of `table`."""
    return f"{table.name}_{column}_fkey"


def primary_key_sql(table: Table, schema: str) -> str:
    cols = ", ".join(quote_ident(c) for c in table.primary_key)
    name = quote_ident(primary_key_name(table))
    target = f"{quote_ident(schema)}.{quote_ident(table.name)}"
    return f"ALTER TABLE {target} ADD CONSTRAINT {name} PRIMARY KEY ({cols})"


def foreign_key_sql(table: Table, schema: str) -> list[str]:
    """FKs added NOT VALID (instant) — validate them afterwards with validate_foreign_key_sql."""
    out = []
    for column, ref_table, ref_column in table.foreign_keys:
        name = quote_ident(foreign_key_name(table, column))
        out.append(
            f"ALTER TABLE {quote_ident(schema)}.{quote_ident(table.name)} ADD CONSTRAINT {name} "
            f"FOREIGN KEY ({quote_ident(column)}) REFERENCES "
            f"{quote_ident(schema)}.{quote_ident(ref_table)} "
            f"({quote_ident(ref_column)}) NOT VALID"
        )
    return out


def validate_foreign_key_sql(table: Table, schema: str) -> list[str]:
    return [
        f"ALTER TABLE {quote_ident(schema)}.{quote_ident(table.name)} VALIDATE CONSTRAINT "
        f"{quote_ident(foreign_key_name(table, column))}"
        for column, _, _ in table.foreign_keys
    ]


def phase1_index_sql(schema: str) -> list[str]:
    out = []
    for table, name, columns, unique in PHASE1_INDEXES:
        cols = ", ".join(quote_ident(c) for c in columns)
        kind = "UNIQUE INDEX" if unique else "INDEX"
        out.append(
            f"CREATE {kind} {quote_ident(name)} "
            f"ON {quote_ident(schema)}.{quote_ident(table)} ({cols})"
        )
    return out


def schema_sql(schema: str = "perf_synthetic") -> str:
    """The full DDL (tables, keys, phase-1 indexes) as one script — what specs/schema.sql holds."""
    parts = [f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}"]
    parts += [create_table_sql(t, schema) for t in TABLES.values()]
    parts += [primary_key_sql(t, schema) for t in TABLES.values()]
    parts += phase1_index_sql(schema)
    for t in TABLES.values():
        parts += [s.replace(" NOT VALID", "") for s in foreign_key_sql(t, schema)]
    return ";\n\n".join(parts) + ";\n"


# specs/schema.sql is this module's output; the command is named in the file's first line
SCHEMA_SQL_COMMAND = "python -m synthgen.schema > specs/schema.sql"


def schema_sql_file() -> str:
    """specs/schema.sql: schema_sql() under a line naming the command that regenerates it."""
    return (
        f"-- Generated by `{SCHEMA_SQL_COMMAND}` (make schema-sql) from synthgen/contract.py; "
        "do not edit.\n\n" + schema_sql()
    )


if __name__ == "__main__":
    sys.stdout.write(schema_sql_file())
