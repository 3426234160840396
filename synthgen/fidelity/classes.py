"""Which rooms are heavy, decided from the data and the spec (not from the generator's labels
where the data can say): the rule the conversation table and the heavy-room check share."""

from __future__ import annotations

from synthgen.fidelity.context import CheckContext


def heavy_by_count(ctx: CheckContext) -> bool:
    """Whether the data alone say which rooms are heavy: the scaled heavy threshold lies above
    the regular rooms' maximum, so a room is heavy exactly when it reaches the threshold. Below
    that scale a regular room may reach the threshold too, and the count cannot tell them apart."""
    return ctx.counts.heavy_min_messages > ctx.spec.messages_per_conversation.regular.max


def heavy_rule(ctx: CheckContext) -> str:
    """SQL for a room being heavy: by its message count where that decides (heavy_by_count),
    else by the generator's label, which the heavy_rooms check holds to the counts' bounds."""
    if heavy_by_count(ctx):
        return f"coalesce(ms.messages, 0) >= {ctx.counts.heavy_min_messages}"
    return 'coalesce(tr."isHeavy", false)'
