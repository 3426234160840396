"""The soak's decision rule on concrete comparisons: the gain must keep 80 % of itself and the
index gate on pre vs post-soak must still say GO."""

from __future__ import annotations

from synthgen.soak.verdict import decide


def comparison(improvement: float, decision: str = "GO") -> dict[str, object]:
    return {"average_improvement": improvement, "decision": decision, "reasons": ["why"]}


def test_a_gain_that_keeps_most_of_itself_holds() -> None:
    verdict = decide(comparison(0.50), comparison(0.41), 7)
    assert verdict["decision"] == "GO"
    assert verdict["post_soak_improvement"] == 0.41
    assert "at least 40.0%" in verdict["thresholds"]


def test_a_gain_below_80_percent_of_itself_is_no_go() -> None:
    verdict = decide(comparison(0.50), comparison(0.39), 7)
    assert verdict["decision"] == "NO-GO"
    assert verdict["reasons"] == ["the gain fell to 39.0% after 7 days, below 40.0%"]


def test_the_index_gate_saying_no_go_after_the_soak_is_no_go() -> None:
    verdict = decide(comparison(0.50), comparison(0.60, "NO-GO"), 3)
    assert verdict["decision"] == "NO-GO"
    assert verdict["reasons"][0].startswith("the index gate on pre vs post-soak says NO-GO")
