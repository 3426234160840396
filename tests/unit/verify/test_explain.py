"""Plan analysis on real EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) output from PostgreSQL 15."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from synthgen.verify.explain import analyze

PLANS = Path(__file__).parent / "plans"
INDEX_TABLES = {"msg_conv": "msg", "conv_pkey": "conv", "msg_conv_ts": "msg"}
TABLE_ROWS = {"msg": 300_000.0, "conv": 500.0}


def plan(name: str) -> Any:
    return json.loads((PLANS / f"{name}.json").read_text())


def test_top_n_sort_under_a_limit() -> None:
    s = analyze(plan("sort_topn"), INDEX_TABLES, TABLE_ROWS)
    assert s.node_types == ["Limit", "Sort", "Bitmap Heap Scan", "Bitmap Index Scan"]
    assert s.sort_count == 1
    assert s.sorts[0].method == "top-N heapsort" and s.sorts[0].space_type == "Memory"
    assert s.sorts[0].keys == ["ts DESC"]
    assert s.indexes_used == {"msg": ["msg_conv"]}
    # the Limit stopping the sort early is not an estimate error
    assert s.estimate_errors == []
    assert s.execution_ms > 0 and s.shared_hit > 0


def test_external_sort_spills_to_disk_after_a_large_seq_scan() -> None:
    s = analyze(plan("sort_external"), INDEX_TABLES, TABLE_ROWS)
    assert s.sorts[0].method == "external merge" and s.sorts[0].space_type == "Disk"
    assert s.sorts[0].space_kb and s.sorts[0].space_kb > 1000
    assert s.sorts[0].rows == 300_000
    assert s.seq_scans == ["msg"] and s.large_seq_scans == ["msg"]


def test_nested_loop_multiplies_per_loop_rows() -> None:
    s = analyze(plan("nested_loop"), INDEX_TABLES, TABLE_ROWS)
    assert "Nested Loop" in s.node_types
    # one row per loop, five outer rows: the sort produced 5 rows in all
    assert s.sorts[0].rows == 5.0
    assert s.indexes_used == {"conv": ["conv_pkey"], "msg": ["msg_conv"]}


def test_parallel_seq_scan_counts_every_worker() -> None:
    s = analyze(plan("parallel"), INDEX_TABLES, TABLE_ROWS)
    assert "Gather" in s.node_types
    # 86 400 rows (one day of seconds) were filtered out across the leader and two workers
    assert s.rows_removed_by_filter == 86_400
    assert s.large_seq_scans == ["msg"]


def test_small_table_seq_scan_is_not_large() -> None:
    s = analyze(plan("parallel"), INDEX_TABLES, {"msg": 5_000.0})
    assert s.seq_scans == ["msg"] and s.large_seq_scans == []


def test_bitmap_index_scan_is_attributed_to_its_table() -> None:
    s = analyze(plan("bitmap"), INDEX_TABLES, TABLE_ROWS)
    assert s.node_types == ["Aggregate", "Bitmap Heap Scan", "Bitmap Index Scan"]
    assert s.indexes_used == {"msg": ["msg_conv"]}
    assert s.sort_count == 0


def test_index_only_scan_with_heap_fetches() -> None:
    s = analyze(plan("index_only"), INDEX_TABLES, TABLE_ROWS)
    assert s.index_only_scans == ["msg_conv_ts"]
    # the 1 000 rows added after VACUUM are not all-visible: the scan fetched heap pages for them
    assert s.heap_fetches > 0
    assert s.sort_count == 0


def test_estimate_error_above_ten_times() -> None:
    doc = plan("bitmap")
    doc[0]["Plan"]["Plans"][0]["Plan Rows"] = 3
    s = analyze(doc, INDEX_TABLES, TABLE_ROWS)
    assert len(s.estimate_errors) == 1
    assert s.estimate_errors[0].startswith("Bitmap Heap Scan on msg: estimated 3 rows")


def test_tiny_in_memory_sorts_do_not_count() -> None:
    doc = plan("sort_topn")
    heap_scan = doc[0]["Plan"]["Plans"][0]["Plans"][0]
    heap_scan["Actual Rows"] = 13  # a 13-message room: the sort is a coin toss, not work
    s = analyze(doc, INDEX_TABLES, TABLE_ROWS)
    assert len(s.sorts) == 1 and s.sorts[0].input_rows == 13
    assert s.sort_count == 0
    assert s.to_dict()["all_sort_count"] == 1
    spilled = analyze(plan("sort_external"), INDEX_TABLES, TABLE_ROWS)
    assert spilled.sort_count == 1 and spilled.sorts[0].input_rows == 300_000
