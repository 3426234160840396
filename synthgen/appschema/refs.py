"""Foreign keys of the application the contract has no column for: which related row fills them.

A ``ref`` fill names the contract table a column points at and how its row is chosen, always as a
pure function of the row's own data (every load gives the same rows): ``through`` a foreign key
of the row (or one step further, ``messageId.senderId``), a conversation's ``member``
(``owner`` or ``earliest``), or a hash of the row's own id. Without a fill, a required column
with a foreign key to a mapped table gets the first rule that applies (`default_ref`); one to a
table the mapping does not load is refused. docs/app-schema.md lists the forms.
"""

from __future__ import annotations

from typing import Any

from synthgen.appschema.catalog import Reference, TargetColumn
from synthgen.errors import LoadError
from synthgen.schema import TABLES

REFERABLE = ("users", "conversations", "messages")  # contract tables with ids rows point at
MEMBER_RULES = ("owner", "earliest")


class RefError(LoadError):
    """A ``ref`` fill or a foreign key the mapping cannot satisfy; nothing was written."""


def _fks(table: str) -> list[tuple[str, str]]:
    """(column, referenced contract table) of a contract table's foreign keys."""
    return [(name, ref) for name, ref, _ in TABLES[table].foreign_keys]


def default_ref(source: str, referenced: str) -> dict[str, Any]:
    """The related-row rule for a column of `source`'s table pointing at `referenced`'s."""
    if source == "conversations" and referenced == "users":
        return {"ref": "users", "member": "owner"}
    direct = [c for c, ref in _fks(source) if ref == referenced]
    if direct:
        return {"ref": referenced, "through": direct[0]}
    for column, middle in _fks(source):
        for second, ref in _fks(middle):
            if ref == referenced:
                return {"ref": referenced, "through": f"{column}.{second}"}
    return {"ref": referenced}


def check_ref(source: str, fill: dict[str, Any], where: str) -> str:
    """Validate a ``ref`` fill of a column of `source`'s table; returns the referenced table."""
    referenced = fill.get("ref")
    if referenced not in REFERABLE:
        raise RefError(f"--mapping: {where}.ref: one of {', '.join(REFERABLE)}")
    extra = sorted(set(fill) - {"ref", "through", "member", "automatic"})
    if extra:
        raise RefError(f"--mapping: {where}: unknown key {extra[0]!r} (known: through, member)")
    if "through" in fill and "member" in fill:
        raise RefError(f"--mapping: {where}: through or member, not both")
    if "member" in fill:
        if source != "conversations" or referenced != "users":
            raise RefError(f"--mapping: {where}.member: a conversation's member, on conversations")
        if fill["member"] not in MEMBER_RULES:
            raise RefError(f"--mapping: {where}.member: one of {', '.join(MEMBER_RULES)}")
    if "through" in fill:
        _check_through(source, referenced, fill["through"], where)
    return str(referenced)


def _check_through(source: str, referenced: str, through: Any, where: str) -> None:
    steps = through.split(".") if isinstance(through, str) else []
    if len(steps) not in (1, 2):
        raise RefError(f"--mapping: {where}.through: 'COLUMN' or 'COLUMN.COLUMN'")
    table = source
    for step in steps:
        hops = dict(_fks(table))
        if step not in hops:
            known = ", ".join(hops) or "none"
            raise RefError(
                f"--mapping: {where}.through: {step!r} is not a foreign key of {table} "
                f"(its foreign keys: {known})"
            )
        table = hops[step]
    if table != referenced:
        raise RefError(f"--mapping: {where}.through: {through} points at {table}, not {referenced}")


def describe_ref(fill: dict[str, Any]) -> str:
    """The related-row rule in words, for `--plan`."""
    table = fill["ref"]
    if "member" in fill:
        rule = "the owner, else the earliest member" if fill["member"] == "owner" else "earliest"
        return f"{table}: the conversation's {rule}"
    if "through" in fill:
        return f"{table}: the row's {fill['through']}"
    return f"{table}: a row chosen from the row's own id"


def referenced_table(
    column: TargetColumn, loaded: dict[str, str], id_columns: dict[str, str], where: str
) -> str:
    """The contract table a foreign-key column points at, or RefError in one line: the key
    points at a table the mapping does not load, at another column than its id, or is composite.
    `loaded`: target table -> contract table; `id_columns`: contract table -> its id column."""
    ref = column.references
    assert ref is not None
    said = f"{where} ({column.type_name}) references {ref.describe()}"
    if ref.columns > 1:
        raise RefError(f"--mapping: {said}, a key of {ref.columns} columns; fill it explicitly")
    referenced = loaded.get(ref.table)
    if referenced is None:
        raise RefError(
            f"--mapping: {said}, a table the mapping does not load; map it, declare its rows "
            'under "parents", or give the column a fill'
        )
    if referenced not in REFERABLE or id_columns.get(referenced) != ref.column:
        raise RefError(f"--mapping: {said}, which is not the id of a mapped table; fill it")
    return referenced


def mismatch(column: TargetColumn, ref: Reference, wanted: str, source: str) -> RefError:
    """A contract column loaded into a foreign key that points elsewhere."""
    return RefError(
        f"--mapping: {source} -> {column.name}: the column references {ref.describe()}, "
        f"but {source} points at {wanted}"
    )
