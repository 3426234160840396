"""The extension gate's checks over DuckDB views d0_T (the base), d1_T, ... (the deltas)."""

from __future__ import annotations

import math
from typing import Any

import duckdb
import numpy as np

from synthgen.fidelity.extension_model import (
    TIMES,
    Finding,
    Intensity,
    binomial,
    exact,
    poisson,
    upto,
)
from synthgen.gate import NOISE_Z
from synthgen.spec import Spec
from synthgen.units import US_PER_DAY, US_PER_SECOND

Con = duckdb.DuckDBPyConnection
US = "epoch_us"


def _one(con: Con, sql: str) -> Any:
    row = con.execute(sql).fetchone()
    return row[0] if row else None


def exact_findings(con: Con, k: int, span: tuple[int, int], tag: str) -> list[Finding]:
    """What must hold exactly: times inside the extension, per-room createdAt rising across the
    seam, no read after a hard delete, nothing by a member after leaving, foreign keys."""
    start, end = span
    found = [
        exact(
            f"{tag}: {table}.{column} outside the extension",
            _one(
                con,
                f'SELECT count(*) FROM d{k}_{table} WHERE {US}("{column}") < {start} '
                f'OR {US}("{column}") >= {end}',
            ),
        )
        for table, column in TIMES.items()
    ]
    seam = f"""SELECT count(*) FROM (SELECT "createdAt", lag("createdAt") OVER
        (PARTITION BY "conversationId" ORDER BY id) AS before FROM {upto("messages", k)})
        WHERE before >= "createdAt" """
    found.append(exact(f"{tag}: per-room createdAt not rising across the seam", _one(con, seam)))
    changes = upto("changes", k)
    rules = {
        "read of a hard-deleted message after its delete": f"""SELECT count(*) FROM
            d{k}_read_receipts r JOIN {changes} c ON c.op = 'hard_delete'
            AND c."messageId" = r."messageId" AND r."readAt" >= c."changedAt" """,
        "read by a member after they left": f"""SELECT count(*) FROM d{k}_read_receipts r
            JOIN {upto("messages", k)} m ON m.id = r."messageId" JOIN {changes} c
            ON c.op = 'leave' AND c."conversationId" = m."conversationId"
            AND c."userId" = r."userId" AND r."readAt" >= c."changedAt" """,
        "message by a member after they left": f"""SELECT count(*) FROM d{k}_messages m
            JOIN {changes} c ON c.op = 'leave' AND c."conversationId" = m."conversationId"
            AND c."userId" = m."senderId" AND m."createdAt" >= c."changedAt" """,
        "message of an unknown room or sender": f"""SELECT count(*) FROM d{k}_messages m
            WHERE m."conversationId" NOT IN (SELECT id FROM {upto("conversations", k)})
            OR m."senderId" NOT IN (SELECT id FROM {upto("users", k)})""",
        "receipt or attachment of an unknown message": f"""SELECT
            (SELECT count(*) FROM d{k}_read_receipts WHERE "messageId" NOT IN
             (SELECT id FROM {upto("messages", k)}))
            + (SELECT count(*) FROM d{k}_attachments WHERE "messageId" NOT IN
             (SELECT id FROM {upto("messages", k)}))""",
        "membership of an unknown room or user, or twice": f"""SELECT
            (SELECT count(*) FROM d{k}_conversation_users WHERE "userId" NOT IN
             (SELECT id FROM {upto("users", k)}) OR "conversationId" NOT IN
             (SELECT id FROM {upto("conversations", k)}))
            + (SELECT count(*) - count(DISTINCT ("conversationId", "userId"))
               FROM {upto("conversation_users", k)})""",
    }
    found += [exact(f"{tag}: {what}", _one(con, sql)) for what, sql in rules.items()]
    return found


