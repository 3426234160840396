"""Parameter classes for an application's queries, in the application's id formats.

The classes are the index gate's (a median, a p95 and a heavy room; a median-activity and a
top-1 % user, and the busiest room each such user is a member of), drawn from the dataset's
Parquet files with DuckDB — the application's tables hold exactly that dataset, its counts
checked by the load — then converted through the mapping's id formats, so `$1` is the cuid or
uuid the application stores. Ties break by md5(id || seed) as in the contract's own draw.
Timestamps are `1h`, `1d` and `7d` before the newest message, as a time and in the mapping's
epoch unit (for a `bigint` parameter compared with an integer time column, such as epoch ms).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from synthgen.errors import VerifyError
from synthgen.load.mapped.ids import TIME_ORDERED, format_ids
from synthgen.load.mapped.load_plan import id_formats
from synthgen.load.mapped.transform import _all_rows_clock
from synthgen.mapping import Mapping
from synthgen.postgres.connect import Connection, DatabaseError, fetch_value
from synthgen.postgres.mapped import audit_schema_for
from synthgen.schema import quote_ident, quote_literal
from synthgen.verify.params import timestamp_classes

_SQL = """
WITH sizes AS (
    SELECT m."conversationId" AS id, count(*) AS messages, bool_or(t."isHeavy") AS heavy
    FROM messages m JOIN traits t ON t."conversationId" = m."conversationId"
    GROUP BY 1
), targets AS (
    SELECT quantile_disc(messages, 0.5) FILTER (WHERE NOT heavy) AS median,
           quantile_disc(messages, 0.95) FILTER (WHERE NOT heavy) AS p95,
           quantile_disc(messages, 0.5) FILTER (WHERE heavy) AS heavy
    FROM sizes
), ranked AS (
    SELECT 'median' AS cls, s.id, s.messages, row_number() OVER (
        ORDER BY abs(s.messages - t.median), md5(s.id::text || $seed)) AS rn
    FROM sizes s, targets t WHERE NOT s.heavy
    UNION ALL
    SELECT 'p95', s.id, s.messages, row_number() OVER (
        ORDER BY abs(s.messages - t.p95), md5(s.id::text || $seed))
    FROM sizes s, targets t WHERE NOT s.heavy
    UNION ALL
    SELECT 'heavy', s.id, s.messages, row_number() OVER (
        ORDER BY abs(s.messages - t.heavy), md5(s.id::text || $seed))
    FROM sizes s, targets t WHERE s.heavy
)
SELECT cls, id, messages FROM ranked WHERE rn = 1
"""
_USERS = """
WITH activity AS (
    SELECT "userId" AS id, count(*) AS memberships FROM members WHERE "isActive" GROUP BY 1
), targets AS (
    SELECT quantile_disc(memberships, 0.5) AS median, quantile_disc(memberships, 0.99) AS top1
    FROM activity
), ranked AS (
    SELECT 'median' AS cls, a.id, a.memberships, row_number() OVER (
        ORDER BY abs(a.memberships - t.median), md5(a.id::text || $seed)) AS rn
    FROM activity a, targets t
    UNION ALL
    SELECT 'top1', a.id, a.memberships, row_number() OVER (
        ORDER BY abs(a.memberships - t.top1), md5(a.id::text || $seed))
    FROM activity a, targets t
)
SELECT cls, id, memberships FROM ranked WHERE rn = 1
"""
_BUSIEST = """
SELECT c."conversationId", count(*) AS messages
FROM members c JOIN messages m ON m."conversationId" = c."conversationId"
WHERE c."userId" = $user AND c."isActive"
GROUP BY 1 ORDER BY 2 DESC, md5(c."conversationId"::text || $seed) LIMIT 1
"""
_CURSOR = """
SELECT epoch_us("createdAt") FROM messages WHERE "conversationId" = $room
ORDER BY "createdAt" DESC OFFSET $offset LIMIT 1
"""


def _one(row: tuple[Any, ...] | None) -> tuple[Any, ...]:
    assert row is not None  # every room has messages, every sampled user a membership
    return row


def _utc(us: int) -> Any:
    return pa.scalar(us, pa.timestamp("us", tz="UTC")).as_py()


def _convert(root: Path, table: str, ids: list[int], fmt: str) -> list[Any]:
    array = np.asarray(ids, dtype=np.int64)
    ms = _all_rows_clock(root, table).ms(array) if fmt in TIME_ORDERED else None
    values = format_ids(array, table, fmt, ms, binary_uuid=False)
    return [int(v) if isinstance(v, int) else v for v in values.to_pylist()]


def app_parameters(
    root: Path, id_formats: dict[str, str], seed: str = "synthgen", epoch: str = "ms"
) -> dict[str, Any]:
    """{'conversation': {cls: {id, messages, cursor}}, 'user': {cls: {id, memberships,
    conversation}}, 'timestamp': {cls: {at, epoch}}} with ids in the application's formats and
    epoch times in its `epoch` unit."""
    con = duckdb.connect(config={"memory_limit": "1GB", "threads": 2})
    try:
        con.execute("SET enable_progress_bar = false")
        for view, table in (("messages", "messages"), ("traits", "conversation_traits"),
                            ("members", "conversation_users")):  # fmt: skip
            source = quote_literal(str(root / table / "*.parquet"))
            con.execute(f"CREATE VIEW {view} AS SELECT * FROM read_parquet({source})")
        rooms = con.execute(_SQL, {"seed": seed}).fetchall()
        users = con.execute(_USERS, {"seed": seed}).fetchall()
        cursors = {
            cls: _one(con.execute(_CURSOR, {"room": room, "offset": int(n) // 2}).fetchone())
            for cls, room, n in rooms
        }
        busiest = {
            cls: _one(con.execute(_BUSIEST, {"user": user, "seed": seed}).fetchone())
            for cls, user, _ in users
        }
        newest = _one(con.execute('SELECT epoch_us(max("createdAt")) FROM messages').fetchone())
    finally:
        con.close()
    room_ids = _convert(
        root, "conversations", [int(r[1]) for r in rooms], id_formats["conversations"]
    )
    user_ids = _convert(root, "users", [int(u[1]) for u in users], id_formats["users"])
    member_rooms = _convert(
        root, "conversations", [int(busiest[u[0]][0]) for u in users], id_formats["conversations"]
    )
    conversation = {
        cls: {
            "id": room_ids[i],
            "messages": int(n),
            "cursor": _utc(cursors[cls][0]).isoformat(),
        }
        for i, (cls, _, n) in enumerate(rooms)
    }
    user = {
        cls: {"id": user_ids[i], "memberships": int(n), "conversation": member_rooms[i]}
        for i, (cls, _, n) in enumerate(users)
    }
    order_c, order_u = ("median", "p95", "heavy"), ("median", "top1")
    return {
        "seed": seed,
        "conversation": {c: conversation[c] for c in order_c if c in conversation},
        "user": {c: user[c] for c in order_u if c in user},
        "timestamp": timestamp_classes(_utc(newest[0]), epoch),
    }


def recorded_dataset(conn: Connection, schema: str) -> Path | None:
    """The dataset directory the last complete mapped load into `schema` recorded."""
    try:
        value = fetch_value(
            conn,
            f"SELECT options->>'dataset_dir' FROM {quote_ident(audit_schema_for(schema))}."
            "synthgen_loads WHERE status = 'complete' ORDER BY load_id DESC LIMIT 1",
        )
    except DatabaseError:
        return None
    return Path(value) if value else None


def mapped_parameters(
    conn: Connection, mapping: Mapping, dataset_dir: Path | None, seed: str = "synthgen"
) -> dict[str, Any]:
    """Parameter classes for an application's schema, from its dataset, in its id formats."""
    root = dataset_dir or recorded_dataset(conn, mapping.schema)
    if root is None or not (root / "manifest.json").is_file():
        raise VerifyError(
            f"--dataset: the dataset loaded into schema {mapping.schema!r} is needed to draw "
            f"parameters ({root or 'no load recorded'}); pass --dataset DIR"
        )
    return app_parameters(root, id_formats(mapping), seed, mapping.epoch)
