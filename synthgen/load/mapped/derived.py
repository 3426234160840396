"""The plan of a derived table (``derived.NAME`` in the mapping): a table built from a contract
table, today ``delivery_states`` — one row per read receipt per state.

Its message, user, status and time columns come from the receipt and the state; every other
column is decided as a mapped table's is: the entry's ``fill`` (same kinds, ``ref`` included),
then an automatic fill for a required column (a foreign key: a related row; a timestamp: the
state's time; the rest by type). ``states`` defaults to the status enum's own labels among
SENT and DELIVERED (at the message's time) and READ (at the receipt's).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pyarrow as pa

from synthgen.appschema.catalog import Catalog, TargetColumn, TargetTable
from synthgen.load.mapped.fills import epoch_of, fill_is_time, fill_plan, fill_required, time_named
from synthgen.load.mapped.ids import FORMATS
from synthgen.load.mapped.load_plan_types import (
    STATE_TIMES,
    ColumnPlan,
    SourceFigures,
    TablePlan,
    arrow_for,
    fail,
    id_problem,
)
from synthgen.mapping import Mapping

SOURCE = "read_receipts"
DEFAULT_STATES = {"SENT": "message_time", "DELIVERED": "message_time", "READ": "readAt"}
_KEYS = {"table", "from", "kind", "id", "states", "columns", "fill"}


def _states(spec: dict[str, Any], status: TargetColumn, where: str) -> dict[str, str]:
    states = spec.get("states")
    if states is None and status.is_enum:
        states = {k: v for k, v in DEFAULT_STATES.items() if k in status.labels}
    if not isinstance(states, dict) or not states:
        raise fail(f"{where}.states: an object of LABEL -> readAt | message_time")
    for label, when in states.items():
        if when not in STATE_TIMES:
            raise fail(f"{where}.states.{label}: {when!r} (known: {', '.join(STATE_TIMES)})")
    unknown = sorted(label for label in states if status.is_enum and label not in status.labels)
    if unknown:
        raise fail(f"{where}.states.{unknown[0]}: not a label of {status.type_name}")
    return {str(k): str(v) for k, v in states.items()}


def _target(spec: dict[str, Any], catalog: Catalog, where: str) -> TargetTable:
    extra = sorted(set(spec) - _KEYS)
    if extra:
        raise fail(f"{where}: unknown key {extra[0]!r}")
    if spec.get("kind", "delivery_states") != "delivery_states" or spec.get("from") != SOURCE:
        raise fail(f"{where}: only kind 'delivery_states' from 'read_receipts' is known")
    name = spec.get("table")
    if not isinstance(name, str) or name not in catalog.tables:
        raise fail(
            f"{where}.table: {name!r} is not a table of schema {catalog.schema!r} "
            "(run your migrations first)"
        )
    return catalog.tables[name]


def derived_plan(
    mapping: Mapping,
    name: str,
    spec: dict[str, Any],
    catalog: Catalog,
    formats: dict[str, str],
    figures: SourceFigures,
) -> TablePlan:
    """Every column of a derived table, or MappingLoadError naming the culprit."""
    where = f"derived.{name}"
    target = _target(spec, catalog, where)
    columns = spec.get("columns", {})
    roles = {"messageId": "messageId", "userId": "userId", "status": "status", "at": "at"}
    roles |= {k: v for k, v in columns.items() if k in roles}
    for role, column_name in roles.items():
        if column_name not in target.columns:
            raise fail(f"{where}.columns.{role}: {target.name} has no column {column_name!r}")
    states = _states(spec, target.columns[roles["status"]], where)
    raw_id = spec.get("id") if isinstance(spec.get("id"), dict) else {}
    assert isinstance(raw_id, dict)
    id_column, fmt = raw_id.get("column"), raw_id.get("format", "bigint")
    if fmt not in FORMATS:
        raise fail(f"{where}.id.format: unknown format {fmt!r}")
    fills = spec.get("fill", {})
    if not isinstance(fills, dict):
        raise fail(f"{where}.fill must be a JSON object")
    for column_name in fills:
        if column_name not in target.columns:
            raise fail(f"{where}.fill.{column_name}: {target.name} has no column {column_name!r}")
    by_role = {v: k for k, v in roles.items()}
    plans: list[ColumnPlan] = []
    left: list[str] = []
    for column in target.columns.values():
        if column.name in fills:
            arrow = arrow_for(target.name, column)
            at = f"{where}.fill.{column.name}"
            fill = fills[column.name]
            plan = fill_plan(SOURCE, column, arrow, fill, figures, formats, at, mapping.parents)
            is_time = fill_is_time(SOURCE, plan)
            plans.append(replace(plan, epoch=epoch_of(mapping, arrow, is_time)))
        elif column.name == id_column:
            arrow = arrow_for(target.name, column)
            problem = id_problem(column, arrow, fmt)
            if problem:
                raise fail(f"{target.name}.{column.name}: {problem}")
            plans.append(ColumnPlan(column, arrow, "generated id", None, name, fmt, entry=where))
        elif column.name in by_role:
            plan = _role(by_role[column.name], column, target.name, formats, where)
            is_time = plan.action == "state time"
            plans.append(replace(plan, epoch=epoch_of(mapping, plan.arrow, is_time)))
        elif column.required:
            plans.append(_required(mapping, column, target.name, formats, where))
        else:
            left.append(column.name)
    return TablePlan(
        SOURCE, target.name, tuple(plans), tuple(left), (), tuple(states.items()), name
    )


def _role(
    role: str, column: TargetColumn, table: str, formats: dict[str, str], where: str
) -> ColumnPlan:
    arrow = arrow_for(table, column)
    entry = f"{where}.columns.{role}"
    if role in ("messageId", "userId"):
        ref = "messages" if role == "messageId" else "users"
        return ColumnPlan(column, arrow, "id", role, ref, formats[ref], entry=entry)
    return ColumnPlan(column, arrow, "state" if role == "status" else "state time", entry=entry)


def _required(
    mapping: Mapping, column: TargetColumn, table: str, formats: dict[str, str], where: str
) -> ColumnPlan:
    """A required column the entry does not mention: a timestamp takes the state's time (the
    row's own time, as a mapped table's does); the rest as a mapped table's."""
    arrow = arrow_for(table, column)
    if column.references is None and (pa.types.is_timestamp(arrow) or arrow == pa.date32()):
        entry = f"the automatic fill of {table}.{column.name} ({where}.fill)"
        return ColumnPlan(column, arrow, "state time", fill={"automatic": True}, entry=entry)
    if column.references is None and pa.types.is_integer(arrow) and time_named(column.name):
        entry = f"the automatic fill of {table}.{column.name} ({where}.fill)"
        plan = ColumnPlan(column, arrow, "state time", fill={"automatic": True}, entry=entry)
        return replace(plan, epoch=mapping.epoch)
    return fill_required(mapping, SOURCE, table, column, arrow, formats, where)
