"""The churn of an extension applied to an application's tables through its load plan: edits,
soft and hard deletes, leaves and the moved cursors, under the application's column names.

The hour's changes are staged (in the audit schema: the application's schema holds only its own
tables) with their ids already in the application's formats, then applied by set-based
statements. A change the delta holds but the mapping has no column for is refused before
anything is written, naming the mapping field that would express it.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synthgen.load.mapped import transform as tf
from synthgen.load.mapped.ids import TIME_ORDERED, format_ids
from synthgen.load.mapped.load_plan import LoadPlan, TablePlan
from synthgen.load.mapped.load_plan_types import ColumnPlan, fail
from synthgen.mapping import EPOCH_UNITS
from synthgen.schema import qualified, quote_ident

STAGING = "synthgen_append_changes"
# op -> (contract table, contract column the change writes); a leave's `isActive` and an
# edit's `content` are needed, the cursors are kept only where the application has a column
NEEDED = {
    "edit": ("messages", "content"),
    "soft_delete": ("messages", "content"),
    "leave": ("conversation_users", "isActive"),
}
CURSORS = {
    "read_cursor": ("conversation_users", "lastReadAt"),
    "seen": ("users", "lastSeenAt"),
    "room_updated": ("conversations", "updatedAt"),
}


def table_of(plan: LoadPlan, source: str) -> TablePlan | None:
    """The (not derived) target table a contract table feeds."""
    return next((t for t in plan.tables if t.source == source and not t.states), None)


def column_of(table: TablePlan, source: str) -> str | None:
    """The target column that holds a contract column (copied, converted or filled from it)."""
    for c in table.columns:
        if c.source == source or (c.action == "fill" and c.fill.get("from") == source):
            return c.target.name
    return None


def columns_of(table: TablePlan, source: str) -> list[ColumnPlan]:
    """Every target column holding a contract column (a cursor may feed two)."""
    return [
        c
        for c in table.columns
        if c.source == source or (c.action == "fill" and c.fill.get("from") == source)
    ]


def as_stored(c: ColumnPlan, expr: str) -> str:
    """A timestamptz expression as the column stores it: an epoch column's count of its unit,
    rounded as the load rounds (load.mapped.transform._cast)."""
    if not c.epoch:
        return expr
    per = EPOCH_UNITS[c.epoch]
    us = f"(extract(epoch FROM {expr}) * 1000000)::bigint"
    return f"(({us} + {per // 2}) / {per})" if per > 1 else us


def app_has(table: TablePlan, name: str) -> bool:
    """Whether the application's table has column `name` (sent or left to the server)."""
    return name in table.left_to_server or any(c.target.name == name for c in table.columns)


def check_expressible(plan: LoadPlan, ops: set[str]) -> None:
    """Refuse (one line naming the mapping field) a change the mapping cannot express."""
    for table in ("users", "conversations", "conversation_users", "messages"):
        if table_of(plan, table) is None:
            raise fail(f"tables.{table}: not mapped; --append needs it to apply the changes")
    for op in sorted(ops & set(NEEDED)):
        source, column = NEEDED[op]
        target = table_of(plan, source)
        assert target is not None
        if column_of(target, column) is None:
            raise fail(
                f"tables.{source}.columns.{column}: no column of {target.target} holds it, and "
                f"the delta's {op.replace('_', ' ')}s write it; map it to one"
            )


def id_column(table: TablePlan) -> tuple[str, pa.DataType]:
    own = next(c for c in table.columns if c.action == "id" and c.source == "id")
    return own.target.name, own.arrow


def staging_ddl(plan: LoadPlan, audit_schema: str) -> str:
    """The staging table: ids typed as the application's keys (made from its own columns)."""
    m, c, u = (table_of(plan, t) for t in ("messages", "conversations", "users"))
    assert m and c and u
    q = {t.target: qualified(plan.schema, t.target) for t in (m, c, u)}
    return (
        f"CREATE UNLOGGED TABLE IF NOT EXISTS {qualified(audit_schema, STAGING)} AS SELECT "
        f'NULL::timestamptz AS "changedAt", NULL::text AS op, '
        f"m.{quote_ident(id_column(m)[0])} AS mid, c.{quote_ident(id_column(c)[0])} AS cid, "
        f"u.{quote_ident(id_column(u)[0])} AS uid, NULL::text AS content "
        f"FROM {q[m.target]} m, {q[c.target]} c, {q[u.target]} u WITH NO DATA"
    )


