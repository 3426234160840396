"""The registry: every check of the gate, in report order. Adding a check = one line here."""

from __future__ import annotations

from synthgen.fidelity.checks import (
    content_length,
    conversation_mix,
    heavy_rooms,
    media,
    messages_per_conversation,
    physical_layout,
    pii,
    read_receipts,
    referential,
    temporal,
    timestamps,
)
from synthgen.fidelity.checks.base import DISTRIBUTION, INTEGRITY, Check

CHECKS: tuple[Check, ...] = (
    conversation_mix.CHECK,
    messages_per_conversation.CHECK,
    content_length.CHECK,
    media.CHECK,
    temporal.CHECK,
    heavy_rooms.CHECK,
    read_receipts.CHECK,
    pii.CHECK,
    timestamps.CHECK,
    referential.CHECK,
    physical_layout.CHECK,
)

__all__ = ["CHECKS", "DISTRIBUTION", "INTEGRITY", "Check"]
