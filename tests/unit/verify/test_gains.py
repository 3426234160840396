"""What compare says about new indexes: the mitigation when a query uses one and gains little,
and each new index's size, build time and gain, on hand-built baselines."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from synthgen.verify.baseline import percentiles
from synthgen.verify.compare import compare_baselines
from synthgen.verify.gains import gain_lines

ROOM = 'CREATE INDEX "messages_conversationId_idx" ON s.messages USING btree ("conversationId")'
NEW = 'CREATE INDEX idx_new ON s.messages USING btree ("conversationId", "createdAt" DESC)'
USELESS = "CREATE INDEX idx_useless ON s.messages USING btree (left(content, 20))"


def _result(cls: str, median: float, used: dict[str, list[str]], seed: int) -> dict[str, Any]:
    samples = [
        float(x) for x in median * (1 + np.random.default_rng(seed).uniform(-0.05, 0.05, 30))
    ]
    return {
        "query": "q1", "name": "Q1", "class": cls, "plan_mode": "custom",
        "client_ms": percentiles(samples), "explain_ms": percentiles(samples),
        "client_samples": samples, "explain_samples": samples,
        "plan": {"sort_count": 0, "indexes_used": used, "large_seq_scans": [],
                 "estimate_errors": []},
    }  # fmt: skip


def _doc(results: list[dict[str, Any]], indexes: list[tuple[str, str, int]]) -> dict[str, Any]:
    return {
        "dataset_sha256": "d", "schema": "s", "server": {"identity": "i"}, "results": results,
        "indexes": [{"name": n, "table": "messages", "definition": d, "size_bytes": b}
                    for n, d, b in indexes],
    }  # fmt: skip


def test_a_query_using_a_new_index_without_gain_is_not_told_it_does_not_use_it() -> None:
    pre = _doc([_result("heavy", 2.0, {}, 1)], [])  # no index on messages before
    post = _doc(
        [_result("heavy", 1.9, {"messages": ["idx_new"]}, 2)],
        [("idx_new", NEW, 3_000_000), ("idx_useless", USELESS, 1_000_000)],
    )
    c = compare_baselines(pre, post, builds={"idx_new": 1.25})
    assert c.decision == "NO-GO"
    (line,) = c.mitigations
    assert line.startswith("Q1 (heavy, custom plan) improved only 5% although it now uses idx_new")
    assert "do not serve it" not in line
    assert gain_lines(c.new_indexes) == [
        "idx_new on messages: 3.0 MB, built in 1.25 s; used by q1 (1 results): "
        f"{1 - post['results'][0]['client_ms']['p50'] / pre['results'][0]['client_ms']['p50']:.0%}"
        " faster (geometric mean of their p50s)",
        "idx_useless on messages: 1.0 MB, build time not recorded; used by no measured query: "
        "it buys no read gain",
    ]


def test_a_new_index_gain_is_the_geometric_mean_of_the_results_using_it() -> None:
    before = [("messages_conversationId_idx", ROOM, 2_000_000)]
    pre = _doc(
        [_result(c, m, {"messages": ["messages_conversationId_idx"]}, i)
         for i, (c, m) in enumerate((("median", 4.0), ("heavy", 40.0)))],
        before,
    )  # fmt: skip
    post = _doc(
        [_result(c, m, {"messages": ["idx_new"]}, 10 + i)
         for i, (c, m) in enumerate((("median", 2.0), ("heavy", 4.0)))],
        [*before, ("idx_new", NEW, 5_000_000)],
    )  # fmt: skip
    c = compare_baselines(pre, post)
    (entry,) = c.new_indexes
    ratios = [b["client_ms"]["p50"] / a["client_ms"]["p50"]
              for a, b in zip(pre["results"], post["results"], strict=True)]  # fmt: skip
    assert entry["gain"] == pytest.approx(1 - math.sqrt(ratios[0] * ratios[1]))
    assert 0.7 < entry["gain"] < 0.8  # 2x and 10x faster
    assert (entry["size_bytes"], entry["build_seconds"], entry["results"]) == (5_000_000, None, 2)


def test_a_query_moved_to_a_duplicate_names_both() -> None:
    old = 'CREATE INDEX room_time ON s.messages USING btree ("conversationId", "createdAt")'
    pre = _doc([_result("heavy", 1.0, {"messages": ["room_time"]}, 1)], [("room_time", old, 9)])
    post = _doc(
        [_result("heavy", 1.0, {"messages": ["idx_new"]}, 2)],
        [("room_time", old, 9), ("idx_new", NEW, 9)],
    )
    (line,) = compare_baselines(pre, post).mitigations
    assert line.endswith(
        "it moved from room_time to idx_new, and idx_new duplicates room_time (same keys, scanned "
        "backward with conversationId fixed by equality); drop idx_new from the script"
    )


def test_a_query_slower_on_a_duplicate_is_told_to_drop_it_too() -> None:
    old = 'CREATE INDEX room_time ON s.messages USING btree ("conversationId", "createdAt")'
    pre = _doc(
        [_result(c, 3.0, {"messages": ["room_time"]}, i) for i, c in enumerate(("p95", "heavy"))],
        [("room_time", old, 9)],
    )
    post = _doc(
        [_result(c, 9.0, {"messages": ["idx_new"]}, 5 + i) for i, c in enumerate(("p95", "heavy"))],
        [("room_time", old, 9), ("idx_new", NEW, 9)],
    )
    c = compare_baselines(pre, post)
    assert c.degraded_queries == ["q1"]
    for line in c.mitigations:
        assert "got slower beyond noise" in line
        assert line.endswith(
            "; it moved from room_time to idx_new, and idx_new duplicates room_time (same keys, "
            "scanned backward with conversationId fixed by equality): drop idx_new from the script"
        )
