"""`synthgen workload`: pgbench scripts and the parameter tables that give them the data's skew.

Each draw table holds one row per room (or user) with ``hi``, the running sum of its weight; a
transaction draws ``r`` in the total weight and takes the first row with ``hi >= r`` (one
primary-key probe), so rooms and users are drawn with the data's own skew. Timestamps are one of
their classes (1h, 1d, 7d) drawn uniformly. Writes use ids that cannot collide with generated
ones and never overwrite a receipt (docs/design.md, "Load tests").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthgen.errors import LoadTestError
from synthgen.files import write_json_atomic
from synthgen.loadtest.appwrites import (
    app_target,
    app_write_scripts,
    create_sequences,
    room_id_type,
)
from synthgen.loadtest.captured import captured_writes
from synthgen.mapping import CONTRACT, Mapping, Names
from synthgen.postgres.connect import Connection, execute, fetch_all, fetch_value
from synthgen.postgres.dsn import mask_dsn
from synthgen.schema import qualified as _q
from synthgen.schema import quote_ident
from synthgen.verify.queries import Query, load_queries

DEFAULT_MIX = {"Q1": 40, "Q2": 10, "Q3": 20, "Q4": 15, "Q5": 10, "W1": 5}
WRITES = ("W1", "W2")
MESSAGE_ID_BASE = 4_000_000_000_000_000_000
ROOMS, MEMBERS, USERS = "synthgen_lt_rooms", "synthgen_lt_members", "synthgen_lt_users"
USER_ROOMS, TIMES = "synthgen_lt_user_rooms", "synthgen_lt_times"
DRAWS, SEQUENCE = "synthgen_lt_draws", "synthgen_lt_message_id"
WORKLOAD_FILE = "workload.json"
# a query parameter's kind -> the pgbench variable the draw sets
_VARIABLE = {
    "conversation": "room",
    "conversation_cursor": "room_cursor",
    "user": "user_id",
    "member_user": "user_id",
    "member_conversation": "member_room",
    "timestamp": "ts_at",  # ts_epoch when declared bigint (an integer time column)
}
_BACK = {1: "1 hour", 2: "1 day", 3: "7 days"}  # verify.params.TIMESTAMP_CLASSES, in order
_METHOD = """\
-- Parameters carry the data's skew: r = random(1, total weight), then the first row of the
-- draw table whose running weight sum `hi` is >= r. Rooms are weighted by their messages,
-- users by the messages they sent; a member of the room is drawn uniformly, and a room of a
-- user among their active memberships by its messages.
"""


@dataclass(frozen=True)
class WorkloadOptions:
    """What `synthgen workload` needs."""

    dsn: str
    schema: str
    out: Path
    mix: dict[str, int]
    queries_dir: Path | None = None
    record_draws: bool = False
    mapping: Mapping | None = None  # an application's own schema, through its mapping


def parse_mix(text: str) -> dict[str, int]:
    """'Q1=40,Q2=10,W1=5' -> {'Q1': 40, ...}; errors name --mix and the faulty item."""
    mix: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip().upper()
        if not sep or not re.fullmatch(r"[QW]\d+", key):
            raise LoadTestError(f"--mix {item!r}: expected KEY=WEIGHT, e.g. Q1=40 or W1=5")
        try:
            weight = int(value)
        except ValueError:
            raise LoadTestError(f"--mix {item!r}: the weight must be a whole number") from None
        if weight < 0:
            raise LoadTestError(f"--mix {item!r}: the weight must be >= 0")
        mix[key] = weight
    if sum(mix.values()) <= 0:
        raise LoadTestError(f"--mix {text!r}: no script has a positive weight")
    return mix


def build_draw_tables(
    conn: Connection, schema: str, names: Names = CONTRACT, id_type: str = "bigint"
) -> dict[str, int]:
    """(Re)create the draw tables and the id sequence in `schema`; return the weight totals.

    `id_type` is the SQL type of the recorded draws' ids (the application's id type)."""
    m, cu = names.table("messages"), names.table("conversation_users")

    def col(table: str, column: str) -> str:
        return names.column(table, column)

    conv, created = col("messages", "conversationId"), col("messages", "createdAt")
    middle = f"percentile_disc(0.5) WITHIN GROUP (ORDER BY {created})"
    cursor = names.as_time("messages", "createdAt", middle)  # a time, as queries are given
    sender = col("messages", "senderId")
    cu_conv, cu_user = (
        col("conversation_users", "conversationId"),
        col("conversation_users", "userId"),
    )
    # an application without an isActive column: every membership is active
    active = (
        col("conversation_users", "isActive")
        if names.has("conversation_users", "isActive")
        else "true"
    )
    execute(conn, f"SET search_path TO {quote_ident(schema)}")
    for table in (ROOMS, MEMBERS, USERS, USER_ROOMS, TIMES):
        execute(conn, f"DROP TABLE IF EXISTS {_q(schema, table)}")
    _build_times(conn, schema, names)
    execute(
        conn,
        f"""CREATE TABLE {_q(schema, ROOMS)} AS
        WITH sizes AS (
            SELECT {conv} AS id, count(*) AS messages,
                   {cursor} AS room_cursor
            FROM {m} GROUP BY {conv}
        ), members AS (
            SELECT {cu_conv} AS id, count(*) AS members FROM {cu} WHERE {active} GROUP BY {cu_conv}
        )
        SELECT sum(s.messages) OVER (ORDER BY s.id)::bigint AS hi, s.id AS conversation_id,
               s.messages::bigint AS messages, m.members::int AS members, s.room_cursor
        FROM sizes s JOIN members m USING (id)""",
    )
    execute(
        conn,
        f"""CREATE TABLE {_q(schema, MEMBERS)} AS
        SELECT {cu_conv} AS conversation_id,
               (row_number() OVER (PARTITION BY {cu_conv} ORDER BY {cu_user}))::int AS k,
               {cu_user} AS user_id
        FROM {cu} WHERE {active}""",
    )
    # a user's active rooms (those with messages), each with the running sum of its messages
    execute(
        conn,
        f"""CREATE TABLE {_q(schema, USER_ROOMS)} AS
        SELECT cu.{cu_user} AS user_id, r.conversation_id,
               (sum(r.messages) OVER (PARTITION BY cu.{cu_user} ORDER BY r.conversation_id))::bigint
               AS hi
        FROM {cu} cu JOIN {ROOMS} r ON r.conversation_id = cu.{cu_conv} WHERE {active}""",
    )
    execute(
        conn,
        f"""CREATE TABLE {_q(schema, USERS)} AS
        WITH sent AS (SELECT {sender} AS id, count(*) AS weight FROM {m} GROUP BY {sender}),
        rooms AS (SELECT user_id AS id, max(hi) AS room_weight FROM {USER_ROOMS} GROUP BY 1)
        SELECT sum(s.weight) OVER (ORDER BY s.id)::bigint AS hi, s.id AS user_id,
               s.weight::bigint AS weight, r.room_weight
        FROM sent s JOIN rooms r USING (id)""",
    )
    execute(conn, f"ALTER TABLE {_q(schema, ROOMS)} ADD PRIMARY KEY (hi)")
    execute(conn, f"ALTER TABLE {_q(schema, MEMBERS)} ADD PRIMARY KEY (conversation_id, k)")
    execute(conn, f"ALTER TABLE {_q(schema, USERS)} ADD PRIMARY KEY (hi)")
    execute(conn, f"ALTER TABLE {_q(schema, USER_ROOMS)} ADD PRIMARY KEY (user_id, hi)")
    execute(
        conn,
        f"CREATE SEQUENCE IF NOT EXISTS {_q(schema, SEQUENCE)} START {MESSAGE_ID_BASE} "
        f"MINVALUE {MESSAGE_ID_BASE}",
    )
    execute(
        conn,
        f"CREATE UNLOGGED TABLE IF NOT EXISTS {_q(schema, DRAWS)} (script text, id {id_type})",
    )
    for table in (ROOMS, MEMBERS, USERS, USER_ROOMS):
        execute(conn, f"ANALYZE {_q(schema, table)}")
    rooms = int(fetch_value(conn, f"SELECT coalesce(max(hi), 0) FROM {_q(schema, ROOMS)}"))
    users = int(fetch_value(conn, f"SELECT coalesce(max(hi), 0) FROM {_q(schema, USERS)}"))
    if rooms <= 0 or users <= 0:
        raise LoadTestError(
            f"schema {schema}: no messages in a room with active members; load a dataset first"
        )
    return {"room_weight": rooms, "user_weight": users}


def _build_times(conn: Connection, schema: str, names: Names) -> None:
    """The timestamp classes: (k, at, at_epoch) per class, at_epoch in the units of the schema's
    integer createdAt (rounded as the load rounds), epoch ms on synthgen's own tables."""
    newest = names.as_time("messages", "createdAt", f"max({names.column('messages', 'createdAt')})")
    per = names.epoch.get(("messages", "createdAt"), 1000)
    back = ", ".join(f"({k}, interval '{text}')" for k, text in _BACK.items())
    execute(
        conn,
        f"""CREATE TABLE {_q(schema, TIMES)} AS
        SELECT v.k, n.newest - v.back AS at,
               round(extract(epoch FROM n.newest - v.back) * {per})::bigint AS at_epoch
        FROM (SELECT {newest} AS newest FROM {names.table("messages")}) n,
             (VALUES {back}) v(k, back)""",
    )
    execute(conn, f"ALTER TABLE {_q(schema, TIMES)} ADD PRIMARY KEY (k)")


