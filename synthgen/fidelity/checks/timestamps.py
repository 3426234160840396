"""Check 9: every temporal rule of the dataset contract.

createdAt strictly increasing within each conversation (in id order, so ties and swaps across
shard boundaries count too); user createdAt <= joinedAt <= the member's messages; readAt after
the message; lastReadAt equal to the member's latest readAt (null if none); updatedAt equal to
the last message's createdAt (createdAt if none); no timestamp after the snapshot.
"""

from __future__ import annotations

from collections.abc import Callable

from synthgen.fidelity.checks.base import INTEGRITY, Check
from synthgen.fidelity.context import CheckContext
from synthgen.fidelity.facts import conversation_table, message_violations, receipt_profile
from synthgen.fidelity.results import Finding, Metric, Outcome, exact
from synthgen.schema import TABLES, TIMESTAMP

SAMPLES = 5


def run(ctx: CheckContext) -> Outcome:
    """Count violations of each temporal rule."""
    table = conversation_table(ctx)
    findings: list[Finding] = []
    v = message_violations(ctx, SAMPLES)
    findings += [
        Finding("createdAt not strictly increasing", "messages", "conversationId", str(c), "")
        for c in v.order_conversations
    ]
    joined_early = ctx.scalar(
        """
        SELECT count(*) FROM conversation_users cu JOIN users u ON u.id = cu."userId"
        WHERE cu."joinedAt" < u."createdAt"
        """
    )
    findings += [
        Finding("message before its sender joined", "messages", "id", str(i), "")
        for i in v.before_join_ids
    ]
    receipts = receipt_profile(ctx)
    updated = ctx.scalar(
        f"SELECT count(*) FROM {table} WHERE updated_t IS DISTINCT FROM coalesce(last_t, created_t)"
    )
    late, late_findings = _after_snapshot(ctx)
    metrics: list[Metric] = [
        exact("messages whose createdAt does not increase within the conversation", v.order),
        exact("members who joined before their user was created", int(joined_early)),
        exact("messages sent before the sender joined", v.before_join),
        exact("receipts not after their message", receipts.not_after_message),
        exact(
            "lastReadAt not the member's latest readAt (later receipts + unmatched members)",
            receipts.last_read_violations,
        ),
        exact("conversations whose updatedAt is not their last message", int(updated)),
        exact("timestamps after the snapshot", late),
    ]
    return Outcome(metrics=metrics, findings=findings + late_findings)


# Columns whose count a shared fact already holds (its scan is not run twice).
FACT_COLUMNS: dict[tuple[str, str], Callable[[CheckContext], int]] = {
    ("messages", "createdAt"): lambda ctx: message_violations(ctx).after_snapshot,
    ("read_receipts", "readAt"): lambda ctx: receipt_profile(ctx).after_snapshot,
}


def _after_snapshot(ctx: CheckContext) -> tuple[int, list[Finding]]:
    total, findings = 0, []
    for t in TABLES.values():
        columns = [c.name for c in t.columns if c.type == TIMESTAMP]
        counts = {
            (t.name, c): FACT_COLUMNS[(t.name, c)](ctx)
            for c in columns
            if (t.name, c) in FACT_COLUMNS
        }
        rest = [c for c in columns if (t.name, c) not in counts]
        if rest:
            row = ctx.query(
                "SELECT "
                + ", ".join(
                    f'count(*) FILTER (WHERE epoch_us("{c}") > {ctx.snapshot_us})' for c in rest
                )
                + f' FROM "{t.name}"'
            )[0]
            counts.update({(t.name, c): int(n) for c, n in zip(rest, row, strict=True)})
        for (table, column), n in counts.items():
            total += n
            if n:
                findings.append(
                    Finding("timestamp after the snapshot", table, column, "-", f"{n} rows")
                )
    return total, findings


CHECK = Check(9, "timestamps", "Monotonic timestamps and temporal rules", INTEGRITY, run)
