"""Plan analysis of EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) output. Pure: JSON in, summary out.

EXPLAIN reports a node's times and row counts per loop; totals here multiply by the loops (and,
for parallel nodes, "Actual Loops" already counts the workers' loops).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

SORT_NODES = ("Sort", "Incremental Sort")
INDEX_NODES = ("Index Scan", "Index Only Scan", "Bitmap Index Scan")
ESTIMATE_ERROR_FACTOR = 10.0
# A sort of fewer input rows than this, in memory, costs microseconds, and whether the planner
# picks it (e.g. old index + sort vs new index for a 13-message room) is a coin toss between
# near-equal costs: the gate counts only sorts at least this big (or spilling to disk).
TRIVIAL_SORT_ROWS = 100


@dataclass
class SortNode:
    node: str
    keys: list[str]
    method: str | None
    space_kb: int | None
    space_type: str | None  # "Memory" or "Disk"
    rows: float  # rows the sort returned, over all loops
    input_rows: float  # rows it had to sort, over all loops

    @property
    def significant(self) -> bool:
        return self.input_rows >= TRIVIAL_SORT_ROWS or self.space_type == "Disk"


@dataclass
class PlanSummary:
    execution_ms: float
    planning_ms: float
    sorts: list[SortNode] = field(default_factory=list)
    seq_scans: list[str] = field(default_factory=list)  # relations scanned sequentially
    large_seq_scans: list[str] = field(default_factory=list)
    indexes_used: dict[str, list[str]] = field(default_factory=dict)  # relation -> indexes
    index_only_scans: list[str] = field(default_factory=list)
    heap_fetches: int = 0
    shared_hit: int = 0
    shared_read: int = 0
    rows_removed_by_filter: int = 0
    estimate_errors: list[str] = field(default_factory=list)
    node_types: list[str] = field(default_factory=list)

    @property
    def sort_count(self) -> int:
        """Sorts that matter (see TRIVIAL_SORT_ROWS); `sorts` lists every one."""
        return sum(s.significant for s in self.sorts)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["sort_count"] = self.sort_count
        out["all_sort_count"] = len(self.sorts)
        return out


def walk(node: dict[str, Any], under_limit: bool = False) -> Iterator[tuple[dict[str, Any], bool]]:
    """Every node of a plan tree, parents first, with whether a Limit above may stop it early."""
    yield node, under_limit
    below = under_limit or node["Node Type"] == "Limit"
    for child in node.get("Plans", []):
        yield from walk(child, below)


def _loops(node: dict[str, Any]) -> float:
    return float(node.get("Actual Loops", 1) or 1)


def analyze(
    explain_json: Any,
    index_tables: dict[str, str] | None = None,
    table_rows: dict[str, float] | None = None,
    large_table_rows: float = 10_000,
) -> PlanSummary:
    """Summarise one EXPLAIN ANALYZE JSON document.

    `index_tables` maps index names to their tables (Bitmap Index Scans name only the index);
    `table_rows` gives each table's row count, to call a sequential scan of a big table out.
    """
    doc = explain_json[0] if isinstance(explain_json, list) else explain_json
    root = doc["Plan"]
    summary = PlanSummary(
        execution_ms=float(doc.get("Execution Time", 0.0)),
        planning_ms=float(doc.get("Planning Time", 0.0)),
        shared_hit=int(root.get("Shared Hit Blocks", 0)),
        shared_read=int(root.get("Shared Read Blocks", 0)),
    )
    index_tables = index_tables or {}
    table_rows = table_rows or {}
    for node, under_limit in walk(root):
        kind = node["Node Type"]
        summary.node_types.append(kind)
        loops = _loops(node)
        relation = node.get("Relation Name")
        if kind in SORT_NODES:
            summary.sorts.append(
                SortNode(
                    node=kind,
                    keys=list(node.get("Sort Key", node.get("Presorted Key", []))),
                    method=node.get("Sort Method"),
                    space_kb=node.get("Sort Space Used"),
                    space_type=node.get("Sort Space Type"),
                    rows=float(node.get("Actual Rows", 0)) * loops,
                    input_rows=sum(
                        float(c.get("Actual Rows", 0)) * _loops(c) for c in node.get("Plans", [])
                    ),
                )
            )
        if kind == "Seq Scan" and relation:
            summary.seq_scans.append(relation)
            if table_rows.get(relation, 0) >= large_table_rows:
                summary.large_seq_scans.append(relation)
        if kind in INDEX_NODES:
            index = node.get("Index Name", "?")
            table = relation or index_tables.get(index, "?")
            used = summary.indexes_used.setdefault(table, [])
            if index not in used:
                used.append(index)
        if kind == "Index Only Scan":
            summary.index_only_scans.append(node.get("Index Name", "?"))
            summary.heap_fetches += int(node.get("Heap Fetches", 0))
        removed = node.get("Rows Removed by Filter", 0) + node.get("Rows Removed by Join Filter", 0)
        summary.rows_removed_by_filter += round(removed * loops)
        estimate_error = _estimate_error(node, under_limit)
        if estimate_error:
            summary.estimate_errors.append(estimate_error)
    return summary


def _estimate_error(node: dict[str, Any], under_limit: bool) -> str | None:
    """'Node on rel: estimated E, actual A (Nx)' when they differ by more than 10x.

    Below a Limit, fewer actual rows than planned is the Limit stopping early, not an error.
    """
    if "Actual Rows" not in node or node.get("Actual Loops", 1) == 0:
        return None
    planned = float(node.get("Plan Rows", 0))
    actual = float(node["Actual Rows"])
    if under_limit and actual < planned:
        return None
    high, low = max(planned, actual), max(min(planned, actual), 1.0)
    if high / low <= ESTIMATE_ERROR_FACTOR:
        return None
    where = node.get("Relation Name") or node.get("Index Name") or ""
    label = f"{node['Node Type']}{' on ' + where if where else ''}"
    return f"{label}: estimated {planned:.0f} rows, actual {actual:.0f} ({high / low:.0f}x)"
