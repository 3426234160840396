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

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from synthgen.appschema.catalog import Catalog, TargetColumn
from synthgen.appschema.ids import FORMATS
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
FILL_KINDS = ("from", "value", "unique", "last_message")
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

    def describe(self) -> str:
        """One line for `--plan`."""
        t = f"{self.target.name} ({self.target.type_name})"
        if self.action == "copy":
            return f"{t} <- {self.source}"
        if self.action in ("id", "generated id"):
            what = self.source or "row number"
            return f"{t} <- {what} as {self.id_format} ({self.id_table} ids)"
        if self.action == "enum":
            mapped = ", ".join(f"{k}->{v}" for k, v in sorted(self.value_map.items()) if k != v)
            return f"{t} <- {self.source} (enum{': ' + mapped if mapped else ''})"
        if self.action == "state":
            return f"{t} <- the state's label"
        if self.action == "state time":
            return f"{t} <- the state's time"
        auto = " (automatic)" if self.fill.get("automatic") else ""
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

    def describe(self) -> list[str]:
        """The plan as lines: per target table, every column and where it comes from."""
        lines: list[str] = []
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


def _fail(message: str) -> MappingLoadError:
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
            raise _fail(f"tables.{table}.id: unknown key {extra[0]!r} (known: format, column)")
        fmt, column = raw.get("format", "bigint"), raw.get("column")
    else:
        raise _fail(f"tables.{table}.id: a format name or {{'format', 'column'}}")
    if fmt not in FORMATS:
        raise _fail(f"tables.{table}.id: unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    if column is None and not has_id:
        raise _fail(
            f"tables.{table}.id: {table} has no id in the contract (its key is "
            f"{', '.join(TABLES[table].primary_key)}); give {{'column': NAME, 'format': ...}} to "
            "generate one"
        )
    if column is not None and not isinstance(column, str):
        raise _fail(f"tables.{table}.id.column must be a column name")
    return (column, str(fmt))


def _arrow_for(table: str, column: TargetColumn) -> pa.DataType:
    if column.is_enum:
        return pa.string()
    if column.base not in ARROW_FOR_BASE:
        raise _fail(
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
    table: str, source: str, column: TargetColumn, arrow: pa.DataType, figures: SourceFigures
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
        or (kind == pa.bool_() and arrow == pa.bool_())
    )
    if not ok:
        raise _fail(f"{where}: {column.type_name} cannot hold the contract's {src.pg_type}")
    if column.base in INT_RANGE and figures.max_value.get(key, 0) > INT_RANGE[column.base]:
        raise _fail(
            f"{where}: {column.type_name} cannot hold {figures.max_value[key]:,} "
            "(the largest value in the data)"
        )
    longest = figures.max_length.get(key, 0)
    if column.max_length is not None and longest > column.max_length:
        raise _fail(
            f"{where}: {column.type_name} cannot hold a {longest}-character value of the data"
        )
    if column.not_null and figures.nulls.get(key, 0) > 0:
        raise _fail(
            f"{where}: the column is NOT NULL but {figures.nulls[key]:,} rows of the data have "
            "no value; give it a fill or make it nullable"
        )


def _fill_plan(
    table: str, column: TargetColumn, arrow: pa.DataType, fill: Any, figures: SourceFigures
) -> ColumnPlan:
    where = f"tables.{table}.fill.{column.name}"
    if not isinstance(fill, dict) or not (set(fill) & set(FILL_KINDS)):
        raise _fail(f"{where}: one of {', '.join(FILL_KINDS)}")
    rows = figures.rows.get(table, 0)
    if "from" in fill:
        source = fill["from"]
        if source not in TABLES[table].column_names:
            raise _fail(f"{where}.from: {source!r} is not a column of {table}")
        if (
            column.unique
            and figures.distinct.get(f"{table}.{source}", rows) < rows
            and not (fill.get("unique_suffix"))
        ):
            raise _fail(
                f"{where}: {column.name} is unique but {table}.{source} repeats values; "
                "use {'unique': PREFIX} instead"
            )
        affixed = "prefix" in fill or "suffix" in fill or "after_last" in fill
        if affixed and arrow != pa.string():
            raise _fail(f"{where}: prefix / suffix / after_last need a text column")
        if not affixed:
            _check_fits(table, source, column, arrow, figures)
        elif column.max_length is not None:
            longest = figures.max_length.get(f"{table}.{source}", 0)
            extra = len(str(fill.get("prefix", ""))) + len(str(fill.get("suffix", "")))
            if longest + extra > column.max_length:
                raise _fail(
                    f"{where}: {column.type_name} cannot hold a {longest + extra}-character value"
                )
    elif "value" in fill:
        if column.unique and rows > 1:
            raise _fail(f"{where}: {column.name} is unique; one value for every row would collide")
        if column.is_enum and fill["value"] not in column.labels:
            raise _fail(f"{where}: {fill['value']!r} is not a label of {column.type_name}")
    elif "unique" in fill:
        if arrow != pa.string():
            raise _fail(f"{where}: 'unique' makes text values; {column.name} is {column.type_name}")
    elif "last_message" in fill and (
        table != "conversations" or fill["last_message"] not in ("id", "createdAt")
    ):
        raise _fail(f"{where}: last_message is 'id' or 'createdAt', on conversations only")
    return ColumnPlan(column, arrow, "fill", fill=dict(fill))


def _automatic_fill(table: str, column: TargetColumn, arrow: pa.DataType) -> ColumnPlan:
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
        raise _fail(
            f"{table}.{column.name} ({column.type_name}) is NOT NULL without a default and the "
            f"contract does not produce it; give it a fill in tables.{table}.fill"
        )
    if column.unique and "value" in fill:
        raise _fail(
            f"{table}.{column.name} is unique and NOT NULL without a default; give it a fill"
        )
    return ColumnPlan(column, arrow, "fill", fill={**fill, "automatic": True})


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
    missing = sorted(v for v, label in out.items() if label not in target.labels)
    if missing:
        raise _fail(
            f"{key}: value {missing[0]} has no label in {target.type_name} "
            f"({', '.join(target.labels)}); map it in values.{key}"
        )
    return out


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
            raise _fail(f"tables.{table}.fill.{name}: {target_name} has no column {name!r}")
    for contract_column, name in mapping.columns.get(table, {}).items():
        if name not in target.columns:
            raise _fail(
                f"tables.{table}.columns.{contract_column}: {target_name} has no column {name!r}"
            )
    if generated is not None and generated not in target.columns:
        raise _fail(f"tables.{table}.id.column: {target_name} has no column {generated!r}")
    plans: list[ColumnPlan] = []
    left: list[str] = []
    for column in target.columns.values():
        arrow = (
            _arrow_for(target_name, column)
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
            plans.append(_fill_plan(table, column, arrow, fills[column.name], figures))
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
                plans.append(ColumnPlan(column, arrow, "id", source, ref, fmt))
            elif column.is_enum:
                if f"{table}.{source}" not in ENUM_COLUMNS:
                    raise _fail(
                        f"{table}.{source} -> {column.name}: only the contract's "
                        "enumerations can load into an enum column"
                    )
                vmap = _value_map(mapping, table, source, column)
                plans.append(ColumnPlan(column, arrow, "enum", source, value_map=vmap))
            else:
                _check_fits(table, source, column, arrow, figures)
                plans.append(ColumnPlan(column, arrow, "copy", source))
        elif column.required:
            assert arrow is not None
            plans.append(_automatic_fill(table, column, arrow))
        else:
            left.append(column.name)
    used = {p.source for p in plans if p.source}
    used |= {str(p.fill["from"]) for p in plans if p.fill.get("from")}
    not_loaded = [c for c in TABLES[table].column_names if c not in used]
    return TablePlan(table, target_name, tuple(plans), tuple(left), tuple(not_loaded))


def _check_id_column(table: str, column: TargetColumn, arrow: pa.DataType, fmt: str) -> None:
    want = {"bigint": (pa.int64(),), "text": (pa.string(),), "cuid": (pa.string(),)}.get(
        fmt, (pa.binary(16), pa.string())
    )
    if arrow not in want:
        raise _fail(f"{table}.{column.name}: {column.type_name} cannot hold {fmt} ids")
    if column.max_length is not None and column.max_length < {"cuid": 25}.get(fmt, 36):
        raise _fail(f"{table}.{column.name}: {column.type_name} is too short for {fmt} ids")


def _derived(
    mapping: Mapping, name: str, spec: dict[str, Any], catalog: Catalog, formats: dict[str, str]
) -> TablePlan:
    where = f"derived.{name}"
    extra = sorted(set(spec) - {"table", "from", "kind", "id", "states", "columns"})
    if extra:
        raise _fail(f"{where}: unknown key {extra[0]!r}")
    if spec.get("kind", "delivery_states") != "delivery_states" or spec.get("from") != (
        "read_receipts"
    ):
        raise _fail(f"{where}: only kind 'delivery_states' from 'read_receipts' is known")
    target_name = spec.get("table")
    if not isinstance(target_name, str) or target_name not in catalog.tables:
        raise _fail(
            f"{where}.table: {target_name!r} is not a table of schema {catalog.schema!r} "
            "(run your migrations first)"
        )
    target = catalog.tables[target_name]
    columns = spec.get("columns", {})
    states = spec.get("states")
    if not isinstance(states, dict) or not states:
        raise _fail(f"{where}.states: an object of LABEL -> readAt | message_time")
    for label, when in states.items():
        if when not in STATE_TIMES:
            raise _fail(f"{where}.states.{label}: {when!r} (known: {', '.join(STATE_TIMES)})")
    roles = {"messageId": "messageId", "userId": "userId", "status": "status", "at": "at"}
    roles |= {k: v for k, v in columns.items() if k in roles}
    for role, column_name in roles.items():
        if column_name not in target.columns:
            raise _fail(f"{where}.columns.{role}: {target_name} has no column {column_name!r}")
    status = target.columns[roles["status"]]
    unknown = sorted(label for label in states if status.is_enum and label not in status.labels)
    if unknown:
        raise _fail(f"{where}.states.{unknown[0]}: not a label of {status.type_name}")
    id_column = spec.get("id", {}).get("column") if isinstance(spec.get("id"), dict) else None
    fmt = (
        spec.get("id", {}).get("format", "bigint") if isinstance(spec.get("id"), dict) else "bigint"
    )
    if fmt not in FORMATS:
        raise _fail(f"{where}.id.format: unknown format {fmt!r}")
    plans: list[ColumnPlan] = []
    chosen = set(roles.values()) | ({id_column} if id_column else set())
    for column in target.columns.values():
        if column.name not in chosen:
            if column.required:
                raise _fail(
                    f"{target_name}.{column.name} is NOT NULL without a default and "
                    f"{where} does not fill it"
                )
            continue
        arrow = _arrow_for(target_name, column)
        if column.name == id_column:
            _check_id_column(target_name, column, arrow, fmt)
            plans.append(ColumnPlan(column, arrow, "generated id", None, name, fmt))
        elif column.name == roles["messageId"]:
            plans.append(
                ColumnPlan(column, arrow, "id", "messageId", "messages", formats["messages"])
            )
        elif column.name == roles["userId"]:
            plans.append(ColumnPlan(column, arrow, "id", "userId", "users", formats["users"]))
        elif column.name == roles["status"]:
            plans.append(ColumnPlan(column, arrow, "state"))
        else:
            plans.append(ColumnPlan(column, arrow, "state time"))
    left = tuple(c for c in target.columns if c not in chosen)
    return TablePlan(
        "read_receipts", target_name, tuple(plans), left, (), tuple(states.items()), name
    )


def id_formats(mapping: Mapping) -> dict[str, str]:
    """Each contract table's id format under the mapping (bigint where it says nothing)."""
    return {table: _id_spec(mapping, table)[1] for table in LOAD_ORDER}


def make_load_plan(mapping: Mapping, catalog: Catalog, figures: SourceFigures) -> LoadPlan:
    """Decide every column of every mapped table, or raise MappingLoadError naming the culprit."""
    if not catalog.tables:
        raise _fail(f"schema {catalog.schema!r} has no tables: run your migrations first")
    formats: dict[str, str] = {}
    for table in LOAD_ORDER:
        formats[table] = _id_spec(mapping, table)[1]
    tables: list[TablePlan] = []
    for table in LOAD_ORDER:
        if table in mapping.skipped:
            continue
        name = mapping.table_name(table)
        if name not in catalog.tables:
            raise _fail(
                f"tables.{table}: table {catalog.schema}.{name} does not exist (run your "
                'migrations first, or skip it with "skip": true)'
            )
        tables.append(_columns_of(mapping, table, name, catalog, formats, figures))
    for name, spec in mapping.derived.items():
        tables.append(_derived(mapping, name, spec, catalog, formats))
    return LoadPlan(catalog.schema, tuple(tables), formats)
