"""Fits of the conversation structure: the mix, group sizes, members and messages per room."""

from __future__ import annotations

import numpy as np

from synthgen.calibrate import fit
from synthgen.calibrate.section import Section, TooLittleData, ordered, shares, sig, tv
from synthgen.contract import CONVERSATION_KINDS

BOUNDARY = "the sampler's small/large boundary"


def conversations(s: Section) -> None:
    """Conversation mix and the group size shapes (truncated geometric, discrete power law)."""
    t = s.m.thresholds
    mix_counts = s.m.categorical("conversation_mix")
    keys = CONVERSATION_KINDS
    mix = shares(mix_counts, keys, "conversations")
    for key in keys:
        s.set(
            f"conversations.mix.{key}",
            mix[key],
            "TV",
            tv(mix_counts, mix),
            sum(mix_counts.values()),
        )
    conv = s.spec["conversations"]
    s.given("conversations.small_group.max_members", t.large_group_min_members - 1, BOUNDARY)
    s.given("conversations.large_group.min_members", t.large_group_min_members, BOUNDARY)
    small = fit.fit_truncated_geometric(
        ordered(s, "small_group_members"),
        int(conv["small_group"]["min_members"]),
        t.large_group_min_members - 1,
    )
    s.fitted("conversations.small_group.geometric_p", small, 1, sig(small.params[0], 4))
    large_data = ordered(s, "large_group_members")
    large_max = int(conv["large_group"]["max_members"])
    if large_data.total and np.isfinite(large_data.hi[-1]):
        large_max = max(large_max, int(large_data.hi[-1]) - 1)
    large = fit.fit_discrete_power_law(large_data, t.large_group_min_members, large_max)
    s.fitted("conversations.large_group.alpha", large, 1, sig(large.params[0], 4))


def members(s: Section) -> None:
    """Admin share among group members, and the inactive share (the first member never is)."""
    roles = s.m.categorical("member_roles")
    assignable = roles.get("ADMIN", 0.0) + roles.get("MEMBER", 0.0)
    if assignable > 0:
        admin = sig(roles.get("ADMIN", 0.0) / assignable, 4)
        s.set("conversations.admin_share", admin, "exact", None, assignable)
    activity = s.m.categorical("member_activity")
    others = sum(activity.values()) - sum(s.m.categorical("conversation_mix").values())
    if others > 0:
        share = sig(min(1.0, activity.get("inactive", 0.0) / others), 4)
        s.set("conversations.inactive_member_share", share, "exact", None, others)
    s.keep("conversations.membership_zipf_exponent", "not measured: it needs per-user data")
    s.keep("conversations.late_joiner_share", "not measured")


def regular_rooms(s: Section) -> None:
    """Regular rooms' discrete power law on [lowest, top] of the published regular rooms."""
    regular = ordered(s, "messages_per_regular_conversation")
    if not regular.total:
        raise TooLittleData("no published messages per regular conversation")
    low = max(1, int(regular.lo[0]))
    if np.isfinite(regular.hi[-1]):
        high = max(low, int(regular.hi[-1]) - 1)
    else:
        high = max(low, s.m.thresholds.heavy_min_messages - 1)
    s.given("messages_per_conversation.regular.min", low, "lowest published bucket")
    s.given("messages_per_conversation.regular.max", high, "top published bucket")
    fitted = fit.fit_discrete_power_law(regular, low, high)
    if not fitted.usable(1):
        raise TooLittleData("too few published buckets of messages per regular conversation")
    s.fitted("messages_per_conversation.regular.alpha", fitted, 1, sig(fitted.params[0], 4))


def heavy_rooms(s: Section) -> None:
    """Heavy rooms: the threshold, their fraction of all active conversations, the size tail."""
    t = s.m.thresholds
    counts = s.m.categorical("heavy_rooms")
    total, heavy = sum(counts.values()), counts.get("heavy", 0.0)
    s.given("messages_per_conversation.heavy.min_messages", t.heavy_min_messages, "threshold")
    if not (heavy > 0 and total > 0):
        s.keep("messages_per_conversation.heavy", "no heavy room survived K-suppression")
        return
    # production's own fraction, whatever the classes: the engine makes heavy rooms of the
    # largest rooms it has (large groups, then small groups, then DIRECT conversations)
    s.set("messages_per_conversation.heavy.fraction", sig(heavy / total, 4), "exact", None, total)
    mean_size = s.m.categorical("heavy_messages").get("heavy", 0.0) / heavy
    tail = fit.fit_heavy_alpha(
        ordered(s, "messages_per_heavy_conversation"), int(heavy), t.heavy_min_messages, mean_size
    )
    s.fitted(
        "messages_per_conversation.heavy.alpha",
        tail,
        1,
        sig(tail.params[0], 4),
        "simulated likelihood of the engine's heavy-room sizes",
    )
