"""W1 (send a message) and W2 (mark read) on an application's own schema, through its mapping.

Every column a write sets is decided by the mapped load's plan
(`synthgen.load.mapped.load_plan`), so a sent message fills the application's columns as the load
did, with new ids that cannot collide with loaded ones. W1 touches the room first (its row lock
orders concurrent senders, so createdAt rises strictly per room); W2 reads the room's latest 50
unread messages by an anti-join, records the reads and moves the member's ``lastReadAt`` up.
docs/design.md ("Load tests") says why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from synthgen.appschema.catalog import TargetColumn, read_catalog
from synthgen.errors import LoadTestError
from synthgen.load.mapped.load_plan import (
    ColumnPlan,
    LoadPlan,
    SourceFigures,
    TablePlan,
    make_load_plan,
)
from synthgen.mapping import EPOCH_UNITS, Mapping, Names
from synthgen.postgres.connect import Connection, execute
from synthgen.schema import TABLES, quote_ident, quote_literal
from synthgen.schema import qualified as _q
from synthgen.units import US_PER_SECOND

BIGINT_ID_BASE = 4_000_000_000_000_000_000
TEXT_PREFIX = "lt"
TEXT_MESSAGE = "synthetic load test message"
_STEP = "interval '1 millisecond'"  # timestamp(3): the smallest step every precision holds


@dataclass(frozen=True)
class AppTarget:
    """An application's schema as the workload sees it: the mapping, its load plan, names."""

    mapping: Mapping
    plan: LoadPlan
    names: Names

    def table_plan(self, source: str) -> TablePlan | None:
        """The plan of a contract table (not a derived one), if the application has it."""
        return next((t for t in self.plan.tables if t.source == source and not t.name), None)

    def derived(self, source: str) -> list[TablePlan]:
        return [t for t in self.plan.tables if t.source == source and t.name]


def app_names(mapping: Mapping, plan: LoadPlan) -> Names:
    """The mapping's table and column names; contract columns the application lacks are absent."""
    columns = {(t, c): n for t, cols in mapping.columns.items() for c, n in cols.items()}
    absent = {(t.source, c) for t in plan.tables if not t.name for c in t.not_loaded}
    absent |= {(t, c) for t in mapping.skipped for c in TABLES[t].column_names}
    tables = {t: mapping.table_name(t) for t in TABLES if TABLES[t].application}
    epoch = {
        (t.source, str(c.source)): US_PER_SECOND // EPOCH_UNITS[c.epoch]
        for t in plan.tables
        if not t.name
        for c in t.columns
        if c.epoch and c.action == "copy"
    }
    return Names(tables, columns, frozenset(absent), epoch)


def app_target(conn: Connection, mapping: Mapping) -> AppTarget:
    """Read the application's catalog and plan its columns as the mapped load would."""
    plan = make_load_plan(mapping, read_catalog(conn, mapping.schema), SourceFigures())
    return AppTarget(mapping, plan, app_names(mapping, plan))


def room_id_type(conn: Connection, schema: str, target: AppTarget) -> str:
    """The SQL type of the application's conversation ids (the recorded draws hold them)."""
    plan = target.table_plan("conversations")
    column = next((c.target for c in plan.columns if c.source == "id"), None) if plan else None
    return column.type_name if column is not None else "text"


def sequence_name(table: str) -> str:
    return f"synthgen_lt_{re.sub(r'[^a-z0-9_]', '_', table.lower())}_id"


def create_sequences(conn: Connection, schema: str, target: AppTarget) -> None:
    """One id sequence per table a write inserts into (text ids start at 1: 'lt1', ...)."""
    for table in _written(target):
        for c in table.columns:
            if (
                c.action in ("id", "generated id")
                and c.source in (None, "id")
                and (c.id_format in ("bigint", "text", "cuid"))
            ):
                start = BIGINT_ID_BASE if c.arrow.equals(pa.int64()) else 1
                execute(
                    conn,
                    f"CREATE SEQUENCE IF NOT EXISTS {_q(schema, sequence_name(table.target))} "
                    f"START {start} MINVALUE {start}",
                )


def _written(target: AppTarget) -> list[TablePlan]:
    tables = [target.table_plan("messages"), target.table_plan("read_receipts")]
    return [t for t in tables if t is not None] + target.derived("read_receipts")


