"""The compare report's words: arrows for before → after, the brief-vs-measured line naming what
it averages (and each class), and plain words for a reversed or sort-free comparison."""

from __future__ import annotations

from support.baselines import baseline, result, runs
from synthgen.report.gate_text import comparison_lines
from synthgen.verify.compare import compare_baselines

PRE = baseline(
    [
        result("q1", "heavy", runs(20.0), 1, ["messages_conversationId_idx"]),
        result("q1", "median", runs(4.0), 1, ["messages_conversationId_idx"]),
        result("q3", "top1", runs(5.0), 1, [], ["conversation_users"]),
    ]
)
POST = baseline(
    [
        result("q1", "heavy", runs(0.2, seed=2), 0, ["idx_messages_conversation_created_desc"]),
        result("q1", "median", runs(2.0, seed=3), 0, ["idx_messages_conversation_created_desc"]),
        result("q3", "top1", runs(1.0, seed=4), 0, ["idx_conversation_users_user_active"]),
    ]
)


def test_arrows_and_what_the_brief_line_averages() -> None:
    lines = comparison_lines(compare_baselines(PRE, POST))
    header = lines[1]
    assert "explain p50 pre → post" in header
    row = next(line for line in lines if line.startswith("Q1") and " heavy " in line)
    pre, post = PRE["results"][0]["explain_ms"]["p50"], POST["results"][0]["explain_ms"]["p50"]
    assert f"{pre:9.3f} → {post:<9.3f}" in row and ">" not in row
    summary = next(line for line in lines if line.startswith("average improvement"))
    assert "sorts 3 → 0 (100% of those before eliminated)" in summary
    q1 = next(line for line in lines if line.strip().startswith("Q1") and "brief" in line)
    # heavy 100x faster, median 2x: geometric mean of 0.01 and 0.5 ≈ 0.0707 → -93 %
    assert "brief  -70%  measured -93% (p50 post/pre, geometric mean over its 2 class x " in q1
    assert "slowest: heavy, custom plan 19.94 → 0.20 ms" in q1
    per_class = lines[lines.index(q1) + 1]
    assert per_class.strip() == "per class: heavy -99%, median -50%"


def test_a_reversed_compare_says_the_change_adds_sorts() -> None:
    reversed_lines = comparison_lines(compare_baselines(POST, PRE))
    summary = next(line for line in reversed_lines if line.startswith("average improvement"))
    assert "sorts 0 → 3 (none before, so none to eliminate; the change adds 3)" in summary
    assert "not applicable" not in summary
    flat = comparison_lines(compare_baselines(POST, POST))
    summary = next(line for line in flat if line.startswith("average improvement"))
    assert "sorts 0 → 0 (none before or after)" in summary
