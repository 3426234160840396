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

from dataclasses import replace

import pyarrow as pa

from synthgen.appschema.catalog import Catalog, TargetColumn
from synthgen.appschema.refs import mismatch
from synthgen.load.mapped.derived import derived_plan
from synthgen.load.mapped.fills import (
    check_fits,
    epoch_of,
    fill_is_time,
    fill_plan,
    fill_required,
    is_time,
    loaded_tables,
    text_values,
    time_named,
)
from synthgen.load.mapped.ids import FORMATS
from synthgen.load.mapped.load_plan_types import (
    FILL_KINDS,
    INT_RANGE,
    LOAD_ORDER,
    REFERENCED,
    STATE_TIMES,
    TIME_COLUMN,
    ColumnPlan,
    LoadPlan,
    MappingLoadError,
    SourceFigures,
    TablePlan,
    arrow_for,
    check_id_column,
    fail,
    id_problem,
)
from synthgen.load.mapped.parents import parent_plans
from synthgen.mapping import ENUM_COLUMNS, Mapping
from synthgen.schema import TABLES

__all__ = [  # the plan's types and fills, for the modules that build on the plan
    "FILL_KINDS", "INT_RANGE", "LOAD_ORDER", "REFERENCED", "STATE_TIMES", "TIME_COLUMN",
    "ColumnPlan", "LoadPlan", "MappingLoadError", "SourceFigures", "TablePlan", "arrow_for",
    "epoch_of", "fail", "fill_is_time", "fill_plan", "fill_required", "id_formats",
    "id_problem", "make_load_plan", "time_named",
]  # fmt: skip


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
        return text_values(key, out, target)
    missing = sorted(v for v, label in out.items() if label not in target.labels)
    if missing:
        raise fail(
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
            check_id_column(target_name, column, arrow, fmt)
            plans.append(ColumnPlan(column, arrow, "generated id", None, table, fmt))
        elif column.name in by_target:
            assert arrow is not None
            source = by_target[column.name]
            ref = _reference(table, source)
            if ref is not None:
                fmt = formats[ref]
                check_id_column(target_name, column, arrow, fmt)
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
                check_fits(table, source, column, arrow, figures)
                entry = f"tables.{table}.columns.{source}"
                epoch = epoch_of(mapping, arrow, is_time(table, source))
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
    for name, spec in mapping.derived.items():
        tables.append(derived_plan(mapping, name, spec, catalog, formats, figures))
    parents = tuple(parent_plans(mapping.parents or None, catalog, arrow_for))
    return LoadPlan(catalog.schema, tuple(tables), formats, parents)