def _new_id(table: TablePlan, column: ColumnPlan) -> str:
    if column.id_format in ("uuid4", "uuid7"):
        return "gen_random_uuid()" + ("::text" if column.target.base != "uuid" else "")
    seq = quote_literal(quote_ident(sequence_name(table.target)))
    if column.arrow.equals(pa.int64()):
        return f"nextval({seq})"
    return f"'{TEXT_PREFIX}' || nextval({seq})"


def _typed(column: TargetColumn, expr: str) -> str:
    return f"CAST({expr} AS {column.type_name})"


def _time(column: TargetColumn, utc: str, epoch: str = "") -> str:
    """A timestamptz expression as this column stores it (UTC wall time without a zone; an
    integer column: epoch units, rounded as the load rounds them)."""
    if epoch:
        per = US_PER_SECOND // EPOCH_UNITS[epoch]
        return _typed(column, f"round(extract(epoch FROM ({utc})) * {per})")
    if column.base in ("timestamp", "date"):
        return _typed(column, f"({utc}) AT TIME ZONE 'UTC'")
    return _typed(column, utc)


def _as_utc(column: TargetColumn, expr: str, epoch: str = "") -> str:
    """A column's value as timestamptz."""
    if epoch:
        return f"to_timestamp({expr} / {US_PER_SECOND // EPOCH_UNITS[epoch]}.0)"
    return f"({expr} AT TIME ZONE 'UTC')" if column.base in ("timestamp", "date") else expr


def _value(table: TablePlan, column: ColumnPlan, values: dict[str, str | None], time: str) -> str:
    """The SQL for one planned column of a row the workload inserts."""
    t = column.target
    if column.action in ("generated id",) or (column.action == "id" and column.source == "id"):
        return values["id"] or _new_id(table, column)
    if column.action == "enum":
        # the only enum a write sets is the message's type; a new message is text
        label = column.value_map.get("TEXT") or next(iter(column.value_map.values()))
        return _typed(t, quote_literal(label))
    if column.action in ("id", "copy"):
        given = values.get(str(column.source))
        if given is not None:
            return _typed(t, given) if column.action == "id" else given
        if str(column.source) in ("createdAt", "readAt", "joinedAt", "updatedAt"):
            return _time(t, time, column.epoch)
        return _required(t, time, values) if t.not_null else "NULL"
    if column.action == "ref":
        through = str(column.fill.get("through", ""))
        given = values.get(through) if through else None
        if given is None:
            raise LoadTestError(
                f"{table.target}.{t.name}: the load test writes a related row only through the "
                "row's own columns (a 'ref' fill with 'through')"
            )
        return _typed(t, given)
    if column.epoch and "from" in column.fill and values.get(str(column.fill["from"])) is None:
        return _time(t, time, column.epoch)  # a time the new row has: its own
    return _fill(t, column.fill, values, time)


def _required(t: TargetColumn, time: str, values: dict[str, str | None]) -> str:
    if t.base in ("timestamp", "timestamptz", "date"):
        return _time(t, time)
    if t.base == "bool":
        return "false"
    if t.base in ("int2", "int4", "int8", "float4", "float8"):
        return "0"
    if t.base in ("text", "varchar", "bpchar", "citext"):
        return f"{quote_literal(t.name + '-')} || {values['id']}"
    raise LoadTestError(f"{t.name} ({t.type_name}): the load test cannot fill this column")


def _fill(t: TargetColumn, fill: dict[str, Any], values: dict[str, str | None], time: str) -> str:
    if "value" in fill:
        return _typed(t, quote_literal(str(fill["value"])))
    if "unique" in fill:
        if values["id"] is None:
            raise LoadTestError(f"{t.name}: a unique fill on a table without an own id")
        return f"{quote_literal(str(fill['unique']))} || {values['id']}"
    if "from" in fill:
        source = values.get(str(fill["from"]))
        if source is None:
            return _required(t, time, values) if t.not_null else "NULL"
        if "after_last" in fill:
            pattern = quote_literal(".*" + re.escape(str(fill["after_last"])))
            source = f"regexp_replace({source}, {pattern}, '')"
        if "prefix" in fill or "suffix" in fill:
            source = (
                f"{quote_literal(str(fill.get('prefix', '')))} || {source} || "
                f"{quote_literal(str(fill.get('suffix', '')))}"
            )
        return source
    raise LoadTestError(f"{t.name}: fill {fill} does not apply to a row the load test writes")