def _time_draw() -> str:
    return (
        f"\\set t random(1, {len(_BACK)})\n"
        f"SELECT at AS ts_at, at_epoch AS ts_epoch FROM {TIMES} WHERE k = :t \\gset\n"
    )


def _room_draw(totals: dict[str, int]) -> str:
    return (
        f"\\set r random(1, {totals['room_weight']})\n"
        f"SELECT conversation_id AS room, members, room_cursor FROM {ROOMS} "
        "WHERE hi >= :r ORDER BY hi LIMIT 1 \\gset\n"
    )


def _user_draw(totals: dict[str, int]) -> str:
    return (
        f"\\set r random(1, {totals['user_weight']})\n"
        f"SELECT user_id, room_weight FROM {USERS} WHERE hi >= :r ORDER BY hi LIMIT 1 \\gset\n"
    )


def _user_room_draw() -> str:
    return (
        "\\set r random(1, :room_weight)\n"
        f"SELECT conversation_id AS member_room FROM {USER_ROOMS} "
        "WHERE user_id = :user_id AND hi >= :r ORDER BY hi LIMIT 1 \\gset\n"
    )


def _member_draw(variable: str) -> str:
    return (
        "\\set k random(1, :members)\n"
        f"SELECT user_id AS {variable} FROM {MEMBERS} "
        "WHERE conversation_id = :room AND k = :k \\gset\n"
    )


