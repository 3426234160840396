"""The index gate's decision rules, on hand-built baselines."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from synthgen.errors import VerifyError
from synthgen.verify.compare import compare_baselines


def result(
    query: str,
    cls: str,
    p50: float,
    p95: float,
    sorts: int,
    indexes: list[str],
    seq: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "query": query,
        "name": query.upper(),
        "class": cls,
        "client_ms": {"p50": p50, "p95": p95, "mean": p50},
        "explain_ms": {"p50": p50 / 2, "p95": p95 / 2, "mean": p50 / 2},
        "plan": {
            "sort_count": sorts,
            "indexes_used": {"messages": indexes},
            "large_seq_scans": seq or [],
        },
    }


def baseline(results: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "dataset_sha256": "d1",
        "schema": "s",
        "server": {"identity": "srv"},
        "results": results,
    }


PRE = baseline(
    [
        result("q1", "heavy", 20.0, 25.0, 1, ["messages_conversationId_idx"]),
        result("q1", "median", 1.0, 1.2, 1, ["messages_conversationId_idx"]),
        result("q3", "top1", 5.0, 6.0, 1, [], ["conversation_users"]),
    ]
)


def test_go_when_sorts_vanish_and_latency_drops() -> None:
    post = baseline(
        [
            result("q1", "heavy", 0.2, 0.3, 0, ["idx_messages_conversation_created_desc"]),
            result("q1", "median", 0.5, 0.6, 0, ["idx_messages_conversation_created_desc"]),
            result("q3", "top1", 1.0, 1.1, 1, ["idx_conversation_users_user_active"]),
        ]
    )
    c = compare_baselines(PRE, post, metric="client")
    assert c.decision == "GO"
    assert c.sorts_before == 3 and c.sorts_after == 1
    assert c.sorts_eliminated_share == pytest.approx(2 / 3)
    heavy = c.changes[0]
    assert heavy.speedup == pytest.approx(100.0)
    assert heavy.indexes_adopted == ["idx_messages_conversation_created_desc"]
    assert "Sort removed" in heavy.plan_change
    assert c.average_improvement == pytest.approx((0.99 + 0.5 + 0.8) / 3)
    assert c.mitigations == []


def test_useless_index_is_no_go_with_mitigations() -> None:
    post = copy.deepcopy(PRE)
    for r in post["results"]:
        r["plan"]["indexes_used"]["messages"].append("idx_messages_content")
    c = compare_baselines(PRE, post, metric="client")
    assert c.decision == "NO-GO"
    assert any("average improvement 0%" in r for r in c.reasons)
    assert any("0% of the 3 sorts were eliminated" in r for r in c.reasons)
    assert any(m.startswith("Q1 (heavy) still sorts") for m in c.mitigations)
    assert any("still scans conversation_users sequentially" in m for m in c.mitigations)


def test_two_degraded_queries_are_no_go_but_noise_is_not_degradation() -> None:
    post = baseline(
        [
            result("q1", "heavy", 0.2, 0.3, 0, ["idx"]),
            result("q1", "median", 0.5, 1.9, 0, ["idx"]),  # p95 1.2 -> 1.9: degraded
            result("q3", "top1", 5.0, 9.0, 0, ["idx"]),  # p95 6 -> 9: degraded
        ]
    )
    c = compare_baselines(PRE, post, metric="client")
    assert c.degraded_queries == ["q1", "q3"]
    assert c.decision == "NO-GO"
    assert any("got slower" in m for m in c.mitigations)
    tiny = baseline([result("q1", "heavy", 0.010, 0.012, 0, [])])
    tiny_post = baseline([result("q1", "heavy", 0.009, 0.090, 0, [])])  # +0.078 ms: noise
    assert compare_baselines(tiny, tiny_post, metric="client").degraded_queries == []


def test_refuses_other_dataset_or_server_unless_forced() -> None:
    other = copy.deepcopy(PRE)
    other["dataset_sha256"] = "d2"
    with pytest.raises(VerifyError, match="different datasets"):
        compare_baselines(PRE, other)
    assert compare_baselines(PRE, other, metric="client", force=True).decision == "NO-GO"
    other = copy.deepcopy(PRE)
    other["server"]["identity"] = "elsewhere"
    with pytest.raises(VerifyError, match="different servers"):
        compare_baselines(PRE, other)


def test_missing_result_and_bad_metric() -> None:
    post = baseline(PRE["results"][:2])
    with pytest.raises(VerifyError, match="no result for q3"):
        compare_baselines(PRE, post, metric="client")
    with pytest.raises(VerifyError, match="--metric"):
        compare_baselines(PRE, PRE, metric="wall")