def rate_findings(
    con: Con,
    spec: Spec,
    base: dict[str, Any],
    intensity: Intensity,
    k: int,
    span: tuple[int, int],
    tag: str,
) -> list[Finding]:
    """Daily messages of the rooms open at the seam; new users; new rooms (Poisson)."""
    start, end = span
    days = (end - start) // US_PER_DAY
    before = upto("messages", k - 1)
    deleted = upto("changes", k - 1)
    rooms = con.execute(
        f"""SELECT c.id, {US}(c."createdAt"), coalesce(n.n, 0) - coalesce(g.n, 0)
        FROM {upto("conversations", k - 1)} c
        LEFT JOIN (SELECT "conversationId" AS id, count(*) AS n FROM {before} GROUP BY 1) n
          USING (id)
        LEFT JOIN (SELECT "conversationId" AS id, count(*) AS n FROM {deleted}
          WHERE op = 'hard_delete' GROUP BY 1) g USING (id)"""
    ).fetchnumpy()
    ids, created, count = (np.asarray(rooms[c]) for c in rooms)
    life = intensity.at(np.full(len(ids), start)) - intensity.at(
        np.clip(created, intensity.edges[0], start - 1)
    )
    rate = np.where(life > 0, count / np.maximum(life, 1e-12), 0.0)
    last_room = int(ids.max(initial=0))
    observed = dict(
        con.execute(
            f"""SELECT ({US}("createdAt") - {start}) // {US_PER_DAY}, count(*) FROM d{k}_messages
            WHERE "conversationId" <= {last_room} GROUP BY 1"""
        ).fetchall()
    )
    found = []
    for day in range(days):
        lo, hi = start + day * US_PER_DAY, start + (day + 1) * US_PER_DAY
        expected = float((rate * (intensity.at(hi) - intensity.at(lo))).sum())
        found.append(
            poisson(
                f"{tag}: day {day + 1} messages of the seam's rooms", observed.get(day, 0), expected
            )
        )
    t, opening = spec.time, spec.conversations.opening
    users = float(base["counts"]["users"]) * t.new_user_share
    users /= t.new_user_signup_within * t.window_days
    conversations = float(base["counts"]["conversations"])
    heavy = round(conversations * spec.messages_per_conversation.heavy.fraction)
    regular = conversations - (
        max(1, heavy) if spec.messages_per_conversation.heavy.fraction else 0
    )
    opened = regular / (opening.regular_skew * opening.regular_within * t.window_days)
    found.append(
        poisson(f"{tag}: new users", _one(con, f"SELECT count(*) FROM d{k}_users"), users * days)
    )
    found.append(
        poisson(
            f"{tag}: new rooms",
            _one(con, f"SELECT count(*) FROM d{k}_conversations"),
            opened * days,
        )
    )
    return found


def churn_findings(con: Con, spec: Spec, k: int, span: tuple[int, int], tag: str) -> list[Finding]:
    """Deletes and edits of the delta's messages; leaves of the members at the seam."""
    c = spec.churn
    start, end = span
    tau = c.edit_delay_seconds * US_PER_SECOND
    msgs = con.execute(
        f"""SELECT {US}("createdAt") AS t, type = 'TEXT' AS text FROM d{k}_messages"""
    ).fetchnumpy()
    # a change lands before the end with the chance its exponential delay is short enough
    in_time = 1.0 - np.exp(-np.maximum(end - np.asarray(msgs["t"]) - 1, 0) / tau)
    ops = dict(con.execute(f"SELECT op, count(*) FROM d{k}_changes GROUP BY 1").fetchall())
    deleted = c.hard_delete_rate + c.soft_delete_rate
    found = [
        _bernoulli(f"{tag}: hard deletes", ops.get("hard_delete", 0), c.hard_delete_rate * in_time),
        _bernoulli(f"{tag}: soft deletes", ops.get("soft_delete", 0), c.soft_delete_rate * in_time),
        # an edit is lost when a delete comes first: half the time it is drawn for the message
        _bernoulli(
            f"{tag}: edits",
            ops.get("edit", 0),
            c.edit_rate * in_time[np.asarray(msgs["text"], dtype=bool)] * (1 - deleted / 2),
        ),
    ]
    changes = upto("changes", k - 1)
    eligible = _one(
        con,
        f"""SELECT count(*) FROM {upto("conversation_users", k - 1)} m
        JOIN {upto("conversations", k - 1)} r ON r.id = m."conversationId"
        WHERE r.type = 'GROUP' AND m."isActive" AND m.role <> 'OWNER'
        AND (m."conversationId", m."userId") NOT IN (SELECT ("conversationId", "userId")
             FROM {changes} WHERE op = 'leave')""",
    )
    days = (end - start) // US_PER_DAY
    found.append(
        binomial(f"{tag}: leaves", ops.get("leave", 0), eligible, 1 - (1 - c.leave_rate) ** days)
    )
    return found


def _bernoulli(check: str, observed: int, p: Any) -> Finding:
    """A count of independent events of chances `p`: its mean and NOISE_Z of its spread."""
    p = np.asarray(p, dtype=np.float64)
    spread = math.sqrt(max(float((p * (1 - p)).sum()), 1.0))
    return Finding(check, observed, float(p.sum()), NOISE_Z * spread)
