"""The fills of the load plan: a mapping's explicit fills (from, value, unique, last_message,
ref, count, parent), the automatic fill of a required column nothing maps (a related row for a
foreign key, else by type), and the checks that the target column can hold them."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pyarrow as pa

from synthgen.appschema.catalog import TargetColumn
from synthgen.appschema.refs import (
    REFERABLE,
    check_ref,
    default_ref,
    referenced_table,
)
from synthgen.load.mapped.counters import COUNTS
from synthgen.load.mapped.load_plan_types import (
    FILL_KINDS,
    INT_RANGE,
    LOAD_ORDER,
    TIME_COLUMN,
    ColumnPlan,
    SourceFigures,
    fail,
    id_problem,
)
from synthgen.load.mapped.parents import SPREADS, parent_of, parent_of_table
from synthgen.mapping import Mapping
from synthgen.schema import TABLES, TIMESTAMP


def check_fits(
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
            check_fits(table, source, column, arrow, figures, "else" in fill)
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


def is_time(table: str, column: str) -> bool:
    return any(c.name == column and c.type == TIMESTAMP for c in TABLES[table].columns)


def fill_is_time(table: str, plan: ColumnPlan) -> bool:
    """Whether a fill makes times (a time column's values, or a last message's time)."""
    source = plan.fill.get("from")
    affixed = any(k in plan.fill for k in ("prefix", "suffix", "after_last"))
    by_source = isinstance(source, str) and is_time(table, source) and not affixed
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


def text_values(key: str, values: dict[str, str], target: TargetColumn) -> dict[str, str]:
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