def _record(key: str, variable: str, record: bool) -> str:
    return f"INSERT INTO {DRAWS} VALUES ('{key}', :{variable});\n" if record else ""


def read_script(key: str, query: Query, totals: dict[str, int], record: bool) -> str:
    """A pgbench script for one query file: a draw per class axis of the query (a user, a room,
    a timestamp, independently), then the query with pgbench variables."""
    draws = {
        "user": _user_draw(totals),
        "conversation": _room_draw(totals),
        "timestamp": _time_draw(),
    }
    draw = "".join(draws[axis] for axis in query.axes)
    if any(p.kind == "member_conversation" for p in query.params):
        draw += _user_room_draw()
    # the draw recorded: the first user or room (a timestamp-only query records none)
    subject = next((a for a in query.axes if a != "timestamp"), None)
    variable = {"user": "user_id", "conversation": "room", None: ""}[subject]
    kinds = {
        p.position: "ts_epoch"
        if p.kind == "timestamp" and p.type == "bigint"
        else _VARIABLE[p.kind]
        for p in query.params
    }
    sql = re.sub(r"\$(\d+)\b", lambda match: ":" + kinds[int(match[1])], query.sql)
    script = (
        f"-- {key}: {query.name} ({Path(query.path).name})\n{_METHOD}{draw}"
        f"{_record(key, variable, record and bool(variable))}{sql};\n"
    )
    unset = unset_variables(script)
    if unset:  # a draw missing for a kind: pgbench would fail on every transaction
        raise LoadTestError(f"{query.path}: the script uses :{unset[0]}, which no draw sets")
    return script


