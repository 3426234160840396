"""The load plan: for every column of every mapped application table, where its values come from.

A column gets, in this order of preference: the contract column the mapping names for it (or
the one of the same name) — converted to the table's id format when it is the table's id or a
foreign key to a mapped table, through the value map when it is an enum —, a generated id (a
table the contract keys by a pair, e.g. reads with their own id), the mapping's fill, an
automatic fill for a required column (``NOT NULL`` without a default: timestamps take the row's
own time, booleans false, integers 0, text a unique value derived from the row's id), or nothing
(the server's default or NULL). Everything that could fail is checked here, against the catalog
and the dataset's own figures (DuckDB over the Parquet files), before the first row is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pyarrow as pa

from synthgen.appschema.catalog import Catalog, TargetColumn
from synthgen.appschema.counters import COUNTS
from synthgen.appschema.ids import FORMATS
from synthgen.appschema.parents import SPREADS, ParentPlan, parent_of, parent_of_table, parent_plans
from synthgen.appschema.refs import (
    REFERABLE,
    check_ref,
    default_ref,
    describe_ref,
    mismatch,
    referenced_table,
)
from synthgen.errors import LoadError
from synthgen.sample.mapping import ENUM_COLUMNS, Mapping
from synthgen.schema import TABLES, TIMESTAMP

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


def _id_spec(mapping: Mapping, table: str) -> tuple[str | None, str]:
    """(generated id column or None, format) of a contract table."""
    raw = mapping.ids.get(table)
    has_id = "id" in TABLES[table].column_names
    if raw is None:
        return (None, "bigint")
    if isinstance(raw, str):
        fmt, column = raw, None
    elif isinstance(raw, dict):
        extra = sorted(set(raw) - {"format", "column"})
        if extra:
            raise fail(f"tables.{table}.id: unknown key {extra[0]!r} (known: format, column)")
        fmt, column = raw.get("format", "bigint"), raw.get("column")
    else:
        raise fail(f"tables.{table}.id: a format name or {{'format', 'column'}}")
    if fmt not in FORMATS:
        raise fail(f"tables.{table}.id: unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    if column is None and not has_id:
        raise fail(
            f"tables.{table}.id: {table} has no id in the contract (its key is "
            f"{', '.join(TABLES[table].primary_key)}); give {{'column': NAME, 'format': ...}} to "
            "generate one"
        )
    if column is not None and not isinstance(column, str):
        raise fail(f"tables.{table}.id.column must be a column name")
    return (column, str(fmt))


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


def _check_fits(
    table: str,
    source: str,
    column: TargetColumn,
    arrow: pa.DataType,
    figures: SourceFigures,
    null_filled: bool = False,
) -> None:
    """The target type can hold every source value (checked on the data's own figures)."""
    src = next(c for c in TABLES[table].columns if c.name == source)
    key, where = f"{table}.{source}", f"{table}.{source} -> {column.name}"
    kind = src.type
    ok = (
        (kind == pa.int64() and (pa.types.is_integer(arrow) or pa.types.is_floating(arrow)))
        or (kind == pa.int64() and arrow == pa.string())
        or (kind == pa.string() and arrow == pa.string())
        or (kind == TIMESTAMP and (pa.types.is_timestamp(arrow) or arrow == pa.date32()))
        or (kind == TIMESTAMP and column.base == "int8")
        or (kind == pa.bool_() and arrow == pa.bool_())
    )
    if not ok:
        raise fail(f"{where}: {column.type_name} cannot hold the contract's {src.pg_type}")
    if column.base in INT_RANGE and figures.max_value.get(key, 0) > INT_RANGE[column.base]:
        raise fail(
            f"{where}: {column.type_name} cannot hold {figures.max_value[key]:,} "
            "(the largest value in the data)"
        )
    longest = figures.max_length.get(key, 0)
    if column.max_length is not None and longest > column.max_length:
        raise fail(
            f"{where}: {column.type_name} cannot hold a {longest}-character value of the data"
        )
    if column.not_null and figures.nulls.get(key, 0) > 0 and not null_filled:
        raise fail(
            f"{where}: the column is NOT NULL but {figures.nulls[key]:,} rows of the data have "
            "no value; give it a fill ({'from': ..., 'else': VALUE}) or make it nullable"
        )


def fill_plan(
    table: str,
    column: TargetColumn,
    arrow: pa.DataType,
    fill: Any,
    figures: SourceFigures,
    formats: dict[str, str],
    where: str = "",
    parents: dict[str, Any] | None = None,
) -> ColumnPlan:
    where = where or f"tables.{table}.fill.{column.name}"
    if not isinstance(fill, dict) or not (set(fill) & set(FILL_KINDS)):
        raise fail(f"{where}: one of {', '.join(FILL_KINDS)}")
    if "parent" in fill:
        return parent_plan(column, arrow, fill, parents or {}, where)
    if "ref" in fill:
        return ref_plan(table, column, arrow, fill, formats, where)
    if "unique" in fill and column.references is not None:
        raise fail(
            f"{where}: {column.name} references {column.references.describe()}; made-up "
            "values would break it (use a 'ref' fill)"
        )
    rows = figures.rows.get(table, 0)
    if "from" in fill:
        source = fill["from"]
        if source not in TABLES[table].column_names:
            raise fail(f"{where}.from: {source!r} is not a column of {table}")
        if (
            column.unique
            and figures.distinct.get(f"{table}.{source}", rows) < rows
            and not (fill.get("unique_suffix"))
        ):
            raise fail(
                f"{where}: {column.name} is unique but {table}.{source} repeats values; "
                "use {'unique': PREFIX} instead"
            )
        affixed = "prefix" in fill or "suffix" in fill or "after_last" in fill
        if affixed and arrow != pa.string():
            raise fail(f"{where}: prefix / suffix / after_last need a text column")
        if not affixed:
            _check_fits(table, source, column, arrow, figures, "else" in fill)
        elif column.max_length is not None:
            longest = figures.max_length.get(f"{table}.{source}", 0)
            extra = len(str(fill.get("prefix", ""))) + len(str(fill.get("suffix", "")))
            if longest + extra > column.max_length:
                raise fail(
                    f"{where}: {column.type_name} cannot hold a {longest + extra}-character value"
                )
    elif "value" in fill:
        if column.unique and rows > 1:
            raise fail(f"{where}: {column.name} is unique; one value for every row would collide")
        if column.is_enum and fill["value"] not in column.labels:
            raise fail(f"{where}: {fill['value']!r} is not a label of {column.type_name}")
    elif "unique" in fill:
        if arrow != pa.string():
            raise fail(f"{where}: 'unique' makes text values; {column.name} is {column.type_name}")
    elif "count" in fill:
        if fill["count"] not in COUNTS.get(table, ()):
            raise fail(
                f"{where}: count is 'messages' (conversations, conversation_users) or 'read' "
                "(conversation_users: the room's messages up to the member's lastReadAt)"
            )
        if not pa.types.is_integer(arrow):
            raise fail(f"{where}: a count needs an integer column ({column.type_name})")
    elif "last_message" in fill and not (
        (table == "conversations" and fill["last_message"] in ("id", "createdAt"))
        or (table == "users" and fill["last_message"] == "createdAt")
    ):
        raise fail(
            f"{where}: last_message is 'id' or 'createdAt' on conversations, 'createdAt' on users"
        )
    return ColumnPlan(column, arrow, "fill", fill=dict(fill), entry=where)


def parent_plan(
    column: TargetColumn,
    arrow: pa.DataType,
    fill: dict[str, Any],
    parents: dict[str, Any],
    where: str,
) -> ColumnPlan:
    """A column filled with one of a declared parent's rows (parents.py)."""
    found = parent_of(parents, str(fill["parent"]))
    if found is None:
        raise fail(f'{where}.parent: {fill["parent"]!r} is not declared under "parents"')
    how = fill.get("spread", "zipf")
    if how not in SPREADS:
        raise fail(f"{where}.spread: one of {', '.join(SPREADS)}")
    target, rows, fmt = found
    problem = id_problem(column, arrow, fmt)
    if problem:
        raise fail(f"{where}: {problem}")
    made = {**fill, "spread": how, "rows": rows}
    return ColumnPlan(column, arrow, "parent", None, target, fmt, fill=made, entry=where)


def ref_plan(
    table: str,
    column: TargetColumn,
    arrow: pa.DataType,
    fill: dict[str, Any],
    formats: dict[str, str],
    where: str,
) -> ColumnPlan:
    """A column filled with a related row's id, in that table's id format."""
    referenced = check_ref(table, fill, where)
    fmt = formats[referenced]
    problem = id_problem(column, arrow, fmt)
    if problem:
        raise fail(f"{where}: {problem}")
    return ColumnPlan(column, arrow, "ref", None, referenced, fmt, fill=dict(fill), entry=where)


def automatic_fill(
    table: str, column: TargetColumn, arrow: pa.DataType, key: str = ""
) -> ColumnPlan:
    """A value for a required column the contract does not produce, by type; else an error."""
    if pa.types.is_timestamp(arrow) or arrow == pa.date32():
        fill: dict[str, Any] = {"from": TIME_COLUMN[table]}
    elif arrow == pa.bool_():
        fill = {"value": False}
    elif pa.types.is_integer(arrow):
        fill = {"value": 0}
    elif arrow == pa.string() and not column.is_enum:
        fill = {"unique": f"{column.name}-"}
    else:
        raise fail(
            f"{table}.{column.name} ({column.type_name}) is NOT NULL without a default and the "
            f"contract does not produce it; give it a fill in {key or 'tables.' + table}.fill"
        )
    if column.unique and "value" in fill:
        raise fail(
            f"{table}.{column.name} is unique and NOT NULL without a default; give it a fill"
        )
    where = f"an automatic fill of {table}.{column.name} (tables.{table}.fill.{column.name})"
    return ColumnPlan(column, arrow, "fill", fill={**fill, "automatic": True}, entry=where)


def _is_time(table: str, column: str) -> bool:
    return any(c.name == column and c.type == TIMESTAMP for c in TABLES[table].columns)


def fill_is_time(table: str, plan: ColumnPlan) -> bool:
    """Whether a fill makes times (a time column's values, or a last message's time)."""
    source = plan.fill.get("from")
    affixed = any(k in plan.fill for k in ("prefix", "suffix", "after_last"))
    by_source = isinstance(source, str) and _is_time(table, source) and not affixed
    return by_source or plan.fill.get("last_message") == "createdAt"


def time_named(name: str) -> bool:
    """An integer column whose name says it holds the row's time (createAt, updated_at,
    updateat); not a soft-delete or edit time, where 0 means "never"."""
    lowered = name.lower().replace("_", "")
    made = ("creat", "updat", "modif", "insert", "join")
    return lowered.endswith(("at", "time")) and any(w in lowered for w in made)


def loaded_tables(mapping: Mapping) -> dict[str, str]:
    """Target table -> the contract table the mapping loads into it."""
    return {mapping.table_name(t): t for t in LOAD_ORDER if t not in mapping.skipped}


def fill_required(
    mapping: Mapping,
    table: str,
    target_name: str,
    column: TargetColumn,
    arrow: pa.DataType,
    formats: dict[str, str],
    key: str,
) -> ColumnPlan:
    """A required column nothing maps: a related row when it is a foreign key (refused in one
    line when the key points at a table the mapping does not load), else a fill by type."""
    entry = f"the automatic fill of {target_name}.{column.name} ({key}.fill)"
    if column.references is None and pa.types.is_integer(arrow) and time_named(column.name):
        fill = {"from": TIME_COLUMN[table], "automatic": True}
        return ColumnPlan(column, arrow, "fill", fill=fill, entry=entry, epoch=mapping.epoch)
    if column.references is None:
        return replace(automatic_fill(table, column, arrow, key), entry=entry)
    parent = parent_of_table(mapping.parents, column.references.table)
    if parent is not None:  # a key to a declared parent: its rows, spread by the row's room
        fill = {"parent": parent, "automatic": True}
        return replace(parent_plan(column, arrow, fill, mapping.parents, key), entry=entry)
    id_columns = {t: mapping.column_name(t, "id") for t in REFERABLE}
    where = f"{key}: {target_name}.{column.name}"
    referenced = referenced_table(column, loaded_tables(mapping), id_columns, where)
    fill = {**default_ref(table, referenced), "automatic": True}
    return replace(ref_plan(table, column, arrow, fill, formats, where), entry=entry)


def _reference(table: str, column: str) -> str | None:
    """The contract table a column points at, if it is a foreign key (or the table's own id)."""
    if column == "id" and "id" in TABLES[table].column_names:
        return table
    for name, ref, _ in TABLES[table].foreign_keys:
        if name == column:
            return ref
    return None


def _value_map(mapping: Mapping, table: str, column: str, target: TargetColumn) -> dict[str, str]:
    key = f"{table}.{column}"
    translate = mapping.values.get(key, {})
    out = {v: translate.get(v, v) for v in ENUM_COLUMNS[key]}
    if not target.is_enum:
        return _text_values(key, out, target)
    missing = sorted(v for v, label in out.items() if label not in target.labels)
    if missing:
        raise fail(
            f"{key}: value {missing[0]} has no label in {target.type_name} "
            f"({', '.join(target.labels)}); map it in values.{key}"
        )
    return out


def _text_values(key: str, values: dict[str, str], target: TargetColumn) -> dict[str, str]:
    """A value map into a text (or integer) column: every value must fit the column."""
    for value, label in values.items():
        if target.max_length is not None and len(label) > target.max_length:
            raise fail(
                f"values.{key}.{value}: {label!r} does not fit {target.name} "
                f"({target.type_name}); map it to a shorter value"
            )
        if target.base in INT_RANGE and not label.lstrip("-").isdigit():
            raise fail(
                f"values.{key}.{value}: {label!r} is not an integer ({target.name} is "
                f"{target.type_name}); map it to one"
            )
    return values


def epoch_of(mapping: Mapping, arrow: pa.DataType, is_time: bool) -> str:
    """The epoch unit of a time loaded into an integer column ('' otherwise)."""
    return mapping.epoch if is_time and pa.types.is_integer(arrow) else ""


def _columns_of(
    mapping: Mapping,
    table: str,
    target_name: str,
    catalog: Catalog,
    formats: dict[str, str],
    figures: SourceFigures,
) -> TablePlan:
    target = catalog.tables[target_name]
    generated, _ = _id_spec(mapping, table)
    by_target = {mapping.column_name(table, c): c for c in TABLES[table].column_names}
    fills = mapping.fills.get(table, {})
    for name in fills:
        if name not in target.columns:
            raise fail(f"tables.{table}.fill.{name}: {target_name} has no column {name!r}")
    for contract_column, name in mapping.columns.get(table, {}).items():
        if name not in target.columns:
            raise fail(
                f"tables.{table}.columns.{contract_column}: {target_name} has no column {name!r}"
            )
    if generated is not None and generated not in target.columns:
        raise fail(f"tables.{table}.id.column: {target_name} has no column {generated!r}")
    loaded = loaded_tables(mapping)
    plans: list[ColumnPlan] = []
    left: list[str] = []
    for column in target.columns.values():
        arrow = (
            arrow_for(target_name, column)
            if (
                column.required
                or column.name in by_target
                or column.name in fills
                or column.name == generated
            )
            else None
        )
        if column.name in fills:
            assert arrow is not None
            fill = fills[column.name]
            plan = fill_plan(table, column, arrow, fill, figures, formats, "", mapping.parents)
            plans.append(replace(plan, epoch=epoch_of(mapping, arrow, fill_is_time(table, plan))))
        elif column.name == generated:
            assert arrow is not None
            fmt = formats[table]
            _check_id_column(target_name, column, arrow, fmt)
            plans.append(ColumnPlan(column, arrow, "generated id", None, table, fmt))
        elif column.name in by_target:
            assert arrow is not None
            source = by_target[column.name]
            ref = _reference(table, source)
            if ref is not None:
                fmt = formats[ref]
                _check_id_column(target_name, column, arrow, fmt)
                key = column.references
                if key is not None and source != "id" and loaded.get(key.table) != ref:
                    raise mismatch(column, key, f"{ref} ({mapping.table_name(ref)})", source)
                entry = f"tables.{table}.columns.{source}"
                plans.append(ColumnPlan(column, arrow, "id", source, ref, fmt, entry=entry))
            elif column.is_enum or (
                f"{table}.{source}" in ENUM_COLUMNS
                and (arrow == pa.string() or column.base in INT_RANGE)
            ):
                if f"{table}.{source}" not in ENUM_COLUMNS:
                    raise fail(
                        f"{table}.{source} -> {column.name}: only the contract's "
                        "enumerations can load into an enum column"
                    )
                vmap = _value_map(mapping, table, source, column)
                entry = f"values.{table}.{source}"
                plans.append(ColumnPlan(column, arrow, "enum", source, value_map=vmap, entry=entry))
            else:
                _check_fits(table, source, column, arrow, figures)
                entry = f"tables.{table}.columns.{source}"
                epoch = epoch_of(mapping, arrow, _is_time(table, source))
                plans.append(ColumnPlan(column, arrow, "copy", source, entry=entry, epoch=epoch))
        elif column.required:
            assert arrow is not None
            home = f"tables.{table}"
            plans.append(fill_required(mapping, table, target_name, column, arrow, formats, home))
        else:
            left.append(column.name)
    used = {p.source for p in plans if p.source}
    used |= {str(p.fill["from"]) for p in plans if p.fill.get("from")}
    not_loaded = [c for c in TABLES[table].column_names if c not in used]
    return TablePlan(table, target_name, tuple(plans), tuple(left), tuple(not_loaded))


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


def _check_id_column(table: str, column: TargetColumn, arrow: pa.DataType, fmt: str) -> None:
    problem = id_problem(column, arrow, fmt)
    if problem:
        raise fail(f"{table}.{column.name}: {problem}")


def id_formats(mapping: Mapping) -> dict[str, str]:
    """Each contract table's id format under the mapping (bigint where it says nothing)."""
    return {table: _id_spec(mapping, table)[1] for table in LOAD_ORDER}


def make_load_plan(mapping: Mapping, catalog: Catalog, figures: SourceFigures) -> LoadPlan:
    """Decide every column of every mapped table, or raise MappingLoadError naming the culprit."""
    if not catalog.tables:
        raise fail(f"schema {catalog.schema!r} has no tables: run your migrations first")
    formats: dict[str, str] = {}
    for table in LOAD_ORDER:
        formats[table] = _id_spec(mapping, table)[1]
    tables: list[TablePlan] = []
    for table in LOAD_ORDER:
        if table in mapping.skipped:
            continue
        name = mapping.table_name(table)
        if name not in catalog.tables:
            raise fail(
                f"tables.{table}: table {catalog.schema}.{name} does not exist (run your "
                'migrations first, or skip it with "skip": true)'
            )
        tables.append(_columns_of(mapping, table, name, catalog, formats, figures))
    from synthgen.appschema.derived import derived_plan  # it builds on this module's parts

    for name, spec in mapping.derived.items():
        tables.append(derived_plan(mapping, name, spec, catalog, formats, figures))
    parents = tuple(parent_plans(mapping.parents or None, catalog, arrow_for))
    return LoadPlan(catalog.schema, tuple(tables), formats, parents)
