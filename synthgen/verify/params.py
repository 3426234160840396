"""Parameter classes drawn from the loaded data, so queries run on the real skew.

Conversations: a median, a p95 and a heavy room. Users: a median-activity and a top-1 % user, and
their busiest room. Timestamps: `1h`, `1d`, `7d` before the newest message, as a time or in epoch
units. Ties are broken by a hash of (id, seed). A query runs over the cross product of the
classes of its axes (queries.Query.axes), labelled in its parameters' order (`median×heavy`).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from synthgen.errors import VerifyError
from synthgen.mapping import EPOCH_UNITS
from synthgen.postgres.connect import Connection, fetch_all
from synthgen.verify.queries import AXIS, Query

CONVERSATION_CLASSES = ("median", "p95", "heavy")
USER_CLASSES = ("median", "top1")
# a timestamp class -> how long before the newest message
TIMESTAMP_CLASSES = {"1h": timedelta(hours=1), "1d": timedelta(days=1), "7d": timedelta(days=7)}

_ROOMS = """
WITH sizes AS (
    SELECT m."conversationId" AS id, count(*) AS messages, bool_or(t."isHeavy") AS heavy
    FROM "messages" m JOIN "conversation_traits" t ON t."conversationId" = m."conversationId"
    GROUP BY m."conversationId"
), targets AS (
    SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY messages) AS median,
           percentile_disc(0.95) WITHIN GROUP (ORDER BY messages) AS p95
    FROM sizes
), heavy_target AS (
    SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY messages) AS heavy FROM sizes WHERE heavy
)
SELECT cls, id, messages FROM (
    SELECT 'median' AS cls, s.id, s.messages,
           row_number() OVER (ORDER BY abs(s.messages - t.median), md5(s.id::text || $1)) AS rn
    FROM sizes s, targets t WHERE NOT s.heavy
    UNION ALL
    SELECT 'p95', s.id, s.messages,
           row_number() OVER (ORDER BY abs(s.messages - t.p95), md5(s.id::text || $1))
    FROM sizes s, targets t WHERE NOT s.heavy
    UNION ALL
    SELECT 'heavy', s.id, s.messages,
           row_number() OVER (ORDER BY abs(s.messages - h.heavy), md5(s.id::text || $1))
    FROM sizes s, heavy_target h WHERE s.heavy
) ranked WHERE rn = 1
"""

_CURSOR = """
SELECT "createdAt" FROM "messages" WHERE "conversationId" = $1
ORDER BY "createdAt" DESC OFFSET $2 LIMIT 1
"""

_USERS = """
WITH activity AS (
    SELECT "userId" AS id, count(*) AS memberships FROM "conversation_users"
    WHERE "isActive" GROUP BY "userId"
), targets AS (
    SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY memberships) AS median,
           percentile_disc(0.99) WITHIN GROUP (ORDER BY memberships) AS top1
    FROM activity
)
SELECT cls, id, memberships FROM (
    SELECT 'median' AS cls, a.id, a.memberships,
           row_number() OVER (ORDER BY abs(a.memberships - t.median), md5(a.id::text || $1)) AS rn
    FROM activity a, targets t
    UNION ALL
    SELECT 'top1', a.id, a.memberships,
           row_number() OVER (ORDER BY abs(a.memberships - t.top1), md5(a.id::text || $1))
    FROM activity a, targets t
) ranked WHERE rn = 1
"""


_BUSIEST = """
SELECT c."conversationId" FROM "conversation_users" c
JOIN "messages" m ON m."conversationId" = c."conversationId"
WHERE c."userId" = $1 AND c."isActive"
GROUP BY 1 ORDER BY count(*) DESC, md5(c."conversationId"::text || $2) LIMIT 1
"""


def timestamp_classes(newest: datetime, unit: str = "ms") -> dict[str, Any]:
    """{class: {at, epoch, epoch_unit}}: each class's time before `newest` (aware), and that time
    in epoch `unit`s rounded as the loader rounds a time into an integer column."""
    per = EPOCH_UNITS[unit]
    out: dict[str, Any] = {}
    for cls, back in TIMESTAMP_CLASSES.items():
        at = newest.astimezone(UTC) - back
        us = (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
        out[cls] = {"at": at.isoformat(), "epoch": (us + per // 2) // per, "epoch_unit": unit}
    return out


def sample_parameters(conn: Connection, seed: str = "synthgen") -> dict[str, Any]:
    """{'conversation': {class: {id, messages, cursor}},
    'user': {class: {id, memberships, conversation}}, 'timestamp': {class: {at, epoch}}}."""
    rooms: dict[str, Any] = {}
    for cls, room_id, messages in fetch_all(conn, _ROOMS, (seed,)):
        cursor = fetch_all(conn, _CURSOR, (room_id, int(messages) // 2))[0][0]
        rooms[cls] = {"id": int(room_id), "messages": int(messages), "cursor": cursor.isoformat()}
    users = {
        cls: {
            "id": int(user_id),
            "memberships": int(count),
            "conversation": int(fetch_all(conn, _BUSIEST, (user_id, seed))[0][0]),
        }
        for cls, user_id, count in fetch_all(conn, _USERS, (seed,))
    }
    newest = fetch_all(conn, 'SELECT max("createdAt") FROM "messages"')[0][0]
    return {
        "seed": seed,
        "conversation": {c: rooms[c] for c in CONVERSATION_CLASSES if c in rooms},
        "user": {c: users[c] for c in USER_CLASSES if c in users},
        "timestamp": timestamp_classes(newest) if newest is not None else {},
    }


def class_combinations(query: Query, params: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
    """(label, {axis: class}) for every combination of the classes of the query's axes: one
    class per axis, 'median' or, with a user and a room, 'median×heavy'."""
    axes = query.axes
    missing = [a for a in axes if not params.get(a)]
    if missing:
        raise VerifyError(f"{query.path}: the parameters hold no {missing[0]} classes")
    combos = itertools.product(*(list(params[a]) for a in axes))
    return [("×".join(classes), dict(zip(axes, classes, strict=True))) for classes in combos]


_FIELD = {
    "conversation": "id",
    "conversation_cursor": "cursor",
    "user": "id",
    "member_user": "id",
    "member_conversation": "conversation",
    "timestamp": "at",
}


def bind(query: Query, params: dict[str, Any], classes: dict[str, str]) -> list[tuple[Any, str]]:
    """(value, SQL type) per parameter of the query, each drawn from its axis's class."""
    values: list[tuple[Any, str]] = []
    for p in query.params:
        axis = AXIS[p.kind]
        drawn = params[axis][classes[axis]]
        field = "epoch" if p.kind == "timestamp" and p.type == "bigint" else _FIELD[p.kind]
        if field not in drawn:
            raise VerifyError(
                f"{query.path}: parameter ${p.position} {p.kind} needs '{field}' in the "
                f"{axis} classes, which these parameters (an older baseline?) lack; draw them again"
            )
        values.append((drawn[field], p.type))
    return values