_SETS = re.compile(r"^\\set\s+(\w+)", re.M)
_GSET = re.compile(r"^SELECT\s+(.*?)\s+FROM\b.*\\gset\s*$", re.M)
_USES = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def unset_variables(script: str) -> list[str]:
    """The pgbench variables a script reads before (or without) setting them: `\\set NAME` and
    the columns of a `SELECT ... \\gset` set them; `:name` reads them (`::type` casts do not)."""
    known: set[str] = set()
    unset: list[str] = []
    for line in script.splitlines():
        if line.startswith("--"):
            continue
        reads = _USES.findall(line.split("random(", 1)[-1] if line.startswith("\\set") else line)
        unset += [name for name in reads if name not in known and name not in unset]
        if match := _SETS.match(line):
            known.add(match[1])
        elif match := _GSET.match(line):
            known.update(item.split()[-1] for item in match[1].split(","))
    return unset


def write_scripts(totals: dict[str, int], record: bool, names: Names = CONTRACT) -> dict[str, str]:
    """W1 (send a message) and W2 (mark a room read), in the application's statement order."""
    m, c, cu = (
        names.table("messages"),
        names.table("conversations"),
        names.table("conversation_users"),
    )
    rr = names.table("read_receipts")

    def col(table: str, column: str) -> str:
        return names.column(table, column)

    updated, cid = col("conversations", "updatedAt"), col("conversations", "id")
    # W2 stamps its receipts and lastReadAt with one statement time, and lastReadAt never moves
    # back (concurrent readers of one room), so it stays >= every receipt of that member.
    # The room's row lock (UPDATE first) orders concurrent senders of one room, so createdAt
    # stays strictly increasing per room, as in the generated data; same statements as the
    # application's insert-then-touch, one round trip.
    w1 = (
        f"-- W1: send a message to a room drawn by traffic, from one of its active members\n"
        f"{_METHOD}{_room_draw(totals)}{_member_draw('sender')}{_record('W1', 'room', record)}"
        f"WITH touched AS (\n"
        f"    UPDATE {c} SET {updated} = greatest(clock_timestamp(), "
        f"{updated} + interval '1 microsecond')\n"
        f"    WHERE {cid} = :room RETURNING {cid} AS id, {updated} AS at\n)\n"
        f"INSERT INTO {m} ({col('messages', 'id')}, {col('messages', 'conversationId')}, "
        f"{col('messages', 'senderId')}, {col('messages', 'type')}, {col('messages', 'content')}, "
        f"{col('messages', 'createdAt')})\n"
        f"SELECT nextval('{SEQUENCE}'), id, :sender, 'TEXT', 'synthetic load test message', at "
        f"FROM touched;\n"
    )
    mconv, mcreated = col("messages", "conversationId"), col("messages", "createdAt")
    cconv, cuser = col("conversation_users", "conversationId"), col("conversation_users", "userId")
    last_read = col("conversation_users", "lastReadAt")
    w2 = (
        f"-- W2: a member of a room drawn by traffic reads its latest 50 unread messages\n"
        f"{_METHOD}{_room_draw(totals)}{_member_draw('reader')}{_record('W2', 'room', record)}"
        f"WITH unread AS (\n"
        f"    SELECT x.{col('messages', 'id')} AS id FROM {m} x JOIN {cu} y\n"
        f"      ON y.{cconv} = x.{mconv} AND y.{cuser} = :reader\n"
        f"    WHERE x.{mconv} = :room AND x.{col('messages', 'senderId')} <> :reader\n"
        f"      AND x.{mcreated} > coalesce(y.{last_read}, '-infinity'::timestamptz)\n"
        f"    ORDER BY x.{mcreated} DESC LIMIT 50\n"
        f"), receipts AS (\n"
        f"    INSERT INTO {rr} ({col('read_receipts', 'messageId')}, "
        f"{col('read_receipts', 'userId')}, {col('read_receipts', 'readAt')})\n"
        f"    SELECT id, :reader, statement_timestamp() FROM unread ON CONFLICT DO NOTHING\n)\n"
        f"UPDATE {cu} SET {last_read} = greatest({last_read}, statement_timestamp())\n"
        f"WHERE {cconv} = :room AND {cuser} = :reader;\n"
    )
    return {"W1": w1, "W2": w2}