def _insert(table: TablePlan, values: dict[str, str | None], time: str, source: str) -> str:
    """INSERT INTO table (planned columns) SELECT ... FROM source."""
    names = ", ".join(quote_ident(c.target.name) for c in table.columns)
    exprs = ", ".join(_value(table, c, values, time) for c in table.columns)
    return f"INSERT INTO {quote_ident(table.target)} ({names})\nSELECT {exprs} FROM {source}"


def _touch(target: AppTarget, new_id: str) -> tuple[str, str]:
    """(SET list, RETURNING time expression) of the room's touch, from the conversations plan."""
    plan = target.table_plan("conversations")
    times: list[ColumnPlan] = []
    ids: list[ColumnPlan] = []
    counts: list[ColumnPlan] = []
    for c in plan.columns if plan else ():
        source = c.source or c.fill.get("from")
        if c.fill.get("last_message") == "createdAt" or (
            source == "updatedAt" and c.action != "id"
        ):
            times.append(c)
        elif c.fill.get("last_message") == "id":
            ids.append(c)
        elif c.fill.get("count") == "messages":
            counts.append(c)  # the room's message count: one more
    if not times:
        raise LoadTestError(
            f"--mapping: {target.mapping.table_name('conversations')} has no column the plan "
            "fills from updatedAt or the last message's time; W1 orders a room's messages by it"
        )
    now = (
        "greatest(statement_timestamp(), "
        + ", ".join(
            f"{_as_utc(c.target, quote_ident(c.target.name), c.epoch)} + {_STEP}" for c in times
        )
        + ")"
    )
    sets = [f"{quote_ident(c.target.name)} = {_time(c.target, now, c.epoch)}" for c in times]
    sets += [f"{quote_ident(c.target.name)} = {_typed(c.target, new_id)}" for c in ids]
    sets += [f"{quote_ident(c.target.name)} = {quote_ident(c.target.name)} + 1" for c in counts]
    first = times[0]
    return ", ".join(sets), _as_utc(first.target, quote_ident(first.target.name), first.epoch)


def app_write_scripts(target: AppTarget, head: str, draws: dict[str, str]) -> dict[str, str]:
    """{'W1': ..., 'W2': ...}: `head` is the method comment; `draws` the room / member draws."""
    names = target.names
    messages = target.table_plan("messages")
    if messages is None:
        raise LoadTestError("--mapping: messages are skipped; the workload needs them")
    own = next(c for c in messages.columns if c.action == "id" and c.source == "id")
    conv = target.table_plan("conversations")
    cid = names.column("conversations", "id")
    sets, at = _touch(target, "(SELECT id FROM new)")
    row: dict[str, str | None] = {
        "id": "new.id",
        "conversationId": "touched.room",
        "senderId": ":sender",
        "type": quote_literal("TEXT"),
        "content": quote_literal(TEXT_MESSAGE),
    }
    insert = _insert(messages, row, "touched.at", "new, touched")
    w1 = (
        "-- W1: send a message to a room drawn by traffic, from one of its active members\n"
        f"{head}{draws['room']}{draws['member:sender']}{draws.get('record:W1', '')}"
        f"WITH new AS (SELECT {_new_id(messages, own)} AS id),\n"
        f"touched AS (\n    UPDATE {quote_ident(conv.target if conv else 'conversations')} "
        f"SET {sets}\n    WHERE {cid} = :room RETURNING {cid} AS room, {at} AS at\n)\n"
        f"{insert};\n"
    )
    return {"W1": w1, **_w2(target, head, draws)}


