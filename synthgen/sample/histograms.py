"""The histograms the sampler publishes: one registry, shared by sampler, calibrator and comparison.

Each histogram is ordered (buckets over a numeric value) or categorical (counts per known
category). Categories are constants of this module: a production value outside them is counted
as 'other' by the SQL itself, so no production string can reach the output.
"""

from __future__ import annotations

from dataclasses import dataclass

from synthgen.contract import CONVERSATION_KINDS, MEDIA_KINDS, MEMBER_ROLES, OTHER
from synthgen.contract import MESSAGE_TYPES as CONTRACT_MESSAGE_TYPES
from synthgen.sample.buckets import (
    CV_EDGES,
    DELAY_EDGES,
    GAP_EDGES,
    HOUR_EDGES,
    LENGTH_EDGES,
    MEMBER_EDGES,
    MESSAGE_COUNT_EDGES,
    SIZE_EDGES,
    WEEKDAY_EDGES,
    with_edges,
)

# the contract's values, and OTHER for a production value outside them
MESSAGE_TYPES = (*CONTRACT_MESSAGE_TYPES, OTHER)
ROLES = (*MEMBER_ROLES, OTHER)
CONVERSATION_CLASSES = (*CONVERSATION_KINDS, OTHER.lower())
# MIME types that may be named in the output; any other becomes 'other'.
KNOWN_MIME_TYPES = (
    "image/jpeg", "image/png", "image/webp", "image/gif", "image/heic", "image/heif",
    "image/avif", "video/mp4", "video/quicktime", "video/webm", "video/3gpp", "application/pdf",
    "text/plain", "text/csv", "application/rtf", "application/zip", "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "audio/ogg", "audio/mpeg", "audio/mp4", "audio/aac", "audio/webm", "audio/wav", "audio/amr",
)  # fmt: skip
ORDERED, CATEGORICAL = "ordered", "categorical"


@dataclass(frozen=True)
class Thresholds:
    """Boundaries the sampler applies in SQL; they travel with the metrics."""

    window_days: int = 30
    large_group_min_members: int = 21
    heavy_min_messages: int = 10_000
    burst_min_messages: int = 100


@dataclass(frozen=True)
class HistogramSpec:
    """One published histogram: what it counts, over what, its domain and its sensitivity.

    Sensitivity is the most one row of the counted unit (a message, receipt, membership, user)
    added or removed can change the histogram (L1): 1 when each row lands in one bucket, 2 when
    it can move an entity (a conversation) between buckets, 3 for gaps (one message splits a gap
    in two). This is event-level privacy; a user-level guarantee would need per-user bounds.
    """

    name: str
    kind: str
    unit: str
    value: str
    sensitivity: float
    edges: tuple[float, ...] = ()
    categories: tuple[str, ...] = ()


def _ordered(
    name: str, unit: str, value: str, edges: tuple[float, ...], sens: float = 1.0
) -> HistogramSpec:
    return HistogramSpec(name, ORDERED, unit, value, sens, edges=edges)


def _categorical(
    name: str, unit: str, value: str, categories: tuple[str, ...], sens: float = 1.0
) -> HistogramSpec:
    return HistogramSpec(name, CATEGORICAL, unit, value, sens, categories=categories)


def registry(t: Thresholds) -> dict[str, HistogramSpec]:
    """Every histogram, by name, for these thresholds."""
    members = with_edges(MEMBER_EDGES, (float(t.large_group_min_members),))
    counts = with_edges(MESSAGE_COUNT_EDGES, (float(t.heavy_min_messages),))
    specs = [
        _categorical("conversation_mix", "conversations", "class", CONVERSATION_CLASSES, 2),
        _ordered("small_group_members", "conversations", "members", members, 2),
        _ordered("large_group_members", "conversations", "members", members, 2),
        _ordered("messages_per_regular_conversation", "conversations", "messages", counts, 2),
        _ordered("messages_per_heavy_conversation", "conversations", "messages", counts, 2),
        _categorical("heavy_rooms", "conversations", "class", ("heavy", "regular"), 2),
        # one message can carry a room across the threshold, moving all its messages
        _categorical(
            "heavy_messages", "messages", "class", ("heavy", "regular"), 2 * t.heavy_min_messages
        ),
        _categorical("message_types", "messages", "type", MESSAGE_TYPES),
        _ordered("content_length", "text messages", "characters", LENGTH_EDGES),
        _categorical("captions", "media messages", "caption", ("caption", "no_caption")),
        _ordered("caption_length", "media messages", "characters", LENGTH_EDGES),
        _ordered("hour_of_day", "messages", "hour of day (UTC)", HOUR_EDGES),
        _ordered("day_of_week", "messages", "day of week (Monday = 0)", WEEKDAY_EDGES),
        _ordered("inter_arrival_seconds", "gaps", "seconds", GAP_EDGES, 3),
        _ordered("burst_cv", "conversations", "coefficient of variation", CV_EDGES, 2),
        _categorical("read_state", "messages", "state", ("read", "unread")),
        _ordered("receipt_delay_seconds", "receipts", "seconds", DELAY_EDGES, 2),
        _categorical("member_roles", "memberships", "role", ROLES),
        _categorical("member_activity", "memberships", "state", ("active", "inactive")),
        _categorical("user_signup", "users", "signup", ("before_window", "in_window")),
    ]
    for kind in MEDIA_KINDS:
        specs.append(_ordered(f"attachment_size.{kind}", "attachments", "bytes", SIZE_EDGES))
        specs.append(
            _categorical(
                f"mime_types.{kind}", "attachments", "mime type", (*KNOWN_MIME_TYPES, "other")
            )
        )
    return {s.name: s for s in specs}


def known_strings(t: Thresholds) -> set[str]:
    """Every string the registry may put in the output (names, units, values, categories)."""
    found: set[str] = {ORDERED, CATEGORICAL}
    for spec in registry(t).values():
        found |= {spec.name, spec.unit, spec.value, *spec.categories}
    return found
