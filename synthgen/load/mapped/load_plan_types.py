"""The load plan's types: what a plan says per column and table, the Arrow type each of the
target's column types loads as, the id formats' lengths, and the figures of the data it is
checked against (see load.mapped.load_plan)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from synthgen.appschema.catalog import TargetColumn
from synthgen.appschema.refs import (
    describe_ref,
)
from synthgen.errors import LoadError
from synthgen.load.mapped.parents import ParentPlan
from synthgen.schema import TIMESTAMP

# the contract tables in load order, and the column that says when each row came to be
TIME_COLUMN = {
    "users": "createdAt",
    "conversations": "createdAt",
    "conversation_users": "joinedAt",
    "messages": "createdAt",
    "attachments": "createdAt",
    "read_receipts": "readAt",
}
LOAD_ORDER = tuple(TIME_COLUMN)
REFERENCED = ("users", "conversations", "messages")  # tables other tables point at
FILL_KINDS = ("from", "value", "unique", "last_message", "ref", "count", "parent")
STATE_TIMES = ("readAt", "message_time")

ARROW_FOR_BASE: dict[str, pa.DataType] = {
    "int8": pa.int64(),
    "int4": pa.int32(),
    "int2": pa.int16(),
    "text": pa.string(),
    "varchar": pa.string(),
    "bpchar": pa.string(),
    "citext": pa.string(),
    "bool": pa.bool_(),
    "timestamptz": TIMESTAMP,
    "timestamp": pa.timestamp("us"),
    "date": pa.date32(),
    "uuid": pa.binary(16),
    "float8": pa.float64(),
    "float4": pa.float32(),
}
INT_RANGE = {"int8": 2**63 - 1, "int4": 2**31 - 1, "int2": 2**15 - 1}


class MappingLoadError(LoadError):
    """The mapping cannot load into the target schema; nothing was written."""


@dataclass(frozen=True)
class ColumnPlan:
    """How one target column is filled."""

    target: TargetColumn
    arrow: pa.DataType
    action: str  # copy | id | generated id | enum | fill | state | state time
    source: str | None = None  # contract column
    id_table: str | None = None  # whose id format applies (own or referenced table)
    id_format: str | None = None
    value_map: dict[str, str] = field(default_factory=dict)
    fill: dict[str, Any] = field(default_factory=dict)
    entry: str = ""  # the mapping entry that decides this column (named when the data breaks it)
    epoch: str = ""  # a time into an integer column: its unit (s, ms, us)

    def describe(self) -> str:
        """One line for `--plan`."""
        line = self._describe()
        return f"{line} as epoch {self.epoch}" if self.epoch else line

    def _describe(self) -> str:
        t = f"{self.target.name} ({self.target.type_name})"
        if self.action == "parent":
            auto = " (automatic)" if self.fill.get("automatic") else ""
            return (
                f"{t} <- parent {self.fill['parent']}: one of {self.fill['rows']} rows, "
                f"{self.fill['spread']} by the row's room, as {self.id_format}{auto}"
            )
        if self.action == "ref":
            key = self.target.references
            points = f"; references {key.describe()}" if key is not None else ""
            auto = " (automatic)" if self.fill.get("automatic") else ""
            return f"{t} <- {describe_ref(self.fill)} as {self.id_format}{points}{auto}"
        if self.action == "copy":
            return f"{t} <- {self.source}"
        if self.action in ("id", "generated id"):
            what = self.source or "row number"
            return f"{t} <- {what} as {self.id_format} ({self.id_table} ids)"
        if self.action == "enum":
            mapped = ", ".join(f"{k}->{v}" for k, v in sorted(self.value_map.items()) if k != v)
            what = "enum" if self.target.is_enum else "value map"
            return f"{t} <- {self.source} ({what}{': ' + mapped if mapped else ''})"
        if self.action == "state":
            return f"{t} <- the state's label"
        auto = " (automatic)" if self.fill.get("automatic") else ""
        if self.action == "state time":
            return f"{t} <- the state's time{auto}"
        shown = {k: v for k, v in self.fill.items() if k != "automatic"}
        return f"{t} <- fill {shown}{auto}"


@dataclass(frozen=True)
class TablePlan:
    """One target table: its source, its columns, what is left to the server."""

    source: str  # contract table
    target: str
    columns: tuple[ColumnPlan, ...]
    left_to_server: tuple[str, ...]  # columns with a default or nullable, not sent
    not_loaded: tuple[str, ...]  # contract columns the application has no column for
    states: tuple[tuple[str, str], ...] = ()  # delivery states: (label, time source)
    name: str = ""  # the derived table's name in the mapping, if derived

    @property
    def rows_per_source_row(self) -> int:
        return max(1, len(self.states))


@dataclass(frozen=True)
class LoadPlan:
    schema: str
    tables: tuple[TablePlan, ...]
    id_formats: dict[str, str]
    parents: tuple[ParentPlan, ...] = ()

    def describe(self) -> list[str]:
        """The plan as lines: per target table, every column and where it comes from."""
        lines: list[str] = [f"{self.schema}.{line}" if not line.startswith(" ") else line
                            for p in self.parents for line in p.describe()]  # fmt: skip
        for t in self.tables:
            factor = f" x {t.rows_per_source_row} states" if t.states else ""
            lines.append(f"{self.schema}.{t.target}  <-  {t.source}{factor}")
            lines += [f"    {c.describe()}" for c in t.columns]
            if t.left_to_server:
                lines.append(
                    f"    left to the server (default or NULL): {', '.join(t.left_to_server)}"
                )
            if t.not_loaded:
                lines.append(f"    contract columns not loaded: {', '.join(t.not_loaded)}")
        return lines


def fail(message: str) -> MappingLoadError:
    return MappingLoadError(f"--mapping: {message}")


def arrow_for(table: str, column: TargetColumn) -> pa.DataType:
    if column.is_enum:
        return pa.string()
    if column.base not in ARROW_FOR_BASE:
        raise fail(
            f"{table}.{column.name}: type {column.type_name} is not supported by the loader; "
            "give it a default in the schema or leave it nullable"
        )
    return ARROW_FOR_BASE[column.base]


@dataclass(frozen=True)
class SourceFigures:
    """What the data holds, measured before loading: longest text, largest integer, nulls,
    distinct values per contract column (DuckDB over the Parquet files)."""

    max_length: dict[str, int] = field(default_factory=dict)  # "table.column" -> chars
    max_value: dict[str, int] = field(default_factory=dict)
    nulls: dict[str, int] = field(default_factory=dict)
    distinct: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)


# the longest value of each id format (a text id is a bigint's decimal: at most 20 characters)
ID_LENGTH = {"text": 20, "cuid": 25, "uuid7": 36, "uuid4": 36}


def id_problem(column: TargetColumn, arrow: pa.DataType, fmt: str) -> str | None:
    """Why `column` cannot hold ids of format `fmt`, or None."""
    want = {"bigint": (pa.int64(),), "text": (pa.string(),), "cuid": (pa.string(),)}.get(
        fmt, (pa.binary(16), pa.string())
    )
    if arrow not in want:
        return f"{column.type_name} cannot hold {fmt} ids"
    if column.max_length is not None and column.max_length < ID_LENGTH.get(fmt, 0):
        return f"{column.type_name} is too short for {fmt} ids (up to {ID_LENGTH[fmt]} characters)"
    return None


def check_id_column(table: str, column: TargetColumn, arrow: pa.DataType, fmt: str) -> None:
    problem = id_problem(column, arrow, fmt)
    if problem:
        raise fail(f"{table}.{column.name}: {problem}")
