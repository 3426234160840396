"""The soak's decision: does the phase-2 gain hold after N days?

GO when the index gate, run on the pre-index baseline against the post-soak one, still says GO,
and the post-soak improvement (1 - the geometric mean of post/pre p50 ratios, the gate's own
figure) keeps at least HOLD_SHARE of the post-index improvement. NO-GO (exit 3) otherwise.
"""

from __future__ import annotations

from typing import Any

from synthgen.verdict import GO, decision

HOLD_SHARE = 0.8


def decide(post: dict[str, Any], soaked: dict[str, Any], days: int) -> dict[str, Any]:
    """`post`, `soaked`: the comparisons (pre vs post-index, pre vs post-soak) as dicts."""
    gain, kept = float(post["average_improvement"]), float(soaked["average_improvement"])
    floor = HOLD_SHARE * gain
    reasons = []
    if soaked["decision"] != GO:
        reasons.append(
            f"the index gate on pre vs post-soak says {soaked['decision']}: "
            + "; ".join(soaked.get("reasons", []))
        )
    if kept < floor:
        reasons.append(f"the gain fell to {kept:.1%} after {days} days, below {floor:.1%}")
    return {
        "decision": decision(not reasons),
        "post_index_improvement": round(gain, 4),
        "post_soak_improvement": round(kept, 4),
        "thresholds": (
            f"the phase-2 gain holds after {days} days when the post-soak improvement keeps at "
            f"least {HOLD_SHARE:.0%} of the post-index one ({gain:.1%} -> at least {floor:.1%}) "
            "and the index gate on pre vs post-soak says GO"
        ),
        "reasons": reasons
        or [f"the gain held: {kept:.1%} after {days} days against {gain:.1%} after the indexes"],
    }
