"""Parents the contract does not have: a multi-tenant schema's tenants, teams or workspaces
(the mapping's ``"parents"``; docs/app-schema.md).

The load writes their rows first, then every column filled with ``{"parent": NAME}`` (or a
required foreign key to the parent's table) takes a parent chosen from the row's room, so a
room's members and messages share its tenant. Deterministic: the same data, the same parents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from synthgen.appschema.catalog import Catalog, TargetColumn
from synthgen.errors import LoadError
from synthgen.load.mapped.ids import FORMATS, format_ids, scramble60

SPREADS = ("zipf", "uniform")
ZIPF_S = 1.1
_KEYS = {"table", "rows", "id", "fill"}


class ParentError(LoadError):
    """A parents entry of the mapping cannot load; nothing was written."""


@dataclass(frozen=True)
class ParentPlan:
    """One parent table: its rows and how each column is filled."""

    name: str  # the mapping's name for it
    target: str  # the table
    rows: int
    id_column: str
    id_format: str
    fills: dict[str, dict[str, Any]]  # column -> fill (value / unique / automatic kinds)
    arrows: dict[str, pa.DataType]

    def describe(self) -> list[str]:
        lines = [f"{self.target}  <-  {self.rows} parent rows ({self.name})"]
        lines.append(f"    {self.id_column} <- 1..{self.rows} as {self.id_format}")
        lines += [f"    {c} <- fill {f}" for c, f in self.fills.items()]
        return lines


def _fail(message: str) -> ParentError:
    return ParentError(f"--mapping: {message}")


def _automatic(column: TargetColumn, arrow: pa.DataType, where: str) -> dict[str, Any]:
    if pa.types.is_timestamp(arrow):
        return {"first_time": True}
    if pa.types.is_integer(arrow):
        lowered = column.name.lower().replace("_", "")
        timed = lowered.endswith(("at", "time")) and any(
            w in lowered for w in ("creat", "updat", "modif", "insert")
        )
        return {"first_time": True} if timed else {"value": 0}
    if arrow == pa.bool_():
        return {"value": False}
    if arrow == pa.string() and not column.is_enum:
        return {"unique": f"{column.name}-"}
    raise _fail(f"{where}.fill.{column.name}: {column.type_name} needs a fill")


def parent_plans(raw: Any, catalog: Catalog, arrow_for: Any) -> list[ParentPlan]:
    """Validate ``parents`` against the catalog; `arrow_for(table, column)` gives column types."""
    if raw is None:
        return []
    if not isinstance(raw, dict):
        raise _fail("parents must be a JSON object")
    plans: list[ParentPlan] = []
    for name, spec in raw.items():
        where = f"parents.{name}"
        if not isinstance(spec, dict) or sorted(set(spec) - _KEYS):
            raise _fail(f"{where}: an object of {', '.join(sorted(_KEYS))}")
        table = spec.get("table", name)
        if table not in catalog.tables:
            raise _fail(f"{where}.table: {table!r} is not a table of schema {catalog.schema!r}")
        rows = spec.get("rows")
        if not isinstance(rows, int) or isinstance(rows, bool) or not 1 <= rows <= 10_000_000:
            raise _fail(f"{where}.rows: a whole number of rows, 1 to 10,000,000")
        raw_id = spec.get("id", "bigint")
        id_spec = raw_id if isinstance(raw_id, dict) else {"format": raw_id}
        fmt, id_column = id_spec.get("format", "bigint"), id_spec.get("column", "id")
        target = catalog.tables[table]
        if fmt not in FORMATS or id_column not in target.columns:
            raise _fail(f"{where}.id: a format ({', '.join(FORMATS)}) and an existing column")
        fills = spec.get("fill", {})
        if not isinstance(fills, dict) or any(c not in target.columns for c in fills):
            raise _fail(f"{where}.fill: columns of {table}")
        planned: dict[str, dict[str, Any]] = {}
        arrows: dict[str, pa.DataType] = {id_column: arrow_for(table, target.columns[id_column])}
        for column in target.columns.values():
            if column.name == id_column or not (column.required or column.name in fills):
                continue
            arrow = arrow_for(table, column)
            fill = fills.get(column.name) or _automatic(column, arrow, where)
            if not isinstance(fill, dict) or not ({"value", "unique", "first_time"} & set(fill)):
                raise _fail(f"{where}.fill.{column.name}: a 'value' or 'unique' fill")
            planned[column.name], arrows[column.name] = dict(fill), arrow
        plans.append(ParentPlan(name, table, rows, id_column, str(fmt), planned, arrows))
    return plans


def parent_batch(plan: ParentPlan, first_us: int, us_per_unit: int) -> pa.RecordBatch:
    """The parent table's rows: ids 1..rows and their filled columns."""
    ids = np.arange(1, plan.rows + 1, dtype=np.int64)
    ms = np.zeros(plan.rows, dtype=np.int64)  # time-ordered ids of parents: at 1970 (see ids)
    arrays = [
        _as(format_ids(ids, plan.target, plan.id_format, ms, plan.arrows[plan.id_column] ==
                       pa.binary(16)), plan.arrows[plan.id_column])
    ]  # fmt: skip
    for column, fill in plan.fills.items():
        arrow = plan.arrows[column]
        if "unique" in fill:
            digits = pa.array(ids).cast(pa.string())
            arrays.append(pc.binary_join_element_wise(str(fill["unique"]), digits, ""))
        elif "first_time" in fill and pa.types.is_integer(arrow):
            per = us_per_unit  # an integer time in the mapping's epoch unit, rounded
            arrays.append(pa.array(np.full(plan.rows, (first_us + per // 2) // per), arrow))
        elif "first_time" in fill:
            stamps = pa.array(np.full(plan.rows, first_us), pa.timestamp("us", tz="UTC"))
            arrays.append(stamps.cast(pa.timestamp("us")) if arrow.tz is None else stamps)
        else:
            arrays.append(pa.repeat(pa.scalar(fill["value"]).cast(arrow), plan.rows))
    names = [plan.id_column, *plan.fills]
    return pa.RecordBatch.from_arrays(arrays, names=names)


def _as(values: pa.Array, arrow: pa.DataType) -> pa.Array:
    return values if values.type == arrow else values.cast(arrow)


def parent_of(raw: dict[str, Any], name: str) -> tuple[str, int, str] | None:
    """(table, rows, id format) of a declared parent, or None."""
    spec = raw.get(name)
    if not isinstance(spec, dict):
        return None
    raw_id = spec.get("id", "bigint")
    fmt = raw_id.get("format", "bigint") if isinstance(raw_id, dict) else raw_id
    return str(spec.get("table", name)), int(spec.get("rows", 0)), str(fmt)


def parent_of_table(raw: dict[str, Any], table: str) -> str | None:
    """The declared parent whose rows fill `table`, or None."""
    for name, spec in raw.items():
        if isinstance(spec, dict) and spec.get("table", name) == table:
            return str(name)
    return None


def spread(keys: NDArray[np.int64], rows: int, how: str, salt: str) -> NDArray[np.int64]:
    """A parent (1..rows) for each key: uniform, or Zipf-distributed over the parents."""
    u = (scramble60(keys, salt) >> np.uint64(8)).astype(np.float64) / float(1 << 52)
    if how == "uniform":
        return (np.floor(u * rows).astype(np.int64) % rows) + 1
    weights = 1.0 / np.arange(1, rows + 1, dtype=np.float64) ** ZIPF_S
    cdf = np.cumsum(weights) / weights.sum()
    return np.minimum(np.searchsorted(cdf, u, side="right"), rows - 1).astype(np.int64) + 1
