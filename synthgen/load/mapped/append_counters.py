"""The counters a mapping keeps (load.mapped.counters), kept by an append: after each hour, the
rooms it touched (new messages, hard deletes, rooms opened, members joined) recounted from the
application's own rows, the members whose cursor moved (or who joined, or whose room lost a
message) recounted up to their cursor, and each sender's last message moved forward."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from synthgen.load.mapped import transform as tf
from synthgen.load.mapped.append_changes import as_stored, column_of, id_column, ids_as, table_of
from synthgen.load.mapped.counters import counter_key
from synthgen.load.mapped.load_plan import LoadPlan
from synthgen.load.mapped.load_plan_types import ColumnPlan, fail
from synthgen.schema import qualified, quote_ident

TOUCHED = "synthgen_append_touched"  # (cid, uid): a room (uid NULL) or a member touched


def counters(plan: LoadPlan) -> list[tuple[str, ColumnPlan]]:
    """(contract table, column) of every counter fill."""
    return [
        (t.source, c)
        for t in plan.tables
        for c in t.columns
        if c.action == "fill" and counter_key(t.source, c.fill)
    ]


def check(plan: LoadPlan) -> None:
    """A read counter needs the member's cursor and the message's time in the application."""
    m, cu = table_of(plan, "messages"), table_of(plan, "conversation_users")
    for source, c in counters(plan):
        if c.fill.get("count") == "read" and cu and not column_of(cu, "lastReadAt"):
            raise fail(
                f"tables.{source}.fill.{c.target.name}: counts up to the member's read cursor, "
                "but no column holds lastReadAt; map it to keep the counter"
            )
        if m is None or not column_of(m, "createdAt") or not column_of(m, "conversationId"):
            raise fail(f"tables.{source}.fill.{c.target.name}: needs messages' createdAt mapped")


def staging_ddl(plan: LoadPlan, audit_schema: str) -> list[str]:
    c, u = table_of(plan, "conversations"), table_of(plan, "users")
    assert c and u
    return [
        f"CREATE UNLOGGED TABLE IF NOT EXISTS {qualified(audit_schema, TOUCHED)} AS SELECT "
        f"c.{quote_ident(id_column(c)[0])} AS cid, u.{quote_ident(id_column(u)[0])} AS uid "
        f"FROM {qualified(plan.schema, c.target)} c, {qualified(plan.schema, u.target)} u "
        "WITH NO DATA"
    ]


def touched(
    plan: LoadPlan, ctx: tf.Context, rooms: np.ndarray, members: tuple[np.ndarray, np.ndarray]
) -> pa.Table:
    """Rooms (uid NULL) and members (cid, uid) in the application's formats."""
    c, u = table_of(plan, "conversations"), table_of(plan, "users")
    assert c and u
    rooms = np.unique(rooms)
    cid = ids_as(ctx, plan, "conversations", rooms, id_column(c)[1])
    mc = ids_as(ctx, plan, "conversations", members[0], id_column(c)[1])
    mu = ids_as(ctx, plan, "users", members[1], id_column(u)[1])
    return pa.table({
        "cid": pa.concat_arrays([cid, mc]),
        "uid": pa.concat_arrays([pa.nulls(len(rooms), mu.type), mu]),
    })  # fmt: skip


def recount_sql(plan: LoadPlan, audit_schema: str) -> list[str]:
    """Statements recounting what the staged rows touched, under the application's names."""
    m, cu, rooms = (table_of(plan, t) for t in ("messages", "conversation_users", "conversations"))
    assert m and rooms
    s = qualified(audit_schema, TOUCHED)
    mc, mt = quote_ident(column_of(m, "conversationId") or ""), column_of(m, "createdAt") or ""
    msgs = qualified(plan.schema, m.target)
    out = []
    for source, c in counters(plan):
        col = quote_ident(c.target.name)
        if c.fill.get("count") == "messages" and source == "conversations":
            key = quote_ident(id_column(rooms)[0])
            out.append(
                f"UPDATE {qualified(plan.schema, rooms.target)} x SET {col} = "
                f"(SELECT count(*) FROM {msgs} p WHERE p.{mc} = x.{key}) "
                f"WHERE x.{key} IN (SELECT cid FROM {s})"
            )
        elif c.fill.get("count") and cu is not None:
            room, user = (quote_ident(column_of(cu, k) or "") for k in ("conversationId", "userId"))
            upto = ""
            if c.fill["count"] == "read":
                cursor = quote_ident(column_of(cu, "lastReadAt") or "")
                upto = f" AND p.{quote_ident(mt)} <= x.{cursor}"
            out.append(
                f"UPDATE {qualified(plan.schema, cu.target)} x SET {col} = "
                f"(SELECT count(*) FROM {msgs} p WHERE p.{mc} = x.{room}{upto}) "
                f"WHERE EXISTS (SELECT 1 FROM {s} t WHERE t.cid = x.{room} "
                f"AND (t.uid IS NULL OR t.uid = x.{user}))"
            )
    return out


SENT = "synthgen_append_sent"  # (uid, at): each sender's last new message of the hour


def last_sent(plan: LoadPlan) -> list[ColumnPlan]:
    """The users' last-sent-message fills."""
    return [c for s, c in counters(plan) if counter_key(s, c.fill) == "last_sent"]


def sent_ddl(plan: LoadPlan, audit_schema: str) -> str:
    u = table_of(plan, "users")
    assert u is not None
    return (
        f"CREATE UNLOGGED TABLE IF NOT EXISTS {qualified(audit_schema, SENT)} AS SELECT "
        f"u.{quote_ident(id_column(u)[0])} AS uid, NULL::timestamptz AS at "
        f"FROM {qualified(plan.schema, u.target)} u WITH NO DATA"
    )


def sent(messages: pa.Table, plan: LoadPlan, ctx: tf.Context) -> pa.Table:
    """Per sender, the latest createdAt of `messages`, the sender's id in the app's format."""
    u = table_of(plan, "users")
    assert u is not None
    latest = messages.group_by("senderId", use_threads=False).aggregate([("createdAt", "max")])
    senders = np.asarray(latest.column("senderId").to_numpy(), dtype=np.int64)
    at = latest.column("createdAt_max").cast(pa.timestamp("us", tz="UTC"))
    return pa.table({"uid": ids_as(ctx, plan, "users", senders, id_column(u)[1]), "at": at})


def sent_sql(plan: LoadPlan, audit_schema: str) -> list[str]:
    """Each sender's last-sent columns moved forward (greatest ignores a NULL)."""
    u = table_of(plan, "users")
    assert u is not None
    key = quote_ident(id_column(u)[0])
    return [
        f"UPDATE {qualified(plan.schema, u.target)} x SET {quote_ident(c.target.name)} = "
        f"greatest(x.{quote_ident(c.target.name)}, {as_stored(c, 'l.at')}) "
        f"FROM {qualified(audit_schema, SENT)} l WHERE x.{key} = l.uid"
        for c in last_sent(plan)
    ]


def none_sent() -> tuple[np.ndarray, np.ndarray]:
    """The users an append opens have sent nothing yet (their messages arrive after them)."""
    return np.full(1, -1, dtype=np.int64), np.full(1, -1, dtype=np.int64)
