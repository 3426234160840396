"""A room's last message kept by an append, where the mapping fills one (``last_message``):
each hour's new messages move their rooms' last-message columns forward, as the application's
write path would. A room the append opens starts without one (its messages arrive after it)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synthgen.load.mapped import transform as tf
from synthgen.load.mapped.append_changes import as_stored, id_column, ids_as, table_of
from synthgen.load.mapped.load_plan import LoadPlan, TablePlan
from synthgen.load.mapped.load_plan_types import ColumnPlan
from synthgen.schema import qualified, quote_ident

STAGING = "synthgen_append_last"


def kept(plan: LoadPlan) -> dict[str, str]:
    """{"createdAt" | "id": target column} of the rooms' last-message fills."""
    return {key: c.target.name for key, c in _fills(plan).items()}


def _fills(plan: LoadPlan) -> dict[str, ColumnPlan]:
    rooms = table_of(plan, "conversations")
    if rooms is None:
        return {}
    return {
        str(c.fill["last_message"]): c
        for c in rooms.columns
        if c.action == "fill" and c.fill.get("last_message")
    }


def none_yet() -> tf.LastMessages:
    """The rooms' last messages before the append's: none of the rooms it opens has one."""
    never = np.full(1, -1, dtype=np.int64)  # one room no id matches (the lookup wants one)
    return never, np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)


def staging_ddl(plan: LoadPlan, audit_schema: str) -> str:
    rooms = table_of(plan, "conversations")
    assert rooms is not None
    columns = kept(plan)
    mid = f"c.{quote_ident(columns['id'])}" if "id" in columns else "NULL::text"
    return (
        f"CREATE UNLOGGED TABLE IF NOT EXISTS {qualified(audit_schema, STAGING)} AS SELECT "
        f"c.{quote_ident(id_column(rooms)[0])} AS cid, {mid} AS mid, NULL::timestamptz AS at "
        f"FROM {qualified(plan.schema, rooms.target)} c WITH NO DATA"
    )


def _arrow_of(table: TablePlan, name: str) -> pa.DataType:
    return next(c.arrow for c in table.columns if c.target.name == name)


def last_of(messages: pa.Table, plan: LoadPlan, ctx: tf.Context) -> pa.Table:
    """Per room, its last message of `messages` (sorted by createdAt): ids in the app's formats."""
    rooms = table_of(plan, "conversations")
    assert rooms is not None
    indexed = messages.select(["conversationId"]).append_column(
        "at", pa.array(np.arange(messages.num_rows, dtype=np.int64))
    )
    last = indexed.group_by("conversationId", use_threads=False).aggregate([("at", "max")])
    rows = messages.take(last.column("at_max"))
    room_ids = rows.column("conversationId").to_numpy()
    columns = kept(plan)
    mid_type = _arrow_of(rooms, columns["id"]) if "id" in columns else pa.string()
    return pa.table({
        "cid": ids_as(ctx, plan, "conversations", room_ids, id_column(rooms)[1]),
        "mid": ids_as(ctx, plan, "messages", rows.column("id").to_numpy(), mid_type)
        if "id" in columns else pa.nulls(rows.num_rows, pa.string()),
        "at": pc.cast(rows.column("createdAt"), pa.timestamp("us", tz="UTC")),
    })  # fmt: skip


def update_sql(plan: LoadPlan, audit_schema: str) -> str:
    """The staged last messages into the rooms, only ever forward."""
    rooms = table_of(plan, "conversations")
    assert rooms is not None
    columns, fills = kept(plan), _fills(plan)
    sets, forward = [], ""
    if "createdAt" in columns:
        at, name = as_stored(fills["createdAt"], "l.at"), quote_ident(columns["createdAt"])
        sets.append(f"{name} = {at}")
        forward = f" AND (r.{name} IS NULL OR r.{name} <= {at})"
    if "id" in columns:
        sets.append(f"{quote_ident(columns['id'])} = l.mid")
    return (
        f"UPDATE {qualified(plan.schema, rooms.target)} r SET {', '.join(sets)} "
        f"FROM {qualified(audit_schema, STAGING)} l "
        f"WHERE r.{quote_ident(id_column(rooms)[0])} = l.cid{forward}"
    )
