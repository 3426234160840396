"""A load the data itself stops (a foreign key, unique, check or NOT NULL constraint it breaks, a
value the column cannot take): one line naming the constraint and the mapping entry that filled
its columns. Running the same mapping again cannot help, so the line says to fix the mapping and
load again with --replace — never --resume."""

from __future__ import annotations

import re

from synthgen.load.mapped.load_plan import LoadPlan
from synthgen.postgres.connect import DatabaseError, error_text

# SQLSTATE classes of errors the data causes: 22 data exception, 23 integrity constraint violation
DATA_CLASSES = ("22", "23")


def _database_error(exc: BaseException) -> DatabaseError | None:
    """The driver error behind `exc` (itself, or a cause of a wrapping error)."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return None
        if isinstance(seen, DatabaseError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _diagnostic(exc: DatabaseError, name: str) -> str:
    """One field of the server's error report (PG_DIAG_…), or ''."""
    for key, value in getattr(exc, "details", None) or []:
        if key in (name.encode(), name):
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return ""


def _columns(exc: DatabaseError) -> list[str]:
    """The columns the failed check involved: the report's column, else the detail's
    ``Key (a, b)=`` (only the names are read, never the values)."""
    column = _diagnostic(exc, "PG_DIAG_COLUMN_NAME")
    if column:
        return [column]
    found = re.match(r"Key \((.+?)\)=", _diagnostic(exc, "PG_DIAG_MESSAGE_DETAIL"))
    if not found:
        return []
    return [part.strip().strip('"') for part in found.group(1).split(",")]


def responsible(plan: LoadPlan, table: str, columns: list[str]) -> str:
    """The mapping entries that filled `columns` of `table` ('' when none is known)."""
    entries: list[str] = []
    for t in plan.tables:
        if t.target != table:
            continue
        for c in t.columns:
            if c.target.name in columns:
                entries.append(f"{table}.{c.target.name} <- {c.entry or c.action}")
    return "; ".join(entries)


def data_error(exc: BaseException, plan: LoadPlan, dsn: str) -> str | None:
    """The one line for a load the data stopped, or None when `exc` is no data error."""
    db = _database_error(exc)
    sqlstate = str(getattr(db, "sqlstate", "") or "")
    if db is None or sqlstate[:2] not in DATA_CLASSES:
        return None
    constraint = _diagnostic(db, "PG_DIAG_CONSTRAINT_NAME")
    table = _diagnostic(db, "PG_DIAG_TABLE_NAME")
    where = responsible(plan, table, _columns(db))
    named = f"constraint {constraint!r}" if constraint else "a column's type"
    filled = f" (filled by {where})" if where else ""
    return (
        f"load into {plan.schema!r} stopped: the data breaks {named}{filled}: "
        f"{error_text(db, dsn)}; fix the mapping and load again with --replace"
    )
