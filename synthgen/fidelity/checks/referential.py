"""Check 10: referential integrity — keys, memberships, DIRECT pairs, enumerations.

A receipt's primary key is (messageId, userId), so "no (message, user) pair repeats" is its key
rule; a receipt's reader must be a member other than the sender who had joined by the message's
time, under either receipt model.

Keys and enumerations come from synthgen.contract, their single source, so a new
table's keys are checked without touching this file.
"""

from __future__ import annotations

from collections.abc import Callable

from synthgen import contract
from synthgen.fidelity.checks.base import INTEGRITY, Check
from synthgen.fidelity.context import CheckContext
from synthgen.fidelity.facts import (
    attachment_profile,
    message_profile,
    message_violations,
    receipt_profile,
)
from synthgen.fidelity.results import Finding, Metric, Outcome, exact
from synthgen.schema import TABLES

# messages.type is checked with the message profile below (one scan for all message facts)
ENUM_COLUMNS = tuple(
    (table, column, allowed)
    for (table, column), allowed in contract.ENUM_COLUMNS.items()
    if (table, column) != ("messages", "type")
)


def _q(name: str) -> str:
    return '"' + name + '"'


# Foreign keys whose answer a shared fact already holds (the same join, not run twice).
FACT_FOREIGN_KEYS: dict[tuple[str, str], Callable[[CheckContext], int]] = {
    ("read_receipts", "messageId"): lambda ctx: receipt_profile(ctx).orphans,
    ("attachments", "messageId"): lambda ctx: attachment_profile(ctx).orphans,
}


def run(ctx: CheckContext) -> Outcome:
    """Count unresolved keys, duplicate keys, non-member senders and readers, bad enum values."""
    metrics: list[Metric] = []
    for t in TABLES.values():
        for column, parent, parent_column in t.foreign_keys:
            from_fact = FACT_FOREIGN_KEYS.get((t.name, column))
            n = (
                from_fact(ctx)
                if from_fact
                else ctx.scalar(
                    f"SELECT count(*) FROM {_q(t.name)} c ANTI JOIN {_q(parent)} p "
                    f"ON p.{_q(parent_column)} = c.{_q(column)}"
                )
            )
            metrics.append(exact(f"{t.name}.{column} not found in {parent}.{parent_column}", n))
    for t in TABLES.values():
        metrics.append(
            exact(
                f"duplicate or null primary keys in {t.name} ({', '.join(t.primary_key)})",
                _key_violations(ctx, t.name, t.primary_key),
            )
        )
    v = message_violations(ctx)
    findings = [
        Finding("sender is not a member", "messages", "id", str(i), "") for i in v.not_member_ids
    ]
    receipts = receipt_profile(ctx)
    metrics += [
        exact("messages whose sender is not a member", v.not_member),
        exact("receipts whose reader is not a member", receipts.reader_not_member),
        exact("receipts read by the message's sender", receipts.reader_is_sender),
        exact("receipts of a message sent before its reader joined", receipts.before_joined),
        exact("DIRECT conversations sharing a member pair", _duplicate_pairs(ctx)),
        exact(
            "conversations without a conversation_traits row",
            ctx.scalar(
                "SELECT count(*) FROM conversations c ANTI JOIN conversation_traits t "
                'ON t."conversationId" = c.id'
            ),
        ),
    ]
    metrics += _enum_metrics(ctx)
    return Outcome(metrics=metrics, findings=findings)


def _key_violations(ctx: CheckContext, table: str, key: tuple[str, ...]) -> int:
    """Rows whose key repeats the previous one in key order, or is null. Sorting (the shards are
    nearly in key order already) costs about half of hashing every key for count(DISTINCT)."""
    cols = ", ".join(_q(c) for c in key)
    lags = ", ".join(f"lag({_q(c)}) OVER w AS p{i}" for i, c in enumerate(key))
    same = " AND ".join(f"{_q(c)} = p{i}" for i, c in enumerate(key))
    null = " OR ".join(f"{_q(c)} IS NULL" for c in key)
    return int(
        ctx.scalar(
            f"SELECT count(*) FILTER (WHERE ({same}) OR {null}) "
            f"FROM (SELECT {cols}, {lags} FROM {_q(table)} WINDOW w AS (ORDER BY {cols}))"
        )
    )


def _duplicate_pairs(ctx: CheckContext) -> int:
    return int(
        ctx.scalar(
            """
        SELECT count(*) FROM (
            SELECT a, b FROM (
                SELECT cu."conversationId", min(cu."userId") AS a, max(cu."userId") AS b
                FROM conversation_users cu JOIN conversations c ON c.id = cu."conversationId"
                WHERE c.type = 'DIRECT' GROUP BY 1)
            GROUP BY a, b HAVING count(*) > 1)
        """
        )
    )


def _enum_metrics(ctx: CheckContext) -> list[Metric]:
    out = []
    for table, column, allowed in ENUM_COLUMNS:
        values = ", ".join(f"'{v}'" for v in allowed)
        n = ctx.scalar(
            f"SELECT count(*) FROM {_q(table)} WHERE {_q(column)} IS NULL "
            f"OR {_q(column)} NOT IN ({values})"
        )
        out.append(exact(f"{table}.{column} values outside {{{', '.join(allowed)}}}", n))
    prof = message_profile(ctx)
    bad = ~(prof.type[:, None] == list(contract.MESSAGE_TYPES)).any(axis=1)
    out.append(
        exact(
            f"messages.type values outside {{{', '.join(contract.MESSAGE_TYPES)}}}",
            int(prof.count[bad].sum()),
        )
    )
    return out


CHECK = Check(10, "referential_integrity", "Referential integrity", INTEGRITY, run)