def _cursor(target: AppTarget, now: str) -> str:
    """The member's read cursor moved up to `now` (and the count of the room's messages up to
    it, where the plan keeps one), or '' without a cursor column."""
    names = target.names
    members = target.table_plan("conversation_users")
    columns = members.columns if members else ()
    last_read = next((c for c in columns if "lastReadAt" in (c.source, c.fill.get("from"))), None)
    if last_read is None:
        return ""
    name = quote_ident(last_read.target.name)
    sets = [f"{name} = greatest({name}, {_time(last_read.target, now, last_read.epoch)})"]
    counted = next((c for c in columns if c.fill.get("count") == "read"), None)
    if counted is not None:  # every message of the room is before the new cursor
        rooms = target.table_plan("conversations")
        room_columns = rooms.columns if rooms is not None else ()
        total = next((c for c in room_columns if c.fill.get("count") == "messages"), None)
        cid = names.column("conversations", "id")
        count = (
            f"(SELECT c.{quote_ident(total.target.name)} FROM {names.table('conversations')} c "
            f"WHERE c.{cid} = :room)"
            if total is not None
            else f"(SELECT count(*) FROM {names.table('messages')} x WHERE "
            f"x.{names.column('messages', 'conversationId')} = :room)"
        )
        sets.append(f"{quote_ident(counted.target.name)} = {count}")
    return (
        f"UPDATE {names.table('conversation_users')} SET {', '.join(sets)}\n"
        f"WHERE {names.column('conversation_users', 'conversationId')} = :room "
        f"AND {names.column('conversation_users', 'userId')} = :reader;\n"
    )


def _w2(target: AppTarget, head: str, draws: dict[str, str]) -> dict[str, str]:
    names = target.names
    reads = target.table_plan("read_receipts")
    if reads is None:
        cursor = _cursor(target, "statement_timestamp()")
        if not cursor:
            return {}
        return {  # a read-cursor schema: reading moves the member's cursor, no row per read
            "W2": "-- W2: a member of a room drawn by traffic reads it (its read cursor moves)\n"
            f"{head}{draws['room']}{draws['member:reader']}{draws.get('record:W2', '')}{cursor}"
        }
    m, reads_table = names.table("messages"), quote_ident(reads.target)

    def col(table: str, column: str) -> str:
        return names.column(table, column)

    now = "statement_timestamp()"
    values: dict[str, str | None] = {"id": None, "messageId": "unread.id", "userId": ":reader"}
    known = {**values, "messageId.conversationId": ":room"}
    inserts = [_insert(reads, values, now, "unread") + " ON CONFLICT DO NOTHING"]
    for derived in target.derived("read_receipts"):
        for label, when in derived.states:
            if when != "readAt":
                continue  # states reached before the read (delivered) were recorded earlier
            cols = [c for c in derived.columns]
            exprs = []
            for c in cols:
                if c.action == "generated id":
                    exprs.append(_new_id(derived, c))
                elif c.action == "id":
                    exprs.append("unread.id" if c.source == "messageId" else ":reader")
                elif c.action == "state":
                    exprs.append(_typed(c.target, quote_literal(label)))
                elif c.action == "state time":
                    exprs.append(_time(c.target, now, c.epoch))
                else:  # the derived table's other columns, as the load fills them
                    exprs.append(_value(derived, c, known, now))
            inserts.append(
                f"INSERT INTO {quote_ident(derived.target)} "
                f"({', '.join(quote_ident(c.target.name) for c in cols)})\n"
                f"SELECT {', '.join(exprs)} FROM unread ON CONFLICT DO NOTHING"
            )
    ctes = "".join(f", w{i} AS (\n{sql}\n)" for i, sql in enumerate(inserts))
    unread = (
        f"WITH unread AS (\n    SELECT x.{col('messages', 'id')} AS id FROM {m} x\n"
        f"    WHERE x.{col('messages', 'conversationId')} = :room "
        f"AND x.{col('messages', 'senderId')} <> :reader\n"
        f"      AND NOT EXISTS (SELECT 1 FROM {reads_table} r WHERE r."
        f"{col('read_receipts', 'messageId')} = x.{col('messages', 'id')} AND r."
        f"{col('read_receipts', 'userId')} = :reader)\n"
        f"    ORDER BY x.{col('messages', 'createdAt')} DESC LIMIT 50\n)"
    )
    tail = _cursor(target, now) or "SELECT 1;\n"
    w2 = (
        "-- W2: a member of a room drawn by traffic reads its latest 50 unread messages\n"
        f"{head}{draws['room']}{draws['member:reader']}{draws.get('record:W2', '')}"
        f"{unread}{ctes}\n{tail}"
    )
    return {"W2": w2}