def ids_as(
    ctx: tf.Context, plan: LoadPlan, table: str, ids: np.ndarray, arrow: pa.DataType
) -> pa.Array:
    """Contract ids of `table` in the application's format, exactly as the load wrote them."""
    binary = arrow == pa.binary(16)
    cached = ctx.lookup(table, ids, binary)
    if cached is not None:
        return cached
    fmt = plan.id_formats.get(table, "bigint")
    clock = ctx.clocks.get(table)
    ms = clock.ms(ids) if clock is not None and fmt in TIME_ORDERED else None
    return format_ids(ids, table, fmt, ms, binary)


def staged(changes: pa.Table, plan: LoadPlan, ctx: tf.Context) -> pa.Table:
    """The contract's changes with their ids in the application's formats."""
    columns = {"changedAt": changes.column("changedAt"), "op": changes.column("op")}
    for name, (source, table) in {
        "mid": ("messageId", "messages"),
        "cid": ("conversationId", "conversations"),
        "uid": ("userId", "users"),
    }.items():
        target = table_of(plan, table)
        assert target is not None
        ids = changes.column(source).combine_chunks().to_numpy(zero_copy_only=False)
        columns[name] = ids_as(ctx, plan, table, np.asarray(ids, np.int64), id_column(target)[1])
    columns["content"] = changes.column("content")
    return pa.table(columns)


def change_sql(plan: LoadPlan, audit_schema: str) -> list[str]:
    """Edits, soft deletes, hard deletes (every table pointing at the message first), leaves,
    then the cursors (each only ever moves forward), under the application's names."""
    s = qualified(audit_schema, STAGING)
    m, c, u, cu = (
        table_of(plan, t) for t in ("messages", "conversations", "users", "conversation_users")
    )
    assert m and c and u and cu

    def of(op: str) -> str:
        return f"(SELECT * FROM {s} WHERE op = '{op}')"

    def q(t: TablePlan) -> str:
        return qualified(plan.schema, t.target)

    def col(t: TablePlan, source: str) -> str:
        return quote_ident(column_of(t, source) or "")

    def stamp(t: TablePlan, *names: str) -> str:
        return "".join(f', {quote_ident(n)} = e."changedAt"' for n in names if app_has(t, n))

    mid = quote_ident(id_column(m)[0])
    statements = []
    content = column_of(m, "content")
    if content:
        statements += [
            f"UPDATE {q(m)} m SET {quote_ident(content)} = e.content"
            f"{stamp(m, 'editedAt', 'updatedAt')} FROM {of('edit')} e WHERE m.{mid} = e.mid",
            f"UPDATE {q(m)} m SET {quote_ident(content)} = NULL{stamp(m, 'deletedAt')} "
            f"FROM {of('soft_delete')} e WHERE m.{mid} = e.mid",
        ]
    hard = f"(SELECT mid FROM {s} WHERE op = 'hard_delete')"
    for t in plan.tables:
        if t.source != "messages" and column_of(t, "messageId"):
            statements.append(f"DELETE FROM {q(t)} WHERE {col(t, 'messageId')} IN {hard}")
    statements.append(f"DELETE FROM {q(m)} WHERE {mid} IN {hard}")
    member = f"x.{col(cu, 'conversationId')} = e.cid AND x.{col(cu, 'userId')} = e.uid"
    if column_of(cu, "isActive"):
        statements.append(
            f"UPDATE {q(cu)} x SET {col(cu, 'isActive')} = false{stamp(cu, 'leftAt')} "
            f"FROM {of('leave')} e WHERE {member}"
        )
    targets = {"read_cursor": (cu, member), "seen": (u, None), "room_updated": (c, None)}
    for op, (_source, column) in CURSORS.items():
        t, where = targets[op]
        if where is None:
            key = "uid" if op == "seen" else "cid"
            where = f"x.{quote_ident(id_column(t)[0])} = e.{key}"
        for cursor in columns_of(t, column):
            n = quote_ident(cursor.target.name)
            at = as_stored(cursor, 'e."changedAt"')
            statements.append(
                f"UPDATE {q(t)} x SET {n} = greatest(x.{n}, {at}) FROM {of(op)} e WHERE {where}"
            )
    return statements


def ops_in(changes: pa.Table) -> set[str]:
    """The kinds of change a delta holds."""
    return {str(v) for v in pc.unique(changes.column("op")).to_pylist()}