def build_workload(conn: Connection, opts: WorkloadOptions) -> dict[str, Any]:
    """Create the draw tables, write the scripts and workload.json into `opts.out`."""
    queries = load_queries(opts.queries_dir)
    available = {q.key.upper(): q for q in queries}
    captured = captured_writes(opts.queries_dir)  # W3, W4, ... from sample statements
    unknown = sorted(set(opts.mix) - set(available) - set(WRITES) - set(captured))
    if unknown:
        raise LoadTestError(
            f"--mix {', '.join(unknown)}: no such script (queries: {', '.join(available)}; "
            f"writes: {', '.join([*WRITES, *captured])})"
        )
    target = app_target(conn, opts.mapping) if opts.mapping is not None else None
    names = target.names if target is not None else CONTRACT
    messages = f"{quote_ident(opts.schema)}.{names.table('messages')}"
    if fetch_value(conn, "SELECT to_regclass($1)", (messages,)) is None:
        raise LoadTestError(
            f"--schema {opts.schema}: has no {messages} table; load a dataset first"
        )
    id_type = room_id_type(conn, opts.schema, target) if target is not None else "bigint"
    totals = build_draw_tables(conn, opts.schema, names, id_type)
    scripts = {
        k: read_script(k, q, totals, opts.record_draws)
        for k, q in {**available, **captured}.items()
    }
    if target is None:
        scripts.update(write_scripts(totals, opts.record_draws))
    else:
        create_sequences(conn, opts.schema, target)
        draws = {
            "room": _room_draw(totals),
            "member:sender": _member_draw("sender"),
            "member:reader": _member_draw("reader"),
            "record:W1": _record("W1", "room", opts.record_draws),
            "record:W2": _record("W2", "room", opts.record_draws),
        }
        try:
            scripts.update(app_write_scripts(target, _METHOD, draws))
        except LoadTestError:
            if any(opts.mix.get(k, 0) > 0 for k in WRITES):
                raise
            # a mix of captured statements only: W1 / W2 are not run, so not needed
        missing = sorted(k for k in set(opts.mix) & set(WRITES) if k not in scripts)
        if missing and opts.mix[missing[0]] > 0:
            raise LoadTestError(f"--mix {missing[0]}: the application has no reads table to mark")
    opts.out.mkdir(parents=True, exist_ok=True)
    entries: dict[str, Any] = {}
    for key, text in scripts.items():
        path = opts.out / f"{key.lower()}.pgbench"
        path.write_text(text)
        query = available.get(key) or captured.get(key)
        entries[key] = {
            "file": path.name,
            "name": query.name if query else ("send a message" if key == "W1" else "mark read"),
            "kind": "write" if key in WRITES or key in captured else "read",
        }
    rows = fetch_all(conn, f"SELECT count(*), max(messages) FROM {_q(opts.schema, ROOMS)}")[0]
    doc = {
        "kind": "synthgen-workload",
        "schema": opts.schema,
        "dsn": mask_dsn(opts.dsn),
        "mix": {k: v for k, v in opts.mix.items() if v > 0},
        "scripts": entries,
        "totals": totals,
        "rooms": int(rows[0]),
        "largest_room_messages": int(rows[1]),
        "message_id_base": MESSAGE_ID_BASE,
        "record_draws": opts.record_draws,
        "tables": {
            "rooms": ROOMS,
            "members": MEMBERS,
            "users": USERS,
            "user_rooms": USER_ROOMS,
            "times": TIMES,
            "draws": DRAWS,
        },
        **({"mapping": opts.mapping.schema} if opts.mapping is not None else {}),
    }
    write_json_atomic(opts.out / WORKLOAD_FILE, doc, sort_keys=True)
    return doc


def read_workload(directory: Path) -> dict[str, Any]:
    """workload.json of a workload directory; errors name the path."""
    path = directory / WORKLOAD_FILE
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise LoadTestError(
            f"--workload {directory}: no {WORKLOAD_FILE}; run synthgen workload"
        ) from None
    except (OSError, ValueError) as exc:
        raise LoadTestError(f"--workload {path}: unreadable ({exc})") from None
    if not isinstance(doc, dict) or doc.get("kind") != "synthgen-workload":
        raise LoadTestError(f"--workload {path}: not a synthgen workload")
    read_workload_scripts(directory, doc)
    return doc


def read_workload_scripts(directory: Path, doc: dict[str, Any]) -> None:
    """Check that every script of the mix is there."""
    for key in doc["mix"]:
        if not (directory / doc["scripts"][key]["file"]).is_file():
            raise LoadTestError(
                f"--workload {directory}: script {doc['scripts'][key]['file']} is missing"
            )
